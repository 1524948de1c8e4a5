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
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = "1234567"
_NOT_ZONES = frozenset({"localtime", "posixrules"})


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
    instant the gap ends (02:30 in a 02:00-03:00 gap becomes 03:00 local).
    """
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
    """`pattern` worked on `day` (whether or not it is one of its weekdays)."""
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
    """The shift occurrence `moment` (aware) falls in, or None outside every shift."""
    local_day = moment.astimezone(tz).date()
    for pattern in patterns:
        for day in (local_day, local_day - timedelta(days=1)):
            if not pattern.starts_on(day):
                continue
            worked = occurrence(pattern, day, tz)
            if worked.holds(moment):
                return worked
    return None


def production_day(patterns: Iterable[ShiftPattern], moment: datetime, tz: ZoneInfo) -> date:
    """The production day of `moment`: its shift's start date, or its local date."""
    worked = shift_at(patterns, moment, tz)
    return worked.day if worked is not None else moment.astimezone(tz).date()


def occurrences_between(
    patterns: Iterable[ShiftPattern], first_day: date, last_day: date, tz: ZoneInfo
) -> Iterator[ShiftOccurrence]:
    """Every shift worked on the production days `first_day`..`last_day`, in start order."""
    chosen = list(patterns)
    day = first_day
    while day <= last_day:
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
