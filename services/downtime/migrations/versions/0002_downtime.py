"""downtime: facilities, lines, shifts, capacity, day locks, reasons, downtime entries, machine
signals, and the read model of production's orders, runs, QC outcomes and item families

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 06:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.types import Amount, UtcDateTime

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "facilities",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("day_lock_hour", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "day_lock_hour IS NULL OR (day_lock_hour >= 0 AND day_lock_hour <= 23)",
            name="ck_facilities_day_lock_hour",
        ),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "floor_items",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("family", sa.String(length=64), nullable=True),
        sa.Column("sequence", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("sku"),
    )
    op.create_table(
        "floor_orders",
        sa.Column("order_code", sa.String(length=32), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("line_code", sa.String(length=32), nullable=True),
        sa.Column("qty_to_make", Amount(), nullable=False),
        sa.Column("sequence", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("order_code"),
    )
    op.create_index(
        "ix_floor_orders_line_status", "floor_orders", ["line_code", "status"], unique=False
    )
    op.create_table(
        "floor_qc",
        sa.Column("qc_record_id", sa.String(length=64), nullable=False),
        sa.Column("order_code", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("qty_passed", Amount(), nullable=False),
        sa.Column("qty_failed", Amount(), nullable=False),
        sa.Column("inspected_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("qc_record_id"),
    )
    op.create_index("ix_floor_qc_order", "floor_qc", ["order_code"], unique=False)
    op.create_index("ix_floor_qc_run", "floor_qc", ["run_id"], unique=False)
    op.create_table(
        "floor_runs",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("order_code", sa.String(length=32), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("line_code", sa.String(length=32), nullable=True),
        sa.Column("qty_good", Amount(), nullable=False),
        sa.Column("qty_bad", Amount(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=True),
        sa.Column("completed_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("run_id"),
    )
    op.create_index(
        "ix_floor_runs_line_completed", "floor_runs", ["line_code", "completed_at"], unique=False
    )
    op.create_table(
        "day_locks",
        sa.Column("facility_code", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("locked_by", sa.String(length=120), nullable=False),
        sa.Column("locked_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_code"],
            ["facilities.code"],
        ),
        sa.PrimaryKeyConstraint("facility_code", "day"),
    )
    op.create_table(
        "downtime_reasons",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("facility_code", sa.String(length=32), nullable=False),
        sa.Column("parent_code", sa.String(length=32), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("colour", sa.String(length=7), nullable=False),
        sa.Column("planned", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_code"],
            ["facilities.code"],
        ),
        sa.ForeignKeyConstraint(
            ["parent_code"],
            ["downtime_reasons.code"],
        ),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index(
        "ix_downtime_reasons_parent",
        "downtime_reasons",
        ["facility_code", "parent_code"],
        unique=False,
    )
    op.create_table(
        "lines",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("facility_code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("line_type", sa.String(length=32), nullable=True),
        sa.Column("tooling_type", sa.String(length=64), nullable=True),
        sa.Column("allergen_status", sa.String(length=20), nullable=False),
        sa.Column("speed_modifier", Amount(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "allergen_status IN ('allergen_free', 'handles_allergens')",
            name="ck_lines_allergen_status",
        ),
        sa.CheckConstraint("speed_modifier > 0", name="ck_lines_speed_modifier"),
        sa.ForeignKeyConstraint(
            ["facility_code"],
            ["facilities.code"],
        ),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index("ix_lines_facility_code", "lines", ["facility_code"], unique=False)
    op.create_table(
        "shifts",
        sa.Column("facility_code", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("days_of_week", sa.String(length=7), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_code"],
            ["facilities.code"],
        ),
        sa.PrimaryKeyConstraint("facility_code", "code"),
    )
    op.create_table(
        "downtimes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("line_code", sa.String(length=32), nullable=False),
        sa.Column("facility_code", sa.String(length=32), nullable=False),
        sa.Column("reason_code", sa.String(length=32), nullable=True),
        sa.Column("planned", sa.Boolean(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.Column("production_day", sa.Date(), nullable=False),
        sa.Column("shift_code", sa.String(length=32), nullable=True),
        sa.Column("order_code", sa.String(length=32), nullable=True),
        sa.Column("notes", sa.String(length=1000), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("source IN ('tablet', 'manual', 'machine')", name="ck_downtimes_source"),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at > started_at", name="ck_downtimes_end_after_start"
        ),
        sa.ForeignKeyConstraint(
            ["line_code"],
            ["lines.code"],
        ),
        sa.ForeignKeyConstraint(
            ["reason_code"],
            ["downtime_reasons.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_downtimes_facility_day", "downtimes", ["facility_code", "production_day"], unique=False
    )
    op.create_index(
        "ix_downtimes_line_started", "downtimes", ["line_code", "started_at"], unique=False
    )
    op.create_index("ix_downtimes_started_at", "downtimes", ["started_at"], unique=False)
    op.create_index("ix_downtimes_reason", "downtimes", ["reason_code"], unique=False)
    op.create_table(
        "line_capacities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_code", sa.String(length=32), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("family", sa.String(length=64), nullable=True),
        sa.Column("units_per_shift", Amount(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "NOT (sku IS NOT NULL AND family IS NOT NULL)", name="ck_line_capacities_target"
        ),
        sa.CheckConstraint("units_per_shift > 0", name="ck_line_capacities_units"),
        sa.ForeignKeyConstraint(
            ["line_code"],
            ["lines.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_line_capacities_line", "line_capacities", ["line_code", "effective_from"], unique=False
    )
    op.create_table(
        "line_signals",
        sa.Column("line_code", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("signalled_at", UtcDateTime(), nullable=False),
        sa.Column(
            "downtime_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_code"],
            ["lines.code"],
        ),
        sa.PrimaryKeyConstraint("line_code"),
    )


def downgrade() -> None:
    op.drop_table("line_signals")
    op.drop_index("ix_line_capacities_line", table_name="line_capacities")
    op.drop_table("line_capacities")
    op.drop_index("ix_downtimes_reason", table_name="downtimes")
    op.drop_index("ix_downtimes_started_at", table_name="downtimes")
    op.drop_index("ix_downtimes_line_started", table_name="downtimes")
    op.drop_index("ix_downtimes_facility_day", table_name="downtimes")
    op.drop_table("downtimes")
    op.drop_table("shifts")
    op.drop_index("ix_lines_facility_code", table_name="lines")
    op.drop_table("lines")
    op.drop_index("ix_downtime_reasons_parent", table_name="downtime_reasons")
    op.drop_table("downtime_reasons")
    op.drop_table("day_locks")
    op.drop_index("ix_floor_runs_line_completed", table_name="floor_runs")
    op.drop_table("floor_runs")
    op.drop_index("ix_floor_qc_run", table_name="floor_qc")
    op.drop_index("ix_floor_qc_order", table_name="floor_qc")
    op.drop_table("floor_qc")
    op.drop_index("ix_floor_orders_line_status", table_name="floor_orders")
    op.drop_table("floor_orders")
    op.drop_table("floor_items")
    op.drop_table("facilities")
