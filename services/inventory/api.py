"""Inventory's HTTP API under /api/v1: parse, call one use case, answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from services.inventory import service
from services.inventory.schemas import (
    ItemCreate,
    ItemOut,
    ItemStockOut,
    ItemType,
    LocationOut,
    StockTransactionOut,
)
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.web.commands import new_uow, run_command
from shared.web.pagination import Page, PageParams, page_params
from shared.web.security import require_permission

router = APIRouter(prefix="/api/v1", tags=["inventory"])

ItemReader = Annotated[TokenClaims, Depends(require_permission(Action.ITEMS_READ))]
StockReader = Annotated[TokenClaims, Depends(require_permission(Action.STOCK_READ))]
Pages = Annotated[PageParams, Depends(page_params)]
can_edit_items = require_permission(Action.ITEMS_WRITE)


@router.post(
    "/items", status_code=201, response_model=ItemOut, dependencies=[Depends(can_edit_items)]
)
def create_item(body: ItemCreate, request: Request) -> JSONResponse:
    return run_command(request, lambda uow: service.create_item(uow, body), status_code=201)


@router.get("/items", response_model=Page[ItemOut])
def list_items(
    request: Request,
    _: ItemReader,
    page: Pages,
    q: Annotated[str | None, Query(max_length=100)] = None,
    item_type: ItemType | None = None,
) -> Page[ItemOut]:
    with new_uow(request) as uow:
        return service.list_items(uow, page, q, item_type)


@router.get("/items/{sku}", response_model=ItemOut)
def get_item(sku: str, request: Request, _: ItemReader) -> ItemOut:
    with new_uow(request) as uow:
        return service.get_item(uow, sku)


@router.get("/items/{sku}/stock", response_model=ItemStockOut)
def get_item_stock(sku: str, request: Request, _: StockReader) -> ItemStockOut:
    with new_uow(request) as uow:
        return service.item_stock(uow, sku)


@router.get("/locations", response_model=list[LocationOut])
def list_locations(request: Request, _: StockReader) -> list[LocationOut]:
    with new_uow(request) as uow:
        return service.list_locations(uow)


@router.get("/stock-transactions", response_model=Page[StockTransactionOut])
def list_stock_transactions(
    request: Request, _: StockReader, page: Pages, sku: str | None = None
) -> Page[StockTransactionOut]:
    with new_uow(request) as uow:
        return service.list_transactions(uow, page, sku)
