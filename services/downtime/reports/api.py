"""HTTP API of the downtime service's reports (docs/downtime.md): OEE, the downtime summary, the
Pareto of reasons, the trend and MTBF/MTTR, each as JSON and as a workbook beside it
(`<path>.xlsx`, the same rows).

Every report takes production days `date_from` to `date_to` (both included; by default the
first of the plant's month to its today; at most 366 days), and a facility (`facility_code`),
one line (`line_code`), or neither for every facility. Reading needs downtime.reports.read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response

from services.downtime.reports import service
from services.downtime.reports.domain import minutes
from services.downtime.reports.schemas import (
    DowntimeFiguresOut,
    DowntimeSummaryOut,
    OeeFiguresOut,
    OeeGroupBy,
    OeeReportOut,
    ParetoOut,
    ReasonLevel,
    ReliabilityFiguresOut,
    ReliabilityOut,
    SummaryTotalsOut,
    TrendBucket,
    TrendOut,
)
from services.downtime.reports.service import ReportQuery
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.clock import plant_today
from shared.events.envelope import utc_now
from shared.i18n import Text, _
from shared.uow import UnitOfWork
from shared.web.commands import runtime_of
from shared.web.security import require_permission
from shared.web.xlsx import XLSX_MEDIA_TYPE, workbook_response

router = APIRouter(prefix="/api/v1", tags=["downtime-reports"])

Reader = Annotated[TokenClaims, Depends(require_permission(Action.DOWNTIME_REPORTS_READ))]
XLSX_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report as an Excel workbook",
        "content": {XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
}
T = TypeVar("T")


def _code(value: str | None) -> str | None:
    return value.strip().upper() if value and value.strip() else None


def report_query(
    request: Request,
    date_from: Annotated[
        date | None,
        Query(description="First production day, included (default: the first of date_to's month)"),
    ] = None,
    date_to: Annotated[
        date | None,
        Query(description="Last production day, included (default: the plant's today)"),
    ] = None,
    facility_code: Annotated[
        str | None, Query(max_length=32, description="Only this facility's lines")
    ] = None,
    line_code: Annotated[str | None, Query(max_length=32, description="Only this line")] = None,
) -> ReportQuery:
    last = date_to
    if last is None:
        today = plant_today(runtime_of(request).settings)
        last = today if date_from is None else max(today, date_from)
    first = date_from or last.replace(day=1)
    service.check_range(first, last)
    return ReportQuery(
        first=first, last=last, facility_code=_code(facility_code), line_code=_code(line_code)
    )


def downtime_query(
    query: Annotated[ReportQuery, Depends(report_query)],
    planned: Annotated[
        bool | None,
        Query(description="Only planned (true) or unplanned and unclassified (false) stops"),
    ] = None,
) -> ReportQuery:
    return ReportQuery(
        first=query.first,
        last=query.last,
        facility_code=query.facility_code,
        line_code=query.line_code,
        planned=planned,
    )


Scope = Annotated[ReportQuery, Depends(report_query)]
StopScope = Annotated[ReportQuery, Depends(downtime_query)]
GroupBy = Annotated[
    OeeGroupBy,
    Query(
        description="line, shift (the shift's code across the lines and days), day (every "
        "production day of the range), or occurrence (each line in each shift worked: the "
        "rows the others add up)"
    ),
]
Level = Annotated[
    ReasonLevel, Query(description="Reasons as entered (leaf) or by the top of their tree")
]
BucketQuery = Annotated[TrendBucket, Query(description="day, or ISO week (Monday to Sunday)")]


def _read(request: Request, use_case: Callable[[UnitOfWork, datetime], T]) -> T:
    now = utc_now()
    uow: UnitOfWork = runtime_of(request).uow(read_only=True)
    with uow:
        return use_case(uow, now)


def _zone(request: Request, query: ReportQuery) -> str:
    uow: UnitOfWork = runtime_of(request).uow(read_only=True)
    with uow:
        return service.zone_name(uow, query, runtime_of(request).settings.plant_timezone)


def _workbook(
    request: Request,
    query: ReportQuery,
    name: str,
    title: Text,
    headers: list[Text],
    rows: list[list[Any]],
) -> Response:
    return workbook_response(
        f"{name}-{query.first.isoformat()}-{query.last.isoformat()}",
        str(title),
        [str(header) for header in headers],
        rows,
        timezone=_zone(request, query),
    )


# --- OEE ----------------------------------------------------------------------------------------


@router.get("/reports/oee", response_model=OeeReportOut)
def oee(
    request: Request, _reader: Reader, query: Scope, group_by: GroupBy = OeeGroupBy.LINE
) -> OeeReportOut:
    """Availability, performance, quality and OEE per line, shift, day or line-shift, with the
    seconds and counts each comes from and the totals (docs/downtime.md, "OEE"). 404 naming
    the field for an unknown facility or line."""
    return _read(request, lambda uow, now: service.oee_report(uow, query, group_by, now))


OEE_COLUMNS: tuple[tuple[Text, str], ...] = (
    (_("Shift seconds"), "shift_seconds"),
    (_("Planned downtime seconds"), "planned_downtime_seconds"),
    (_("Planned production seconds"), "planned_seconds"),
    (_("Unplanned downtime seconds"), "unplanned_downtime_seconds"),
    (_("Run seconds"), "run_seconds"),
    (_("Ideal run seconds"), "ideal_run_seconds"),
    (_("Total count"), "total_count"),
    (_("Bad count"), "bad_count"),
    (_("Failed at QC"), "qc_failed_count"),
    (_("Good count"), "good_count"),
    (_("Availability"), "availability"),
    (_("Performance"), "performance"),
    (_("Quality"), "quality"),
    (_("OEE"), "oee"),
    (_("SKUs without capacity"), "missing_capacity_skus"),
)


def _oee_cells(figures: OeeFiguresOut) -> list[Any]:
    return [getattr(figures, key) for _label, key in OEE_COLUMNS]


@router.get("/reports/oee.xlsx", response_class=Response, responses=XLSX_RESPONSE)
def oee_xlsx(
    request: Request, _reader: Reader, query: Scope, group_by: GroupBy = OeeGroupBy.LINE
) -> Response:
    """The OEE rows and their total as a workbook (shift times in the facility's time)."""
    report = _read(request, lambda uow, now: service.oee_report(uow, query, group_by, now))
    rows: list[list[Any]] = [
        [
            row.facility_code,
            row.line_code,
            row.line_name,
            row.shift_code,
            row.shift_name,
            row.day,
            row.starts_at,
            row.ends_at,
            *_oee_cells(row),
        ]
        for row in report.rows
    ]
    rows.append([str(_("Total")), *[None] * 7, *_oee_cells(report.totals)])
    headers = [
        _("Facility"),
        _("Line"),
        _("Line name"),
        _("Shift"),
        _("Shift name"),
        _("Production day"),
        _("Shift start"),
        _("Shift end"),
        *(label for label, _key in OEE_COLUMNS),
    ]
    return _workbook(request, query, "oee", _("OEE"), headers, rows)


# --- Downtime summary ---------------------------------------------------------------------------


@router.get("/reports/downtime-summary", response_model=DowntimeSummaryOut)
def downtime_summary(
    request: Request, _reader: Reader, query: StopScope, level: Level = ReasonLevel.LEAF
) -> DowntimeSummaryOut:
    """Stops and downtime of the range's production days by reason (largest first, with name,
    colour and path; unclassified as its own row) and by line, with the totals. Whole stops
    count on their production day; a running one up to now."""
    return _read(request, lambda uow, now: service.downtime_summary(uow, query, level, now))


DOWNTIME_HEADERS: tuple[Text, ...] = (
    _("Stops"),
    _("Minutes"),
    _("Planned minutes"),
    _("Unplanned minutes"),
    _("Percent"),
)


def _downtime_cells(figures: DowntimeFiguresOut | SummaryTotalsOut) -> list[Any]:
    return [
        figures.count,
        figures.minutes,
        minutes(figures.planned_seconds),
        minutes(figures.unplanned_seconds),
        getattr(figures, "percent", None),
    ]


@router.get("/reports/downtime-summary.xlsx", response_class=Response, responses=XLSX_RESPONSE)
def downtime_summary_xlsx(
    request: Request, _reader: Reader, query: StopScope, level: Level = ReasonLevel.LEAF
) -> Response:
    """The summary's rows as a workbook: by reason, then by line, then the total."""
    report = _read(request, lambda uow, now: service.downtime_summary(uow, query, level, now))
    rows: list[list[Any]] = [
        [str(_("Reason")), row.reason_code, row.name, row.path, *_downtime_cells(row)]
        for row in report.by_reason
    ]
    rows.extend(
        [str(_("Line")), row.line_code, row.name, row.facility_code, *_downtime_cells(row)]
        for row in report.by_line
    )
    rows.append([str(_("Total")), None, None, None, *_downtime_cells(report.totals)])
    headers = [_("By"), _("Code"), _("Name"), _("Path or facility"), *DOWNTIME_HEADERS]
    return _workbook(request, query, "downtime-summary", _("Downtime summary"), headers, rows)


# --- Pareto -------------------------------------------------------------------------------------


@router.get("/reports/pareto", response_model=ParetoOut)
def pareto(
    request: Request, _reader: Reader, query: StopScope, level: Level = ReasonLevel.LEAF
) -> ParetoOut:
    """Reasons by downtime, largest first, with each one's percentage of all downtime and the
    cumulative percentage (the last row is 100)."""
    return _read(request, lambda uow, now: service.pareto(uow, query, level, now))


@router.get("/reports/pareto.xlsx", response_class=Response, responses=XLSX_RESPONSE)
def pareto_xlsx(
    request: Request, _reader: Reader, query: StopScope, level: Level = ReasonLevel.LEAF
) -> Response:
    report = _read(request, lambda uow, now: service.pareto(uow, query, level, now))
    rows: list[list[Any]] = [
        [
            row.reason_code,
            row.name,
            row.path,
            row.count,
            row.minutes,
            row.percent,
            row.cumulative_percent,
        ]
        for row in report.rows
    ]
    headers = [
        _("Reason"),
        _("Name"),
        _("Path"),
        _("Stops"),
        _("Minutes"),
        _("Percent"),
        _("Cumulative percent"),
    ]
    return _workbook(request, query, "downtime-pareto", _("Downtime Pareto"), headers, rows)


# --- Trend --------------------------------------------------------------------------------------


@router.get("/reports/trend", response_model=TrendOut)
def trend(
    request: Request, _reader: Reader, query: StopScope, bucket: BucketQuery = TrendBucket.DAY
) -> TrendOut:
    """Stops and downtime per production day or ISO week, every one of the range listed."""
    return _read(request, lambda uow, now: service.trend(uow, query, bucket, now))


@router.get("/reports/trend.xlsx", response_class=Response, responses=XLSX_RESPONSE)
def trend_xlsx(
    request: Request, _reader: Reader, query: StopScope, bucket: BucketQuery = TrendBucket.DAY
) -> Response:
    report = _read(request, lambda uow, now: service.trend(uow, query, bucket, now))
    rows: list[list[Any]] = [
        [
            row.bucket,
            row.first_day,
            row.last_day,
            row.count,
            row.minutes,
            minutes(row.planned_seconds),
            minutes(row.unplanned_seconds),
        ]
        for row in report.rows
    ]
    headers = [
        _("Period"),
        _("First day"),
        _("Last day"),
        _("Stops"),
        _("Minutes"),
        _("Planned minutes"),
        _("Unplanned minutes"),
    ]
    return _workbook(request, query, "downtime-trend", _("Downtime trend"), headers, rows)


# --- Reliability --------------------------------------------------------------------------------


@router.get("/reports/reliability", response_model=ReliabilityOut)
def reliability(request: Request, _reader: Reader, query: Scope) -> ReliabilityOut:
    """MTBF (run time / failures) and MTTR (unplanned downtime / failures) per line, over the
    shifts of the range, with their inputs; a failure is an unplanned stop in shift time."""
    return _read(request, lambda uow, now: service.reliability_report(uow, query, now))


def _reliability_cells(figures: ReliabilityFiguresOut) -> list[Any]:
    return [
        figures.run_seconds,
        figures.unplanned_downtime_seconds,
        figures.failures,
        figures.mtbf_minutes,
        figures.mttr_minutes,
    ]


@router.get("/reports/reliability.xlsx", response_class=Response, responses=XLSX_RESPONSE)
def reliability_xlsx(request: Request, _reader: Reader, query: Scope) -> Response:
    report = _read(request, lambda uow, now: service.reliability_report(uow, query, now))
    rows: list[list[Any]] = [
        [row.facility_code, row.line_code, row.line_name, *_reliability_cells(row)]
        for row in report.rows
    ]
    rows.append([str(_("Total")), None, None, *_reliability_cells(report.totals)])
    headers = [
        _("Facility"),
        _("Line"),
        _("Line name"),
        _("Run seconds"),
        _("Unplanned downtime seconds"),
        _("Failures"),
        _("MTBF minutes"),
        _("MTTR minutes"),
    ]
    return _workbook(request, query, "reliability", _("MTBF and MTTR"), headers, rows)
