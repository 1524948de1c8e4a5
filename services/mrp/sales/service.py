"""Customers, sales orders and the payments customers make against them: use cases taking an
open unit of work, leaving the commit to the caller. The order's status is never set by a user
(except cancelling): every change that could move it (a production order, an allocation, a
shipment) recomputes it with `domain.order_status` and publishes SalesOrderChanged when the
order's state changed. A payment is a CustomerPayment row and a PaymentReceived event in the
same transaction (accounting posts Dr Cash / Cr AR from it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.exc import IntegrityError

from services.mrp.sales import domain
from services.mrp.sales.domain import (
    LineProgress,
    ProductionFigures,
    SalesRuleBroken,
    SoStatus,
)
from services.mrp.sales.models import (
    AppliedShipment,
    Customer,
    CustomerPayment,
    DocumentCounter,
    KnownItem,
    LinkedProductionOrder,
    SalesOrder,
    SalesOrderLine,
)
from services.mrp.sales.schemas import (
    AllocationOut,
    AllocationReport,
    CustomerCreate,
    CustomerOut,
    CustomerUpdate,
    KnownItemOut,
    PaymentCreate,
    PaymentOut,
    PaymentsOut,
    SalesOrderCreate,
    SalesOrderOut,
    SalesOrderUpdate,
    SoLineOut,
)
from shared import context
from shared.audit import record_change
from shared.counters import take_next
from shared.events.catalogue import (
    ItemUpserted,
    OrderShipped,
    PaymentReceived,
    ProductionOrderChanged,
    SalesOrderChanged,
)
from shared.events.envelope import utc_now
from shared.i18n import _
from shared.uow import UnitOfWork
from shared.web.pagination import Page, PageParams, apply_sort, contains_text, paginate
from shared.web.problems import Conflict, InvalidInput, NotFound

# --------------------------------------------------------------------------------------------
# Customers
# --------------------------------------------------------------------------------------------


def create_customer(uow: UnitOfWork, data: CustomerCreate) -> CustomerOut:
    if uow.session.scalar(select(Customer.id).where(Customer.code == data.code)) is not None:
        raise Conflict(
            _("a customer with code '{code}' already exists", code=data.code), field="code"
        )
    now = utc_now()
    customer = Customer(**data.model_dump(), active=True, created_at=now, updated_at=now)
    uow.session.add(customer)
    uow.session.flush()
    out = CustomerOut.model_validate(customer)
    record_change(uow, "mrp.customers.create", "customer", customer.code, None, out)
    return out


CUSTOMER_SORTS: dict[str, Any] = {
    "code": Customer.code,
    "name": Customer.name,
    "priority": Customer.priority,
    "active": Customer.active,
}


def list_customers(
    uow: UnitOfWork,
    page: PageParams,
    search: str | None = None,
    active: bool | None = None,
    sort: str | None = None,
) -> Page[CustomerOut]:
    query = select(Customer)
    if search:
        query = query.where(contains_text(search, Customer.code, Customer.name))
    if active is not None:
        query = query.where(Customer.active.is_(active))
    query = apply_sort(query, sort, CUSTOMER_SORTS, default="code", tiebreak=Customer.id)
    return paginate(uow.session, query, page, CustomerOut.model_validate)


def get_customer(uow: UnitOfWork, code: str) -> CustomerOut:
    return CustomerOut.model_validate(_customer(uow, code))


def update_customer(uow: UnitOfWork, code: str, changes: CustomerUpdate) -> CustomerOut:
    customer = _customer(uow, code)
    before = CustomerOut.model_validate(customer)
    for name, value in changes.model_dump(exclude_unset=True).items():
        if value is None:
            raise InvalidInput(_("{field} cannot be empty", field=name), field=name)
        setattr(customer, name, value)
    out = CustomerOut.model_validate(customer)
    if out != before:
        customer.updated_at = utc_now()
        record_change(uow, "mrp.customers.update", "customer", customer.code, before, out)
    return out


def _customer(uow: UnitOfWork, code: str) -> Customer:
    customer = uow.session.scalar(select(Customer).where(Customer.code == code))
    if customer is None:
        raise NotFound(_("no customer with code '{code}'", code=code), field="code")
    return customer


# --------------------------------------------------------------------------------------------
# Sales orders
# --------------------------------------------------------------------------------------------


def create_sales_order(uow: UnitOfWork, data: SalesOrderCreate, today: date) -> SalesOrderOut:
    """An open order; `today` is the plant's business day, the order date when none is given."""
    customer = uow.session.scalar(select(Customer).where(Customer.code == data.customer_code))
    if customer is None or not customer.active:
        raise InvalidInput(
            _("no active customer with code '{code}'", code=data.customer_code),
            field="customer_code",
        )
    _check_items_known(uow, [line.sku for line in data.lines])
    _apply_rule(
        lambda: domain.check_line_values([(line.qty, line.unit_price) for line in data.lines])
    )
    if data.external_ref is not None:
        _check_external_ref_free(uow, data.external_ref)
    order_date = data.order_date or today
    number = domain.format_so_number(
        order_date.year,
        take_next(
            uow.session,
            DocumentCounter.__table__,
            "last_number",
            kind="SO",
            year=order_date.year,
        ),
    )
    now = utc_now()
    so = SalesOrder(
        number=number,
        customer_id=customer.id,
        customer=customer,
        status=SoStatus.OPEN,
        order_date=order_date,
        business_unit=data.business_unit,
        notes=data.notes,
        contractual_penalty=data.contractual_penalty,
        external_ref=data.external_ref,
        created_at=now,
        updated_at=now,
        lines=[
            SalesOrderLine(
                line_no=i,
                sku=line.sku,
                qty_ordered=line.qty,
                qty_shipped=Decimal(0),
                qty_allocated=Decimal(0),
                unit_price=line.unit_price,
                due_date=line.due_date or data.due_date,
                business_unit=line.business_unit or data.business_unit,
            )
            for i, line in enumerate(data.lines, start=1)
        ],
    )
    uow.session.add(so)
    try:
        uow.session.flush()
    except IntegrityError as exc:
        # A request at the same moment took the reference after the check above.
        if data.external_ref is not None and "external_ref" in str(exc.orig):
            raise _external_ref_taken(data.external_ref) from exc
        raise
    out = _so_out(so, {}, Decimal(0))
    _publish(uow, so)
    record_change(uow, "mrp.sales_orders.create", "sales_order", so.number, None, out)
    return out


def _check_external_ref_free(uow: UnitOfWork, external_ref: str) -> None:
    """One order per other system's number (the unique index has the last word)."""
    number = uow.session.scalar(
        select(SalesOrder.number).where(SalesOrder.external_ref == external_ref)
    )
    if number is not None:
        raise _external_ref_taken(external_ref, number)


def _external_ref_taken(external_ref: str, number: str | None = None) -> Conflict:
    detail = (
        _(
            "external reference '{external_ref}' is already on sales order {number}",
            external_ref=external_ref,
            number=number,
        )
        if number is not None
        else _(
            "a sales order with external reference '{external_ref}' already exists",
            external_ref=external_ref,
        )
    )
    return Conflict(detail, field="external_ref", code="duplicate")


def get_sales_order(uow: UnitOfWork, number: str) -> SalesOrderOut:
    so = _so(uow, number)
    return _so_out(so, _production_by_line(uow, so.number), _paid(uow, so.number))


def update_sales_order(uow: UnitOfWork, number: str, changes: SalesOrderUpdate) -> SalesOrderOut:
    """Change the header of an order not yet finished. Lines that had the order's business
    unit follow a new one (a line given a unit of its own keeps it). SalesOrderChanged goes
    out when the business unit moved: the penalty and notes are mrp's own."""
    so = _so(uow, number, for_update=True)
    _apply_rule(lambda: domain.check_can_change(SoStatus(so.status)))
    given = changes.model_dump(exclude_unset=True)
    if "contractual_penalty" in given and given["contractual_penalty"] is None:
        raise InvalidInput(
            _("{field} cannot be empty", field="contractual_penalty"), field="contractual_penalty"
        )
    production, paid = _production_by_line(uow, so.number), _paid(uow, so.number)
    before = _so_out(so, production, paid)
    if "business_unit" in given and given["business_unit"] != so.business_unit:
        for line in so.lines:
            if line.business_unit == so.business_unit:
                line.business_unit = given["business_unit"]
        so.business_unit = given["business_unit"]
        _publish(uow, so)
    if "notes" in given:
        so.notes = given["notes"] or None
    if "contractual_penalty" in given:
        so.contractual_penalty = given["contractual_penalty"]
    out = _so_out(so, production, paid)
    if out != before:
        so.updated_at = utc_now()
        record_change(uow, "mrp.sales_orders.update", "sales_order", so.number, before, out)
    return out


def cancel_sales_order(uow: UnitOfWork, number: str) -> SalesOrderOut:
    """Cancelled until something ships; inventory releases the order's allocation when it
    hears the SalesOrderChanged (its shipping read model), so no stock stays held for it."""
    so = _so(uow, number, for_update=True)
    production, paid = _production_by_line(uow, so.number), _paid(uow, so.number)
    shipped = sum((line.qty_shipped for line in so.lines), Decimal(0))
    _apply_rule(lambda: domain.check_can_cancel(SoStatus(so.status), shipped, paid))
    before = _so_out(so, production, paid)
    so.status = SoStatus.CANCELLED
    so.updated_at = utc_now()
    out = _so_out(so, production, paid)
    _publish(uow, so)
    record_change(uow, "mrp.sales_orders.cancel", "sales_order", so.number, before, out)
    return out


@dataclass(frozen=True)
class SalesOrderFilters:
    status: SoStatus | None = None
    customer_code: str | None = None
    business_unit: str | None = None
    due_from: date | None = None
    due_to: date | None = None
    search: str | None = None
    contractual_penalty: bool | None = None
    external_ref: str | None = None


_LINE_OF = SalesOrderLine.so_id == SalesOrder.id
SO_SORTS: dict[str, Any] = {
    "number": SalesOrder.number,
    "customer": Customer.name,
    "status": SalesOrder.status,
    "order_date": SalesOrder.order_date,
    "due_date": select(func.min(SalesOrderLine.due_date)).where(_LINE_OF).scalar_subquery(),
    "total": select(func.sum(SalesOrderLine.qty_ordered * SalesOrderLine.unit_price))
    .where(_LINE_OF)
    .scalar_subquery(),
    "created_at": SalesOrder.created_at,
}


def list_sales_orders(
    uow: UnitOfWork, page: PageParams, filters: SalesOrderFilters, sort: str | None = None
) -> Page[SalesOrderOut]:
    """Orders, newest first unless `sort` says otherwise. A business unit or a due range
    matches an order with a line in it (or, for the unit, the order's own)."""
    query = apply_sort(
        _filtered(filters), sort, SO_SORTS, default="-created_at", tiebreak=SalesOrder.id
    )
    found = paginate(uow.session, query, page, lambda so: so)
    numbers = [so.number for so in found.items]
    production, paid = _production_by_order(uow, numbers), _paid_by_order(uow, numbers)
    return Page(
        items=[
            _so_out(so, production.get(so.number, {}), paid.get(so.number, Decimal(0)))
            for so in found.items
        ],
        total=found.total,
        limit=found.limit,
        offset=found.offset,
    )


def export_rows(
    uow: UnitOfWork, filters: SalesOrderFilters, sort: str | None = None
) -> Iterator[list[Any]]:
    """Every order the list would show with these filters, one row each, for the XLSX (the
    total stays the last column, after what was paid and what is owed)."""
    query = apply_sort(
        _filtered(filters), sort, SO_SORTS, default="-created_at", tiebreak=SalesOrder.id
    )
    orders = list(uow.session.scalars(query))
    paid = _paid_by_order(uow, [so.number for so in orders])
    for so in orders:
        out = _so_out(so, {}, paid.get(so.number, Decimal(0)))
        yield [
            out.so_number,
            out.customer_code,
            out.customer_name,
            str(domain.STATUS_NAMES[out.status]),
            out.order_date,
            out.due_date,
            out.business_unit,
            str(_("yes") if out.contractual_penalty else _("no")),
            len(out.lines),
            sum((line.qty_ordered for line in out.lines), Decimal(0)),
            sum((line.qty_shipped for line in out.lines), Decimal(0)),
            out.paid,
            out.balance,
            out.total,
        ]


def _filtered(filters: SalesOrderFilters) -> Select[SalesOrder]:
    query = select(SalesOrder).join(Customer, Customer.id == SalesOrder.customer_id)
    if filters.status:
        query = query.where(SalesOrder.status == filters.status)
    if filters.customer_code:
        query = query.where(Customer.code == filters.customer_code)
    if filters.business_unit:
        query = query.where(
            or_(
                SalesOrder.business_unit == filters.business_unit,
                exists().where(_LINE_OF, SalesOrderLine.business_unit == filters.business_unit),
            )
        )
    if filters.due_from or filters.due_to:
        due = [_LINE_OF, SalesOrderLine.due_date.is_not(None)]
        if filters.due_from:
            due.append(SalesOrderLine.due_date >= filters.due_from)
        if filters.due_to:
            due.append(SalesOrderLine.due_date <= filters.due_to)
        query = query.where(exists().where(*due))
    if filters.search:
        query = query.where(contains_text(filters.search, SalesOrder.number))
    if filters.contractual_penalty is not None:
        query = query.where(SalesOrder.contractual_penalty.is_(filters.contractual_penalty))
    if filters.external_ref is not None:
        query = query.where(SalesOrder.external_ref == filters.external_ref)
    return query


# --------------------------------------------------------------------------------------------
# Customer payments
# --------------------------------------------------------------------------------------------


def record_payment(
    uow: UnitOfWork, number: str, data: PaymentCreate, now: datetime, today: date
) -> PaymentOut:
    """A payment against the order, never more than its open balance. The order's row is
    locked first, so two payments recorded at once are weighed one after the other and cannot
    together pay more than is owed. `today` (the plant's business day) numbers the payment."""
    so = _so(uow, number, for_update=True)
    received_at = data.received_at or now
    if received_at > now:
        raise InvalidInput(_("a payment cannot be received in the future"), field="received_at")
    production, paid = _production_by_line(uow, so.number), _paid(uow, so.number)
    before = _so_out(so, production, paid)
    _apply_rule(lambda: domain.check_payment(SoStatus(so.status), data.amount, before.value, paid))
    payment = CustomerPayment(
        payment_id=domain.format_payment_id(
            today.year,
            take_next(
                uow.session, DocumentCounter.__table__, "last_number", kind="PAY", year=today.year
            ),
        ),
        so_number=so.number,
        amount=data.amount,
        reference=data.reference or None,
        received_at=received_at,
        recorded_by=_recorded_by(),
    )
    uow.session.add(payment)
    uow.session.flush()
    uow.add_event(
        PaymentReceived(
            payment_id=payment.payment_id,
            so_number=so.number,
            customer_code=so.customer.code,
            amount=payment.amount,
            received_at=payment.received_at,
            reference=payment.reference,
        ),
        key=so.number,
    )
    out = PaymentOut.model_validate(payment)
    record_change(uow, "mrp.payments.create", "customer_payment", payment.payment_id, None, out)
    return out


def list_payments(uow: UnitOfWork, number: str) -> PaymentsOut:
    so = _so(uow, number)
    payments = list(
        uow.session.scalars(
            select(CustomerPayment)
            .where(CustomerPayment.so_number == so.number)
            .order_by(CustomerPayment.received_at, CustomerPayment.id)
        )
    )
    out = _so_out(so, {}, sum((p.amount for p in payments), Decimal(0)))
    return PaymentsOut(
        so_number=so.number,
        value=out.value,
        paid=out.paid,
        balance=out.balance,
        items=[PaymentOut.model_validate(payment) for payment in payments],
    )


def _recorded_by() -> str:
    caller = context.get_current_user()
    return caller.user if caller is not None else "system"


def _paid(uow: UnitOfWork, number: str) -> Decimal:
    return _paid_by_order(uow, [number]).get(number, Decimal(0))


def _paid_by_order(uow: UnitOfWork, numbers: Sequence[str]) -> dict[str, Decimal]:
    """What each order's customer has paid so far (orders without a payment are left out)."""
    if not numbers:
        return {}
    rows = uow.session.execute(
        select(CustomerPayment.so_number, func.sum(CustomerPayment.amount))
        .where(CustomerPayment.so_number.in_(numbers))
        .group_by(CustomerPayment.so_number)
    )
    return {so_number: Decimal(total) for so_number, total in rows}


# --------------------------------------------------------------------------------------------
# Allocation from stock (make-to-stock)
# --------------------------------------------------------------------------------------------


def allocation_request(uow: UnitOfWork, number: str) -> dict[str, Any] | None:
    """The reservation to ask inventory for: each line's open qty not already passed by its
    production orders; None when no line needs stock."""
    so = _so(uow, number)
    _apply_rule(lambda: domain.check_can_allocate(SoStatus(so.status)))
    production = _production_by_line(uow, so.number)
    lines = []
    for line in so.lines:
        progress = _progress(line, production)
        needed = line.qty_ordered - line.qty_shipped - progress.qty_passed
        if needed > 0:
            lines.append({"sku": line.sku, "qty": format(needed, "f"), "line_no": line.line_no})
    if not lines:
        return None
    return {
        "reference_type": "sales_order",
        "reference": so.number,
        "lines": lines,
        "allow_insufficient": True,
    }


def record_allocation(
    uow: UnitOfWork, number: str, answer: Mapping[str, Any] | None
) -> AllocationOut:
    """Keep what inventory holds for each line from stock (its answer; None when nothing was
    asked) and settle the order's status. A repeat with the same answer changes nothing.

    Inventory keeps one reservation per order line: the make-to-stock allocation, and the
    passed units of the line's own production orders, which it allocates to the line itself.
    Those passed units already count for the line (as passed), so the line's allocation from
    stock is what is reserved beyond them."""
    so = _so(uow, number, for_update=True)
    _apply_rule(lambda: domain.check_can_allocate(SoStatus(so.status)))
    production = _production_by_line(uow, so.number)
    by_line = {line.line_no: line for line in so.lines}
    paid = _paid(uow, so.number)
    before = _so_out(so, production, paid)
    report = None
    if answer is not None:
        report = AllocationReport.model_validate(answer)
        for allocated in report.lines:
            line = by_line.get(allocated.line_no)
            if line is not None:
                passed = _progress(line, production).qty_passed
                line.qty_allocated = max(Decimal(0), allocated.qty_held - passed)
    _settle(uow, so, force=_lines_changed(before, so))
    out = _so_out(so, production, paid)
    if out != before:
        record_change(uow, "mrp.sales_orders.allocate", "sales_order", so.number, before, out)
    return AllocationOut(**out.model_dump(), allocation=report)


def _lines_changed(before: SalesOrderOut, so: SalesOrder) -> bool:
    return [line.qty_allocated for line in before.lines] != [
        line.qty_allocated for line in so.lines
    ]


def list_known_items(
    uow: UnitOfWork, page: PageParams, search: str | None = None, active: bool | None = True
) -> Page[KnownItemOut]:
    """The items mrp can sell, as it learned them from inventory's events."""
    query = select(KnownItem)
    if active is not None:
        query = query.where(KnownItem.active.is_(active))
    if search:
        query = query.where(contains_text(search, KnownItem.sku, KnownItem.name))
    return paginate(uow.session, query.order_by(KnownItem.sku), page, KnownItemOut.model_validate)


def get_known_item(uow: UnitOfWork, sku: str) -> KnownItemOut:
    item = uow.session.get(KnownItem, sku)
    if item is None:
        raise NotFound(_("no item with SKU '{sku}'", sku=sku), field="sku")
    return KnownItemOut.model_validate(item)


# --------------------------------------------------------------------------------------------
# Read models and the events that move an order's status
# --------------------------------------------------------------------------------------------


def remember_item(uow: UnitOfWork, item: ItemUpserted, sequence: int) -> None:
    """Keep mrp's copy of an item; an older or repeated event changes nothing."""
    known = uow.session.get(KnownItem, item.sku, with_for_update=True)
    if known is None:
        known = KnownItem(sku=item.sku, sequence=sequence)
        uow.session.add(known)
    elif sequence <= known.sequence:
        return
    known.name, known.uom, known.item_type = item.name, item.uom, item.item_type
    known.active, known.sequence = item.active, sequence
    known.make_or_buy, known.customer_supplied = item.make_or_buy, item.customer_supplied
    known.family, known.average_cost = item.family, item.average_cost


def remember_production_order(
    uow: UnitOfWork, order: ProductionOrderChanged, sequence: int
) -> None:
    """Keep a production order (its open quantity and line count for the planner) and, when
    it is made for a sales-order line or is a reprint in such a chain, settle the order it
    serves. An older or repeated event changes nothing."""
    known = uow.session.get(LinkedProductionOrder, order.order_code, with_for_update=True)
    if known is None:
        known = LinkedProductionOrder(order_code=order.order_code, sequence=sequence)
        uow.session.add(known)
    elif sequence <= known.sequence:
        return
    known.so_number, known.so_line_no = order.so_number, order.so_line_no
    known.root_order_code, known.reprint_of = order.root_order_code, order.reprint_of
    known.sku, known.status, known.qty_ordered = order.sku, order.status, order.qty_ordered
    known.qty_passed, known.qty_failed = order.qty_passed, order.qty_failed
    known.qty_to_make, known.qty_good, known.line_code = (
        order.qty_to_make,
        order.qty_good,
        order.line_code,
    )
    known.sequence = sequence
    uow.session.flush()
    number = order.so_number or _so_number_of_chain(uow, known)
    if number is None:
        return
    # `of=`: the customer is joined (outer) to the order, and PostgreSQL locks no outer side.
    locked = select(SalesOrder).where(SalesOrder.number == number).with_for_update(of=SalesOrder)
    so = uow.session.scalar(locked)
    if so is not None and so.status != SoStatus.CANCELLED:
        _settle(uow, so)


def apply_shipment(uow: UnitOfWork, shipment: OrderShipped) -> None:
    """Add what inventory shipped to each line (once per shipment id, whatever envelope
    brings it), take it off the line's allocation, and settle the order."""
    if uow.session.get(AppliedShipment, shipment.shipment_id) is not None:
        return
    so = _so(uow, shipment.so_number, for_update=True)
    uow.session.add(
        AppliedShipment(
            shipment_id=shipment.shipment_id,
            so_number=so.number,
            shipped_at=shipment.shipped_at,
        )
    )
    by_line = {line.line_no: line for line in so.lines}
    for shipped in shipment.lines:
        line = by_line.get(shipped.line_no)
        if line is None:
            raise LookupError(f"{so.number} has no line {shipped.line_no} (shipped)")
        line.qty_shipped += shipped.qty
        line.qty_allocated = max(Decimal(0), line.qty_allocated - shipped.qty)
    _settle(uow, so, force=True)


def _so_number_of_chain(uow: UnitOfWork, order: LinkedProductionOrder) -> str | None:
    """The sales order a reprint serves: its root's (or the order it reprints)."""
    for code in (order.root_order_code, order.reprint_of):
        if code:
            number = uow.session.scalar(
                select(LinkedProductionOrder.so_number).where(
                    LinkedProductionOrder.order_code == code
                )
            )
            if number:
                return number
    return None


def _settle(uow: UnitOfWork, so: SalesOrder, *, force: bool = False) -> None:
    """Recompute the order's status from its lines; publish SalesOrderChanged when it moved
    (or, with `force`, because its lines did)."""
    production = _production_by_line(uow, so.number)
    status = domain.order_status(
        [_progress(line, production) for line in so.lines],
        cancelled=so.status == SoStatus.CANCELLED,
    )
    if status != so.status or force:
        so.status = status
        so.updated_at = utc_now()
        _publish(uow, so)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

ProductionByLine = Mapping[int, Sequence[LinkedProductionOrder]]


def _production_by_line(uow: UnitOfWork, number: str) -> ProductionByLine:
    return _production_by_order(uow, [number]).get(number, {})


def _production_by_order(
    uow: UnitOfWork, numbers: Sequence[str]
) -> dict[str, dict[int, list[LinkedProductionOrder]]]:
    """The production orders of each sales order's lines: those naming the line, and the
    reprints in their chains (which may name only their root)."""
    if not numbers:
        return {}
    direct = list(
        uow.session.scalars(
            select(LinkedProductionOrder).where(LinkedProductionOrder.so_number.in_(numbers))
        )
    )
    line_of = {
        order.order_code: (order.so_number, order.so_line_no)
        for order in direct
        if order.so_number and order.so_line_no
    }
    chained: list[LinkedProductionOrder] = []
    if line_of:
        chained = list(
            uow.session.scalars(
                select(LinkedProductionOrder).where(
                    or_(
                        LinkedProductionOrder.root_order_code.in_(line_of),
                        LinkedProductionOrder.reprint_of.in_(line_of),
                    ),
                    LinkedProductionOrder.order_code.not_in(line_of),
                )
            )
        )
    result: dict[str, dict[int, list[LinkedProductionOrder]]] = {}
    for order in direct:
        if order.so_number and order.so_line_no:
            result.setdefault(order.so_number, {}).setdefault(order.so_line_no, []).append(order)
    for order in chained:
        root = order.root_order_code if order.root_order_code in line_of else order.reprint_of
        if root is None or root not in line_of:
            continue
        so_number, line_no = line_of[root]
        if so_number and line_no:
            result.setdefault(so_number, {}).setdefault(line_no, []).append(order)
    return result


def _progress(line: SalesOrderLine, production: ProductionByLine) -> LineProgress:
    return LineProgress(
        qty_ordered=line.qty_ordered,
        qty_shipped=line.qty_shipped,
        qty_allocated=line.qty_allocated,
        production=tuple(
            ProductionFigures(order.status, order.qty_passed, order.qty_failed)
            for order in production.get(line.line_no, ())
        ),
    )


def _publish(uow: UnitOfWork, so: SalesOrder) -> None:
    """SalesOrderChanged: the whole current order, every line as it stands now."""
    uow.add_event(
        SalesOrderChanged(
            so_number=so.number,
            customer_code=so.customer.code,
            status=so.status,
            order_date=so.order_date,
            business_unit=so.business_unit,
            lines=tuple(
                {
                    "line_no": line.line_no,
                    "sku": line.sku,
                    "qty_ordered": line.qty_ordered,
                    "qty_shipped": line.qty_shipped,
                    "unit_price": line.unit_price,
                    "due_date": line.due_date,
                    "business_unit": line.business_unit,
                }
                for line in so.lines
            ),
        ),
        key=so.number,
    )


def _so_out(so: SalesOrder, production: ProductionByLine, paid: Decimal) -> SalesOrderOut:
    """The order as the API shows it; `paid` is the sum of its payments (`_paid`)."""
    lines = []
    for line in so.lines:
        progress = _progress(line, production)
        lines.append(
            SoLineOut(
                line_no=line.line_no,
                sku=line.sku,
                qty_ordered=line.qty_ordered,
                qty_shipped=line.qty_shipped,
                qty_allocated=line.qty_allocated,
                qty_passed=progress.qty_passed,
                qty_open=line.qty_ordered - line.qty_shipped,
                unit_price=line.unit_price,
                value=domain.extended_value(line.qty_ordered, line.unit_price),
                due_date=line.due_date,
                business_unit=line.business_unit,
            )
        )
    value = sum((line.value for line in lines), Decimal(0))
    return SalesOrderOut(
        so_number=so.number,
        customer_code=so.customer.code,
        customer_name=so.customer.name,
        status=SoStatus(so.status),
        order_date=so.order_date,
        due_date=min((line.due_date for line in so.lines if line.due_date), default=None),
        business_unit=so.business_unit,
        notes=so.notes,
        contractual_penalty=so.contractual_penalty,
        external_ref=so.external_ref,
        total=value,
        value=value,
        paid=paid,
        balance=domain.open_balance(value, paid),
        lines=lines,
    )


def _so(uow: UnitOfWork, number: str, *, for_update: bool = False) -> SalesOrder:
    query = select(SalesOrder).where(SalesOrder.number == number)
    if for_update:
        query = query.with_for_update(of=SalesOrder)
    so = uow.session.scalar(query)
    if so is None:
        raise NotFound(_("no sales order '{number}'", number=number), field="number")
    return so


def _check_items_known(uow: UnitOfWork, skus: list[str]) -> None:
    known = set(
        uow.session.scalars(
            select(KnownItem.sku).where(KnownItem.sku.in_(skus), KnownItem.active.is_(True))
        )
    )
    for index, sku in enumerate(skus):
        if sku not in known:
            raise InvalidInput(
                _("unknown or inactive item SKU '{sku}'", sku=sku), field=f"lines.{index}.sku"
            )


def _apply_rule(check: Callable[[], None]) -> None:
    """Run a domain check; a broken rule becomes the 409 or 422 the client sees."""
    try:
        check()
    except SalesRuleBroken as broken:
        error = Conflict if broken.conflict else InvalidInput
        raise error(broken.detail, field=broken.field) from broken
