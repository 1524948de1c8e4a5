"""The plant's master data as use cases: facilities, their lines, shifts and day locks, and line
capacity. Each takes an open unit of work, leaves the commit to its caller, and records an
audit entry for what a user changed.

A line's whole state goes out as LineUpserted (key `line:<code>`) on every change, and again for
each of a facility's lines when the facility's time zone changes (the event carries it). A
line's capacity goes out whole, every active row, as CapacityChanged (key `capacity:<line>`).
`capacity_for` answers the units per shift in force on a day, for the reports.

Writers lock rows in one order: a facility, then its lines (by code), so a line's event always
carries its facility's current time zone and two writers never wait on each other in a ring.
A line's capacities are changed under the line's lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from services.downtime.entries.models import Downtime
from services.downtime.plant import calendar
from services.downtime.plant.domain import (
    FIRST_DAY,
    LAST_DAY,
    ShiftPattern,
    in_calendar,
    local_to_utc,
    overlapping_shift,
)
from services.downtime.plant.models import DayLock, Facility, Line, LineCapacity, Shift
from services.downtime.plant.schemas import (
    CapacityCreate,
    CapacityOut,
    CapacityUpdate,
    DayLockOut,
    DayLocksOut,
    DayUnlockOut,
    FacilityCreate,
    FacilityOut,
    FacilityUpdate,
    LineCreate,
    LineOut,
    LineUpdate,
    ShiftAtOut,
    ShiftCreate,
    ShiftOut,
    ShiftUpdate,
)
from shared import context
from shared.audit import record_change
from shared.events.catalogue import CapacityChanged, LineUpserted
from shared.events.catalogue import LineCapacity as CapacityPart
from shared.events.envelope import utc_now
from shared.i18n import _
from shared.uow import UnitOfWork
from shared.values import FOUR_PLACES
from shared.web.commands import CONCURRENT_CHANGE
from shared.web.pagination import Page, PageParams, apply_sort, paginate
from shared.web.problems import Conflict, InvalidInput, NotFound

# The longest range of days the day-lock list answers for at once.
MAX_LOCK_RANGE_DAYS = 366
DEFAULT_LOCK_RANGE_DAYS = 31


def _code(value: str) -> str:
    return value.strip().upper()


def _in_calendar(value: date | datetime, field: str) -> None:
    """422 naming `field` for a day or moment outside the plant's calendar (2000 to 2999)."""
    if in_calendar(value):
        return
    raise InvalidInput(
        _(
            "{value} is outside the plant's calendar ({first} to {last}).",
            value=value.isoformat(),
            first=FIRST_DAY.isoformat(),
            last=LAST_DAY.isoformat(),
        ),
        field=field,
        code="day_out_of_range",
    )


def _stored(value: Decimal) -> Decimal:
    """A figure as its NUMERIC(18, 4) column keeps it, so an event says 1.0000 whether the row
    was just written (1) or read back."""
    return value.quantize(FOUR_PLACES)


def _touch(row: Any, values: dict[str, Any]) -> bool:
    """Set `values` on `row`; True when something changed (then `updated_at` moves too)."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    if changed:
        row.updated_at = utc_now()
    return changed


# --- facilities --------------------------------------------------------------------------------

FACILITY_SORTS: dict[str, Any] = {
    "code": Facility.code,
    "name": Facility.name,
    "timezone": Facility.timezone,
    "active": Facility.active,
}


def list_facilities(
    uow: UnitOfWork, page: PageParams, active: bool | None = None, sort: str | None = None
) -> Page[FacilityOut]:
    query = select(Facility)
    if active is not None:
        query = query.where(Facility.active.is_(active))
    query = apply_sort(query, sort, FACILITY_SORTS, default="code", tiebreak=Facility.code)
    return paginate(uow.session, query, page, facility_out)


def get_facility(uow: UnitOfWork, code: str) -> FacilityOut:
    return facility_out(facility_row(uow, code))


def create_facility(uow: UnitOfWork, data: FacilityCreate) -> FacilityOut:
    if uow.session.get(Facility, data.code) is not None:
        raise Conflict(
            _("A facility {code} already exists.", code=data.code), field="code", code="duplicate"
        )
    now = utc_now()
    row = Facility(**data.model_dump(), active=True, created_at=now, updated_at=now)
    uow.session.add(row)
    uow.session.flush()
    out = facility_out(row)
    record_change(uow, "downtime.facilities.create", "facility", row.code, None, out)
    return out


def update_facility(uow: UnitOfWork, code: str, changes: FacilityUpdate) -> FacilityOut:
    """Change what `changes` names; a new time zone goes out with each of its lines."""
    row = facility_row(uow, code, for_update=True)
    before = facility_out(row)
    if not _touch(row, changes.model_dump(exclude_unset=True)):
        return before
    uow.session.flush()
    if row.timezone != before.timezone:
        lines = uow.session.scalars(
            select(Line)
            .where(Line.facility_code == row.code)
            .order_by(Line.code)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        for line in lines:
            _publish_line(uow, line, row)
    out = facility_out(row)
    record_change(uow, "downtime.facilities.update", "facility", row.code, before, out)
    return out


def set_facility_active(uow: UnitOfWork, code: str, active: bool) -> FacilityOut:
    """Deactivate a facility whose lines are all deactivated, or reactivate it."""
    row = facility_row(uow, code, for_update=True)
    before = facility_out(row)
    if row.active == active:
        return before
    if not active:
        running = list(
            uow.session.scalars(
                select(Line.code)
                .where(Line.facility_code == row.code, Line.active.is_(True))
                .order_by(Line.code)
            )
        )
        if running:
            raise Conflict(
                _(
                    "Facility {code} still has active lines ({lines}); deactivate them first.",
                    code=row.code,
                    lines=", ".join(running),
                ),
                field="code",
                code="facility_has_active_lines",
            )
    _touch(row, {"active": active})
    out = facility_out(row)
    action = "reactivate" if active else "deactivate"
    record_change(uow, f"downtime.facilities.{action}", "facility", row.code, before, out)
    return out


def facility_row(uow: UnitOfWork, code: str, *, for_update: bool = False) -> Facility:
    row = uow.session.get(
        Facility, _code(code), with_for_update=for_update, populate_existing=for_update
    )
    if row is None:
        raise NotFound(
            _("There is no facility {code}.", code=code), field="code", code="unknown_facility"
        )
    return row


def facility_out(row: Facility) -> FacilityOut:
    return FacilityOut(
        code=row.code,
        name=row.name,
        timezone=row.timezone,
        day_lock_hour=row.day_lock_hour,
        active=row.active,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def usable_facility(
    uow: UnitOfWork, code: str, *, field: str, for_update: bool = False
) -> Facility:
    """The active facility `code`, or a 422 naming `field`."""
    row = uow.session.get(
        Facility, _code(code), with_for_update=for_update, populate_existing=for_update
    )
    if row is None:
        raise InvalidInput(
            _("There is no facility {code}.", code=code), field=field, code="unknown_facility"
        )
    if not row.active:
        raise InvalidInput(
            _("Facility {code} is deactivated; choose an active one.", code=row.code),
            field=field,
            code="inactive_facility",
        )
    return row


# --- lines -------------------------------------------------------------------------------------

LINE_SORTS: dict[str, Any] = {
    "code": Line.code,
    "name": Line.name,
    "facility_code": Line.facility_code,
    "line_type": Line.line_type,
    "tooling_type": Line.tooling_type,
    "allergen_status": Line.allergen_status,
    "speed_modifier": Line.speed_modifier,
    "active": Line.active,
}


def list_lines(
    uow: UnitOfWork,
    page: PageParams,
    facility_code: str | None = None,
    active: bool | None = None,
    sort: str | None = None,
) -> Page[LineOut]:
    query = select(Line)
    if facility_code:
        query = query.where(Line.facility_code == _code(facility_code))
    if active is not None:
        query = query.where(Line.active.is_(active))
    query = apply_sort(query, sort, LINE_SORTS, default="code", tiebreak=Line.code)
    return paginate(uow.session, query, page, line_out)


def get_line(uow: UnitOfWork, code: str) -> LineOut:
    return line_out(line_row(uow, code))


def create_line(uow: UnitOfWork, data: LineCreate) -> LineOut:
    if uow.session.get(Line, data.code) is not None:
        raise Conflict(
            _("A line {code} already exists.", code=data.code), field="code", code="duplicate"
        )
    # Locked: a time zone changing meanwhile waits, and then sees this line.
    facility = usable_facility(uow, data.facility_code, field="facility_code", for_update=True)
    now = utc_now()
    row = Line(
        **data.model_dump(exclude={"facility_code"}),
        facility_code=facility.code,
        active=True,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(row)
    uow.session.flush()
    out = _publish_line(uow, row, facility)
    record_change(uow, "downtime.lines.create", "line", row.code, None, out)
    return out


def update_line(uow: UnitOfWork, code: str, changes: LineUpdate) -> LineOut:
    """Change a line's name or capabilities, or move it to another active facility (its
    capacity then goes out again, under the new facility)."""
    values = changes.model_dump(exclude_unset=True)
    row = _locked_line(uow, code, moving_to=values.get("facility_code"))
    before = line_out(row)
    moved = values.get("facility_code", row.facility_code) != row.facility_code
    if moved:
        values["facility_code"] = usable_facility(
            uow, values["facility_code"], field="facility_code"
        ).code
    if not _touch(row, values):
        return before
    uow.session.flush()
    out = _publish_line(uow, row, _facility_of(uow, row))
    if moved:
        _publish_capacity(uow, row)
    record_change(uow, "downtime.lines.update", "line", row.code, before, out)
    return out


def set_line_active(uow: UnitOfWork, code: str, active: bool) -> LineOut:
    """Deactivate a line (kept with its history), or reactivate it in an active facility."""
    row = _locked_line(uow, code)
    before = line_out(row)
    if row.active == active:
        return before
    facility = _facility_of(uow, row)
    if active and not facility.active:
        raise Conflict(
            _(
                "Line {line} cannot be reactivated: its facility {facility} is deactivated.",
                line=row.code,
                facility=facility.code,
            ),
            field="facility_code",
            code="inactive_facility",
        )
    if not active:
        _refuse_while_down(uow, row, facility)
    _touch(row, {"active": active})
    out = _publish_line(uow, row, facility)
    action = "reactivate" if active else "deactivate"
    record_change(uow, f"downtime.lines.{action}", "line", row.code, before, out)
    return out


def _refuse_while_down(uow: UnitOfWork, line: Line, facility: Facility) -> None:
    """409 naming the stop running on `line`: deactivated, the line could not be brought back
    up (an inactive line takes no entries), and the stop would grow in every report. The line's
    row is locked by the caller, the lock every entry takes, so no stop starts meanwhile."""
    running = uow.session.scalars(
        select(Downtime)
        .where(Downtime.line_code == line.code, Downtime.ended_at.is_(None))
        .order_by(Downtime.started_at)
        .limit(1)
    ).first()
    if running is None:
        return
    since = running.started_at.astimezone(calendar.facility_zone(facility))
    raise Conflict(
        _(
            "Line {line} is down: stop #{id} has been running since {since}. End that stop "
            "before deactivating the line.",
            line=line.code,
            id=running.id,
            since=since.strftime("%Y-%m-%d %H:%M"),
        ),
        field="code",
        code="line_is_down",
        extensions={"downtime_id": running.id},
    )


def line_row(uow: UnitOfWork, code: str, *, for_update: bool = False) -> Line:
    row = uow.session.get(
        Line, _code(code), with_for_update=for_update, populate_existing=for_update
    )
    if row is None:
        raise NotFound(_("There is no line {code}.", code=code), field="code", code="unknown_line")
    return row


def _locked_line(uow: UnitOfWork, code: str, *, moving_to: str | None = None) -> Line:
    """The line, locked after its facility (and the facility it moves to, the two by code)."""
    line = line_row(uow, code)
    for facility in sorted({line.facility_code, _code(moving_to or line.facility_code)}):
        uow.session.get(Facility, facility, with_for_update=True, populate_existing=True)
    locked = line_row(uow, line.code, for_update=True)
    if locked.facility_code != line.facility_code:  # moved while this request waited
        raise Conflict(CONCURRENT_CHANGE, code="concurrent_change")
    return locked


def line_out(row: Line) -> LineOut:
    return LineOut(
        code=row.code,
        facility_code=row.facility_code,
        name=row.name,
        line_type=row.line_type,
        tooling_type=row.tooling_type,
        allergen_status=row.allergen_status,
        speed_modifier=row.speed_modifier,
        active=row.active,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _facility_of(uow: UnitOfWork, line: Line) -> Facility:
    facility = uow.session.get(Facility, line.facility_code)
    assert facility is not None, line.facility_code  # a foreign key
    return facility


def _publish_line(uow: UnitOfWork, line: Line, facility: Facility) -> LineOut:
    """LineUpserted: the line's whole state now, its facility's time zone included."""
    out = line_out(line)
    uow.add_event(
        LineUpserted(
            line_code=line.code,
            name=line.name,
            facility_code=facility.code,
            timezone=facility.timezone,
            line_type=line.line_type,
            tooling_type=line.tooling_type,
            allergen_status=out.allergen_status,
            speed_modifier=_stored(line.speed_modifier),
            active=line.active,
        ),
        key=f"line:{line.code}",
    )
    return out


# --- shifts ------------------------------------------------------------------------------------

SHIFT_SORTS: dict[str, Any] = {
    "code": Shift.code,
    "name": Shift.name,
    "start_time": Shift.start_time,
    "end_time": Shift.end_time,
    "active": Shift.active,
}


def list_shifts(
    uow: UnitOfWork,
    facility_code: str,
    page: PageParams,
    active: bool | None = None,
    sort: str | None = None,
) -> Page[ShiftOut]:
    facility = facility_row(uow, facility_code)
    query = select(Shift).where(Shift.facility_code == facility.code)
    if active is not None:
        query = query.where(Shift.active.is_(active))
    query = apply_sort(query, sort, SHIFT_SORTS, default="start_time", tiebreak=Shift.code)
    return paginate(uow.session, query, page, shift_out)


def create_shift(uow: UnitOfWork, facility_code: str, data: ShiftCreate) -> ShiftOut:
    facility = facility_row(uow, facility_code, for_update=True)
    if uow.session.get(Shift, (facility.code, data.code)) is not None:
        raise Conflict(
            _(
                "Facility {facility} already has a shift {code}.",
                facility=facility.code,
                code=data.code,
            ),
            field="code",
            code="duplicate",
        )
    now = utc_now()
    row = Shift(
        facility_code=facility.code,
        code=data.code,
        name=data.name,
        start_time=data.start_time,
        end_time=data.end_time,
        days_of_week=data.days_of_week,
        active=True,
        created_at=now,
        updated_at=now,
    )
    _refuse_overlap(uow, row)
    uow.session.add(row)
    uow.session.flush()
    out = shift_out(row)
    record_change(uow, "downtime.shifts.create", "shift", _shift_id(row), None, out)
    _publish_facility_capacity(uow, row.facility_code)
    return out


def update_shift(uow: UnitOfWork, facility_code: str, code: str, changes: ShiftUpdate) -> ShiftOut:
    row = shift_row(uow, facility_code, code, for_update=True)
    before = shift_out(row)
    if not _touch(row, changes.model_dump(exclude_unset=True)):
        return before
    if row.active:
        _refuse_overlap(uow, row)
    uow.session.flush()
    out = shift_out(row)
    record_change(uow, "downtime.shifts.update", "shift", _shift_id(row), before, out)
    if "days_of_week" in changes.model_fields_set:
        _publish_facility_capacity(uow, row.facility_code)
    return out


def set_shift_active(uow: UnitOfWork, facility_code: str, code: str, active: bool) -> ShiftOut:
    """Deactivate a shift (moments in its hours then have none), or reactivate it when it
    overlaps no active shift."""
    row = shift_row(uow, facility_code, code, for_update=True)
    before = shift_out(row)
    if row.active == active:
        return before
    if active:
        _refuse_overlap(uow, row)
    _touch(row, {"active": active})
    out = shift_out(row)
    action = "reactivate" if active else "deactivate"
    record_change(uow, f"downtime.shifts.{action}", "shift", _shift_id(row), before, out)
    _publish_facility_capacity(uow, row.facility_code)
    return out


def shift_at(uow: UnitOfWork, facility_code: str, at: datetime) -> ShiftAtOut:
    """The shift, its occurrence and the production day of the moment `at` at a facility."""
    facility = facility_row(uow, facility_code)
    _in_calendar(at, "query.at")
    moment = calendar.moment_in(uow, facility, at)
    worked = moment.shift
    return ShiftAtOut(
        facility_code=facility.code,
        timezone=facility.timezone,
        at=at.astimezone(UTC),
        shift_code=moment.shift_code,
        production_day=moment.production_day,
        starts_at=worked.starts_at if worked is not None else None,
        ends_at=worked.ends_at if worked is not None else None,
    )


def shift_row(uow: UnitOfWork, facility_code: str, code: str, *, for_update: bool = False) -> Shift:
    facility = facility_row(uow, facility_code, for_update=for_update)
    row = uow.session.get(Shift, (facility.code, _code(code)), with_for_update=for_update)
    if row is None:
        raise NotFound(
            _("Facility {facility} has no shift {code}.", facility=facility.code, code=code),
            field="shift",
            code="unknown_shift",
        )
    return row


def shift_out(row: Shift) -> ShiftOut:
    return ShiftOut(
        facility_code=row.facility_code,
        code=row.code,
        name=row.name,
        start_time=row.start_time,
        end_time=row.end_time,
        days_of_week=row.days_of_week,
        crosses_midnight=calendar.pattern_of(row).crosses_midnight,
        active=row.active,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _shift_id(row: Shift) -> str:
    return f"{row.facility_code}/{row.code}"


def _refuse_overlap(uow: UnitOfWork, row: Shift) -> None:
    """409 naming the active shift of the facility whose hours meet `row`'s on some weekday.

    The facility's row is locked by the caller, so two shifts added at once are checked one
    after the other."""
    others: Iterable[ShiftPattern] = calendar.shift_patterns(uow, row.facility_code)
    other = overlapping_shift(calendar.pattern_of(row), others)
    if other is None:
        return
    raise Conflict(
        _(
            "Shift {code} would overlap shift {other} of facility {facility}; shifts of a "
            "facility may not overlap on any day of the week.",
            code=row.code,
            other=other,
            facility=row.facility_code,
        ),
        field="start_time",
        code="shift_overlap",
        extensions={"other_shift": other},
    )


# --- capacity ----------------------------------------------------------------------------------

CAPACITY_SORTS: dict[str, Any] = {
    "effective_from": LineCapacity.effective_from,
    "sku": LineCapacity.sku,
    "family": LineCapacity.family,
    "units_per_shift": LineCapacity.units_per_shift,
    "active": LineCapacity.active,
    "id": LineCapacity.id,
}


def list_capacities(
    uow: UnitOfWork,
    line_code: str,
    page: PageParams,
    active: bool | None = None,
    sort: str | None = None,
) -> Page[CapacityOut]:
    line = line_row(uow, line_code)
    query = select(LineCapacity).where(LineCapacity.line_code == line.code)
    if active is not None:
        query = query.where(LineCapacity.active.is_(active))
    query = apply_sort(
        query, sort, CAPACITY_SORTS, default="-effective_from", tiebreak=LineCapacity.id
    )
    return paginate(uow.session, query, page, capacity_out)


def create_capacity(uow: UnitOfWork, line_code: str, data: CapacityCreate) -> CapacityOut:
    # The line's row is locked: two capacities of one line are checked and published in turn.
    line = line_row(uow, line_code, for_update=True)
    _refuse_duplicate_capacity(uow, line.code, data.sku, data.family, data.effective_from)
    now = utc_now()
    row = LineCapacity(
        line_code=line.code,
        sku=data.sku,
        family=data.family,
        units_per_shift=data.units_per_shift,
        effective_from=data.effective_from,
        active=True,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(row)
    uow.session.flush()
    out = capacity_out(row)
    _publish_capacity(uow, line)
    record_change(uow, "downtime.capacities.create", "line_capacity", str(row.id), None, out)
    return out


def update_capacity(uow: UnitOfWork, capacity_id: int, changes: CapacityUpdate) -> CapacityOut:
    row = capacity_row(uow, capacity_id)
    line = line_row(uow, row.line_code, for_update=True)
    before = capacity_out(row)
    if not row.active:
        raise Conflict(
            _("Capacity {id} is deactivated; add a new one instead.", id=row.id),
            field="id",
            code="capacity_inactive",
        )
    values = changes.model_dump(exclude_unset=True)
    if values.get("effective_from", row.effective_from) != row.effective_from:
        _refuse_duplicate_capacity(
            uow, line.code, row.sku, row.family, values["effective_from"], besides=row.id
        )
    if not _touch(row, values):
        return before
    uow.session.flush()
    out = capacity_out(row)
    _publish_capacity(uow, line)
    record_change(uow, "downtime.capacities.update", "line_capacity", str(row.id), before, out)
    return out


def deactivate_capacity(uow: UnitOfWork, capacity_id: int) -> CapacityOut:
    row = capacity_row(uow, capacity_id)
    line = line_row(uow, row.line_code, for_update=True)
    before = capacity_out(row)
    if not row.active:
        return before
    _touch(row, {"active": False})
    uow.session.flush()
    out = capacity_out(row)
    _publish_capacity(uow, line)
    record_change(uow, "downtime.capacities.deactivate", "line_capacity", str(row.id), before, out)
    return out


def capacity_for(
    uow: UnitOfWork, line_code: str, sku: str | None, family: str | None, day: date
) -> Decimal | None:
    """The units per shift `line_code` makes on `day`: the item's capacity in force then, else
    its family's, else the line's any-product capacity, else None. "In force" is the active row
    of that target with the latest `effective_from` on or before `day`."""
    rows = uow.session.scalars(
        select(LineCapacity)
        .where(
            LineCapacity.line_code == line_code,
            LineCapacity.active.is_(True),
            LineCapacity.effective_from <= day,
        )
        .order_by(LineCapacity.effective_from.desc(), LineCapacity.id.desc())
    ).all()
    targets = [
        (sku, None) if sku is not None else None,
        (None, family) if family is not None else None,
        (None, None),
    ]
    for target in targets:
        if target is None:
            continue
        for row in rows:
            if (row.sku, row.family) == target:
                return row.units_per_shift
    return None


def capacity_row(uow: UnitOfWork, capacity_id: int) -> LineCapacity:
    row = uow.session.get(LineCapacity, capacity_id)
    if row is None:
        raise NotFound(
            _("There is no capacity {id}.", id=capacity_id), field="id", code="unknown_capacity"
        )
    return row


def capacity_out(row: LineCapacity) -> CapacityOut:
    return CapacityOut(
        id=row.id,
        line_code=row.line_code,
        sku=row.sku,
        family=row.family,
        units_per_shift=row.units_per_shift,
        effective_from=row.effective_from,
        active=row.active,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _refuse_duplicate_capacity(
    uow: UnitOfWork,
    line_code: str,
    sku: str | None,
    family: str | None,
    effective_from: date,
    *,
    besides: int | None = None,
) -> None:
    query = select(LineCapacity.id).where(
        LineCapacity.line_code == line_code,
        LineCapacity.sku.is_(None) if sku is None else LineCapacity.sku == sku,
        LineCapacity.family.is_(None) if family is None else LineCapacity.family == family,
        LineCapacity.effective_from == effective_from,
        LineCapacity.active.is_(True),
    )
    if besides is not None:
        query = query.where(LineCapacity.id != besides)
    other = uow.session.scalar(query.limit(1))
    if other is None:
        return
    target = sku or family or _("any product")
    raise Conflict(
        _(
            "Line {line} already has capacity {id} for {target} from {day}; change that one "
            "or deactivate it first.",
            line=line_code,
            id=other,
            target=target,
            day=effective_from.isoformat(),
        ),
        field="effective_from",
        code="capacity_exists",
        extensions={"other_capacity": other},
    )


def _publish_facility_capacity(uow: UnitOfWork, facility_code: str) -> None:
    """A shift changed: every line of the facility republishes its capacity, whose shifts per
    weekday the MRP's earliest dates count."""
    uow.session.flush()
    lines = uow.session.scalars(
        select(Line).where(Line.facility_code == facility_code).order_by(Line.code)
    )
    for line in lines:
        _publish_capacity(uow, line)


def _shifts_by_weekday(uow: UnitOfWork, facility_code: str) -> tuple[int, ...]:
    """How many active shifts the facility works on each weekday, Monday first."""
    days = uow.session.scalars(
        select(Shift.days_of_week).where(
            Shift.facility_code == facility_code, Shift.active.is_(True)
        )
    )
    counts = [0] * 7
    for digits in days:
        for digit in set(digits):
            counts[int(digit) - 1] += 1
    return tuple(counts)


def _publish_capacity(uow: UnitOfWork, line: Line) -> None:
    """CapacityChanged: every active capacity row of the line, oldest first, and the shifts its
    facility works per weekday."""
    rows = uow.session.scalars(
        select(LineCapacity)
        .where(LineCapacity.line_code == line.code, LineCapacity.active.is_(True))
        .order_by(LineCapacity.effective_from, LineCapacity.id)
    )
    uow.add_event(
        CapacityChanged(
            line_code=line.code,
            facility_code=line.facility_code,
            capacities=tuple(
                CapacityPart(
                    sku=row.sku,
                    family=row.family,
                    units_per_shift=_stored(row.units_per_shift),
                    effective_from=row.effective_from,
                )
                for row in rows
            ),
            shifts_by_weekday=_shifts_by_weekday(uow, line.facility_code),
        ),
        key=f"capacity:{line.code}",
    )


# --- day locks ---------------------------------------------------------------------------------


def list_day_locks(
    uow: UnitOfWork,
    facility_code: str,
    date_from: date | None = None,
    date_to: date | None = None,
    now: datetime | None = None,
) -> DayLocksOut:
    """The locked production days of `date_from`..`date_to` (the last month by default): those
    a supervisor locked, and those the facility's `day_lock_hour` has locked by `now`."""
    facility = facility_row(uow, facility_code)
    for field, given in (("query.date_from", date_from), ("query.date_to", date_to)):
        if given is not None:
            _in_calendar(given, field)
    now = now or utc_now()
    tz = calendar.facility_zone(facility)
    last = date_to or now.astimezone(tz).date()
    first = date_from or max(FIRST_DAY, last - timedelta(days=DEFAULT_LOCK_RANGE_DAYS - 1))
    if first > last:
        raise InvalidInput(
            _("date_from is after date_to."), field="query.date_from", code="empty_range"
        )
    if (last - first).days >= MAX_LOCK_RANGE_DAYS:
        raise InvalidInput(
            _("Ask for at most {days} days at once.", days=MAX_LOCK_RANGE_DAYS),
            field="query.date_from",
            code="range_too_long",
        )
    manual = {
        row.day: row
        for row in uow.session.scalars(
            select(DayLock).where(
                DayLock.facility_code == facility.code,
                DayLock.day >= first,
                DayLock.day <= last,
            )
        )
    }
    locks = []
    day = first
    while day <= last:
        if day in manual:
            locks.append(day_lock_out(manual[day]))
        else:
            locks_at = automatic_lock_at(facility, day)
            if locks_at is not None and now >= locks_at:
                locks.append(
                    DayLockOut(
                        facility_code=facility.code,
                        day=day,
                        kind="automatic",
                        locked_by=None,
                        locked_at=locks_at,
                    )
                )
        day += timedelta(days=1)
    return DayLocksOut(
        facility_code=facility.code,
        timezone=facility.timezone,
        day_lock_hour=facility.day_lock_hour,
        date_from=first,
        date_to=last,
        locks=locks,
    )


def lock_day(uow: UnitOfWork, facility_code: str, day: date) -> DayLockOut:
    """A supervisor locks a production day (today at the latest) of a facility."""
    facility = facility_row(uow, facility_code, for_update=True)
    _in_calendar(day, "day")
    today = utc_now().astimezone(calendar.facility_zone(facility)).date()
    if day > today:
        raise InvalidInput(
            _(
                "{day} has not begun at facility {facility}; lock it once it has.",
                day=day.isoformat(),
                facility=facility.code,
            ),
            field="day",
            code="day_in_future",
        )
    existing = uow.session.get(DayLock, (facility.code, day))
    if existing is not None:
        raise Conflict(
            _(
                "{day} at facility {facility} was already locked by {user}.",
                day=day.isoformat(),
                facility=facility.code,
                user=existing.locked_by,
            ),
            field="day",
            code="day_already_locked",
        )
    caller = context.get_current_user()
    row = DayLock(
        facility_code=facility.code,
        day=day,
        locked_by=caller.user if caller is not None else "system",
        locked_at=utc_now(),
    )
    uow.session.add(row)
    uow.session.flush()
    out = day_lock_out(row)
    record_change(uow, "downtime.days.lock", "day_lock", _lock_id(row), None, out)
    return out


def unlock_day(uow: UnitOfWork, facility_code: str, day: date) -> DayUnlockOut:
    """Lift a supervisor's lock. A day the clock locked stays locked: there is no lock of a
    person to lift, and its changes need the locked-day permission anyway."""
    facility = facility_row(uow, facility_code, for_update=True)
    _in_calendar(day, "day")
    row = uow.session.get(DayLock, (facility.code, day))
    locks_at = automatic_lock_at(facility, day)
    by_clock = locks_at is not None and utc_now() >= locks_at
    if row is None:
        if by_clock:
            raise Conflict(
                _(
                    "{day} at facility {facility} locked by itself at {hour}:00 the next day; "
                    "only a supervisor's lock can be lifted.",
                    day=day.isoformat(),
                    facility=facility.code,
                    hour=facility.day_lock_hour,
                ),
                field="day",
                code="locked_by_the_clock",
            )
        raise NotFound(
            _(
                "{day} at facility {facility} is not locked.",
                day=day.isoformat(),
                facility=facility.code,
            ),
            field="day",
            code="day_not_locked",
        )
    before = day_lock_out(row)
    uow.session.delete(row)
    uow.session.flush()
    record_change(uow, "downtime.days.unlock", "day_lock", _lock_id(row), before, None)
    return DayUnlockOut(
        facility_code=facility.code, day=day, lock="automatic" if by_clock else None
    )


def automatic_lock_at(facility: Facility, day: date) -> datetime | None:
    """When the clock locks `day` at `facility` (its `day_lock_hour` of the next day, UTC),
    the same rule `calendar.day_lock` applies; None when only a supervisor locks days. `day`
    is a day of the calendar (OutsideCalendar otherwise)."""
    if facility.day_lock_hour is None:
        return None
    return local_to_utc(
        day + timedelta(days=1), time(facility.day_lock_hour), calendar.facility_zone(facility)
    )


def day_lock_out(row: DayLock) -> DayLockOut:
    return DayLockOut(
        facility_code=row.facility_code,
        day=row.day,
        kind="manual",
        locked_by=row.locked_by,
        locked_at=row.locked_at,
    )


def _lock_id(row: DayLock) -> str:
    return f"{row.facility_code}/{row.day.isoformat()}"
