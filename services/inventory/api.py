"""Inventory's HTTP API under /api/v1: parse, call one use case, answer."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from services.inventory import service
from services.inventory.schemas import (
    ItemCreate,
    ItemOut,
    ItemStockOut,
    ItemType,
    ItemUpdate,
    LocationOut,
    MakeOrBuy,
    StockPage,
    StockStatusFilter,
    StockTransactionOut,
)
from shared.auth.permissions import Action
from shared.auth.tokens import TokenClaims
from shared.i18n import _
from shared.web.commands import new_uow, run_command, runtime_of
from shared.web.pagination import Page, PageParams, page_params, sort_param
from shared.web.problems import InvalidInput
from shared.web.security import require_permission

router = APIRouter(prefix="/api/v1", tags=["inventory"])

ItemReader = Annotated[TokenClaims, Depends(require_permission(Action.ITEMS_READ))]
StockReader = Annotated[TokenClaims, Depends(require_permission(Action.STOCK_READ))]
Pages = Annotated[PageParams, Depends(page_params)]
Sort = Annotated[str | None, Depends(sort_param)]
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
    sort: Sort,
    q: Annotated[str | None, Query(max_length=100)] = None,
    item_type: ItemType | None = None,
    make_or_buy: MakeOrBuy | None = None,
    active: bool | None = None,
    family: Annotated[
        str | None, Query(max_length=64, description="Only the items of this product family.")
    ] = None,
) -> Page[ItemOut]:
    with new_uow(request) as uow:
        return service.list_items(
            uow,
            page,
            q,
            item_type,
            make_or_buy=make_or_buy,
            active=active,
            family=family,
            sort=sort,
        )


@router.get("/items/{sku}", response_model=ItemOut)
def get_item(sku: str, request: Request, _: ItemReader) -> ItemOut:
    with new_uow(request) as uow:
        return service.get_item(uow, sku)


@router.patch("/items/{sku}", response_model=ItemOut, dependencies=[Depends(can_edit_items)])
def update_item(sku: str, body: ItemUpdate, request: Request) -> JSONResponse:
    return run_command(request, lambda uow: service.update_item(uow, sku, body))


@router.get("/items/{sku}/stock", response_model=ItemStockOut)
def get_item_stock(sku: str, request: Request, _: StockReader) -> ItemStockOut:
    with new_uow(request) as uow:
        return service.item_stock(uow, sku)


@router.get("/locations", response_model=list[LocationOut])
def list_locations(request: Request, _: StockReader) -> list[LocationOut]:
    with new_uow(request) as uow:
        return service.list_locations(uow)


@router.get("/transactions", response_model=Page[StockTransactionOut])
@router.get("/stock-transactions", response_model=Page[StockTransactionOut])
def list_stock_transactions(
    request: Request,
    _reader: StockReader,
    page: Pages,
    sort: Sort,
    sku: Annotated[str | None, Query(max_length=64)] = None,
    location: Annotated[str | None, Query(max_length=16)] = None,
    lot: Annotated[str | None, Query(max_length=64)] = None,
    txn_type: Annotated[str | None, Query(max_length=32)] = None,
    reference_type: Annotated[str | None, Query(max_length=24)] = None,
    reference: Annotated[str | None, Query(max_length=64)] = None,
    reason_code: Annotated[str | None, Query(max_length=32)] = None,
    date_from: Annotated[
        date | None, Query(description="First day, in the plant's time zone.")
    ] = None,
    date_to: Annotated[
        date | None, Query(description="Last day (included), in the plant's time zone.")
    ] = None,
) -> Page[StockTransactionOut]:
    """The stock ledger (also at /stock-transactions, its first name), filtered by item,
    location, lot, transaction type, reference, reason and plant-local days."""
    if date_from is not None and date_to is not None and date_to < date_from:
        raise InvalidInput(_("The last day comes before the first day."), field="query.date_to")
    zone = ZoneInfo(runtime_of(request).settings.plant_timezone)
    with new_uow(request) as uow:
        return service.list_transactions(
            uow,
            page,
            sku,
            location=location,
            txn_type=txn_type,
            since=_start_of(date_from, zone),
            before=_start_of(date_to, zone, days_later=1),
            sort=sort,
            lot=lot,
            reference=reference,
            reference_type=reference_type,
            reason_code=reason_code,
        )


@router.get("/stock", response_model=StockPage)
def list_stock(
    request: Request,
    _reader: StockReader,
    page: Pages,
    sort: Sort,
    sku: Annotated[str | None, Query(max_length=64)] = None,
    location: Annotated[str | None, Query(max_length=16)] = None,
    lot: Annotated[str | None, Query(max_length=64)] = None,
    status: StockStatusFilter | None = None,
    item_type: ItemType | None = None,
    hide_zero: Annotated[
        bool, Query(description="Leave out balances that are back to zero.")
    ] = True,
) -> StockPage:
    """Stock by item, location, lot and status, with the totals of every balance selected."""
    with new_uow(request) as uow:
        return service.list_stock(
            uow,
            page,
            sku=sku,
            location=location,
            lot=lot,
            status=status,
            item_type=item_type,
            hide_zero=hide_zero,
            sort=sort,
        )


def _start_of(day: date | None, zone: ZoneInfo, *, days_later: int = 0) -> datetime | None:
    """Midnight of `day` (plus `days_later`) in the plant's time zone, in UTC as the ledger's
    times are; None (no bound) for a day beyond what a time can hold (year 1 or 9999)."""
    if day is None:
        return None
    try:
        moment = datetime.combine(day + timedelta(days=days_later), time.min, tzinfo=zone)
        return moment.astimezone(UTC)
    except OverflowError:
        return None
