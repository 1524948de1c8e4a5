"""Customers: the list (everyone who sees sales orders), filtered, paged and exported like every
table; adding one, changing its name and priority (1 most important to 5), deactivating and
reactivating it (planners and supervisors: `mrp.sales_orders.write`).

A deactivated customer keeps its orders; mrp takes no new order for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from services.gateway.ui import upstream
from services.gateway.ui.frame import Page, page_user, render
from services.gateway.ui.sales.common import (
    MAX_CODE,
    PRIORITY_LABELS,
    SERVICE,
    can,
    done,
    refusal,
    seg,
    send,
    split_errors,
    text,
)
from services.gateway.ui.tables import Column, Filter, Table
from services.gateway.ui.upstream import UpstreamProblem
from shared.auth.permissions import Action
from shared.i18n import _

router = APIRouter()

NEW_FIELDS = ("code", "name", "priority")
EDIT_FIELDS = ("name", "priority")
ACTIVE_LABELS = {"true": _("Active"), "false": _("Inactive")}


async def _customers_with_status(
    request: Request, page: Page, params: dict[str, Any]
) -> dict[str, Any]:
    """mrp's list, each customer's active flag as the key of its label."""
    result: dict[str, Any] = await upstream.get_json(
        request, page.user, SERVICE, "customers", params
    )
    for customer in result.get("items", []):
        customer["active_label"] = "true" if customer.get("active") else "false"
    return result


CUSTOMERS = Table(
    name="customers",
    title=_("Customers"),
    service=SERVICE,
    path="customers",
    columns=(
        Column("code", _("Customer"), sort="code", link="/customers/{code}"),
        Column("name", _("Name"), sort="name"),
        Column("priority", _("Priority"), kind="number", sort="priority"),
        Column("active_label", _("Status"), kind="status", sort="active", labels=ACTIVE_LABELS),
    ),
    filters=(
        Filter("q", _("Code or name")),
        Filter("active", _("Status"), kind="select", options=tuple(ACTIVE_LABELS.items())),
    ),
    default_sort="code",
    loader=_customers_with_status,
)


def customer_body(values: Mapping[str, str], fields: tuple[str, ...]) -> dict[str, Any]:
    """The form as mrp takes it: a priority that is not a whole number goes on as typed, so the
    service names the field."""
    body: dict[str, Any] = {name: values[name] or None for name in fields}
    typed = values.get("priority", "")
    if typed.isascii() and typed.isdigit() and len(typed) < 4:
        body["priority"] = int(typed)
    return body


@router.get("/customers")
async def customers_page(request: Request) -> Response:
    page = await page_user(request, Action.SALES_ORDERS_READ)
    return await _list_page(request, page, {})


@router.get("/customers.xlsx")
async def export_customers(request: Request) -> Response:
    page = await page_user(request, Action.SALES_ORDERS_READ)
    return await CUSTOMERS.export(request, page)


async def _list_page(
    request: Request, page: Page, context: Mapping[str, Any], status_code: int = 200
) -> Response:
    values: dict[str, Any] = {
        "can_write": can(page, Action.SALES_ORDERS_WRITE),
        "priorities": list(PRIORITY_LABELS.items()),
        "values": {"priority": "3"},
        "errors": {},
        "error": None,
        "done": done(request),
        **context,
    }
    response = await CUSTOMERS.respond(request, page, "sales/customers.html", "/customers", values)
    if status_code != 200 and response.status_code == 200:
        response.status_code = status_code
    return response


@router.post("/customers")
async def add_customer(request: Request) -> Response:
    page = await page_user(request, Action.SALES_ORDERS_WRITE)
    form = await request.form()
    values = {name: text(form, name, 200) for name in NEW_FIELDS}
    try:
        await send(request, page, "POST", "customers", customer_body(values, NEW_FIELDS))
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        errors, general = split_errors(problem, set(NEW_FIELDS))
        context = {"values": values, "errors": errors, "error": general}
        return await _list_page(request, page, context, upstream.form_status(request, problem))
    return RedirectResponse(
        f"/customers/{quote(values['code'], safe='')}?done=added", status_code=303
    )


@router.get("/customers/{code}")
async def customer_page(code: str, request: Request) -> Response:
    page = await page_user(request, Action.SALES_ORDERS_READ)
    customer = await _customer(request, page, code)
    values = {"name": customer.get("name", ""), "priority": str(customer.get("priority", ""))}
    return _customer_page(request, page, customer, {"values": values})


async def _customer(request: Request, page: Page, code: str) -> dict[str, Any]:
    found: dict[str, Any] = await upstream.get_json(
        request, page.user, SERVICE, f"customers/{seg(code)}"
    )
    return found


def _customer_page(
    request: Request,
    page: Page,
    customer: Mapping[str, Any],
    context: Mapping[str, Any],
    status_code: int = 200,
) -> Response:
    values: dict[str, Any] = {
        "customer": customer,
        "can_write": can(page, Action.SALES_ORDERS_WRITE),
        "priorities": list(PRIORITY_LABELS.items()),
        "priority_labels": PRIORITY_LABELS,
        "errors": {},
        "error": None,
        "done": done(request),
        **context,
    }
    return render(request, page, "sales/customer.html", values, status_code=status_code)


@router.post("/customers/{code}")
async def edit_customer(code: str, request: Request) -> Response:
    page = await page_user(request, Action.SALES_ORDERS_WRITE)
    customer = await _customer(request, page, code)
    form = await request.form()
    values = {name: text(form, name, 200) for name in EDIT_FIELDS}
    try:
        await send(
            request,
            page,
            "PATCH",
            f"customers/{seg(customer['code'])}",
            customer_body(values, EDIT_FIELDS),
        )
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        errors, general = split_errors(problem, set(EDIT_FIELDS))
        context = {"values": values, "errors": errors, "error": general}
        return _customer_page(
            request, page, customer, context, upstream.form_status(request, problem)
        )
    return RedirectResponse(
        f"/customers/{quote(customer['code'], safe='')}?done=saved", status_code=303
    )


@router.post("/customers/{code}/deactivate")
async def deactivate_customer(code: str, request: Request) -> Response:
    return await _set_active(request, code, active=False)


@router.post("/customers/{code}/reactivate")
async def reactivate_customer(code: str, request: Request) -> Response:
    return await _set_active(request, code, active=True)


async def _set_active(request: Request, code: str, *, active: bool) -> Response:
    page = await page_user(request, Action.SALES_ORDERS_WRITE)
    customer = await _customer(request, page, code[:MAX_CODE])
    try:
        await send(request, page, "PATCH", f"customers/{seg(customer['code'])}", {"active": active})
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        values = {"name": customer.get("name", ""), "priority": str(customer.get("priority", ""))}
        context = {"values": values, "error": str(problem.detail)}
        return _customer_page(
            request, page, customer, context, upstream.form_status(request, problem)
        )
    change = "reactivated" if active else "deactivated"
    return RedirectResponse(
        f"/customers/{quote(customer['code'], safe='')}?done={change}", status_code=303
    )
