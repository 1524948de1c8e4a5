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

A machine's clock a little ahead of ours is allowed (`CLOCK_SKEW`): its `at` orders the
messages, but the entry is not dated after now (a stop in the future could not be classified
until then). Further ahead, the message is dropped: stored, it would hide every true message
until that time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from services.downtime.entries import service as entries
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
    "ignored_no_stop",  # running, but no stop was running on the line before `at`
    # Changed nothing.
    "ignored_repeat",  # the state the line already reported
    "ignored_older",  # not after the last message applied for the line
    # Dropped as wrong (the worker logs them as warnings).
    "unknown_line",
    "other_facility",  # the line belongs to another facility than the topic names
    "inactive_line",
    "in_the_future",  # more than CLOCK_SKEW ahead of now
]
DROPPED: frozenset[Outcome] = frozenset(
    {"unknown_line", "other_facility", "inactive_line", "in_the_future"}
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
        opened = entries.machine_stopped(uow, line.code, dated)
        outcome: Outcome = "opened" if opened is not None else "ignored_line_busy"
        downtime_id = opened.id if opened is not None else None
    else:
        closed = entries.machine_running(uow, line.code, dated)
        outcome = "closed" if closed is not None else "ignored_no_stop"
        # The row names the downtime the machine's last stop opened, now ended or not.
        downtime_id = last.downtime_id if last is not None else None
    _remember(uow, last, line.code, state, at, downtime_id, now)
    return outcome


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
