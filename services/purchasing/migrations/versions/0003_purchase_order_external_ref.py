"""purchase orders: external_ref, another system's order number, unique where given

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 09:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("purchase_orders", sa.Column("external_ref", sa.String(length=64), nullable=True))
    # One order per other system's number, whatever races; orders made here have none.
    op.create_index(
        "uq_purchase_orders_external_ref",
        "purchase_orders",
        ["external_ref"],
        unique=True,
        postgresql_where=sa.text("external_ref IS NOT NULL"),
        sqlite_where=sa.text("external_ref IS NOT NULL"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("uq_purchase_orders_external_ref", table_name="purchase_orders")
    op.drop_column("purchase_orders", "external_ref")
