"""The statements: trial balance as of a day, profit and loss for a period, balance sheet as of a
day, and the reconciliation of the three inventory accounts with inventory's own valuation.

Every figure is the accounting service's (which sums its kept day balances; the reconciliation
asks inventory as the user). A date typed wrong is said beside its field before anything is
asked; a date the service refuses is said beside its field too. Each table's workbook is the
service's own `.xlsx` of the same report, passed on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response

from services.gateway.ui import upstream
from services.gateway.ui.accounting.common import (
    ACCOUNT_TYPE_LABELS,
    DOCUMENT_TYPE_LABELS,
    SERVICE,
    document_href,
    listed,
    query_text,
    refusal,
    service_workbook,
)
from services.gateway.ui.frame import Page, page_user, render
from shared.auth.permissions import Action
from shared.events.envelope import utc_now
from shared.i18n import Text, _

router = APIRouter()


def _today(page: Page) -> date:
    return utc_now().astimezone(ZoneInfo(page.timezone)).date()


def _dates(
    request: Request, page: Page, names: Sequence[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The report's dates (today, or the first of this month for a date_from left empty) and
    what is wrong with those typed, by field."""
    today = _today(page)
    defaults = {"as_of": today, "date_to": today, "date_from": today.replace(day=1)}
    query: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name in names:
        raw = query_text(request, name, 20)
        try:
            query[name] = date.fromisoformat(raw).isoformat() if raw else defaults[name].isoformat()
        except ValueError:
            query[name] = raw
            errors[name] = str(_("Enter a date (YYYY-MM-DD)."))
    if not errors and "date_from" in query and query["date_to"] < query["date_from"]:
        errors["date_to"] = str(_("The last day comes before the first day."))
    return query, errors


async def _report(
    request: Request,
    page: Page,
    path: str,
    names: Sequence[str],
    template: str,
    values: Mapping[str, Any] | None = None,
) -> Response:
    """A report page: the dates, then the service's answer, or the refusal beside its field."""
    query, errors = _dates(request, page, names)
    context: dict[str, Any] = {
        "query": query,
        "errors": errors,
        "error": None,
        "report": None,
        "xlsx_query": urlencode(query),
        "type_labels": ACCOUNT_TYPE_LABELS,
        **(values or {}),
    }
    if errors:
        return render(request, page, template, context, status_code=422)
    try:
        context["report"] = await upstream.get_json(request, page.user, SERVICE, path, query)
    except upstream.UpstreamProblem as problem:
        if not refusal(problem):
            raise
        found = {
            name.removeprefix("query."): message
            for name, message in problem.field_errors.items()
            if name.removeprefix("query.") in names
        }
        context.update(errors=found, error=None if found else str(problem.detail))
        return render(request, page, template, context, status_code=problem.status)
    return render(request, page, template, context)


async def _workbook(request: Request, page: Page, path: str, names: Sequence[str]) -> Response:
    query, errors = _dates(request, page, names)
    if errors:
        return render(
            request,
            page,
            "problem.html",
            {"title": _("Nothing to export"), "detail": next(iter(errors.values()))},
            status_code=422,
        )
    return await service_workbook(request, page, path, query)


# --- trial balance --------------------------------------------------------------------------


@router.get("/trial-balance")
async def trial_balance(request: Request) -> Response:
    page = await page_user(request, Action.BOOKS_READ)
    return await _report(
        request, page, "trial-balance", ("as_of",), "accounting/trial_balance.html"
    )


@router.get("/trial-balance.xlsx")
async def trial_balance_xlsx(request: Request) -> Response:
    page = await page_user(request, Action.BOOKS_READ)
    return await _workbook(request, page, "trial-balance.xlsx", ("as_of",))


# --- profit and loss, balance sheet ---------------------------------------------------------

SECTION_LABELS: dict[str, Text] = {
    "revenue": _("Revenue"),
    "cost_of_goods_sold": _("Cost of goods sold"),
    "scrap": _("Scrap"),
    "other_expenses": _("Other expenses"),
    "assets": _("Assets"),
    "liabilities": _("Liabilities"),
    "equity": _("Equity"),
}


def _section(key: str, block: Mapping[str, Any]) -> dict[str, Any]:
    label = SECTION_LABELS.get(key)
    return {
        "key": key,
        "label": label.render() if label else str(block.get("title") or key),
        "rows": listed(block.get("rows") or []),
        "total": block.get("total"),
    }


def profit_and_loss_lines(report: Mapping[str, Any]) -> dict[str, Any]:
    """The P&L's sections in the service's order; gross profit follows the cost of goods sold,
    net income closes it."""
    sections = [_section(str(s.get("section")), s) for s in listed(report.get("sections"))]
    return {
        "sections": sections,
        "after": {"cost_of_goods_sold": (_("Gross profit").render(), report.get("gross_profit"))},
        "totals": [(_("Net income").render(), report.get("net_income"), "net_income")],
    }


def balance_sheet_lines(report: Mapping[str, Any]) -> dict[str, Any]:
    """Assets, then liabilities and equity (this year's earnings a line of equity), and the
    two totals that must agree."""
    sections = [
        _section(key, report[key])
        for key in ("assets", "liabilities", "equity")
        if isinstance(report.get(key), Mapping)
    ]
    return {
        "sections": sections,
        "after": {"assets": (_("Total assets").render(), report.get("total_assets"))},
        "totals": [
            (
                _("Total liabilities and equity").render(),
                report.get("total_liabilities_and_equity"),
                "total_liabilities_and_equity",
            )
        ],
    }


@router.get("/profit-and-loss")
async def profit_and_loss(request: Request) -> Response:
    page = await page_user(request, Action.BOOKS_READ)
    return await _report(
        request,
        page,
        "reports/profit-and-loss",
        ("date_from", "date_to"),
        "accounting/profit_and_loss.html",
        {"lines_of": profit_and_loss_lines},
    )


@router.get("/profit-and-loss.xlsx")
async def profit_and_loss_xlsx(request: Request) -> Response:
    page = await page_user(request, Action.BOOKS_READ)
    return await _workbook(request, page, "reports/profit-and-loss.xlsx", ("date_from", "date_to"))


@router.get("/balance-sheet")
async def balance_sheet(request: Request) -> Response:
    page = await page_user(request, Action.BOOKS_READ)
    return await _report(
        request,
        page,
        "reports/balance-sheet",
        ("as_of",),
        "accounting/balance_sheet.html",
        {"lines_of": balance_sheet_lines},
    )


@router.get("/balance-sheet.xlsx")
async def balance_sheet_xlsx(request: Request) -> Response:
    page = await page_user(request, Action.BOOKS_READ)
    return await _workbook(request, page, "reports/balance-sheet.xlsx", ("as_of",))


# --- reconciliation -------------------------------------------------------------------------

# Inventory's valuation classes, as the stock each inventory account holds.
INVENTORY_CLASS_LABELS: dict[str, Text] = {
    "raw": _("Raw materials"),
    "wip": _("Work in progress"),
    "finished": _("Finished goods"),
}


@router.get("/accounting/reconciliation")
async def reconciliation(request: Request) -> Response:
    page = await page_user(request, Action.BOOKS_READ)
    return await _report(
        request,
        page,
        "reports/reconciliation",
        ("as_of",),
        "accounting/reconciliation.html",
        {
            "document_href": document_href,
            "document_labels": DOCUMENT_TYPE_LABELS,
            "class_labels": INVENTORY_CLASS_LABELS,
        },
    )


@router.get("/accounting/reconciliation.xlsx")
async def reconciliation_xlsx(request: Request) -> Response:
    page = await page_user(request, Action.BOOKS_READ)
    return await _workbook(request, page, "reports/reconciliation.xlsx", ("as_of",))
