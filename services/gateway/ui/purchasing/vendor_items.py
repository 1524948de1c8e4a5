"""The vendor page: a vendor's details and the items it sells (price, MOQ, order multiple,
lead time, preferred), with add, change, make preferred, deactivate and reactivate for buyers.

Every change goes to the purchasing service as the signed-in user (it checks the role and the
input and answers in the user's language); the buttons are only drawn for a role that may use
them. A refused form is drawn again with each message beside its field, and nothing is saved.
The items table exports to XLSX like every list (`/vendors/<code>/items.xlsx`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from services.gateway.ui import upstream
from services.gateway.ui.forms import plain
from services.gateway.ui.frame import Page, page_user, render
from services.gateway.ui.tables import Column, Table
from services.gateway.ui.upstream import UpstreamProblem
from shared.auth.permissions import Action, allowed
from shared.i18n import Text, _
from shared.web.problems import NotFound, PortalError

router = APIRouter()

SERVICE = "purchasing"
# A vendor's items on one page: a vendor sells a few hundred at most.
PAGE_LIMIT = 1000
TERMS = ("vendor_part_number", "unit_cost", "moq", "order_multiple", "lead_time_days")
NEW_FIELDS = ("sku", *TERMS)
# Terms a vendor item may have or not: a blank field sends null.
OPTIONAL = frozenset({"vendor_part_number", "order_multiple"})
# What a vendor code and a SKU may be (the services refuse anything else when they are made).
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]*")

STATE_LABELS: dict[str, Text] = {
    "preferred": _("Preferred"),
    "active": _("Active"),
    "inactive": _("Inactive"),
}

VENDOR_ITEMS = Table(
    name="vendor-items",
    title=_("Vendor items"),
    service=SERVICE,
    path="vendor-items",  # per vendor: see `_items_table`
    columns=(
        Column("sku", _("Item SKU"), sort="sku"),
        Column("item_name", _("Item"), sort="item_name"),
        Column("vendor_part_number", _("Vendor part number")),
        Column("unit_cost", _("Unit cost"), kind="money", sort="unit_cost"),
        Column("moq", _("Minimum order"), kind="number", sort="moq"),
        Column("order_multiple", _("Order multiple"), kind="number"),
        Column("lead_time_days", _("Lead time (days)"), kind="number", sort="lead_time_days"),
        Column("preferred", _("Preferred"), sort="preferred"),
        Column("active", _("Active"), sort="active"),
    ),
    default_sort="sku",
)


def _items_table(code: str) -> Table:
    return dataclasses.replace(VENDOR_ITEMS, path=f"{_api_path(code)}/items")


def _vendor_path(code: str) -> str:
    return f"/{_api_path(code)}"


def _api_path(code: str) -> str:
    return f"vendors/{_segment(code)}"


def _item_path(code: str, sku: str) -> str:
    return f"{_api_path(code)}/items/{_segment(sku)}"


def _segment(value: str) -> str:
    """A vendor code or SKU as one path segment. One that no vendor or item can have ('..',
    which would climb a level of the service's path) names nothing here."""
    if CODE.fullmatch(value) is None:
        raise NotFound(_("Nothing is known by {value}.", value=value[:64]), field="code")
    return quote(value, safe="")


# --- the vendor page ----------------------------------------------------------------------------


@router.get("/vendors/{code}")
async def vendor(code: str, request: Request) -> Response:
    page = await page_user(request, Action.VENDORS_READ)
    return await _vendor_page(request, page, code)


@router.get("/vendors/{code}/items.xlsx")
async def vendor_items_export(code: str, request: Request) -> Response:
    page = await page_user(request, Action.VENDORS_READ)
    return await _items_table(code).export(request, page)


async def _vendor_page(
    request: Request,
    page: Page,
    code: str,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    error: str | Text | None = None,
    status_code: int = 200,
) -> Response:
    where = _api_path(code)
    shown = await upstream.get_json(request, page.user, SERVICE, where)
    items = await upstream.get_json(
        request, page.user, SERVICE, f"{where}/items", {"limit": PAGE_LIMIT, "sort": "sku"}
    )
    can_write = allowed(page.user.roles, Action.VENDORS_WRITE)
    return render(
        request,
        page,
        "purchasing/vendor_detail.html",
        {
            "vendor": shown,
            "items": items["items"],
            "total": items["total"],
            "can_write": can_write,
            "known_items": await _known_items(request, page) if can_write else [],
            "values": values or {"moq": "1", "lead_time_days": "0"},
            "errors": errors or {},
            "error": error,
            "state_labels": STATE_LABELS,
            "notice": _notice(request),
            "base": _vendor_path(code),
        },
        status_code=status_code,
    )


def _notice(request: Request) -> Text | None:
    done = request.query_params.get("done")
    sku = request.query_params.get("sku", "")
    notices = {
        "added": _("Item {sku} was added to this vendor.", sku=sku),
        "changed": _("The terms of item {sku} were saved.", sku=sku),
        "preferred": _("This vendor is now the preferred vendor of item {sku}.", sku=sku),
        "deactivated": _("Item {sku} is no longer bought from this vendor.", sku=sku),
        "reactivated": _("Item {sku} can be bought from this vendor again.", sku=sku),
    }
    return notices.get(done or "")


async def _known_items(request: Request, page: Page) -> list[dict[str, Any]]:
    """The items purchasing can order, for the SKU field's suggestions; none if refused."""
    try:
        result = await upstream.get_json(request, page.user, SERVICE, "items", {"limit": 1000})
    except PortalError:
        return []
    items: list[dict[str, Any]] = result["items"]
    return items


# --- add -----------------------------------------------------------------------------------------


@router.post("/vendors/{code}/items")
async def add_vendor_item(code: str, request: Request) -> Response:
    page = await page_user(request, Action.VENDORS_WRITE)
    form = await request.form()
    values = {name: _text(form, name) for name in NEW_FIELDS}
    preferred = bool(_text(form, "preferred"))
    body: dict[str, Any] = {**_terms(values), "sku": values["sku"], "preferred": preferred}
    for name in ("moq", "lead_time_days"):  # blank: the service's default (1, and 0 days)
        if not values[name]:
            body.pop(name)
    try:
        upstream.checked(
            await upstream.call(
                request, page.user, SERVICE, "POST", f"{_api_path(code)}/items", json=body
            )
        )
    except UpstreamProblem as problem:
        errors, general = _split(problem, set(NEW_FIELDS) | {"preferred"})
        values = {**values, "preferred": "on" if preferred else ""}
        return await _vendor_page(
            request,
            page,
            code,
            values=values,
            errors=errors,
            error=general,
            status_code=upstream.form_status(request, problem),
        )
    return _back(code, "added", values["sku"])


# --- change --------------------------------------------------------------------------------------


@router.get("/vendors/{code}/items/{sku}/edit")
async def edit_vendor_item(code: str, sku: str, request: Request) -> Response:
    page = await page_user(request, Action.VENDORS_WRITE)
    item = await upstream.get_json(request, page.user, SERVICE, _item_path(code, sku))
    values = {name: plain(item[name]) for name in TERMS}
    return _edit_page(request, page, code, item, values, {}, None)


@router.post("/vendors/{code}/items/{sku}/edit")
async def change_vendor_item(code: str, sku: str, request: Request) -> Response:
    page = await page_user(request, Action.VENDORS_WRITE)
    form = await request.form()
    values = {name: _text(form, name) for name in TERMS}
    try:
        upstream.checked(
            await upstream.call(
                request, page.user, SERVICE, "PATCH", _item_path(code, sku), json=_terms(values)
            )
        )
    except UpstreamProblem as problem:
        item = await upstream.get_json(request, page.user, SERVICE, _item_path(code, sku))
        errors, general = _split(problem, set(TERMS))
        return _edit_page(
            request,
            page,
            code,
            item,
            values,
            errors,
            general,
            upstream.form_status(request, problem),
        )
    return _back(code, "changed", sku)


def _edit_page(
    request: Request,
    page: Page,
    code: str,
    item: Mapping[str, Any],
    values: Mapping[str, str],
    errors: Mapping[str, str],
    error: str | Text | None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        page,
        "purchasing/vendor_item_edit.html",
        {
            "item": item,
            "values": values,
            "errors": errors,
            "error": error,
            "base": _vendor_path(code),
            "action": f"/{_item_path(code, item['sku'])}/edit",
        },
        status_code=status_code,
    )


# --- make preferred, deactivate, reactivate ------------------------------------------------------


@router.post("/vendors/{code}/items/{sku}/preferred")
async def make_preferred(code: str, sku: str, request: Request) -> Response:
    return await _row_action(
        request, code, sku, "PATCH", _item_path(code, sku), {"preferred": True}, "preferred"
    )


@router.post("/vendors/{code}/items/{sku}/deactivate")
async def deactivate(code: str, sku: str, request: Request) -> Response:
    path = f"{_item_path(code, sku)}/deactivate"
    return await _row_action(request, code, sku, "POST", path, None, "deactivated")


@router.post("/vendors/{code}/items/{sku}/reactivate")
async def reactivate(code: str, sku: str, request: Request) -> Response:
    path = f"{_item_path(code, sku)}/reactivate"
    return await _row_action(request, code, sku, "POST", path, None, "reactivated")


async def _row_action(
    request: Request,
    code: str,
    sku: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    done: str,
) -> Response:
    """One button on a row: done, back to the vendor page; refused, the page with why."""
    page = await page_user(request, Action.VENDORS_WRITE)
    try:
        upstream.checked(await upstream.call(request, page.user, SERVICE, method, path, json=body))
    except UpstreamProblem as problem:
        return await _vendor_page(
            request,
            page,
            code,
            error=problem.detail,
            status_code=upstream.form_status(request, problem),
        )
    return _back(code, done, sku)


# --- helpers -------------------------------------------------------------------------------------


def _back(code: str, done: str, sku: str) -> RedirectResponse:
    return RedirectResponse(
        f"{_vendor_path(code)}?done={done}&sku={quote(sku, safe='')}", status_code=303
    )


def _terms(values: Mapping[str, str]) -> dict[str, Any]:
    """The terms as typed: a blank optional term is null; the rest go as text, for the
    service to read or refuse beside the field."""
    return {
        name: (values[name] or None) if name in OPTIONAL else values[name]
        for name in TERMS
        if name in values
    }


def _split(problem: UpstreamProblem, fields: set[str]) -> tuple[dict[str, str], str | None]:
    """The problem's messages by form field, and the rest as one message above the form."""
    errors: dict[str, str] = {}
    rest: list[str] = []
    for name, message in problem.field_errors.items():
        if name in fields:
            errors[name] = message
        else:
            rest.append(message)
    general = " ".join(rest) if rest else None
    if not errors and general is None:
        general = str(problem.detail)
    return errors, general


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""
