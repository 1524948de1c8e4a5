"""Vendor items under /api/v1 (docs/purchasing.md "Vendor items"): everyone who sees vendors
reads them; buyers add, change, make preferred, deactivate and reactivate them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from services.purchasing.vendor_items import service
from services.purchasing.vendor_items.schemas import (
    VendorItemCreate,
    VendorItemOut,
    VendorItemUpdate,
)
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.web.commands import new_uow, run_command
from shared.web.pagination import Page, PageParams, page_params, sort_param
from shared.web.security import require_permission

router = APIRouter(prefix="/api/v1", tags=["purchasing-vendor-items"])

Reader = Annotated[TokenClaims, Depends(require_permission(Action.VENDORS_READ))]
Writer = Annotated[TokenClaims, Depends(require_permission(Action.VENDORS_WRITE))]
Pages = Annotated[PageParams, Depends(page_params)]
Sort = Annotated[str | None, Depends(sort_param)]
Search = Annotated[str | None, Query(max_length=100)]
SkuFilter = Annotated[str | None, Query(max_length=64)]
VendorFilter = Annotated[str | None, Query(max_length=32)]


@router.get("/vendors/{code}/items", response_model=Page[VendorItemOut])
def list_items_of_vendor(
    code: str,
    request: Request,
    _: Reader,
    page: Pages,
    sort: Sort,
    active: bool | None = None,
    q: Search = None,
) -> Page[VendorItemOut]:
    """A vendor's items, by SKU; `q` finds part of a SKU, item name or the vendor's part
    number; `sort` is sku, item_name, unit_cost, moq, lead_time_days, preferred or active."""
    with new_uow(request) as uow:
        return service.list_items_of_vendor(uow, code, page, active=active, search=q, sort=sort)


@router.post("/vendors/{code}/items", status_code=201, response_model=VendorItemOut)
def create_vendor_item(
    code: str, body: VendorItemCreate, request: Request, _: Writer
) -> JSONResponse:
    """A vendor's new item (one per vendor and SKU); `preferred: true` un-marks the SKU's
    preferred vendor item elsewhere, in the same transaction."""
    return run_command(
        request, lambda uow: service.create_vendor_item(uow, code, body), status_code=201
    )


@router.get("/vendors/{code}/items/{sku}", response_model=VendorItemOut)
def get_vendor_item(code: str, sku: str, request: Request, _: Reader) -> VendorItemOut:
    with new_uow(request) as uow:
        return service.get_vendor_item(uow, code, sku)


@router.patch("/vendors/{code}/items/{sku}", response_model=VendorItemOut)
def update_vendor_item(
    code: str, sku: str, body: VendorItemUpdate, request: Request, _: Writer
) -> JSONResponse:
    """Change a vendor item; `preferred: true` makes it the SKU's preferred one and un-marks
    the one that was."""
    return run_command(request, lambda uow: service.update_vendor_item(uow, code, sku, body))


@router.post("/vendors/{code}/items/{sku}/deactivate", response_model=VendorItemOut)
def deactivate_vendor_item(code: str, sku: str, request: Request, _: Writer) -> JSONResponse:
    """Stop buying the item here: it is no longer preferred, and suggestions skip it."""
    return run_command(request, lambda uow: service.set_vendor_item_active(uow, code, sku, False))


@router.post("/vendors/{code}/items/{sku}/reactivate", response_model=VendorItemOut)
def reactivate_vendor_item(code: str, sku: str, request: Request, _: Writer) -> JSONResponse:
    return run_command(request, lambda uow: service.set_vendor_item_active(uow, code, sku, True))


@router.get("/vendor-items", response_model=Page[VendorItemOut])
def list_vendor_items(
    request: Request,
    _: Reader,
    page: Pages,
    sort: Sort,
    sku: SkuFilter = None,
    vendor_code: VendorFilter = None,
    preferred: bool | None = None,
    active: bool | None = None,
    q: Search = None,
) -> Page[VendorItemOut]:
    """Vendor items of every vendor, e.g. `?sku=RESIN` for where an item can be bought;
    `sort` as for a vendor's items, or vendor."""
    with new_uow(request) as uow:
        return service.list_vendor_items(
            uow,
            page,
            vendor_code=vendor_code,
            sku=sku,
            preferred=preferred,
            active=active,
            search=q,
            sort=sort,
        )
