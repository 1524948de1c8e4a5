"""A facility's lines with their capabilities (line type, tooling type, allergen status, speed
modifier), and each line's capacity: units per shift for an item, a product family or any
product, each from its effective date.

Lines are the admin's (`downtime.plant.manage`); capacity is the planner's and the supervisor's
(`downtime.capacity.manage`). Each line links to its floor tablet page (/floor/lines/<code>).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from services.gateway.ui import upstream
from services.gateway.ui.frame import Page, page_user, render
from services.gateway.ui.plant.common import (
    ALLERGEN_LABELS,
    MAX_LIST,
    SERVICE,
    can,
    done,
    facility_of,
    line_of,
    listed,
    plain,
    refusal,
    seg,
    send,
    split_errors,
    text,
)
from services.gateway.ui.upstream import UpstreamProblem
from shared.auth.permissions import Action
from shared.i18n import _
from shared.web.problems import NotFound

router = APIRouter()

LINE_FIELDS = ("name", "line_type", "tooling_type", "allergen_status", "speed_modifier")
NEW_LINE_FIELDS = ("code", *LINE_FIELDS)
CAPACITY_FIELDS = ("sku", "family", "units_per_shift", "effective_from")
CAPACITY_EDIT_FIELDS = ("units_per_shift", "effective_from")


def _line_values(line: Mapping[str, Any]) -> dict[str, str]:
    values = {name: "" if line.get(name) is None else str(line[name]) for name in LINE_FIELDS}
    values["speed_modifier"] = plain(line.get("speed_modifier"))
    return values


def _line_body(values: Mapping[str, str], fields: tuple[str, ...]) -> dict[str, Any]:
    body: dict[str, Any] = {name: values[name] or None for name in fields}
    if "code" in fields:
        # A new line left without them takes the service's defaults: handles allergens, speed 1.
        for name in ("allergen_status", "speed_modifier"):
            if body[name] is None:
                body.pop(name)
    return body


# --- the lines of a facility ---------------------------------------------------------------


@router.get("/plant/facilities/{code}/lines")
async def lines_page(code: str, request: Request) -> Response:
    page = await page_user(request, Action.DOWNTIME_READ)
    facility = await facility_of(request, page, code)
    return await _lines_page(request, page, facility, {})


async def _lines_page(
    request: Request,
    page: Page,
    facility: Mapping[str, Any],
    context: Mapping[str, Any],
    status_code: int = 200,
) -> Response:
    found = await upstream.get_json(
        request,
        page.user,
        SERVICE,
        "lines",
        {"facility_code": facility["code"], "limit": MAX_LIST},
    )
    lines = sorted(listed(found), key=lambda ln: (not ln.get("active", True), str(ln.get("code"))))
    values: dict[str, Any] = {
        "facility": facility,
        "tab": "lines",
        "lines": lines,
        "allergen_labels": ALLERGEN_LABELS,
        "allergen_options": list(ALLERGEN_LABELS.items()),
        "can_manage": can(page, Action.PLANT_MANAGE),
        "values": {"allergen_status": "handles_allergens", "speed_modifier": "1"},
        "errors": {},
        "error": None,
        "row_error": None,
        **done(request),
        **context,
    }
    return render(request, page, "plant/lines.html", values, status_code=status_code)


@router.post("/plant/facilities/{code}/lines/new")
async def add_line(code: str, request: Request) -> Response:
    page = await page_user(request, Action.PLANT_MANAGE)
    facility = await facility_of(request, page, code)
    form = await request.form()
    values = {name: text(form, name, 200) for name in NEW_LINE_FIELDS}
    body = {**_line_body(values, NEW_LINE_FIELDS), "facility_code": facility["code"]}
    try:
        await send(request, page, "POST", "lines", body)
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        errors, general = split_errors(problem, set(NEW_LINE_FIELDS))
        context = {"values": values, "errors": errors, "error": general}
        status = upstream.form_status(request, problem)
        return await _lines_page(request, page, facility, context, status)
    target = quote(facility["code"], safe="")
    return RedirectResponse(
        f"/plant/facilities/{target}/lines?done=added&code={quote(values['code'])}",
        status_code=303,
    )


# --- one line ------------------------------------------------------------------------------


@router.get("/plant/lines/{code}")
async def line_page(code: str, request: Request) -> Response:
    page = await page_user(request, Action.PLANT_MANAGE)
    line = await line_of(request, page, code)
    facility = await facility_of(request, page, str(line.get("facility_code") or ""))
    return _line_page(request, page, facility, line, {"values": _line_values(line)})


def _line_page(
    request: Request,
    page: Page,
    facility: Mapping[str, Any],
    line: Mapping[str, Any],
    context: Mapping[str, Any],
    status_code: int = 200,
) -> Response:
    values: dict[str, Any] = {
        "facility": facility,
        "tab": "lines",
        "line": line,
        "allergen_options": list(ALLERGEN_LABELS.items()),
        "errors": {},
        "error": None,
        **context,
    }
    return render(request, page, "plant/line.html", values, status_code=status_code)


@router.post("/plant/lines/{code}")
async def edit_line(code: str, request: Request) -> Response:
    page = await page_user(request, Action.PLANT_MANAGE)
    line = await line_of(request, page, code)
    form = await request.form()
    values = {name: text(form, name, 200) for name in LINE_FIELDS}
    try:
        body = _line_body(values, LINE_FIELDS)
        await send(request, page, "PATCH", f"lines/{seg(line['code'])}", body)
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        facility = await facility_of(request, page, str(line.get("facility_code") or ""))
        errors, general = split_errors(problem, set(LINE_FIELDS))
        context = {"values": values, "errors": errors, "error": general}
        status = upstream.form_status(request, problem)
        return _line_page(request, page, facility, line, context, status)
    return _back_to_lines(line, "saved")


@router.post("/plant/lines/{code}/deactivate")
async def deactivate_line(code: str, request: Request) -> Response:
    return await _set_line_active(request, code, "deactivate")


@router.post("/plant/lines/{code}/reactivate")
async def reactivate_line(code: str, request: Request) -> Response:
    return await _set_line_active(request, code, "reactivate")


async def _set_line_active(request: Request, code: str, change: str) -> Response:
    page = await page_user(request, Action.PLANT_MANAGE)
    line = await line_of(request, page, code)
    try:
        await send(request, page, "POST", f"lines/{seg(line['code'])}/{change}")
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        facility = await facility_of(request, page, str(line.get("facility_code") or ""))
        context = {"row_error": (line["code"], str(problem.detail))}
        status = upstream.form_status(request, problem)
        return await _lines_page(request, page, facility, context, status)
    return _back_to_lines(line, f"{change}d")


def _back_to_lines(line: Mapping[str, Any], what: str) -> Response:
    facility = quote(str(line.get("facility_code") or ""), safe="")
    return RedirectResponse(
        f"/plant/facilities/{facility}/lines?done={what}&code={quote(str(line['code']))}",
        status_code=303,
    )


# --- capacity of a line --------------------------------------------------------------------


async def _capacities(request: Request, page: Page, line_code: str) -> list[dict[str, Any]]:
    found = await upstream.get_json(
        request, page.user, SERVICE, f"lines/{seg(line_code)}/capacities", {"limit": MAX_LIST}
    )
    rows = listed(found)
    for row in rows:
        row["units_shown"] = plain(row.get("units_per_shift"))
    # Active first; items, then families, then any product; within one the newest date first.
    rows.sort(key=lambda r: str(r.get("effective_from") or ""), reverse=True)
    rows.sort(
        key=lambda r: (
            not r.get("active", True),
            r.get("sku") is None,
            r.get("family") is None,
            str(r.get("sku") or r.get("family") or ""),
        )
    )
    return rows


@router.get("/plant/lines/{code}/capacity")
async def capacity_page(code: str, request: Request) -> Response:
    page = await page_user(request, Action.DOWNTIME_READ)
    line = await line_of(request, page, code)
    return await _capacity_page(request, page, line, {})


async def _capacity_page(
    request: Request,
    page: Page,
    line: Mapping[str, Any],
    context: Mapping[str, Any],
    status_code: int = 200,
) -> Response:
    values: dict[str, Any] = {
        "facility": await facility_of(request, page, str(line.get("facility_code") or "")),
        "tab": "lines",
        "line": line,
        "rows": await _capacities(request, page, str(line["code"])),
        "can_manage": can(page, Action.CAPACITY_MANAGE),
        "values": {},
        "errors": {},
        "error": None,
        "row_error": None,
        **done(request),
        **context,
    }
    return render(request, page, "plant/capacity.html", values, status_code=status_code)


@router.post("/plant/lines/{code}/capacity/new")
async def add_capacity(code: str, request: Request) -> Response:
    page = await page_user(request, Action.CAPACITY_MANAGE)
    line = await line_of(request, page, code)
    form = await request.form()
    values = {name: text(form, name, 200) for name in CAPACITY_FIELDS}
    body = {name: values[name] or None for name in CAPACITY_FIELDS}
    try:
        await send(request, page, "POST", f"lines/{seg(line['code'])}/capacities", body)
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        errors, general = split_errors(problem, set(CAPACITY_FIELDS))
        context = {"values": values, "errors": errors, "error": general}
        status = upstream.form_status(request, problem)
        return await _capacity_page(request, page, line, context, status)
    return _back_to_capacity(line, "added")


def _capacity_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit() and len(raw) < 12):
        raise NotFound(_("There is no capacity row {id}.", id=raw[:20]))
    return int(raw)


async def _capacity_row(
    request: Request, page: Page, line: Mapping[str, Any], raw_id: str
) -> dict[str, Any]:
    """The line's capacity row `raw_id` (the service lists a line's rows; there is no GET of
    one)."""
    wanted = _capacity_id(raw_id)
    for row in await _capacities(request, page, str(line["code"])):
        if str(row.get("id")) == str(wanted):
            return row
    raise NotFound(_("There is no capacity row {id}.", id=wanted))


@router.get("/plant/lines/{code}/capacity/{row_id}")
async def capacity_row_page(code: str, row_id: str, request: Request) -> Response:
    page = await page_user(request, Action.CAPACITY_MANAGE)
    line = await line_of(request, page, code)
    row = await _capacity_row(request, page, line, row_id)
    values = {"units_per_shift": row["units_shown"], "effective_from": row.get("effective_from")}
    return await _capacity_row_page(request, page, line, row, {"values": values})


async def _capacity_row_page(
    request: Request,
    page: Page,
    line: Mapping[str, Any],
    row: Mapping[str, Any],
    context: Mapping[str, Any],
    status_code: int = 200,
) -> Response:
    values: dict[str, Any] = {
        "facility": await facility_of(request, page, str(line.get("facility_code") or "")),
        "tab": "lines",
        "line": line,
        "row": row,
        "errors": {},
        "error": None,
        **context,
    }
    return render(request, page, "plant/capacity_row.html", values, status_code=status_code)


@router.post("/plant/lines/{code}/capacity/{row_id}")
async def edit_capacity(code: str, row_id: str, request: Request) -> Response:
    page = await page_user(request, Action.CAPACITY_MANAGE)
    line = await line_of(request, page, code)
    row = await _capacity_row(request, page, line, row_id)
    form = await request.form()
    values = {name: text(form, name, 200) for name in CAPACITY_EDIT_FIELDS}
    body = {name: values[name] or None for name in CAPACITY_EDIT_FIELDS}
    try:
        await send(request, page, "PATCH", f"capacities/{row['id']}", body)
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        errors, general = split_errors(problem, set(CAPACITY_EDIT_FIELDS))
        context = {"values": values, "errors": errors, "error": general}
        status = upstream.form_status(request, problem)
        return await _capacity_row_page(request, page, line, row, context, status)
    return _back_to_capacity(line, "saved")


@router.post("/plant/lines/{code}/capacity/{row_id}/deactivate")
async def deactivate_capacity(code: str, row_id: str, request: Request) -> Response:
    page = await page_user(request, Action.CAPACITY_MANAGE)
    line = await line_of(request, page, code)
    row = await _capacity_row(request, page, line, row_id)
    try:
        await send(request, page, "POST", f"capacities/{row['id']}/deactivate")
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        context = {"row_error": (row["id"], str(problem.detail))}
        status = upstream.form_status(request, problem)
        return await _capacity_page(request, page, line, context, status)
    return _back_to_capacity(line, "deactivated")


def _back_to_capacity(line: Mapping[str, Any], what: str) -> Response:
    target = quote(str(line["code"]), safe="")
    return RedirectResponse(f"/plant/lines/{target}/capacity?done={what}", status_code=303)
