"""The one stock-movement primitive: every change of an item's balances goes through here.

A use case that moves stock (an issue to WIP, a run's output, a QC decision, a transfer, an
adjustment, a shipment) does four things, in this order:

1. `lock_items(uow, skus=…, item_ids=…)` locks the items' rows (SELECT … FOR UPDATE, in item id
   order, so two transactions locking overlapping items never deadlock) and THEN loads their
   balances and open reservations with statements of their own: read after the lock, they
   include every change committed by whoever held it before (see `_LOCK_ITEM` in service.py).
   The answer is a `StockBook`: the items, their balances and reservations, in memory.
2. `pick_fifo(book, …)` chooses lots, oldest first; `available(book, …)` says what can be
   promised.
3. `move(book, Move(…))` applies a movement in memory: from (location, lot, status) to another,
   or into stock from outside (`source=None`: a receipt, a run's output) or out of it
   (`destination=None`: consumed, shipped). Without an explicit value the quantity is taken at
   the source balance's unit cost, and the last unit takes the remainder, so a balance that
   reaches quantity 0 reaches value 0 exactly. `hold(book, …)` records a change of the open
   reservations the caller writes itself.
4. `save(uow, book, source_event_id=…)` writes it all with a handful of statements (new lots,
   new balances, changed balances, one append-only ledger row per leg, the items' average
   cost), emits one StockChanged per touched item with absolute figures, and returns the items'
   new `StockLevels`.

Core statements built once, like service.py, so the hot paths only bind values. A book is
used once: after `save` it refuses further moves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, cast

from sqlalchemy import Insert, Table, bindparam, func, insert, select, type_coerce, update

from services.inventory import domain
from services.inventory.domain import LocationCode, StockLevels, StockStatus
from services.inventory.models import Item, Lot, Reservation, StockBalance, StockTransaction
from shared.db import dialect_insert
from shared.events.catalogue import StockChanged
from shared.events.envelope import utc_now
from shared.i18n import _
from shared.types import Amount, UtcDateTime
from shared.uow import UnitOfWork
from shared.web.problems import Conflict

ZERO = Decimal(0)


class InsufficientStock(Conflict):
    """A movement would take more out of a balance than it holds (409 insufficient_stock)."""

    def __init__(self, sku: str, place: Place, qty: Decimal, held: Decimal) -> None:
        super().__init__(
            _(
                "Not enough {sku} at {location} (lot '{lot}', {status}): {qty} asked, {held} held.",
                sku=sku,
                location=place.location,
                lot=place.lot,
                status=place.status,
                qty=qty,
                held=held,
            ),
            code="insufficient_stock",
        )
        self.sku = sku
        self.place = place
        self.qty = qty
        self.held = held


@dataclass(frozen=True)
class LockedItem:
    """An item whose row this transaction has locked."""

    id: int
    sku: str
    uom: str
    average_cost: Decimal
    requires_qc: bool


@dataclass(frozen=True)
class Place:
    """Where stock is: a location, a lot ('' when none) and a status."""

    location: str
    lot: str = ""
    status: str = StockStatus.APPROVED


@dataclass(frozen=True)
class Move:
    """One movement of one item. `source=None` brings stock in from outside (needs `value`);
    `destination=None` takes it out (consumed, shipped, scrapped by adjustment). `value=None`
    takes the quantity at the source balance's unit cost. Each leg is one ledger row, signed:
    positive into the destination, negative out of the source."""

    item_id: int
    qty: Decimal
    txn_type: str
    reference_type: str
    reference: str
    source: Place | None = None
    destination: Place | None = None
    value: Decimal | None = None
    reason_code: str | None = None
    notes: str | None = None
    allow_negative: bool = False


@dataclass(frozen=True)
class Moved:
    """What a movement moved: its quantity, value and unit cost (value / qty, four places)."""

    move: Move
    qty: Decimal
    value: Decimal
    unit_cost: Decimal


@dataclass
class BalanceRow:
    """One balance as loaded (`id` None when this transaction creates it)."""

    id: int | None
    place: Place
    qty: Decimal
    value: Decimal
    lot_created_at: datetime | None = None
    changed: bool = False


@dataclass(frozen=True)
class LotOrigin:
    """Where a lot this transaction creates came from (genealogy)."""

    vendor_code: str | None = None
    po_number: str | None = None
    receipt_id: str | None = None
    order_code: str | None = None


@dataclass
class StockBook:
    """The items one transaction has locked, their balances and open reservations, and the
    changes not written yet. Built by `lock_items`, written by `save`."""

    items: dict[int, LockedItem]
    balances: dict[int, dict[Place, BalanceRow]]
    reserved: dict[int, Decimal]
    ledger: list[dict[str, Any]] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)
    lots: dict[tuple[int, str], LotOrigin] = field(default_factory=dict)
    saved: bool = False

    def item(self, sku: str) -> LockedItem | None:
        """The locked item with this SKU, if it was locked."""
        for item in self.items.values():
            if item.sku == sku:
                return item
        return None

    def balance(self, item_id: int, place: Place) -> BalanceRow | None:
        return self.balances[item_id].get(place)

    def levels(self, item_id: int) -> StockLevels:
        """The item's figures as StockChanged carries them (absolute)."""
        rows = self.balances[item_id].values()
        return domain.stock_levels(
            [(row.place.location, row.place.status, row.qty) for row in rows],
            allocated=self.reserved[item_id],
        )


def lock_items(
    uow: UnitOfWork, *, skus: Iterable[str] = (), item_ids: Iterable[int] = ()
) -> StockBook:
    """Lock the items named by SKU or id (in id order) and load their balances and open
    reservations. Items that do not exist are simply absent from the book (see `StockBook.item`).

    Three statements whatever the number of items: the lock, the balances (with their lots'
    dates, for FIFO), the open reservations' remaining quantity per item.
    """
    session = uow.session
    sku_list = sorted(set(skus))
    id_list = sorted(set(item_ids))
    rows: list[Any] = []
    if sku_list and id_list:
        rows = list(session.execute(_lock_by_sku_or_id(), {"skus": sku_list, "ids": id_list}))
    elif sku_list:
        rows = list(session.execute(_LOCK_BY_SKU, {"skus": sku_list}))
    elif id_list:
        rows = list(session.execute(_LOCK_BY_ID, {"ids": id_list}))
    items = {
        row.id: LockedItem(row.id, row.sku, row.uom, row.average_cost, row.requires_qc)
        for row in rows
    }
    balances: dict[int, dict[Place, BalanceRow]] = {item_id: {} for item_id in items}
    reserved = dict.fromkeys(items, ZERO)
    if items:
        found = list(items)
        for row in session.execute(_BALANCES_OF_ITEMS, {"ids": found}):
            place = Place(row.location_code, row.lot, row.status)
            balances[row.item_id][place] = BalanceRow(
                row.id, place, row.qty, row.value, row.lot_created_at
            )
        for item_id, remaining in session.execute(_OPEN_RESERVED, {"ids": found}):
            reserved[item_id] = remaining or ZERO
    return StockBook(items, balances, reserved)


def available(book: StockBook, item_id: int) -> Decimal:
    """What can be promised now: approved stock in RAW and FG less open reservations."""
    return book.levels(item_id).available


def pick_fifo(
    book: StockBook,
    item_id: int,
    qty: Decimal,
    places: Sequence[tuple[str, str]] = ((LocationCode.RAW, StockStatus.APPROVED),),
    *,
    lot: str | None = None,
) -> list[tuple[Place, Decimal]]:
    """Lots to take `qty` from: (location, status) pairs in the order given, within each the
    oldest lot first (no lot before any lot, then by the lot's creation, then the balance's).
    With `lot`, that lot's balances come first. Returns what there is, possibly less than
    `qty`; the caller decides whether short is acceptable."""
    if qty <= 0:
        return []
    candidates: list[tuple[int, int, Any, Any, BalanceRow]] = []
    for row in book.balances[item_id].values():
        try:
            rank = places.index((row.place.location, row.place.status))
        except ValueError:
            continue
        if row.qty <= 0:
            continue
        preferred = 0 if lot is not None and row.place.lot == lot else 1
        created = row.lot_created_at.timestamp() if row.lot_created_at is not None else 0.0
        candidates.append((preferred, rank, created, row.id or 0, row))
    candidates.sort(key=lambda c: (c[0], c[1], c[2], c[3]))
    picks: list[tuple[Place, Decimal]] = []
    left = qty
    for *_rank, row in candidates:
        take = min(row.qty, left)
        picks.append((row.place, take))
        left -= take
        if left == 0:
            break
    return picks


def move(book: StockBook, movement: Move, *, now: datetime | None = None) -> Moved:
    """Apply one movement to the book (in memory) and queue its ledger rows; see `Move`."""
    if book.saved:
        raise RuntimeError("this stock book was saved; lock again for another change")
    if movement.qty <= 0:
        raise ValueError("a movement moves a positive quantity")
    if movement.source is None and movement.destination is None:
        raise ValueError("a movement has a source, a destination or both")
    item = book.items[movement.item_id]
    value = movement.value
    if movement.source is not None:
        row = _row(book, movement.item_id, movement.source)
        if row.qty < movement.qty and not movement.allow_negative:
            raise InsufficientStock(item.sku, movement.source, movement.qty, row.qty)
        if value is None:
            value = (
                domain.value_taken(row.qty, row.value, movement.qty)
                if row.qty > 0
                else domain.quantize(item.average_cost * movement.qty)
            )
        row.qty -= movement.qty
        row.value -= value
        row.changed = True
    if value is None:
        raise ValueError("stock coming in from outside needs its value")
    cost = domain.unit_cost(value, movement.qty)
    when = now or utc_now()
    if movement.source is not None:
        book.ledger.append(
            _ledger_row(movement, movement.source, -movement.qty, cost, -value, when)
        )
    if movement.destination is not None:
        row = _row(book, movement.item_id, movement.destination)
        row.qty += movement.qty
        row.value += value
        row.changed = True
        book.ledger.append(
            _ledger_row(movement, movement.destination, movement.qty, cost, value, when)
        )
        lot = movement.destination.lot
        if (
            lot
            and (movement.item_id, lot) not in book.lots
            and not _lot_on_record(book, movement.item_id, lot)
        ):
            book.lots[(movement.item_id, lot)] = LotOrigin()
    book.touched.add(movement.item_id)
    return Moved(movement, movement.qty, value, cost)


def hold(book: StockBook, item_id: int, delta: Decimal) -> None:
    """Record that the open reservations of the item change by `delta` (the caller writes the
    reservation rows): StockChanged then carries the new `allocated` and `available`."""
    book.reserved[item_id] += delta
    book.touched.add(item_id)


def record_lot(book: StockBook, item_id: int, code: str, origin: LotOrigin) -> None:
    """Create the lot with its origin when saved, unless it exists already."""
    book.lots[(item_id, code)] = origin


def save(
    uow: UnitOfWork,
    book: StockBook,
    *,
    source_event_id: str | None = None,
    emit: bool = True,
) -> dict[int, StockLevels]:
    """Write the book's changes and emit one StockChanged per touched item; returns the touched
    items' new levels by item id.

    Statements: new lots (one executemany, ON CONFLICT DO NOTHING), new balances, changed
    balances (absolute figures: the rows are locked through their item), the ledger rows, the
    items' average cost where their on-hand value per unit changed; each only when needed.
    The average cost is the value of the item's on-hand stock (RAW, QC, FG) per unit, kept when
    nothing is on hand.
    """
    if book.saved:
        raise RuntimeError("this stock book was saved already")
    book.saved = True
    session = uow.session
    now = utc_now()
    if book.lots:
        session.execute(
            _insert_lot(session.get_bind().dialect.name),
            [
                {
                    "item_id": item_id,
                    "code": code,
                    "created_at": now,
                    "vendor_code": origin.vendor_code,
                    "po_number": origin.po_number,
                    "receipt_id": origin.receipt_id,
                    "order_code": origin.order_code,
                }
                for (item_id, code), origin in book.lots.items()
            ],
        )
    new_rows: list[dict[str, Any]] = []
    changed_rows: list[dict[str, Any]] = []
    for item_id, rows in book.balances.items():
        for row in rows.values():
            if not row.changed:
                continue
            if row.id is None:
                new_rows.append(
                    {
                        "item_id": item_id,
                        "location_code": row.place.location,
                        "lot": row.place.lot,
                        "status": row.place.status,
                        "qty": row.qty,
                        "value": row.value,
                        "updated_at": now,
                    }
                )
            else:
                changed_rows.append(
                    {"row_id": row.id, "new_qty": row.qty, "new_value": row.value, "now": now}
                )
    if new_rows:
        session.execute(_INSERT_BALANCE, new_rows)
    if changed_rows:
        session.execute(_SET_BALANCE, changed_rows)
    if book.ledger:
        for entry in book.ledger:
            entry["source_event_id"] = source_event_id
        session.execute(_INSERT_TRANSACTION, book.ledger)
    levels: dict[int, StockLevels] = {}
    averages: list[dict[str, Any]] = []
    for item_id in sorted(book.touched, key=lambda i: book.items[i].sku):
        item = book.items[item_id]
        levels[item_id] = book.levels(item_id)
        average = _average_cost(book, item_id)
        if average != item.average_cost:
            averages.append({"row_id": item_id, "average": average, "now": now})
            item = LockedItem(item.id, item.sku, item.uom, average, item.requires_qc)
            book.items[item_id] = item
        if emit:
            emit_stock_changed(uow, item, levels[item_id])
    if averages:
        session.execute(_SET_AVERAGE_COST, averages)
    return levels


def emit_stock_changed(uow: UnitOfWork, item: LockedItem, levels: StockLevels) -> None:
    """StockChanged with the item's absolute figures."""
    uow.add_event(
        StockChanged(
            sku=item.sku,
            on_hand=levels.on_hand,
            available=levels.available,
            allocated=levels.allocated,
            pending_qc=levels.pending_qc,
            wip=levels.wip,
            open_reservations=levels.open_reservations,
            average_cost=max(item.average_cost, ZERO),
        ),
        key=item.sku,
    )


def open_reserved(uow: UnitOfWork, item_ids: Sequence[int]) -> dict[int, Decimal]:
    """The open reservations' remaining quantity per item (for reads that do not lock)."""
    remaining = dict.fromkeys(item_ids, ZERO)
    if item_ids:
        for item_id, qty in uow.session.execute(_OPEN_RESERVED, {"ids": list(item_ids)}):
            remaining[item_id] = qty or ZERO
    return remaining


# -- helpers -----------------------------------------------------------------------------------


def _row(book: StockBook, item_id: int, place: Place) -> BalanceRow:
    rows = book.balances[item_id]
    row = rows.get(place)
    if row is None:
        row = rows[place] = BalanceRow(None, place, ZERO, ZERO)
    return row


def _lot_on_record(book: StockBook, item_id: int, lot: str) -> bool:
    """A lot on one of the item's loaded balances has its row (lots are written before their
    first balance)."""
    return any(
        row.place.lot == lot and row.id is not None for row in book.balances[item_id].values()
    )


def _average_cost(book: StockBook, item_id: int) -> Decimal:
    qty, value = domain.on_hand_totals(
        domain.Balance(r.place.location, r.place.lot, r.place.status, r.qty, r.value)
        for r in book.balances[item_id].values()
    )
    if qty <= 0:
        return book.items[item_id].average_cost
    return max(domain.unit_cost(value, qty), ZERO)


def _ledger_row(
    movement: Move, place: Place, qty: Decimal, cost: Decimal, value: Decimal, when: datetime
) -> dict[str, Any]:
    return {
        "txn_type": movement.txn_type,
        "item_id": movement.item_id,
        "location_code": place.location,
        "lot": place.lot,
        "status": place.status,
        "qty": qty,
        "unit_cost": cost,
        "value": value,
        "reference_type": movement.reference_type,
        "reference": movement.reference,
        "reason_code": movement.reason_code,
        "notes": movement.notes,
        "source_event_id": None,
        "created_at": when,
    }


_ITEMS = cast(Table, Item.__table__)
_LOTS = cast(Table, Lot.__table__)
_BALANCES = cast(Table, StockBalance.__table__)
_TRANSACTIONS = cast(Table, StockTransaction.__table__)
_RESERVATIONS = cast(Table, Reservation.__table__)

_LOCKED_COLUMNS = (
    _ITEMS.c.id,
    _ITEMS.c.sku,
    _ITEMS.c.uom,
    _ITEMS.c.average_cost,
    _ITEMS.c.requires_qc,
)
_LOCK_BY_SKU = (
    select(*_LOCKED_COLUMNS)
    .where(_ITEMS.c.sku.in_(bindparam("skus", expanding=True)))
    .order_by(_ITEMS.c.id)
    .with_for_update()
)
_LOCK_BY_ID = (
    select(*_LOCKED_COLUMNS)
    .where(_ITEMS.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_ITEMS.c.id)
    .with_for_update()
)


@cache
def _lock_by_sku_or_id() -> Any:
    return (
        select(*_LOCKED_COLUMNS)
        .where(
            _ITEMS.c.sku.in_(bindparam("skus", expanding=True))
            | _ITEMS.c.id.in_(bindparam("ids", expanding=True))
        )
        .order_by(_ITEMS.c.id)
        .with_for_update()
    )


_BALANCES_OF_ITEMS = (
    select(
        _BALANCES.c.id,
        _BALANCES.c.item_id,
        _BALANCES.c.location_code,
        _BALANCES.c.lot,
        _BALANCES.c.status,
        _BALANCES.c.qty,
        _BALANCES.c.value,
        _LOTS.c.created_at.label("lot_created_at"),
    )
    .select_from(
        _BALANCES.outerjoin(
            _LOTS, (_LOTS.c.item_id == _BALANCES.c.item_id) & (_LOTS.c.code == _BALANCES.c.lot)
        )
    )
    .where(_BALANCES.c.item_id.in_(bindparam("ids", expanding=True)))
)
_OPEN_RESERVED = (
    select(
        _RESERVATIONS.c.item_id,
        type_coerce(
            func.sum(
                _RESERVATIONS.c.qty_reserved
                - _RESERVATIONS.c.qty_issued
                - _RESERVATIONS.c.qty_released
            ),
            Amount(),
        ),
    )
    .where(
        _RESERVATIONS.c.item_id.in_(bindparam("ids", expanding=True)),
        _RESERVATIONS.c.status == "open",
    )
    .group_by(_RESERVATIONS.c.item_id)
)
_INSERT_BALANCE = insert(_BALANCES)
_SET_BALANCE = (
    update(_BALANCES)
    .where(_BALANCES.c.id == bindparam("row_id"))
    .values(
        qty=bindparam("new_qty", type_=Amount()),
        value=bindparam("new_value", type_=Amount()),
        updated_at=bindparam("now", type_=UtcDateTime()),
    )
)
_SET_AVERAGE_COST = (
    update(_ITEMS)
    .where(_ITEMS.c.id == bindparam("row_id"))
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
