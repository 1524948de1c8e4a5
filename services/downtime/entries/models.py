"""Downtime entries: one row per stop of one line, running (no end yet) or closed.

`planned` is copied from the reason when the entry is classified, so a reason re-flagged later
does not rewrite history; `production_day` is the plant-local day of the shift the stop started
in (the day a supervisor locks), and `shift_code` that shift (None outside every shift).
`source` says who opened it: an operator on the tablet, a clerk after the fact, or the machine.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.downtime.models import Base
from shared.types import UtcDateTime

Id = BigInteger().with_variant(Integer(), "sqlite")


class Downtime(Base):
    __tablename__ = "downtimes"
    __table_args__ = (
        CheckConstraint(
            "ended_at IS NULL OR ended_at > started_at", name="ck_downtimes_end_after_start"
        ),
        CheckConstraint("source IN ('tablet', 'manual', 'machine')", name="ck_downtimes_source"),
        Index("ix_downtimes_line_started", "line_code", "started_at"),
        Index("ix_downtimes_facility_day", "facility_code", "production_day"),
        Index("ix_downtimes_started_at", "started_at"),
        # A reason in use is never deleted: that check, and the list filtered by reason.
        Index("ix_downtimes_reason", "reason_code"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    line_code: Mapped[str] = mapped_column(ForeignKey("lines.code"))
    facility_code: Mapped[str] = mapped_column(String(32))
    reason_code: Mapped[str | None] = mapped_column(
        ForeignKey("downtime_reasons.code"), nullable=True
    )
    planned: Mapped[bool] = mapped_column(Boolean)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    production_day: Mapped[date] = mapped_column(Date)
    shift_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    order_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    notes: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    source: Mapped[str] = mapped_column(String(8))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Optimistic version: an edit names the version it read, so two editors never silently
    # overwrite each other.
    version: Mapped[int] = mapped_column(Integer)
