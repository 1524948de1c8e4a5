"""A facility's downtime reasons as the tree they are: each under its parent, indented, with its
colour swatch, planned or unplanned, active or not; a reason added under any node; a reason's
name, colour, planned flag and place among its siblings changed; deactivated, reactivated, or
deleted while nothing has used it (the service refuses otherwise and says why).

The service lists the reasons flat (`GET /reasons?facility_code=`); the tree is drawn from each
reason's parent. Changing reasons needs `downtime.reasons.manage` (supervisor, admin).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from services.gateway.ui import upstream
from services.gateway.ui.frame import Page, page_user, render
from services.gateway.ui.plant.common import (
    MAX_LIST,
    SERVICE,
    can,
    checked_on,
    done,
    facility_of,
    listed,
    query_text,
    refusal,
    seg,
    send,
    split_errors,
    text,
    whole_number,
)
from services.gateway.ui.upstream import UpstreamProblem
from shared.auth.permissions import Action
from shared.i18n import Text, _

router = APIRouter()

COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_COLOUR = "#4b5563"
REASON_FIELDS = ("name", "colour", "planned", "sort_order")
NEW_REASON_FIELDS = ("code", "parent_code", *REASON_FIELDS)


def tree_rows(reasons: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The reasons depth first, each after its parent, siblings by sort order then name; each
    with its `level` (1 for a top reason). A reason whose parent is not listed is a top one."""
    known = {r.get("code") for r in reasons}
    children: dict[Any, list[Mapping[str, Any]]] = {}
    for reason in reasons:
        parent = reason.get("parent_code")
        children.setdefault(parent if parent in known else None, []).append(reason)
    for siblings in children.values():
        siblings.sort(key=lambda r: (_order(r.get("sort_order")), str(r.get("name") or "")))
    rows: list[dict[str, Any]] = []
    seen: set[Any] = set()

    def walk(parent: Any, level: int) -> None:
        for reason in children.get(parent, []):
            code = reason.get("code")
            if code in seen:  # a loop in the data must not hang the page
                continue
            seen.add(code)
            rows.append({**reason, "level": level, "swatch": swatch(reason.get("colour"))})
            walk(code, level + 1)

    walk(None, 1)
    return rows


def parent_options(rows: Sequence[Mapping[str, Any]]) -> list[tuple[str, str | Text]]:
    """Where a new reason can go: at the top, or under any reason, indented as in the tree."""
    options: list[tuple[str, str | Text]] = [("", _("None: a top-level group"))]
    for row in rows:
        indent = "— " * (int(row.get("level") or 1) - 1)
        options.append((str(row["code"]), f"{indent}{row.get('name') or ''} ({row['code']})"))
    return options


def _order(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def swatch(colour: Any) -> str | None:
    """The colour as '#rrggbb' for the swatch and the colour input, None when it is not one."""
    shown = str(colour or "")
    return shown.lower() if COLOUR.match(shown) else None


def _reason_values(form: FormData, fields: Sequence[str]) -> dict[str, str]:
    values = {name: text(form, name, 200) for name in fields}
    values["planned"] = "on" if checked_on(form, "planned") else ""
    return values


def _reason_body(values: Mapping[str, str], fields: Sequence[str]) -> dict[str, Any]:
    body: dict[str, Any] = {name: values[name] or None for name in fields}
    body["planned"] = values["planned"] == "on"
    body["sort_order"] = whole_number(values["sort_order"])
    if body["sort_order"] is None:
        body.pop("sort_order")  # left empty: 0 for a new reason, unchanged for an edited one
    return body


async def _tree(request: Request, page: Page, facility_code: str) -> list[dict[str, Any]]:
    found = await upstream.get_json(
        request, page.user, SERVICE, "reasons", {"facility_code": facility_code, "limit": MAX_LIST}
    )
    return tree_rows(listed(found))


@router.get("/plant/facilities/{code}/reasons")
async def reasons_page(code: str, request: Request) -> Response:
    page = await page_user(request, Action.DOWNTIME_READ)
    facility = await facility_of(request, page, code)
    return await _reasons_page(request, page, facility, {})


async def _reasons_page(
    request: Request,
    page: Page,
    facility: Mapping[str, Any],
    context: Mapping[str, Any],
    status_code: int = 200,
) -> Response:
    rows = await _tree(request, page, str(facility["code"]))
    values: dict[str, Any] = {
        "facility": facility,
        "tab": "reasons",
        "rows": rows,
        "parent_options": parent_options(rows),
        "can_manage": can(page, Action.DOWNTIME_REASONS_MANAGE),
        "values": {
            "parent_code": query_text(request, "parent"),
            "colour": DEFAULT_COLOUR,
            "planned": "",
        },
        "errors": {},
        "error": None,
        "row_error": None,
        **done(request),
        **context,
    }
    return render(request, page, "plant/reasons.html", values, status_code=status_code)


@router.post("/plant/facilities/{code}/reasons/new")
async def add_reason(code: str, request: Request) -> Response:
    page = await page_user(request, Action.DOWNTIME_REASONS_MANAGE)
    facility = await facility_of(request, page, code)
    form = await request.form()
    values = _reason_values(form, NEW_REASON_FIELDS)
    body = {**_reason_body(values, NEW_REASON_FIELDS), "facility_code": facility["code"]}
    try:
        await send(request, page, "POST", "reasons", body)
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        errors, general = split_errors(problem, set(NEW_REASON_FIELDS))
        context = {"values": values, "errors": errors, "error": general}
        status = upstream.form_status(request, problem)
        return await _reasons_page(request, page, facility, context, status)
    return _back_to_tree(str(facility["code"]), "added", values["code"])


# --- one reason ----------------------------------------------------------------------------


async def _reason(request: Request, page: Page, code: str) -> dict[str, Any]:
    found: dict[str, Any] = await upstream.get_json(
        request, page.user, SERVICE, f"reasons/{seg(code)}"
    )
    return found


def _values_of(reason: Mapping[str, Any]) -> dict[str, str]:
    return {
        "name": str(reason.get("name") or ""),
        "colour": swatch(reason.get("colour")) or DEFAULT_COLOUR,
        "planned": "on" if reason.get("planned") else "",
        "sort_order": "" if reason.get("sort_order") is None else str(reason["sort_order"]),
    }


@router.get("/plant/reasons/{code}")
async def reason_page(code: str, request: Request) -> Response:
    page = await page_user(request, Action.DOWNTIME_REASONS_MANAGE)
    reason = await _reason(request, page, code)
    return await _reason_page(request, page, reason, {"values": _values_of(reason)})


async def _reason_page(
    request: Request,
    page: Page,
    reason: Mapping[str, Any],
    context: Mapping[str, Any],
    status_code: int = 200,
) -> Response:
    facility = await facility_of(request, page, str(reason.get("facility_code") or ""))
    values: dict[str, Any] = {
        "facility": facility,
        "tab": "reasons",
        "reason": {**reason, "swatch": swatch(reason.get("colour"))},
        "errors": {},
        "error": None,
        **context,
    }
    return render(request, page, "plant/reason.html", values, status_code=status_code)


@router.post("/plant/reasons/{code}")
async def edit_reason(code: str, request: Request) -> Response:
    page = await page_user(request, Action.DOWNTIME_REASONS_MANAGE)
    reason = await _reason(request, page, code)
    form = await request.form()
    values = _reason_values(form, REASON_FIELDS)
    body = _reason_body(values, REASON_FIELDS)
    try:
        await send(request, page, "PATCH", f"reasons/{seg(reason['code'])}", body)
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        errors, general = split_errors(problem, set(REASON_FIELDS))
        context = {"values": values, "errors": errors, "error": general}
        status = upstream.form_status(request, problem)
        return await _reason_page(request, page, reason, context, status)
    return _back_to_tree(str(reason.get("facility_code") or ""), "saved", str(reason["code"]))


@router.post("/plant/reasons/{code}/deactivate")
async def deactivate_reason(code: str, request: Request) -> Response:
    return await _change_reason(request, code, "POST", "deactivate", "deactivated")


@router.post("/plant/reasons/{code}/reactivate")
async def reactivate_reason(code: str, request: Request) -> Response:
    return await _change_reason(request, code, "POST", "reactivate", "reactivated")


@router.post("/plant/reasons/{code}/delete")
async def delete_reason(code: str, request: Request) -> Response:
    return await _change_reason(request, code, "DELETE", "", "deleted")


async def _change_reason(
    request: Request, code: str, method: str, change: str, what: str
) -> Response:
    """Deactivate, reactivate or delete one reason; a refusal (a reason in use cannot be
    deleted) is shown on the page the button was on: the tree, or the reason's own page."""
    page = await page_user(request, Action.DOWNTIME_REASONS_MANAGE)
    reason = await _reason(request, page, code)
    form = await request.form()
    path = f"reasons/{seg(reason['code'])}" + (f"/{change}" if change else "")
    try:
        await send(request, page, method, path)
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        status = upstream.form_status(request, problem)
        if text(form, "from") == "reason":
            context = {"values": _values_of(reason), "error": str(problem.detail)}
            return await _reason_page(request, page, reason, context, status)
        facility = await facility_of(request, page, str(reason.get("facility_code") or ""))
        context = {"row_error": (reason["code"], str(problem.detail))}
        return await _reasons_page(request, page, facility, context, status)
    return _back_to_tree(str(reason.get("facility_code") or ""), what, str(reason["code"]))


def _back_to_tree(facility_code: str, what: str, code: str) -> Response:
    target = quote(facility_code, safe="")
    return RedirectResponse(
        f"/plant/facilities/{target}/reasons?done={what}&code={quote(code)}", status_code=303
    )
