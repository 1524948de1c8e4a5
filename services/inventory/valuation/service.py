"""Valuation use cases: inventory's value by class and item as of a day, and the value each
document moved, from the balances or the append-only stock ledger. Reads only.

A day is the plant's: "as of 3 March" means every ledger row created before midnight at the
start of 4 March in the plant's time zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, select, type_coerce

from services.inventory.domain import LocationCode
from services.inventory.models import Item, StockBalance, StockTransaction
from services.inventory.shipping.models import Shipment
from services.inventory.valuation import domain
from services.inventory.valuation.domain import Movement, StockValue
from services.inventory.valuation.schemas import (
    ClassValueOut,
    DocumentItemOut,
    DocumentValueOut,
    DocumentValuesOut,
    ItemValueOut,
    ValuationOut,
    ValuationSource,
)
from shared.types import Amount
from shared.uow import UnitOfWork

_StockQuery = Select[str, str, str, str, Decimal, Decimal]


def valuation(
    uow: UnitOfWork, as_of: date, today: date, zone: ZoneInfo, *, items: bool = True
) -> ValuationOut:
    """From the balances when `as_of` is today or later (nothing has moved after now), else
    from the ledger rows created up to the end of that plant-local day; the class totals
    alone when `items` is false."""
    if as_of >= today:
        source = ValuationSource.BALANCES
        stock = _stock_values(uow, _from_balances())
    else:
        source = ValuationSource.LEDGER
        stock = _stock_values(uow, _from_ledger(end_of_day(as_of, zone)))
    result = domain.valuation(stock)
    return ValuationOut(
        as_of=as_of,
        source=source,
        classes=[
            ClassValueOut(inventory_class=kind, value=result.classes[kind])
            for kind in domain.InventoryClass
        ],
        total=result.total,
        items=[
            ItemValueOut(
                sku=item.sku,
                name=item.name,
                inventory_class=item.inventory_class,
                qty=item.qty,
                value=item.value,
            )
            for item in (result.items if items else ())
        ],
    )


def document_values(
    uow: UnitOfWork, date_from: date | None, date_to: date | None, zone: ZoneInfo
) -> DocumentValuesOut:
    """The net value change per (document, class) over the plant-local days given (all of the
    ledger without them), from the stock ledger."""
    conditions = [
        StockTransaction.location_code != LocationCode.SCRAP,
        StockTransaction.reference_type.not_in(sorted(domain.WITHIN_CLASS)),
    ]
    if date_from is not None:
        conditions.append(StockTransaction.created_at >= start_of_day(date_from, zone))
    if date_to is not None:
        conditions.append(StockTransaction.created_at < end_of_day(date_to, zone))
    value = type_coerce(func.sum(StockTransaction.value), Amount())
    query = (
        select(
            StockTransaction.reference_type,
            StockTransaction.reference,
            Shipment.so_number,
            Item.sku,
            Item.make_or_buy,
            StockTransaction.location_code,
            value,
        )
        .join(Item, Item.id == StockTransaction.item_id)
        .outerjoin(
            Shipment,
            and_(
                StockTransaction.reference_type == domain.ReferenceType.SHIPMENT,
                Shipment.shipment_id == StockTransaction.reference,
            ),
        )
        .where(*conditions)
        .group_by(
            StockTransaction.reference_type,
            StockTransaction.reference,
            Shipment.so_number,
            Item.sku,
            Item.make_or_buy,
            StockTransaction.location_code,
        )
    )
    movements = [
        Movement(reference_type, reference, so_number, sku, make_or_buy, location, amount)
        for reference_type, reference, so_number, sku, make_or_buy, location, amount in (
            uow.session.execute(query)
        )
    ]
    return DocumentValuesOut(
        date_from=date_from,
        date_to=date_to,
        documents=[
            DocumentValueOut(
                document_type=row.document.document_type,
                document_ref=row.document.document_ref,
                inventory_class=row.inventory_class,
                value=row.value,
                items=[DocumentItemOut(sku=sku, value=amount) for sku, amount in row.items],
            )
            for row in domain.document_values(movements)
        ],
    )


def start_of_day(day: date, zone: ZoneInfo) -> datetime:
    """Midnight at the start of the plant-local `day`, in UTC (the ledger's times are UTC)."""
    try:
        return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)


def end_of_day(day: date, zone: ZoneInfo) -> datetime:
    """Midnight at the end of the plant-local `day`, in UTC."""
    try:
        return start_of_day(day + timedelta(days=1), zone)
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)


def _from_balances() -> _StockQuery:
    qty = type_coerce(func.sum(StockBalance.qty), Amount())
    value = type_coerce(func.sum(StockBalance.value), Amount())
    return (
        select(Item.sku, Item.name, Item.make_or_buy, StockBalance.location_code, qty, value)
        .join(Item, Item.id == StockBalance.item_id)
        .where(StockBalance.location_code != LocationCode.SCRAP)
        .group_by(Item.sku, Item.name, Item.make_or_buy, StockBalance.location_code)
    )


def _from_ledger(before: datetime) -> _StockQuery:
    qty = type_coerce(func.sum(StockTransaction.qty), Amount())
    value = type_coerce(func.sum(StockTransaction.value), Amount())
    return (
        select(Item.sku, Item.name, Item.make_or_buy, StockTransaction.location_code, qty, value)
        .join(Item, Item.id == StockTransaction.item_id)
        .where(
            StockTransaction.location_code != LocationCode.SCRAP,
            StockTransaction.created_at < before,
        )
        .group_by(Item.sku, Item.name, Item.make_or_buy, StockTransaction.location_code)
    )


def _stock_values(uow: UnitOfWork, query: _StockQuery) -> list[StockValue]:
    return [
        StockValue(sku, name, make_or_buy, location, qty, value)
        for sku, name, make_or_buy, location, qty, value in uow.session.execute(query)
    ]
