"""The plant's master data: facilities (each with its time zone and the hour yesterday locks),
their production lines with the capabilities the MRP matches on, shifts in plant-local time,
line capacity by effective date, and the days a supervisor has locked."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.downtime.models import Base
from shared.types import Amount, UtcDateTime


class Facility(Base):
    __tablename__ = "facilities"
    __table_args__ = (
        CheckConstraint(
            "day_lock_hour IS NULL OR (day_lock_hour >= 0 AND day_lock_hour <= 23)",
            name="ck_facilities_day_lock_hour",
        ),
    )

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64))
    # Plant-local hour of the day at which the day before locks by itself (None: only by hand).
    day_lock_hour: Mapped[int | None] = mapped_column(Integer, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Line(Base):
    """A production line or machine. Its capabilities are what the MRP matches an order to."""

    __tablename__ = "lines"
    __table_args__ = (
        CheckConstraint("speed_modifier > 0", name="ck_lines_speed_modifier"),
        CheckConstraint(
            "allergen_status IN ('allergen_free', 'handles_allergens')",
            name="ck_lines_allergen_status",
        ),
        Index("ix_lines_facility_code", "facility_code"),
    )

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    facility_code: Mapped[str] = mapped_column(ForeignKey("facilities.code"))
    name: Mapped[str] = mapped_column(String(120))
    line_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    tooling_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    allergen_status: Mapped[str] = mapped_column(String(20))
    speed_modifier: Mapped[Decimal] = mapped_column(Amount())
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Shift(Base):
    """A shift of a facility in plant-local wall-clock time. `end_time <= start_time` means it
    ends the next day; `days_of_week` holds the ISO weekdays (1 = Monday) it starts on, e.g.
    '12345'."""

    __tablename__ = "shifts"

    facility_code: Mapped[str] = mapped_column(ForeignKey("facilities.code"), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    days_of_week: Mapped[str] = mapped_column(String(7))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LineCapacity(Base):
    """Units a line makes in one shift, for one item (`sku`), one product family (`family`), or
    any product (neither), from `effective_from` until the next row of the same target."""

    __tablename__ = "line_capacities"
    __table_args__ = (
        CheckConstraint("units_per_shift > 0", name="ck_line_capacities_units"),
        CheckConstraint(
            "NOT (sku IS NOT NULL AND family IS NOT NULL)", name="ck_line_capacities_target"
        ),
        Index("ix_line_capacities_line", "line_code", "effective_from"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_code: Mapped[str] = mapped_column(ForeignKey("lines.code"))
    sku: Mapped[str | None] = mapped_column(String(64), nullable=True)
    family: Mapped[str | None] = mapped_column(String(64), nullable=True)
    units_per_shift: Mapped[Decimal] = mapped_column(Amount())
    effective_from: Mapped[date] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DayLock(Base):
    """A production day a supervisor locked for a facility: its downtime changes need admin."""

    __tablename__ = "day_locks"

    facility_code: Mapped[str] = mapped_column(ForeignKey("facilities.code"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    locked_by: Mapped[str] = mapped_column(String(120))
    locked_at: Mapped[datetime] = mapped_column(UtcDateTime())
