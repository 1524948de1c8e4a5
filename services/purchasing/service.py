"""Purchasing use cases. Each takes an open unit of work and leaves the commit to its caller."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

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
from shared.audit import record_change
from shared.clock import plant_date
from shared.counters import take_next
from shared.events.catalogue import ItemUpserted, MaterialReceived, PurchaseOrderChanged
from shared.events.envelope import utc_now
from shared.i18n import _
from shared.settings import Settings
from shared.types import Amount, UtcDateTime
from shared.uow import UnitOfWork
from shared.web.pagination import Page, PageParams, apply_sort, contains_text, paginate
from shared.web.problems import Conflict, InvalidInput, NotFound


def create_vendor(uow: UnitOfWork, data: VendorCreate) -> VendorOut:
    if uow.session.scalar(select(Vendor.id).where(Vendor.code == data.code)) is not None:
        raise Conflict(
            _("a vendor with code '{code}' already exists", code=data.code), field="code"
        )
    vendor = Vendor(**data.model_dump(), active=True, created_at=utc_now())
    uow.session.add(vendor)
    uow.session.flush()
    out = VendorOut.model_validate(vendor)
    record_change(uow, "purchasing.vendors.create", "vendor", vendor.code, None, out)
    return out


VENDOR_SORTS: dict[str, Any] = {"code": Vendor.code, "name": Vendor.name, "active": Vendor.active}


def list_vendors(
    uow: UnitOfWork, page: PageParams, search: str | None = None, sort: str | None = None
) -> Page[VendorOut]:
    query = select(Vendor)
    if search:
        query = query.where(contains_text(search, Vendor.code, Vendor.name))
    query = apply_sort(query, sort, VENDOR_SORTS, default="code", tiebreak=Vendor.id)
    return paginate(uow.session, query, page, VendorOut.model_validate)


def get_vendor(uow: UnitOfWork, code: str) -> VendorOut:
    vendor = uow.session.scalar(select(Vendor).where(Vendor.code == code))
    if vendor is None:
        raise NotFound(_("no vendor with code '{code}'", code=code), field="code")
    return VendorOut.model_validate(vendor)


def list_known_items(
    uow: UnitOfWork, page: PageParams, search: str | None = None
) -> Page[KnownItemOut]:
    """The items purchasing can order, as it learned them from inventory's events."""
    query = select(KnownItem).where(KnownItem.active.is_(True))
    if search:
        query = query.where(contains_text(search, KnownItem.sku, KnownItem.name))
    return paginate(uow.session, query.order_by(KnownItem.sku), page, KnownItemOut.model_validate)


def create_purchase_order(
    uow: UnitOfWork, data: PurchaseOrderCreate, today: date
) -> PurchaseOrderOut:
    """A draft PO; `today` is the plant's business day, the order date when none is given."""
    vendor = uow.session.scalar(select(Vendor).where(Vendor.code == data.vendor_code))
    if vendor is None or not vendor.active:
        raise InvalidInput(
            _("no active vendor with code '{code}'", code=data.vendor_code), field="vendor_code"
        )
    _check_items_known(uow, [line.sku for line in data.lines])
    _apply_rule(
        lambda: domain.check_line_values([(line.qty, line.unit_cost) for line in data.lines])
    )
    if data.external_ref is not None:
        _check_external_ref_free(uow, data.external_ref)
    order_date = data.order_date or today
    now = utc_now()
    po = PurchaseOrder(
        number=domain.format_po_number(order_date.year, _next_number(uow, "PO", order_date.year)),
        vendor_id=vendor.id,
        vendor=vendor,
        status=PoStatus.DRAFT,
        order_date=order_date,
        notes=data.notes,
        external_ref=data.external_ref,
        created_at=now,
        updated_at=now,
        lines=[
            PurchaseOrderLine(
                line_no=i,
                sku=line.sku,
                qty_ordered=line.qty,
                qty_received=Decimal(0),
                unit_cost=line.unit_cost,
                due_date=line.due_date or data.expected_date,
            )
            for i, line in enumerate(data.lines, start=1)
        ],
    )
    uow.session.add(po)
    try:
        uow.session.flush()
    except IntegrityError as exc:
        # A request at the same moment took the reference after the check above.
        if data.external_ref is not None and "external_ref" in str(exc.orig):
            raise _external_ref_taken(data.external_ref) from exc
        raise
    out = _publish_po_changed(uow, po)
    record_change(uow, "purchasing.orders.create", "purchase_order", po.number, None, out)
    return out


def _check_external_ref_free(uow: UnitOfWork, external_ref: str) -> None:
    """One order per other system's number (the unique index has the last word)."""
    number = uow.session.scalar(
        select(PurchaseOrder.number).where(PurchaseOrder.external_ref == external_ref)
    )
    if number is not None:
        raise _external_ref_taken(external_ref, number)


def _external_ref_taken(external_ref: str, number: str | None = None) -> Conflict:
    detail = (
        _(
            "external reference '{external_ref}' is already on purchase order {number}",
            external_ref=external_ref,
            number=number,
        )
        if number is not None
        else _(
            "a purchase order with external reference '{external_ref}' already exists",
            external_ref=external_ref,
        )
    )
    return Conflict(detail, field="external_ref", code="duplicate")


def submit_purchase_order(uow: UnitOfWork, number: str) -> PurchaseOrderOut:
    po = _po_for_update(uow, number)
    _apply_rule(lambda: domain.check_can_submit(PoStatus(po.status), len(po.lines)))
    before = _po_out(po)
    po.status = PoStatus.SUBMITTED
    po.updated_at = utc_now()
    out = _publish_po_changed(uow, po)
    record_change(uow, "purchasing.orders.submit", "purchase_order", po.number, before, out)
    return out


def get_purchase_order(uow: UnitOfWork, number: str) -> PurchaseOrderOut:
    return _po_out(_po(uow, number))


_PO_LINE_OF = PurchaseOrderLine.po_id == PurchaseOrder.id
PO_SORTS: dict[str, Any] = {
    "number": PurchaseOrder.number,
    "vendor": Vendor.name,
    "status": PurchaseOrder.status,
    "order_date": PurchaseOrder.order_date,
    "expected_date": select(func.min(PurchaseOrderLine.due_date))
    .where(_PO_LINE_OF)
    .scalar_subquery(),
    "total": select(func.sum(PurchaseOrderLine.qty_ordered * PurchaseOrderLine.unit_cost))
    .where(_PO_LINE_OF)
    .scalar_subquery(),
    "created_at": PurchaseOrder.created_at,
}


def list_purchase_orders(
    uow: UnitOfWork,
    page: PageParams,
    status: PoStatus | None = None,
    vendor_code: str | None = None,
    search: str | None = None,
    sort: str | None = None,
    *,
    external_ref: str | None = None,
) -> Page[PurchaseOrderOut]:
    """POs, newest first unless `sort` says otherwise; `search` finds part of a PO number,
    `external_ref` the order with that external reference."""
    query = select(PurchaseOrder).join(Vendor, Vendor.id == PurchaseOrder.vendor_id)
    if status:
        query = query.where(PurchaseOrder.status == status)
    if vendor_code:
        query = query.where(Vendor.code == vendor_code)
    if external_ref is not None:
        query = query.where(PurchaseOrder.external_ref == external_ref)
    if search:
        query = query.where(contains_text(search, PurchaseOrder.number))
    query = apply_sort(query, sort, PO_SORTS, default="-created_at", tiebreak=PurchaseOrder.id)
    return paginate(uow.session, query, page, _po_out)


def receive_purchase_order(
    uow: UnitOfWork, number: str, data: ReceiptCreate, received_by: str, settings: Settings
) -> ReceiptOut:
    """Receive lines against a submitted PO: one MaterialReceived per line, all or nothing.

    The receipt is booked on the plant's business day (`settings.plant_timezone`).

    Seven statements whatever the sizes (plus the outbox's): lock the PO, read its lines once,
    take the receipt number, insert the receipt, its lines (one executemany), update the
    received PO lines (one executemany) and the PO. Written through the tables (Core): the PO's
    lines are plain rows, and PurchaseOrderChanged, which carries the whole PO, is the only
    work per PO line.
    """
    po = _lock_po(uow, number)
    lines = _po_lines(uow, po.id)
    by_line = {line["line_no"]: line for line in lines}
    wanted = {received.line_no for received in data.lines}
    _apply_rule(
        lambda: domain.check_receipt(
            PoStatus(po.status),
            {
                n: LineState(n, by_line[n]["qty_ordered"], by_line[n]["qty_received"])
                for n in wanted
                if n in by_line
            },
            [(line.line_no, line.qty) for line in data.lines],
        )
    )
    before = _receiving_state(po.status, lines)
    now = utc_now()
    day = plant_date(now, settings)
    receipt_number = domain.format_receipt_number(day.year, _next_number(uow, "RCV", day.year))
    session = uow.session
    receipt_id = session.execute(
        _INSERT_RECEIPT,
        {
            "number": receipt_number,
            "po_id": po.id,
            "received_at": now,
            "received_by": received_by,
            "notes": data.notes,
        },
    ).scalar_one()
    receipt_lines: list[dict[str, Any]] = []
    for received in data.lines:
        po_line = by_line[received.line_no]
        value = domain.receipt_value(po_line["qty_received"], received.qty, po_line["unit_cost"])
        po_line["qty_received"] += received.qty
        receipt_lines.append(
            {
                "line_no": po_line["line_no"],
                "sku": po_line["sku"],
                "qty": received.qty,
                "unit_cost": po_line["unit_cost"],
                "value": value,
                "lot": received.lot or None,
                "to_status": received.to_status,
            }
        )
        uow.add_event(
            MaterialReceived(
                po_number=po.number,
                line_no=po_line["line_no"],
                receipt_id=receipt_number,
                sku=po_line["sku"],
                qty=received.qty,
                unit_cost=po_line["unit_cost"],
                value=value,
                lot=received.lot or None,
                to_status=received.to_status,
                vendor_code=po.vendor_code,
                received_at=now,
                receipt_date=day,
            ),
            key=po.number,
        )
    session.execute(
        _INSERT_RECEIPT_LINES, [{"receipt_id": receipt_id, **line} for line in receipt_lines]
    )
    session.execute(
        _SET_QTY_RECEIVED,
        [{"po": po.id, "line": n, "received": by_line[n]["qty_received"]} for n in sorted(wanted)],
    )
    status = domain.status_after_receipt(
        [LineState(line["line_no"], line["qty_ordered"], line["qty_received"]) for line in lines]
    )
    session.execute(_SET_PO_STATUS, {"po": po.id, "po_status": status, "now": now})
    _add_po_changed(uow, po.number, po.vendor_code, status, po.order_date, lines)
    out = ReceiptOut(
        number=receipt_number,
        po_number=po.number,
        po_status=status,
        received_at=now,
        received_by=received_by,
        notes=data.notes,
        lines=[ReceiptLineOut.model_validate(line) for line in receipt_lines],
    )
    after = {**_receiving_state(status, lines), "receipt": out.model_dump(mode="json")}
    record_change(uow, "purchasing.receipts.create", "purchase_order", po.number, before, after)
    return out


def _receiving_state(status: str, lines: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What a receipt changes on a PO, for the audit log: its status and what each line has
    received (a copy: the receipt updates `lines` in place)."""
    return {
        "status": str(status),
        "lines": [
            {
                "line_no": line["line_no"],
                "sku": line["sku"],
                "qty_ordered": line["qty_ordered"],
                "qty_received": line["qty_received"],
            }
            for line in lines
        ],
    }


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
            raise InvalidInput(
                _("unknown or inactive item SKU '{sku}'", sku=sku), field=f"lines.{index}.sku"
            )


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
        raise NotFound(_("no purchase order '{number}'", number=number), field="number")
    return po


def _po_for_update(uow: UnitOfWork, number: str) -> PurchaseOrder:
    """The PO row locked until commit: two receipts on one PO cannot both take the open qty."""
    po = uow.session.scalar(
        select(PurchaseOrder)
        .where(PurchaseOrder.number == number)
        .with_for_update(of=PurchaseOrder)
    )
    if po is None:
        raise NotFound(_("no purchase order '{number}'", number=number), field="number")
    return po


def _po_out(po: PurchaseOrder) -> PurchaseOrderOut:
    return PurchaseOrderOut(
        number=po.number,
        vendor_code=po.vendor.code,
        vendor_name=po.vendor.name,
        status=PoStatus(po.status),
        order_date=po.order_date,
        expected_date=min((li.due_date for li in po.lines if li.due_date), default=None),
        notes=po.notes,
        external_ref=po.external_ref,
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
    _add_po_changed(
        uow,
        po.number,
        out.vendor_code,
        out.status,
        po.order_date,
        [line.model_dump(exclude={"qty_open"}) for line in out.lines],
    )
    return out


def _add_po_changed(
    uow: UnitOfWork,
    number: str,
    vendor_code: str,
    status: PoStatus,
    order_date: date,
    lines: Sequence[Mapping[str, Any]],
) -> None:
    """PurchaseOrderChanged: the whole current PO, every line as it stands now (each line's
    line_no, sku, qty_ordered, qty_received, unit_cost and due_date, nothing else)."""
    uow.add_event(
        PurchaseOrderChanged(
            po_number=number,
            vendor_code=vendor_code,
            status=status,
            order_date=order_date,
            lines=lines,
        ),
        key=number,
    )


# The receiving path works on the tables (Core), not ORM objects, with statements built once:
# a receipt only binds its values, and the compiled SQL comes from the engine's cache.
_POS = cast(Table, PurchaseOrder.__table__)
_PO_LINES = cast(Table, PurchaseOrderLine.__table__)
_VENDORS = cast(Table, Vendor.__table__)
_RECEIPTS = cast(Table, Receipt.__table__)
_RECEIPT_LINES = cast(Table, ReceiptLine.__table__)

# The PO's header (and vendor code), its row locked until commit: two receipts on one PO cannot
# both take the open qty. Its lines are read by a statement of their own, after the lock: rows
# joined to the SELECT … FOR UPDATE would, on PostgreSQL, come from the snapshot taken before
# waiting for the lock, i.e. miss a receipt committed meanwhile.
_LOCK_PO = (
    select(
        _POS.c.id,
        _POS.c.number,
        _POS.c.status,
        _POS.c.order_date,
        _VENDORS.c.code.label("vendor_code"),
    )
    .join(_VENDORS, _VENDORS.c.id == _POS.c.vendor_id)
    .where(_POS.c.number == bindparam("number"))
    .with_for_update(of=_POS)
)
_LINES_OF_PO = (
    select(
        _PO_LINES.c.line_no,
        _PO_LINES.c.sku,
        _PO_LINES.c.qty_ordered,
        _PO_LINES.c.qty_received,
        _PO_LINES.c.unit_cost,
        _PO_LINES.c.due_date,
    )
    .where(_PO_LINES.c.po_id == bindparam("po"))
    .order_by(_PO_LINES.c.line_no)
)
_INSERT_RECEIPT = insert(_RECEIPTS).returning(_RECEIPTS.c.id)
_INSERT_RECEIPT_LINES = insert(_RECEIPT_LINES)
_SET_QTY_RECEIVED = (
    update(_PO_LINES)
    .where(_PO_LINES.c.po_id == bindparam("po"), _PO_LINES.c.line_no == bindparam("line"))
    .values(qty_received=bindparam("received", type_=Amount()))
)
_SET_PO_STATUS = (
    update(_POS)
    .where(_POS.c.id == bindparam("po"))
    .values(status=bindparam("po_status"), updated_at=bindparam("now", type_=UtcDateTime()))
)


def _lock_po(uow: UnitOfWork, number: str) -> Row[int, str, str, date, str]:
    po = uow.session.execute(_LOCK_PO, {"number": number}).first()
    if po is None:
        raise NotFound(_("no purchase order '{number}'", number=number), field="number")
    return po


def _po_lines(uow: UnitOfWork, po_id: int) -> list[dict[str, Any]]:
    """Every line of the PO, in line order, as plain dicts the receipt updates in place: the
    fields of a PurchaseOrderChanged line, as is."""
    return [dict(row) for row in uow.session.execute(_LINES_OF_PO, {"po": po_id}).mappings()]


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
