"""Production reports: yield with the scrap Pareto, the certificate of compliance of any
production order, and the live list of open jobs.

Every figure comes from its owner: yields and the Pareto from production's report endpoints,
an order's header from production, its material (issued, returned, relieved) from inventory's
per-order materials endpoint. The pages only arrange them; the charts (ECharts, static/reports.js)
draw the numbers the tables show, passed as JSON in a data attribute (the pages' CSP allows no
inline script).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response

from services.gateway.ui import upstream
from services.gateway.ui.frame import Feature, NavLink, Page, page_user, render
from shared.auth.permissions import Action, allowed
from shared.events.envelope import utc_now
from shared.i18n import Text, _, format_number, language_scope
from shared.web.problems import PortalError
from shared.web.xlsx import XLSX_MEDIA_TYPE, workbook_response

router = APIRouter()

PRODUCTION = "production"
INVENTORY = "inventory"
MAX_CODE = 64
DEFAULT_DAYS = 30

GROUPS: tuple[tuple[str, Text], ...] = (
    ("day", _("Day")),
    ("product", _("Product")),
    ("line", _("Line")),
)
ORDER_STATUSES: dict[str, Text] = {
    "draft": _("Draft"),
    "scheduled": _("Scheduled"),
    "in_progress": _("In progress"),
    "printed": _("Printed"),
    "completed": _("Completed"),
    "cancelled": _("Cancelled"),
}
OPEN_STATUSES = ("draft", "scheduled", "in_progress", "printed")
PRIORITIES: dict[str, Text] = {
    "urgent": _("Urgent"),
    "high": _("High"),
    "normal": _("Normal"),
    "low": _("Low"),
}
ORDER_TYPES: dict[str, Text] = {"mto": _("Make to order"), "mts": _("Make to stock")}


# --- small helpers -------------------------------------------------------------------------


def _text(request: Request, name: str, limit: int = MAX_CODE) -> str:
    value = (request.query_params.get(name) or "").strip()
    return value if len(value) <= limit and "\x00" not in value else ""


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def pct(value: Any, ratio: bool = True) -> str:
    """A figure as a percentage with two decimals: a ratio (0.7143 -> 71.43 %) or a value
    already in percent; an undefined figure (nothing to divide by) as a dash."""
    found = _decimal(value)
    if found is None:
        return "-"
    shown = (found * 100 if ratio else found).quantize(Decimal("0.01"))
    return _("{value} %", value=format_number(shown)).render()


def _plant_today(page: Page) -> date:
    return utc_now().astimezone(ZoneInfo(page.timezone)).date()


def _problem_values(problem: upstream.UpstreamProblem, fields: Sequence[str]) -> dict[str, Any]:
    """The service's refusal as the page shows it: beside its field, or above the figures."""
    errors = {
        name.removeprefix("query.").removeprefix("path."): message
        for name, message in problem.field_errors.items()
    }
    errors = {name: message for name, message in errors.items() if name in fields}
    return {"errors": errors, "error": None if errors else str(problem.detail)}


def _refusal(problem: upstream.UpstreamProblem) -> bool:
    """A 4xx the page can show beside the form (not a missing session or a forbidden role)."""
    return 400 <= problem.status < 500 and problem.status not in (401, 403)


# --- yield and the scrap Pareto ------------------------------------------------------------

SCRAP_CATEGORIES: dict[str, Text] = {
    "print_failure": _("Print failure"),
    "qc_failure": _("QC failure"),
    "handling": _("Handling"),
    "other": _("Other"),
}
FIGURES = ("fpy", "rty", "scrap_rate", "reprint_rate")


def _yield_query(request: Request, page: Page) -> tuple[dict[str, str], dict[str, str]]:
    """The report's parameters (by default the last 30 plant days, by day) and what is wrong
    with the dates typed, by field. Production checks the rest (a day-by-day range too long)."""
    errors: dict[str, str] = {}
    today = _plant_today(page)
    raw_from, raw_to = _text(request, "date_from"), _text(request, "date_to")
    last = _day(raw_to) if raw_to else today
    first = _day(raw_from) if raw_from else (last or today) - timedelta(days=DEFAULT_DAYS - 1)
    if first is None:
        errors["date_from"] = str(_("Enter a date."))
    if last is None:
        errors["date_to"] = str(_("Enter a date."))
    if first is not None and last is not None and last < first:
        errors["date_to"] = str(_("The last day comes before the first day."))
    group = _text(request, "group_by")
    query = {
        "date_from": first.isoformat() if first else raw_from,
        "date_to": last.isoformat() if last else raw_to,
        "group_by": group if group in dict(GROUPS) else "day",
    }
    for name in ("sku", "line_code"):
        if value := _text(request, name):
            query[name] = value
    return query, errors


def _yield_chart(by_day: Mapping[str, Any] | None, labels: Mapping[str, str]) -> str:
    """The daily figures as the line chart draws them (ratios; the script shows percent)."""
    rows = (by_day or {}).get("rows", [])
    chart: dict[str, Any] = {"days": [row.get("group") for row in rows]}
    for key in FIGURES:
        chart[key] = {"name": labels[key], "data": [_as_number(row.get(key)) for row in rows]}
    return json.dumps(chart)


def _pareto_chart(pareto: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    rows = pareto.get("rows", [])
    return json.dumps(
        {
            "reasons": [row.get("code") or labels["none"] for row in rows],
            "qty": [_as_number(row.get("qty")) for row in rows],
            "cumulative": [_as_number(row.get("cumulative_percent")) for row in rows],
            "labels": labels,
        }
    )


def _as_number(value: Any) -> str | None:
    """For the chart: the exact decimal as a plain numeric string (ECharts reads numeric
    strings as numbers), so no figure passes through a float on its way to the page."""
    found = _decimal(value)
    return format(found, "f") if found is not None else None


def _active(row: Mapping[str, Any]) -> bool:
    """A row with anything to count (a day on which nothing happened is not)."""
    counted = ("qty_printed", "qty_inspected", "qty_ordered_root", "qty_reprinted")
    return any(_decimal(row.get(name)) for name in counted)


def _chart_labels(page: Page) -> dict[str, str]:
    with language_scope(page.language):
        return {
            "fpy": _("First pass yield").render(),
            "rty": _("Rolled throughput yield").render(),
            "scrap_rate": _("Scrap rate").render(),
            "reprint_rate": _("Reprint rate").render(),
            "qty": _("Scrapped").render(),
            "cumulative": _("Cumulative %").render(),
            "none": _("No reason given").render(),
        }


async def _daily(
    request: Request, page: Page, query: Mapping[str, str], figures: Mapping[str, Any]
) -> Mapping[str, Any] | None:
    """The figures per day for the chart: the report itself when it is by day; otherwise asked
    for (a range too long to draw day by day draws no chart, the tables still show)."""
    if query["group_by"] == "day":
        return figures
    try:
        found: Mapping[str, Any] = await upstream.get_json(
            request, page.user, PRODUCTION, "reports/yield", {**query, "group_by": "day"}
        )
    except upstream.UpstreamProblem:
        return None
    return found


@router.get("/reports/yield")
async def yield_report(request: Request) -> Response:
    """Yield figures for a range of plant days by day, product or line, with a chart per day,
    and the scrap Pareto of the same range; each exports to Excel."""
    page = await page_user(request, Action.PRODUCTION_REPORTS_READ)
    query, errors = _yield_query(request, page)
    values: dict[str, Any] = {
        "query": query,
        "groups": GROUPS,
        "group_label": dict(GROUPS)[query["group_by"]],
        "categories": SCRAP_CATEGORIES,
        "pct": pct,
        "errors": errors,
        "error": None,
        "figures": None,
        "xlsx_query": urlencode(query),
    }
    if errors:
        return render(request, page, "reports/yield.html", values, status_code=422)
    pareto_query = {key: value for key, value in query.items() if key != "group_by"}
    try:
        figures, pareto = await asyncio.gather(
            upstream.get_json(request, page.user, PRODUCTION, "reports/yield", query),
            upstream.get_json(request, page.user, PRODUCTION, "reports/scrap-pareto", pareto_query),
        )
    except upstream.UpstreamProblem as problem:
        if not _refusal(problem):
            raise
        values.update(_problem_values(problem, ("date_from", "date_to", "sku", "line_code")))
        return render(request, page, "reports/yield.html", values, status_code=problem.status)
    labels = _chart_labels(page)
    by_day = await _daily(request, page, query, figures)
    values.update(
        figures=figures,
        shown_rows=[row for row in figures.get("rows", []) if _active(row)],
        pareto=pareto,
        yield_chart=_yield_chart(by_day, labels) if by_day else None,
        pareto_chart=_pareto_chart(pareto, labels),
    )
    return render(request, page, "reports/yield.html", values)


async def _xlsx_from(request: Request, page: Page, path: str) -> Response:
    """Production's own workbook of a report (the same rows as the page), passed on."""
    query, errors = _yield_query(request, page)
    if errors:
        return render(
            request,
            page,
            "problem.html",
            {"title": _("Nothing to export"), "detail": next(iter(errors.values()))},
            status_code=422,
        )
    if path.startswith("reports/scrap-pareto"):
        query.pop("group_by", None)
    answer = await upstream.call(request, page.user, PRODUCTION, "GET", path, params=query)
    if not answer.is_success:
        upstream.checked(answer)  # raises the service's problem, shown as a page
    headers = {
        name: answer.headers[name] for name in ("content-disposition",) if name in answer.headers
    }
    return Response(
        answer.content,
        media_type=answer.headers.get("content-type", XLSX_MEDIA_TYPE),
        headers=headers,
    )


@router.get("/reports/yield.xlsx")
async def yield_xlsx(request: Request) -> Response:
    page = await page_user(request, Action.PRODUCTION_REPORTS_READ)
    return await _xlsx_from(request, page, "reports/yield.xlsx")


@router.get("/reports/scrap-pareto.xlsx")
async def pareto_xlsx(request: Request) -> Response:
    page = await page_user(request, Action.PRODUCTION_REPORTS_READ)
    return await _xlsx_from(request, page, "reports/scrap-pareto.xlsx")


# --- certificate of compliance -------------------------------------------------------------


def _with_yield(figures: Mapping[str, Any], scrapped_share: Decimal | None) -> dict[str, Any]:
    """Material figures with their yield scrap: the part of what was relieved that went into
    units scrapped (bad at the runs, failed at QC), and that part in percent."""
    relieved = _decimal(figures.get("qty_relieved")) or Decimal(0)
    line = dict(figures)
    if scrapped_share is None:
        line["yield_scrap"], line["yield_loss_pct"] = None, None
    else:
        line["yield_scrap"] = (relieved * scrapped_share).quantize(Decimal("0.0001"))
        line["yield_loss_pct"] = scrapped_share * 100 if relieved else None
    return line


def certificate_lines(materials: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per component (and, below it, per lot): issued, returned, relieved, yield scrap and
    yield loss. The scrapped share is the order's output as inventory received it: (bad +
    failed) / (good + bad); before any run there is none (shown as a dash)."""
    output = materials.get("output") or {}
    good, bad, failed = (
        _decimal(output.get(name)) or Decimal(0) for name in ("qty_good", "qty_bad", "qty_failed")
    )
    made = good + bad
    share = (bad + failed) / made if made else None
    lines = []
    for component in materials.get("components", []):
        line = _with_yield(component, share)
        line["lots"] = [_with_yield(lot, share) for lot in component.get("lots", [])]
        lines.append(line)
    return lines


async def _order_and_materials(
    request: Request, page: Page, code: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    path = f"production-orders/{quote(code, safe='')}"
    order, materials = await asyncio.gather(
        upstream.get_json(request, page.user, PRODUCTION, path),
        upstream.get_json(request, page.user, INVENTORY, f"{path}/materials"),
    )
    return order, materials


async def _customer(request: Request, page: Page, order: Mapping[str, Any]) -> Any:
    """The customer of a make-to-order order's sales order, if mrp answers; the certificate is
    complete without it."""
    so = order.get("so_number")
    if not so or not allowed(page.user.roles, Action.SALES_ORDERS_READ):
        return None
    try:
        found = await upstream.get_json(
            request, page.user, "mrp", f"sales-orders/{quote(str(so), safe='')}"
        )
    except PortalError:
        return None
    name = found.get("customer_name")
    code = found.get("customer_code")
    return f"{name} ({code})" if name and code else (name or code)


@router.get("/reports/coc")
async def certificate(request: Request) -> Response:
    """Enter an order code, or arrive with ?order=: the certificate of any order, open or
    closed. An order that is not there is said so beside the form."""
    page = await page_user(request, Action.PRODUCTION_REPORTS_READ)
    code = (request.query_params.get("order") or "").strip()
    values: dict[str, Any] = {
        "code": code,
        "errors": {},
        "error": None,
        "order": None,
        "statuses": ORDER_STATUSES,
        "order_types": ORDER_TYPES,
        "priorities": PRIORITIES,
        "printed_at": utc_now(),
        "pct": pct,
    }
    if code and (len(code) > MAX_CODE or "\x00" in code):
        with language_scope(page.language):
            values["errors"] = {"order": str(_("This is not a production order code."))}
        return render(request, page, "reports/coc.html", values, status_code=422)
    if code:
        try:
            order, materials = await _order_and_materials(request, page, code)
        except upstream.UpstreamProblem as problem:
            if not _refusal(problem):
                raise
            values["error"] = str(problem.detail)
            return render(request, page, "reports/coc.html", values, status_code=problem.status)
        values.update(
            order=order,
            materials=materials,
            lines=certificate_lines(materials),
            customer=await _customer(request, page, order),
        )
    return render(request, page, "reports/coc.html", values)


# --- live open jobs ------------------------------------------------------------------------

# The page's sort names -> production's.
OPEN_JOB_SORTS = {
    "code": "code",
    "product": "sku",
    "status": "status",
    "priority": "priority",
    "line": "line_code",
    "due": "due_date",
}
DEFAULT_JOB_SORT = "-priority"  # urgent first
MAX_JOBS = 500  # inventory answers the material of at most 500 orders at once


def _jobs_query(request: Request) -> dict[str, str]:
    query = {}
    for name in ("status", "line_code", "priority", "sku"):
        if value := _text(request, name):
            query[name] = value
    if query.get("status") not in OPEN_STATUSES:
        query.pop("status", None)
    if query.get("priority") not in PRIORITIES:
        query.pop("priority", None)
    sort = _text(request, "sort")
    query["sort"] = sort if sort.lstrip("-") in OPEN_JOB_SORTS else DEFAULT_JOB_SORT
    return query


async def _open_jobs(request: Request, page: Page, query: Mapping[str, str]) -> dict[str, Any]:
    """Every open order the filters select (at most MAX_JOBS), each with its material."""
    sort = query["sort"]
    statuses = [query["status"]] if query.get("status") else list(OPEN_STATUSES)
    listed = await upstream.get_json(
        request,
        page.user,
        PRODUCTION,
        "production-orders",
        {
            "status": statuses,
            "line_code": query.get("line_code"),
            "priority": query.get("priority"),
            "sku": query.get("sku"),
            "sort": ("-" if sort.startswith("-") else "") + OPEN_JOB_SORTS[sort.lstrip("-")],
            "limit": MAX_JOBS,
        },
    )
    orders = listed.get("items", [])
    materials: dict[str, Any] = {}
    if orders:
        codes = [order["code"] for order in orders]
        found = await upstream.get_json(
            request,
            page.user,
            INVENTORY,
            "production-orders/materials",
            {"order": codes},
        )
        materials = {summary["order_code"]: summary for summary in found.get("orders", [])}
    return {
        "orders": orders,
        "total": listed.get("total", len(orders)),
        "materials": materials,
        "updated_at": utc_now(),
    }


@router.get("/open-jobs")
async def open_jobs(request: Request) -> Response:
    """Every open production order with its material, refreshed by itself when an order or its
    material moves (live topic production-orders), with the time of the last refresh."""
    page = await page_user(request, Action.PRODUCTION_ORDERS_READ)
    query = _jobs_query(request)
    values: dict[str, Any] = {
        "query": query,
        "statuses": ORDER_STATUSES,
        "open_statuses": OPEN_STATUSES,
        "priorities": PRIORITIES,
        "error": None,
        "self_url": "/open-jobs?" + urlencode(query),
        "export_url": "/open-jobs.xlsx?" + urlencode(query),
        "sort_urls": {
            f"{sign}{key}": "/open-jobs?" + urlencode({**query, "sort": f"{sign}{key}"})
            for key in OPEN_JOB_SORTS
            for sign in ("", "-")
        },
    }
    status_code = 200
    try:
        values.update(await _open_jobs(request, page, query))
    except upstream.UpstreamProblem as problem:
        if not _refusal(problem):
            raise
        status_code = problem.status
        values.update(orders=[], total=0, materials={}, updated_at=utc_now())
        values["error"] = str(problem.detail)
    # htmx swaps only a 2xx in: a refused live refresh shows its message in the list.
    swapping = request.headers.get("hx-target") == "open-jobs"
    template = "reports/jobs.html" if swapping else "reports/open_jobs.html"
    return render(request, page, template, values, status_code=200 if swapping else status_code)


JOB_EXPORT_HEADERS = (
    _("Order"),
    _("Product"),
    _("Status"),
    _("Priority"),
    _("Line"),
    _("Due"),
    _("Ordered"),
    _("To make"),
    _("Good"),
    _("Bad"),
    _("Passed"),
    _("Failed"),
    _("Component"),
    _("Lot"),
    _("Issued"),
    _("Returned"),
    _("Relieved"),
)


def _job_rows(jobs: Mapping[str, Any]) -> list[list[Any]]:
    """One row per order and component (an order with no material yet: one row)."""
    rows = []
    for order in jobs["orders"]:
        status = ORDER_STATUSES.get(order.get("status", ""))
        priority = PRIORITIES.get(order.get("priority", ""))
        head = [
            order.get("code"),
            order.get("sku"),
            status.render() if status else order.get("status"),
            priority.render() if priority else order.get("priority"),
            order.get("line_code"),
            _day(str(order["due_date"])) if order.get("due_date") else None,
            *(
                _decimal(order.get(name))
                for name in ("qty_ordered", "qty_to_make", "qty_good", "qty_bad")
            ),
            *(_decimal(order.get(name)) for name in ("qty_passed", "qty_failed")),
        ]
        components = (jobs["materials"].get(order.get("code")) or {}).get("components") or []
        for component in components or [{}]:
            rows.append(
                [
                    *head,
                    component.get("sku"),
                    component.get("lot"),
                    *(
                        _decimal(component.get(name))
                        for name in ("qty_issued", "qty_returned", "qty_relieved")
                    ),
                ]
            )
    return rows


@router.get("/open-jobs.xlsx")
async def open_jobs_xlsx(request: Request) -> Response:
    page = await page_user(request, Action.PRODUCTION_ORDERS_READ)
    jobs = await _open_jobs(request, page, _jobs_query(request))
    with language_scope(page.language):
        headers = [header.render() for header in JOB_EXPORT_HEADERS]
        title = _("Open jobs").render()
        rows = _job_rows(jobs)
    today = _plant_today(page).isoformat()
    return workbook_response(f"open-jobs-{today}", title, headers, rows, timezone=page.timezone)


feature = Feature(
    name="reports",
    router=router,
    order=40,
    nav=(
        NavLink(_("Open jobs"), "/open-jobs", Action.PRODUCTION_ORDERS_READ),
        # Yield and certificates, with the open jobs in the reports' own tabs.
        NavLink(_("Reports"), "/reports/yield", Action.PRODUCTION_REPORTS_READ),
    ),
)
