"""The material summary of production orders, read from inventory's own records: per component
and lot what was reserved, issued, returned and relieved, what is still in WIP, and the output
received and inspected. The CoC and the open-jobs view are built on it, so it answers for many
orders at once with five statements whatever their number.

Separate from service.py: this is a read, it locks nothing and changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import BindParameter, Table, bindparam, select

from services.inventory.models import (
    Item,
    OrderWip,
    QcDecision,
    Reservation,
    RunReceipt,
    WipComponent,
)
from services.inventory.wip.schemas import (
    MaterialComponentOut,
    MaterialLotOut,
    OrderMaterialsOut,
    OrderOutputOut,
    QcDecisionOut,
    RunOutputOut,
)
from shared.uow import UnitOfWork

ZERO = Decimal(0)
FIGURES = (
    "qty_issued",
    "value_issued",
    "qty_returned",
    "value_returned",
    "qty_relieved",
    "value_relieved",
)


def order_materials(uow: UnitOfWork, order_codes: Sequence[str]) -> list[OrderMaterialsOut]:
    """The summaries of the orders, in the order asked (each code once). An order inventory
    knows nothing of (not started, never reserved) is `not_started` with empty figures."""
    codes = list(dict.fromkeys(order_codes))
    if not codes:
        return []
    session = uow.session
    params = {"codes": codes}
    headers = {row.order_code: row for row in session.execute(_HEADERS, params)}
    lots: dict[str, dict[int, list[Any]]] = defaultdict(lambda: defaultdict(list))
    items: dict[int, tuple[str, str, str]] = {}
    for row in session.execute(_LOTS, params):
        lots[row.order_code][row.item_id].append(row)
        items[row.item_id] = (row.sku, row.name, row.uom)
    reserved: dict[str, dict[int, Any]] = defaultdict(dict)
    for row in session.execute(_RESERVED, params):
        reserved[row.reference][row.item_id] = row
        items[row.item_id] = (row.sku, row.name, row.uom)
    runs: dict[str, list[Any]] = defaultdict(list)
    for row in session.execute(_RUNS, params):
        runs[row.order_code].append(row)
    decisions: dict[str, list[Any]] = defaultdict(list)
    for row in session.execute(_DECISIONS, params):
        decisions[row.order_code].append(row)
    return [
        _summary(
            code, headers.get(code), lots[code], reserved[code], items, runs[code], decisions[code]
        )
        for code in codes
    ]


def _summary(
    code: str,
    header: Any,
    lots: dict[int, list[Any]],
    reserved: dict[int, Any],
    items: dict[int, tuple[str, str, str]],
    runs: list[Any],
    decisions: list[Any],
) -> OrderMaterialsOut:
    components = [
        _component(items[item_id], reserved.get(item_id), lots.get(item_id, []))
        for item_id in sorted(set(lots) | set(reserved), key=lambda i: items[i][0])
    ]
    if header is not None:
        status = header.status
    elif reserved:
        status = "reserved"
    else:
        status = "not_started"
    value_issued = header.value_issued if header is not None else ZERO
    value_returned = header.value_returned if header is not None else ZERO
    value_relieved = header.value_relieved if header is not None else ZERO
    good_held = sum((r.qty_good for r in runs if r.to_status == "pending_qc"), ZERO)
    inspected = sum((d.qty_passed + d.qty_failed for d in decisions), ZERO)
    return OrderMaterialsOut(
        order_code=code,
        status=status,
        sku=header.sku if header is not None else None,
        qty_to_make=header.qty_to_make if header is not None else None,
        so_number=header.so_number if header is not None else None,
        so_line_no=header.so_line_no if header is not None else None,
        value_issued=value_issued,
        value_returned=value_returned,
        value_relieved=value_relieved,
        wip_value=value_issued - value_returned - value_relieved,
        components=components,
        output=OrderOutputOut(
            qty_good=sum((r.qty_good for r in runs), ZERO),
            qty_bad=sum((r.qty_bad for r in runs), ZERO),
            value_good=sum((r.value_good for r in runs), ZERO),
            value_bad=sum((r.value_bad for r in runs), ZERO),
            qty_passed=sum((d.qty_passed for d in decisions), ZERO),
            qty_failed=sum((d.qty_failed for d in decisions), ZERO),
            value_passed=sum((d.value_passed for d in decisions), ZERO),
            value_failed=sum((d.value_failed for d in decisions), ZERO),
            qty_awaiting_qc=max(good_held - inspected, ZERO),
        ),
        runs=[
            RunOutputOut(
                run_id=r.run_id,
                final_run=r.final_run,
                qty_good=r.qty_good,
                qty_bad=r.qty_bad,
                value_good=r.value_good,
                value_bad=r.value_bad,
                unit_cost=r.unit_cost,
                to_status=r.to_status,
                scrap_reason_code=r.scrap_reason_code,
                received_at=r.created_at.isoformat(),
            )
            for r in runs
        ],
        qc_decisions=[
            QcDecisionOut(
                qc_record_id=d.qc_record_id,
                run_id=d.run_id,
                qty_passed=d.qty_passed,
                qty_failed=d.qty_failed,
                value_passed=d.value_passed,
                value_failed=d.value_failed,
                unit_cost=d.unit_cost,
                reason_code=d.reason_code,
                inspected_at=d.created_at.isoformat(),
            )
            for d in decisions
        ],
    )


def _component(
    item: tuple[str, str, str], reservation: Any, lots: list[Any]
) -> MaterialComponentOut:
    lot_figures = [_lot(row) for row in lots]
    totals = {name: sum((getattr(lot, name) for lot in lot_figures), ZERO) for name in FIGURES}
    sku, name, uom = item
    return MaterialComponentOut(
        sku=sku,
        name=name,
        uom=uom,
        qty_required=reservation.qty_required if reservation is not None else ZERO,
        qty_reserved=reservation.qty_reserved if reservation is not None else ZERO,
        qty_released=reservation.qty_released if reservation is not None else ZERO,
        **totals,
        qty_in_wip=totals["qty_issued"] - totals["qty_returned"] - totals["qty_relieved"],
        value_in_wip=totals["value_issued"] - totals["value_returned"] - totals["value_relieved"],
        lots=lot_figures,
    )


def _lot(row: Any) -> MaterialLotOut:
    return MaterialLotOut(
        lot=row.lot,
        from_location=row.from_location,
        **{name: getattr(row, name) for name in FIGURES},
        qty_in_wip=row.qty_issued - row.qty_returned - row.qty_relieved,
        value_in_wip=row.value_issued - row.value_returned - row.value_relieved,
    )


_ITEMS = cast(Table, Item.__table__)
_ORDERS = cast(Table, OrderWip.__table__)
_COMPONENTS = cast(Table, WipComponent.__table__)
_RESERVATIONS = cast(Table, Reservation.__table__)
_RUN_RECEIPTS = cast(Table, RunReceipt.__table__)
_QC = cast(Table, QcDecision.__table__)
_CODES: BindParameter[str] = bindparam("codes", expanding=True)

_HEADERS = (
    select(_ORDERS, _ITEMS.c.sku)
    .join(_ITEMS, _ITEMS.c.id == _ORDERS.c.item_id)
    .where(_ORDERS.c.order_code.in_(_CODES))
)
_LOTS = (
    select(_COMPONENTS, _ITEMS.c.sku, _ITEMS.c.name, _ITEMS.c.uom)
    .join(_ITEMS, _ITEMS.c.id == _COMPONENTS.c.item_id)
    .where(_COMPONENTS.c.order_code.in_(_CODES))
    .order_by(_COMPONENTS.c.id)
)
_RESERVED = (
    select(
        _RESERVATIONS.c.reference,
        _RESERVATIONS.c.item_id,
        _RESERVATIONS.c.qty_required,
        _RESERVATIONS.c.qty_reserved,
        _RESERVATIONS.c.qty_released,
        _ITEMS.c.sku,
        _ITEMS.c.name,
        _ITEMS.c.uom,
    )
    .join(_ITEMS, _ITEMS.c.id == _RESERVATIONS.c.item_id)
    .where(
        _RESERVATIONS.c.reference_type == "production_order",
        _RESERVATIONS.c.reference.in_(_CODES),
    )
)
_RUNS = (
    select(_RUN_RECEIPTS).where(_RUN_RECEIPTS.c.order_code.in_(_CODES)).order_by(_RUN_RECEIPTS.c.id)
)
_DECISIONS = select(_QC).where(_QC.c.order_code.in_(_CODES)).order_by(_QC.c.id)
