"""A facility's recent production days and how each is locked: by a supervisor (manual, with who
and when), by the clock (automatic: the facility's day-lock hour of the next day has passed),
or not at all. Supervisors lock a day (`downtime.days.lock`); only an admin lifts a supervisor's
lock (`downtime.days.edit_locked`). A day the clock locked stays locked: there is nothing to
lift, and the page says so when a lifted day is still locked by the clock.

Days are the facility's plant-local production days, so "today" is the facility's today, not
the server's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from services.gateway.ui import upstream
from services.gateway.ui.frame import Page, page_user, render
from services.gateway.ui.plant.common import (
    SERVICE,
    can,
    done,
    facility_of,
    facility_zone,
    listed,
    local_today,
    query_text,
    refusal,
    seg,
    send,
    split_errors,
    text,
)
from services.gateway.ui.upstream import UpstreamProblem
from shared.auth.permissions import Action
from shared.i18n import Text, _, format_datetime
from shared.web.problems import NotFound

router = APIRouter()

DAYS_SHOWN = 14
EARLIEST = date(2000, 1, 1)
KIND_LABELS: dict[str, Text] = {
    "manual": _("Locked by a supervisor"),
    "automatic": _("Locked automatically"),
}


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def recent_days(
    until: date, locks: list[dict[str, Any]], count: int = DAYS_SHOWN
) -> list[dict[str, Any]]:
    """`count` days up to `until`, newest first, each with its lock (None when it is open)."""
    by_day = {str(lock.get("day")): lock for lock in locks}
    return [
        {"day": day.isoformat(), "lock": by_day.get(day.isoformat())}
        for day in (until - timedelta(days=back) for back in range(count))
    ]


@router.get("/plant/facilities/{code}/day-locks")
async def day_locks_page(code: str, request: Request) -> Response:
    page = await page_user(request, Action.DOWNTIME_READ)
    facility = await facility_of(request, page, code)
    return await _day_locks_page(request, page, facility, {})


async def _day_locks_page(
    request: Request,
    page: Page,
    facility: Mapping[str, Any],
    context: Mapping[str, Any],
    status_code: int = 200,
) -> Response:
    today = local_today(facility)
    asked = _day(query_text(request, "until", 10)) or today
    # Days to come have nothing to lock yet; before the plant's first years, nothing either.
    until = min(max(asked, EARLIEST), today)
    date_from = until - timedelta(days=DAYS_SHOWN - 1)
    found = await upstream.get_json(
        request,
        page.user,
        SERVICE,
        f"facilities/{seg(str(facility['code']))}/day-locks",
        {"date_from": date_from.isoformat(), "date_to": until.isoformat()},
    )
    zone = facility_zone(facility)
    locks = listed(found, "locks")
    for lock in locks:
        lock["locked_at_shown"] = _local(lock.get("locked_at"), zone.key)
    values: dict[str, Any] = {
        "facility": facility,
        "tab": "day-locks",
        "days": recent_days(until, locks),
        "today": today.isoformat(),
        "until": until.isoformat(),
        "earlier": (until - timedelta(days=DAYS_SHOWN)).isoformat(),
        "later": min(until + timedelta(days=DAYS_SHOWN), today).isoformat(),
        "kind_labels": KIND_LABELS,
        "can_lock": can(page, Action.DOWNTIME_DAYS_LOCK),
        "can_unlock": can(page, Action.DOWNTIME_LOCKED_EDIT),
        "values": {},
        "errors": {},
        "error": None,
        **done(request),
        "day": query_text(request, "day", 10),
        **context,
    }
    return render(request, page, "plant/day_locks.html", values, status_code=status_code)


def _local(value: Any, zone: str) -> str:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return ""
    return format_datetime(moment, zone)


@router.post("/plant/facilities/{code}/day-locks")
async def lock_day(code: str, request: Request) -> Response:
    page = await page_user(request, Action.DOWNTIME_DAYS_LOCK)
    facility = await facility_of(request, page, code)
    form = await request.form()
    values = {"day": text(form, "day", 40)}
    path = f"facilities/{seg(str(facility['code']))}/day-locks"
    try:
        await send(request, page, "POST", path, {"day": values["day"] or None})
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        errors, general = split_errors(problem, {"day"})
        context = {"values": values, "errors": errors, "error": general}
        status = upstream.form_status(request, problem)
        return await _day_locks_page(request, page, facility, context, status)
    return _back(facility, "locked", values["day"])


@router.post("/plant/facilities/{code}/day-locks/{day}/unlock")
async def unlock_day(code: str, day: str, request: Request) -> Response:
    page = await page_user(request, Action.DOWNTIME_LOCKED_EDIT)
    facility = await facility_of(request, page, code)
    chosen = _day(day[:10])
    if chosen is None:
        raise NotFound(_("There is no production day {day}.", day=day[:20]))
    path = f"facilities/{seg(str(facility['code']))}/day-locks/{chosen.isoformat()}/unlock"
    try:
        answer = await send(request, page, "POST", path)
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        context = {"error": str(problem.detail)}
        status = upstream.form_status(request, problem)
        return await _day_locks_page(request, page, facility, context, status)
    still = isinstance(answer, Mapping) and answer.get("lock") == "automatic"
    return _back(facility, "unlocked_clock" if still else "unlocked", chosen.isoformat())


def _back(facility: Mapping[str, Any], what: str, day: str) -> Response:
    """Back to the days, showing `day` when it is older than the days shown by default."""
    target = quote(str(facility["code"]), safe="")
    url = f"/plant/facilities/{target}/day-locks?done={what}&day={quote(day)}"
    chosen = _day(day)
    if chosen is not None and chosen <= local_today(facility) - timedelta(days=DAYS_SHOWN):
        url += f"&until={chosen.isoformat()}"
    return RedirectResponse(url, status_code=303)
