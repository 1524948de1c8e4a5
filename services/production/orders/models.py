"""Production order tables: the orders, their runs, their QC records, the shortages an order
started with, and the gapless counter of order codes.

Production never stores stock: the figures here are counts of what the floor reported (good,
bad, passed, failed); the material and its value live in inventory.

A reprint chain is held by two columns: `reprint_of` (the order whose shortfall it makes up;
unique, so one order has at most one reprint) and `root_order_code` with `reprint_seq` (unique
together, so two reprints can never take the same place in a chain).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.production.models import Base
from shared.types import Amount, UtcDateTime


class OrderCounter(Base):
    """The last production order number taken per year (PRD-YYYY-NNNNN)."""

    __tablename__ = "production_order_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class ProductionOrder(Base):
    __tablename__ = "production_orders"
    __table_args__ = (
        CheckConstraint(
            "status IN ('draft', 'scheduled', 'in_progress', 'printed', 'completed', 'cancelled')",
            name="ck_production_orders_status",
        ),
        CheckConstraint("order_type IN ('mto', 'mts')", name="ck_production_orders_type"),
        CheckConstraint(
            "priority IN ('low', 'normal', 'high', 'urgent')",
            name="ck_production_orders_priority",
        ),
        CheckConstraint("qty_ordered > 0", name="ck_production_orders_qty_ordered"),
        CheckConstraint("qty_to_make >= qty_ordered", name="ck_production_orders_qty_to_make"),
        UniqueConstraint("reprint_of", name="uq_production_orders_reprint_of"),
        UniqueConstraint("root_order_code", "reprint_seq", name="uq_production_orders_chain_seq"),
        Index("ix_production_orders_status", "status"),
        Index("ix_production_orders_sku", "sku"),
        Index("ix_production_orders_so_number", "so_number"),
        Index("ix_production_orders_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    sku: Mapped[str] = mapped_column(String(64))
    order_type: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(12))
    qty_ordered: Mapped[Decimal] = mapped_column(Amount())
    qty_to_make: Mapped[Decimal] = mapped_column(Amount())
    qty_good: Mapped[Decimal] = mapped_column(Amount())
    qty_bad: Mapped[Decimal] = mapped_column(Amount())
    qty_passed: Mapped[Decimal] = mapped_column(Amount())
    qty_failed: Mapped[Decimal] = mapped_column(Amount())
    priority: Mapped[str] = mapped_column(String(8))
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    line_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    planned_start: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    notes: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    so_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    so_line_no: Mapped[int | None] = mapped_column(Integer, nullable=True)
    bom_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    requires_qc: Mapped[bool] = mapped_column(Boolean)
    reprint_of: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # None for a root order; the chain's first order for every reprint, however deep.
    root_order_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    reprint_seq: Mapped[int] = mapped_column(Integer)
    reprint_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(150))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    printed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)

    runs: Mapped[list[ProductionRun]] = relationship(
        order_by="ProductionRun.run_no", lazy="selectin"
    )
    qc_records: Mapped[list[QcRecord]] = relationship(order_by="QcRecord.qc_no", lazy="selectin")
    shortages: Mapped[list[OrderShortage]] = relationship(
        order_by="OrderShortage.sku", lazy="selectin", cascade="all, delete-orphan"
    )


class ProductionRun(Base):
    """One run of an order on the floor: what it printed good and bad, and why the bad."""

    __tablename__ = "production_runs"
    __table_args__ = (
        UniqueConstraint("order_id", "run_no", name="uq_production_runs_order_run"),
        CheckConstraint("qty_good >= 0 AND qty_bad >= 0", name="ck_production_runs_qty"),
        Index("ix_production_runs_scrap_reason_code", "scrap_reason_code"),
        Index("ix_production_runs_completed_at", "completed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("production_orders.id"))
    run_no: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[str] = mapped_column(String(32), unique=True)
    qty_good: Mapped[Decimal] = mapped_column(Amount())
    qty_bad: Mapped[Decimal] = mapped_column(Amount())
    scrap_reason_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    notes: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    final_run: Mapped[bool] = mapped_column(Boolean)
    # The line the run was made on, as it was then (the order may move to another line later).
    line_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    completed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(150))


class QcRecord(Base):
    """One QC decision on an order's printed output, and the reprint it led to, if any."""

    __tablename__ = "qc_records"
    __table_args__ = (
        UniqueConstraint("order_id", "qc_no", name="uq_qc_records_order_qc"),
        CheckConstraint("qty_passed >= 0 AND qty_failed >= 0", name="ck_qc_records_qty"),
        Index("ix_qc_records_reason_code", "reason_code"),
        Index("ix_qc_records_inspected_at", "inspected_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("production_orders.id"))
    qc_no: Mapped[int] = mapped_column(Integer)
    qc_record_id: Mapped[str] = mapped_column(String(32), unique=True)
    qty_passed: Mapped[Decimal] = mapped_column(Amount())
    qty_failed: Mapped[Decimal] = mapped_column(Amount())
    reason_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    notes: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    reprint_order_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    inspected_at: Mapped[datetime] = mapped_column(UtcDateTime())
    inspected_by: Mapped[str] = mapped_column(String(150))


class OrderShortage(Base):
    """A component that was short when the order started anyway (`allow_insufficient`)."""

    __tablename__ = "production_order_shortages"

    order_id: Mapped[int] = mapped_column(ForeignKey("production_orders.id"), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    qty_required: Mapped[Decimal] = mapped_column(Amount())
    qty_available: Mapped[Decimal] = mapped_column(Amount())
    qty_short: Mapped[Decimal] = mapped_column(Amount())
