"""Inventory use cases. Each takes an open unit of work and leaves the commit to its caller."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import cast

from sqlalchemy import (
    ColumnElement,
    Insert,
    Row,
    Table,
    bindparam,
    func,
    insert,
    select,
    type_coerce,
    update,
)

from services.inventory import domain, stock
from services.inventory.domain import StockStatus, UnknownItem
from services.inventory.models import (
    Item,
    Location,
    Lot,
    Reservation,
    StockBalance,
    StockTransaction,
)
from services.inventory.schemas import (
    BalanceOut,
    ItemCreate,
    ItemOut,
    ItemStockOut,
    ItemUpdate,
    LocationOut,
    StockPage,
    StockRowOut,
    StockTransactionOut,
)
from shared.audit import record_change
from shared.db import dialect_insert
from shared.events.catalogue import ItemUpserted, MaterialReceived, StockChanged
from shared.events.envelope import utc_now
from shared.i18n import _
from shared.settings import Settings
from shared.types import Amount, UtcDateTime
from shared.uow import UnitOfWork
from shared.web.pagination import Page, PageParams, apply_sort, contains_text, paginate
from shared.web.problems import Conflict, NotFound


def seed_locations(uow: UnitOfWork, settings: Settings | None = None) -> None:
    existing = set(uow.session.scalars(select(Location.code)))
    for code, name in domain.SEEDED_LOCATIONS.items():
        if code not in existing:
            uow.session.add(Location(code=code, name=name))


def create_item(uow: UnitOfWork, data: ItemCreate) -> ItemOut:
    if uow.session.scalar(select(Item.id).where(Item.sku == data.sku)) is not None:
        raise Conflict(_("an item with SKU '{sku}' already exists", sku=data.sku), field="sku")
    now = utc_now()
    item = Item(
        **data.model_dump(), average_cost=Decimal(0), active=True, created_at=now, updated_at=now
    )
    uow.session.add(item)
    uow.session.flush()
    out = ItemOut.model_validate(item)
    uow.add_event(ItemUpserted(**out.model_dump()), key=item.sku)
    record_change(uow, "inventory.items.create", "item", item.sku, None, out)
    return out


def get_item(uow: UnitOfWork, sku: str) -> ItemOut:
    return ItemOut.model_validate(_item(uow, sku))


def update_item(uow: UnitOfWork, sku: str, changes: ItemUpdate) -> ItemOut:
    """Change the fields `changes` names; the whole new state goes out as ItemUpserted."""
    item = _item(uow, sku)
    before = ItemOut.model_validate(item)
    values = changes.model_dump(exclude_unset=True)
    if values.get("uom", item.uom) != item.uom and _has_transactions(uow, item.id):
        raise Conflict(
            _(
                "The unit of measure cannot change: item {sku} already has stock transactions "
                "in {uom}.",
                sku=item.sku,
                uom=item.uom,
            ),
            field="uom",
            code="uom_in_use",
        )
    for name, value in values.items():
        setattr(item, name, value)
    item.updated_at = utc_now()
    uow.session.flush()
    out = ItemOut.model_validate(item)
    if out != before:
        uow.add_event(ItemUpserted(**out.model_dump()), key=item.sku)
        record_change(uow, "inventory.items.update", "item", item.sku, before, out)
    return out


def _has_transactions(uow: UnitOfWork, item_id: int) -> bool:
    found = uow.session.scalar(
        select(StockTransaction.id).where(StockTransaction.item_id == item_id).limit(1)
    )
    return found is not None


# The sort names list endpoints take (?sort=name, ?sort=-average_cost).
ITEM_SORTS = {
    "sku": Item.sku,
    "name": Item.name,
    "item_type": Item.item_type,
    "uom": Item.uom,
    "make_or_buy": Item.make_or_buy,
    "reorder_point": Item.reorder_point,
    "reorder_qty": Item.reorder_qty,
    "average_cost": Item.average_cost,
    "family": Item.family,
}
TRANSACTION_SORTS = {
    "id": StockTransaction.id,
    "created_at": StockTransaction.created_at,
    "txn_type": StockTransaction.txn_type,
    "sku": Item.sku,
    "location": StockTransaction.location_code,
    "lot": StockTransaction.lot,
    "status": StockTransaction.status,
    "qty": StockTransaction.qty,
    "unit_cost": StockTransaction.unit_cost,
    "value": StockTransaction.value,
    "reference": StockTransaction.reference,
    "reference_type": StockTransaction.reference_type,
    "reason_code": StockTransaction.reason_code,
}


def list_items(
    uow: UnitOfWork,
    page: PageParams,
    search: str | None = None,
    item_type: str | None = None,
    *,
    make_or_buy: str | None = None,
    active: bool | None = None,
    family: str | None = None,
    sort: str | None = None,
) -> Page[ItemOut]:
    query = select(Item)
    if search:
        query = query.where(contains_text(search, Item.sku, Item.name))
    if item_type:
        query = query.where(Item.item_type == item_type)
    if make_or_buy:
        query = query.where(Item.make_or_buy == make_or_buy)
    if active is not None:
        query = query.where(Item.active == active)
    if family and family.strip():
        query = query.where(Item.family == family.strip())
    query = apply_sort(query, sort, ITEM_SORTS, default="sku", tiebreak=Item.id)
    return paginate(uow.session, query, page, ItemOut.model_validate)


def list_locations(uow: UnitOfWork) -> list[LocationOut]:
    rows = uow.session.scalars(select(Location).order_by(Location.code))
    return [LocationOut.model_validate(r) for r in rows]


def item_stock(uow: UnitOfWork, sku: str) -> ItemStockOut:
    """The item's figures and non-zero balances, read with ONE statement (`_ITEM_STOCK`): the
    item, its balances and its open reservations' remaining quantity come from one snapshot.

    Read with two statements under PostgreSQL's READ COMMITTED, an issue to WIP committing
    between them (RAW down and the reservation closed, in one transaction) was seen half: RAW
    before it and the reservations after it, so available rose and allocated + WIP fell by what
    was issued, figures no committed state ever had (tests/integration/
    test_inventory_stock_read_pg.py). A reservation or release committing meanwhile is the
    same.
    """
    rows = uow.session.execute(_ITEM_STOCK, {"sku": sku}).all()
    if not rows:
        raise NotFound(_("no item with SKU '{sku}'", sku=sku), field="sku")
    item = rows[0]
    balances = [row for row in rows if row.location_code is not None]
    levels = domain.stock_levels(
        [(b.location_code, b.status, b.qty) for b in balances], item.reserved or Decimal(0)
    )
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
    uow: UnitOfWork,
    page: PageParams,
    sku: str | None = None,
    *,
    location: str | None = None,
    txn_type: str | None = None,
    since: datetime | None = None,
    before: datetime | None = None,
    sort: str | None = None,
    lot: str | None = None,
    reference: str | None = None,
    reference_type: str | None = None,
    reason_code: str | None = None,
) -> Page[StockTransactionOut]:
    """The ledger, newest first unless `sort` says otherwise; `since` <= created_at < `before`.

    Every filter is an exact match: a lot or a reference is a code the user copies from a row,
    and an exact match uses the ledger's indexes on (item_id, lot) and (reference_type,
    reference), which a recall search over a large ledger needs.
    """
    query = select(StockTransaction, Item.sku).join(Item, Item.id == StockTransaction.item_id)
    if sku:
        query = query.where(Item.sku == sku)
    if location:
        query = query.where(StockTransaction.location_code == location)
    if txn_type:
        query = query.where(StockTransaction.txn_type == txn_type)
    if lot:
        query = query.where(StockTransaction.lot == lot)
    if reference:
        query = query.where(StockTransaction.reference == reference)
    if reference_type:
        query = query.where(StockTransaction.reference_type == reference_type)
    if reason_code:
        query = query.where(StockTransaction.reason_code == reason_code)
    if since is not None:
        query = query.where(StockTransaction.created_at >= since)
    if before is not None:
        query = query.where(StockTransaction.created_at < before)

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
            reason_code=t.reason_code,
            notes=t.notes,
            created_at=t.created_at.isoformat(),
        )

    query = apply_sort(
        query, sort, TRANSACTION_SORTS, default="-id", tiebreak=StockTransaction.id.desc()
    )
    return paginate(uow.session, query, page, to_out)


STOCK_SORTS = {
    "sku": Item.sku,
    "name": Item.name,
    "item_type": Item.item_type,
    "location": StockBalance.location_code,
    "lot": StockBalance.lot,
    "status": StockBalance.status,
    "qty": StockBalance.qty,
    "value": StockBalance.value,
    "updated_at": StockBalance.updated_at,
}


def list_stock(
    uow: UnitOfWork,
    page: PageParams,
    *,
    sku: str | None = None,
    location: str | None = None,
    lot: str | None = None,
    status: str | None = None,
    item_type: str | None = None,
    hide_zero: bool = True,
    sort: str | None = None,
) -> StockPage:
    """Stock by item, location, lot and status: the balances, filtered, one page of them, and
    the quantity and value of all the balances the filters select.

    A balance that went back to zero stays as a row (the ledger holds the history); `hide_zero`
    leaves those out, as a stock list usually should.
    """
    conditions: list[ColumnElement[bool]] = []
    if sku:
        conditions.append(Item.sku == sku)
    if location:
        conditions.append(StockBalance.location_code == location)
    if lot:
        conditions.append(StockBalance.lot == lot)
    if status:
        conditions.append(StockBalance.status == status)
    if item_type:
        conditions.append(Item.item_type == item_type)
    if hide_zero:
        conditions.append(StockBalance.qty != 0)
    qty_total, value_total = uow.session.execute(
        select(
            func.coalesce(func.sum(StockBalance.qty), 0),
            func.coalesce(func.sum(StockBalance.value), 0),
        )
        .select_from(StockBalance)
        .join(Item, Item.id == StockBalance.item_id)
        .where(*conditions)
    ).one()
    query = (
        select(StockBalance, Item.sku, Item.name, Item.item_type, Item.uom)
        .join(Item, Item.id == StockBalance.item_id)
        .where(*conditions)
    )
    query = apply_sort(query, sort, STOCK_SORTS, default="sku", tiebreak=StockBalance.id)
    found = paginate(uow.session, query, page, _stock_row)
    return StockPage(
        items=found.items,
        total=found.total,
        limit=found.limit,
        offset=found.offset,
        qty_total=Decimal(qty_total),
        value_total=Decimal(value_total),
    )


def _stock_row(row: Row[StockBalance, str, str, str, str]) -> StockRowOut:
    balance, sku, name, item_type, uom = row
    return StockRowOut(
        sku=sku,
        name=name,
        item_type=item_type,
        uom=uom,
        location=balance.location_code,
        lot=balance.lot,
        status=balance.status,
        qty=balance.qty,
        value=balance.value,
        unit_cost=domain.unit_cost(balance.value, balance.qty),
        updated_at=balance.updated_at.isoformat(),
    )


def receive_material(uow: UnitOfWork, receipt: MaterialReceived, source_event_id: str) -> None:
    """Put received material into RAW or the QC hold at the value purchasing sent.

    Six statements (seven with a lot not seen on the item's balances yet), all Core, no ORM
    objects: lock the item; load ALL its balances and its open reservations once, after the
    lock, so they include every committed change; then write the lot, the balance, the item's
    average and the ledger row.
    The average cost and StockChanged's figures are computed from the loaded balances.
    """
    session = uow.session
    item_id = session.scalar(_LOCK_ITEM, {"sku": receipt.sku})
    if item_id is None:
        raise UnknownItem(receipt.sku)
    balances = [domain.Balance(*row) for row in session.execute(_BALANCES_OF, {"item": item_id})]
    status = StockStatus(receipt.to_status)
    location = domain.receipt_location(status)
    lot = receipt.lot or ""
    # StockChanged's available and allocated: net of the open reservations.
    allocated = stock.open_reserved(uow, [item_id])[item_id]
    effect = domain.apply_receipt(
        balances, location, lot, status, receipt.qty, receipt.value, allocated
    )
    now = utc_now()
    if lot and not any(balance.lot == lot for balance in balances):
        # A lot already on one of the item's balances has its row (written just before its
        # first balance). Otherwise insert it unless it is there already: the first receipt of
        # a lot names where it came from (vendor, PO, receipt), for its genealogy.
        session.execute(
            _insert_lot(session.get_bind().dialect.name),
            {
                "item_id": item_id,
                "code": lot,
                "created_at": now,
                "vendor_code": receipt.vendor_code,
                "po_number": receipt.po_number,
                "receipt_id": receipt.receipt_id,
            },
        )
    if effect.new_balance:
        session.execute(
            _INSERT_BALANCE,
            {
                "item_id": item_id,
                "location_code": location,
                "lot": lot,
                "status": status,
                "qty": receipt.qty,
                "value": receipt.value,
                "updated_at": now,
            },
        )
    else:
        session.execute(
            _ADD_TO_BALANCE,
            {
                "item": item_id,
                "location": location,
                "lot_code": lot,
                "stock_status": status,
                "add_qty": receipt.qty,
                "add_value": receipt.value,
                "now": now,
            },
        )
    session.execute(
        _SET_AVERAGE_COST, {"item": item_id, "average": effect.average_cost, "now": now}
    )
    session.execute(
        _INSERT_TRANSACTION,
        {
            "txn_type": "receipt",
            "item_id": item_id,
            "location_code": location,
            "lot": lot,
            "status": status,
            "qty": receipt.qty,
            "unit_cost": receipt.unit_cost,
            "value": receipt.value,
            "reference_type": "purchase_order",
            "reference": f"{receipt.po_number}/{receipt.line_no}",
            "source_event_id": source_event_id,
            "created_at": now,
        },
    )
    levels = effect.levels
    uow.add_event(
        StockChanged(
            sku=receipt.sku,
            on_hand=levels.on_hand,
            available=levels.available,
            allocated=levels.allocated,
            pending_qc=levels.pending_qc,
            wip=levels.wip,
            open_reservations=levels.open_reservations,
            average_cost=effect.average_cost,
        ),
        key=receipt.sku,
    )


def _item(uow: UnitOfWork, sku: str) -> Item:
    item = uow.session.scalar(select(Item).where(Item.sku == sku))
    if item is None:
        raise NotFound(_("no item with SKU '{sku}'", sku=sku), field="sku")
    return item


# The stock-changing path works on the tables (Core), not ORM objects, with statements built
# once: an event only binds its values, and the compiled SQL comes from the engine's cache.
_ITEMS = cast(Table, Item.__table__)
_LOTS = cast(Table, Lot.__table__)
_BALANCES = cast(Table, StockBalance.__table__)
_TRANSACTIONS = cast(Table, StockTransaction.__table__)
_RESERVATIONS = cast(Table, Reservation.__table__)
# An item and its non-zero balances (one row with NULL balance columns when it has none), each
# row carrying the item's open reservations' remaining quantity: one statement, one snapshot.
_ITEM_STOCK = (
    select(
        _ITEMS.c.sku,
        _ITEMS.c.uom,
        _ITEMS.c.average_cost,
        type_coerce(
            select(
                func.sum(
                    _RESERVATIONS.c.qty_reserved
                    - _RESERVATIONS.c.qty_issued
                    - _RESERVATIONS.c.qty_released
                )
            )
            .where(_RESERVATIONS.c.item_id == _ITEMS.c.id, _RESERVATIONS.c.status == "open")
            .scalar_subquery(),
            Amount(),
        ).label("reserved"),
        _BALANCES.c.location_code,
        _BALANCES.c.lot,
        _BALANCES.c.status,
        _BALANCES.c.qty,
        _BALANCES.c.value,
    )
    .select_from(
        _ITEMS.outerjoin(_BALANCES, (_BALANCES.c.item_id == _ITEMS.c.id) & (_BALANCES.c.qty != 0))
    )
    .where(_ITEMS.c.sku == bindparam("sku"))
    .order_by(_BALANCES.c.location_code, _BALANCES.c.lot, _BALANCES.c.status)
)

# The item's row, locked until commit: serialises every stock change of one item. Every writer
# of an item's balances takes this lock first, so the balances read AFTER it are the ones this
# transaction changes. They are read by a statement of their own: rows joined to the
# SELECT … FOR UPDATE would, on PostgreSQL, come from the snapshot taken before waiting for the
# lock, i.e. miss a receipt committed meanwhile by another replica.
_LOCK_ITEM = select(_ITEMS.c.id).where(_ITEMS.c.sku == bindparam("sku")).with_for_update()
_BALANCES_OF = select(
    _BALANCES.c.location_code,
    _BALANCES.c.lot,
    _BALANCES.c.status,
    _BALANCES.c.qty,
    _BALANCES.c.value,
).where(_BALANCES.c.item_id == bindparam("item"))
_INSERT_BALANCE = insert(_BALANCES)
_ADD_TO_BALANCE = (
    update(_BALANCES)
    .where(
        _BALANCES.c.item_id == bindparam("item"),
        _BALANCES.c.location_code == bindparam("location"),
        _BALANCES.c.lot == bindparam("lot_code"),
        _BALANCES.c.status == bindparam("stock_status"),
    )
    .values(
        qty=_BALANCES.c.qty + bindparam("add_qty", type_=Amount()),
        value=_BALANCES.c.value + bindparam("add_value", type_=Amount()),
        updated_at=bindparam("now", type_=UtcDateTime()),
    )
)
_SET_AVERAGE_COST = (
    update(_ITEMS)
    .where(_ITEMS.c.id == bindparam("item"))
    .values(
        average_cost=bindparam("average", type_=Amount()),
        updated_at=bindparam("now", type_=UtcDateTime()),
    )
)
_INSERT_TRANSACTION = insert(_TRANSACTIONS)


@cache
def _insert_lot(dialect: str) -> Insert:
    """INSERT … ON CONFLICT (item_id, code) DO NOTHING, for the dialect."""
    return dialect_insert(dialect, _LOTS).on_conflict_do_nothing(
        index_elements=[_LOTS.c.item_id, _LOTS.c.code]
    )
