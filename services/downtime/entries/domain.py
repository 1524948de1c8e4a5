"""The rules of a downtime entry, on plain values: its times make sense, and a line stops at
most once at a time.

Entries of one line never overlap, so to check a new one only two neighbours matter: the
entries that start inside it, and the one latest entry that starts before it (a running entry
reaches to forever). `overlapping` takes those and says which, if any, is in the way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

# A clock on a tablet may run a little ahead of the server's.
CLOCK_SKEW = timedelta(minutes=5)
# Longer than this is a typing mistake, not a stop (a line down for weeks is decommissioned).
LONGEST_STOP = timedelta(days=31)


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


def time_problem(start: datetime, end: datetime | None, now: datetime) -> tuple[str, str] | None:
    """(field, code) of what is wrong with these times, or None: no end before its start, no
    stop in the future, none longer than LONGEST_STOP."""
    if start > now + CLOCK_SKEW:
        return "started_at", "start_in_future"
    if end is None:
        return None
    if end <= start:
        return "ended_at", "end_not_after_start"
    if end > now + CLOCK_SKEW:
        return "ended_at", "end_in_future"
    if end - start > LONGEST_STOP:
        return "ended_at", "stop_too_long"
    return None
