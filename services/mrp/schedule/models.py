"""The planners' projections per sales-order line and every change to them (append-only)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.mrp.models import Base
from shared.types import Amount, UtcDateTime


class LineProjection(Base):
    """A planner's view of how much of a line ships with no or low risk and with high risk.
    `version` goes up on every saved cell: a save naming an older version is refused, so two
    planners never overwrite each other silently."""

    __tablename__ = "line_projections"

    so_line_id: Mapped[int] = mapped_column(ForeignKey("sales_order_lines.id"), primary_key=True)
    low_risk_qty: Mapped[Decimal | None] = mapped_column(Amount(), nullable=True)
    high_risk_qty: Mapped[Decimal | None] = mapped_column(Amount(), nullable=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ProjectionChange(Base):
    """One saved cell: the field, its value before and after, who and when (never updated)."""

    __tablename__ = "projection_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    so_line_id: Mapped[int] = mapped_column(ForeignKey("sales_order_lines.id"), index=True)
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[Decimal | None] = mapped_column(Amount(), nullable=True)
    new_value: Mapped[Decimal | None] = mapped_column(Amount(), nullable=True)
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())
