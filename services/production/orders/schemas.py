"""Request and response bodies of the production orders API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from services.production.orders.domain import OrderStatus, OrderType, Priority
from shared.values import Amount4

Quantity = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=4)]
Count = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=4)]
Code = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$"
    ),
]
Sku = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Notes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class OrderCreate(BaseModel):
    """A new order; `order_type` may be left out: a sales order makes it `mto`, else `mts`."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku
    order_type: OrderType | None = None
    so_number: Code | None = None
    so_line_no: Annotated[int, Field(ge=1, le=100_000)] | None = None
    qty_ordered: Quantity
    qty_to_make: Quantity | None = Field(
        default=None, description="The quantity ordered when left out; more is an overprint"
    )
    priority: Priority = Priority.NORMAL
    due_date: date | None = None
    line_code: Code | None = None
    planned_start: AwareDatetime | None = None
    notes: Notes | None = None


class OrderSchedule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_code: Code | None = None
    planned_start: AwareDatetime | None = None
    priority: Priority | None = None


class OrderStart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allow_insufficient: bool = Field(
        default=False, description="Start even if components are short (shortages recorded)"
    )


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    qty_good: Count
    qty_bad: Count = Decimal(0)
    scrap_reason_code: Code | None = None
    notes: Notes | None = None
    final_run: bool = True
    reprint: bool = Field(
        default=True,
        description="When the final run leaves nothing to inspect (no QC for the item, or no "
        "good unit), reprint the shortfall",
    )


class QcCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    qty_passed: Count
    qty_failed: Count = Decimal(0)
    reason_code: Code | None = None
    notes: Notes | None = None
    reprint: bool = Field(
        default=True, description="Create a reprint order for the shortfall, if any"
    )


class OrderCancel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class ShortageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sku: str
    qty_required: Amount4
    qty_available: Amount4
    qty_short: Amount4


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    run_id: str
    run_no: int
    qty_good: Amount4
    qty_bad: Amount4
    scrap_reason_code: str | None
    notes: str | None
    final_run: bool
    completed_at: datetime
    recorded_by: str


class QcRecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    qc_record_id: str
    qc_no: int
    qty_passed: Amount4
    qty_failed: Amount4
    reason_code: str | None
    notes: str | None
    reprint_order_code: str | None
    inspected_at: datetime
    inspected_by: str


class OrderOut(BaseModel):
    code: str
    sku: str
    item_name: str | None
    order_type: OrderType
    status: OrderStatus
    qty_ordered: Amount4
    qty_to_make: Amount4
    qty_good: Amount4
    qty_bad: Amount4
    qty_scrapped: Amount4 = Field(description="Bad at runs plus failed at QC")
    qty_passed: Amount4
    qty_failed: Amount4
    qty_awaiting_qc: Amount4
    priority: Priority
    due_date: date | None
    line_code: str | None
    planned_start: datetime | None
    notes: str | None
    so_number: str | None
    so_line_no: int | None
    bom_version: int | None
    requires_qc: bool
    reprint_of: str | None
    root_order_code: str | None
    reprint_seq: int
    reprint_reason: str | None
    shortages: list[ShortageOut]
    cancel_reason: str | None
    created_at: datetime
    created_by: str
    updated_at: datetime
    started_at: datetime | None
    printed_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None


class OrderDetail(OrderOut):
    runs: list[RunOut]
    qc_records: list[QcRecordOut]


class RunResult(RunOut):
    """A recorded run, the order as it stands after it, and the reprint of its shortfall when
    the run completed it short."""

    order: OrderDetail
    reprint: OrderOut | None = None


class QcResult(QcRecordOut):
    """A recorded QC decision, the order as it stands after it, and its reprint if one was
    made."""

    order: OrderDetail
    reprint: OrderOut | None


class ChainOrderOut(BaseModel):
    code: str
    reprint_seq: int
    reprint_of: str | None
    reprint_reason: str | None
    status: OrderStatus
    qty_ordered: Amount4
    qty_to_make: Amount4
    qty_good: Amount4
    qty_bad: Amount4
    qty_passed: Amount4
    qty_failed: Amount4
    created_at: datetime


class ChainTotalsOut(BaseModel):
    orders_in_chain: int
    qty_ordered: Amount4 = Field(description="What the root order asked for")
    qty_printed: Amount4 = Field(description="Good and bad printed across the chain")
    qty_completed: Amount4 = Field(description="Passed across the chain")
    qty_scrapped: Amount4 = Field(description="Bad at runs and failed at QC across the chain")
    effective_yield: Amount4 | None = Field(
        description="Passed / printed across the chain, to four places; null before any run"
    )


class ReprintHistoryOut(BaseModel):
    root_order_code: str
    sku: str
    orders: list[ChainOrderOut]
    totals: ChainTotalsOut
