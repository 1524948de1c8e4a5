"""A production order's material: issue to WIP, relief at run completion, QC decisions, return
on cancel. Material is consumed here and only here, once: at PrintCompleted.

Each effect is keyed by its business id with a unique constraint (order code for the issue,
(order code, run id) for a relief, qc_record_id for a QC decision), so the same effect arriving
in another envelope changes nothing. Effects on an order that has started are serialised by a
lock on its `order_wip` row, taken before the items' locks; the issue itself creates that row
under the items' locks, and the unique order code settles an issue racing a cancellation.

An event that depends on one not applied yet (a PrintCompleted before its ProductionStarted, a
QCPassed before its PrintCompleted) raises `NotReady`: the inbox consumer retries it with
backoff and dead-letters it, replayable from the ops page, if it never becomes applicable.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update

from services.inventory import domain, stock
from services.inventory.domain import LocationCode, StockStatus, UnknownItem
from services.inventory.models import (
    Item,
    OrderWip,
    QcDecision,
    RunReceipt,
    WipComponent,
)
from services.inventory.reservations import service as reservations
from services.inventory.stock import Move, Place
from shared.events.catalogue import (
    FinishedGoodsInspected,
    FinishedGoodsReceived,
    MaterialIssued,
    MaterialReturned,
    PrintCompleted,
    ProductionOrderChanged,
    ProductionStarted,
    QCPassed,
)
from shared.events.envelope import utc_now
from shared.types import Amount, UtcDateTime
from shared.uow import UnitOfWork

ZERO = Decimal(0)
PRODUCTION_ORDER = "production_order"
SALES_ORDER = "sales_order"
# Where an order's components are taken from, in this order: raw stock, then made
# sub-assemblies in finished goods.
ISSUE_FROM = ((LocationCode.RAW, StockStatus.APPROVED), (LocationCode.FG, StockStatus.APPROVED))


class OrderStatus:
    IN_PROGRESS = "in_progress"
    RELIEVED = "relieved"
    CANCELLED = "cancelled"


class NotReady(Exception):
    """The event depends on one not applied yet; the consumer retries it later."""


@dataclass
class _Component:
    """A wip_components row being worked on (remaining = issued - returned - relieved)."""

    id: int
    item_id: int
    lot: str
    from_location: str
    qty_issued: Decimal
    value_issued: Decimal
    qty_returned: Decimal
    value_returned: Decimal
    qty_relieved: Decimal
    value_relieved: Decimal

    @property
    def qty_left(self) -> Decimal:
        return self.qty_issued - self.qty_returned - self.qty_relieved

    @property
    def value_left(self) -> Decimal:
        return self.value_issued - self.value_returned - self.value_relieved


# -- ProductionStarted ---------------------------------------------------------------------------


def issue_order(uow: UnitOfWork, started: ProductionStarted, source_event_id: str) -> None:
    """Turn the order's reservation into an issue to WIP, FIFO by lot, at the lots' unit cost.

    For each component: min(the quantity the event lists, what its reservation still holds),
    from RAW approved and then FG approved, lot kept; one MaterialIssued per component lot. The
    order's reservation lines all close (what was not issued is released). An order with no
    reservation at all (started without the HTTP call) reserves what is available first. An
    order already issued, or cancelled before its start arrived, changes nothing.
    """
    session = uow.session
    book = stock.lock_items(
        uow, skus=[started.sku, *(component.sku for component in started.components)]
    )
    if session.execute(_ORDER_WIP, {"code": started.order_code}).first() is not None:
        return
    product = book.item(started.sku)
    if product is None:
        raise UnknownItem(started.sku)
    lines = reservations.lines_of(uow, PRODUCTION_ORDER, started.order_code)
    if not lines:
        reservations.reserve(
            uow,
            PRODUCTION_ORDER,
            started.order_code,
            [reservations.Line(c.sku, c.qty) for c in started.components if book.item(c.sku)],
            allow_insufficient=True,
            book=book,
            save=False,
        )
        lines = reservations.lines_of(uow, PRODUCTION_ORDER, started.order_code)
    line_of_item = {line.item_id: line for line in lines if line.line_no == 0}
    issued_by_item: dict[int, Decimal] = {}
    components: list[dict[str, Any]] = []
    value_issued = ZERO
    for component in started.components:
        item = book.item(component.sku)
        if item is None:
            raise UnknownItem(component.sku)
        line = line_of_item.get(item.id)
        held = line.remaining - issued_by_item.get(item.id, ZERO) if line else ZERO
        wanted = min(component.qty, held)
        for place, qty in stock.pick_fifo(book, item.id, wanted, ISSUE_FROM, lot=component.lot):
            moved = stock.move(
                book,
                Move(
                    item.id,
                    qty,
                    "issue",
                    PRODUCTION_ORDER,
                    started.order_code,
                    source=place,
                    destination=Place(LocationCode.WIP, place.lot),
                ),
            )
            issued_by_item[item.id] = issued_by_item.get(item.id, ZERO) + qty
            value_issued += moved.value
            components.append(
                {
                    "order_code": started.order_code,
                    "item_id": item.id,
                    "lot": place.lot,
                    "from_location": place.location,
                    "qty_issued": qty,
                    "value_issued": moved.value,
                    "qty_returned": ZERO,
                    "value_returned": ZERO,
                    "qty_relieved": ZERO,
                    "value_relieved": ZERO,
                }
            )
            uow.add_event(
                MaterialIssued(
                    order_code=started.order_code,
                    sku=item.sku,
                    qty=qty,
                    unit_cost=moved.unit_cost,
                    value=moved.value,
                    lot=place.lot or None,
                    from_location=place.location,
                    issued_at=started.started_at,
                ),
                key=started.order_code,
            )
    reservations.write_issues(
        uow,
        [
            reservations.issue_change(
                book, line, issued_by_item.get(line.item_id, ZERO), close=True
            )
            for line in lines
            if line.status == reservations.OPEN
        ],
    )
    now = utc_now()
    session.execute(
        _INSERT_ORDER_WIP,
        {
            "order_code": started.order_code,
            "item_id": product.id,
            "so_number": started.so_number,
            "so_line_no": started.so_line_no,
            "qty_to_make": started.qty,
            "qty_good": ZERO,
            "qty_bad": ZERO,
            "qty_passed": ZERO,
            "qty_failed": ZERO,
            "value_issued": value_issued,
            "value_returned": ZERO,
            "value_relieved": ZERO,
            "started_event_id": source_event_id,
            "status": OrderStatus.IN_PROGRESS,
            "created_at": now,
            "updated_at": now,
        },
    )
    if components:
        session.execute(_INSERT_COMPONENT, _merge_same_lot(components))
    stock.save(uow, book, source_event_id=source_event_id)


def _merge_same_lot(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (item, lot, location): a component listed twice issues into one row."""
    merged: dict[tuple[int, str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["item_id"], row["lot"], row["from_location"])
        if key in merged:
            merged[key]["qty_issued"] += row["qty_issued"]
            merged[key]["value_issued"] += row["value_issued"]
        else:
            merged[key] = dict(row)
    return list(merged.values())


# -- PrintCompleted ------------------------------------------------------------------------------


def relieve_run(uow: UnitOfWork, run: PrintCompleted, source_event_id: str) -> None:
    """Consume the run's share of the order's WIP and book its output.

    The final run takes all the order's WIP that is left (its WIP value ends at exactly 0);
    another run takes the share its output is of what the order still has to make (see
    `domain.relief_share`). Good units go to the QC hold (or FG when the run says no QC) and bad
    units to SCRAP with the scrap code, under lot = order code, at the relieved value split by
    quantity; FinishedGoodsReceived carries the values. The first receipt of a product creates
    its balance and lot: no set-up needed.
    """
    session = uow.session
    order = session.execute(_LOCK_ORDER_WIP, {"code": run.order_code}).first()
    if order is None:
        raise NotReady(f"{run.order_code}: PrintCompleted before its ProductionStarted")
    done = {"code": run.order_code, "run": run.run_id}
    if session.execute(_RUN_RECEIPT, done).first() is not None:
        return
    components = _components(uow, run.order_code)
    book = stock.lock_items(uow, item_ids=[order.item_id, *(c.item_id for c in components)])
    product = book.items[order.item_id]
    run_qty = run.qty_good + run.qty_bad
    still_to_make = order.qty_to_make - order.qty_good - order.qty_bad
    relieved = ZERO
    changes: list[dict[str, Any]] = []
    for component in components:
        qty, value = domain.relief_share(
            component.qty_left,
            component.value_left,
            run_qty,
            still_to_make,
            final_run=run.final_run,
        )
        if qty <= 0:
            continue
        stock.move(
            book,
            Move(
                component.item_id,
                qty,
                "consume",
                PRODUCTION_ORDER,
                run.order_code,
                source=Place(LocationCode.WIP, component.lot),
                value=value,
                notes=f"run {run.run_id}",
            ),
        )
        relieved += value
        component.qty_relieved += qty
        component.value_relieved += value
        changes.append(_component_figures(component))
    value_good, value_bad = domain.split_good_and_bad(relieved, run.qty_good, run.qty_bad)
    to_status = StockStatus.PENDING_QC if run.requires_qc else StockStatus.APPROVED
    lot = run.order_code
    stock.record_lot(book, product.id, lot, stock.LotOrigin(order_code=run.order_code))
    if run.qty_good > 0:
        good_place = (
            Place(LocationCode.QC, lot, StockStatus.PENDING_QC)
            if run.requires_qc
            else Place(LocationCode.FG, lot)
        )
        stock.move(
            book,
            Move(
                product.id,
                run.qty_good,
                "production_receipt",
                PRODUCTION_ORDER,
                run.order_code,
                destination=good_place,
                value=value_good,
                notes=run.notes,
            ),
        )
    if run.qty_bad > 0:
        stock.move(
            book,
            Move(
                product.id,
                run.qty_bad,
                "scrap",
                PRODUCTION_ORDER,
                run.order_code,
                destination=Place(LocationCode.SCRAP, lot),
                value=value_bad,
                reason_code=run.scrap_reason_code,
                notes=run.notes,
            ),
        )
    unit_cost = domain.unit_cost(relieved, run_qty)
    now = utc_now()
    session.execute(
        _INSERT_RUN_RECEIPT,
        {
            "order_code": run.order_code,
            "run_id": run.run_id,
            "final_run": run.final_run,
            "qty_good": run.qty_good,
            "qty_bad": run.qty_bad,
            "value_good": value_good,
            "value_bad": value_bad,
            "unit_cost": unit_cost,
            "to_status": to_status,
            "scrap_reason_code": run.scrap_reason_code,
            "source_event_id": source_event_id,
            "created_at": now,
        },
    )
    if changes:
        session.execute(_SET_COMPONENT, changes)
    session.execute(
        _SET_ORDER_OUTPUT,
        {
            "order_id": order.id,
            "good": order.qty_good + run.qty_good,
            "bad": order.qty_bad + run.qty_bad,
            "relieved": order.value_relieved + relieved,
            "new_status": OrderStatus.RELIEVED
            if run.final_run and order.status == OrderStatus.IN_PROGRESS
            else order.status,
            "now": now,
        },
    )
    stock.save(uow, book, source_event_id=source_event_id)
    uow.add_event(
        FinishedGoodsReceived(
            order_code=run.order_code,
            run_id=run.run_id,
            sku=product.sku,
            qty_good=run.qty_good,
            qty_bad=run.qty_bad,
            unit_cost=unit_cost,
            value_good=value_good,
            value_bad=value_bad,
            to_status=to_status,
            lot=lot,
            received_at=run.completed_at,
        ),
        key=run.order_code,
    )


# -- QCPassed ------------------------------------------------------------------------------------


def decide_qc(uow: UnitOfWork, decision: QCPassed, source_event_id: str) -> None:
    """Passed units from the QC hold to FG available, failed ones to SCRAP with the reason code,
    at the held unit cost; nothing is consumed. A make-to-order order's passed units are
    allocated to its sales order line (a sales_order reservation), so nobody else sells them."""
    session = uow.session
    order = session.execute(_LOCK_ORDER_WIP, {"code": decision.order_code}).first()
    if order is None:
        raise NotReady(f"{decision.order_code}: QCPassed before its ProductionStarted")
    if session.execute(_QC_DECISION, {"record": decision.qc_record_id}).first() is not None:
        return
    book = stock.lock_items(uow, item_ids=[order.item_id])
    product = book.items[order.item_id]
    held_at = Place(LocationCode.QC, decision.order_code, StockStatus.PENDING_QC)
    held = book.balance(product.id, held_at)
    inspected = decision.qty_passed + decision.qty_failed
    if held is None or held.qty < inspected:
        raise NotReady(
            f"{decision.order_code}: QC of {inspected} but "
            f"{held.qty if held else 0} held in QC (its PrintCompleted not applied yet?)"
        )
    value_passed = value_failed = ZERO
    if decision.qty_passed > 0:
        value_passed = stock.move(
            book,
            Move(
                product.id,
                decision.qty_passed,
                "qc_pass",
                PRODUCTION_ORDER,
                decision.order_code,
                source=held_at,
                destination=Place(LocationCode.FG, decision.order_code),
                notes=f"QC {decision.qc_record_id}",
            ),
        ).value
    if decision.qty_failed > 0:
        value_failed = stock.move(
            book,
            Move(
                product.id,
                decision.qty_failed,
                "qc_fail",
                PRODUCTION_ORDER,
                decision.order_code,
                source=held_at,
                destination=Place(LocationCode.SCRAP, decision.order_code),
                reason_code=decision.reason_code,
                notes=f"QC {decision.qc_record_id}",
            ),
        ).value
    if order.so_number and decision.qty_passed > 0:
        reservations.allocate(
            uow,
            book,
            SALES_ORDER,
            order.so_number,
            order.so_line_no or 0,
            product.id,
            decision.qty_passed,
        )
    unit_cost = domain.unit_cost(value_passed + value_failed, inspected)
    now = utc_now()
    session.execute(
        _INSERT_QC_DECISION,
        {
            "qc_record_id": decision.qc_record_id,
            "order_code": decision.order_code,
            "run_id": decision.run_id,
            "qty_passed": decision.qty_passed,
            "qty_failed": decision.qty_failed,
            "value_passed": value_passed,
            "value_failed": value_failed,
            "unit_cost": unit_cost,
            "reason_code": decision.reason_code,
            "source_event_id": source_event_id,
            "created_at": now,
        },
    )
    session.execute(
        _SET_ORDER_QC,
        {
            "order_id": order.id,
            "passed": order.qty_passed + decision.qty_passed,
            "failed": order.qty_failed + decision.qty_failed,
            "now": now,
        },
    )
    stock.save(uow, book, source_event_id=source_event_id)
    uow.add_event(
        FinishedGoodsInspected(
            qc_record_id=decision.qc_record_id,
            order_code=decision.order_code,
            sku=product.sku,
            qty_passed=decision.qty_passed,
            qty_failed=decision.qty_failed,
            unit_cost=unit_cost,
            value_passed=value_passed,
            value_failed=value_failed,
            reason_code=decision.reason_code,
            lot=decision.order_code,
            inspected_at=decision.inspected_at,
        ),
        key=decision.order_code,
    )


# -- ProductionOrderChanged ----------------------------------------------------------------------


def apply_order_change(
    uow: UnitOfWork, change: ProductionOrderChanged, source_event_id: str
) -> None:
    """A cancelled order: release its open reservation and return the component WIP not yet
    relieved to where it came from (same lot), one MaterialReturned per lot. Other statuses
    only fill in the sales order line of an issued make-to-order order if it was not known."""
    if change.status == "cancelled":
        cancel_order(uow, change, source_event_id)
    elif change.so_number is not None and change.so_line_no is not None:
        uow.session.execute(
            _SET_SO_LINE,
            {"code": change.order_code, "so_number": change.so_number, "line": change.so_line_no},
        )


def cancel_order(uow: UnitOfWork, change: ProductionOrderChanged, source_event_id: str) -> None:
    """See `apply_order_change`. An order cancelled before its issue gets a cancelled
    `order_wip` row, so a ProductionStarted arriving afterwards issues nothing."""
    session = uow.session
    code = change.order_code
    order = session.execute(_LOCK_ORDER_WIP, {"code": code}).first()
    if order is not None and order.status == OrderStatus.CANCELLED:
        return
    components = _components(uow, code) if order is not None else []
    item_ids = {c.item_id for c in components if c.qty_left > 0}
    item_ids |= {
        line.item_id
        for line in reservations.lines_of(uow, PRODUCTION_ORDER, code)
        if line.status == reservations.OPEN
    }
    product_id = order.item_id if order is not None else _item_id(uow, change.sku)
    book = stock.lock_items(uow, item_ids=item_ids)
    reservations.release_open(uow, PRODUCTION_ORDER, code, book=book, save=False)
    now = utc_now()
    if order is None:
        session.execute(
            _INSERT_ORDER_WIP,
            {
                "order_code": code,
                "item_id": product_id,
                "so_number": change.so_number,
                "so_line_no": change.so_line_no,
                "qty_to_make": change.qty_to_make,
                "qty_good": ZERO,
                "qty_bad": ZERO,
                "qty_passed": ZERO,
                "qty_failed": ZERO,
                "value_issued": ZERO,
                "value_returned": ZERO,
                "value_relieved": ZERO,
                "started_event_id": None,
                "status": OrderStatus.CANCELLED,
                "created_at": now,
                "updated_at": now,
            },
        )
        stock.save(uow, book, source_event_id=source_event_id)
        return
    returned = ZERO
    changes: list[dict[str, Any]] = []
    for component in components:
        qty, value = component.qty_left, component.value_left
        if qty <= 0:
            continue
        moved = stock.move(
            book,
            Move(
                component.item_id,
                qty,
                "return",
                PRODUCTION_ORDER,
                code,
                source=Place(LocationCode.WIP, component.lot),
                destination=Place(component.from_location, component.lot),
                value=value,
            ),
        )
        returned += value
        component.qty_returned += qty
        component.value_returned += value
        changes.append(_component_figures(component))
        uow.add_event(
            MaterialReturned(
                order_code=code,
                sku=book.items[component.item_id].sku,
                qty=qty,
                unit_cost=moved.unit_cost,
                value=value,
                lot=component.lot or None,
                to_location=component.from_location,
                returned_at=now,
            ),
            key=code,
        )
    if changes:
        session.execute(_SET_COMPONENT, changes)
    session.execute(
        _SET_ORDER_CANCELLED,
        {"order_id": order.id, "returned": order.value_returned + returned, "now": now},
    )
    stock.save(uow, book, source_event_id=source_event_id)


# -- helpers -------------------------------------------------------------------------------------


def _components(uow: UnitOfWork, order_code: str) -> list[_Component]:
    rows = uow.session.execute(_COMPONENTS, {"code": order_code})
    return [_Component(**row._asdict()) for row in rows]


def _component_figures(component: _Component) -> dict[str, Any]:
    return {
        "row_id": component.id,
        "q_returned": component.qty_returned,
        "v_returned": component.value_returned,
        "q_relieved": component.qty_relieved,
        "v_relieved": component.value_relieved,
    }


def _item_id(uow: UnitOfWork, sku: str) -> int:
    item_id = uow.session.scalar(select(_ITEMS.c.id).where(_ITEMS.c.sku == sku))
    if item_id is None:
        raise UnknownItem(sku)
    return int(item_id)


_ITEMS = cast(Table, Item.__table__)
_ORDERS = cast(Table, OrderWip.__table__)
_COMPONENTS_TABLE = cast(Table, WipComponent.__table__)
_RUNS = cast(Table, RunReceipt.__table__)
_QC = cast(Table, QcDecision.__table__)

_ORDER_COLUMNS = (
    _ORDERS.c.id,
    _ORDERS.c.item_id,
    _ORDERS.c.so_number,
    _ORDERS.c.so_line_no,
    _ORDERS.c.qty_to_make,
    _ORDERS.c.qty_good,
    _ORDERS.c.qty_bad,
    _ORDERS.c.qty_passed,
    _ORDERS.c.qty_failed,
    _ORDERS.c.value_issued,
    _ORDERS.c.value_returned,
    _ORDERS.c.value_relieved,
    _ORDERS.c.status,
)
_ORDER_WIP = select(*_ORDER_COLUMNS).where(_ORDERS.c.order_code == bindparam("code"))
_LOCK_ORDER_WIP = _ORDER_WIP.with_for_update()
_INSERT_ORDER_WIP = insert(_ORDERS)
_SET_ORDER_OUTPUT = (
    update(_ORDERS)
    .where(_ORDERS.c.id == bindparam("order_id"))
    .values(
        qty_good=bindparam("good", type_=Amount()),
        qty_bad=bindparam("bad", type_=Amount()),
        value_relieved=bindparam("relieved", type_=Amount()),
        status=bindparam("new_status"),
        updated_at=bindparam("now", type_=UtcDateTime()),
    )
)
_SET_ORDER_QC = (
    update(_ORDERS)
    .where(_ORDERS.c.id == bindparam("order_id"))
    .values(
        qty_passed=bindparam("passed", type_=Amount()),
        qty_failed=bindparam("failed", type_=Amount()),
        updated_at=bindparam("now", type_=UtcDateTime()),
    )
)
_SET_ORDER_CANCELLED = (
    update(_ORDERS)
    .where(_ORDERS.c.id == bindparam("order_id"))
    .values(
        value_returned=bindparam("returned", type_=Amount()),
        status=OrderStatus.CANCELLED,
        updated_at=bindparam("now", type_=UtcDateTime()),
    )
)
_SET_SO_LINE = (
    update(_ORDERS)
    .where(
        _ORDERS.c.order_code == bindparam("code"),
        _ORDERS.c.so_line_no.is_(None),
    )
    .values(so_number=bindparam("so_number"), so_line_no=bindparam("line"))
)
_COMPONENTS = (
    select(
        _COMPONENTS_TABLE.c.id,
        _COMPONENTS_TABLE.c.item_id,
        _COMPONENTS_TABLE.c.lot,
        _COMPONENTS_TABLE.c.from_location,
        _COMPONENTS_TABLE.c.qty_issued,
        _COMPONENTS_TABLE.c.value_issued,
        _COMPONENTS_TABLE.c.qty_returned,
        _COMPONENTS_TABLE.c.value_returned,
        _COMPONENTS_TABLE.c.qty_relieved,
        _COMPONENTS_TABLE.c.value_relieved,
    )
    .where(_COMPONENTS_TABLE.c.order_code == bindparam("code"))
    .order_by(_COMPONENTS_TABLE.c.id)
)
_INSERT_COMPONENT = insert(_COMPONENTS_TABLE)
_SET_COMPONENT = (
    update(_COMPONENTS_TABLE)
    .where(_COMPONENTS_TABLE.c.id == bindparam("row_id"))
    .values(
        qty_returned=bindparam("q_returned", type_=Amount()),
        value_returned=bindparam("v_returned", type_=Amount()),
        qty_relieved=bindparam("q_relieved", type_=Amount()),
        value_relieved=bindparam("v_relieved", type_=Amount()),
    )
)
_RUN_RECEIPT = select(_RUNS.c.id).where(
    _RUNS.c.order_code == bindparam("code"), _RUNS.c.run_id == bindparam("run")
)
_INSERT_RUN_RECEIPT = insert(_RUNS)
_QC_DECISION = select(_QC.c.id).where(_QC.c.qc_record_id == bindparam("record"))
_INSERT_QC_DECISION = insert(_QC)
