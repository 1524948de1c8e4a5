"""mrp line results: material_date (the latest due date of the dated open purchase-order
quantity a line's production took) and material_undated (it took some with no due date)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 12:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    # Results of runs before this one have no material dates: working data, replaced by the
    # next run.
    op.add_column("mrp_line_results", sa.Column("material_date", sa.Date(), nullable=True))
    op.add_column(
        "mrp_line_results",
        sa.Column("material_undated", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("mrp_line_results") as batch:
        batch.drop_column("material_undated")
        batch.drop_column("material_date")
