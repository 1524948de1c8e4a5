"""item family: items.family, the product family a line's capacity can be given for (issue 8)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 09:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("items") as items:
        items.add_column(sa.Column("family", sa.String(64), nullable=True))
    op.create_index("ix_items_family", "items", ["family"])


def downgrade() -> None:
    op.drop_index("ix_items_family", table_name="items")
    with op.batch_alter_table("items") as items:
        items.drop_column("family")
