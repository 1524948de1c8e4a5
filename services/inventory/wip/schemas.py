"""Response bodies of a production order's material summary (the CoC and open-jobs views)."""

from __future__ import annotations

from pydantic import BaseModel

from shared.values import Amount4


class MaterialFigures(BaseModel):
    """What happened to some material of an order: issued to WIP, returned (de-issued) from it,
    relieved (consumed by runs), and what is still in WIP; quantities and values."""

    qty_issued: Amount4
    value_issued: Amount4
    qty_returned: Amount4
    value_returned: Amount4
    qty_relieved: Amount4
    value_relieved: Amount4
    qty_in_wip: Amount4
    value_in_wip: Amount4


class MaterialLotOut(MaterialFigures):
    lot: str
    from_location: str


class MaterialComponentOut(MaterialFigures):
    """One component: the reservation's figures, then the WIP figures, per lot below."""

    sku: str
    name: str
    uom: str
    qty_required: Amount4
    qty_reserved: Amount4
    qty_released: Amount4
    lots: list[MaterialLotOut]


class RunOutputOut(BaseModel):
    run_id: str
    final_run: bool
    qty_good: Amount4
    qty_bad: Amount4
    value_good: Amount4
    value_bad: Amount4
    unit_cost: Amount4
    to_status: str
    scrap_reason_code: str | None
    received_at: str


class QcDecisionOut(BaseModel):
    qc_record_id: str
    run_id: str | None
    qty_passed: Amount4
    qty_failed: Amount4
    value_passed: Amount4
    value_failed: Amount4
    unit_cost: Amount4
    reason_code: str | None
    inspected_at: str


class OrderOutputOut(BaseModel):
    """The order's output: received good and bad, inspected passed and failed, and the good
    units still waiting in the QC hold."""

    qty_good: Amount4
    qty_bad: Amount4
    value_good: Amount4
    value_bad: Amount4
    qty_passed: Amount4
    qty_failed: Amount4
    value_passed: Amount4
    value_failed: Amount4
    qty_awaiting_qc: Amount4


class OrderMaterialsOut(BaseModel):
    """`status`: not_started (inventory has nothing for the order), reserved (material held,
    not issued yet), in_progress (issued), relieved (the final run consumed it all), cancelled.
    `wip_value` is what the order still has in WIP: issued - returned - relieved."""

    order_code: str
    status: str
    sku: str | None
    qty_to_make: Amount4 | None
    so_number: str | None
    so_line_no: int | None
    value_issued: Amount4
    value_returned: Amount4
    value_relieved: Amount4
    wip_value: Amount4
    components: list[MaterialComponentOut]
    output: OrderOutputOut
    runs: list[RunOutputOut]
    qc_decisions: list[QcDecisionOut]


class OrdersMaterialsOut(BaseModel):
    orders: list[OrderMaterialsOut]
