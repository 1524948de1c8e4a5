"""Production pages: the order queue and each order, the QC station, BOMs and scrap codes.

Everything shown comes from its owner as the signed-in user: orders, runs, QC records, BOMs and
scrap codes from the production service, an order's material summary from inventory. Every
change goes to production through `upstream.call`, so the service checks the permission and the
input and answers in the user's language; a refused form is drawn again with each message beside
its field, and nothing is saved. The buttons a role may not use are not drawn (the service
refuses them anyway).

The QC station is for the tablet at the inspection bench: pick a printed order from the list,
count what passed and what failed, choose the reason, and submit; a reprint of the shortfall is
on by default, and the page shows the reprint order it made. Starts, runs and QC decisions carry
an Idempotency-Key drawn with the form, so a double tap acts once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from services.gateway.ui import upstream
from services.gateway.ui.forms import idempotency_key, plain
from services.gateway.ui.frame import Feature, NavLink, Page, page_user, render
from services.gateway.ui.tables import Column, Filter, Table
from services.gateway.ui.upstream import UpstreamProblem
from shared.auth.permissions import Action, allowed
from shared.i18n import Text, _, language_scope
from shared.web.problems import PortalError

router = APIRouter()

SERVICE = "production"
MAX_CHOICES = 200  # orders awaiting QC, scrap codes, items offered in a list
MAX_CODE = 64  # an order or scrap code typed or posted; longer is none

ORDER_STATUS_LABELS: dict[str, Text] = {
    "draft": _("Draft"),
    "scheduled": _("Scheduled"),
    "in_progress": _("In progress"),
    "printed": _("Printed, awaiting QC"),
    "completed": _("Completed"),
    "cancelled": _("Cancelled"),
}
PRIORITY_LABELS: dict[str, Text] = {
    "low": _("Low"),
    "normal": _("Normal"),
    "high": _("High"),
    "urgent": _("Urgent"),
}
ORDER_TYPE_LABELS: dict[str, Text] = {"mto": _("Make to order"), "mts": _("Make to stock")}
ORDER_TYPE_SHORT: dict[str, Text] = {"mto": _("MTO"), "mts": _("MTS")}
BOM_STATUS_LABELS: dict[str, Text] = {
    "draft": _("Draft"),
    "released": _("Released"),
    "obsolete": _("Obsolete"),
}
SCRAP_CATEGORY_LABELS: dict[str, Text] = {
    "print_failure": _("Print failure"),
    "qc_failure": _("QC failure"),
    "handling": _("Handling"),
    "other": _("Other"),
}
# What each status allows, and who (the service decides; these only choose what is drawn).
SCHEDULABLE = ("draft", "scheduled")
STARTABLE = ("draft", "scheduled")
RUNNABLE = ("in_progress",)
INSPECTABLE = ("printed",)
CANCELLABLE = ("draft", "scheduled", "in_progress")


async def _orders_with_reprint_marks(
    request: Request, page: Page, params: dict[str, Any]
) -> dict[str, Any]:
    """Production's list, each order with its place in a reprint chain as words."""
    result: dict[str, Any] = await upstream.get_json(
        request, page.user, SERVICE, "production-orders", params
    )
    with language_scope(page.language):
        for order in result.get("items", []):
            order["reprint_mark"] = reprint_mark(order)
    return result


def reprint_mark(order: Mapping[str, Any]) -> str | None:
    """'#2 of PRD-2026-00001' for an order in a chain (its place and the chain's root), None for
    a root order."""
    seq = order.get("reprint_seq") or 0
    if not seq:
        return None
    root = order.get("root_order_code") or order.get("reprint_of") or ""
    return _("#{seq} of {root}", seq=seq, root=root).render()


PRODUCTION_ORDERS = Table(
    name="production-orders",
    title=_("Production orders"),
    service=SERVICE,
    path="production-orders",
    # What the floor looks for first (status, priority, reprint) comes first: on the tablet the
    # quantities scroll into view.
    columns=(
        Column("code", _("Order"), sort="code", link="/production-orders/{code}"),
        Column("sku", _("Product"), sort="sku"),
        Column("status", _("Status"), kind="status", sort="status", labels=ORDER_STATUS_LABELS),
        Column("priority", _("Priority"), kind="status", sort="priority", labels=PRIORITY_LABELS),
        Column("reprint_mark", _("Reprint")),
        Column("due_date", _("Due"), kind="date", sort="due_date"),
        Column("qty_ordered", _("Ordered"), kind="number", sort="qty_ordered"),
        Column("qty_to_make", _("To make"), kind="number"),
        Column("qty_good", _("Good"), kind="number"),
        Column("qty_scrapped", _("Scrapped"), kind="number"),
        Column("qty_passed", _("Passed QC"), kind="number"),
        Column("order_type", _("Type"), kind="status", labels=ORDER_TYPE_SHORT),
        Column("so_number", _("Sales order"), sort="so_number"),
        Column("line_code", _("Line"), sort="line_code"),
        Column("root_order_code", _("Chain root"), on_page=False),
        Column("reprint_seq", _("Reprint number"), kind="number", on_page=False),
    ),
    filters=(
        Filter("status", _("Status"), kind="select", options=tuple(ORDER_STATUS_LABELS.items())),
        Filter("priority", _("Priority"), kind="select", options=tuple(PRIORITY_LABELS.items())),
        Filter("line_code", _("Line")),
        Filter("sku", _("Product")),
        Filter("so_number", _("Sales order")),
    ),
    live="production-orders",
    loader=_orders_with_reprint_marks,
)

BOMS = Table(
    name="boms",
    title=_("BOMs"),
    service=SERVICE,
    path="boms",
    columns=(
        Column("sku", _("Product"), sort="sku", link="/boms/{sku}"),
        Column("version", _("Version"), kind="number", sort="version"),
        Column("status", _("Status"), kind="status", sort="status", labels=BOM_STATUS_LABELS),
        Column("output_qty", _("Makes"), kind="number"),
        Column("line_count", _("Lines"), kind="number", sort="line_count"),
        Column("uom", _("Unit")),
        Column("released_at", _("Released"), kind="datetime", sort="released_at"),
    ),
    filters=(
        Filter("q", _("Product")),
        Filter("status", _("Status"), kind="select", options=tuple(BOM_STATUS_LABELS.items())),
    ),
    default_sort="sku",
    live="boms",
)


# --- the order queue ------------------------------------------------------------------------


PRODUCTION_ORDERS.mount(
    router, "/production-orders", Action.PRODUCTION_ORDERS_READ, "production/orders.html"
)

ORDER_FIELDS = (
    "sku",
    "qty_ordered",
    "qty_to_make",
    "priority",
    "due_date",
    "line_code",
    "so_number",
    "so_line_no",
    "notes",
)


@router.get("/production-orders/new")
async def new_order(request: Request) -> Response:
    page = await page_user(request, Action.PRODUCTION_ORDERS_WRITE)
    return await _order_form(request, page, {"priority": "normal"}, {}, None)


@router.post("/production-orders/new")
async def create_order(request: Request) -> Response:
    page = await page_user(request, Action.PRODUCTION_ORDERS_WRITE)
    form = await request.form()
    values = {name: _text(form, name) for name in ORDER_FIELDS}
    body: dict[str, Any] = {name: values[name] or None for name in ORDER_FIELDS}
    body["priority"] = values["priority"] or "normal"
    try:
        created = upstream.checked(
            await upstream.call(
                request,
                page.user,
                SERVICE,
                "POST",
                "production-orders",
                json=body,
                idempotency_key=idempotency_key(form),
            )
        )
    except UpstreamProblem as problem:
        errors, general = _split_errors(problem, set(ORDER_FIELDS))
        return await _order_form(
            request, page, values, errors, general, upstream.form_status(request, problem)
        )
    return RedirectResponse(
        f"/production-orders/{quote(created['code'])}?done=created", status_code=303
    )


async def _order_form(
    request: Request,
    page: Page,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    error: str | Text | None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        page,
        "production/order_new.html",
        {
            "values": values,
            "errors": errors,
            "error": error,
            "key": str(uuid.uuid4()),
            "products": await _products(request, page),
            "priorities": list(PRIORITY_LABELS.items()),
        },
        status_code=status_code,
    )


async def _products(request: Request, page: Page) -> list[dict[str, Any]]:
    """The items production knows and makes, for the product field's suggestions."""
    try:
        result = await upstream.get_json(
            request, page.user, SERVICE, "items", {"limit": MAX_CHOICES}
        )
    except PortalError:
        return []
    return [item for item in _listed(result) if item.get("make_or_buy", "make") == "make"]


# --- one order ------------------------------------------------------------------------------


@router.get("/production-orders/{number}")
async def order_page(number: str, request: Request) -> Response:
    page = await page_user(request, Action.PRODUCTION_ORDERS_READ)
    return await _order_detail(request, page, number, {})


async def _order_detail(
    request: Request,
    page: Page,
    number: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> Response:
    code = quote(number, safe="")
    order = await upstream.get_json(request, page.user, SERVICE, f"production-orders/{code}")
    roles = page.user.roles
    status = order.get("status")
    values: dict[str, Any] = {
        "order": order,
        "history": await _optional(
            request, page, SERVICE, f"production-orders/{code}/reprint-history"
        ),
        "materials": await _optional(
            request, page, "inventory", f"production-orders/{code}/materials"
        ),
        "status_labels": ORDER_STATUS_LABELS,
        "priority_labels": PRIORITY_LABELS,
        "type_labels": ORDER_TYPE_LABELS,
        "category_labels": SCRAP_CATEGORY_LABELS,
        "can_schedule": status in SCHEDULABLE and allowed(roles, Action.PRODUCTION_ORDERS_WRITE),
        "can_start": status in STARTABLE and allowed(roles, Action.PRODUCTION_RUN),
        "can_run": status in RUNNABLE and allowed(roles, Action.PRODUCTION_RUN),
        "can_inspect": status in INSPECTABLE and allowed(roles, Action.QC_WRITE),
        "can_cancel": status in CANCELLABLE and allowed(roles, Action.PRODUCTION_ORDERS_WRITE),
        "done": request.query_params.get("done"),
        "key": str(uuid.uuid4()),
        "values": {},
        "errors": {},
        "error": None,
        "shortages": None,
        **context,
    }
    totals = (values["history"] or {}).get("totals") or {}
    if totals.get("effective_yield") is not None:
        totals["yield_pct"] = Decimal(str(totals["effective_yield"])) * 100
    if values["can_run"]:
        values["scrap_codes"] = await _scrap_codes(request, page, first="print_failure")
    return render(request, page, "production/order.html", values, status_code=status_code)


@router.post("/production-orders/{number}/schedule")
async def schedule_order(number: str, request: Request) -> Response:
    page = await page_user(request, Action.PRODUCTION_ORDERS_WRITE)
    form = await request.form()
    values = {name: _text(form, name) for name in ("line_code", "planned_start")}
    body = {
        "line_code": values["line_code"] or None,
        "planned_start": _utc_moment(values["planned_start"], page.timezone),
    }
    return await _order_action(request, page, number, "schedule", body, values)


@router.post("/production-orders/{number}/start")
async def start_order(number: str, request: Request) -> Response:
    page = await page_user(request, Action.PRODUCTION_RUN)
    form = await request.form()
    allow = _text(form, "allow_insufficient") in ("on", "true", "1")
    values = {"allow_insufficient": "on" if allow else ""}
    body = {"allow_insufficient": allow}
    return await _order_action(
        request, page, number, "start", body, values, key=idempotency_key(form)
    )


RUN_FIELDS = ("qty_good", "qty_bad", "scrap_reason_code", "notes")


@router.post("/production-orders/{number}/runs")
async def complete_run(number: str, request: Request) -> Response:
    page = await page_user(request, Action.PRODUCTION_RUN)
    form = await request.form()
    values = {name: _text(form, name) for name in RUN_FIELDS}
    final = _text(form, "final_run") in ("on", "true", "1")
    values["final_run"] = "on" if final else ""
    body: dict[str, Any] = {
        "qty_good": values["qty_good"] or None,
        "qty_bad": values["qty_bad"] or "0",
        "scrap_reason_code": values["scrap_reason_code"] or None,
        "notes": values["notes"] or None,
        "final_run": final,
    }
    return await _order_action(
        request, page, number, "runs", body, values, key=idempotency_key(form)
    )


@router.post("/production-orders/{number}/cancel")
async def cancel_order(number: str, request: Request) -> Response:
    page = await page_user(request, Action.PRODUCTION_ORDERS_WRITE)
    form = await request.form()
    values = {"reason": _text(form, "reason")}
    body = {"reason": values["reason"] or None}
    return await _order_action(request, page, number, "cancel", body, values)


async def _order_action(
    request: Request,
    page: Page,
    number: str,
    action: str,
    body: Mapping[str, Any],
    values: Mapping[str, str],
    *,
    key: str | None = None,
) -> Response:
    """POST production-orders/{number}/{action}; back to the order saying so, or the order's
    page again with the refusal beside the fields of the form that was sent."""
    code = quote(number, safe="")
    try:
        upstream.checked(
            await upstream.call(
                request,
                page.user,
                SERVICE,
                "POST",
                f"production-orders/{code}/{action}",
                json=body,
                idempotency_key=key,
            )
        )
    except UpstreamProblem as problem:
        errors, general = _split_errors(problem, set(values) | {"planned_start", "line_code"})
        shortages = problem.problem.get("shortages") if action == "start" else None
        context: dict[str, Any] = {
            "action": action,
            "values": values,
            "errors": errors,
            # The shortages say it all, beside the start button; no second message on top.
            "error": None if shortages else general,
            "shortages": shortages,
        }
        return await _order_detail(
            request, page, number, context, upstream.form_status(request, problem)
        )
    return RedirectResponse(f"/production-orders/{code}?done={action}", status_code=303)


# --- the QC station -------------------------------------------------------------------------

QC_FIELDS = ("qty_passed", "qty_failed", "reason_code", "notes")


@router.get("/qc")
async def qc_station(request: Request) -> Response:
    page = await page_user(request, Action.QC_WRITE)
    number = (request.query_params.get("order") or "").strip()[:MAX_CODE]
    context: dict[str, Any] = {"number": number}
    if number:
        context.update(await _inspectable(request, page, number))
    return await _qc_response(request, page, context)


@router.post("/qc/{number}")
async def record_qc(number: str, request: Request) -> Response:
    page = await page_user(request, Action.QC_WRITE)
    form = await request.form()
    key = idempotency_key(form)
    values = {name: _text(form, name) for name in QC_FIELDS}
    reprint = _text(form, "reprint") in ("on", "true", "1")
    values["reprint"] = "on" if reprint else ""
    body: dict[str, Any] = {
        "qty_passed": values["qty_passed"] or "0",
        "qty_failed": values["qty_failed"] or "0",
        "reason_code": values["reason_code"] or None,
        "notes": values["notes"] or None,
        "reprint": reprint,
    }
    context: dict[str, Any] = {"number": number, "key": key, "values": values}
    try:
        record = upstream.checked(
            await upstream.call(
                request,
                page.user,
                SERVICE,
                "POST",
                f"production-orders/{quote(number, safe='')}/qc",
                json=body,
                idempotency_key=key,
            )
        )
    except UpstreamProblem as problem:
        errors, general = _split_errors(problem, set(QC_FIELDS) | {"reprint"})
        context.update(await _inspectable(request, page, number))
        context.update({"errors": errors, "error": general})
        return await _qc_response(request, page, context, upstream.form_status(request, problem))
    # The answer holds the order as it now stands and the reprint order, if one was made.
    context.update(record=record, order=record.get("order"), reprint=record.get("reprint"))
    return await _qc_response(request, page, context)


@router.get("/qc/queue")
async def qc_queue(request: Request) -> Response:
    """The list of orders awaiting QC alone; the station fetches it again when orders change."""
    page = await page_user(request, Action.QC_WRITE)
    chosen = (request.query_params.get("order") or "").strip()[:MAX_CODE]
    return render(
        request,
        page,
        "production/qc_queue.html",
        {
            "queue": await _awaiting_orders(request, page),
            "order": {"code": chosen} if chosen else None,
            "priority_labels": PRIORITY_LABELS,
        },
    )


async def _inspectable(request: Request, page: Page, number: str) -> dict[str, Any]:
    """The order and what of it awaits inspection, or why it cannot be inspected."""
    try:
        order = await upstream.get_json(
            request, page.user, SERVICE, f"production-orders/{quote(number, safe='')}"
        )
    except UpstreamProblem as problem:
        if problem.status == 404:
            return {"pick_error": _("There is no production order {code}.", code=number)}
        return {"pick_error": problem.detail}
    awaiting = _awaiting_qc(order)
    if order.get("status") not in INSPECTABLE or awaiting <= 0:
        status = order.get("status", "")
        return {
            "pick_error": _(
                "Production order {code} is {status}: nothing of it awaits QC.",
                code=number,
                status=ORDER_STATUS_LABELS.get(status, status),
            )
        }
    return {
        "order": order,
        "awaiting": awaiting,
        "reason_codes": await _scrap_codes(request, page, first="qc_failure"),
    }


def _awaiting_qc(order: Mapping[str, Any]) -> Decimal:
    """Good output not yet inspected (production says; else good - passed - failed)."""
    try:
        if order.get("qty_awaiting_qc") is not None:
            return Decimal(str(order["qty_awaiting_qc"]))
        good, passed, failed = (
            Decimal(str(order.get(name) or 0)) for name in ("qty_good", "qty_passed", "qty_failed")
        )
    except InvalidOperation:
        return Decimal(0)
    return good - passed - failed


async def _qc_response(
    request: Request, page: Page, context: dict[str, Any], status_code: int = 200
) -> Response:
    context.setdefault("key", str(uuid.uuid4()))
    context.setdefault("errors", {})
    context.setdefault("values", {})
    if "awaiting" in context and not context["values"]:
        context["values"] = {
            "qty_passed": plain(context["awaiting"]),
            "qty_failed": "0",
            "reprint": "on",
        }
    context["queue"] = await _awaiting_orders(request, page)
    context["status_labels"] = ORDER_STATUS_LABELS
    context["priority_labels"] = PRIORITY_LABELS
    context["category_labels"] = SCRAP_CATEGORY_LABELS
    htmx = request.headers.get("hx-target") == "qc-station"
    # htmx swaps only a 2xx answer in: a refused decision is drawn with its messages, as a 200.
    return render(
        request,
        page,
        "production/qc_station.html" if htmx else "production/qc.html",
        context,
        status_code=200 if htmx else status_code,
    )


async def _awaiting_orders(request: Request, page: Page) -> list[dict[str, Any]] | None:
    """The printed orders, most urgent first; None when production cannot say."""
    try:
        result = await upstream.get_json(
            request,
            page.user,
            SERVICE,
            "production-orders",
            {"status": "printed", "limit": 100},
        )
    except PortalError:
        return None
    ranks = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
    orders = []
    for order in _listed(result):
        order["awaiting"] = _awaiting_qc(order)
        if order["awaiting"] > 0:
            orders.append(order)
    return sorted(
        orders,
        key=lambda o: (ranks.get(o.get("priority", "normal"), 2), o.get("due_date") or "9999"),
    )


# --- BOMs -----------------------------------------------------------------------------------


BOMS.mount(router, "/boms", Action.BOMS_READ, "production/boms.html")


@router.get("/boms/{sku}")
async def bom_page(sku: str, request: Request) -> Response:
    page = await page_user(request, Action.BOMS_READ)
    code = quote(sku, safe="")
    try:
        bom = await upstream.get_json(request, page.user, SERVICE, f"boms/{code}")
    except UpstreamProblem as problem:
        if problem.status != 404:
            raise
        bom = None  # a raw material has no BOM of its own, but is used in others
    typed = (request.query_params.get("qty") or "").strip()[:40]
    qty = typed or (plain(bom.get("output_qty") or 1) if bom else "1")
    context: dict[str, Any] = {
        "sku": sku,
        "bom": bom,
        "qty": qty,
        "status_labels": BOM_STATUS_LABELS,
        "where_used": _parents(await _optional(request, page, SERVICE, f"boms/{code}/where-used")),
    }
    versions = await _optional(
        request, page, SERVICE, "boms", {"sku": sku[:MAX_CODE], "sort": "-version", "limit": 50}
    )
    context["versions"] = [] if versions is None else _listed(versions)
    if bom is not None:
        context.update(await _explosion(request, page, code, qty))
    if request.headers.get("hx-target") == "bom-explosion":
        return render(request, page, "production/bom_explosion.html", context)
    if bom is None and not context["where_used"] and not context["versions"]:
        return render(request, page, "production/bom.html", context, status_code=404)
    return render(request, page, "production/bom.html", context)


async def _explosion(request: Request, page: Page, code: str, qty: str) -> dict[str, Any]:
    try:
        found = await upstream.get_json(
            request, page.user, SERVICE, f"boms/{code}/explosion", {"qty": qty}
        )
    except UpstreamProblem as problem:
        if not 400 <= problem.status < 500 or problem.status in (401, 403):
            raise
        errors = problem.field_errors
        message = next(
            (text for name, text in errors.items() if name.endswith("qty")), str(problem.detail)
        )
        return {"explosion": None, "qty_error": message}
    return {"explosion": found, "qty_error": None}


# --- scrap codes ----------------------------------------------------------------------------


SCRAP_FIELDS = ("code", "category", "description", "corrective_action")


@router.get("/scrap-codes")
async def scrap_codes(request: Request) -> Response:
    page = await page_user(request, Action.SCRAP_CODES_MANAGE)
    return await _scrap_codes_page(request, page, {})


@router.post("/scrap-codes/new")
async def add_scrap_code(request: Request) -> Response:
    page = await page_user(request, Action.SCRAP_CODES_MANAGE)
    form = await request.form()
    values = {name: _text(form, name) for name in SCRAP_FIELDS}
    body = {name: values[name] or None for name in SCRAP_FIELDS}
    try:
        upstream.checked(
            await upstream.call(request, page.user, SERVICE, "POST", "scrap-codes", json=body)
        )
    except UpstreamProblem as problem:
        errors, general = _split_errors(problem, set(SCRAP_FIELDS))
        context = {"values": values, "errors": errors, "error": general}
        return await _scrap_codes_page(
            request, page, context, upstream.form_status(request, problem)
        )
    return RedirectResponse(f"/scrap-codes?added={quote(values['code'])}", status_code=303)


@router.post("/scrap-codes/deactivate")
async def deactivate_scrap_code(request: Request) -> Response:
    return await _set_scrap_code_active(request, "deactivate")


@router.post("/scrap-codes/reactivate")
async def reactivate_scrap_code(request: Request) -> Response:
    return await _set_scrap_code_active(request, "reactivate")


async def _set_scrap_code_active(request: Request, change: str) -> Response:
    page = await page_user(request, Action.SCRAP_CODES_MANAGE)
    form = await request.form()
    code = _text(form, "code")
    try:
        if not code or len(code) > MAX_CODE:
            raise UpstreamProblem(422, {"detail": _("Choose a scrap code.").render()})
        upstream.checked(
            await upstream.call(
                request, page.user, SERVICE, "POST", f"scrap-codes/{quote(code, safe='')}/{change}"
            )
        )
    except UpstreamProblem as problem:
        context = {"error": problem.detail}
        return await _scrap_codes_page(
            request, page, context, upstream.form_status(request, problem)
        )
    return RedirectResponse(f"/scrap-codes?{change}d={quote(code)}", status_code=303)


async def _scrap_codes_page(
    request: Request, page: Page, context: Mapping[str, Any], status_code: int = 200
) -> Response:
    result = await upstream.get_json(request, page.user, SERVICE, "scrap-codes", {"limit": 1000})
    categories = list(SCRAP_CATEGORY_LABELS)
    codes = sorted(
        _listed(result),
        key=lambda c: (
            not c.get("active", True),
            categories.index(c["category"]) if c.get("category") in categories else 99,
            c.get("code", ""),
        ),
    )
    return render(
        request,
        page,
        "production/scrap_codes.html",
        {
            "codes": codes,
            "categories": list(SCRAP_CATEGORY_LABELS.items()),
            "category_labels": SCRAP_CATEGORY_LABELS,
            "values": {},
            "errors": {},
            "error": None,
            "added": request.query_params.get("added"),
            "deactivated": request.query_params.get("deactivated"),
            "reactivated": request.query_params.get("reactivated"),
            **context,
        },
        status_code=status_code,
    )


async def _scrap_codes(request: Request, page: Page, *, first: str) -> list[dict[str, Any]]:
    """The active scrap codes, the category `first` at the top (QC failures at the QC bench,
    print failures when a run completes); none when production cannot say."""
    try:
        result = await upstream.get_json(
            request, page.user, SERVICE, "scrap-codes", {"active": "true", "limit": MAX_CHOICES}
        )
    except PortalError:
        return []
    order = list(SCRAP_CATEGORY_LABELS)
    active = [code for code in _listed(result) if code.get("active", True)]
    return sorted(
        active,
        key=lambda c: (
            c.get("category") != first,
            order.index(c["category"]) if c.get("category") in order else len(order),
            c.get("code", ""),
        ),
    )


# --- helpers --------------------------------------------------------------------------------


async def _optional(
    request: Request, page: Page, service: str, path: str, params: upstream.Params | None = None
) -> Any:
    """A side block's data, or None when its owner cannot give it (the page still shows)."""
    try:
        return await upstream.get_json(request, page.user, service, path, params)
    except PortalError:
        return None


def _listed(result: Any) -> list[dict[str, Any]]:
    """The rows of a list answer, paged ({items, total}) or plain."""
    if isinstance(result, Mapping):
        result = result.get("items", [])
    return [row for row in result or [] if isinstance(row, dict)]


def _parents(answer: Any) -> list[dict[str, Any]] | None:
    """The products using an item (where-used), or None when production cannot say."""
    if not isinstance(answer, Mapping):
        return None
    return _listed(answer.get("parents", []))


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _utc_moment(typed: str, timezone: str) -> str | None:
    """A `datetime-local` value, meant in the plant's time zone, as UTC for the service; what
    cannot be read goes on as typed, so the service names the field."""
    if not typed:
        return None
    try:
        local = datetime.fromisoformat(typed)
    except ValueError:
        return typed
    if local.tzinfo is None:
        local = local.replace(tzinfo=ZoneInfo(timezone))
    return local.astimezone(ZoneInfo("UTC")).isoformat()


def _split_errors(problem: UpstreamProblem, fields: set[str]) -> tuple[dict[str, str], str | None]:
    """The problem's messages by form field, and the rest as one message for the whole form."""
    errors: dict[str, str] = {}
    rest: list[str] = []
    for name, message in problem.field_errors.items():
        if name in fields:
            errors.setdefault(name, message)
        else:
            rest.append(message)
    general = " ".join(rest) if rest else None
    if not errors and general is None:
        general = str(problem.detail)
    return errors, general


feature = Feature(
    name="production",
    router=router,
    nav=[
        NavLink(_("QC station"), "/qc", Action.QC_WRITE, floor=True),
        NavLink(_("Production orders"), "/production-orders", Action.PRODUCTION_ORDERS_READ),
        NavLink(_("BOMs"), "/boms", Action.BOMS_READ),
        NavLink(_("Scrap codes"), "/scrap-codes", Action.SCRAP_CODES_MANAGE),
    ],
    order=15,
)
