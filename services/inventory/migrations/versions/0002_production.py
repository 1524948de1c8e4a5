"""production: items.requires_qc, ledger reason code, notes and indexes, lot origins,
reservations and the per-order WIP tables (issue 6)

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

AMOUNT = shared.types.DecimalType(precision=18, scale=4)
UTC_DATETIME = sa.DateTime(timezone=True)


def _amount(name: str) -> sa.Column:
    return sa.Column(name, AMOUNT, nullable=False)


def upgrade() -> None:
    with op.batch_alter_table("items") as items:
        items.add_column(
            sa.Column("requires_qc", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("lots") as lots:
        lots.add_column(sa.Column("vendor_code", sa.String(64), nullable=True))
        lots.add_column(sa.Column("po_number", sa.String(64), nullable=True))
        lots.add_column(sa.Column("receipt_id", sa.String(64), nullable=True))
        lots.add_column(sa.Column("order_code", sa.String(64), nullable=True))
    op.create_index("ix_lots_order_code", "lots", ["order_code"])
    # Plain ADD COLUMN (no batch copy): the ledger's append-only trigger stays in place.
    op.add_column("stock_transactions", sa.Column("reason_code", sa.String(32), nullable=True))
    op.add_column("stock_transactions", sa.Column("notes", sa.Text(), nullable=True))
    op.create_index("ix_stock_transactions_item_lot", "stock_transactions", ["item_id", "lot"])
    op.create_index(
        "ix_stock_transactions_reference", "stock_transactions", ["reference_type", "reference"]
    )
    op.create_table(
        "reservations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference_type", sa.String(24), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        _amount("qty_required"),
        _amount("qty_available"),
        _amount("qty_reserved"),
        _amount("qty_issued"),
        _amount("qty_released"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference_type", "reference", "item_id", "line_no"),
    )
    op.create_index("ix_reservations_item_status", "reservations", ["item_id", "status"])
    op.create_table(
        "order_wip",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_code", sa.String(64), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("so_number", sa.String(64), nullable=True),
        sa.Column("so_line_no", sa.Integer(), nullable=True),
        _amount("qty_to_make"),
        _amount("qty_good"),
        _amount("qty_bad"),
        _amount("qty_passed"),
        _amount("qty_failed"),
        _amount("value_issued"),
        _amount("value_returned"),
        _amount("value_relieved"),
        sa.Column("started_event_id", sa.String(36), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_code"),
    )
    op.create_table(
        "wip_components",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_code", sa.String(64), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("lot", sa.String(64), nullable=False),
        sa.Column("from_location", sa.String(16), nullable=False),
        _amount("qty_issued"),
        _amount("value_issued"),
        _amount("qty_returned"),
        _amount("value_returned"),
        _amount("qty_relieved"),
        _amount("value_relieved"),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_code", "item_id", "lot", "from_location"),
    )
    op.create_table(
        "run_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_code", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("final_run", sa.Boolean(), nullable=False),
        _amount("qty_good"),
        _amount("qty_bad"),
        _amount("value_good"),
        _amount("value_bad"),
        _amount("unit_cost"),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("scrap_reason_code", sa.String(32), nullable=True),
        sa.Column("source_event_id", sa.String(36), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_code", "run_id"),
    )
    op.create_table(
        "qc_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("qc_record_id", sa.String(64), nullable=False),
        sa.Column("order_code", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        _amount("qty_passed"),
        _amount("qty_failed"),
        _amount("value_passed"),
        _amount("value_failed"),
        _amount("unit_cost"),
        sa.Column("reason_code", sa.String(32), nullable=True),
        sa.Column("source_event_id", sa.String(36), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("qc_record_id"),
    )
    op.create_index("ix_qc_decisions_order_code", "qc_decisions", ["order_code"])


def downgrade() -> None:
    op.drop_index("ix_qc_decisions_order_code", table_name="qc_decisions")
    op.drop_table("qc_decisions")
    op.drop_table("run_receipts")
    op.drop_table("wip_components")
    op.drop_table("order_wip")
    op.drop_index("ix_reservations_item_status", table_name="reservations")
    op.drop_table("reservations")
    op.drop_index("ix_stock_transactions_reference", table_name="stock_transactions")
    op.drop_index("ix_stock_transactions_item_lot", table_name="stock_transactions")
    op.drop_column("stock_transactions", "notes")
    op.drop_column("stock_transactions", "reason_code")
    op.drop_index("ix_lots_order_code", table_name="lots")
    with op.batch_alter_table("lots") as lots:
        lots.drop_column("order_code")
        lots.drop_column("receipt_id")
        lots.drop_column("po_number")
        lots.drop_column("vendor_code")
    with op.batch_alter_table("items") as items:
        items.drop_column("requires_qc")
