"""Inventory use cases. Each takes an open unit of work and leaves the commit to its caller."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Row, func, select

from services.inventory import domain
from services.inventory.domain import LocationCode, StockStatus, UnknownItem
from services.inventory.models import Item, Location, Lot, StockBalance, StockTransaction
from services.inventory.schemas import (
    BalanceOut,
    ItemCreate,
    ItemOut,
    ItemStockOut,
    LocationOut,
    StockTransactionOut,
)
from shared.events.catalogue import ItemUpserted, MaterialReceived, StockChanged
from shared.events.envelope import utc_now
from shared.settings import Settings
from shared.uow import UnitOfWork
from shared.web.pagination import Page, PageParams, paginate
from shared.web.problems import Conflict, NotFound


def seed_locations(uow: UnitOfWork, settings: Settings | None = None) -> None:
    existing = set(uow.session.scalars(select(Location.code)))
    for code, name in domain.SEEDED_LOCATIONS.items():
        if code not in existing:
            uow.session.add(Location(code=code, name=name))


def create_item(uow: UnitOfWork, data: ItemCreate) -> ItemOut:
    if uow.session.scalar(select(Item.id).where(Item.sku == data.sku)) is not None:
        raise Conflict(f"an item with SKU {data.sku!r} already exists", field="sku")
    now = utc_now()
    item = Item(
        **data.model_dump(), average_cost=Decimal(0), active=True, created_at=now, updated_at=now
    )
    uow.session.add(item)
    uow.session.flush()
    out = ItemOut.model_validate(item)
    uow.add_event(ItemUpserted(**out.model_dump()), key=item.sku)
    return out


def get_item(uow: UnitOfWork, sku: str) -> ItemOut:
    return ItemOut.model_validate(_item(uow, sku))


def list_items(
    uow: UnitOfWork, page: PageParams, search: str | None = None, item_type: str | None = None
) -> Page[ItemOut]:
    query = select(Item)
    if search:
        pattern = f"%{search}%"
        query = query.where(Item.sku.ilike(pattern) | Item.name.ilike(pattern))
    if item_type:
        query = query.where(Item.item_type == item_type)
    return paginate(uow.session, query.order_by(Item.sku), page, ItemOut.model_validate)


def list_locations(uow: UnitOfWork) -> list[LocationOut]:
    rows = uow.session.scalars(select(Location).order_by(Location.code))
    return [LocationOut.model_validate(r) for r in rows]


def item_stock(uow: UnitOfWork, sku: str) -> ItemStockOut:
    item = _item(uow, sku)
    balances = list(
        uow.session.scalars(
            select(StockBalance)
            .where(StockBalance.item_id == item.id, StockBalance.qty != 0)
            .order_by(StockBalance.location_code, StockBalance.lot, StockBalance.status)
        )
    )
    levels = domain.stock_levels([(b.location_code, b.status, b.qty) for b in balances])
    return ItemStockOut(
        sku=item.sku,
        uom=item.uom,
        average_cost=item.average_cost,
        on_hand=levels.on_hand,
        available=levels.available,
        allocated=levels.allocated,
        pending_qc=levels.pending_qc,
        wip=levels.wip,
        value=sum(
            (b.value for b in balances if b.location_code in domain.ON_HAND_LOCATIONS), Decimal(0)
        ),
        balances=[
            BalanceOut(
                location=b.location_code, lot=b.lot, status=b.status, qty=b.qty, value=b.value
            )
            for b in balances
        ],
    )


def list_transactions(
    uow: UnitOfWork, page: PageParams, sku: str | None = None
) -> Page[StockTransactionOut]:
    query = select(StockTransaction, Item.sku).join(Item, Item.id == StockTransaction.item_id)
    if sku:
        query = query.where(Item.sku == sku)

    def to_out(row: Row[StockTransaction, str]) -> StockTransactionOut:
        t, item_sku = row
        return StockTransactionOut(
            id=t.id,
            txn_type=t.txn_type,
            sku=item_sku,
            location=t.location_code,
            lot=t.lot,
            status=t.status,
            qty=t.qty,
            unit_cost=t.unit_cost,
            value=t.value,
            reference_type=t.reference_type,
            reference=t.reference,
            created_at=t.created_at.isoformat(),
        )

    return paginate(uow.session, query.order_by(StockTransaction.id.desc()), page, to_out)


def receive_material(uow: UnitOfWork, receipt: MaterialReceived, source_event_id: str) -> None:
    """Put received material into RAW or the QC hold at the value purchasing sent."""
    item = _item_for_update(uow, receipt.sku)
    status = StockStatus(receipt.to_status)
    location = domain.receipt_location(status)
    on_hand_qty, on_hand_value = _on_hand(uow, item.id)
    item.average_cost = domain.moving_average_cost(
        on_hand_qty, on_hand_value, receipt.qty, receipt.value
    )
    item.updated_at = utc_now()
    lot = receipt.lot or ""
    if lot:
        _ensure_lot(uow, item.id, lot)
    _add_to_balance(uow, item.id, location, lot, status, receipt.qty, receipt.value)
    uow.session.add(
        StockTransaction(
            txn_type="receipt",
            item_id=item.id,
            location_code=location,
            lot=lot,
            status=status,
            qty=receipt.qty,
            unit_cost=receipt.unit_cost,
            value=receipt.value,
            reference_type="purchase_order",
            reference=f"{receipt.po_number}/{receipt.line_no}",
            source_event_id=source_event_id,
            created_at=utc_now(),
        )
    )
    _publish_stock_changed(uow, item)


def _item(uow: UnitOfWork, sku: str) -> Item:
    item = uow.session.scalar(select(Item).where(Item.sku == sku))
    if item is None:
        raise NotFound(f"no item with SKU {sku!r}", field="sku")
    return item


def _item_for_update(uow: UnitOfWork, sku: str) -> Item:
    """The item row, locked until commit: serialises every stock change of one item."""
    item = uow.session.scalar(select(Item).where(Item.sku == sku).with_for_update())
    if item is None:
        raise UnknownItem(sku)
    return item


def _on_hand(uow: UnitOfWork, item_id: int) -> tuple[Decimal, Decimal]:
    qty, value = uow.session.execute(
        select(
            func.coalesce(func.sum(StockBalance.qty), 0),
            func.coalesce(func.sum(StockBalance.value), 0),
        ).where(
            StockBalance.item_id == item_id,
            StockBalance.location_code.in_(domain.ON_HAND_LOCATIONS),
        )
    ).one()
    return Decimal(qty), Decimal(value)


def _ensure_lot(uow: UnitOfWork, item_id: int, code: str) -> None:
    exists = uow.session.scalar(select(Lot.id).where(Lot.item_id == item_id, Lot.code == code))
    if exists is None:
        uow.session.add(Lot(item_id=item_id, code=code, created_at=utc_now()))


def _add_to_balance(
    uow: UnitOfWork,
    item_id: int,
    location: LocationCode,
    lot: str,
    status: StockStatus,
    qty: Decimal,
    value: Decimal,
) -> None:
    balance = uow.session.scalar(
        select(StockBalance).where(
            StockBalance.item_id == item_id,
            StockBalance.location_code == location,
            StockBalance.lot == lot,
            StockBalance.status == status,
        )
    )
    if balance is None:
        uow.session.add(
            StockBalance(
                item_id=item_id,
                location_code=location,
                lot=lot,
                status=status,
                qty=qty,
                value=value,
                updated_at=utc_now(),
            )
        )
        return
    balance.qty += qty
    balance.value += value
    balance.updated_at = utc_now()


def _publish_stock_changed(uow: UnitOfWork, item: Item) -> None:
    uow.session.flush()
    rows = uow.session.execute(
        select(StockBalance.location_code, StockBalance.status, StockBalance.qty).where(
            StockBalance.item_id == item.id
        )
    ).all()
    levels = domain.stock_levels([(r[0], r[1], r[2]) for r in rows])
    uow.add_event(
        StockChanged(
            sku=item.sku,
            on_hand=levels.on_hand,
            available=levels.available,
            allocated=levels.allocated,
            pending_qc=levels.pending_qc,
            wip=levels.wip,
            open_reservations=levels.open_reservations,
            average_cost=item.average_cost,
        ),
        key=item.sku,
    )
