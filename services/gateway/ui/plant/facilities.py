"""Facilities: the list (everyone who reads downtime), adding one and changing its name, time zone
and day-lock hour, deactivating and reactivating it (admin: `downtime.plant.manage`).

The time zone is any IANA name; the form suggests every one Python knows
(`zoneinfo.available_timezones()`), and the service refuses one it does not know, beside the
field.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any
from urllib.parse import quote
from zoneinfo import available_timezones

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from services.gateway.ui import upstream
from services.gateway.ui.frame import Page, page_user, render
from services.gateway.ui.plant.common import (
    MAX_CODE,
    SERVICE,
    can,
    done,
    facility_of,
    listed,
    refusal,
    seg,
    send,
    split_errors,
    text,
    whole_number,
)
from services.gateway.ui.upstream import UpstreamProblem
from shared.auth.permissions import Action

router = APIRouter()

NEW_FIELDS = ("code", "name", "timezone", "day_lock_hour")
EDIT_FIELDS = ("name", "timezone", "day_lock_hour")


@cache
def time_zones() -> tuple[str, ...]:
    """Every IANA zone name, sorted: the legacy aliases without a '/' (EST, ...) left out, UTC
    kept."""
    return tuple(sorted(z for z in available_timezones() if "/" in z or z == "UTC"))


def facility_body(values: Mapping[str, str], fields: tuple[str, ...]) -> dict[str, Any]:
    body: dict[str, Any] = {name: values[name] or None for name in fields}
    if "day_lock_hour" in fields:
        body["day_lock_hour"] = whole_number(values["day_lock_hour"])
    return body


async def facilities(request: Request, page: Page) -> list[dict[str, Any]]:
    found = await upstream.get_json(request, page.user, SERVICE, "facilities", {"limit": 1000})
    return sorted(listed(found), key=lambda f: (not f.get("active", True), str(f.get("code"))))


@router.get("/plant")
async def facilities_page(request: Request) -> Response:
    page = await page_user(request, Action.DOWNTIME_READ)
    return await _list_page(request, page, {})


async def _list_page(
    request: Request, page: Page, context: Mapping[str, Any], status_code: int = 200
) -> Response:
    values: dict[str, Any] = {
        "facilities": await facilities(request, page),
        "can_manage": can(page, Action.PLANT_MANAGE),
        "zones": time_zones(),
        "values": {"timezone": page.timezone},
        "errors": {},
        "error": None,
        **done(request),
        **context,
    }
    return render(request, page, "plant/facilities.html", values, status_code=status_code)


@router.post("/plant/facilities/new")
async def add_facility(request: Request) -> Response:
    page = await page_user(request, Action.PLANT_MANAGE)
    form = await request.form()
    values = {name: text(form, name, 200) for name in NEW_FIELDS}
    try:
        await send(request, page, "POST", "facilities", facility_body(values, NEW_FIELDS))
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        errors, general = split_errors(problem, set(NEW_FIELDS))
        context = {"values": values, "errors": errors, "error": general}
        return await _list_page(request, page, context, upstream.form_status(request, problem))
    return RedirectResponse(
        f"/plant/facilities/{quote(values['code'], safe='')}?done=added", status_code=303
    )


@router.get("/plant/facilities/{code}")
async def facility_page(code: str, request: Request) -> Response:
    page = await page_user(request, Action.DOWNTIME_READ)
    facility = await facility_of(request, page, code)
    values = {name: _shown(facility.get(name)) for name in EDIT_FIELDS}
    return _facility_page(request, page, facility, {"values": values})


def _shown(value: Any) -> str:
    return "" if value is None else str(value)


def _facility_page(
    request: Request,
    page: Page,
    facility: Mapping[str, Any],
    context: Mapping[str, Any],
    status_code: int = 200,
) -> Response:
    values: dict[str, Any] = {
        "facility": facility,
        "tab": "facility",
        "can_manage": can(page, Action.PLANT_MANAGE),
        "zones": time_zones(),
        "errors": {},
        "error": None,
        **done(request),
        **context,
    }
    return render(request, page, "plant/facility.html", values, status_code=status_code)


@router.post("/plant/facilities/{code}")
async def edit_facility(code: str, request: Request) -> Response:
    page = await page_user(request, Action.PLANT_MANAGE)
    facility = await facility_of(request, page, code)
    form = await request.form()
    values = {name: text(form, name, 200) for name in EDIT_FIELDS}
    try:
        await send(
            request,
            page,
            "PATCH",
            f"facilities/{seg(facility['code'])}",
            facility_body(values, EDIT_FIELDS),
        )
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        errors, general = split_errors(problem, set(EDIT_FIELDS))
        context = {"values": values, "errors": errors, "error": general}
        return _facility_page(
            request, page, facility, context, upstream.form_status(request, problem)
        )
    return RedirectResponse(
        f"/plant/facilities/{quote(facility['code'], safe='')}?done=saved", status_code=303
    )


@router.post("/plant/facilities/{code}/deactivate")
async def deactivate_facility(code: str, request: Request) -> Response:
    return await _set_active(request, code, "deactivate")


@router.post("/plant/facilities/{code}/reactivate")
async def reactivate_facility(code: str, request: Request) -> Response:
    return await _set_active(request, code, "reactivate")


async def _set_active(request: Request, code: str, change: str) -> Response:
    page = await page_user(request, Action.PLANT_MANAGE)
    facility = await facility_of(request, page, code[:MAX_CODE])
    try:
        await send(request, page, "POST", f"facilities/{seg(facility['code'])}/{change}")
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        values = {name: _shown(facility.get(name)) for name in EDIT_FIELDS}
        context = {"values": values, "error": str(problem.detail)}
        return _facility_page(
            request, page, facility, context, upstream.form_status(request, problem)
        )
    return RedirectResponse(
        f"/plant/facilities/{quote(facility['code'], safe='')}?done={change}d", status_code=303
    )
