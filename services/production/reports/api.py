"""HTTP API of the production reports: yield figures and the scrap Pareto, as JSON and as XLSX
(`<path>.xlsx`, the same rows, like the portal's other exports).

Every report takes a period of days in a time zone: `date_from` and `date_to` (both included;
by default the 30 days ending today) and `tz` (an IANA name; by default the plant's time zone,
PORTAL_PLANT_TIMEZONE, which is UTC unless set), and the filters `sku` and `line_code`.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from fastapi import APIRouter, Depends, Query, Request, Response

from services.production.reports import service
from services.production.reports.domain import MAX_DAYS_BY_DAY, day_count
from services.production.reports.schemas import (
    GroupBy,
    ScrapParetoOut,
    YieldFiguresOut,
    YieldReportOut,
)
from services.production.reports.service import ReportQuery
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.events.envelope import utc_now
from shared.i18n import _
from shared.uow import UnitOfWork
from shared.web.commands import runtime_of
from shared.web.problems import InvalidInput
from shared.web.security import require_permission
from shared.web.xlsx import XLSX_MEDIA_TYPE, workbook_response

router = APIRouter(prefix="/api/v1", tags=["production-reports"])

Reader = Annotated[TokenClaims, Depends(require_permission(Action.PRODUCTION_REPORTS_READ))]
DEFAULT_DAYS = 30
XLSX_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report as an Excel workbook",
        "content": {XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
}


def report_query(
    request: Request,
    date_from: Annotated[
        date | None, Query(description="First day, included (default: 29 days before date_to)")
    ] = None,
    date_to: Annotated[
        date | None, Query(description="Last day, included (default: today)")
    ] = None,
    tz: Annotated[
        str | None,
        Query(max_length=64, description="IANA time zone of the days (default: the plant's)"),
    ] = None,
    sku: Annotated[str | None, Query(max_length=64, description="Only this product")] = None,
    line_code: Annotated[
        str | None, Query(max_length=32, description="Only orders on this line")
    ] = None,
) -> ReportQuery:
    zone_name = tz.strip() if tz and tz.strip() else runtime_of(request).settings.plant_timezone
    zone = _zone(zone_name)
    if date_to is None:
        today = utc_now().astimezone(zone).date()
        date_to = today if date_from is None else max(today, date_from)
    if date_from is None:
        date_from = _days_before(date_to, DEFAULT_DAYS - 1)
    if date_to < date_from:
        raise InvalidInput(
            _("The last day comes before the first day."),
            field="query.date_to",
            code="date_to_before_date_from",
        )
    return ReportQuery(
        first=date_from,
        last=date_to,
        tz=zone_name,
        sku=sku.strip() if sku and sku.strip() else None,
        line_code=line_code.strip() if line_code and line_code.strip() else None,
    )


Period = Annotated[ReportQuery, Depends(report_query)]
GroupByQuery = Annotated[
    GroupBy, Query(description="day (every day of the range), product or line")
]


def _reading(request: Request) -> UnitOfWork:
    uow: UnitOfWork = runtime_of(request).uow(read_only=True)
    return uow


@cache
def _iana_names() -> frozenset[str]:
    return frozenset(available_timezones())


def _zone(name: str) -> ZoneInfo:
    """The IANA zone `name` (not a file of the zone folder that is no zone name, such as
    posixrules or right/UTC)."""
    try:
        if name not in _iana_names():
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise InvalidInput(
            _("'{zone}' is not a time zone; use an IANA name such as America/Chicago.", zone=name),
            field="query.tz",
            code="unknown_time_zone",
        ) from exc


def _days_before(day: date, count: int) -> date:
    try:
        return day - timedelta(days=count)
    except OverflowError:
        return date.min


def _checked_grouping(query: ReportQuery, group_by: GroupBy) -> GroupBy:
    if group_by is GroupBy.DAY and day_count(query.first, query.last) > MAX_DAYS_BY_DAY:
        raise InvalidInput(
            _(
                "A day-by-day report covers at most {days} days; choose a shorter range or "
                "group by product or line.",
                days=MAX_DAYS_BY_DAY,
            ),
            field="query.date_from",
            code="range_too_long",
        )
    return group_by


@router.get("/reports/yield", response_model=YieldReportOut)
def yield_report(
    request: Request, _reader: Reader, query: Period, group_by: GroupByQuery = GroupBy.DAY
) -> YieldReportOut:
    """Print yield, QC yield, first pass yield, rolled throughput yield, scrap rate and reprint
    rate per day, product or line, with the quantities each comes from and the period's totals
    (definitions in docs/production.md, "Reports: definitions")."""
    grouping = _checked_grouping(query, group_by)
    with _reading(request) as uow:
        return service.yield_report(uow, query, grouping)


@router.get("/reports/yield.xlsx", response_class=Response, responses=XLSX_RESPONSE)
def yield_report_xlsx(
    request: Request, _reader: Reader, query: Period, group_by: GroupByQuery = GroupBy.DAY
) -> Response:
    """The yield report's rows and totals as a workbook."""
    grouping = _checked_grouping(query, group_by)
    with _reading(request) as uow:
        report = service.yield_report(uow, query, grouping)
    group_header = {GroupBy.DAY: _("Day"), GroupBy.PRODUCT: _("Product"), GroupBy.LINE: _("Line")}
    headers = [group_header[grouping], _("Name"), *(label for label, _key in YIELD_COLUMNS)]
    rows: list[list[Any]] = [[row.group, row.name, *_yield_cells(row)] for row in report.rows]
    rows.append([str(_("Total")), None, *_yield_cells(report.totals)])
    return workbook_response(
        f"yield-{query.first.isoformat()}-{query.last.isoformat()}",
        str(_("Yield")),
        [str(header) for header in headers],
        rows,
    )


@router.get("/reports/scrap-pareto", response_model=ScrapParetoOut)
def scrap_pareto(request: Request, _reader: Reader, query: Period) -> ScrapParetoOut:
    """Scrap (bad at the runs + failed at QC) by reason code, largest first, with percentage,
    cumulative percentage and each code's category, description and corrective action."""
    with _reading(request) as uow:
        return service.scrap_pareto(uow, query)


@router.get("/reports/scrap-pareto.xlsx", response_class=Response, responses=XLSX_RESPONSE)
def scrap_pareto_xlsx(request: Request, _reader: Reader, query: Period) -> Response:
    """The scrap Pareto's rows as a workbook."""
    with _reading(request) as uow:
        report = service.scrap_pareto(uow, query)
    headers = [
        _("Reason code"),
        _("Category"),
        _("Description"),
        _("Corrective action"),
        _("Scrapped"),
        _("Bad at print"),
        _("Failed at QC"),
        _("Percent"),
        _("Cumulative percent"),
    ]
    rows = [
        [
            row.code,
            row.category,
            row.description,
            row.corrective_action,
            row.qty,
            row.qty_bad,
            row.qty_failed,
            row.percent,
            row.cumulative_percent,
        ]
        for row in report.rows
    ]
    return workbook_response(
        f"scrap-pareto-{query.first.isoformat()}-{query.last.isoformat()}",
        str(_("Scrap Pareto")),
        [str(header) for header in headers],
        rows,
    )


YIELD_COLUMNS = (
    (_("Printed"), "qty_printed"),
    (_("Good"), "qty_good"),
    (_("Bad"), "qty_bad"),
    (_("Inspected"), "qty_inspected"),
    (_("Passed"), "qty_passed"),
    (_("Failed"), "qty_failed"),
    (_("Scrapped"), "qty_scrapped"),
    (_("Ordered (root orders)"), "qty_ordered_root"),
    (_("Reprinted"), "qty_reprinted"),
    (_("Reprint orders"), "reprint_count"),
    (_("Print yield"), "print_yield"),
    (_("QC yield"), "qc_yield"),
    (_("First pass yield"), "fpy"),
    (_("Rolled throughput yield"), "rty"),
    (_("Scrap rate"), "scrap_rate"),
    (_("Reprint rate"), "reprint_rate"),
)


def _yield_cells(figures: YieldFiguresOut) -> list[Any]:
    return [getattr(figures, key) for _label, key in YIELD_COLUMNS]
