"""Sales orders: the list (filtered by status, customer, business unit, due range and penalty,
exported to XLSX), a new order with its lines, and each order: its lines with what has shipped,
what is allocated and the production orders making them, its value, what the customer paid and
what is still owed, the payments and the forms that change it.

Who does what is mrp's to say (the pages draw only the buttons a role may use): planners and
supervisors take, change and cancel orders; accountants record payments. A payment form carries
an Idempotency-Key drawn with it, so a double click records the payment once.

The new-order form has rows for lines without any script: empty rows are left out, and "More
lines" draws the form again with more rows. mrp names a refused line by its place among those
sent ('lines.1.qty'), which the page turns back into the row the user typed it in.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from services.gateway.ui import upstream
from services.gateway.ui.frame import Page, page_user, render
from services.gateway.ui.sales.common import (
    FINISHED,
    MAX_CHOICES,
    PRODUCTION_STATUS_LABELS,
    SERVICE,
    SO_STATUS_LABELS,
    can,
    checked_on,
    done,
    idempotency_key,
    listed,
    optional,
    refusal,
    seg,
    send,
    split_errors,
    text,
    utc_moment,
)
from services.gateway.ui.tables import Column, Filter, Table
from services.gateway.ui.upstream import UpstreamProblem
from shared.auth.permissions import Action
from shared.i18n import _

router = APIRouter()

PENALTY_LABELS = {"yes": _("Penalty")}
PENALTY_FILTER = (("true", _("With a penalty")), ("false", _("Without a penalty")))


async def _orders_with_penalty_marks(
    request: Request, page: Page, params: dict[str, Any]
) -> dict[str, Any]:
    """mrp's list, each order's contractual penalty as the key of its label."""
    result: dict[str, Any] = await upstream.get_json(
        request, page.user, SERVICE, "sales-orders", params
    )
    for order in result.get("items", []):
        order["penalty"] = "yes" if order.get("contractual_penalty") else None
    return result


SALES_ORDERS = Table(
    name="sales-orders",
    title=_("Sales orders"),
    service=SERVICE,
    path="sales-orders",
    columns=(
        Column("so_number", _("Sales order"), sort="number", link="/sales-orders/{so_number}"),
        Column("customer_name", _("Customer"), sort="customer"),
        Column("customer_code", _("Customer code"), on_page=False),
        Column("status", _("Status"), kind="status", sort="status", labels=SO_STATUS_LABELS),
        Column("order_date", _("Ordered"), kind="date", sort="order_date"),
        Column("due_date", _("Due to ship"), kind="date", sort="due_date"),
        Column("business_unit", _("Business unit")),
        Column("penalty", _("Contractual penalty"), kind="status", labels=PENALTY_LABELS),
        Column("value", _("Value"), kind="money", sort="total"),
        Column("paid", _("Paid"), kind="money"),
        Column("balance", _("Balance"), kind="money"),
    ),
    filters=(
        Filter("status", _("Status"), kind="select", options=tuple(SO_STATUS_LABELS.items())),
        Filter("customer_code", _("Customer code")),
        Filter("business_unit", _("Business unit")),
        Filter("due_from", _("Due from"), kind="date"),
        Filter("due_to", _("Due to"), kind="date"),
        Filter(
            "contractual_penalty", _("Contractual penalty"), kind="select", options=PENALTY_FILTER
        ),
        Filter("q", _("Number")),
    ),
    live="sales-orders",
    loader=_orders_with_penalty_marks,
)

SALES_ORDERS.mount(router, "/sales-orders", Action.SALES_ORDERS_READ, "sales/orders.html")


# --- a new order ----------------------------------------------------------------------------

HEADER_FIELDS = ("customer_code", "business_unit", "order_date", "notes", "external_ref")
LINE_FIELDS = ("sku", "qty", "unit_price", "due_date")
FIRST_ROWS = 3
MORE_ROWS = 3
MAX_ROWS = 200
LINE_ERROR = re.compile(r"^lines\.(\d+)\.(\w+)$")


def typed_lines(form: FormData) -> list[dict[str, str]]:
    """Every line row of the form as typed, empty ones included (the form draws them again)."""
    rows = min(_whole(text(form, "rows")) or FIRST_ROWS, MAX_ROWS)
    return [
        {name: text(form, f"lines.{row}.{name}", 64) for name in LINE_FIELDS} for row in range(rows)
    ]


def _whole(typed: str) -> int:
    return int(typed) if typed.isascii() and typed.isdigit() and len(typed) < 4 else 0


def lines_to_send(rows: Sequence[Mapping[str, str]]) -> tuple[list[dict[str, Any]], list[int]]:
    """The rows with anything typed, as mrp takes them, and the row each came from."""
    body: list[dict[str, Any]] = []
    sent_rows: list[int] = []
    for row, line in enumerate(rows):
        if not any(line.values()):
            continue
        body.append(
            {
                "sku": line["sku"],
                "qty": line["qty"] or None,
                "unit_price": line["unit_price"] or None,
                "due_date": line["due_date"] or None,
            }
        )
        sent_rows.append(row)
    return body, sent_rows


def errors_by_row(
    problem: UpstreamProblem, sent_rows: Sequence[int]
) -> tuple[dict[str, str], str | None]:
    """mrp's messages beside the fields typed: 'lines.1.qty' of the lines sent is the qty of the
    row that line came from; the header's fields keep their names; the rest is the form's."""
    header = {*HEADER_FIELDS, "contractual_penalty"}
    errors: dict[str, str] = {}
    rest: list[str] = []
    for raw, message in problem.field_errors.items():
        name = raw.removeprefix("body.")
        found = LINE_ERROR.match(name)
        if name in header:
            errors.setdefault(name, message)
        elif found and int(found.group(1)) < len(sent_rows):
            row = sent_rows[int(found.group(1))]
            errors.setdefault(f"lines.{row}.{found.group(2)}", message)
        else:
            rest.append(message)
    general = " ".join(rest) if rest else None
    if not errors and general is None:
        general = str(problem.detail)
    return errors, general


@router.get("/sales-orders/new")
async def new_order(request: Request) -> Response:
    page = await page_user(request, Action.SALES_ORDERS_WRITE)
    rows = [dict.fromkeys(LINE_FIELDS, "") for _ in range(FIRST_ROWS)]
    values = {"customer_code": text(request.query_params, "customer", 64)}
    return await _order_form(request, page, values, rows, {}, None)


@router.post("/sales-orders/new")
async def create_order(request: Request) -> Response:
    page = await page_user(request, Action.SALES_ORDERS_WRITE)
    form = await request.form()
    values = {name: text(form, name) for name in HEADER_FIELDS}
    values["contractual_penalty"] = "on" if checked_on(form, "contractual_penalty") else ""
    rows = typed_lines(form)
    key = idempotency_key(form)
    if text(form, "more"):
        rows += [dict.fromkeys(LINE_FIELDS, "") for _ in range(MORE_ROWS)]
        return await _order_form(request, page, values, rows[:MAX_ROWS], {}, None, key=key)
    lines, sent_rows = lines_to_send(rows)
    body: dict[str, Any] = {name: values[name] or None for name in HEADER_FIELDS}
    body["contractual_penalty"] = bool(values["contractual_penalty"])
    body["lines"] = lines
    try:
        created = await send(request, page, "POST", "sales-orders", body, key=key)
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        errors, general = errors_by_row(problem, sent_rows)
        return await _order_form(
            request,
            page,
            values,
            rows,
            errors,
            general,
            upstream.form_status(request, problem),
            key=key,
        )
    return RedirectResponse(
        f"/sales-orders/{quote(created['so_number'], safe='')}?done=created", status_code=303
    )


async def _order_form(
    request: Request,
    page: Page,
    values: Mapping[str, str],
    rows: Sequence[Mapping[str, str]],
    errors: Mapping[str, str],
    error: str | None,
    status_code: int = 200,
    *,
    key: str | None = None,
) -> Response:
    customers = await optional(
        request,
        page,
        SERVICE,
        "customers",
        {"active": "true", "limit": MAX_CHOICES, "sort": "name"},
    )
    items = await optional(request, page, SERVICE, "items", {"limit": MAX_CHOICES})
    return render(
        request,
        page,
        "sales/order_new.html",
        {
            "values": values,
            "rows": rows,
            "errors": errors,
            "error": error,
            "key": key or str(uuid.uuid4()),
            "customers": listed(customers),
            "items": listed(items),
        },
        status_code=status_code,
    )


# --- one order ------------------------------------------------------------------------------

EDIT_FIELDS = ("business_unit", "notes", "contractual_penalty")
PAYMENT_FIELDS = ("amount", "reference", "received_at")


@router.get("/sales-orders/{number}")
async def order_page(number: str, request: Request) -> Response:
    page = await page_user(request, Action.SALES_ORDERS_READ)
    return await _order_detail(request, page, number, {})


async def _order_detail(
    request: Request,
    page: Page,
    number: str,
    context: Mapping[str, Any],
    status_code: int = 200,
) -> Response:
    order: dict[str, Any] = await upstream.get_json(
        request, page.user, SERVICE, f"sales-orders/{seg(number)}"
    )
    code = seg(order["so_number"])
    payments = await optional(request, page, SERVICE, f"sales-orders/{code}/payments")
    production = await optional(
        request,
        page,
        "production",
        "production-orders",
        {"so_number": order["so_number"], "limit": 100, "sort": "code"},
    )
    status = order.get("status", "")
    shipped = any(_decimal(line.get("qty_shipped")) > 0 for line in order.get("lines", []))
    values: dict[str, Any] = {
        "order": order,
        "payments": listed(payments),
        "production": production_by_line(listed(production)),
        "status_labels": SO_STATUS_LABELS,
        "production_labels": PRODUCTION_STATUS_LABELS,
        "can_change": status not in FINISHED and can(page, Action.SALES_ORDERS_WRITE),
        "can_cancel": status != "cancelled"
        and not shipped
        and can(page, Action.SALES_ORDERS_WRITE),
        "can_pay": status != "cancelled"
        and _decimal(order.get("balance")) > 0
        and can(page, Action.PAYMENTS_WRITE),
        "done": done(request),
        "key": str(uuid.uuid4()),
        "edit": {
            "business_unit": order.get("business_unit") or "",
            "notes": order.get("notes") or "",
            "contractual_penalty": "on" if order.get("contractual_penalty") else "",
        },
        "payment": {},
        "errors": {},
        "error": None,
        "form": None,
        **context,
    }
    return render(request, page, "sales/order.html", values, status_code=status_code)


def production_by_line(orders: Sequence[Mapping[str, Any]]) -> dict[int, list[Mapping[str, Any]]]:
    """The production orders making each line: those naming the line, and the reprints in their
    chains (a reprint may name only its root)."""
    line_of = {
        str(order.get("code")): int(order["so_line_no"])
        for order in orders
        if order.get("so_line_no")
    }
    by_line: dict[int, list[Mapping[str, Any]]] = {}
    for order in orders:
        line = line_of.get(str(order.get("code")))
        if line is None:
            root = order.get("root_order_code") or order.get("reprint_of")
            line = line_of.get(str(root)) if root else None
        if line is not None:
            by_line.setdefault(line, []).append(order)
    return by_line


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value or 0))
    except InvalidOperation:
        return Decimal(0)


@router.post("/sales-orders/{number}")
async def edit_order(number: str, request: Request) -> Response:
    page = await page_user(request, Action.SALES_ORDERS_WRITE)
    form = await request.form()
    edit = {name: text(form, name) for name in ("business_unit", "notes")}
    edit["contractual_penalty"] = "on" if checked_on(form, "contractual_penalty") else ""
    body = {
        "business_unit": edit["business_unit"] or None,
        "notes": edit["notes"] or None,
        "contractual_penalty": bool(edit["contractual_penalty"]),
    }
    try:
        await send(request, page, "PATCH", f"sales-orders/{seg(number)}", body)
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        errors, general = split_errors(problem, set(EDIT_FIELDS))
        context = {"edit": edit, "errors": errors, "error": general, "form": "edit"}
        return await _order_detail(
            request, page, number, context, upstream.form_status(request, problem)
        )
    return RedirectResponse(f"/sales-orders/{seg(number)}?done=saved", status_code=303)


@router.post("/sales-orders/{number}/payments")
async def record_payment(number: str, request: Request) -> Response:
    page = await page_user(request, Action.PAYMENTS_WRITE)
    form = await request.form()
    payment = {name: text(form, name, 200) for name in PAYMENT_FIELDS}
    key = idempotency_key(form)
    body = {
        "amount": payment["amount"] or None,
        "reference": payment["reference"] or None,
        "received_at": utc_moment(payment["received_at"], page.timezone),
    }
    try:
        await send(request, page, "POST", f"sales-orders/{seg(number)}/payments", body, key=key)
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        errors, general = split_errors(problem, set(PAYMENT_FIELDS))
        context = {
            "payment": payment,
            "errors": errors,
            "error": general,
            "form": "payment",
            "key": key,
        }
        return await _order_detail(
            request, page, number, context, upstream.form_status(request, problem)
        )
    return RedirectResponse(f"/sales-orders/{seg(number)}?done=paid", status_code=303)


@router.post("/sales-orders/{number}/cancel")
async def cancel_order(number: str, request: Request) -> Response:
    page = await page_user(request, Action.SALES_ORDERS_WRITE)
    try:
        await send(request, page, "POST", f"sales-orders/{seg(number)}/cancel")
    except UpstreamProblem as problem:
        if not refusal(problem):
            raise
        context = {"error": str(problem.detail), "form": "cancel"}
        return await _order_detail(
            request, page, number, context, upstream.form_status(request, problem)
        )
    return RedirectResponse(f"/sales-orders/{seg(number)}?done=cancelled", status_code=303)
