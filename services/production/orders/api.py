"""HTTP API of production orders under /api/v1/production-orders: parse, call one use case,
answer. Every command takes an Idempotency-Key.

Starting is the one command that needs another service's answer first: the order's BOM is
exploded (in a thread: the database is synchronous), inventory reserves the components over
HTTP as the user, and only then is the order put in progress, in a transaction of its own
that locks the order (a double start finds it in progress and changes nothing).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from services.production.orders import service
from services.production.orders.domain import OrderStatus, Priority
from services.production.orders.schemas import (
    OrderCancel,
    OrderCreate,
    OrderDetail,
    OrderOut,
    OrderSchedule,
    OrderStart,
    QcCreate,
    QcResult,
    ReprintHistoryOut,
    RunCreate,
    RunResult,
)
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.i18n import _
from shared.web.commands import run_command, runtime_of
from shared.web.pagination import Page, PageParams, page_params, sort_param
from shared.web.peers import call_peer
from shared.web.problems import PortalError
from shared.web.security import require_permission
from shared.web.xlsx import workbook_response

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1", tags=["production-orders"])

Reader = Annotated[TokenClaims, Depends(require_permission(Action.PRODUCTION_ORDERS_READ))]
Writer = Annotated[TokenClaims, Depends(require_permission(Action.PRODUCTION_ORDERS_WRITE))]
Runner = Annotated[TokenClaims, Depends(require_permission(Action.PRODUCTION_RUN))]
Inspector = Annotated[TokenClaims, Depends(require_permission(Action.QC_WRITE))]
ShortCode = Annotated[str | None, Query(max_length=64)]


def order_filters(
    status: Annotated[list[OrderStatus] | None, Query()] = None,
    line_code: ShortCode = None,
    priority: Priority | None = None,
    sku: ShortCode = None,
    so_number: ShortCode = None,
    root_order_code: ShortCode = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> service.OrderFilters:
    """`status` may be given more than once (the open queue: draft, scheduled, in_progress,
    printed); `root_order_code` lists the reprints of that root; `q` finds part of a code or
    SKU."""
    return service.OrderFilters(
        statuses=tuple(status or ()),
        line_code=line_code,
        priority=priority,
        sku=sku,
        so_number=so_number,
        root_order_code=root_order_code,
        search=q,
    )


Filters = Annotated[service.OrderFilters, Depends(order_filters)]
Sort = Annotated[str | None, Depends(sort_param)]


@router.post("/production-orders", status_code=201, response_model=OrderDetail)
def create_order(body: OrderCreate, request: Request, _: Writer) -> JSONResponse:
    settings = runtime_of(request).settings
    return run_command(
        request, lambda uow: service.create_order(uow, body, settings), status_code=201
    )


@router.get("/production-orders", response_model=Page[OrderOut])
def list_orders(
    request: Request,
    _: Reader,
    filters: Filters,
    page: Annotated[PageParams, Depends(page_params)],
    sort: Sort,
) -> Page[OrderOut]:
    """Orders, newest first; `sort` is code, sku, status, priority (by urgency), due_date,
    planned_start, line_code, qty_ordered, so_number, created_at or updated_at, a leading '-'
    for descending."""
    with runtime_of(request).uow(read_only=True) as uow:
        return service.list_orders(uow, page, filters, sort)


EXPORT_HEADERS = (
    _("Order"),
    _("SKU"),
    _("Item"),
    _("Type"),
    _("Status"),
    _("Priority"),
    _("Qty ordered"),
    _("Qty to make"),
    _("Good"),
    _("Bad"),
    _("Passed"),
    _("Failed"),
    _("Scrapped"),
    _("Due date"),
    _("Line"),
    _("Planned start"),
    _("Sales order"),
    _("SO line"),
    _("BOM version"),
    _("Reprint of"),
    _("Root order"),
    _("Reprint seq"),
    _("Reprint reason"),
    _("Created"),
)


@router.get("/production-orders.xlsx", response_class=Response)
def export_orders(request: Request, _user: Reader, filters: Filters, sort: Sort) -> Response:
    """The same filtered, sorted list as a workbook, every row."""
    settings = runtime_of(request).settings
    with runtime_of(request).uow(read_only=True) as uow:
        return workbook_response(
            "production-orders",
            str(_("Production orders")),
            [str(header) for header in EXPORT_HEADERS],
            _export_rows(service.order_rows(uow, filters, sort)),
            timezone=settings.plant_timezone,
        )


def _export_rows(orders: Iterator[OrderOut]) -> Iterator[list[Any]]:
    for o in orders:
        yield [
            o.code,
            o.sku,
            o.item_name,
            o.order_type.value,
            o.status.value,
            o.priority.value,
            o.qty_ordered,
            o.qty_to_make,
            o.qty_good,
            o.qty_bad,
            o.qty_passed,
            o.qty_failed,
            o.qty_scrapped,
            o.due_date,
            o.line_code,
            o.planned_start,
            o.so_number,
            o.so_line_no,
            o.bom_version,
            o.reprint_of,
            o.root_order_code,
            o.reprint_seq,
            o.reprint_reason,
            o.created_at,
        ]


@router.get("/production-orders/{code}", response_model=OrderDetail)
def get_order(code: str, request: Request, _: Reader) -> OrderDetail:
    with runtime_of(request).uow(read_only=True) as uow:
        return service.get_order(uow, code)


@router.get("/production-orders/{code}/reprint-history", response_model=ReprintHistoryOut)
def get_reprint_history(code: str, request: Request, _: Reader) -> ReprintHistoryOut:
    """The reprint chain `code` belongs to, from its root, and the chain's totals."""
    with runtime_of(request).uow(read_only=True) as uow:
        return service.reprint_history(uow, code)


@router.post("/production-orders/{code}/schedule", response_model=OrderDetail)
def schedule_order(
    code: str, request: Request, _: Writer, body: OrderSchedule | None = None
) -> JSONResponse:
    data = body or OrderSchedule()
    return run_command(request, lambda uow: service.schedule_order(uow, code, data))


@router.post("/production-orders/{code}/start", response_model=OrderDetail)
async def start_order(
    code: str, request: Request, _: Runner, body: OrderStart | None = None
) -> JSONResponse:
    """Reserve the order's components through inventory, then put it in progress. Short of
    material: 409 `insufficient_stock` with the shortages (inventory's answer), unless
    `allow_insufficient`, which starts it and records them on the order."""
    allow_insufficient = body.allow_insufficient if body is not None else False
    plan = await run_in_threadpool(_plan_start, request, code)
    answer = None
    if plan is not None:
        answer = service.read_reservation(
            await call_peer(
                request,
                "inventory",
                "POST",
                "/api/v1/reservations",
                json=plan.reservation(allow_insufficient),
                idempotency_key=f"reserve-{code}",
            )
        )
    try:
        response: JSONResponse = await run_in_threadpool(
            run_command, request, lambda uow: service.record_start(uow, code, plan, answer)
        )
    except PortalError:
        if plan is not None and await run_in_threadpool(_not_started, request, code):
            await _release_reservation(request, code)
        raise
    return response


def _plan_start(request: Request, code: str) -> service.StartPlan | None:
    with runtime_of(request).uow(read_only=True) as uow:
        return service.plan_start(uow, code)


def _not_started(request: Request, code: str) -> bool:
    with runtime_of(request).uow(read_only=True) as uow:
        return service.not_started(uow, code)


async def _release_reservation(request: Request, code: str) -> None:
    """Give back what this start reserved for an order that did not start (cancelled meanwhile,
    nothing in stock at all, a reused Idempotency-Key...). Best effort: the start is refused
    whatever happens here, and a reservation left open is released when inventory hears the
    order cancelled."""
    try:
        await call_peer(
            request, "inventory", "DELETE", f"/api/v1/reservations/production_order/{code}"
        )
    except PortalError as exc:
        log.warning("production.start.release_failed", order_code=code, error=str(exc))


@router.post("/production-orders/{code}/runs", status_code=201, response_model=RunResult)
def record_run(code: str, body: RunCreate, request: Request, _: Runner) -> JSONResponse:
    settings = runtime_of(request).settings
    return run_command(
        request, lambda uow: service.record_run(uow, code, body, settings), status_code=201
    )


@router.post("/production-orders/{code}/qc", status_code=201, response_model=QcResult)
def record_qc(code: str, body: QcCreate, request: Request, _: Inspector) -> JSONResponse:
    settings = runtime_of(request).settings
    return run_command(
        request, lambda uow: service.record_qc(uow, code, body, settings), status_code=201
    )


@router.post("/production-orders/{code}/cancel", response_model=OrderDetail)
def cancel_order(code: str, body: OrderCancel, request: Request, _: Writer) -> JSONResponse:
    return run_command(request, lambda uow: service.cancel_order(uow, code, body))
