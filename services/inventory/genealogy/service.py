"""Lot genealogy read from the ledger: what went into a lot, and where a lot went.

Every issue of a component lot to a production order is a ledger row (`issue`, its WIP leg
positive, reference = the order), a de-issue another (`return`, its WIP leg negative), and every
unit an order puts into stock is one too (`production_receipt` for good output, `scrap` for bad,
under lot = the order code). So both questions are walks over the ledger, one level at a time:

- sources: lot -> the orders that produced it (rows of the lot, by the (item_id, lot) index) ->
  the lots issued to them (rows of the orders, by the (reference_type, reference) index) -> ...
- uses: lot -> the orders it was issued to -> the lots they produced -> ... -> shipments.

Two statements a level, whatever the number of lots on it, then one each for the lots' origins
(vendor, PO, receipt from `lots`), their receipts, where they are now, their shipments (ledger
rows of type "shipment") and the shipments' sales orders and customers (shipping's own table):
a recall of a lot that fed hundreds of orders is a handful of indexed queries (bench/genealogy.py).
The answer's models are built with `model_construct`: the values come typed from the database,
and validating thousands of them again took most of a large recall's time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, func, or_, select

from services.inventory.genealogy.schemas import (
    BalanceHere,
    ConsumedLot,
    LotOrigin,
    LotSourcesOut,
    LotUsesOut,
    OrderNode,
    ProducedLot,
    ReceiptOut,
    ShipmentOut,
    SourceLot,
    UsedLot,
)
from services.inventory.models import Item, Lot, StockBalance, StockTransaction
from services.inventory.shipping.service import shipment_parties
from shared.i18n import _
from shared.uow import UnitOfWork
from shared.web.problems import NotFound

ZERO = Decimal(0)
PRODUCTION_ORDER = "production_order"
WIP = "WIP"
ISSUE = "issue"
RETURN = "return"
GOOD_OUTPUT = "production_receipt"
BAD_OUTPUT = "scrap"
RECEIPT = "receipt"
# Ledger rows that take stock out of the plant to a customer (services/inventory/shipping): one
# negative FG row per lot shipped, txn_type and reference_type "shipment", reference = its id.
SHIPMENT = "shipment"
ON_HAND = ("RAW", "QC", "FG")
# No plant nests assemblies this deep; the bound only stops a walk that went wrong.
MAX_DEPTH = 50

LotKey = tuple[int, str]  # (item_id, lot code)


@dataclass
class _Order:
    code: str
    depth: int
    consumed: dict[LotKey, list[Decimal]] = field(default_factory=dict)  # [issued, returned]
    produced: dict[LotKey, list[Decimal]] = field(default_factory=dict)  # [good, bad]


def lot_sources(uow: UnitOfWork, sku: str, lot: str) -> LotSourcesOut:
    """Which orders made the lot, which component lots went into them, down to purchased lots
    with their vendor, purchase order and receipts."""
    root = _lot_key(uow, sku, lot)
    orders: dict[str, _Order] = {}
    depth_of: dict[LotKey, int] = {root: 0}
    used_by: dict[LotKey, list[str]] = defaultdict(list)
    frontier = {root}
    depth = 0
    while frontier and depth < MAX_DEPTH:
        depth += 1
        makers = _orders_producing(uow, frontier) - orders.keys()
        if not makers:
            break
        for code in makers:
            orders[code] = _Order(code, depth)
        _load_orders(uow, orders, makers)
        frontier = set()
        for code in sorted(makers):
            for key in orders[code].consumed:
                used_by[key].append(code)
                if key not in depth_of:
                    depth_of[key] = depth
                    frontier.add(key)
    components = [key for key in depth_of if key != root]
    names = _items(uow, {key[0] for key in depth_of} | _produced_items(orders))
    origins = _origins(uow, depth_of.keys(), names)
    return LotSourcesOut(
        lot=origins[root],
        orders=_order_nodes(orders, names),
        component_lots=[
            SourceLot.model_construct(
                **dict(origins[key]),
                depth=depth_of[key],
                used_by_orders=sorted(set(used_by[key])),
            )
            for key in sorted(components, key=lambda k: (depth_of[k], names[k[0]][0], k[1]))
        ],
        vendors=sorted(
            {vendor for key in components if (vendor := origins[key].vendor_code) is not None}
        ),
    )


def lot_uses(uow: UnitOfWork, sku: str, lot: str) -> LotUsesOut:
    """Which orders the lot was issued to, the lots they made, up through the assemblies made
    of those, where each of those lots is now, and the shipments and customers they went to."""
    root = _lot_key(uow, sku, lot)
    orders: dict[str, _Order] = {}
    depth_of: dict[LotKey, int] = {root: 0}
    made_by: dict[LotKey, str] = {}
    frontier = {root}
    depth = 0
    while frontier and depth < MAX_DEPTH:
        depth += 1
        issued = _issues_of_lots(uow, frontier)
        new_orders = {code for code, _key, _kind, _qty in issued} - orders.keys()
        for code in new_orders:
            orders[code] = _Order(code, depth)
        for code, key, kind, qty in issued:
            # Also to an order met before through another lot of the family: each lot is on
            # one frontier only, so nothing is counted twice.
            _add(orders[code].consumed, key, 0 if kind == ISSUE else 1, qty)
        if not new_orders:
            break
        frontier = set()
        for code, key, kind, qty in _outputs_of_orders(uow, new_orders):
            _add(orders[code].produced, key, 0 if kind == GOOD_OUTPUT else 1, qty)
            made_by.setdefault(key, code)
            if key not in depth_of:
                depth_of[key] = depth
                frontier.add(key)
    made = [key for key in depth_of if key != root]
    names = _items(uow, {key[0] for key in depth_of} | _consumed_items(orders))
    origins = _origins(uow, depth_of.keys(), names, with_receipts=False)
    where = _where_now(uow, made)
    shipments = _shipments(uow, depth_of.keys(), names)
    return LotUsesOut(
        lot=_origins(uow, [root], names)[root],
        orders=_order_nodes(orders, names),
        finished_lots=[
            UsedLot.model_construct(
                **dict(origins[key]),
                depth=depth_of[key],
                made_by_order=made_by.get(key),
                on_hand=where.get(key, []),
            )
            for key in sorted(made, key=lambda k: (depth_of[k], names[k[0]][0], k[1]))
        ],
        shipments=shipments,
        customers=sorted({s.customer_code for s in shipments if s.customer_code}),
    )


# -- the walk ----------------------------------------------------------------------------------


def _lot_key(uow: UnitOfWork, sku: str, lot: str) -> LotKey:
    """The lot asked about, which must exist: on record, or at least in the ledger."""
    item_id = uow.session.scalar(select(Item.id).where(Item.sku == sku))
    if item_id is None:
        raise NotFound(_("no item with SKU '{sku}'", sku=sku), field="sku")
    known = uow.session.scalar(
        select(Lot.id).where(Lot.item_id == item_id, Lot.code == lot).limit(1)
    ) or uow.session.scalar(
        select(StockTransaction.id)
        .where(StockTransaction.item_id == item_id, StockTransaction.lot == lot)
        .limit(1)
    )
    if known is None:
        raise NotFound(_("{sku} has no lot {lot}.", sku=sku, lot=lot), field="lot")
    return item_id, lot


def _of_lots(keys: Iterable[LotKey]) -> ColumnElement[bool]:
    """Ledger rows of these lots: one (item_id = ? AND lot IN (…)) per item, so each part is a
    range of the (item_id, lot) index.

    A query by lot filters on nothing else indexed: with `reference_type = ?` beside it,
    SQLite (no statistics without ANALYZE) takes the (reference_type, reference) index for
    the equality and reads every production-order row; the reference type is checked on the
    few rows of the lot instead."""
    by_item: dict[int, set[str]] = defaultdict(set)
    for item_id, lot in keys:
        by_item[item_id].add(lot)
    return or_(
        *(
            and_(StockTransaction.item_id == item_id, StockTransaction.lot.in_(sorted(lots)))
            for item_id, lots in sorted(by_item.items())
        )
    )


def _of_orders(codes: Iterable[str]) -> ColumnElement[bool]:
    return and_(
        StockTransaction.reference_type == PRODUCTION_ORDER,
        StockTransaction.reference.in_(sorted(codes)),
    )


def _orders_producing(uow: UnitOfWork, lots: set[LotKey]) -> set[str]:
    """The production orders that put any of these lots into stock (good or bad)."""
    rows = uow.session.execute(
        select(StockTransaction.reference_type, StockTransaction.reference)
        .where(_of_lots(lots), StockTransaction.txn_type.in_((GOOD_OUTPUT, BAD_OUTPUT)))
        .distinct()
    )
    return {reference for kind, reference in rows if kind == PRODUCTION_ORDER}


def _load_orders(uow: UnitOfWork, orders: dict[str, _Order], codes: set[str]) -> None:
    """What each order consumed (issued and returned, by lot) and produced (good and bad)."""
    rows = uow.session.execute(
        select(
            StockTransaction.reference,
            StockTransaction.item_id,
            StockTransaction.lot,
            StockTransaction.txn_type,
            func.sum(StockTransaction.qty),
        )
        .where(
            _of_orders(codes),
            or_(
                and_(
                    StockTransaction.txn_type.in_((ISSUE, RETURN)),
                    StockTransaction.location_code == WIP,
                ),
                StockTransaction.txn_type.in_((GOOD_OUTPUT, BAD_OUTPUT)),
            ),
        )
        .group_by(
            StockTransaction.reference,
            StockTransaction.item_id,
            StockTransaction.lot,
            StockTransaction.txn_type,
        )
    )
    for code, item_id, lot, kind, qty in rows:
        order = orders[code]
        key = (item_id, lot)
        if kind == ISSUE:
            _add(order.consumed, key, 0, qty)
        elif kind == RETURN:
            _add(order.consumed, key, 1, -qty)  # the WIP leg of a return is negative
        elif kind == GOOD_OUTPUT:
            _add(order.produced, key, 0, qty)
        else:
            _add(order.produced, key, 1, qty)


def _issues_of_lots(uow: UnitOfWork, lots: set[LotKey]) -> list[tuple[str, LotKey, str, Decimal]]:
    """(order, lot, issue|return, qty) for every order these lots were issued to."""
    rows = uow.session.execute(
        select(
            StockTransaction.reference_type,
            StockTransaction.reference,
            StockTransaction.item_id,
            StockTransaction.lot,
            StockTransaction.txn_type,
            func.sum(StockTransaction.qty),
        )
        .where(
            _of_lots(lots),
            StockTransaction.txn_type.in_((ISSUE, RETURN)),
            StockTransaction.location_code == WIP,
        )
        .group_by(
            StockTransaction.reference_type,
            StockTransaction.reference,
            StockTransaction.item_id,
            StockTransaction.lot,
            StockTransaction.txn_type,
        )
    )
    return [
        (code, (item_id, lot), kind, qty if kind == ISSUE else -qty)
        for reference_type, code, item_id, lot, kind, qty in rows
        if reference_type == PRODUCTION_ORDER
    ]


def _outputs_of_orders(uow: UnitOfWork, codes: set[str]) -> list[tuple[str, LotKey, str, Decimal]]:
    """(order, lot, production_receipt|scrap, qty) for what these orders put into stock."""
    rows = uow.session.execute(
        select(
            StockTransaction.reference,
            StockTransaction.item_id,
            StockTransaction.lot,
            StockTransaction.txn_type,
            func.sum(StockTransaction.qty),
        )
        .where(_of_orders(codes), StockTransaction.txn_type.in_((GOOD_OUTPUT, BAD_OUTPUT)))
        .group_by(
            StockTransaction.reference,
            StockTransaction.item_id,
            StockTransaction.lot,
            StockTransaction.txn_type,
        )
    )
    return [(code, (item_id, lot), kind, qty) for code, item_id, lot, kind, qty in rows]


def _add(figures: dict[LotKey, list[Decimal]], key: LotKey, index: int, qty: Decimal) -> None:
    pair = figures.setdefault(key, [ZERO, ZERO])
    pair[index] += qty


# -- what the walk found -----------------------------------------------------------------------


def _items(uow: UnitOfWork, ids: set[int]) -> dict[int, tuple[str, str]]:
    """SKU and name by item id."""
    if not ids:
        return {}
    rows = uow.session.execute(select(Item.id, Item.sku, Item.name).where(Item.id.in_(ids)))
    return {item_id: (sku, name) for item_id, sku, name in rows}


def _produced_items(orders: dict[str, _Order]) -> set[int]:
    return {key[0] for order in orders.values() for key in order.produced}


def _consumed_items(orders: dict[str, _Order]) -> set[int]:
    return {key[0] for order in orders.values() for key in order.consumed}


def _origins(
    uow: UnitOfWork,
    keys: Iterable[LotKey],
    names: dict[int, tuple[str, str]],
    *,
    with_receipts: bool = True,
) -> dict[LotKey, LotOrigin]:
    """Each lot's origin: its row in `lots` (vendor, PO, receipt of its first receipt, or the
    order that made it) and, for purchased lots, every receipt of it. Material received without
    a lot ('') has no origin to name: it cannot be told apart from the item's other receipts."""
    wanted = [key for key in keys if key[1]]
    found: dict[LotKey, Lot] = {}
    receipts: dict[LotKey, list[ReceiptOut]] = defaultdict(list)
    if wanted:
        by_item: dict[int, set[str]] = defaultdict(set)
        for item_id, lot in wanted:
            by_item[item_id].add(lot)
        of_lots = or_(
            *(
                and_(Lot.item_id == item_id, Lot.code.in_(sorted(codes)))
                for item_id, codes in sorted(by_item.items())
            )
        )
        for lot_row in uow.session.scalars(select(Lot).where(of_lots)):
            found[(lot_row.item_id, lot_row.code)] = lot_row
        if with_receipts:
            rows = uow.session.execute(
                select(
                    StockTransaction.item_id,
                    StockTransaction.lot,
                    StockTransaction.reference,
                    StockTransaction.qty,
                    StockTransaction.created_at,
                )
                .where(_of_lots(wanted), StockTransaction.txn_type == RECEIPT)
                .order_by(StockTransaction.id)
            )
            for item_id, code, reference, qty, created_at in rows:
                receipts[(item_id, code)].append(
                    ReceiptOut.model_construct(
                        reference=reference, qty=qty, received_at=created_at.isoformat()
                    )
                )
    origins = {}
    for key in keys:
        item_id, code = key
        sku, name = names[item_id]
        row = found.get(key)
        origins[key] = LotOrigin.model_construct(
            sku=sku,
            name=name,
            lot=code,
            vendor_code=row.vendor_code if row else None,
            po_number=row.po_number if row else None,
            receipt_id=row.receipt_id if row else None,
            order_code=row.order_code if row else None,
            receipts=receipts.get(key, []),
        )
    return origins


def _where_now(uow: UnitOfWork, keys: list[LotKey]) -> dict[LotKey, list[BalanceHere]]:
    """Each lot's non-zero balances: where it can still be found (and quarantined)."""
    if not keys:
        return {}
    by_item: dict[int, set[str]] = defaultdict(set)
    for item_id, lot in keys:
        by_item[item_id].add(lot)
    rows = uow.session.scalars(
        select(StockBalance)
        .where(
            or_(
                *(
                    and_(StockBalance.item_id == item_id, StockBalance.lot.in_(sorted(lots)))
                    for item_id, lots in sorted(by_item.items())
                )
            ),
            StockBalance.qty != 0,
        )
        .order_by(StockBalance.location_code, StockBalance.status)
    )
    where: dict[LotKey, list[BalanceHere]] = defaultdict(list)
    for row in rows:
        where[(row.item_id, row.lot)].append(
            BalanceHere.model_construct(location=row.location_code, status=row.status, qty=row.qty)
        )
    return where


def _shipments(
    uow: UnitOfWork, keys: Iterable[LotKey], names: dict[int, tuple[str, str]]
) -> list[ShipmentOut]:
    """Units of these lots that left the plant: the negative legs of shipment rows."""
    wanted = list(keys)
    rows = uow.session.execute(
        select(
            StockTransaction.item_id,
            StockTransaction.lot,
            StockTransaction.reference_type,
            StockTransaction.reference,
            func.sum(StockTransaction.qty),
            func.min(StockTransaction.created_at),
        )
        .where(_of_lots(wanted), StockTransaction.txn_type == SHIPMENT, StockTransaction.qty < 0)
        .group_by(
            StockTransaction.item_id,
            StockTransaction.lot,
            StockTransaction.reference_type,
            StockTransaction.reference,
        )
        .order_by(func.min(StockTransaction.created_at))
    )
    found = [
        ShipmentOut.model_construct(
            sku=names[item_id][0],
            lot=lot,
            qty=-qty,
            reference_type=reference_type,
            reference=reference,
            shipped_at=shipped_at.isoformat(),
        )
        for item_id, lot, reference_type, reference, qty, shipped_at in rows
        if reference_type == SHIPMENT
    ]
    parties = shipment_parties(uow, {shipment.reference for shipment in found})
    for shipment in found:
        shipment.shipment_id = shipment.reference
        shipment.so_number, shipment.customer_code = parties.get(shipment.reference, (None, None))
    return found


def _order_nodes(orders: dict[str, _Order], names: dict[int, tuple[str, str]]) -> list[OrderNode]:
    nodes = []
    for order in sorted(orders.values(), key=lambda o: (o.depth, o.code)):
        nodes.append(
            OrderNode.model_construct(
                order_code=order.code,
                depth=order.depth,
                consumed=[
                    ConsumedLot.model_construct(
                        sku=names[item_id][0],
                        lot=lot,
                        qty_issued=issued,
                        qty_returned=returned,
                        qty_used=issued - returned,
                    )
                    for (item_id, lot), (issued, returned) in sorted(
                        order.consumed.items(), key=lambda kv: (names[kv[0][0]][0], kv[0][1])
                    )
                ],
                produced=[
                    ProducedLot.model_construct(
                        sku=names[item_id][0], lot=lot, qty_good=good, qty_bad=bad
                    )
                    for (item_id, lot), (good, bad) in sorted(
                        order.produced.items(), key=lambda kv: (names[kv[0][0]][0], kv[0][1])
                    )
                ],
            )
        )
    return nodes
