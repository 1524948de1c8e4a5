"""Report use cases: read what a report needs, hand it to `domain`, shape the answer.

Two ways of reading, by what each report needs:

- The downtime summary, the Pareto and the trend add up whole stops by their production day
  (the day a supervisor locks), so the database does the adding: one GROUP BY over the stops of
  the range (by line, reason and planned, or by day and planned), whatever the table holds. A
  stop's seconds are taken exactly in SQL (microseconds kept; a running stop up to `now`).
- OEE and MTBF/MTTR need each stop cut to the shift occurrences it overlaps. The occurrences
  of the range worked so far go to the database as a table (seven arrays on PostgreSQL, a
  VALUES list on SQLite), and one pass over the stops starting in the range's window lets the
  database add up, per group, those wholly inside the shift they started in (matched on their
  recorded production day and shift): nearly all of them. It hands over the rest one by one
  (over a shift change, outside every shift, running past the range), which `domain.stop_parts`
  cuts here, with each line's latest stop before the window (a line's stops never overlap, so
  no older one reaches in). Runs are placed in the shift they completed in (a binary search,
  width_bucket, on PostgreSQL) and added up per group, shift length and the capacity span in
  force, which `domain.capacity_spans` makes of the lines' capacities; QC failures per group
  apart. Python sees no row per stop or per run, so a month of a facility over a million
  stops answers in about 100 ms on PostgreSQL. `domain.line_shifts` is the same computation on
  plain values; a test holds the two to the same figures.

A facility's inactive lines are reported when they have something in the range; a shift that
is inactive now is not in the plant's calendar, so its past time is not counted.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    DateTime,
    Integer,
    Numeric,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    column,
    extract,
    func,
    literal,
    not_,
    null,
    select,
    text,
    type_coerce,
    union_all,
    values,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeEngine

from services.downtime.entries.models import Downtime
from services.downtime.floor.models import ItemFamily, QcOutcome, RunOutput
from services.downtime.plant.calendar import facility_zone, shift_patterns
from services.downtime.plant.domain import ShiftOccurrence, occurrences_between
from services.downtime.plant.models import Facility, Line, LineCapacity, Shift
from services.downtime.reasons.models import DowntimeReason
from services.downtime.reports import domain
from services.downtime.reports.domain import (
    MAX_DAYS,
    Capacity,
    DowntimeSum,
    OeeInputs,
    OeeTally,
    Stop,
    Worked,
)
from services.downtime.reports.schemas import (
    DowntimeSummaryOut,
    LineRowOut,
    OeeFiguresOut,
    OeeGroupBy,
    OeeReportOut,
    OeeRowOut,
    ParetoOut,
    ParetoRowOut,
    ReasonLevel,
    ReasonRowOut,
    ReliabilityFiguresOut,
    ReliabilityOut,
    ReliabilityRowOut,
    SummaryTotalsOut,
    TrendBucket,
    TrendOut,
    TrendRowOut,
    UnscheduledOutputOut,
)
from shared.i18n import _
from shared.types import Amount, UtcDateTime
from shared.uow import UnitOfWork
from shared.web.problems import InvalidInput, NotFound

ZERO = Decimal(0)
# The colour of downtime nobody has given a reason yet.
UNCLASSIFIED_COLOUR = "#9E9E9E"
# A stop's production day is its local start date or the day before (a night shift's early
# hours), and a local date is within 14 hours of the UTC one: this margin bounds started_at so
# a report without a facility can still use the started_at index.
_DAY_MARGIN = timedelta(days=2)


@dataclass(frozen=True)
class ReportQuery:
    """The production days `first` to `last` (both included) of a facility, a line, or every
    facility (neither); `planned` keeps only planned (True) or unplanned (False) stops."""

    first: date
    last: date
    facility_code: str | None = None
    line_code: str | None = None
    planned: bool | None = None


# Days a report may name: the calendar arithmetic around them stays inside what a datetime holds.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(9999, 12, 1)


def check_range(first: date, last: date) -> None:
    for name, day in (("date_from", first), ("date_to", last)):
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            raise InvalidInput(
                _(
                    "{day} is outside the days a report can cover ({first} to {last}).",
                    day=day.isoformat(),
                    first=EARLIEST_DAY.isoformat(),
                    last=LATEST_DAY.isoformat(),
                ),
                field=f"query.{name}",
                code="day_out_of_range",
            )
    if last < first:
        raise InvalidInput(
            _("The last day comes before the first day."),
            field="query.date_to",
            code="date_to_before_date_from",
        )
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput(
            _("A report covers at most {days} days; choose a shorter range.", days=MAX_DAYS),
            field="query.date_to",
            code="range_too_long",
        )


# --------------------------------------------------------------------------------------------
# Scope: which facilities and lines
# --------------------------------------------------------------------------------------------


@dataclass
class Scope:
    """A facility and the lines of it a report covers."""

    facility: Facility
    lines: list[Line]
    chosen_line: bool = False


def scopes(uow: UnitOfWork, query: ReportQuery) -> list[Scope]:
    """The facilities and lines `query` names (every facility when it names none); 404 naming
    the field for a facility or line that does not exist, 422 for a line of another facility."""
    facility: Facility | None = None
    if query.facility_code is not None:
        facility = uow.session.get(Facility, query.facility_code)
        if facility is None:
            raise NotFound(
                _("There is no facility '{code}'.", code=query.facility_code),
                field="query.facility_code",
                code="unknown_facility",
            )
    if query.line_code is not None:
        line = uow.session.get(Line, query.line_code)
        if line is None:
            raise NotFound(
                _("There is no line '{code}'.", code=query.line_code),
                field="query.line_code",
                code="unknown_line",
            )
        if facility is not None and line.facility_code != facility.code:
            raise InvalidInput(
                _(
                    "Line {line} is not a line of facility {facility}.",
                    line=line.code,
                    facility=facility.code,
                ),
                field="query.line_code",
                code="line_not_in_facility",
            )
        owner = facility or uow.session.get(Facility, line.facility_code)
        return [Scope(owner, [line], chosen_line=True)] if owner is not None else []
    facilities = (
        [facility]
        if facility is not None
        else list(uow.session.scalars(select(Facility).order_by(Facility.code)))
    )
    lines = uow.session.scalars(
        select(Line)
        .where(Line.facility_code.in_([each.code for each in facilities]))
        .order_by(Line.code)
    )
    by_facility: dict[str, list[Line]] = {each.code: [] for each in facilities}
    for line in lines:
        by_facility[line.facility_code].append(line)
    return [Scope(each, by_facility[each.code]) for each in facilities]


# --------------------------------------------------------------------------------------------
# OEE and reliability: stops cut to the shifts
# --------------------------------------------------------------------------------------------

# A group of a facility's OEE: (line,), (shift code,), (production day,) or (line, occurrence).
GroupKey = tuple[Any, ...]


def group_key(group_by: OeeGroupBy, line_code: str, occurrence: ShiftOccurrence) -> GroupKey:
    if group_by is OeeGroupBy.LINE:
        return (line_code,)
    if group_by is OeeGroupBy.SHIFT:
        return (occurrence.code,)
    if group_by is OeeGroupBy.DAY:
        return (occurrence.day,)
    return (line_code, occurrence)


@dataclass
class FacilityOee:
    """One facility's lines over the shift occurrences of the range worked so far."""

    scope: Scope
    lines: list[Line]
    groups: dict[GroupKey, OeeInputs]
    outside: dict[str, Decimal]
    shift_names: dict[str, str] = field(default_factory=dict)


def oee_groups(
    uow: UnitOfWork, query: ReportQuery, group_by: OeeGroupBy, now: datetime
) -> list[FacilityOee]:
    if uow.session.get_bind().dialect.name == "postgresql":
        # The planner prices a year's statements high enough to JIT-compile them, which costs
        # more (tens of ms, ~100 for a year) than the compiled code saves; this transaction only.
        uow.session.execute(text("SET LOCAL jit = off"))
        uow.session.execute(text("SET LOCAL work_mem = '32MB'"))
    return [_facility_oee(uow, scope, query, group_by, now) for scope in scopes(uow, query)]


@dataclass
class _Window:
    """What one facility's OEE reads: its occurrences worked so far from the day before the
    range (whose night shift may reach into it) to the last day, those of the range
    (`counted`), and [since, until): the range's local days and shifts together."""

    worked: list[Worked]
    counted: list[Worked]
    since: datetime
    until: datetime
    first: date
    last: date


def _window(facility: Facility, patterns: Any, query: ReportQuery, now: datetime) -> _Window:
    tz = facility_zone(facility)
    occurrences = occurrences_between(patterns, query.first - timedelta(days=1), query.last, tz)
    worked = [
        replace(each, counted=each.occurrence.day >= query.first)
        for each in domain.worked_so_far(occurrences, now)
    ]
    counted = [each for each in worked if each.counted]
    since = _local_midnight(query.first, tz)
    until = _local_midnight(query.last + timedelta(days=1), tz)
    if counted:
        since = min(since, counted[0].starts_at)
        until = max(until, *(each.until for each in counted))
    return _Window(worked, counted, since, until, query.first, query.last)


def _facility_oee(
    uow: UnitOfWork, scope: Scope, query: ReportQuery, group_by: OeeGroupBy, now: datetime
) -> FacilityOee:
    facility = scope.facility
    window = _window(facility, shift_patterns(uow, facility.code), query, now)
    lines = _reported_lines(uow, scope, window)
    codes = [line.code for line in lines]
    tallies: dict[GroupKey, OeeTally] = {}

    def tally(key: GroupKey) -> OeeTally:
        found = tallies.get(key)
        if found is None:
            found = tallies[key] = OeeTally()
        return found

    if group_by is OeeGroupBy.LINE:
        worked_seconds = sum((each.seconds for each in window.counted), ZERO)
        for code in codes:
            tally((code,)).add_shift(worked_seconds)
    elif group_by is OeeGroupBy.OCCURRENCE:
        for code in codes:
            for each in window.counted:
                tally((code, each.occurrence)).add_shift(each.seconds)
    elif codes:
        for each in window.counted:
            tally(group_key(group_by, codes[0], each.occurrence)).add_shift(
                each.seconds * len(codes)
            )
    outside: dict[str, Decimal] = {}
    if codes:
        # The stops' statement joins the shifts of the range, the runs' every worked shift.
        counted = [(index, each) for index, each in enumerate(window.worked) if each.counted]
        if counted:
            _add_stops(uow, codes, window, _shift_values(uow, counted), group_by, now, tally)
        matched: dict[str, Decimal] = {}
        if window.worked:
            every = _shift_values(uow, list(enumerate(window.worked)))
            matched = _add_outputs(uow, codes, window, every, group_by, tally)
        outside = _outside(uow, codes, window, matched)
    names = {
        code: name
        for code, name in uow.session.execute(
            select(Shift.code, Shift.name).where(Shift.facility_code == facility.code)
        )
    }
    return FacilityOee(
        scope=scope,
        lines=lines,
        groups={key: each.inputs() for key, each in tallies.items()},
        outside={code: units for code, units in outside.items() if units},
        shift_names=names,
    )


def _reported_lines(uow: UnitOfWork, scope: Scope, window: _Window) -> list[Line]:
    """The scope's active lines, and its inactive ones that stopped or made something in the
    window (a line deactivated this month still has its month)."""
    if scope.chosen_line:
        return scope.lines
    return [
        line
        for line in scope.lines
        if line.active or _did_anything(uow, line.code, window.since, window.until)
    ]


def _did_anything(uow: UnitOfWork, line_code: str, since: datetime, until: datetime) -> bool:
    stopped = select(Downtime.id).where(
        Downtime.line_code == line_code, Downtime.started_at >= since, Downtime.started_at < until
    )
    made = select(RunOutput.run_id).where(
        RunOutput.line_code == line_code,
        RunOutput.completed_at >= since,
        RunOutput.completed_at < until,
    )
    return (
        uow.session.execute(stopped.limit(1)).first() is not None
        or uow.session.execute(made.limit(1)).first() is not None
    )


def _shift_values(uow: UnitOfWork, worked: Sequence[tuple[int, Worked]]) -> Any:
    """Worked occurrences as a table the statements join: their index in the window, production
    day, shift, worked start and end, whether the range counts them, and the whole shift's
    length in microseconds. PostgreSQL takes them as seven arrays (unnest), SQLite as VALUES."""
    columns: tuple[tuple[str, TypeEngine[Any]], ...] = (
        ("idx", Integer()),
        ("day", Date()),
        ("code", String(32)),
        ("starts_at", UtcDateTime()),
        ("until", UtcDateTime()),
        ("counted", Integer()),
        ("length_us", BigInteger()),
    )
    rows = [
        (
            index,
            each.occurrence.day,
            each.occurrence.code,
            each.starts_at,
            each.until,
            1 if each.counted else 0,
            int(each.length_seconds.scaleb(6)),
        )
        for index, each in worked
    ]
    if uow.session.get_bind().dialect.name == "postgresql":
        arrays = [
            bindparam(f"shift_{name}", [row[position] for row in rows], type_=_array_of(kind))
            for position, (name, kind) in enumerate(columns)
        ]
        return (
            func.unnest(*arrays)
            .table_valued(*(column(name, kind) for name, kind in columns))
            .render_derived(name="shift_occurrences")
        )
    table = values(*(column(name, kind) for name, kind in columns), name="shift_occurrences")
    return table.data(rows).cte("shift_occurrences")


def _array_of(kind: TypeEngine[Any]) -> TypeEngine[Any]:
    item = DateTime(timezone=True) if isinstance(kind, UtcDateTime) else kind
    return postgresql.ARRAY(typing.cast(Any, item))


def _grain(group_by: OeeGroupBy, line_code: Any, shifts: Any) -> list[Any]:
    """The columns of the statements' GROUP BY that make `group_key`."""
    if group_by is OeeGroupBy.LINE:
        return [line_code]
    if group_by is OeeGroupBy.SHIFT:
        return [shifts.c.code]
    if group_by is OeeGroupBy.DAY:
        return [shifts.c.day]
    return [line_code, shifts.c.idx]


def _key_of(group_by: OeeGroupBy, grain: Sequence[Any], window: _Window) -> GroupKey:
    if group_by is OeeGroupBy.OCCURRENCE:
        return (grain[0], window.worked[grain[1]].occurrence)
    return tuple(grain)


def _wholly_inside(shifts: Any, now: datetime) -> ColumnElement[bool]:
    """A stop that lies wholly inside the counted occurrence it started in (its production
    day and shift, as recorded, name it)."""
    return and_(
        shifts.c.day == Downtime.production_day,
        shifts.c.code == Downtime.shift_code,
        Downtime.started_at >= shifts.c.starts_at,
        _stop_end(now) <= shifts.c.until,
    )


def _stop_end(now: datetime) -> ColumnElement[Any]:
    return func.coalesce(Downtime.ended_at, literal(now, UtcDateTime()))


def _add_stops(
    uow: UnitOfWork,
    codes: Sequence[str],
    window: _Window,
    shifts: Any,
    group_by: OeeGroupBy,
    now: datetime,
    tally: Callable[[GroupKey], OeeTally],
) -> None:
    """The stops that may take shift time of the range, in one pass over those starting in
    the window: the database adds up, per group, the ones wholly inside the shift of the
    range they started in (nearly all: their whole length is shift time lost) and hands over
    the others one by one (over a shift change, outside every shift, still running past the
    range), which are cut to the shifts here with each line's latest stop before the window
    (a line's stops never overlap, so no older one reaches in)."""
    grain = _grain(group_by, Downtime.line_code, shifts)
    planned = _counts_as_planned().label("counts_as_planned")
    outside_shift = shifts.c.idx.is_(None)
    loose = case((outside_shift, Downtime.id), else_=None).label("loose_id")
    dialect = uow.session.get_bind().dialect.name
    statement = (
        select(
            *grain,
            planned,
            loose,
            func.count(),
            func.sum(_micros(Downtime.started_at, _stop_end(now), dialect)),
            # The loose stop's own columns (its group is itself); nothing for the others.
            *(
                func.min(case((outside_shift, column), else_=None))
                for column in (
                    Downtime.line_code,
                    Downtime.started_at,
                    Downtime.ended_at,
                    Downtime.reason_code,
                )
            ),
        )
        .select_from(Downtime)
        .outerjoin(shifts, _wholly_inside(shifts, now))
        .where(
            Downtime.line_code.in_(codes),
            Downtime.started_at >= window.since,
            Downtime.started_at < window.until,
        )
        .group_by(*grain, planned, loose)
    )
    width = len(grain)
    stops: list[Stop] = []
    for row in uow.session.execute(statement):
        is_planned, loose_id, count, us, line_code, started_at, ended_at, reason = row[width:]
        if loose_id is None:
            tally(_key_of(group_by, row[:width], window)).add_downtime(
                _seconds_of(us), planned=bool(is_planned), failures=count
            )
        else:
            stops.append(Stop(loose_id, line_code, started_at, ended_at, is_planned, reason))
    stops.extend(_latest_before(uow, codes, window.since))
    seen: set[tuple[GroupKey, int]] = set()
    for part in domain.stop_parts(window.counted, stops, now):
        key = group_key(group_by, part.stop.line_code, part.worked.occurrence)
        first_time = (key, part.stop.id) not in seen
        seen.add((key, part.stop.id))
        tally(key).add_downtime(
            part.seconds, planned=part.stop.counts_as_planned, failures=1 if first_time else 0
        )


def _latest_before(uow: UnitOfWork, codes: Sequence[str], since: datetime) -> list[Stop]:
    """Each line's latest stop that started before `since`, in one statement (an index probe
    per line)."""
    latest = [
        select(
            Downtime.id,
            Downtime.line_code,
            Downtime.started_at,
            Downtime.ended_at,
            _counts_as_planned().label("counts_as_planned"),
            Downtime.reason_code,
        )
        .where(Downtime.line_code == code, Downtime.started_at < since)
        .order_by(Downtime.started_at.desc())
        .limit(1)
        .subquery()
        for code in codes
    ]
    parts = [select(*each.c) for each in latest]
    statement = parts[0] if len(parts) == 1 else union_all(*parts)
    return [
        Stop(stop_id, line_code, started_at, ended_at, bool(planned), reason)
        for stop_id, line_code, started_at, ended_at, planned, reason in uow.session.execute(
            statement
        )
    ]


def _add_outputs(
    uow: UnitOfWork,
    codes: Sequence[str],
    window: _Window,
    shifts: Any,
    group_by: OeeGroupBy,
    tally: Callable[[GroupKey], OeeTally],
) -> dict[str, Decimal]:
    """The runs completed in the range's shifts, added up by the database per group, shift
    length and capacity in force (SKU's, else family's, else any product's; none: by SKU, to
    name it). Returns the units per line completed in any worked shift of the window."""
    grain = _grain(group_by, RunOutput.line_code, shifts)
    if group_by in (OeeGroupBy.SHIFT, OeeGroupBy.DAY):
        grain = [*grain, RunOutput.line_code]  # for the units outside every shift, per line
    units, statement = _capacity_joins(uow, codes, window, shifts)
    missing_sku = case((units.is_(None), RunOutput.sku), else_=None)
    statement = (
        statement.add_columns(
            *grain,
            shifts.c.counted,
            shifts.c.length_us,
            units,
            missing_sku,
            _sum(RunOutput.qty_good),
            _sum(RunOutput.qty_bad),
        )
        .where(
            RunOutput.line_code.in_(codes),
            RunOutput.completed_at >= window.since,
            RunOutput.completed_at < window.until,
        )
        .group_by(*grain, shifts.c.counted, shifts.c.length_us, units, missing_sku)
    )
    width = len(grain)
    key_width = 2 if group_by is OeeGroupBy.OCCURRENCE else 1
    line_at = width - 1 if key_width < width else 0
    matched: dict[str, Decimal] = {}
    for row in uow.session.execute(statement):
        counted, length_us, per_shift, sku, good, bad = row[width:]
        line = row[line_at]
        matched[line] = matched.get(line, ZERO) + good + bad
        if not counted:
            continue
        tally(_key_of(group_by, row[:key_width], window)).add_output(
            good=good,
            bad=bad,
            failed=ZERO,
            shift_seconds=_seconds_of(length_us),
            units_per_shift=per_shift,
            sku=sku,
        )
    _add_qc_failures(uow, codes, window, shifts, group_by, tally)
    return matched


def _add_qc_failures(
    uow: UnitOfWork,
    codes: Sequence[str],
    window: _Window,
    shifts: Any,
    group_by: OeeGroupBy,
    tally: Callable[[GroupKey], OeeTally],
) -> None:
    """What QC later failed of the runs completed in the range's shifts, per group (a run may
    have several QC decisions, so apart from the runs' own sums)."""
    grain = _grain(group_by, RunOutput.line_code, shifts)
    statement = (
        select(*grain, _sum(QcOutcome.qty_failed))
        .select_from(RunOutput)
        .join(QcOutcome, QcOutcome.run_id == RunOutput.run_id)
        .join(shifts, _completed_in(uow, window, shifts))
        .where(
            RunOutput.line_code.in_(codes),
            RunOutput.completed_at >= window.since,
            RunOutput.completed_at < window.until,
            shifts.c.counted == 1,
        )
        .group_by(*grain)
    )
    width = len(grain)
    for row in uow.session.execute(statement):
        tally(_key_of(group_by, row[:width], window)).add_qc_failed(row[width])


def _capacity_joins(
    uow: UnitOfWork, codes: Sequence[str], window: _Window, shifts: Any
) -> tuple[ColumnElement[Any], Select[Any]]:
    """The runs joined to the shift they completed in, their family, and the capacity spans
    of their line in force on that shift's day (by SKU, by family, for any product); and the
    capacity that applies: the first of the three found."""
    statement: Select[Any] = (
        select()
        .select_from(RunOutput)
        .join(shifts, _completed_in(uow, window, shifts))
        .outerjoin(ItemFamily, ItemFamily.sku == RunOutput.sku)
    )
    spans = domain.capacity_spans(_capacities(uow, codes, window.last), window.first, window.last)
    found: list[Any] = []
    for kind in ("sku", "family", "any"):
        rows = [
            (span.line_code, span.sku or span.family, span.first, span.last, span.units_per_shift)
            for span in spans
            if kind == ("sku" if span.sku else "family" if span.family else "any")
        ]
        if not rows:
            continue
        table = (
            values(
                column("line_code", String(32)),
                column("target", String(64)),
                column("first_day", Date),
                column("last_day", Date),
                column("units", Amount()),
                name=f"capacity_{kind}",
            )
            .data(rows)
            .cte(f"capacity_{kind}")
        )
        on = [
            table.c.line_code == RunOutput.line_code,
            table.c.first_day <= shifts.c.day,
            shifts.c.day <= table.c.last_day,
        ]
        if kind == "sku":
            on.append(table.c.target == RunOutput.sku)
        elif kind == "family":
            on.append(table.c.target == ItemFamily.family)
        statement = statement.outerjoin(table, and_(*on))
        found.append(table.c.units)
    if not found:
        return type_coerce(cast(null(), Numeric(18, 4)), Amount()), statement
    chosen = found[0] if len(found) == 1 else func.coalesce(*found)
    return type_coerce(chosen, Amount()), statement


def _completed_in(uow: UnitOfWork, window: _Window, shifts: Any) -> ColumnElement[bool]:
    """A run completed in a worked occurrence. PostgreSQL finds the occurrence by a binary
    search of their starts (width_bucket: they are in order and never overlap), so a year's
    runs are not each compared with a year's shifts; SQLite, holding a plant's own few, compares
    them."""
    held = and_(
        RunOutput.completed_at >= shifts.c.starts_at, RunOutput.completed_at < shifts.c.until
    )
    if uow.session.get_bind().dialect.name != "postgresql":
        return held
    starts = bindparam(
        "shift_starts",
        [each.starts_at for each in window.worked],
        type_=postgresql.ARRAY(DateTime(timezone=True)),
    )
    return and_(shifts.c.idx == func.width_bucket(RunOutput.completed_at, starts) - 1, held)


def _outside(
    uow: UnitOfWork, codes: Sequence[str], window: _Window, matched: dict[str, Decimal]
) -> dict[str, Decimal]:
    """Per line, the units completed in the window but in none of its shifts: outside every
    shift of the range's days (the night before's last hours are a shift of the window)."""
    statement = (
        select(RunOutput.line_code, _sum(RunOutput.qty_good), _sum(RunOutput.qty_bad))
        .where(
            RunOutput.line_code.in_(codes),
            RunOutput.completed_at >= window.since,
            RunOutput.completed_at < window.until,
        )
        .group_by(RunOutput.line_code)
    )
    return {
        line: good + bad - matched.get(line, ZERO)
        for line, good, bad in uow.session.execute(statement)
        if line is not None
    }


def _sum(column: Any) -> ColumnElement[Decimal]:
    """SUM of a quantity, read back as the column's exact Decimal (0 when there is none)."""
    return type_coerce(func.coalesce(func.sum(column), 0), Amount())


def _capacities(uow: UnitOfWork, line_codes: Sequence[str], last: date) -> list[Capacity]:
    """The active capacities of the lines that may be in force by `last`."""
    rows = uow.session.scalars(
        select(LineCapacity).where(
            LineCapacity.line_code.in_(line_codes),
            LineCapacity.active.is_(True),
            LineCapacity.effective_from <= last,
        )
    )
    return [
        Capacity(
            id=row.id,
            line_code=row.line_code,
            sku=row.sku,
            family=row.family,
            units_per_shift=row.units_per_shift,
            effective_from=row.effective_from,
        )
        for row in rows
    ]


# --- OEE ----------------------------------------------------------------------------------------


def oee_report(
    uow: UnitOfWork, query: ReportQuery, group_by: OeeGroupBy, now: datetime
) -> OeeReportOut:
    facilities = oee_groups(uow, query, group_by, now)
    rows: list[OeeRowOut] = []
    if group_by is OeeGroupBy.DAY:
        by_day: dict[date, OeeInputs] = {}
        for each in facilities:
            for (day,), inputs in each.groups.items():
                by_day[day] = by_day[day] + inputs if day in by_day else inputs
        rows = [
            _oee_row(by_day.get(day, OeeInputs()), day=day)
            for day in _days(query.first, query.last)
        ]
    for each in facilities if group_by is not OeeGroupBy.DAY else []:
        facility_code = each.scope.facility.code
        names = {line.code: line.name for line in each.lines}
        if group_by is OeeGroupBy.LINE:
            rows.extend(
                _oee_row(
                    each.groups.get((line.code,), OeeInputs()),
                    facility_code=facility_code,
                    line_code=line.code,
                    line_name=line.name,
                )
                for line in each.lines
            )
        elif group_by is OeeGroupBy.SHIFT:
            rows.extend(
                _oee_row(
                    inputs,
                    facility_code=facility_code,
                    shift_code=code,
                    shift_name=each.shift_names.get(code),
                )
                for (code,), inputs in sorted(each.groups.items(), key=lambda item: item[0])
            )
        else:
            rows.extend(
                _oee_row(
                    inputs,
                    facility_code=facility_code,
                    line_code=code,
                    line_name=names.get(code),
                    shift_code=occurrence.code,
                    shift_name=each.shift_names.get(occurrence.code),
                    day=occurrence.day,
                    starts_at=occurrence.starts_at,
                    ends_at=occurrence.ends_at,
                )
                for (code, occurrence), inputs in sorted(
                    each.groups.items(), key=lambda item: (item[0][0], item[0][1].starts_at)
                )
            )
    everything = domain.total(inputs for each in facilities for inputs in each.groups.values())
    outside = [
        UnscheduledOutputOut(line_code=code, units=units)
        for each in facilities
        for code, units in sorted(each.outside.items())
    ]
    return OeeReportOut(
        **_scope_fields(query, now),
        group_by=group_by,
        rows=rows,
        totals=OeeFiguresOut(**_oee_fields(everything)),
        outside_shifts=outside,
    )


def _oee_row(inputs: OeeInputs, **group: Any) -> OeeRowOut:
    keys = ("facility_code", "line_code", "shift_code", "day")
    return OeeRowOut(**{**dict.fromkeys(keys), **group, **_oee_fields(inputs)})


def _oee_fields(inputs: OeeInputs) -> dict[str, Any]:
    figures = domain.oee_figures(inputs)
    return {
        "shift_seconds": inputs.shift_seconds,
        "planned_downtime_seconds": inputs.planned_downtime_seconds,
        "planned_seconds": inputs.planned_seconds,
        "unplanned_downtime_seconds": inputs.unplanned_downtime_seconds,
        "run_seconds": inputs.run_seconds,
        "ideal_run_seconds": domain.rounded(inputs.ideal_run_seconds),
        "total_count": inputs.total_count,
        "bad_count": inputs.bad_count,
        "qc_failed_count": inputs.qc_failed_count,
        "good_count": inputs.good_count,
        "availability": figures.availability,
        "performance": figures.performance,
        "quality": figures.quality,
        "oee": figures.oee,
        "missing_capacity_skus": sorted(inputs.missing_capacity),
    }


# --- Reliability --------------------------------------------------------------------------------


def reliability_report(uow: UnitOfWork, query: ReportQuery, now: datetime) -> ReliabilityOut:
    """MTBF and MTTR per line: OEE's run time and unplanned downtime by line, and the
    unplanned stops that took some of it (each once, though it ran over a shift change)."""
    facilities = oee_groups(uow, query, OeeGroupBy.LINE, now)
    rows = [
        ReliabilityRowOut(
            facility_code=each.scope.facility.code,
            line_code=line.code,
            line_name=line.name,
            **_reliability_fields(each.groups.get((line.code,), OeeInputs())),
        )
        for each in facilities
        for line in each.lines
    ]
    everything = domain.total(inputs for each in facilities for inputs in each.groups.values())
    return ReliabilityOut(
        **_scope_fields(query, now),
        rows=rows,
        totals=ReliabilityFiguresOut(**_reliability_fields(everything)),
    )


def _reliability_fields(inputs: OeeInputs) -> dict[str, Any]:
    figures = domain.reliability(inputs)
    mtbf, mttr = figures.mtbf_seconds, figures.mttr_seconds
    return {
        "run_seconds": figures.run_seconds,
        "unplanned_downtime_seconds": figures.unplanned_downtime_seconds,
        "failures": figures.failures,
        "mtbf_seconds": domain.shown(mtbf),
        "mttr_seconds": domain.shown(mttr),
        "mtbf_minutes": domain.shown(None if mtbf is None else mtbf / 60),
        "mttr_minutes": domain.shown(None if mttr is None else mttr / 60),
    }


# --------------------------------------------------------------------------------------------
# Downtime summary, Pareto, trend: whole stops by production day, added up in SQL
# --------------------------------------------------------------------------------------------


def _micros(start: Any, end: Any, dialect: str) -> ColumnElement[Any]:
    """Whole microseconds from `start` to `end`, exactly, in SQL."""
    if dialect == "postgresql":
        return extract("epoch", end - start) * 1_000_000
    # SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff': whole seconds from strftime of the text up to
    # the seconds (strftime would round .999999 up), the microseconds from the rest.
    whole = _epoch_seconds(end) - _epoch_seconds(start)
    fraction = cast(func.substr(end, 21, 6), Integer) - cast(func.substr(start, 21, 6), Integer)
    return whole * 1_000_000 + fraction


def _epoch_seconds(moment: Any) -> ColumnElement[Any]:
    return cast(func.strftime("%s", func.substr(moment, 1, 19)), Integer)


def _counts_as_planned() -> ColumnElement[bool]:
    return and_(Downtime.planned.is_(True), Downtime.reason_code.is_not(None))


def _stop_sums(
    uow: UnitOfWork, query: ReportQuery, keys: Sequence[Any], now: datetime
) -> list[tuple[Any, ...]]:
    """(*keys, counts as planned, stops, microseconds) of the stops of the range, grouped by
    `keys` and whether they count as planned."""
    dialect = uow.session.get_bind().dialect.name
    end = func.coalesce(Downtime.ended_at, literal(now, UtcDateTime()))
    planned = _counts_as_planned().label("counts_as_planned")
    statement: Select[Any] = (
        select(*keys, planned, func.count(), func.sum(_micros(Downtime.started_at, end, dialect)))
        .where(
            Downtime.production_day >= query.first,
            Downtime.production_day <= query.last,
            Downtime.started_at >= _midnight(query.first) - _DAY_MARGIN,
            Downtime.started_at < _midnight(query.last) + timedelta(days=1) + _DAY_MARGIN,
        )
        .group_by(*keys, planned)
    )
    if query.facility_code is not None:
        statement = statement.where(Downtime.facility_code == query.facility_code)
    if query.line_code is not None:
        statement = statement.where(Downtime.line_code == query.line_code)
    if query.planned is True:
        statement = statement.where(_counts_as_planned())
    elif query.planned is False:
        statement = statement.where(not_(_counts_as_planned()))
    return [tuple(row) for row in uow.session.execute(statement)]


def _seconds_of(micros: Any) -> Decimal:
    return Decimal(micros or 0).scaleb(-6)


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass(frozen=True)
class ReasonLabel:
    name: str
    colour: str
    path: str


class ReasonTree:
    """The reasons of the facilities in scope: each one's top, name, colour and path."""

    def __init__(self, reasons: Iterable[DowntimeReason]) -> None:
        self.by_code = {reason.code: reason for reason in reasons}
        self.parents = {code: reason.parent_code for code, reason in self.by_code.items()}

    def group(self, code: str | None, level: ReasonLevel) -> str | None:
        if code is None or level is ReasonLevel.LEAF:
            return code
        return domain.top_reason(code, self.parents)

    def label(self, code: str | None) -> ReasonLabel:
        if code is None:
            unclassified = str(_("Unclassified"))
            return ReasonLabel(unclassified, UNCLASSIFIED_COLOUR, unclassified)
        reason = self.by_code.get(code)
        if reason is None:
            return ReasonLabel(code, UNCLASSIFIED_COLOUR, code)
        names = []
        node: DowntimeReason | None = reason
        seen: set[str] = set()
        while node is not None and node.code not in seen:
            seen.add(node.code)
            names.append(node.name)
            node = self.by_code.get(node.parent_code) if node.parent_code else None
        return ReasonLabel(reason.name, reason.colour, " / ".join(reversed(names)))


def _reason_tree(uow: UnitOfWork, facility_codes: Iterable[str]) -> ReasonTree:
    return ReasonTree(
        uow.session.scalars(
            select(DowntimeReason).where(DowntimeReason.facility_code.in_(list(facility_codes)))
        )
    )


def _by_reason(
    uow: UnitOfWork, query: ReportQuery, level: ReasonLevel, now: datetime
) -> tuple[list[Scope], ReasonTree, dict[str | None, DowntimeSum], dict[str, DowntimeSum]]:
    covered = scopes(uow, query)
    tree = _reason_tree(uow, [scope.facility.code for scope in covered])
    rows = _stop_sums(uow, query, [Downtime.line_code, Downtime.reason_code], now)
    parts = [
        (line, tree.group(reason, level), domain.downtime_sum(count, _seconds_of(us), planned=p))
        for line, reason, p, count, us in rows
    ]
    by_reason = domain.summed((reason, part) for _line, reason, part in parts)
    by_line = domain.summed((line, part) for line, _reason, part in parts)
    return covered, tree, by_reason, by_line


def downtime_summary(
    uow: UnitOfWork, query: ReportQuery, level: ReasonLevel, now: datetime
) -> DowntimeSummaryOut:
    covered, tree, by_reason, by_line = _by_reason(uow, query, level, now)
    everything = sum(by_reason.values(), DowntimeSum())
    reasons = sorted(
        by_reason.items(), key=lambda item: (-item[1].seconds, item[0] is None, item[0] or "")
    )
    lines = {line.code: line for scope in covered for line in scope.lines}
    return DowntimeSummaryOut(
        **_scope_fields(query, now),
        level=level,
        planned=query.planned,
        totals=_totals(everything),
        by_reason=[
            ReasonRowOut(
                reason_code=code,
                **_label_fields(tree, code),
                **_downtime_fields(part, everything),
            )
            for code, part in reasons
        ],
        by_line=[
            LineRowOut(
                facility_code=lines[code].facility_code if code in lines else "",
                line_code=code,
                name=lines[code].name if code in lines else code,
                **_downtime_fields(by_line[code], everything),
            )
            for code in sorted(by_line)
        ],
    )


def pareto(uow: UnitOfWork, query: ReportQuery, level: ReasonLevel, now: datetime) -> ParetoOut:
    _covered, tree, by_reason, _by_line = _by_reason(uow, query, level, now)
    everything = sum(by_reason.values(), DowntimeSum())
    return ParetoOut(
        **_scope_fields(query, now),
        level=level,
        planned=query.planned,
        totals=_totals(everything),
        rows=[
            ParetoRowOut(
                reason_code=bar.reason_code,
                **_label_fields(tree, bar.reason_code),
                **{**_downtime_fields(bar.sum, everything), "percent": bar.percent},
                cumulative_percent=bar.cumulative_percent,
            )
            for bar in domain.pareto(by_reason)
        ],
    )


def trend(uow: UnitOfWork, query: ReportQuery, bucket: TrendBucket, now: datetime) -> TrendOut:
    scopes(uow, query)  # the facility and line exist
    rows = _stop_sums(uow, query, [Downtime.production_day], now)
    kind: domain.Bucket = "day" if bucket is TrendBucket.DAY else "week"
    sums = domain.summed(
        (
            domain.bucket_of(day, kind),
            domain.downtime_sum(count, _seconds_of(us), planned=planned),
        )
        for day, planned, count, us in rows
    )
    return TrendOut(
        **_scope_fields(query, now),
        bucket=bucket,
        planned=query.planned,
        rows=[
            TrendRowOut(
                bucket=period.label,
                first_day=period.first,
                last_day=period.last,
                **_sum_fields(sums.get(period.label, DowntimeSum())),
            )
            for period in domain.buckets(query.first, query.last, kind)
        ],
    )


def _sum_fields(part: DowntimeSum) -> dict[str, Any]:
    return {
        "count": part.count,
        "seconds": part.seconds,
        "minutes": domain.minutes(part.seconds),
        "planned_seconds": part.planned_seconds,
        "unplanned_seconds": part.unplanned_seconds,
    }


def _downtime_fields(part: DowntimeSum, everything: DowntimeSum) -> dict[str, Any]:
    return {**_sum_fields(part), "percent": domain.percent_of(part.seconds, everything.seconds)}


def _totals(everything: DowntimeSum) -> SummaryTotalsOut:
    return SummaryTotalsOut(**_sum_fields(everything))


def _label_fields(tree: ReasonTree, code: str | None) -> dict[str, str]:
    label = tree.label(code)
    return {"name": label.name, "colour": label.colour, "path": label.path}


def _scope_fields(query: ReportQuery, now: datetime) -> dict[str, Any]:
    return {
        "date_from": query.first,
        "date_to": query.last,
        "facility_code": query.facility_code,
        "line_code": query.line_code,
        "as_of": now,
    }


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def zone_name(uow: UnitOfWork, query: ReportQuery, default: str) -> str:
    """The time zone an export shows times in: the facility's, when the report has one."""
    code = query.facility_code
    if code is None and query.line_code is not None:
        line = uow.session.get(Line, query.line_code)
        code = line.facility_code if line is not None else None
    facility = uow.session.get(Facility, code) if code is not None else None
    return facility.timezone if facility is not None else default
