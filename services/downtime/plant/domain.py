"""Shifts in plant-local time, and which shift a moment falls in.

A shift is a wall-clock window in the facility's time zone (06:00-14:00, or 22:00-06:00 ending
the next day) on the weekdays it starts on. An occurrence of it is that window on one date,
turned into UTC with the zone's rules of that date, so a night shift over the spring change
lasts 7 hours and over the autumn change 9. A wall-clock time the spring change skips (02:30)
counts as the moment just after the gap; a time the autumn change repeats counts as its first
pass (fold=0), which is what a plant's clock on the wall shows.

The production day of a moment is the start date of the shift occurrence it falls in (a night
shift's last hours belong to the day it started); outside every shift it is the local date.
Shifts of one facility may not overlap on any weekday, so every moment has at most one shift.

The plant's calendar runs from 2000-01-01 to 2999-12-31 (the years accounting keeps periods
for; entries refuse stops before 2000). No shift is worked on a day outside it, and a day or a
moment outside it is refused here with `OutsideCalendar` (a ValueError) rather than left to
run off the ends of what a `datetime` holds (an OverflowError near the years 1 and 9999).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = "1234567"
_NOT_ZONES = frozenset({"localtime", "posixrules"})

FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2999, 12, 31)
# The moments of the calendar, in UTC (the local dates of the first and last hours may fall a
# day outside it, and have no shift).
FIRST_MOMENT = datetime(2000, 1, 1, tzinfo=UTC)
END_MOMENT = datetime(3000, 1, 1, tzinfo=UTC)
# The last day's night shift and day lock end on the day after it: its clock is still read.
_LAST_CLOCK_DAY = LAST_DAY + timedelta(days=1)


class OutsideCalendar(ValueError):
    """A day or moment outside the plant's calendar (FIRST_DAY to LAST_DAY)."""


def in_calendar(value: date | datetime) -> bool:
    """True for a day from FIRST_DAY to LAST_DAY, or an aware moment from FIRST_MOMENT up to
    END_MOMENT. Comparing never converts, so any day or moment may be asked about."""
    if isinstance(value, datetime):
        return FIRST_MOMENT <= value < END_MOMENT
    return FIRST_DAY <= value <= LAST_DAY


def _outside(value: date | datetime) -> OutsideCalendar:
    return OutsideCalendar(
        f"{value.isoformat()} is outside the plant's calendar "
        f"({FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()})"
    )


@dataclass(frozen=True)
class ShiftPattern:
    code: str
    start: time
    end: time
    days: str  # ISO weekdays the shift starts on, e.g. "12345"

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def starts_on(self, day: date) -> bool:
        return str(day.isoweekday()) in self.days


@dataclass(frozen=True)
class ShiftOccurrence:
    code: str
    day: date  # the production day: the local date the shift started on
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at

    def holds(self, moment: datetime) -> bool:
        return self.starts_at <= moment < self.ends_at


def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`; ValueError naming it when there is no such zone.

    'localtime' and 'posixrules' are files of the server's zone database, not IANA names: they
    would make a plant's clock the server's, and differ from one machine to the next. A folder
    of the database ('America') or a name too long for a file is no zone either (OSError).
    """
    if name in _NOT_ZONES:
        raise ValueError(f"unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def local_to_utc(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The UTC instant a wall clock in `tz` shows `wall` on `day`.

    A time inside the spring gap does not exist: the clock jumps over it, so it maps to the
    instant the gap ends (02:30 in a 02:00-03:00 gap becomes 03:00 local). `day` is a day of
    the calendar or the one after it (OutsideCalendar otherwise).
    """
    if not FIRST_DAY <= day <= _LAST_CLOCK_DAY:
        raise _outside(day)
    local = datetime.combine(day, wall, tzinfo=tz)
    instant = local.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant
    # Non-existent: fold=0 read it with the offset before the gap (an instant after the gap)
    # and fold=1 with the offset after it (an instant before the gap). The clock's jump lies
    # between the two; the first minute whose wall time reaches `wall` is where the gap ends.
    wanted = local.replace(tzinfo=None)
    probe = local.replace(fold=1).astimezone(UTC)
    while probe < instant and probe.astimezone(tz).replace(tzinfo=None) < wanted:
        probe += timedelta(minutes=1)
    return probe


def occurrence(pattern: ShiftPattern, day: date, tz: ZoneInfo) -> ShiftOccurrence:
    """`pattern` worked on `day` (whether or not it is one of its weekdays), a day of the
    calendar (OutsideCalendar otherwise)."""
    if not in_calendar(day):
        raise _outside(day)
    end_day = day + timedelta(days=1) if pattern.crosses_midnight else day
    return ShiftOccurrence(
        code=pattern.code,
        day=day,
        starts_at=local_to_utc(day, pattern.start, tz),
        ends_at=local_to_utc(end_day, pattern.end, tz),
    )


def shift_at(
    patterns: Iterable[ShiftPattern], moment: datetime, tz: ZoneInfo
) -> ShiftOccurrence | None:
    """The shift occurrence `moment` (aware) falls in, or None outside every shift.
    OutsideCalendar for a moment outside the calendar."""
    if not in_calendar(moment):
        raise _outside(moment)
    local_day = moment.astimezone(tz).date()
    for pattern in patterns:
        for day in (local_day, local_day - timedelta(days=1)):
            if not in_calendar(day) or not pattern.starts_on(day):
                continue
            worked = occurrence(pattern, day, tz)
            if worked.holds(moment):
                return worked
    return None


def production_day(patterns: Iterable[ShiftPattern], moment: datetime, tz: ZoneInfo) -> date:
    """The production day of `moment`: its shift's start date, or its local date.
    OutsideCalendar for a moment outside the calendar."""
    worked = shift_at(patterns, moment, tz)
    return worked.day if worked is not None else moment.astimezone(tz).date()


def occurrences_between(
    patterns: Iterable[ShiftPattern], first_day: date, last_day: date, tz: ZoneInfo
) -> Iterator[ShiftOccurrence]:
    """Every shift worked on the production days `first_day`..`last_day`, in start order;
    none on the days of the range outside the calendar."""
    chosen = list(patterns)
    day = max(first_day, FIRST_DAY)
    while day <= min(last_day, LAST_DAY):
        worked = [occurrence(p, day, tz) for p in chosen if p.starts_on(day)]
        yield from sorted(worked, key=lambda o: o.starts_at)
        day += timedelta(days=1)


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def _week_windows(pattern: ShiftPattern) -> list[tuple[int, int]]:
    """The pattern's windows in minutes from Monday 00:00 of a nominal week (wrapping)."""
    week = 7 * 24 * 60
    length = (_minutes(pattern.end) - _minutes(pattern.start)) % (24 * 60) or 24 * 60
    windows = []
    for weekday in pattern.days:
        start = (int(weekday) - 1) * 24 * 60 + _minutes(pattern.start)
        end = start + length
        windows.append((start, min(end, week)))
        if end > week:
            windows.append((0, end - week))
    return windows


def overlapping_shift(candidate: ShiftPattern, others: Iterable[ShiftPattern]) -> str | None:
    """The code of the first of `others` whose wall-clock window meets `candidate`'s on some
    day of the week, or None."""
    mine = _week_windows(candidate)
    for other in others:
        if other.code == candidate.code:
            continue
        for start, end in _week_windows(other):
            if any(start < my_end and my_start < end for my_start, my_end in mine):
                return other.code
    return None


def parse_days(days: str) -> str:
    """ISO weekday digits, sorted and unique ('531' -> '135'); ValueError on anything else."""
    chosen = set(days)
    if not chosen or not chosen <= set(WEEKDAYS):
        raise ValueError("days of week are digits 1 (Monday) to 7 (Sunday)")
    return "".join(sorted(chosen))
