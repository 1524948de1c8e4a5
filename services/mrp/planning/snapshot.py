"""The planner's inputs read from mrp's own tables in one go: open sales-order lines with their
customer, reservation and open jobs; stock with open purchase-order quantity; items; released
BOMs; lines, capacity and the jobs already on them. Plain column selects, no ORM objects: a run
reads every open line, and this is most of its time."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.mrp.planning.domain import (
    DEFAULT_SHIFTS,
    ZERO,
    Capacity,
    Component,
    Item,
    Line,
    OpenJob,
    OrderLine,
    PlanInput,
    Stock,
    bom_component,
)
from services.mrp.planning.models import (
    OpenPurchaseLine,
    PlannedBom,
    PlannedBomLine,
    PlannedCapacity,
    PlannedLine,
    StockLevel,
)
from services.mrp.sales.domain import SoStatus
from services.mrp.sales.models import (
    Customer,
    KnownItem,
    LinkedProductionOrder,
    SalesOrder,
    SalesOrderLine,
)

# Sales orders whose lines the MRP plans (draft orders are not promised; shipped, closed and
# cancelled ones need nothing).
PLANNED_SO_STATUSES = (
    SoStatus.OPEN,
    SoStatus.IN_PRODUCTION,
    SoStatus.PARTIAL_QC,
    SoStatus.QC_FAILED,
    SoStatus.READY_TO_SHIP,
    SoStatus.PARTIAL,
)
# Production orders that will still print something.
OPEN_JOB_STATUSES = ("draft", "scheduled", "in_progress")


def open_order_lines(session: Session) -> list[OrderLine]:
    """Every open line with something left to ship, in no particular order.

    A line's own finished goods are what inventory reserved for it plus what its own jobs
    passed through QC and has not shipped (make-to-order output is the line's, the way its
    sales-order status counts it), never more than it still needs."""
    production = _production_by_line(session)
    query = (
        select(
            SalesOrder.number,
            SalesOrderLine.line_no,
            SalesOrderLine.sku,
            Customer.code,
            Customer.name,
            Customer.priority,
            func.coalesce(SalesOrderLine.business_unit, SalesOrder.business_unit),
            SalesOrderLine.due_date,
            SalesOrderLine.qty_ordered,
            SalesOrderLine.qty_shipped,
            SalesOrderLine.qty_allocated,
            SalesOrderLine.unit_price,
            SalesOrder.contractual_penalty,
        )
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.so_id)
        .join(Customer, Customer.id == SalesOrder.customer_id)
        .where(
            SalesOrder.status.in_(PLANNED_SO_STATUSES),
            SalesOrderLine.qty_ordered > SalesOrderLine.qty_shipped,
        )
    )
    return [
        OrderLine(
            so_number=number,
            line_no=line_no,
            sku=sku,
            customer_code=code,
            customer_name=name,
            customer_priority=priority,
            business_unit=unit,
            due_date=due,
            qty_open=ordered - shipped,
            unit_price=price,
            contractual_penalty=bool(penalty),
            qty_reserved=min(
                ordered - shipped,
                allocated + production.get((number, line_no), _NOTHING).held(shipped),
            ),
            qty_in_production=production.get((number, line_no), _NOTHING).in_production,
        )
        for (
            number,
            line_no,
            sku,
            code,
            name,
            priority,
            unit,
            due,
            ordered,
            shipped,
            allocated,
            price,
            penalty,
        ) in session.execute(query)
    ]


@dataclass
class _LineProduction:
    in_production: Decimal = ZERO  # open jobs will still print it
    passed: Decimal = ZERO  # its jobs passed QC

    def held(self, shipped: Decimal) -> Decimal:
        """Passed output not shipped yet (what ships first is taken to be the line's own)."""
        return max(self.passed - shipped, ZERO)


_NOTHING = _LineProduction()


def _production_by_line(session: Session) -> dict[tuple[str, int], _LineProduction]:
    """Per line, what its open jobs (reprints included, through their root) will still print
    and what its jobs passed through QC."""
    rows = session.execute(
        select(
            LinkedProductionOrder.order_code,
            LinkedProductionOrder.so_number,
            LinkedProductionOrder.so_line_no,
            LinkedProductionOrder.root_order_code,
            LinkedProductionOrder.reprint_of,
            LinkedProductionOrder.status,
            LinkedProductionOrder.qty_to_make,
            LinkedProductionOrder.qty_good,
            LinkedProductionOrder.qty_passed,
        )
    ).all()
    line_of = {
        code: (number, line_no)
        for code, number, line_no, *_ in rows
        if number is not None and line_no is not None
    }
    totals: dict[tuple[str, int], _LineProduction] = defaultdict(_LineProduction)
    for code, _number, _line, root, reprint_of, status, to_make, good, passed in rows:
        line = line_of.get(code) or line_of.get(root or "") or line_of.get(reprint_of or "")
        if line is None or status == "cancelled":
            continue
        figures = totals[line]
        figures.passed += passed
        if status in OPEN_JOB_STATUSES:
            figures.in_production += max(to_make - good, ZERO)
    return dict(totals)


def stock_by_sku(session: Session) -> dict[str, Stock]:
    """Approved and pending-QC stock, and the open purchase-order quantity in all with its
    dated part per due date (a line without a due date promises no day)."""
    on_order: dict[str, Decimal] = defaultdict(lambda: ZERO)
    lots: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
    for sku, due, qty in session.execute(
        select(OpenPurchaseLine.sku, OpenPurchaseLine.due_date, func.sum(OpenPurchaseLine.qty_open))
        .group_by(OpenPurchaseLine.sku, OpenPurchaseLine.due_date)
        .order_by(OpenPurchaseLine.sku, OpenPurchaseLine.due_date)
    ):
        on_order[sku] += Decimal(qty)
        if due is not None:
            lots[sku].append((due, Decimal(qty)))
    stock: dict[str, Stock] = {}
    for sku, available, pending in session.execute(
        select(StockLevel.sku, StockLevel.available, StockLevel.pending_qc)
    ):
        stock[sku] = Stock(available, pending, on_order.pop(sku, ZERO), tuple(lots.get(sku, ())))
    for sku, qty in on_order.items():
        stock[sku] = Stock(on_order=qty, on_order_lots=tuple(lots.get(sku, ())))
    return stock


def items_by_sku(session: Session) -> dict[str, Item]:
    return {
        sku: Item(sku, uom, make_or_buy, bool(customer_supplied), family)
        for sku, uom, make_or_buy, customer_supplied, family in session.execute(
            select(
                KnownItem.sku,
                KnownItem.uom,
                KnownItem.make_or_buy,
                KnownItem.customer_supplied,
                KnownItem.family,
            )
        )
    }


def released_boms(session: Session) -> dict[str, list[Component]]:
    outputs = {
        sku: output
        for sku, output in session.execute(select(PlannedBom.sku, PlannedBom.output_qty))
    }
    boms: dict[str, list[Component]] = defaultdict(list)
    for sku, component, qty_per, scrap in session.execute(
        select(
            PlannedBomLine.sku,
            PlannedBomLine.component_sku,
            PlannedBomLine.qty_per,
            PlannedBomLine.scrap_pct,
        ).order_by(PlannedBomLine.sku, PlannedBomLine.line_no)
    ):
        boms[sku].append(bom_component(component, qty_per, outputs[sku], scrap))
    return dict(boms)


def active_lines(session: Session) -> list[Line]:
    return [
        Line(code, speed, _weekdays(shifts))
        for code, speed, shifts in session.execute(
            select(
                PlannedLine.line_code, PlannedLine.speed_modifier, PlannedLine.shifts_by_weekday
            ).where(PlannedLine.active.is_(True))
        )
    ]


def _weekdays(text: str | None) -> tuple[int, ...]:
    if not text:
        return DEFAULT_SHIFTS
    return tuple(int(part) for part in text.split(","))


def capacities(session: Session) -> list[Capacity]:
    return [
        Capacity(line, units, effective, sku, family)
        for line, units, effective, sku, family in session.execute(
            select(
                PlannedCapacity.line_code,
                PlannedCapacity.units_per_shift,
                PlannedCapacity.effective_from,
                PlannedCapacity.sku,
                PlannedCapacity.family,
            )
        )
    ]


def open_jobs(session: Session) -> list[OpenJob]:
    return [
        OpenJob(line or "", sku, max(to_make - good, ZERO))
        for line, sku, to_make, good in session.execute(
            select(
                LinkedProductionOrder.line_code,
                LinkedProductionOrder.sku,
                LinkedProductionOrder.qty_to_make,
                LinkedProductionOrder.qty_good,
            ).where(
                LinkedProductionOrder.status.in_(OPEN_JOB_STATUSES),
                LinkedProductionOrder.line_code.is_not(None),
            )
        )
    ]


def plan_input(session: Session, plan_date: date, orders: list[OrderLine]) -> PlanInput:
    """Everything but the order of the lines, which the caller decides (ordering.py)."""
    return PlanInput(
        plan_date=plan_date,
        orders=orders,
        items=items_by_sku(session),
        stock=_less_held(session, stock_by_sku(session), orders),
        boms=released_boms(session),
        lines=active_lines(session),
        capacities=capacities(session),
        open_jobs=open_jobs(session),
    )


def _less_held(
    session: Session, stock: dict[str, Stock], orders: list[OrderLine]
) -> dict[str, Stock]:
    """Take each line's own passed make-to-order output out of the shared finished goods: it
    sits in inventory as available stock, but it is that line's. (What inventory reserved is
    already out of `available`.)"""
    allocated = {
        (number, line_no): qty
        for number, line_no, qty in session.execute(
            select(SalesOrder.number, SalesOrderLine.line_no, SalesOrderLine.qty_allocated)
            .join(SalesOrder, SalesOrder.id == SalesOrderLine.so_id)
            .where(SalesOrder.status.in_(PLANNED_SO_STATUSES), SalesOrderLine.qty_allocated > 0)
        )
    }
    held: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for order in orders:
        reserved = min(allocated.get(order.key, ZERO), order.qty_reserved)
        held[order.sku] += order.qty_reserved - reserved
    for sku, qty in held.items():
        free = stock.get(sku)
        if qty > 0 and free is not None:
            stock[sku] = replace(free, available=max(free.available - qty, ZERO))
    return stock
