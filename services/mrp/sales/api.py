"""HTTP API of customers, sales orders and customer payments under /api/v1: parse, call one use
case, answer.

Allocating stock to an order asks inventory now (`POST /api/v1/reservations`, as the user),
so that endpoint is async: it reads what to ask in one transaction, awaits inventory's answer,
and records it in another (the database work runs in a thread, off the event loop).
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from services.mrp.sales import service
from services.mrp.sales.domain import SoStatus
from services.mrp.sales.schemas import (
    AllocationOut,
    CustomerCreate,
    CustomerOut,
    CustomerUpdate,
    KnownItemOut,
    PaymentCreate,
    PaymentOut,
    PaymentsOut,
    SalesOrderCreate,
    SalesOrderOut,
    SalesOrderUpdate,
)
from services.mrp.sales.service import SalesOrderFilters
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.clock import plant_today
from shared.events.envelope import utc_now
from shared.i18n import _
from shared.web.commands import new_uow, run_command, runtime_of
from shared.web.pagination import Page, PageParams, page_params, sort_param
from shared.web.peers import call_peer
from shared.web.problems import InvalidInput
from shared.web.security import require_permission
from shared.web.xlsx import workbook_response

router = APIRouter(prefix="/api/v1", tags=["sales-orders"])

Reader = Annotated[TokenClaims, Depends(require_permission(Action.SALES_ORDERS_READ))]
ItemReader = Annotated[TokenClaims, Depends(require_permission(Action.ITEMS_READ))]
Writer = Annotated[TokenClaims, Depends(require_permission(Action.SALES_ORDERS_WRITE))]
Cashier = Annotated[TokenClaims, Depends(require_permission(Action.PAYMENTS_WRITE))]
Pages = Annotated[PageParams, Depends(page_params)]
Search = Annotated[str | None, Query(max_length=100)]
Sort = Annotated[str | None, Depends(sort_param)]


@router.post("/customers", status_code=201, response_model=CustomerOut)
def create_customer(body: CustomerCreate, request: Request, _: Writer) -> JSONResponse:
    return run_command(request, lambda uow: service.create_customer(uow, body), status_code=201)


@router.get("/customers", response_model=Page[CustomerOut])
def list_customers(
    request: Request,
    _: Reader,
    page: Pages,
    sort: Sort,
    q: Search = None,
    active: bool | None = None,
) -> Page[CustomerOut]:
    """Customers; `q` finds part of a code or name, `sort` is code, name, priority or active."""
    with new_uow(request) as uow:
        return service.list_customers(uow, page, q, active, sort)


@router.get("/customers/{code}", response_model=CustomerOut)
def get_customer(code: str, request: Request, _: Reader) -> CustomerOut:
    with new_uow(request) as uow:
        return service.get_customer(uow, code)


@router.patch("/customers/{code}", response_model=CustomerOut)
def update_customer(code: str, body: CustomerUpdate, request: Request, _: Writer) -> JSONResponse:
    return run_command(request, lambda uow: service.update_customer(uow, code, body))


@router.get("/items", response_model=Page[KnownItemOut])
def list_items(
    request: Request,
    _: ItemReader,
    page: Pages,
    q: Search = None,
    active: bool | None = True,
) -> Page[KnownItemOut]:
    """The items mrp knows (from inventory's events): what a sales order line may sell."""
    with new_uow(request) as uow:
        return service.list_known_items(uow, page, q, active)


@router.get("/items/{sku}", response_model=KnownItemOut)
def get_item(sku: str, request: Request, _: ItemReader) -> KnownItemOut:
    with new_uow(request) as uow:
        return service.get_known_item(uow, sku)


def sales_order_filters(
    status: SoStatus | None = None,
    customer_code: Annotated[str | None, Query(max_length=32)] = None,
    business_unit: Annotated[str | None, Query(max_length=32)] = None,
    due_from: Annotated[date | None, Query(description="A line due on or after this day")] = None,
    due_to: Annotated[date | None, Query(description="A line due on or before this day")] = None,
    q: Search = None,
    contractual_penalty: Annotated[
        bool | None, Query(description="Only orders whose contract carries a penalty (or not)")
    ] = None,
    external_ref: Annotated[
        str | None, Query(max_length=64, description="The order with this external reference")
    ] = None,
) -> SalesOrderFilters:
    if due_from is not None and due_to is not None and due_to < due_from:
        raise InvalidInput(_("The last day comes before the first day."), field="query.due_to")
    return SalesOrderFilters(
        status,
        customer_code,
        business_unit,
        due_from,
        due_to,
        q,
        contractual_penalty,
        (external_ref or "").strip() or None,
    )


Filters = Annotated[SalesOrderFilters, Depends(sales_order_filters)]


@router.post("/sales-orders", status_code=201, response_model=SalesOrderOut)
def create_sales_order(body: SalesOrderCreate, request: Request, _: Writer) -> JSONResponse:
    today = plant_today(runtime_of(request).settings)
    return run_command(
        request, lambda uow: service.create_sales_order(uow, body, today), status_code=201
    )


@router.get("/sales-orders", response_model=Page[SalesOrderOut])
def list_sales_orders(
    request: Request, _: Reader, page: Pages, sort: Sort, filters: Filters
) -> Page[SalesOrderOut]:
    """Sales orders, newest first; filter by status, customer, business unit, a line due in
    [due_from, due_to], part of the number (`q`), the contractual penalty or the external
    reference (exact); `sort` is number, customer, status, order_date, due_date, total or
    created_at (a leading '-' for descending)."""
    with new_uow(request) as uow:
        return service.list_sales_orders(uow, page, filters, sort)


@router.get("/sales-orders.xlsx", response_class=Response)
def export_sales_orders(
    request: Request, _reader: Reader, sort: Sort, filters: Filters
) -> Response:
    """The same orders as the list, with the same filters, as a workbook."""
    headers = [
        _("Sales order"),
        _("Customer"),
        _("Customer name"),
        _("Status"),
        _("Order date"),
        _("Due date"),
        _("Business unit"),
        _("Contractual penalty"),
        _("Lines"),
        _("Qty ordered"),
        _("Qty shipped"),
        _("Paid"),
        _("Balance"),
        _("Total"),
    ]
    settings = runtime_of(request).settings
    with runtime_of(request).uow(read_only=True) as uow:
        return workbook_response(
            "sales-orders",
            str(_("Sales orders")),
            [str(header) for header in headers],
            list(service.export_rows(uow, filters, sort)),
            timezone=settings.plant_timezone,
        )


@router.get("/sales-orders/{number}", response_model=SalesOrderOut)
def get_sales_order(number: str, request: Request, _: Reader) -> SalesOrderOut:
    with new_uow(request) as uow:
        return service.get_sales_order(uow, number)


@router.patch("/sales-orders/{number}", response_model=SalesOrderOut)
def update_sales_order(
    number: str, body: SalesOrderUpdate, request: Request, _: Writer
) -> JSONResponse:
    """Change the contractual penalty, notes or business unit of an order not yet finished."""
    return run_command(request, lambda uow: service.update_sales_order(uow, number, body))


@router.post("/sales-orders/{number}/payments", status_code=201, response_model=PaymentOut)
def record_payment(number: str, body: PaymentCreate, request: Request, _: Cashier) -> JSONResponse:
    """A customer's payment against the order: never more than its open balance, never on a
    cancelled order, never received in the future (Idempotency-Key honoured)."""
    today = plant_today(runtime_of(request).settings)
    return run_command(
        request,
        lambda uow: service.record_payment(uow, number, body, utc_now(), today),
        status_code=201,
    )


@router.get("/sales-orders/{number}/payments", response_model=PaymentsOut)
def list_payments(number: str, request: Request, _: Reader) -> PaymentsOut:
    """The order's payments, oldest first, with its value, what is paid and what is owed."""
    with new_uow(request) as uow:
        return service.list_payments(uow, number)


@router.post("/sales-orders/{number}/cancel", response_model=SalesOrderOut)
def cancel_sales_order(number: str, request: Request, _: Writer) -> JSONResponse:
    return run_command(request, lambda uow: service.cancel_sales_order(uow, number))


@router.post("/sales-orders/{number}/allocate", response_model=AllocationOut)
async def allocate_sales_order(number: str, request: Request, _: Writer) -> JSONResponse:
    """Reserve available finished goods for the order's open lines (a make-to-stock sale).
    Inventory reserves what it has (`allow_insufficient`) and reports each line's shortfall;
    the reservation is keyed by the order, so a repeat changes nothing."""

    def ask() -> dict[str, Any] | None:
        with new_uow(request) as uow:
            return service.allocation_request(uow, number)

    wanted = await asyncio.to_thread(ask)
    answer = None
    if wanted is not None:
        answer = await call_peer(request, "inventory", "POST", "/api/v1/reservations", json=wanted)
    return await asyncio.to_thread(
        run_command, request, lambda uow: service.record_allocation(uow, number, answer)
    )
