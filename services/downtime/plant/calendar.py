"""A facility's calendar as the rest of the service asks for it: its zone, its shifts, the
shift and production day of a moment, and whether a production day is locked.

Kept apart from `plant/service.py` (the master data's use cases) because entries, signals and
reports all read it and none of them changes master data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from services.downtime.plant.domain import ShiftOccurrence, ShiftPattern, shift_at, zone
from services.downtime.plant.models import DayLock, Facility, Shift
from shared.uow import UnitOfWork

LockKind = Literal["manual", "automatic"]


@dataclass(frozen=True)
class Moment:
    """Where a moment falls in a facility's calendar."""

    shift: ShiftOccurrence | None
    production_day: date

    @property
    def shift_code(self) -> str | None:
        return self.shift.code if self.shift is not None else None


def facility_zone(facility: Facility) -> ZoneInfo:
    return zone(facility.timezone)


def shift_patterns(uow: UnitOfWork, facility_code: str) -> list[ShiftPattern]:
    """The facility's active shifts, by code."""
    rows = uow.session.scalars(
        select(Shift)
        .where(Shift.facility_code == facility_code, Shift.active.is_(True))
        .order_by(Shift.code)
    )
    return [pattern_of(row) for row in rows]


def pattern_of(row: Shift) -> ShiftPattern:
    return ShiftPattern(
        code=row.code, start=row.start_time, end=row.end_time, days=row.days_of_week
    )


def moment_in(uow: UnitOfWork, facility: Facility, moment: datetime) -> Moment:
    """The shift and production day of `moment` at `facility`."""
    tz = facility_zone(facility)
    worked = shift_at(shift_patterns(uow, facility.code), moment, tz)
    day = worked.day if worked is not None else moment.astimezone(tz).date()
    return Moment(shift=worked, production_day=day)


def day_lock(uow: UnitOfWork, facility: Facility, day: date, now: datetime) -> LockKind | None:
    """How `day` is locked at `facility` at `now`: by a supervisor, by the clock (the plant's
    `day_lock_hour` of the next day has passed), or not at all."""
    if uow.session.get(DayLock, (facility.code, day)) is not None:
        return "manual"
    if facility.day_lock_hour is None:
        return None
    tz = facility_zone(facility)
    next_day = day + timedelta(days=1)
    locks_at = datetime(
        next_day.year, next_day.month, next_day.day, facility.day_lock_hour, tzinfo=tz
    )
    return "automatic" if now >= locks_at else None
