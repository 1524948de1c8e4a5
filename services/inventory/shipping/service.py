"""Shipping use cases: keep mrp's sales orders (the read model), ship their lines out of
finished goods, list and read shipments. Each takes an open unit of work and leaves the commit
to its caller.

A shipment moves stock through the one primitive (`services.inventory.stock`): under the items'
locks it takes each line's quantity from the line's allocation (the sales order's reservation,
`reservations`), allocating available FG first when the allocation holds less (a make-to-stock
sale), and issues it out of FG/approved lot by lot (the line's own production lots first, then
oldest first) at the lots' cost. One ledger row per lot, reference_type "shipment" and the
shipment id as reference, so genealogy follows a lot to its shipment and customer; one
OrderShipped with each line's cost and price; StockChanged from `stock.save`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select

from services.inventory import domain as stock_domain
from services.inventory import stock
from services.inventory.domain import LocationCode, StockStatus
from services.inventory.models import OrderWip
from services.inventory.reservations import service as reservations
from services.inventory.shipping import domain
from services.inventory.shipping.domain import OrderLine, ShippingRuleBroken
from services.inventory.shipping.models import (
    KnownSalesOrder,
    KnownSalesOrderLine,
    Shipment,
    ShipmentCounter,
    ShipmentLine,
)
from services.inventory.shipping.schemas import (
    ShipmentCreate,
    ShipmentLineOut,
    ShipmentOut,
    ShippedLotOut,
)
from shared.audit import record_change
from shared.clock import plant_date
from shared.counters import take_next
from shared.events.catalogue import OrderShipped, SalesOrderChanged, ShippedLine
from shared.events.envelope import utc_now
from shared.i18n import _
from shared.settings import Settings
from shared.uow import UnitOfWork
from shared.web.pagination import Page, PageParams, apply_sort, paginate
from shared.web.problems import Conflict, InvalidInput, NotFound

SALES_ORDER = "sales_order"
ZERO = Decimal(0)
FG_APPROVED = ((LocationCode.FG, StockStatus.APPROVED),)

# --------------------------------------------------------------------------------------------
# The read model of sales orders
# --------------------------------------------------------------------------------------------


def remember_sales_order(uow: UnitOfWork, order: SalesOrderChanged, sequence: int) -> None:
    """Keep mrp's sales order as its newest event tells it; an older or repeated event changes
    nothing. When the order is done (cancelled, shipped, closed) what its allocation still holds
    is released, once, when that is first heard, so no finished goods stay held for it (a
    make-to-order line whose QC passed more than was ordered keeps the surplus otherwise)."""
    known = uow.session.get(KnownSalesOrder, order.so_number, with_for_update=True)
    was_done = False
    if known is None:
        known = KnownSalesOrder(so_number=order.so_number, sequence=sequence)
        uow.session.add(known)
    elif sequence <= known.sequence:
        return
    else:
        was_done = known.status in domain.DONE
    known.customer_code, known.status = order.customer_code, order.status
    known.order_date, known.business_unit = order.order_date, order.business_unit
    known.sequence = sequence
    by_line = {line.line_no: line for line in known.lines}
    for line in order.lines:
        row = by_line.pop(line.line_no, None)
        if row is None:
            row = KnownSalesOrderLine(so_number=order.so_number, line_no=line.line_no)
            known.lines.append(row)
        row.sku, row.qty_ordered, row.unit_price = line.sku, line.qty_ordered, line.unit_price
        row.due_date = line.due_date
        row.business_unit = line.business_unit or order.business_unit
    for gone in by_line.values():
        known.lines.remove(gone)
    uow.session.flush()
    if order.status in domain.DONE and not was_done:
        reservations.release_open(uow, SALES_ORDER, order.so_number)


# --------------------------------------------------------------------------------------------
# Shipping
# --------------------------------------------------------------------------------------------


def ship(uow: UnitOfWork, body: ShipmentCreate, shipped_by: str, settings: Settings) -> ShipmentOut:
    """Ship lines of a sales order out of FG; see the module docstring. All or nothing: a line
    refused refuses the shipment, and nothing moves."""
    if body.shipment_id is not None:
        existing = _find(uow, body.shipment_id)
        if existing is not None:
            return _repeat(existing, body)
    order = uow.session.scalar(
        select(KnownSalesOrder)
        .where(KnownSalesOrder.so_number == body.so_number)
        .with_for_update(of=KnownSalesOrder)
    )
    if order is None:
        raise NotFound(
            _("no sales order '{so_number}' is known here", so_number=body.so_number),
            field="so_number",
        )
    wanted = [(line.line_no, line.qty) for line in body.lines]
    lines = _order_lines(uow, order)
    with _rules():
        domain.check_can_ship(order.so_number, order.status)
        domain.check_lines(wanted, lines)

    book = stock.lock_items(uow, skus={lines[line_no].sku for line_no, _qty in wanted})
    now = utc_now()
    day = plant_date(now, settings)
    shipment_id = body.shipment_id or domain.format_shipment_id(
        day.year,
        take_next(uow.session, ShipmentCounter.__table__, "last_number", year=day.year),
    )
    prices = {line.line_no: line.unit_price for line in order.lines}
    own_lots = _production_lots(uow, order.so_number)
    issues: list[dict[str, Any]] = []
    shipped_rows: list[ShipmentLine] = []
    for index, (line_no, qty) in enumerate(wanted):
        line = lines[line_no]
        item = book.item(line.sku)
        if item is None:
            raise InvalidInput(
                _("no item with SKU '{sku}'", sku=line.sku), field=f"lines.{index}.line_no"
            )
        reserved = _reservation_line(uow, order.so_number, item.id, line_no)
        fifo = stock.pick_fifo(book, item.id, _fg_on_hand(book, item.id), FG_APPROVED)
        with _rules():
            extra = domain.extra_allocation(
                index,
                line,
                qty,
                reserved.remaining if reserved else ZERO,
                stock.available(book, item.id),
                sum((held for _place, held in fifo), ZERO),
            )
        if extra > 0:
            reservations.allocate(uow, book, SALES_ORDER, order.so_number, line_no, item.id, extra)
            reserved = _reservation_line(uow, order.so_number, item.id, line_no)
        assert reserved is not None  # allocated just now when there was none
        picks = domain.pick_order(
            [(place.lot, held) for place, held in fifo], own_lots.get(line_no, ()), qty
        )
        moved = [
            stock.move(
                book,
                stock.Move(
                    item_id=item.id,
                    qty=take,
                    txn_type="shipment",
                    reference_type="shipment",
                    reference=shipment_id,
                    source=stock.Place(LocationCode.FG, lot, StockStatus.APPROVED),
                    notes=f"{order.so_number}/{line_no} {order.customer_code}",
                ),
                now=now,
            )
            for lot, take in picks
        ]
        issues.append(reservations.issue_change(book, reserved, qty, close=False))
        price = prices[line_no]
        sales = domain.split_by_qty(
            domain.sales_value(qty, price), [movement.qty for movement in moved]
        )
        for (lot, _take), movement, sales_value in zip(picks, moved, sales, strict=True):
            shipped_rows.append(
                ShipmentLine(
                    so_number=order.so_number,
                    line_no=line_no,
                    sku=line.sku,
                    lot=lot,
                    qty=movement.qty,
                    unit_cost=movement.unit_cost,
                    unit_price=price,
                    cost_value=movement.value,
                    sales_value=sales_value,
                )
            )
    reservations.write_issues(uow, issues)
    stock.save(uow, book)
    shipment = Shipment(
        shipment_id=shipment_id,
        so_number=order.so_number,
        customer_code=order.customer_code,
        business_unit=order.business_unit,
        shipped_at=now,
        ship_date=day,
        shipped_by=shipped_by,
        notes=body.notes,
        lines=shipped_rows,
    )
    uow.session.add(shipment)
    uow.session.flush()
    out = _shipment_out(shipment)
    uow.add_event(
        OrderShipped(
            shipment_id=shipment_id,
            so_number=out.so_number,
            customer_code=out.customer_code,
            business_unit=out.business_unit,
            lines=tuple(
                ShippedLine(
                    line_no=line.line_no,
                    sku=line.sku,
                    qty=line.qty,
                    unit_cost=line.unit_cost,
                    unit_price=line.unit_price,
                    cost_value=line.cost_value,
                    sales_value=line.sales_value,
                    lot=line.lots[0].lot if len(line.lots) == 1 and line.lots[0].lot else None,
                )
                for line in out.lines
            ),
            shipped_at=now,
        ),
        key=out.so_number,
    )
    record_change(uow, "inventory.shipments.create", "shipment", shipment_id, None, out)
    return out


def get_shipment(uow: UnitOfWork, shipment_id: str) -> ShipmentOut:
    shipment = _find(uow, shipment_id)
    if shipment is None:
        raise NotFound(
            _("no shipment '{shipment_id}'", shipment_id=shipment_id), field="shipment_id"
        )
    return _shipment_out(shipment)


@dataclass(frozen=True)
class ShipmentFilters:
    so_number: str | None = None
    customer_code: str | None = None
    date_from: date | None = None
    date_to: date | None = None


SHIPMENT_SORTS: dict[str, Any] = {
    "shipment_id": Shipment.shipment_id,
    "so_number": Shipment.so_number,
    "customer": Shipment.customer_code,
    "shipped_at": Shipment.shipped_at,
    "ship_date": Shipment.ship_date,
}


def list_shipments(
    uow: UnitOfWork, page: PageParams, filters: ShipmentFilters, sort: str | None = None
) -> Page[ShipmentOut]:
    """Shipments, newest first unless `sort` says otherwise; the dates are plant-local days."""
    query = apply_sort(
        _filtered(filters), sort, SHIPMENT_SORTS, default="-shipped_at", tiebreak=Shipment.id
    )
    return paginate(uow.session, query, page, _shipment_out)


def export_rows(
    uow: UnitOfWork, filters: ShipmentFilters, sort: str | None = None
) -> Iterator[list[Any]]:
    """Every lot of every line of the shipments the list shows, one row each (a recall reads
    which lot went to which customer)."""
    query = apply_sort(
        _filtered(filters), sort, SHIPMENT_SORTS, default="-shipped_at", tiebreak=Shipment.id
    )
    for shipment in uow.session.scalars(query):
        for line in shipment.lines:
            yield [
                shipment.shipment_id,
                shipment.ship_date,
                shipment.so_number,
                shipment.customer_code,
                shipment.business_unit,
                line.line_no,
                line.sku,
                line.lot,
                line.qty,
                line.unit_cost,
                line.unit_price,
                line.cost_value,
                line.sales_value,
            ]


def shipment_parties(uow: UnitOfWork, shipment_ids: set[str]) -> dict[str, tuple[str, str]]:
    """(sales order, customer) of each shipment: what genealogy names a shipment by."""
    if not shipment_ids:
        return {}
    rows = uow.session.execute(
        select(Shipment.shipment_id, Shipment.so_number, Shipment.customer_code).where(
            Shipment.shipment_id.in_(sorted(shipment_ids))
        )
    )
    return {shipment_id: (so, customer) for shipment_id, so, customer in rows}


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _filtered(filters: ShipmentFilters) -> Select[Shipment]:
    query = select(Shipment)
    if filters.so_number:
        query = query.where(Shipment.so_number == filters.so_number)
    if filters.customer_code:
        query = query.where(Shipment.customer_code == filters.customer_code)
    if filters.date_from:
        query = query.where(Shipment.ship_date >= filters.date_from)
    if filters.date_to:
        query = query.where(Shipment.ship_date <= filters.date_to)
    return query


def _order_lines(uow: UnitOfWork, order: KnownSalesOrder) -> dict[int, OrderLine]:
    """The order's lines with what inventory has shipped of each (its own shipments, read
    after the order's lock: mrp's echo of them may lag)."""
    shipped = {
        line_no: qty
        for line_no, qty in uow.session.execute(
            select(ShipmentLine.line_no, func.sum(ShipmentLine.qty))
            .where(ShipmentLine.so_number == order.so_number)
            .group_by(ShipmentLine.line_no)
        )
    }
    return {
        line.line_no: OrderLine(
            line.line_no,
            line.sku,
            line.qty_ordered,
            stock_domain.quantize(Decimal(shipped.get(line.line_no) or 0)),
        )
        for line in order.lines
    }


def _reservation_line(
    uow: UnitOfWork, so_number: str, item_id: int, line_no: int
) -> reservations.ReservedLine | None:
    """The order line's allocation (its reservation line), read after the items' locks."""
    for line in reservations.lines_of(uow, SALES_ORDER, so_number):
        if (line.item_id, line.line_no) == (item_id, line_no):
            return line
    return None


def _fg_on_hand(book: stock.StockBook, item_id: int) -> Decimal:
    return sum(
        (
            row.qty
            for row in book.balances[item_id].values()
            if (row.place.location, row.place.status) == FG_APPROVED[0] and row.qty > 0
        ),
        ZERO,
    )


def _production_lots(uow: UnitOfWork, so_number: str) -> dict[int, list[str]]:
    """The lots made for each line of the order (a finished lot is its production order's
    code), oldest order first."""
    lots: dict[int, list[str]] = defaultdict(list)
    rows = uow.session.execute(
        select(OrderWip.so_line_no, OrderWip.order_code)
        .where(OrderWip.so_number == so_number, OrderWip.so_line_no.is_not(None))
        .order_by(OrderWip.id)
    )
    for line_no, code in rows:
        if line_no is not None:
            lots[line_no].append(code)
    return lots


def _find(uow: UnitOfWork, shipment_id: str) -> Shipment | None:
    return uow.session.scalar(select(Shipment).where(Shipment.shipment_id == shipment_id))


def _repeat(shipment: Shipment, body: ShipmentCreate) -> ShipmentOut:
    """A shipment id sent again: the same shipment is answered as it is (shipped once); another
    one under the same id is refused."""
    asked = sorted((line.line_no, line.qty) for line in body.lines)
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for line in shipment.lines:
        totals[line.line_no] += line.qty
    if shipment.so_number != body.so_number or asked != sorted(totals.items()):
        raise Conflict(
            _(
                "shipment {shipment_id} already exists with other lines",
                shipment_id=shipment.shipment_id,
            ),
            field="shipment_id",
        )
    return _shipment_out(shipment)


def _shipment_out(shipment: Shipment) -> ShipmentOut:
    by_line: dict[int, list[ShipmentLine]] = defaultdict(list)
    for row in shipment.lines:
        by_line[row.line_no].append(row)
    lines = []
    for line_no in sorted(by_line):
        rows = by_line[line_no]
        qty = sum((row.qty for row in rows), ZERO)
        cost = sum((row.cost_value for row in rows), ZERO)
        lines.append(
            ShipmentLineOut(
                line_no=line_no,
                sku=rows[0].sku,
                qty=qty,
                unit_cost=stock_domain.unit_cost(cost, qty),
                unit_price=rows[0].unit_price,
                cost_value=cost,
                sales_value=sum((row.sales_value for row in rows), ZERO),
                lots=[
                    ShippedLotOut(
                        lot=row.lot,
                        qty=row.qty,
                        unit_cost=row.unit_cost,
                        cost_value=row.cost_value,
                        sales_value=row.sales_value,
                    )
                    for row in rows
                ],
            )
        )
    return ShipmentOut(
        shipment_id=shipment.shipment_id,
        so_number=shipment.so_number,
        customer_code=shipment.customer_code,
        business_unit=shipment.business_unit,
        shipped_at=shipment.shipped_at,
        ship_date=shipment.ship_date,
        shipped_by=shipment.shipped_by,
        notes=shipment.notes,
        cost_value=sum((line.cost_value for line in lines), ZERO),
        sales_value=sum((line.sales_value for line in lines), ZERO),
        lines=lines,
    )


@contextmanager
def _rules() -> Iterator[None]:
    """Domain rules run inside; a broken one becomes the 409 or 422 the client sees."""
    try:
        yield
    except ShippingRuleBroken as broken:
        error = Conflict if broken.conflict else InvalidInput
        raise error(broken.detail, field=broken.field, code=broken.code) from broken
