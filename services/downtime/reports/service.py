"""Report use cases: read what a report needs, hand it to `domain`, shape the answer.

Two ways of reading, by what each report needs:

- The downtime summary, the Pareto and the trend add up whole stops by their production day
  (the day a supervisor locks), so the database does the adding: one GROUP BY over the stops of
  the range (by line, reason and planned, or by day and planned), whatever the table holds. A
  stop's seconds are taken exactly in SQL (microseconds kept; a running stop up to `now`).
- OEE and MTBF/MTTR need each stop cut to the shift occurrences it overlaps, so they read the
  stops of the chosen lines that start inside the range's shifts, plus the one latest stop of
  each line that started before them (a line's stops never overlap, so no older one can reach
  in): index probes on (line_code, started_at), a month of a facility being thousands of rows.
  The runs completed in those shifts come with what QC later failed of them and their family.

Capacities are read here (all of the chosen lines', once) and picked per run in `domain`
(`capacity_in_force`), rather than asked per run.

A facility's inactive lines are reported when they have something in the range; a shift that
is inactive now is not in the plant's calendar, so its past time is not counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    cast,
    extract,
    func,
    literal,
    not_,
    select,
    type_coerce,
)

from services.downtime.entries.models import Downtime
from services.downtime.floor.models import ItemFamily, QcOutcome, RunOutput
from services.downtime.plant.calendar import facility_zone, shift_patterns
from services.downtime.plant.domain import ShiftOccurrence, occurrences_between, production_day
from services.downtime.plant.models import Facility, Line, LineCapacity, Shift
from services.downtime.reasons.models import DowntimeReason
from services.downtime.reports import domain
from services.downtime.reports.domain import (
    MAX_DAYS,
    Capacity,
    DowntimeSum,
    OeeInputs,
    Output,
    Stop,
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


@dataclass
class ShiftTime:
    """One facility's lines over the worked shift occurrences of the range."""

    scope: Scope
    lines: list[Line]
    cells: dict[tuple[str, ShiftOccurrence], OeeInputs]
    outside: dict[str, Decimal]
    shift_names: dict[str, str] = field(default_factory=dict)


def shift_time(uow: UnitOfWork, query: ReportQuery, now: datetime) -> list[ShiftTime]:
    return [_facility_shift_time(uow, scope, query, now) for scope in scopes(uow, query)]


def _facility_shift_time(
    uow: UnitOfWork, scope: Scope, query: ReportQuery, now: datetime
) -> ShiftTime:
    facility = scope.facility
    tz = facility_zone(facility)
    patterns = shift_patterns(uow, facility.code)
    occurrences = occurrences_between(patterns, query.first, query.last, tz)
    worked = domain.worked_so_far(occurrences, now)
    codes = [line.code for line in scope.lines]
    # The shifts worked, and the local days of the range for output outside every shift.
    since = _local_midnight(query.first, tz)
    until = _local_midnight(query.last + timedelta(days=1), tz)
    if worked:
        since = min(since, worked[0].starts_at)
        until = max(until, *(each.until for each in worked))
    if codes:
        stops = _stops(uow, codes, since, until, now)
        outputs = _outputs(uow, codes, since, until)
        capacities = _capacities(uow, codes, query.last)
    else:
        stops, outputs, capacities = [], [], {}

    def in_range(moment: datetime) -> bool:
        return query.first <= production_day(patterns, moment, tz) <= query.last

    cells, outside = domain.line_shifts(codes, worked, stops, outputs, capacities, now, in_range)
    lines = [
        line
        for line in scope.lines
        if line.active or scope.chosen_line or _has_anything(line.code, cells, outside)
    ]
    shown = {line.code for line in lines}
    names = {
        code: name
        for code, name in uow.session.execute(
            select(Shift.code, Shift.name).where(Shift.facility_code == facility.code)
        )
    }
    return ShiftTime(
        scope=scope,
        lines=lines,
        cells={key: cell for key, cell in cells.items() if key[0] in shown},
        outside={code: units for code, units in outside.items() if code in shown and units},
        shift_names=names,
    )


def _has_anything(
    line_code: str,
    cells: dict[tuple[str, ShiftOccurrence], OeeInputs],
    outside: dict[str, Decimal],
) -> bool:
    if outside.get(line_code):
        return True
    return any(
        cell.total_count or cell.planned_downtime_seconds or cell.unplanned_downtime_seconds
        for (code, _occurrence), cell in cells.items()
        if code == line_code
    )


_STOP_COLUMNS = (
    Downtime.id,
    Downtime.line_code,
    Downtime.started_at,
    Downtime.ended_at,
    Downtime.planned,
    Downtime.reason_code,
)


def _stops(
    uow: UnitOfWork, line_codes: Sequence[str], since: datetime, until: datetime, now: datetime
) -> list[Stop]:
    """The lines' stops that start in [since, until), and each line's latest one before."""
    rows = list(
        uow.session.execute(
            select(*_STOP_COLUMNS).where(
                Downtime.line_code.in_(line_codes),
                Downtime.started_at >= since,
                Downtime.started_at < until,
            )
        )
    )
    for code in line_codes:
        before = uow.session.execute(
            select(*_STOP_COLUMNS)
            .where(Downtime.line_code == code, Downtime.started_at < since)
            .order_by(Downtime.started_at.desc())
            .limit(1)
        ).first()
        if before is not None:
            rows.append(before)
    stops = [
        Stop(
            id=stop_id,
            line_code=line_code,
            started_at=started_at,
            ended_at=ended_at,
            planned=bool(planned),
            reason_code=reason_code,
        )
        for stop_id, line_code, started_at, ended_at, planned, reason_code in rows
    ]
    return [stop for stop in stops if stop.end(now) > since]


def _outputs(
    uow: UnitOfWork, line_codes: Sequence[str], since: datetime, until: datetime
) -> list[Output]:
    """The runs of the lines completed in [since, until), each with its family and what QC
    failed of it."""
    failed = type_coerce(func.coalesce(func.sum(QcOutcome.qty_failed), 0), Amount())
    statement = (
        select(
            RunOutput.line_code,
            RunOutput.sku,
            ItemFamily.family,
            RunOutput.completed_at,
            RunOutput.qty_good,
            RunOutput.qty_bad,
            failed,
        )
        .outerjoin(ItemFamily, ItemFamily.sku == RunOutput.sku)
        .outerjoin(QcOutcome, QcOutcome.run_id == RunOutput.run_id)
        .where(
            RunOutput.line_code.in_(line_codes),
            RunOutput.completed_at >= since,
            RunOutput.completed_at < until,
        )
        .group_by(
            RunOutput.run_id,
            RunOutput.line_code,
            RunOutput.sku,
            ItemFamily.family,
            RunOutput.completed_at,
            RunOutput.qty_good,
            RunOutput.qty_bad,
        )
    )
    return [
        Output(
            line_code=line_code,
            sku=sku,
            family=family,
            completed_at=completed_at,
            qty_good=good,
            qty_bad=bad,
            qty_failed=qty_failed,
        )
        for line_code, sku, family, completed_at, good, bad, qty_failed in uow.session.execute(
            statement
        )
        if line_code is not None
    ]


def _capacities(
    uow: UnitOfWork, line_codes: Sequence[str], last: date
) -> dict[str, list[Capacity]]:
    """The active capacities of the lines in force by `last`, by line.

    Read once for the whole report; `domain.capacity_in_force` picks each run's."""
    rows = uow.session.scalars(
        select(LineCapacity).where(
            LineCapacity.line_code.in_(line_codes),
            LineCapacity.active.is_(True),
            LineCapacity.effective_from <= last,
        )
    )
    by_line: dict[str, list[Capacity]] = {}
    for row in rows:
        by_line.setdefault(row.line_code, []).append(
            Capacity(
                id=row.id,
                line_code=row.line_code,
                sku=row.sku,
                family=row.family,
                units_per_shift=row.units_per_shift,
                effective_from=row.effective_from,
            )
        )
    return by_line


# --- OEE ----------------------------------------------------------------------------------------


def oee_report(
    uow: UnitOfWork, query: ReportQuery, group_by: OeeGroupBy, now: datetime
) -> OeeReportOut:
    times = shift_time(uow, query, now)
    rows: list[OeeRowOut]
    if group_by is OeeGroupBy.LINE:
        rows = [
            _oee_row(
                domain.total(cell for (code, _o), cell in each.cells.items() if code == line.code),
                facility_code=each.scope.facility.code,
                line_code=line.code,
                line_name=line.name,
            )
            for each in times
            for line in each.lines
        ]
    elif group_by is OeeGroupBy.SHIFT:
        rows = []
        for each in times:
            by_shift = domain.summed_inputs(
                (occurrence.code, cell) for (_code, occurrence), cell in each.cells.items()
            )
            rows.extend(
                _oee_row(
                    by_shift[code],
                    facility_code=each.scope.facility.code,
                    shift_code=code,
                    shift_name=each.shift_names.get(code),
                )
                for code in sorted(by_shift)
            )
    elif group_by is OeeGroupBy.DAY:
        by_day = domain.summed_inputs(
            (occurrence.day, cell)
            for each in times
            for (_code, occurrence), cell in each.cells.items()
        )
        rows = [
            _oee_row(by_day.get(day, OeeInputs()), day=day)
            for day in _days(query.first, query.last)
        ]
    else:
        rows = [
            _oee_row(
                cell,
                facility_code=each.scope.facility.code,
                line_code=code,
                line_name=names[code],
                shift_code=occurrence.code,
                shift_name=each.shift_names.get(occurrence.code),
                day=occurrence.day,
                starts_at=occurrence.starts_at,
                ends_at=occurrence.ends_at,
            )
            for each in times
            for names in [{line.code: line.name for line in each.lines}]
            for (code, occurrence), cell in sorted(
                each.cells.items(), key=lambda item: (item[0][0], item[0][1].starts_at)
            )
        ]
    everything = domain.total(cell for each in times for cell in each.cells.values())
    outside = [
        UnscheduledOutputOut(line_code=code, units=units)
        for each in times
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
    times = shift_time(uow, query, now)
    rows = [
        ReliabilityRowOut(
            facility_code=each.scope.facility.code,
            line_code=line.code,
            line_name=line.name,
            **_reliability_fields(
                domain.total(cell for (code, _o), cell in each.cells.items() if code == line.code)
            ),
        )
        for each in times
        for line in each.lines
    ]
    everything = domain.total(cell for each in times for cell in each.cells.values())
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
