"""BOMs: versions of each product's BOM and their lines

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 00:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.types

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DATETIME = sa.DateTime(timezone=True)
AMOUNT = shared.types.DecimalType(precision=18, scale=4)


def upgrade() -> None:
    op.create_table(
        "boms",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("product_sku", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("output_qty", AMOUNT, nullable=False),
        sa.Column("uom", sa.String(16), nullable=False),
        sa.Column("notes", sa.String(1000), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("created_by", sa.String(150), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_by", sa.String(150), nullable=False),
        sa.Column("released_at", UTC_DATETIME, nullable=True),
        sa.Column("released_by", sa.String(150), nullable=True),
        sa.Column("obsoleted_at", UTC_DATETIME, nullable=True),
        sa.Column("obsoleted_by", sa.String(150), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("product_sku", "version", name="uq_boms_product_version"),
        sa.CheckConstraint("status IN ('draft', 'released', 'obsolete')", name="ck_boms_status"),
        sa.CheckConstraint("version > 0", name="ck_boms_version"),
        sa.CheckConstraint("output_qty > 0", name="ck_boms_output_qty"),
    )
    op.create_index("ix_boms_status", "boms", ["status"])
    op.create_index(
        "uq_boms_one_released",
        "boms",
        ["product_sku"],
        unique=True,
        postgresql_where=sa.text("status = 'released'"),
        sqlite_where=sa.text("status = 'released'"),
    )
    op.create_table(
        "bom_lines",
        sa.Column("bom_id", ID, nullable=False),
        sa.Column("line_no", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("component_sku", sa.String(64), nullable=False),
        sa.Column("qty_per", AMOUNT, nullable=False),
        sa.Column("uom", sa.String(16), nullable=False),
        sa.Column("scrap_pct", AMOUNT, nullable=False),
        sa.Column("notes", sa.String(500), nullable=True),
        sa.ForeignKeyConstraint(["bom_id"], ["boms.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("bom_id", "line_no"),
        sa.CheckConstraint("qty_per > 0", name="ck_bom_lines_qty_per"),
        sa.CheckConstraint("scrap_pct >= 0", name="ck_bom_lines_scrap_pct"),
    )
    op.create_index("ix_bom_lines_component_sku", "bom_lines", ["component_sku"])
    op.create_table(
        "bom_revision",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("bom_revision")
    op.drop_index("ix_bom_lines_component_sku", table_name="bom_lines")
    op.drop_table("bom_lines")
    op.drop_index("uq_boms_one_released", table_name="boms")
    op.drop_index("ix_boms_status", table_name="boms")
    op.drop_table("boms")
