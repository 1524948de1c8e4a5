"""Applying a machine's state message: a stop opens an unclassified downtime, running again ends
it (through `entries.service.machine_stopped` / `machine_running`), and `line_signals` keeps the
last state each line reported so that nothing happens twice.

The rule (docs/downtime.md "Machine signals"): the newest message wins. Under the line's row
lock, a message older than the last one applied is dropped (`ignored_older`; of two states at
the same moment the first one heard stands), and the state the line already reported changes
nothing (`ignored_repeat`), whatever its time. So a message delivered twice, by a broker's
redelivery or to two replicas, changes nothing the second time, and one that arrives after a
newer one (a stop after the "running" that ended it) is dropped rather than recorded
backwards: a stop whose two messages cross in transit is lost, never negative or doubled, and
can be recorded after the fact on the tablet.

A stop heard late (the broker kept the messages while the worker was away) may find the line
with an entry starting after it: an operator recorded a later stop meanwhile. A running stop
from `at` would overlap that entry, so the stop is kept pending in `line_signals` (state
`stopped`, no downtime) and, when its `running` comes, recorded closed from the one to the
other if that overlaps nothing (`recorded`); if it does, the stop is dropped
(`ignored_overlap`), unless a stop of the line is running then, which the `running` ends as
always (`closed`). Nothing running at `at` is what tells a late stop from one an operator was
quicker to (`ignored_line_busy`); the `running` after either is handled the same way.

A machine's clock a little ahead of ours is allowed (`CLOCK_SKEW`): its `at` orders the
messages, but the entry is not dated after now (a stop in the future could not be classified
until then). Further ahead, the message is dropped: stored, it would hide every true message
until that time. A stop older than a stop may last (`LONGEST_STOP`, 31 days) is dropped too
(`too_old`): a controller whose clock was reset to 2000 would otherwise open a stop nobody can
end.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select

from services.downtime.entries import service as entries
from services.downtime.entries.domain import LONGEST_STOP
from services.downtime.entries.models import Downtime
from services.downtime.plant.models import Line
from services.downtime.signals.models import LineSignal
from services.downtime.signals.schemas import State
from shared.events.envelope import utc_now
from shared.uow import UnitOfWork

CLOCK_SKEW = timedelta(minutes=5)

Outcome = Literal[
    # Applied: the state is stored.
    "opened",  # stopped: an unclassified stop is running from `at`
    "closed",  # running: the stop running on the line ended at `at`
    "ignored_line_busy",  # stopped, but the line was already down then (an operator was quicker)
    "pending",  # stopped, but an entry starts after `at`: kept until its running comes
    "recorded",  # running after a pending stop: the stop recorded closed, stopped to running
    "ignored_overlap",  # running after a pending stop that would overlap another entry
    "ignored_too_long",  # running after a pending stop, longer than LONGEST_STOP after it
    "ignored_no_stop",  # running, but no stop was running on the line before `at`
    # Changed nothing.
    "ignored_repeat",  # the state the line already reported
    "ignored_older",  # not after the last message applied for the line
    # Dropped as wrong (the worker logs them as warnings).
    "unknown_line",
    "other_facility",  # the line belongs to another facility than the topic names
    "inactive_line",
    "in_the_future",  # more than CLOCK_SKEW ahead of now
    "too_old",  # a stop more than LONGEST_STOP before now
]
DROPPED: frozenset[Outcome] = frozenset(
    {"unknown_line", "other_facility", "inactive_line", "in_the_future", "too_old"}
)


def apply_signal(
    uow: UnitOfWork,
    facility_code: str,
    line_code: str,
    state: State,
    at: datetime,
    *,
    now: datetime | None = None,
) -> Outcome:
    """Apply one message of a line's machine; what came of it. The caller commits."""
    now = now or utc_now()
    # The same row lock the entries take, held to the end: the comparison with the last
    # message and the change it makes are one step for the line, whoever else writes to it.
    line = uow.session.get(Line, line_code.strip().upper(), with_for_update=True)
    if line is None:
        return "unknown_line"
    if line.facility_code != facility_code.strip().upper():
        return "other_facility"
    if not line.active:
        return "inactive_line"
    if at > now + CLOCK_SKEW:
        return "in_the_future"
    if state == "stopped" and now - at > LONGEST_STOP:
        return "too_old"
    last = uow.session.get(LineSignal, line.code)
    if last is not None:
        if at < last.signalled_at:
            return "ignored_older"
        if state == last.state:
            return "ignored_repeat"
        if at == last.signalled_at:  # both states at one moment: the first one heard stands
            return "ignored_older"
    dated = min(at, now)
    if state == "stopped":
        outcome, downtime_id = _stopped(uow, line.code, dated)
    else:
        outcome, downtime_id = _running(uow, line.code, last, dated, now)
    _remember(uow, last, line.code, state, at, downtime_id, now)
    return outcome


def _stopped(uow: UnitOfWork, line_code: str, at: datetime) -> tuple[Outcome, int | None]:
    """Open the machine's stop; else say whether the line was down then or only later."""
    opened = entries.machine_stopped(uow, line_code, at)
    if opened is not None:
        return "opened", opened.id
    return ("ignored_line_busy" if _down_at(uow, line_code, at) else "pending"), None


def _running(
    uow: UnitOfWork, line_code: str, last: LineSignal | None, at: datetime, now: datetime
) -> tuple[Outcome, int | None]:
    """Record the machine's pending stop closed, or end the stop running on the line."""
    # The row names the downtime the machine's last stop opened, now ended or not.
    downtime_id = last.downtime_id if last is not None else None
    pending = last is not None and last.state == "stopped" and last.downtime_id is None
    held: Outcome | None = None
    if last is not None and pending:
        stopped_at = min(last.signalled_at, now)
        if at - stopped_at > LONGEST_STOP:
            held = "ignored_too_long"
        else:
            recorded = entries.record_machine_stop(uow, line_code, stopped_at, at)
            if recorded is not None:
                return "recorded", recorded.id
            held = "ignored_overlap"
    closed = entries.machine_running(uow, line_code, at)
    if closed is not None:
        return "closed", downtime_id
    return held or "ignored_no_stop", downtime_id


def _down_at(uow: UnitOfWork, line_code: str, at: datetime) -> bool:
    """True when an entry of the line holds `at` (entries of a line never overlap, so the one
    that starts last at or before `at` is the only one that can)."""
    latest = uow.session.scalars(
        select(Downtime)
        .where(Downtime.line_code == line_code, Downtime.started_at <= at)
        .order_by(Downtime.started_at.desc())
        .limit(1)
    ).first()
    return latest is not None and (latest.ended_at is None or latest.ended_at > at)


def _remember(
    uow: UnitOfWork,
    last: LineSignal | None,
    line_code: str,
    state: State,
    at: datetime,
    downtime_id: int | None,
    now: datetime,
) -> None:
    if last is None:
        last = LineSignal(line_code=line_code)
        uow.session.add(last)
    last.state = state
    last.signalled_at = at
    last.downtime_id = downtime_id
    last.received_at = now
    uow.session.flush()
