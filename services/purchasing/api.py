"""Purchasing's HTTP API under /api/v1: parse, call one use case, answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from services.purchasing import service
from services.purchasing.domain import PoStatus
from services.purchasing.schemas import (
    KnownItemOut,
    PurchaseOrderCreate,
    PurchaseOrderOut,
    ReceiptCreate,
    ReceiptOut,
    VendorCreate,
    VendorOut,
)
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.clock import plant_today
from shared.web.commands import new_uow, run_command, runtime_of
from shared.web.pagination import Page, PageParams, page_params, sort_param
from shared.web.security import require_permission

router = APIRouter(prefix="/api/v1", tags=["purchasing"])

VendorReader = Annotated[TokenClaims, Depends(require_permission(Action.VENDORS_READ))]
VendorWriter = Annotated[TokenClaims, Depends(require_permission(Action.VENDORS_WRITE))]
ItemReader = Annotated[TokenClaims, Depends(require_permission(Action.ITEMS_READ))]
OrderReader = Annotated[TokenClaims, Depends(require_permission(Action.PURCHASE_ORDERS_READ))]
OrderWriter = Annotated[TokenClaims, Depends(require_permission(Action.PURCHASE_ORDERS_WRITE))]
Receiver = Annotated[TokenClaims, Depends(require_permission(Action.RECEIPTS_WRITE))]
Pages = Annotated[PageParams, Depends(page_params)]
Search = Annotated[str | None, Query(max_length=100)]
Sort = Annotated[str | None, Depends(sort_param)]


@router.post("/vendors", status_code=201, response_model=VendorOut)
def create_vendor(body: VendorCreate, request: Request, _: VendorWriter) -> JSONResponse:
    return run_command(request, lambda uow: service.create_vendor(uow, body), status_code=201)


@router.get("/vendors", response_model=Page[VendorOut])
def list_vendors(
    request: Request,
    _: VendorReader,
    page: Pages,
    sort: Sort,
    q: Search = None,
) -> Page[VendorOut]:
    """Vendors; `q` finds part of a code or name, `sort` is code, name or active."""
    with new_uow(request) as uow:
        return service.list_vendors(uow, page, q, sort)


@router.get("/vendors/{code}", response_model=VendorOut)
def get_vendor(code: str, request: Request, _: VendorReader) -> VendorOut:
    with new_uow(request) as uow:
        return service.get_vendor(uow, code)


@router.get("/items", response_model=Page[KnownItemOut])
def list_items(
    request: Request,
    _: ItemReader,
    page: Pages,
    q: Search = None,
) -> Page[KnownItemOut]:
    with new_uow(request) as uow:
        return service.list_known_items(uow, page, q)


@router.post("/purchase-orders", status_code=201, response_model=PurchaseOrderOut)
def create_purchase_order(
    body: PurchaseOrderCreate, request: Request, _: OrderWriter
) -> JSONResponse:
    today = plant_today(runtime_of(request).settings)
    return run_command(
        request, lambda uow: service.create_purchase_order(uow, body, today), status_code=201
    )


@router.get("/purchase-orders", response_model=Page[PurchaseOrderOut])
def list_purchase_orders(
    request: Request,
    _: OrderReader,
    page: Pages,
    sort: Sort,
    status: PoStatus | None = None,
    vendor_code: Annotated[str | None, Query(max_length=32)] = None,
    q: Search = None,
    external_ref: Annotated[
        str | None, Query(max_length=64, description="The order with this external reference")
    ] = None,
) -> Page[PurchaseOrderOut]:
    """POs, newest first; `q` finds part of a PO number, `external_ref` the order with that
    external reference (exact); `sort` is number, vendor, status, order_date, expected_date,
    total or created_at (a leading '-' for descending)."""
    with new_uow(request) as uow:
        return service.list_purchase_orders(
            uow,
            page,
            status,
            vendor_code,
            q,
            sort,
            external_ref=(external_ref or "").strip() or None,
        )


@router.get("/purchase-orders/{number}", response_model=PurchaseOrderOut)
def get_purchase_order(number: str, request: Request, _: OrderReader) -> PurchaseOrderOut:
    with new_uow(request) as uow:
        return service.get_purchase_order(uow, number)


@router.post("/purchase-orders/{number}/submit", response_model=PurchaseOrderOut)
def submit_purchase_order(number: str, request: Request, _: OrderWriter) -> JSONResponse:
    return run_command(request, lambda uow: service.submit_purchase_order(uow, number))


@router.post("/purchase-orders/{number}/receipts", status_code=201, response_model=ReceiptOut)
def receive_purchase_order(
    number: str, body: ReceiptCreate, request: Request, user: Receiver
) -> JSONResponse:
    return run_command(
        request,
        lambda uow: service.receive_purchase_order(
            uow, number, body, user.user, runtime_of(request).settings
        ),
        status_code=201,
    )


@router.get("/purchase-orders/{number}/receipts", response_model=list[ReceiptOut])
def list_receipts(number: str, request: Request, _: OrderReader) -> list[ReceiptOut]:
    with new_uow(request) as uow:
        return service.list_receipts(uow, number)
