"""vendor items: price, MOQ, order multiple, lead time, at most one preferred per SKU

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 12:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.types

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "vendor_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("vendor_part_number", sa.String(length=64), nullable=True),
        sa.Column("unit_cost", shared.types.DecimalType(precision=18, scale=4), nullable=False),
        sa.Column("moq", shared.types.DecimalType(precision=18, scale=4), nullable=False),
        sa.Column("order_multiple", shared.types.DecimalType(precision=18, scale=4), nullable=True),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
        sa.Column("preferred", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", shared.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["vendor_id"], ["vendors.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("vendor_id", "sku"),
    )
    op.create_index(op.f("ix_vendor_items_sku"), "vendor_items", ["sku"], unique=False)
    # At most one preferred vendor item per SKU, whatever races (the service also locks).
    op.create_index(
        "uq_vendor_items_preferred_sku",
        "vendor_items",
        ["sku"],
        unique=True,
        sqlite_where=sa.text("preferred"),
        postgresql_where=sa.text("preferred"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("uq_vendor_items_preferred_sku", table_name="vendor_items")
    op.drop_index(op.f("ix_vendor_items_sku"), table_name="vendor_items")
    op.drop_table("vendor_items")
