"""Production orders, runs, QC records, shortages, scrap reason codes and the item read model

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 00:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.types

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = shared.types.UtcDateTime(timezone=True)
AMOUNT = shared.types.DecimalType(precision=18, scale=4)


def upgrade() -> None:
    op.create_table(
        "known_items",
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("uom", sa.String(16), nullable=False),
        sa.Column("item_type", sa.String(16), nullable=False),
        sa.Column("make_or_buy", sa.String(8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("requires_qc", sa.Boolean(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("sku"),
    )
    op.create_table(
        "scrap_reason_codes",
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("corrective_action", sa.String(500), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint(
            "category IN ('print_failure', 'qc_failure', 'handling', 'other')",
            name="ck_scrap_reason_codes_category",
        ),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "production_order_counters",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )
    op.create_table(
        "production_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("order_type", sa.String(3), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("qty_ordered", AMOUNT, nullable=False),
        sa.Column("qty_to_make", AMOUNT, nullable=False),
        sa.Column("qty_good", AMOUNT, nullable=False),
        sa.Column("qty_bad", AMOUNT, nullable=False),
        sa.Column("qty_passed", AMOUNT, nullable=False),
        sa.Column("qty_failed", AMOUNT, nullable=False),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("line_code", sa.String(32), nullable=True),
        sa.Column("planned_start", UTC_DATETIME, nullable=True),
        sa.Column("notes", sa.String(1000), nullable=True),
        sa.Column("so_number", sa.String(32), nullable=True),
        sa.Column("so_line_no", sa.Integer(), nullable=True),
        sa.Column("bom_version", sa.Integer(), nullable=True),
        sa.Column("requires_qc", sa.Boolean(), nullable=False),
        sa.Column("reprint_of", sa.String(20), nullable=True),
        sa.Column("root_order_code", sa.String(20), nullable=True),
        sa.Column("reprint_seq", sa.Integer(), nullable=False),
        sa.Column("reprint_reason", sa.String(32), nullable=True),
        sa.Column("cancel_reason", sa.String(500), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("created_by", sa.String(150), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("started_at", UTC_DATETIME, nullable=True),
        sa.Column("printed_at", UTC_DATETIME, nullable=True),
        sa.Column("completed_at", UTC_DATETIME, nullable=True),
        sa.Column("cancelled_at", UTC_DATETIME, nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'scheduled', 'in_progress', 'printed', 'completed', 'cancelled')",
            name="ck_production_orders_status",
        ),
        sa.CheckConstraint("order_type IN ('mto', 'mts')", name="ck_production_orders_type"),
        sa.CheckConstraint(
            "priority IN ('low', 'normal', 'high', 'urgent')",
            name="ck_production_orders_priority",
        ),
        sa.CheckConstraint("qty_ordered > 0", name="ck_production_orders_qty_ordered"),
        sa.CheckConstraint("qty_to_make >= qty_ordered", name="ck_production_orders_qty_to_make"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
        sa.UniqueConstraint("reprint_of", name="uq_production_orders_reprint_of"),
        sa.UniqueConstraint(
            "root_order_code", "reprint_seq", name="uq_production_orders_chain_seq"
        ),
    )
    op.create_index("ix_production_orders_status", "production_orders", ["status"])
    op.create_index("ix_production_orders_sku", "production_orders", ["sku"])
    op.create_index("ix_production_orders_so_number", "production_orders", ["so_number"])
    op.create_table(
        "production_order_shortages",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("qty_required", AMOUNT, nullable=False),
        sa.Column("qty_available", AMOUNT, nullable=False),
        sa.Column("qty_short", AMOUNT, nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["production_orders.id"]),
        sa.PrimaryKeyConstraint("order_id", "sku"),
    )
    op.create_table(
        "production_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("run_no", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("qty_good", AMOUNT, nullable=False),
        sa.Column("qty_bad", AMOUNT, nullable=False),
        sa.Column("scrap_reason_code", sa.String(32), nullable=True),
        sa.Column("notes", sa.String(1000), nullable=True),
        sa.Column("final_run", sa.Boolean(), nullable=False),
        sa.Column("completed_at", UTC_DATETIME, nullable=False),
        sa.Column("recorded_by", sa.String(150), nullable=False),
        sa.CheckConstraint("qty_good >= 0 AND qty_bad >= 0", name="ck_production_runs_qty"),
        sa.ForeignKeyConstraint(["order_id"], ["production_orders.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_id", "run_no", name="uq_production_runs_order_run"),
        sa.UniqueConstraint("run_id"),
    )
    op.create_index(
        "ix_production_runs_scrap_reason_code", "production_runs", ["scrap_reason_code"]
    )
    op.create_table(
        "qc_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("qc_no", sa.Integer(), nullable=False),
        sa.Column("qc_record_id", sa.String(32), nullable=False),
        sa.Column("qty_passed", AMOUNT, nullable=False),
        sa.Column("qty_failed", AMOUNT, nullable=False),
        sa.Column("reason_code", sa.String(32), nullable=True),
        sa.Column("notes", sa.String(1000), nullable=True),
        sa.Column("reprint_order_code", sa.String(20), nullable=True),
        sa.Column("inspected_at", UTC_DATETIME, nullable=False),
        sa.Column("inspected_by", sa.String(150), nullable=False),
        sa.CheckConstraint("qty_passed >= 0 AND qty_failed >= 0", name="ck_qc_records_qty"),
        sa.ForeignKeyConstraint(["order_id"], ["production_orders.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_id", "qc_no", name="uq_qc_records_order_qc"),
        sa.UniqueConstraint("qc_record_id"),
    )
    op.create_index("ix_qc_records_reason_code", "qc_records", ["reason_code"])


def downgrade() -> None:
    op.drop_index("ix_qc_records_reason_code", table_name="qc_records")
    op.drop_table("qc_records")
    op.drop_index("ix_production_runs_scrap_reason_code", table_name="production_runs")
    op.drop_table("production_runs")
    op.drop_table("production_order_shortages")
    op.drop_index("ix_production_orders_so_number", table_name="production_orders")
    op.drop_index("ix_production_orders_sku", table_name="production_orders")
    op.drop_index("ix_production_orders_status", table_name="production_orders")
    op.drop_table("production_orders")
    op.drop_table("production_order_counters")
    op.drop_table("scrap_reason_codes")
    op.drop_table("known_items")
