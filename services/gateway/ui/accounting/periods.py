"""Accounting periods: the months of a year, open or closed; an admin closes and reopens them.

A month is open unless closed (docs/accounting.md): the year always shows its twelve months,
each with what the service says of it. Closing and reopening need `accounting.periods.manage`
(admin only); everyone who reads the books sees the list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from services.gateway.ui import upstream
from services.gateway.ui.accounting.common import SERVICE, listed, post, query_text, refusal
from services.gateway.ui.frame import Page, page_user, render
from services.gateway.ui.upstream import UpstreamProblem
from shared.auth.permissions import Action, allowed
from shared.events.envelope import utc_now
from shared.i18n import Text, _, language_scope, locale_of
from shared.web.problems import NotFound
from shared.web.xlsx import workbook_response

router = APIRouter()

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
STATUS_LABELS: dict[str, Text] = {"open": _("Open"), "closed": _("Closed")}


def _year(request: Request, page: Page) -> int:
    raw = query_text(request, "year", 4)
    if raw.isdigit() and 2000 <= int(raw) <= 2100:
        return int(raw)
    return utc_now().astimezone(ZoneInfo(page.timezone)).year


def months_of(year: int, answer: Any, language: str) -> list[dict[str, Any]]:
    """The twelve months of `year`, each with the service's row for it (open when it has none)."""
    rows = answer if isinstance(answer, list) else listed(answer, "periods") or listed(answer)
    by_period = {str(row.get("period")): row for row in rows if isinstance(row, Mapping)}
    months = []
    for month in range(1, 13):
        period = f"{year}-{month:02d}"
        row = dict(by_period.get(period) or {"period": period, "status": "open"})
        row["name"] = babel_dates.format_date(
            date(year, month, 1), "LLLL y", locale=locale_of(language)
        ).capitalize()
        months.append(row)
    return months


async def _periods(request: Request, page: Page, year: int) -> list[dict[str, Any]]:
    answer = await upstream.get_json(request, page.user, SERVICE, "periods", {"year": year})
    return months_of(year, answer, page.language)


@router.get("/accounting/periods")
async def periods(request: Request) -> Response:
    page = await page_user(request, Action.BOOKS_READ)
    return await _periods_page(request, page, _year(request, page), {})


async def _periods_page(
    request: Request, page: Page, year: int, context: Mapping[str, Any], status_code: int = 200
) -> Response:
    values = {
        "year": year,
        "months": await _periods(request, page, year),
        "status_labels": STATUS_LABELS,
        "can_manage": allowed(page.user.roles, Action.BOOKS_PERIODS),
        "done": query_text(request, "done", 10),
        "period": query_text(request, "period", 7),
        "error": None,
        **context,
    }
    return render(request, page, "accounting/periods.html", values, status_code=status_code)


@router.get("/accounting/periods.xlsx")
async def periods_xlsx(request: Request) -> Response:
    page = await page_user(request, Action.BOOKS_READ)
    year = _year(request, page)
    months = await _periods(request, page, year)
    with language_scope(page.language):
        headers = [
            str(label)
            for label in (
                _("Period"),
                _("Month"),
                _("Status"),
                _("Entries"),
                _("Changed at"),
                _("Changed by"),
            )
        ]
        title = _("Periods {year}", year=year).render()
        rows = [
            [
                month["period"],
                month["name"],
                STATUS_LABELS[month["status"]].render()
                if month.get("status") in STATUS_LABELS
                else month.get("status"),
                month.get("entries"),
                _moment(month.get("changed_at")),
                month.get("changed_by"),
            ]
            for month in months
        ]
    return workbook_response(f"periods-{year}", title, headers, rows, timezone=page.timezone)


def _moment(value: Any) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


@router.post("/accounting/periods/{period}/close")
async def close_period(period: str, request: Request) -> Response:
    return await _change_period(request, period, "close")


@router.post("/accounting/periods/{period}/reopen")
async def reopen_period(period: str, request: Request) -> Response:
    return await _change_period(request, period, "reopen")


async def _change_period(request: Request, period: str, change: str) -> Response:
    page = await page_user(request, Action.BOOKS_PERIODS)
    if not PERIOD.match(period):
        raise NotFound(_("There is no period {period}.", period=period[:20]))
    year = int(period[:4])
    try:
        await post(request, page, "POST", f"periods/{quote(period)}/{change}")
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        context = {"error": str(problem.detail), "period": period}
        return await _periods_page(
            request, page, year, context, upstream.form_status(request, problem)
        )
    done = "closed" if change == "close" else "reopened"
    return RedirectResponse(
        f"/accounting/periods?year={year}&done={done}&period={period}", status_code=303
    )
