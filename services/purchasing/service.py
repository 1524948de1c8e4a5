"""Purchasing use cases. Each takes an open unit of work and leaves the commit to its caller."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from services.purchasing import domain
from services.purchasing.domain import LineState, PoStatus, PurchasingRuleBroken
from services.purchasing.models import (
    DocumentCounter,
    KnownItem,
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    ReceiptLine,
    Vendor,
)
from services.purchasing.schemas import (
    KnownItemOut,
    PoLineOut,
    PurchaseOrderCreate,
    PurchaseOrderOut,
    ReceiptCreate,
    ReceiptLineOut,
    ReceiptOut,
    VendorCreate,
    VendorOut,
)
from shared.clock import plant_date
from shared.counters import take_next
from shared.events.catalogue import ItemUpserted, MaterialReceived, PurchaseOrderChanged
from shared.events.envelope import utc_now
from shared.settings import Settings
from shared.uow import UnitOfWork
from shared.web.pagination import Page, PageParams, paginate
from shared.web.problems import Conflict, InvalidInput, NotFound


def create_vendor(uow: UnitOfWork, data: VendorCreate) -> VendorOut:
    if uow.session.scalar(select(Vendor.id).where(Vendor.code == data.code)) is not None:
        raise Conflict(f"a vendor with code {data.code!r} already exists", field="code")
    vendor = Vendor(**data.model_dump(), active=True, created_at=utc_now())
    uow.session.add(vendor)
    uow.session.flush()
    return VendorOut.model_validate(vendor)


def list_vendors(uow: UnitOfWork, page: PageParams, search: str | None = None) -> Page[VendorOut]:
    query = select(Vendor)
    if search:
        query = query.where(Vendor.code.ilike(f"%{search}%") | Vendor.name.ilike(f"%{search}%"))
    return paginate(uow.session, query.order_by(Vendor.code), page, VendorOut.model_validate)


def get_vendor(uow: UnitOfWork, code: str) -> VendorOut:
    vendor = uow.session.scalar(select(Vendor).where(Vendor.code == code))
    if vendor is None:
        raise NotFound(f"no vendor with code {code!r}", field="code")
    return VendorOut.model_validate(vendor)


def list_known_items(
    uow: UnitOfWork, page: PageParams, search: str | None = None
) -> Page[KnownItemOut]:
    """The items purchasing can order, as it learned them from inventory's events."""
    query = select(KnownItem).where(KnownItem.active.is_(True))
    if search:
        query = query.where(
            KnownItem.sku.ilike(f"%{search}%") | KnownItem.name.ilike(f"%{search}%")
        )
    return paginate(uow.session, query.order_by(KnownItem.sku), page, KnownItemOut.model_validate)


def create_purchase_order(
    uow: UnitOfWork, data: PurchaseOrderCreate, today: date
) -> PurchaseOrderOut:
    """A draft PO; `today` is the plant's business day, the order date when none is given."""
    vendor = uow.session.scalar(select(Vendor).where(Vendor.code == data.vendor_code))
    if vendor is None or not vendor.active:
        raise InvalidInput(f"no active vendor with code {data.vendor_code!r}", field="vendor_code")
    _check_items_known(uow, [line.sku for line in data.lines])
    _apply_rule(
        lambda: domain.check_line_values([(line.qty, line.unit_cost) for line in data.lines])
    )
    order_date = data.order_date or today
    now = utc_now()
    po = PurchaseOrder(
        number=domain.format_po_number(order_date.year, _next_number(uow, "PO", order_date.year)),
        vendor_id=vendor.id,
        vendor=vendor,
        status=PoStatus.DRAFT,
        order_date=order_date,
        notes=data.notes,
        created_at=now,
        updated_at=now,
        lines=[
            PurchaseOrderLine(
                line_no=i,
                sku=line.sku,
                qty_ordered=line.qty,
                qty_received=Decimal(0),
                unit_cost=line.unit_cost,
                due_date=line.due_date,
            )
            for i, line in enumerate(data.lines, start=1)
        ],
    )
    uow.session.add(po)
    uow.session.flush()
    return _publish_po_changed(uow, po)


def submit_purchase_order(uow: UnitOfWork, number: str) -> PurchaseOrderOut:
    po = _po_for_update(uow, number)
    _apply_rule(lambda: domain.check_can_submit(PoStatus(po.status), len(po.lines)))
    po.status = PoStatus.SUBMITTED
    po.updated_at = utc_now()
    return _publish_po_changed(uow, po)


def get_purchase_order(uow: UnitOfWork, number: str) -> PurchaseOrderOut:
    return _po_out(_po(uow, number))


def list_purchase_orders(
    uow: UnitOfWork,
    page: PageParams,
    status: PoStatus | None = None,
    vendor_code: str | None = None,
) -> Page[PurchaseOrderOut]:
    query = select(PurchaseOrder)
    if status:
        query = query.where(PurchaseOrder.status == status)
    if vendor_code:
        query = query.join(Vendor).where(Vendor.code == vendor_code)
    return paginate(uow.session, query.order_by(PurchaseOrder.id.desc()), page, _po_out)


def receive_purchase_order(
    uow: UnitOfWork, number: str, data: ReceiptCreate, received_by: str, settings: Settings
) -> ReceiptOut:
    """Receive lines against a submitted PO: one MaterialReceived per line, all or nothing.

    The receipt is booked on the plant's business day (`settings.plant_timezone`).
    """
    po = _po_for_update(uow, number)
    by_line = {line.line_no: line for line in po.lines}
    _apply_rule(
        lambda: domain.check_receipt(
            PoStatus(po.status),
            {n: LineState(n, line.qty_ordered, line.qty_received) for n, line in by_line.items()},
            [(line.line_no, line.qty) for line in data.lines],
        )
    )
    now = utc_now()
    day = plant_date(now, settings)
    receipt = Receipt(
        number=domain.format_receipt_number(day.year, _next_number(uow, "RCV", day.year)),
        po_id=po.id,
        received_at=now,
        received_by=received_by,
        notes=data.notes,
    )
    for received in data.lines:
        po_line = by_line[received.line_no]
        value = domain.receipt_value(po_line.qty_received, received.qty, po_line.unit_cost)
        po_line.qty_received += received.qty
        receipt.lines.append(
            ReceiptLine(
                line_no=po_line.line_no,
                sku=po_line.sku,
                qty=received.qty,
                unit_cost=po_line.unit_cost,
                value=value,
                lot=received.lot or None,
                to_status=received.to_status,
            )
        )
        uow.add_event(
            MaterialReceived(
                po_number=po.number,
                line_no=po_line.line_no,
                receipt_id=receipt.number,
                sku=po_line.sku,
                qty=received.qty,
                unit_cost=po_line.unit_cost,
                value=value,
                lot=received.lot or None,
                to_status=received.to_status,
                vendor_code=po.vendor.code,
                received_at=now,
                receipt_date=day,
            ),
            key=po.number,
        )
    uow.session.add(receipt)
    po.status = domain.status_after_receipt(
        [LineState(line.line_no, line.qty_ordered, line.qty_received) for line in po.lines]
    )
    po.updated_at = now
    uow.session.flush()
    _publish_po_changed(uow, po)
    return _receipt_out(receipt, po)


def list_receipts(uow: UnitOfWork, number: str) -> list[ReceiptOut]:
    po = _po(uow, number)
    receipts = uow.session.scalars(
        select(Receipt).where(Receipt.po_id == po.id).order_by(Receipt.id)
    )
    return [_receipt_out(r, po) for r in receipts]


def remember_item(uow: UnitOfWork, item: ItemUpserted, sequence: int) -> None:
    """Keep purchasing's copy of an item; an older or repeated event changes nothing."""
    known = uow.session.get(KnownItem, item.sku, with_for_update=True)
    if known is None:
        uow.session.add(
            KnownItem(
                sku=item.sku, name=item.name, uom=item.uom, active=item.active, sequence=sequence
            )
        )
        return
    if sequence <= known.sequence:
        return
    known.name, known.uom, known.active, known.sequence = item.name, item.uom, item.active, sequence


def _check_items_known(uow: UnitOfWork, skus: list[str]) -> None:
    known = set(
        uow.session.scalars(
            select(KnownItem.sku).where(KnownItem.sku.in_(skus), KnownItem.active.is_(True))
        )
    )
    for index, sku in enumerate(skus):
        if sku not in known:
            raise InvalidInput(f"unknown or inactive item SKU {sku!r}", field=f"lines.{index}.sku")


def _next_number(uow: UnitOfWork, kind: str, year: int) -> int:
    return take_next(uow.session, DocumentCounter.__table__, "last_number", kind=kind, year=year)


def _apply_rule(check: Callable[[], None]) -> None:
    """Run a domain check; a broken rule becomes the 409 or 422 the client sees."""
    try:
        check()
    except PurchasingRuleBroken as broken:
        error = Conflict if broken.conflict else InvalidInput
        raise error(broken.detail, field=broken.field) from broken


def _po(uow: UnitOfWork, number: str) -> PurchaseOrder:
    po = uow.session.scalar(select(PurchaseOrder).where(PurchaseOrder.number == number))
    if po is None:
        raise NotFound(f"no purchase order {number!r}", field="number")
    return po


def _po_for_update(uow: UnitOfWork, number: str) -> PurchaseOrder:
    """The PO row locked until commit: two receipts on one PO cannot both take the open qty."""
    po = uow.session.scalar(
        select(PurchaseOrder)
        .where(PurchaseOrder.number == number)
        .with_for_update(of=PurchaseOrder)
    )
    if po is None:
        raise NotFound(f"no purchase order {number!r}", field="number")
    return po


def _po_out(po: PurchaseOrder) -> PurchaseOrderOut:
    return PurchaseOrderOut(
        number=po.number,
        vendor_code=po.vendor.code,
        vendor_name=po.vendor.name,
        status=PoStatus(po.status),
        order_date=po.order_date,
        notes=po.notes,
        total=sum(
            (domain.extended_value(li.qty_ordered, li.unit_cost) for li in po.lines), Decimal(0)
        ),
        lines=[
            PoLineOut(
                line_no=li.line_no,
                sku=li.sku,
                qty_ordered=li.qty_ordered,
                qty_received=li.qty_received,
                qty_open=li.qty_ordered - li.qty_received,
                unit_cost=li.unit_cost,
                due_date=li.due_date,
            )
            for li in po.lines
        ],
    )


def _publish_po_changed(uow: UnitOfWork, po: PurchaseOrder) -> PurchaseOrderOut:
    out = _po_out(po)
    uow.add_event(
        PurchaseOrderChanged(
            po_number=po.number,
            vendor_code=out.vendor_code,
            status=out.status,
            order_date=po.order_date,
            lines=[
                {
                    "line_no": li.line_no,
                    "sku": li.sku,
                    "qty_ordered": li.qty_ordered,
                    "qty_received": li.qty_received,
                    "unit_cost": li.unit_cost,
                    "due_date": li.due_date,
                }
                for li in out.lines
            ],
        ),
        key=po.number,
    )
    return out


def _receipt_out(receipt: Receipt, po: PurchaseOrder) -> ReceiptOut:
    return ReceiptOut(
        number=receipt.number,
        po_number=po.number,
        po_status=PoStatus(po.status),
        received_at=receipt.received_at,
        received_by=receipt.received_by,
        notes=receipt.notes,
        lines=[ReceiptLineOut.model_validate(line) for line in receipt.lines],
    )
