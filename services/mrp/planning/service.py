"""Keeping the planner's read models: each handler applies one event's whole state, and only
when its sequence is newer than the one stored (a repeat or an older event changes nothing),
so replaying every event rebuilds the same tables."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import delete

from services.mrp.planning.models import (
    OpenPurchaseLine,
    OpenPurchaseOrder,
    PlannedBom,
    PlannedBomLine,
    PlannedCapacity,
    PlannedLine,
    StockLevel,
)
from shared.events.catalogue import (
    BomReleased,
    CapacityChanged,
    LineUpserted,
    PurchaseOrderChanged,
    StockChanged,
)
from shared.uow import UnitOfWork

# A purchase order in these states still brings goods; a draft is not yet ordered.
OPEN_PO_STATUSES = frozenset({"submitted", "partial"})


def remember_stock(uow: UnitOfWork, stock: StockChanged, sequence: int) -> None:
    row = uow.session.get(StockLevel, stock.sku, with_for_update=True)
    if row is None:
        row = StockLevel(sku=stock.sku, sequence=sequence)
        uow.session.add(row)
    elif sequence <= row.sequence:
        return
    row.on_hand, row.available, row.allocated = stock.on_hand, stock.available, stock.allocated
    row.pending_qc, row.wip, row.average_cost = stock.pending_qc, stock.wip, stock.average_cost
    row.sequence = sequence


def remember_bom(uow: UnitOfWork, bom: BomReleased, sequence: int) -> None:
    """The released version replaces the item's BOM, lines and all."""
    row = uow.session.get(PlannedBom, bom.sku, with_for_update=True)
    if row is None:
        row = PlannedBom(sku=bom.sku, sequence=sequence)
        uow.session.add(row)
    elif sequence <= row.sequence:
        return
    row.bom_version, row.output_qty, row.sequence = bom.bom_version, bom.output_qty, sequence
    uow.session.execute(delete(PlannedBomLine).where(PlannedBomLine.sku == bom.sku))
    uow.session.add_all(
        PlannedBomLine(
            sku=bom.sku,
            line_no=line.line_no,
            component_sku=line.component_sku,
            qty_per=line.qty_per,
            scrap_pct=line.scrap_pct,
        )
        for line in bom.lines
    )


def remember_purchase_order(uow: UnitOfWork, po: PurchaseOrderChanged, sequence: int) -> None:
    """Keep what is still to come on each line of a submitted or partly received order; a
    draft, received or cancelled order brings nothing more."""
    row = uow.session.get(OpenPurchaseOrder, po.po_number, with_for_update=True)
    if row is None:
        row = OpenPurchaseOrder(po_number=po.po_number, sequence=sequence)
        uow.session.add(row)
    elif sequence <= row.sequence:
        return
    row.vendor_code, row.status, row.sequence = po.vendor_code, po.status, sequence
    uow.session.execute(delete(OpenPurchaseLine).where(OpenPurchaseLine.po_number == po.po_number))
    if po.status not in OPEN_PO_STATUSES:
        return
    uow.session.add_all(
        OpenPurchaseLine(
            po_number=po.po_number,
            line_no=line.line_no,
            sku=line.sku,
            qty_open=line.qty_ordered - line.qty_received,
            due_date=line.due_date,
        )
        for line in po.lines
        if line.qty_ordered > line.qty_received
    )


def remember_line(uow: UnitOfWork, line: LineUpserted, sequence: int) -> None:
    row = uow.session.get(PlannedLine, line.line_code, with_for_update=True)
    if row is None:
        row = PlannedLine(line_code=line.line_code, capacity_sequence=0)
        uow.session.add(row)
    elif sequence <= row.sequence:
        return
    row.name, row.facility_code, row.timezone = line.name, line.facility_code, line.timezone
    row.tooling_type, row.allergen_status = line.tooling_type, line.allergen_status
    row.speed_modifier, row.active, row.sequence = line.speed_modifier, line.active, sequence


def remember_capacity(uow: UnitOfWork, capacity: CapacityChanged, sequence: int) -> None:
    """The line's capacity rows are replaced by the event's list. A capacity heard before its
    line keeps a placeholder line (inactive until LineUpserted arrives)."""
    row = uow.session.get(PlannedLine, capacity.line_code, with_for_update=True)
    if row is None:
        row = PlannedLine(
            line_code=capacity.line_code,
            name=capacity.line_code,
            facility_code=capacity.facility_code,
            timezone="UTC",
            tooling_type=None,
            allergen_status="handles_allergens",
            speed_modifier=Decimal(1),
            active=False,
            sequence=0,
            capacity_sequence=sequence,
        )
        uow.session.add(row)
    elif sequence <= row.capacity_sequence:
        return
    row.capacity_sequence = sequence
    if capacity.shifts_by_weekday is not None:
        row.shifts_by_weekday = ",".join(str(n) for n in capacity.shifts_by_weekday)
    uow.session.execute(
        delete(PlannedCapacity).where(PlannedCapacity.line_code == capacity.line_code)
    )
    uow.session.add_all(
        PlannedCapacity(
            line_code=capacity.line_code,
            sku=part.sku,
            family=part.family,
            units_per_shift=part.units_per_shift,
            effective_from=part.effective_from,
        )
        for part in capacity.capacities
    )
