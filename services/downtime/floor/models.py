"""What the downtime service knows of production, built from production's events (a read
model, rebuildable by replay): the orders and the line each runs on, each run's output, each QC
decision, and each item's product family, for the tablet's "running now" and for OEE."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.downtime.models import Base
from shared.types import Amount, UtcDateTime


class OrderOnLine(Base):
    __tablename__ = "floor_orders"
    __table_args__ = (Index("ix_floor_orders_line_status", "line_code", "status"),)

    order_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))
    line_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    qty_to_make: Mapped[Decimal] = mapped_column(Amount())
    sequence: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RunOutput(Base):
    """One PrintCompleted: what a run made, on which line, when."""

    __tablename__ = "floor_runs"
    __table_args__ = (Index("ix_floor_runs_line_completed", "line_code", "completed_at"),)

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_code: Mapped[str] = mapped_column(String(32))
    sku: Mapped[str] = mapped_column(String(64))
    line_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    qty_good: Mapped[Decimal] = mapped_column(Amount())
    qty_bad: Mapped[Decimal] = mapped_column(Amount())
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    completed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class QcOutcome(Base):
    """One QCPassed: the units QC failed count against the quality of the run they came from."""

    __tablename__ = "floor_qc"
    __table_args__ = (Index("ix_floor_qc_run", "run_id"), Index("ix_floor_qc_order", "order_code"))

    qc_record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_code: Mapped[str] = mapped_column(String(32))
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    qty_passed: Mapped[Decimal] = mapped_column(Amount())
    qty_failed: Mapped[Decimal] = mapped_column(Amount())
    inspected_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ItemFamily(Base):
    """An item's product family, for capacities given per family."""

    __tablename__ = "floor_items"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    family: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sequence: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
