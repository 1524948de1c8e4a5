"""Downtime entry use cases: "line down now" and "back up" on the tablet, an entry after the
fact, a classification or correction, the machine's own stops, and the tablet's floor view.

Every write locks the line's row first (`_line_for_update`), so the overlap check and the write
are one step for that line whichever tablet, clerk or machine comes at once. Every change
publishes the entry's whole state as `DowntimeRecorded` and is audited with before and after.

A day that is locked (docs/downtime.md "Day locks") takes changes only from a user allowed
`downtime.days.edit_locked`, with an `edit_reason`; ending a running stop is not a change of
the past and is always allowed, and a machine's own signals are its record, not an edit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select

from services.downtime.entries.domain import Span, not_after, overlapping, time_problem
from services.downtime.entries.models import Downtime
from services.downtime.entries.schemas import (
    DowntimeCreate,
    DowntimeEnd,
    DowntimeOut,
    DowntimeStart,
    DowntimeUpdate,
    FloorView,
    OrderRunning,
    Source,
)
from services.downtime.floor.models import OrderOnLine
from services.downtime.plant.calendar import day_lock, facility_zone, moment_in
from services.downtime.plant.models import Facility, Line
from services.downtime.reasons.models import DowntimeReason
from services.downtime.reasons.service import usable_leaf
from shared import context
from shared.audit import record_change
from shared.auth.permissions import Action, allowed
from shared.events.catalogue import DowntimeRecorded
from shared.events.envelope import utc_now
from shared.i18n import _
from shared.uow import UnitOfWork
from shared.web.pagination import Page, PageParams, apply_sort, paginate
from shared.web.problems import Conflict, InvalidInput, NotFound

MACHINE = "machine"
TIME_MESSAGES = {
    "start_in_future": _("The stop cannot start in the future."),
    "end_not_after_start": _("The end must be after the start."),
    "end_in_future": _("The stop cannot end in the future."),
    "stop_too_long": _("A stop longer than 31 days is not a stop; check the dates."),
    "start_too_old": _(
        "A stop still running cannot have started more than 31 days ago; enter it with its end."
    ),
    "start_too_early": _("A stop cannot start before the year 2000; check the date."),
}


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


def start_downtime(
    uow: UnitOfWork, line_code: str, data: DowntimeStart, *, source: Source = "tablet"
) -> DowntimeOut:
    """ "Line down now": open a running stop on the line (now, or at `started_at`)."""
    line, facility = _line_for_update(uow, line_code)
    now = utc_now()
    _check_times(data.started_at or now, None, now)
    started_at = not_after(data.started_at or now, now)
    reason = _reason(uow, data.reason_code, facility.code)
    _check_no_overlap(uow, facility, line.code, started_at, None, ignore=None)
    where = moment_in(uow, facility, started_at)
    _check_day_open(uow, facility, where.production_day, data.edit_reason, now)
    row = Downtime(
        line_code=line.code,
        facility_code=facility.code,
        reason_code=reason.code if reason else None,
        planned=reason.planned if reason else False,
        started_at=started_at,
        ended_at=None,
        production_day=where.production_day,
        shift_code=where.shift_code,
        order_code=data.order_code or running_order_code(uow, line.code),
        notes=data.notes or None,
        source=source,
        created_by=_actor(),
        created_at=now,
        updated_at=now,
        version=1,
    )
    return _created(uow, row, data.edit_reason)


def end_downtime(uow: UnitOfWork, downtime_id: int, data: DowntimeEnd) -> DowntimeOut:
    """ "Back up": end a running stop (now, or at `ended_at`), classifying it if a reason
    comes with it. Ending a stop that has already ended is a 409."""
    row = _entry(uow, downtime_id)
    line, facility = _line_for_update(uow, row.line_code)
    uow.session.refresh(row)
    if row.ended_at is not None:
        raise Conflict(
            _(
                "Downtime #{id} already ended at {ended}.",
                id=row.id,
                ended=row.ended_at.isoformat(),
            ),
            code="downtime_already_ended",
            extensions={"downtime": _out(uow, row).model_dump(mode="json")},
        )
    now = utc_now()
    _check_times(row.started_at, data.ended_at or now, now, ending=True)
    ended_at = not_after(data.ended_at or now, now)
    _check_no_overlap(uow, facility, line.code, row.started_at, ended_at, ignore=row.id)
    if data.reason_code is not None or data.notes:
        # Coming back up is always allowed; classifying a locked day's stop is an edit of it.
        _check_day_open(uow, facility, row.production_day, data.edit_reason, now)
    before = _out(uow, row)
    if data.reason_code is not None:
        _classify(row, _reason(uow, data.reason_code, facility.code))
    if data.notes:
        row.notes = data.notes
    row.ended_at = ended_at
    return _changed(uow, row, before, "downtime.entries.end", data.edit_reason)


def record_downtime(
    uow: UnitOfWork, data: DowntimeCreate, *, source: Source = "manual"
) -> DowntimeOut:
    """A stop entered after the fact, with its start and end."""
    line, facility = _line_for_update(uow, data.line_code, field="line_code")
    now = utc_now()
    _check_times(data.started_at, data.ended_at, now)
    started_at, ended_at = not_after(data.started_at, now), not_after(data.ended_at, now)
    _check_times(started_at, ended_at, now)  # both were ahead of the clock: nothing left
    reason = _reason(uow, data.reason_code, facility.code)
    _check_no_overlap(uow, facility, line.code, started_at, ended_at, ignore=None)
    where = moment_in(uow, facility, started_at)
    _check_day_open(uow, facility, where.production_day, data.edit_reason, now)
    row = Downtime(
        line_code=line.code,
        facility_code=facility.code,
        reason_code=reason.code if reason else None,
        planned=reason.planned if reason else False,
        started_at=started_at,
        ended_at=ended_at,
        production_day=where.production_day,
        shift_code=where.shift_code,
        order_code=data.order_code,
        notes=data.notes or None,
        source=source,
        created_by=_actor(),
        created_at=now,
        updated_at=now,
        version=1,
    )
    return _created(uow, row, data.edit_reason)


def update_downtime(uow: UnitOfWork, downtime_id: int, data: DowntimeUpdate) -> DowntimeOut:
    """Classify or correct one entry. The editor names the `version` they read; another
    change since is a 409 carrying the entry as it is now."""
    row = _entry(uow, downtime_id)
    line, facility = _line_for_update(uow, row.line_code)
    uow.session.refresh(row)
    if row.version != data.version:
        raise Conflict(
            _(
                "Downtime #{id} was changed by someone else since you read it; reload it and "
                "make your change again.",
                id=row.id,
            ),
            field="version",
            code="stale_version",
            extensions={"downtime": _out(uow, row).model_dump(mode="json")},
        )
    now = utc_now()
    sent = data.model_fields_set
    started_at = data.started_at if "started_at" in sent and data.started_at else row.started_at
    ended_at = data.ended_at if "ended_at" in sent and data.ended_at else row.ended_at
    if (started_at, ended_at) != (row.started_at, row.ended_at):
        _check_times(started_at, ended_at, now)
        started_at = not_after(started_at, now)
        ended_at = not_after(ended_at, now) if ended_at is not None else None
        _check_times(started_at, ended_at, now)
    _check_no_overlap(uow, facility, line.code, started_at, ended_at, ignore=row.id)
    where = moment_in(uow, facility, started_at)
    # The day it was in and the day it moves to must both be open (or the editor may edit).
    for day in sorted({row.production_day, where.production_day}):
        _check_day_open(uow, facility, day, data.edit_reason, now)
    before = _out(uow, row)
    if "reason_code" in sent and data.reason_code is not None:
        _classify(row, _reason(uow, data.reason_code, facility.code))
    if "notes" in sent:
        row.notes = data.notes or None
    if "order_code" in sent:
        row.order_code = data.order_code
    row.started_at = started_at
    row.ended_at = ended_at
    row.production_day = where.production_day
    row.shift_code = where.shift_code
    return _changed(uow, row, before, "downtime.entries.update", data.edit_reason)


def machine_stopped(uow: UnitOfWork, line_code: str, at: datetime) -> Downtime | None:
    """A machine said it stopped at `at`: open an unclassified stop, unless the line is
    already down then or stopped again later (an operator was quicker, or the message came
    late), or `at` is not a time a running stop can start at; then nothing changes."""
    line, facility = _line_for_update(uow, line_code)
    now = utc_now()
    if time_problem(at, None, now) is not None:
        return None
    at = not_after(at, now)
    if _in_the_way(uow, line.code, at, None, ignore=None) is not None:
        return None
    return _machine_stop(uow, line, facility, at, None, now)


def record_machine_stop(
    uow: UnitOfWork, line_code: str, started_at: datetime, ended_at: datetime
) -> Downtime | None:
    """A machine's stop heard only once it was over (its messages came late): record it
    closed, unclassified, unless it would overlap another entry of the line or its times are
    not a stop's; then nothing changes."""
    line, facility = _line_for_update(uow, line_code)
    now = utc_now()
    started_at, ended_at = not_after(started_at, now), not_after(ended_at, now)
    if time_problem(started_at, ended_at, now) is not None:
        return None
    if _in_the_way(uow, line.code, started_at, ended_at, ignore=None) is not None:
        return None
    return _machine_stop(uow, line, facility, started_at, ended_at, now)


def _machine_stop(
    uow: UnitOfWork,
    line: Line,
    facility: Facility,
    started_at: datetime,
    ended_at: datetime | None,
    now: datetime,
) -> Downtime:
    where = moment_in(uow, facility, started_at)
    row = Downtime(
        line_code=line.code,
        facility_code=facility.code,
        reason_code=None,
        planned=False,
        started_at=started_at,
        ended_at=ended_at,
        production_day=where.production_day,
        shift_code=where.shift_code,
        order_code=running_order_code(uow, line.code),
        notes=None,
        source=MACHINE,
        created_by=MACHINE,
        created_at=now,
        updated_at=now,
        version=1,
    )
    uow.session.add(row)
    uow.session.flush()
    publish(uow, row)
    return row


def machine_running(uow: UnitOfWork, line_code: str, at: datetime) -> Downtime | None:
    """A machine said it runs again at `at`: end the stop that is running on the line, if
    it started before `at`; otherwise nothing changes."""
    line, _facility = _line_for_update(uow, line_code)
    at = not_after(at, utc_now())
    row = uow.session.scalars(
        select(Downtime)
        .where(Downtime.line_code == line.code, Downtime.ended_at.is_(None))
        .order_by(Downtime.started_at.desc())
        .limit(1)
    ).first()
    if row is None or row.started_at >= at:
        return None
    row.ended_at = at
    row.updated_at = utc_now()
    row.version += 1
    uow.session.flush()
    publish(uow, row)
    return row


# --------------------------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DowntimeFilters:
    facility_code: str | None = None
    line_code: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    reason_code: str | None = None
    unclassified: bool | None = None
    running: bool | None = None


SORTS: dict[str, Any] = {
    "started_at": Downtime.started_at,
    "line_code": Downtime.line_code,
    "production_day": Downtime.production_day,
    "reason_code": Downtime.reason_code,
}


def get_downtime(uow: UnitOfWork, downtime_id: int) -> DowntimeOut:
    return _out(uow, _entry(uow, downtime_id))


def list_downtimes(
    uow: UnitOfWork, filters: DowntimeFilters, page: PageParams, sort: str | None
) -> Page[DowntimeOut]:
    query = apply_sort(
        _filtered(filters), sort, SORTS, default="-started_at", tiebreak=Downtime.id.desc()
    )
    result = paginate(uow.session, query, page, lambda row: row)
    labels = _reason_labels(uow, {row.reason_code for row in result.items})
    return Page(
        items=[_out(uow, row, labels) for row in result.items],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


def export_rows(
    uow: UnitOfWork, filters: DowntimeFilters, sort: str | None, limit: int
) -> list[DowntimeOut]:
    query = apply_sort(
        _filtered(filters), sort, SORTS, default="-started_at", tiebreak=Downtime.id.desc()
    ).limit(limit)
    rows = list(uow.session.scalars(query))
    labels = _reason_labels(uow, {row.reason_code for row in rows})
    return [_out(uow, row, labels) for row in rows]


def floor_view(uow: UnitOfWork, line_code: str) -> FloorView:
    """The tablet's view of one line now."""
    line = _line(uow, line_code)
    facility = _facility(uow, line.facility_code)
    now = utc_now()
    where = moment_in(uow, facility, now)
    rows = list(
        uow.session.scalars(
            select(Downtime)
            .where(
                Downtime.line_code == line.code,
                Downtime.production_day == where.production_day,
            )
            .order_by(Downtime.started_at.desc())
        )
    )
    running_row = uow.session.scalars(
        select(Downtime).where(Downtime.line_code == line.code, Downtime.ended_at.is_(None))
    ).first()
    if running_row is not None and running_row not in rows:
        rows.insert(0, running_row)
    labels = _reason_labels(uow, {row.reason_code for row in rows})
    entries = [_out(uow, row, labels) for row in rows]
    running = next((entry for entry in entries if entry.running), None)
    order = _running_order(uow, line.code)
    return FloorView(
        line_code=line.code,
        line_name=line.name,
        facility_code=facility.code,
        timezone=facility.timezone,
        now=now,
        shift_code=where.shift_code,
        production_day=where.production_day,
        day_locked=day_lock(uow, facility, where.production_day, now) is not None,
        running=running,
        order=order,
        entries=entries,
        unclassified=sum(1 for entry in entries if entry.reason_code is None),
    )


def running_order_code(uow: UnitOfWork, line_code: str) -> str | None:
    order = _running_order(uow, line_code)
    return order.order_code if order is not None else None


# --------------------------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------------------------


def publish(uow: UnitOfWork, row: Downtime) -> None:
    """The entry's whole state as DowntimeRecorded (newest sequence wins for its readers)."""
    uow.add_event(
        DowntimeRecorded(
            downtime_id=str(row.id),
            line_code=row.line_code,
            facility_code=row.facility_code,
            reason_code=row.reason_code,
            planned=row.planned,
            started_at=row.started_at,
            ended_at=row.ended_at,
            production_day=row.production_day,
            shift_code=row.shift_code,
            order_code=row.order_code,
            notes=row.notes,
            source=row.source,
        ),
        key=f"downtime:{row.id}",
    )


def _created(uow: UnitOfWork, row: Downtime, edit_reason: str | None) -> DowntimeOut:
    uow.session.add(row)
    uow.session.flush()
    publish(uow, row)
    out = _out(uow, row)
    record_change(
        uow, "downtime.entries.create", "downtime", str(row.id), None, _audited(out, edit_reason)
    )
    return out


def _changed(
    uow: UnitOfWork, row: Downtime, before: DowntimeOut, action: str, edit_reason: str | None
) -> DowntimeOut:
    row.updated_at = utc_now()
    row.version += 1
    uow.session.flush()
    publish(uow, row)
    out = _out(uow, row)
    record_change(uow, action, "downtime", str(row.id), before, _audited(out, edit_reason))
    return out


def _audited(out: DowntimeOut, edit_reason: str | None) -> dict[str, Any]:
    after = out.model_dump(mode="json")
    if edit_reason:
        after["edit_reason"] = edit_reason
    return after


def _classify(row: Downtime, reason: DowntimeReason | None) -> None:
    if reason is None:
        return
    row.reason_code = reason.code
    row.planned = reason.planned


def _reason(uow: UnitOfWork, code: str | None, facility_code: str) -> DowntimeReason | None:
    if code is None:
        return None
    return usable_leaf(uow, code, facility_code, field="reason_code")


def _check_times(
    start: datetime, end: datetime | None, now: datetime, *, ending: bool = False
) -> None:
    problem = time_problem(start, end, now, ending=ending)
    if problem is not None:
        field, code = problem
        raise InvalidInput(TIME_MESSAGES[code], field=field, code=code)


def _check_no_overlap(
    uow: UnitOfWork,
    facility: Facility,
    line_code: str,
    start: datetime,
    end: datetime | None,
    *,
    ignore: int | None,
) -> None:
    other = _in_the_way(uow, line_code, start, end, ignore=ignore)
    if other is None:
        return
    shown = _out(uow, other)
    tz = facility_zone(facility)
    until = _wall(other.ended_at, tz) if other.ended_at is not None else _("still running")
    raise Conflict(
        _(
            "This overlaps downtime #{id} on line {line} ({reason}, from {start} to {end}); "
            "a line stops once at a time.",
            id=other.id,
            line=line_code,
            reason=shown.reason_path or _("unclassified"),
            start=_wall(other.started_at, tz),
            end=until,
        ),
        field="started_at",
        code="downtime_overlap",
        extensions={"other": shown.model_dump(mode="json")},
    )


def _in_the_way(
    uow: UnitOfWork, line_code: str, start: datetime, end: datetime | None, *, ignore: int | None
) -> Downtime | None:
    """The entry of the line that [start, end) would overlap, if any: two index probes (the
    entries starting inside it, and the latest one starting before it)."""
    inside = select(Downtime).where(Downtime.line_code == line_code, Downtime.started_at >= start)
    if end is not None:
        inside = inside.where(Downtime.started_at < end)
    before = (
        select(Downtime)
        .where(Downtime.line_code == line_code, Downtime.started_at < start)
        .order_by(Downtime.started_at.desc())
        .limit(2)
    )
    candidates = list(uow.session.scalars(inside.order_by(Downtime.started_at).limit(2)))
    candidates += list(uow.session.scalars(before))
    spans = [Span(row.id, row.started_at, row.ended_at) for row in candidates]
    hit = overlapping(start, end, spans, ignore=ignore)
    return next((row for row in candidates if hit is not None and row.id == hit.id), None)


def _check_day_open(
    uow: UnitOfWork, facility: Facility, day: date, edit_reason: str | None, now: datetime
) -> None:
    kind = day_lock(uow, facility, day, now)
    if kind is None:
        return
    caller = context.get_current_user()
    if caller is None or not allowed(caller.roles, Action.DOWNTIME_LOCKED_EDIT):
        raise Conflict(
            _(
                "{day} is locked for {facility}; only an administrator can change its downtime.",
                day=day.isoformat(),
                facility=facility.code,
            ),
            field="started_at",
            code="day_locked",
            extensions={"day": day.isoformat(), "lock": kind},
        )
    if not edit_reason:
        raise InvalidInput(
            _(
                "{day} is locked; say why you change it (edit_reason).",
                day=day.isoformat(),
            ),
            field="edit_reason",
            code="edit_reason_required",
        )


def _line_for_update(
    uow: UnitOfWork, line_code: str, *, field: str = "line_code"
) -> tuple[Line, Facility]:
    """The line (row-locked until the transaction ends) and its facility; both active."""
    code = line_code.strip().upper()
    line = uow.session.get(Line, code, with_for_update=True)
    if line is None:
        raise NotFound(_("There is no line '{code}'.", code=line_code), field=field)
    if not line.active:
        raise InvalidInput(
            _("Line {code} is deactivated.", code=line.code), field=field, code="inactive_line"
        )
    return line, _facility(uow, line.facility_code)


def _line(uow: UnitOfWork, line_code: str) -> Line:
    line = uow.session.get(Line, line_code.strip().upper())
    if line is None:
        raise NotFound(_("There is no line '{code}'.", code=line_code), field="line_code")
    return line


def _facility(uow: UnitOfWork, code: str) -> Facility:
    facility = uow.session.get(Facility, code)
    if facility is None:
        raise NotFound(_("There is no facility '{code}'.", code=code), field="facility_code")
    return facility


def _entry(uow: UnitOfWork, downtime_id: int) -> Downtime:
    row = uow.session.get(Downtime, downtime_id)
    if row is None:
        raise NotFound(_("There is no downtime #{id}.", id=downtime_id), field="id")
    return row


def _running_order(uow: UnitOfWork, line_code: str) -> OrderRunning | None:
    row = uow.session.scalars(
        select(OrderOnLine)
        .where(OrderOnLine.line_code == line_code, OrderOnLine.status == "in_progress")
        .order_by(OrderOnLine.updated_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return OrderRunning(
        order_code=row.order_code, sku=row.sku, status=row.status, qty_to_make=row.qty_to_make
    )


def _filtered(filters: DowntimeFilters) -> Select[Any]:
    query = select(Downtime)
    if filters.facility_code:
        query = query.where(Downtime.facility_code == filters.facility_code.upper())
    if filters.line_code:
        query = query.where(Downtime.line_code == filters.line_code.upper())
    if filters.date_from:
        query = query.where(Downtime.production_day >= filters.date_from)
    if filters.date_to:
        query = query.where(Downtime.production_day <= filters.date_to)
    if filters.reason_code:
        query = query.where(Downtime.reason_code == filters.reason_code.upper())
    if filters.unclassified is not None:
        query = query.where(
            Downtime.reason_code.is_(None)
            if filters.unclassified
            else Downtime.reason_code.is_not(None)
        )
    if filters.running is not None:
        query = query.where(
            Downtime.ended_at.is_(None) if filters.running else Downtime.ended_at.is_not(None)
        )
    return query


@dataclass(frozen=True)
class ReasonLabel:
    name: str
    colour: str
    path: str


def _reason_labels(uow: UnitOfWork, codes: Iterable[str | None]) -> dict[str, ReasonLabel]:
    """Name, colour and path ('Mechanical / Nozzle / Clogged') of each of `codes`."""
    wanted = {code for code in codes if code}
    if not wanted:
        return {}
    facilities = select(DowntimeReason.facility_code).where(DowntimeReason.code.in_(wanted))
    rows = uow.session.scalars(
        select(DowntimeReason).where(DowntimeReason.facility_code.in_(facilities))
    )
    by_code = {row.code: row for row in rows}
    return {code: _label(by_code, code) for code in wanted if code in by_code}


def _label(by_code: dict[str, DowntimeReason], code: str) -> ReasonLabel:
    names: list[str] = []
    node: DowntimeReason | None = by_code[code]
    seen: set[str] = set()
    while node is not None and node.code not in seen:
        seen.add(node.code)
        names.append(node.name)
        node = by_code.get(node.parent_code) if node.parent_code else None
    reason = by_code[code]
    return ReasonLabel(name=reason.name, colour=reason.colour, path=" / ".join(reversed(names)))


def _out(
    uow: UnitOfWork, row: Downtime, labels: dict[str, ReasonLabel] | None = None
) -> DowntimeOut:
    if labels is None:
        labels = _reason_labels(uow, [row.reason_code])
    label = labels.get(row.reason_code) if row.reason_code else None
    duration = (
        Decimal(int((row.ended_at - row.started_at).total_seconds()))
        if row.ended_at is not None
        else None
    )
    return DowntimeOut(
        id=row.id,
        line_code=row.line_code,
        facility_code=row.facility_code,
        reason_code=row.reason_code,
        reason_name=label.name if label else None,
        reason_colour=label.colour if label else None,
        reason_path=label.path if label else None,
        planned=row.planned,
        started_at=row.started_at,
        ended_at=row.ended_at,
        running=row.ended_at is None,
        duration_seconds=duration,
        production_day=row.production_day,
        shift_code=row.shift_code,
        order_code=row.order_code,
        notes=row.notes,
        source=row.source,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


def _wall(moment: datetime, tz: ZoneInfo) -> str:
    """A moment as the plant's wall clock shows it: '2026-11-26 10:15'."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _actor() -> str:
    caller = context.get_current_user()
    return caller.user if caller is not None else MACHINE


def zone_name(uow: UnitOfWork, facility_code: str | None) -> str | None:
    """The time zone a facility's exports show times in."""
    if not facility_code:
        return None
    facility = uow.session.get(Facility, facility_code.upper())
    return str(facility_zone(facility)) if facility is not None else None
