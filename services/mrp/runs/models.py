"""An MRP run and what it found, kept so the dashboard, the forecast and the tooltips read one
consistent result; and the planner's priority-score settings. Results are working data, not a
ledger: old runs are pruned (services/mrp/runs/service.py KEEP_RUNS)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.mrp.models import Base
from shared.types import Amount, UtcDateTime


class PrioritySettings(Base):
    """How open orders are put in order: by due-to-ship date, or by a score whose weights a
    planner sets (one row, id 1)."""

    __tablename__ = "priority_settings"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    use_score: Mapped[bool] = mapped_column(Boolean)
    weight_customer: Mapped[Decimal] = mapped_column(Amount())
    weight_value: Mapped[Decimal] = mapped_column(Amount())
    weight_due: Mapped[Decimal] = mapped_column(Amount())
    weight_penalty: Mapped[Decimal] = mapped_column(Amount())
    # Days until due at which the due-date part of the score reaches 0.
    horizon_days: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class MrpRun(Base):
    __tablename__ = "mrp_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_date: Mapped[date] = mapped_column(Date)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime] = mapped_column(UtcDateTime())
    requested_by: Mapped[str] = mapped_column(String(64))
    # "due_date" or "score", and the weights as they were (JSON).
    ordering: Mapped[str] = mapped_column(String(16))
    settings: Mapped[str] = mapped_column(Text)
    order_lines: Mapped[int] = mapped_column(Integer)
    engine_ms: Mapped[int] = mapped_column(Integer)
    total_ms: Mapped[int] = mapped_column(Integer)


class MrpLineResult(Base):
    """One open sales-order line as the run found it, in the order it was processed (`rank`).
    `components` is the per-component detail as JSON (required, allocated, short, taken by
    earlier orders in total, customer-supplied, made, and its own components when made)."""

    __tablename__ = "mrp_line_results"
    __table_args__ = (
        Index("ix_mrp_line_results_order", "run_id", "so_number", "line_no", unique=True),
    )

    run_id: Mapped[int] = mapped_column(ForeignKey("mrp_runs.id"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    so_number: Mapped[str] = mapped_column(String(20))
    line_no: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(64))
    customer_code: Mapped[str] = mapped_column(String(32))
    customer_name: Mapped[str] = mapped_column(String(200))
    business_unit: Mapped[str | None] = mapped_column(String(32), nullable=True)
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    qty_open: Mapped[Decimal] = mapped_column(Amount())
    unit_price: Mapped[Decimal] = mapped_column(Amount())
    score: Mapped[Decimal | None] = mapped_column(Amount(), nullable=True)
    score_parts: Mapped[str | None] = mapped_column(Text, nullable=True)
    qty_reserved: Mapped[Decimal] = mapped_column(Amount())
    qty_from_stock: Mapped[Decimal] = mapped_column(Amount())
    qty_pending_qc: Mapped[Decimal] = mapped_column(Amount())
    qty_in_production: Mapped[Decimal] = mapped_column(Amount())
    qty_needed: Mapped[Decimal] = mapped_column(Amount())
    qty_can_make: Mapped[Decimal] = mapped_column(Amount())
    status: Mapped[str] = mapped_column(String(32))
    status_text: Mapped[str] = mapped_column(String(400))
    bottleneck: Mapped[str | None] = mapped_column(String(400), nullable=True)
    shifts_required: Mapped[Decimal | None] = mapped_column(Amount(), nullable=True)
    line_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    earliest_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    # The latest due date of the dated purchase-order quantity the line's production took;
    # whether it took some with no due date (LineResult).
    material_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    material_undated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    components: Mapped[str] = mapped_column(Text)
    # Parts to buy for what cannot be made yet, netted across lines: {"SKU": "qty"} (JSON).
    to_buy: Mapped[str] = mapped_column(Text)


class MrpComponentTake(Base):
    """What one order took of one component's pool, in processing order: the tooltip's
    "taken by earlier orders, a line per sales order" is the takes with a lower rank."""

    __tablename__ = "mrp_component_takes"

    run_id: Mapped[int] = mapped_column(ForeignKey("mrp_runs.id"), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    so_number: Mapped[str] = mapped_column(String(20))
    line_no: Mapped[int] = mapped_column(Integer)
    qty: Mapped[Decimal] = mapped_column(Amount())


class MrpAction(Base):
    """A job created or purchases suggested from a run's line, so the dashboard shows what was
    done and a repeated click does not do it twice."""

    __tablename__ = "mrp_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "job" or "purchases"
    so_number: Mapped[str] = mapped_column(String(20), index=True)
    line_no: Mapped[int | None] = mapped_column(Integer, nullable=True)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The production order code, or the draft purchase-order numbers (comma separated).
    reference: Mapped[str] = mapped_column(String(400))
    done_by: Mapped[str] = mapped_column(String(64))
    done_at: Mapped[datetime] = mapped_column(UtcDateTime())
