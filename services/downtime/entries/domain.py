"""The rules of a downtime entry, on plain values: its times make sense, and a line stops at
most once at a time.

Entries of one line never overlap, so to check a new one only two neighbours matter: the
entries that start inside it, and the one latest entry that starts before it (a running entry
reaches to forever). `overlapping` takes those and says which, if any, is in the way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# A clock on a tablet may run a little ahead of the server's.
CLOCK_SKEW = timedelta(minutes=5)
# Longer than this is a typing mistake, not a stop (a line down for weeks is decommissioned).
LONGEST_STOP = timedelta(days=31)
# The plant's calendar starts here (accounting's periods too); earlier is a typing mistake.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Span:
    """An entry's place in time; `end` None while the line is still down."""

    id: int
    start: datetime
    end: datetime | None

    def meets(self, start: datetime, end: datetime | None) -> bool:
        """True when this span and [start, end) share a moment (None = open-ended)."""
        starts_before_other_ends = end is None or self.start < end
        ends_after_other_starts = self.end is None or self.end > start
        return starts_before_other_ends and ends_after_other_starts


def overlapping(
    start: datetime, end: datetime | None, neighbours: Iterable[Span], *, ignore: int | None
) -> Span | None:
    """The first of `neighbours` (other than `ignore`) that [start, end) overlaps, or None."""
    for span in neighbours:
        if span.id != ignore and span.meets(start, end):
            return span
    return None


def time_problem(
    start: datetime, end: datetime | None, now: datetime, *, ending: bool = False
) -> tuple[str, str] | None:
    """(field, code) of what is wrong with these times, or None.

    No stop before EARLIEST or in the future; a running stop (no end) started within
    LONGEST_STOP, so it can be ended; an end after its start; a stop entered with both times no
    longer than LONGEST_STOP. `ending` is "back up" on a running stop: however long the line was
    down, it may always come back up.
    """
    if start < EARLIEST:
        return "started_at", "start_too_early"
    if start > now + CLOCK_SKEW:
        return "started_at", "start_in_future"
    if end is None:
        return ("started_at", "start_too_old") if now - start > LONGEST_STOP else None
    if end <= start:
        return "ended_at", "end_not_after_start"
    if end > now + CLOCK_SKEW:
        return "ended_at", "end_in_future"
    if end - start > LONGEST_STOP and not ending:
        return "ended_at", "stop_too_long"
    return None


def not_after(moment: datetime, now: datetime) -> datetime:
    """A time a tablet's clock put slightly ahead (within CLOCK_SKEW) taken as now: a stop is
    never stored as starting or ending in the future."""
    return min(moment, now)
