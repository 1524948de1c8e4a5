"""A facility's shifts in plant-local wall-clock time: start, end, and the weekdays each starts
on (Monday to Sunday checkboxes, sent as ISO weekday digits, '12345'). An end at or before the
start crosses midnight, and the list says so.

Shifts are the admin's (`downtime.plant.manage`). The service refuses a shift that overlaps
another of the facility on any weekday (409 naming the other shift); the form shows that
message and keeps what was typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from services.gateway.ui import upstream
from services.gateway.ui.frame import Page, page_user, render
from services.gateway.ui.plant.common import (
    MAX_CODE,
    MAX_LIST,
    SERVICE,
    can,
    clock,
    done,
    facility_of,
    listed,
    refusal,
    seg,
    send,
    split_errors,
    text,
)
from services.gateway.ui.upstream import UpstreamProblem
from shared.auth.permissions import Action
from shared.i18n import Text, _
from shared.web.problems import NotFound

router = APIRouter()

# ISO weekday digit -> its short name and its whole name (for the screen reader).
WEEKDAYS: tuple[tuple[str, Text, Text], ...] = (
    ("1", _("Mon"), _("Monday")),
    ("2", _("Tue"), _("Tuesday")),
    ("3", _("Wed"), _("Wednesday")),
    ("4", _("Thu"), _("Thursday")),
    ("5", _("Fri"), _("Friday")),
    ("6", _("Sat"), _("Saturday")),
    ("7", _("Sun"), _("Sunday")),
)
SHIFT_FIELDS = ("name", "start_time", "end_time", "days_of_week")
NEW_SHIFT_FIELDS = ("code", *SHIFT_FIELDS)


def crosses_midnight(start: str, end: str) -> bool:
    """A shift whose end is at or before its start ends the next day ('22:00'-'06:00')."""
    return bool(start and end) and clock(end) <= clock(start)


def weekdays_of(form: FormData) -> str:
    """The checked weekdays as ISO digits in order: Monday, Wednesday -> '13'."""
    chosen = {value for value in form.getlist("days_of_week") if isinstance(value, str)}
    return "".join(digit for digit, _short, _name in WEEKDAYS if digit in chosen)


def _shift_body(values: Mapping[str, str], fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: values[name] or None for name in fields}


def _values_of(shift: Mapping[str, Any]) -> dict[str, str]:
    return {
        "name": str(shift.get("name") or ""),
        "start_time": clock(shift.get("start_time")),
        "end_time": clock(shift.get("end_time")),
        "days_of_week": str(shift.get("days_of_week") or ""),
    }


async def _shifts(request: Request, page: Page, facility_code: str) -> list[dict[str, Any]]:
    found = await upstream.get_json(
        request,
        page.user,
        SERVICE,
        f"facilities/{seg(facility_code)}/shifts",
        {"limit": MAX_LIST},
    )
    shifts = listed(found)
    for shift in shifts:
        shift.update(
            start_shown=clock(shift.get("start_time")),
            end_shown=clock(shift.get("end_time")),
            crosses_midnight=crosses_midnight(
                str(shift.get("start_time") or ""), str(shift.get("end_time") or "")
            ),
        )
    return sorted(
        shifts, key=lambda s: (not s.get("active", True), s["start_shown"], str(s.get("code")))
    )


def _common(facility: Mapping[str, Any]) -> dict[str, Any]:
    return {"facility": facility, "tab": "shifts", "weekdays": WEEKDAYS, "errors": {}}


@router.get("/plant/facilities/{code}/shifts")
async def shifts_page(code: str, request: Request) -> Response:
    page = await page_user(request, Action.DOWNTIME_READ)
    facility = await facility_of(request, page, code)
    return await _shifts_page(request, page, facility, {})


async def _shifts_page(
    request: Request,
    page: Page,
    facility: Mapping[str, Any],
    context: Mapping[str, Any],
    status_code: int = 200,
) -> Response:
    values: dict[str, Any] = {
        **_common(facility),
        "shifts": await _shifts(request, page, str(facility["code"])),
        "can_manage": can(page, Action.PLANT_MANAGE),
        "values": {"days_of_week": "12345"},
        "error": None,
        "row_error": None,
        **done(request),
        **context,
    }
    return render(request, page, "plant/shifts.html", values, status_code=status_code)


@router.post("/plant/facilities/{code}/shifts/new")
async def add_shift(code: str, request: Request) -> Response:
    page = await page_user(request, Action.PLANT_MANAGE)
    facility = await facility_of(request, page, code)
    form = await request.form()
    values = {name: text(form, name, 200) for name in NEW_SHIFT_FIELDS}
    values["days_of_week"] = weekdays_of(form)
    path = f"facilities/{seg(facility['code'])}/shifts"
    try:
        await send(request, page, "POST", path, _shift_body(values, NEW_SHIFT_FIELDS))
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        errors, general = split_errors(problem, set(NEW_SHIFT_FIELDS))
        context = {"values": values, "errors": errors, "error": general}
        status = upstream.form_status(request, problem)
        return await _shifts_page(request, page, facility, context, status)
    return _back_to_shifts(facility, "added", values["code"])


async def _shift(
    request: Request, page: Page, facility: Mapping[str, Any], shift_code: str
) -> dict[str, Any]:
    """One shift of the facility (the service lists them; there is no GET of one)."""
    for shift in await _shifts(request, page, str(facility["code"])):
        if shift.get("code") == shift_code:
            return shift
    raise NotFound(
        _(
            "Facility {facility} has no shift {code}.",
            facility=facility["code"],
            code=shift_code[:MAX_CODE],
        )
    )


@router.get("/plant/facilities/{code}/shifts/{shift_code}")
async def shift_page(code: str, shift_code: str, request: Request) -> Response:
    page = await page_user(request, Action.PLANT_MANAGE)
    facility = await facility_of(request, page, code)
    shift = await _shift(request, page, facility, shift_code)
    return _shift_page(request, page, facility, shift, {"values": _values_of(shift)})


def _shift_page(
    request: Request,
    page: Page,
    facility: Mapping[str, Any],
    shift: Mapping[str, Any],
    context: Mapping[str, Any],
    status_code: int = 200,
) -> Response:
    values: dict[str, Any] = {**_common(facility), "shift": shift, "error": None, **context}
    return render(request, page, "plant/shift.html", values, status_code=status_code)


@router.post("/plant/facilities/{code}/shifts/{shift_code}")
async def edit_shift(code: str, shift_code: str, request: Request) -> Response:
    page = await page_user(request, Action.PLANT_MANAGE)
    facility = await facility_of(request, page, code)
    shift = await _shift(request, page, facility, shift_code)
    form = await request.form()
    values = {name: text(form, name, 200) for name in SHIFT_FIELDS}
    values["days_of_week"] = weekdays_of(form)
    path = f"facilities/{seg(facility['code'])}/shifts/{seg(shift['code'])}"
    try:
        await send(request, page, "PATCH", path, _shift_body(values, SHIFT_FIELDS))
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        errors, general = split_errors(problem, set(SHIFT_FIELDS))
        context = {"values": values, "errors": errors, "error": general}
        status = upstream.form_status(request, problem)
        return _shift_page(request, page, facility, shift, context, status)
    return _back_to_shifts(facility, "saved", str(shift["code"]))


@router.post("/plant/facilities/{code}/shifts/{shift_code}/deactivate")
async def deactivate_shift(code: str, shift_code: str, request: Request) -> Response:
    return await _set_shift_active(request, code, shift_code, "deactivate")


@router.post("/plant/facilities/{code}/shifts/{shift_code}/reactivate")
async def reactivate_shift(code: str, shift_code: str, request: Request) -> Response:
    return await _set_shift_active(request, code, shift_code, "reactivate")


async def _set_shift_active(request: Request, code: str, shift_code: str, change: str) -> Response:
    page = await page_user(request, Action.PLANT_MANAGE)
    facility = await facility_of(request, page, code)
    shift = await _shift(request, page, facility, shift_code)
    path = f"facilities/{seg(facility['code'])}/shifts/{seg(shift['code'])}/{change}"
    try:
        await send(request, page, "POST", path)
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        # A shift reactivated over another one is refused like a new one (409, the other named).
        context = {"row_error": (shift["code"], str(problem.detail))}
        status = upstream.form_status(request, problem)
        return await _shifts_page(request, page, facility, context, status)
    return _back_to_shifts(facility, f"{change}d", str(shift["code"]))


def _back_to_shifts(facility: Mapping[str, Any], what: str, code: str) -> Response:
    target = quote(str(facility["code"]), safe="")
    return RedirectResponse(
        f"/plant/facilities/{target}/shifts?done={what}&code={quote(code)}", status_code=303
    )
