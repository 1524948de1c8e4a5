"""The event catalogue: one pydantic payload model per event type of DESIGN §3.

Every payload model derives from `EventPayload`: unknown fields are refused (`extra="forbid"`), an
instance is immutable (`frozen=True`), and the class carries its `event_type` (the routing key and
the envelope's `type`) and its schema `version`. A payload change that is not backward compatible
bumps `version` (DESIGN §3).

Conventions, the same in every model:

- Quantities and money are `Decimal`, never `float`.
  * Accepted input: `Decimal`, `int`, and decimal strings ("12.5", "-3", "1E+2").
  * Refused input: `float` (a binary float cannot hold 0.1 exactly; refusing it keeps a float
    from slipping in anywhere along the chain), `bool`, NaN and infinities. In JSON input a number
    with a fraction (`{"qty": 0.1}`) is parsed as a float and therefore refused; JSON integers are
    accepted. Producers send decimal strings.
  * Output: in JSON mode (`model_dump(mode="json")`, `model_dump_json()`, `validate_payload`) a
    decimal is a string in plain notation that keeps every digit given ("0.10" stays "0.10",
    `Decimal("1E+2")` becomes "100"). In Python mode it stays a `Decimal`.
  * Scale is not limited here; tables store `Numeric(18, 4)` and rounding is the producer's job.
- Timestamps are timezone-aware datetimes, normalised to UTC; naive datetimes are refused. Calendar
  days (due dates, entry dates) are `date`.
- Codes and identifiers (SKU, order codes, line codes, ...) are non-empty strings, trimmed.
- Lists inside a payload are tuples, so a frozen payload is immutable all the way down.
- Naming: `sku` for an item, `po_number` for a purchase order, `so_number` for a sales order,
  `order_code` for a production order, `line_code` for a production line/machine, `vendor_code`,
  `customer_code`; `*_at` for instants, `*_date` for days; `qty*` for quantities, `*_cost` for unit
  costs, `value*` / `amount` for extended money.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, Self
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeInt,
    PlainSerializer,
    PositiveInt,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

__all__ = [
    "CATALOGUE",
    "AuditRecorded",
    "BillLine",
    "BomLine",
    "BomReleased",
    "CapacityChanged",
    "ComponentRequirement",
    "DowntimeRecorded",
    "EventPayload",
    "FinishedGoodsInspected",
    "FinishedGoodsReceived",
    "ItemUpserted",
    "JournalLine",
    "JournalPosted",
    "LineCapacity",
    "LineUpserted",
    "MaterialIssued",
    "MaterialReceived",
    "MaterialReturned",
    "OrderShipped",
    "PaymentReceived",
    "PrintCompleted",
    "ProductionOrderChanged",
    "ProductionStarted",
    "PurchaseOrderChanged",
    "PurchaseOrderLine",
    "QCPassed",
    "ReprintCreated",
    "SalesOrderChanged",
    "SalesOrderLine",
    "ScheduleProjectionChanged",
    "ShippedLine",
    "Shortage",
    "StockAdjusted",
    "StockChanged",
    "UnknownEventType",
    "VendorBillApproved",
    "VendorPaymentMade",
    "parse_payload",
    "payload_model",
    "validate_payload",
]


# --------------------------------------------------------------------------------------------
# Field types
# --------------------------------------------------------------------------------------------


def _refuse_float(value: object) -> object:
    """Let `Decimal`, `int` and strings through to pydantic's decimal parser; refuse floats."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a quantity or an amount")
    if isinstance(value, float):
        raise ValueError(
            "floats are not accepted for quantities and money; send a decimal string, e.g. '0.1'"
        )
    return value


def _decimal_to_str(value: Decimal) -> str:
    """Plain notation, every digit kept: Decimal('0.10') -> '0.10', Decimal('1E+2') -> '100'."""
    return format(value, "f")


def _not_zero(value: Decimal) -> Decimal:
    if value == 0:
        raise ValueError("must not be zero")
    return value


_DECIMAL_PATTERN = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def _decimal_json_schema(rule: str | None = None) -> dict[str, Any]:
    description = "Decimal as a string (integers also accepted; floats refused)"
    if rule:
        description += f"; {rule}"
    return {
        "anyOf": [{"type": "string", "pattern": _DECIMAL_PATTERN}, {"type": "integer"}],
        "description": description,
    }


_NO_FLOAT = BeforeValidator(_refuse_float)
_AS_STRING = PlainSerializer(_decimal_to_str, return_type=str, when_used="json")

Dec = Annotated[Decimal, _NO_FLOAT, _AS_STRING, WithJsonSchema(_decimal_json_schema())]
"""Any finite decimal (signed deltas, absolute balances that may legitimately go negative)."""

NonNegDec = Annotated[
    Decimal, _NO_FLOAT, Field(ge=0), _AS_STRING, WithJsonSchema(_decimal_json_schema(">= 0"))
]
"""A quantity or amount that may be zero but never negative (unit costs, qty_bad, ...)."""

PosDec = Annotated[
    Decimal, _NO_FLOAT, Field(gt=0), _AS_STRING, WithJsonSchema(_decimal_json_schema("> 0"))
]
"""A quantity or amount that must be positive (received qty, payment amount, ...)."""

NonZeroDec = Annotated[
    Decimal,
    _NO_FLOAT,
    AfterValidator(_not_zero),
    _AS_STRING,
    WithJsonSchema(_decimal_json_schema("!= 0")),
]
"""A signed delta that must move something (stock adjustments)."""


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware instant, normalised to UTC; naive datetimes are refused."""

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
"""A non-empty identifier or code (SKU, order code, vendor code, ...)."""

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
"""A non-empty human-readable text (names, reasons)."""

StockStatus = Literal["approved", "pending_qc"]
"""Where received goods land: available stock, or QC hold awaiting inspection."""


# --------------------------------------------------------------------------------------------
# Bases
# --------------------------------------------------------------------------------------------


class _Part(BaseModel):
    """A nested part of a payload (a line): same strictness as the payload itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class EventPayload(BaseModel):
    """Base of every event payload. Subclasses set `event_type` (and `version` when bumped)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str]
    version: ClassVar[int] = 1
    # True for events that carry the whole current state of their key (DESIGN §3): only the
    # newest matters, so a unit of work publishes just its last one per key.
    carries_state: ClassVar[bool] = False


class StateEvent(EventPayload):
    """An event that carries the whole current state of the thing its key names."""

    carries_state: ClassVar[bool] = True


# --------------------------------------------------------------------------------------------
# Purchasing
# --------------------------------------------------------------------------------------------


class MaterialReceived(EventPayload):
    """Purchasing received material against a PO line.

    inventory: receipt into RAW (approved) or QC (pending_qc), lot, moving-average cost.
    accounting: Dr 1200 Raw materials / Cr 2000 Accounts payable for `value`.
    """

    event_type: ClassVar[str] = "MaterialReceived"

    po_number: Code
    line_no: PositiveInt
    receipt_id: Code
    sku: Code
    qty: PosDec
    unit_cost: NonNegDec
    value: NonNegDec = Field(
        description="Extended cost computed by purchasing; accounting posts it, never recomputes"
    )
    lot: Code | None = None
    to_status: StockStatus
    vendor_code: Code
    received_at: UtcDatetime
    receipt_date: date | None = Field(
        default=None,
        description="The plant-local business day of the receipt, set by purchasing; the "
        "journal is dated on it (on the plant-local day of received_at when absent)",
    )


class PurchaseOrderLine(_Part):
    line_no: PositiveInt
    sku: Code
    qty_ordered: PosDec
    qty_received: NonNegDec = Decimal(0)
    unit_cost: NonNegDec
    due_date: date | None = None


class PurchaseOrderChanged(StateEvent):
    """The whole current state of one purchase order (read models: newest sequence wins)."""

    event_type: ClassVar[str] = "PurchaseOrderChanged"

    po_number: Code
    vendor_code: Code
    status: Literal["draft", "submitted", "partial", "received", "cancelled"]
    order_date: date
    lines: tuple[PurchaseOrderLine, ...] = ()

    @model_validator(mode="after")
    def _unique_line_numbers(self) -> Self:
        _require_unique([line.line_no for line in self.lines], "lines.line_no")
        return self


class BillLine(_Part):
    line_no: PositiveInt
    po_line_no: PositiveInt | None = None
    sku: Code | None = None
    description: str | None = None
    qty: PosDec
    unit_cost: NonNegDec
    amount: NonNegDec


class VendorBillApproved(EventPayload):
    """A vendor bill was approved for payment."""

    event_type: ClassVar[str] = "VendorBillApproved"

    bill_number: Code
    vendor_code: Code
    vendor_invoice_ref: str | None = None
    po_number: Code | None = None
    bill_date: date
    due_date: date | None = None
    amount: PosDec
    lines: tuple[BillLine, ...] = ()
    approved_at: UtcDatetime


class VendorPaymentMade(EventPayload):
    """Purchasing paid (part of) a vendor bill. accounting: Dr 2000 AP / Cr 1000 Cash."""

    event_type: ClassVar[str] = "VendorPaymentMade"

    payment_id: Code
    vendor_code: Code
    bill_number: Code
    amount: PosDec
    paid_at: UtcDatetime
    reference: str | None = None


# --------------------------------------------------------------------------------------------
# Inventory
# --------------------------------------------------------------------------------------------


class ItemUpserted(StateEvent):
    """The whole current state of one item master record."""

    event_type: ClassVar[str] = "ItemUpserted"

    sku: Code
    name: Text
    uom: Code
    item_type: Literal["raw", "component", "finished", "packaging"]
    make_or_buy: Literal["make", "buy"]
    customer_supplied: bool = False
    reorder_point: NonNegDec = Decimal(0)
    reorder_qty: NonNegDec = Decimal(0)
    average_cost: NonNegDec = Decimal(0)
    active: bool = True
    requires_qc: bool = Field(
        default=True,
        description="A made item's output waits in the QC hold; false sends it straight to FG",
    )
    family: Code | None = Field(
        default=None, description="Product family, for line capacities given per family"
    )


class StockChanged(StateEvent):
    """Absolute stock figures of one item after a change (apply only if `sequence` is newer).

    `allocated` is the quantity committed to orders; `open_reservations` is the quantity held by
    reservations not yet issued or released. Balances are signed: the owner reports what is,
    a read model does not refuse it.
    """

    event_type: ClassVar[str] = "StockChanged"

    sku: Code
    on_hand: Dec
    available: Dec
    allocated: Dec
    pending_qc: Dec
    wip: Dec
    open_reservations: Dec
    average_cost: NonNegDec = Field(description="Moving-average unit cost")


class MaterialIssued(EventPayload):
    """Inventory issued one component to a production order's WIP.

    accounting: Dr 1210 WIP / Cr 1200 Raw materials for `value`.
    production: actual material cost of the order.
    """

    event_type: ClassVar[str] = "MaterialIssued"

    order_code: Code
    sku: Code
    qty: PosDec
    unit_cost: NonNegDec
    value: NonNegDec = Field(description="Extended cost at moving average; posted as is")
    lot: Code | None = None
    from_location: Code = "RAW"
    issued_at: UtcDatetime


class FinishedGoodsReceived(EventPayload):
    """Inventory booked a run's output out of WIP, at the order's WIP unit cost.

    Good output goes to QC hold (`pending_qc`) or straight to FG (`approved`); bad output goes to
    SCRAP. Carries the values so accounting posts Dr 1220 FG / Cr 1210 WIP (`value_good`) and
    Dr 5400 Scrap / Cr 1210 WIP (`value_bad`) without computing a cost.
    """

    event_type: ClassVar[str] = "FinishedGoodsReceived"

    order_code: Code
    run_id: Code
    sku: Code
    qty_good: NonNegDec
    qty_bad: NonNegDec = Decimal(0)
    unit_cost: NonNegDec
    value_good: NonNegDec
    value_bad: NonNegDec = Decimal(0)
    to_status: StockStatus
    lot: Code | None = None
    received_at: UtcDatetime

    @model_validator(mode="after")
    def _something_received(self) -> Self:
        if self.qty_good == 0 and self.qty_bad == 0:
            raise ValueError("qty_good and qty_bad are both zero")
        return self


class FinishedGoodsInspected(EventPayload):
    """Inventory booked a QC decision on output held in QC, at the held unit cost.

    Passed units move from the QC hold to FG available (no change of account); failed units go
    to SCRAP: accounting posts Dr 5400 Scrap / Cr 1220 FG for `value_failed`, never computing a
    cost. Nothing is consumed here: material was consumed once, at PrintCompleted.
    """

    event_type: ClassVar[str] = "FinishedGoodsInspected"

    qc_record_id: Code
    order_code: Code
    sku: Code
    qty_passed: NonNegDec
    qty_failed: NonNegDec = Decimal(0)
    unit_cost: NonNegDec
    value_passed: NonNegDec
    value_failed: NonNegDec = Decimal(0)
    reason_code: Code | None = None
    lot: Code | None = None
    inspected_at: UtcDatetime


class MaterialReturned(EventPayload):
    """Inventory returned (de-issued) a component from an order's WIP to stock, e.g. when a
    started order is cancelled. accounting: Dr 1200 Raw materials / Cr 1210 WIP for `value`."""

    event_type: ClassVar[str] = "MaterialReturned"

    order_code: Code
    sku: Code
    qty: PosDec
    unit_cost: NonNegDec
    value: NonNegDec
    lot: Code | None = None
    to_location: Code = "RAW"
    returned_at: UtcDatetime


class StockAdjusted(EventPayload):
    """A manual or count adjustment. accounting: the location's inventory account vs 5500, or
    vs 3900 (opening balance equity) for reason `opening_balance`."""

    event_type: ClassVar[str] = "StockAdjusted"

    adjustment_id: Code
    sku: Code
    location: Code
    lot: Code | None = None
    qty_delta: NonZeroDec
    value_delta: Dec
    reason_code: Code
    reason: str | None = None
    adjusted_at: UtcDatetime


class ShippedLine(_Part):
    line_no: PositiveInt
    sku: Code
    qty: PosDec
    unit_cost: NonNegDec
    unit_price: NonNegDec
    cost_value: NonNegDec = Field(description="Extended cost (COGS) for the line, posted as is")
    sales_value: NonNegDec = Field(description="Extended price (revenue) for the line")
    lot: Code | None = None


class OrderShipped(EventPayload):
    """Inventory shipped (part of) a sales order.

    accounting: Dr 5000 COGS / Cr 1220 FG (sum of `cost_value`); Dr 1100 AR / Cr 4000 Revenue
    (sum of `sales_value`).
    """

    event_type: ClassVar[str] = "OrderShipped"

    shipment_id: Code
    so_number: Code
    customer_code: Code
    business_unit: Code | None = None
    lines: tuple[ShippedLine, ...] = Field(min_length=1)
    shipped_at: UtcDatetime

    @model_validator(mode="after")
    def _unique_line_numbers(self) -> Self:
        _require_unique([line.line_no for line in self.lines], "lines.line_no")
        return self


# --------------------------------------------------------------------------------------------
# Production
# --------------------------------------------------------------------------------------------


class BomLine(_Part):
    line_no: PositiveInt
    component_sku: Code
    qty_per: PosDec = Field(description="Component quantity per `output_qty` of the parent")
    scrap_pct: NonNegDec = Decimal(0)


class BomReleased(StateEvent):
    """The whole current state of one released BOM version (one level; components may have
    their own BOMs, which is how multi-level structures are expressed)."""

    event_type: ClassVar[str] = "BomReleased"

    sku: Code
    bom_version: PositiveInt
    output_qty: PosDec = Decimal(1)
    lines: tuple[BomLine, ...] = Field(min_length=1)
    effective_from: date | None = None
    released_at: UtcDatetime

    @model_validator(mode="after")
    def _unique_line_numbers(self) -> Self:
        _require_unique([line.line_no for line in self.lines], "lines.line_no")
        return self


class Shortage(_Part):
    """A component that was short when an order started with `allow_insufficient`."""

    sku: Code
    qty_required: PosDec
    qty_available: NonNegDec
    qty_short: PosDec


class ProductionOrderChanged(StateEvent):
    """The whole current state of one production order (MTO with a sales order, MTS without).

    Version 2: the statuses of the order's life on the floor (draft -> scheduled -> in_progress
    -> printed -> completed, or cancelled), the quantity to make (an overprint allowance may
    exceed the quantity ordered), priority, the QC figures, the reprint chain, and the shortages
    recorded when it started without enough material.
    """

    event_type: ClassVar[str] = "ProductionOrderChanged"
    version: ClassVar[int] = 2

    order_code: Code
    sku: Code
    order_type: Literal["mto", "mts"]
    status: Literal["draft", "scheduled", "in_progress", "printed", "completed", "cancelled"]
    qty_ordered: PosDec
    qty_to_make: PosDec
    qty_good: NonNegDec = Decimal(0)
    qty_scrapped: NonNegDec = Decimal(0)
    qty_passed: NonNegDec = Decimal(0)
    qty_failed: NonNegDec = Decimal(0)
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    so_number: Code | None = None
    so_line_no: PositiveInt | None = None
    bom_version: PositiveInt | None = None
    line_code: Code | None = None
    reprint_of: Code | None = Field(
        default=None, description="The order this one reprints, if it is a reprint"
    )
    root_order_code: Code | None = Field(
        default=None, description="First order of the reprint chain (None for a root order)"
    )
    reprint_seq: NonNegativeInt = Field(default=0, description="0 for a root, 1.. along its chain")
    requires_qc: bool = True
    shortages: tuple[Shortage, ...] = ()
    planned_start: UtcDatetime | None = None
    due_date: date | None = None


class ComponentRequirement(_Part):
    sku: Code
    qty: PosDec = Field(description="Total quantity of the component for this order")
    lot: Code | None = None


class ProductionStarted(EventPayload):
    """Production started an order. inventory: turns the reservation into an issue to WIP."""

    event_type: ClassVar[str] = "ProductionStarted"

    order_code: Code
    sku: Code
    qty: PosDec
    bom_version: PositiveInt | None = None
    components: tuple[ComponentRequirement, ...] = Field(min_length=1)
    line_code: Code | None = None
    so_number: Code | None = None
    so_line_no: PositiveInt | None = Field(
        default=None,
        description="The sales order line a make-to-order order makes; its passed units are "
        "allocated to it",
    )
    started_at: UtcDatetime


class PrintCompleted(EventPayload):
    """A run of a production order finished: good and bad output counted.

    inventory: good into QC hold (or FG when `requires_qc` is false), bad to SCRAP.
    downtime: output counts for OEE.
    """

    event_type: ClassVar[str] = "PrintCompleted"

    order_code: Code
    run_id: Code
    sku: Code
    qty_good: NonNegDec
    qty_bad: NonNegDec = Decimal(0)
    scrap_reason_code: Code | None = None
    requires_qc: bool = True
    final_run: bool = Field(
        default=True,
        description="The order's last run: inventory relieves all of the order's remaining WIP",
    )
    notes: str | None = None
    line_code: Code | None = None
    started_at: UtcDatetime | None = None
    completed_at: UtcDatetime

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.qty_good == 0 and self.qty_bad == 0:
            raise ValueError("qty_good and qty_bad are both zero")
        if self.qty_bad > 0 and self.scrap_reason_code is None:
            raise ValueError("scrap_reason_code is required when qty_bad > 0")
        _require_order(self.started_at, self.completed_at, "started_at", "completed_at")
        return self


class QCPassed(EventPayload):
    """QC inspected a run's output held in QC.

    inventory: passed QC hold -> FG available, failed -> SCRAP. Material is consumed once, at
    PrintCompleted, never again here.
    """

    event_type: ClassVar[str] = "QCPassed"

    qc_record_id: Code
    order_code: Code
    run_id: Code | None = None
    sku: Code
    qty_passed: NonNegDec
    qty_failed: NonNegDec = Decimal(0)
    reason_code: Code | None = None
    reprint_order_code: Code | None = None
    inspected_at: UtcDatetime

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.qty_passed == 0 and self.qty_failed == 0:
            raise ValueError("qty_passed and qty_failed are both zero")
        if self.qty_failed > 0 and self.reason_code is None:
            raise ValueError("reason_code is required when qty_failed > 0")
        return self


class ReprintCreated(EventPayload):
    """A reprint order was created to replace failed or scrapped output."""

    event_type: ClassVar[str] = "ReprintCreated"

    order_code: Code = Field(description="The new (reprint) production order")
    original_order_code: Code = Field(description="The order whose output is being replaced")
    root_order_code: Code = Field(description="First order of the reprint chain")
    sku: Code
    qty: PosDec
    reason_code: Code
    qc_record_id: Code | None = None
    created_at: UtcDatetime


# --------------------------------------------------------------------------------------------
# MRP / sales
# --------------------------------------------------------------------------------------------


class SalesOrderLine(_Part):
    line_no: PositiveInt
    sku: Code
    qty_ordered: PosDec
    qty_shipped: NonNegDec = Decimal(0)
    unit_price: NonNegDec
    due_date: date | None = Field(default=None, description="Due-to-ship date")
    business_unit: Code | None = None


class SalesOrderChanged(StateEvent):
    """The whole current state of one sales order."""

    event_type: ClassVar[str] = "SalesOrderChanged"
    # Version 2: the statuses that follow production and QC (in_production, ready_to_ship,
    # partial_qc, qc_failed) and a business unit per line.
    version: ClassVar[int] = 2

    so_number: Code
    customer_code: Code
    status: Literal[
        "draft",
        "open",
        "in_production",
        "partial_qc",
        "qc_failed",
        "ready_to_ship",
        "partial",
        "shipped",
        "closed",
        "cancelled",
    ]
    order_date: date
    business_unit: Code | None = None
    lines: tuple[SalesOrderLine, ...] = ()

    @model_validator(mode="after")
    def _unique_line_numbers(self) -> Self:
        _require_unique([line.line_no for line in self.lines], "lines.line_no")
        return self


class PaymentReceived(EventPayload):
    """A customer paid against a sales order. accounting: Dr 1000 Cash / Cr 1100 AR."""

    event_type: ClassVar[str] = "PaymentReceived"

    payment_id: Code
    so_number: Code
    customer_code: Code
    amount: PosDec
    received_at: UtcDatetime
    reference: str | None = None


class ScheduleProjectionChanged(StateEvent):
    """A planner saved a projection cell of a sales-order line (the scheduling grid): the line's
    two projections as they are now and the row version the save produced (`row_version`;
    `version` is the schema's). The same value saved again changes nothing and publishes
    nothing. The gateway's open grids fetch the line again; no service consumes it."""

    event_type: ClassVar[str] = "ScheduleProjectionChanged"

    so_number: Code
    line_no: PositiveInt
    row_version: PositiveInt = Field(
        description="The line's projection version after the save (what the grid's next save "
        "of the line names)"
    )
    low_risk_qty: NonNegDec | None = Field(default=None, description="No/Low Risk Qty")
    high_risk_qty: NonNegDec | None = Field(default=None, description="High Risk Qty")
    updated_by: Code = Field(description="The planner who saved it")
    updated_at: UtcDatetime


# --------------------------------------------------------------------------------------------
# Downtime
# --------------------------------------------------------------------------------------------


class LineUpserted(StateEvent):
    """The whole current state of one production line / machine.

    Version 2: the capabilities the MRP matches orders to (tooling type, allergen status, speed
    modifier) are part of the line's state.
    """

    event_type: ClassVar[str] = "LineUpserted"
    version: ClassVar[int] = 2

    line_code: Code
    name: Text
    facility_code: Code
    timezone: str = Field(default="UTC", description="IANA time zone of the facility")
    line_type: Code | None = None
    tooling_type: Code | None = None
    allergen_status: Literal["allergen_free", "handles_allergens"] = "handles_allergens"
    speed_modifier: PosDec = Field(
        default=Decimal(1),
        description="Relative speed of this line against the standard, 1 = standard",
    )
    active: bool = True


class LineCapacity(_Part):
    """Units a line makes per shift for one item, one product family, or any product (neither),
    from `effective_from` until the next entry of the same target."""

    sku: Code | None = None
    family: Code | None = None
    units_per_shift: PosDec
    effective_from: date

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if self.sku is not None and self.family is not None:
            raise ValueError("a capacity is for an item or for a product family, not both")
        return self


class CapacityChanged(StateEvent):
    """The whole current capacity of one line: every active entry, each with its effective date.

    Version 2: capacity is units per shift, per item or product family (or any product), each
    from its own effective date, replacing version 1's single units-per-hour figure.
    """

    event_type: ClassVar[str] = "CapacityChanged"
    version: ClassVar[int] = 2

    line_code: Code
    facility_code: Code
    capacities: tuple[LineCapacity, ...] = ()
    shifts_by_weekday: tuple[NonNegativeInt, ...] | None = Field(
        default=None,
        min_length=7,
        max_length=7,
        description="Active shifts of the line's facility on each weekday, Monday first (the "
        "MRP's earliest dates count them); absent from events sent before it was added",
    )


class DowntimeRecorded(EventPayload):
    """A line stood still: open (no `ended_at` yet) or closed, classified or not.

    Version 2: `reason_code` is None while a stop a machine reported waits for an operator to
    classify it; the facility and the plant-local production day are carried. An entry changed
    later is published again under the same `downtime_id` (the newest `sequence` wins).
    """

    event_type: ClassVar[str] = "DowntimeRecorded"
    version: ClassVar[int] = 2

    downtime_id: Code
    line_code: Code
    facility_code: Code
    reason_code: Code | None = Field(
        default=None, description="Downtime reason (a leaf of the reason tree); None: unclassified"
    )
    planned: bool = False
    started_at: UtcDatetime
    ended_at: UtcDatetime | None = None
    production_day: date
    shift_code: Code | None = None
    order_code: Code | None = None
    notes: str | None = None
    source: Literal["tablet", "manual", "machine"] = "tablet"

    @model_validator(mode="after")
    def _check(self) -> Self:
        _require_order(self.started_at, self.ended_at, "started_at", "ended_at")
        return self


# --------------------------------------------------------------------------------------------
# Accounting
# --------------------------------------------------------------------------------------------


class JournalLine(_Part):
    account_code: Code
    debit: NonNegDec = Decimal(0)
    credit: NonNegDec = Decimal(0)
    description: str | None = None
    dimensions: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_side(self) -> Self:
        if (self.debit == 0) == (self.credit == 0):
            raise ValueError("a journal line has exactly one of debit or credit non-zero")
        return self


class JournalPosted(EventPayload):
    """A journal entry was posted (immutable; a correction is a reversing entry)."""

    event_type: ClassVar[str] = "JournalPosted"

    entry_number: Code
    entry_date: date
    entry_type: Code
    memo: str = ""
    source_event_id: UUID | None = Field(
        default=None, description="Envelope id of the event that caused the posting, if any"
    )
    document_ref: str | None = Field(
        default=None, description="Business document (PO, receipt, shipment, bill, ...)"
    )
    reverses_entry_number: Code | None = None
    lines: tuple[JournalLine, ...] = Field(min_length=2)

    @model_validator(mode="after")
    def _balanced(self) -> Self:
        debits = sum((line.debit for line in self.lines), Decimal(0))
        credits = sum((line.credit for line in self.lines), Decimal(0))
        if debits != credits:
            raise ValueError(f"entry does not balance: debits {debits} != credits {credits}")
        return self


# --------------------------------------------------------------------------------------------
# Every service: the audit log
# --------------------------------------------------------------------------------------------


class AuditRecorded(EventPayload):
    """A user changed something: who, when, from where, what, and the thing before and after.

    Every service records one in the same transaction as the change (`shared.audit`); the
    gateway keeps them in its audit log. `action` is named like the permission matrix
    (`inventory.items.create`). `before` is None for a creation, `after` for a deletion; both
    are JSON objects (decimals as strings, times as ISO 8601). The string limits are those of
    the gateway's audit table (`MAX_LENGTHS`); the producer clips to them, so an audit entry
    never fails the change it records.
    """

    event_type: ClassVar[str] = "AuditRecorded"
    MAX_LENGTHS: ClassVar[dict[str, int]] = {
        "service": 32,
        "actor": 150,
        "actor_name": 200,
        "ip": 45,
        "action": 100,
        "entity_type": 50,
        "entity_id": 100,
        "request_id": 64,
        "correlation_id": 64,
    }

    service: Code = Field(max_length=MAX_LENGTHS["service"])
    actor: Code = Field(max_length=MAX_LENGTHS["actor"], description="The user's login")
    actor_name: str | None = Field(default=None, max_length=MAX_LENGTHS["actor_name"])
    ip: str | None = Field(
        default=None,
        max_length=MAX_LENGTHS["ip"],
        description="The client's address as the gateway saw it",
    )
    action: Code = Field(max_length=MAX_LENGTHS["action"])
    entity_type: Code = Field(max_length=MAX_LENGTHS["entity_type"])
    entity_id: Code = Field(max_length=MAX_LENGTHS["entity_id"])
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    request_id: str | None = Field(default=None, max_length=MAX_LENGTHS["request_id"])
    correlation_id: str | None = Field(default=None, max_length=MAX_LENGTHS["correlation_id"])
    at: UtcDatetime


# --------------------------------------------------------------------------------------------
# Helpers for validators
# --------------------------------------------------------------------------------------------


def _require_unique(values: list[int], field: str) -> None:
    if len(values) != len(set(values)):
        raise ValueError(f"{field} must be unique")


def _require_order(
    start: datetime | None, end: datetime | None, start_name: str, end_name: str
) -> None:
    if start is not None and end is not None and end < start:
        raise ValueError(f"{end_name} is before {start_name}")


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------


class UnknownEventType(KeyError):
    """No payload model is registered under this event type."""


_MODELS: tuple[type[EventPayload], ...] = (
    MaterialReceived,
    ProductionStarted,
    MaterialIssued,
    PrintCompleted,
    QCPassed,
    OrderShipped,
    StockAdjusted,
    PaymentReceived,
    VendorPaymentMade,
    VendorBillApproved,
    StockChanged,
    ItemUpserted,
    BomReleased,
    LineUpserted,
    CapacityChanged,
    PurchaseOrderChanged,
    ProductionOrderChanged,
    SalesOrderChanged,
    ScheduleProjectionChanged,
    DowntimeRecorded,
    JournalPosted,
    FinishedGoodsReceived,
    FinishedGoodsInspected,
    MaterialReturned,
    ReprintCreated,
    AuditRecorded,
)


def _build_catalogue(models: tuple[type[EventPayload], ...]) -> dict[str, type[EventPayload]]:
    catalogue: dict[str, type[EventPayload]] = {}
    for model in models:
        if model.event_type in catalogue:
            raise RuntimeError(f"event type {model.event_type!r} registered twice")
        catalogue[model.event_type] = model
    return catalogue


CATALOGUE: dict[str, type[EventPayload]] = _build_catalogue(_MODELS)
"""Event type name -> payload model."""


def payload_model(event_type: str) -> type[EventPayload]:
    """The payload model of `event_type`; `UnknownEventType` if there is none."""
    try:
        return CATALOGUE[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


def parse_payload(event_type: str, payload: Mapping[str, Any] | EventPayload) -> EventPayload:
    """Validate `payload` as `event_type` and return the model instance.

    Raises `UnknownEventType` for an unregistered type, `pydantic.ValidationError` for a bad
    payload, and `TypeError` when given a model instance of another event type.
    """
    model = payload_model(event_type)
    if isinstance(payload, EventPayload):
        if not isinstance(payload, model):
            raise TypeError(f"payload is a {payload.event_type} but the event type is {event_type}")
        return payload
    return model.model_validate(dict(payload))


def validate_payload(event_type: str, payload: Mapping[str, Any] | EventPayload) -> dict[str, Any]:
    """Validate `payload` as `event_type` and return it in JSON mode (decimals as strings,
    datetimes as ISO 8601 UTC), ready for `Envelope.payload`."""
    return parse_payload(event_type, payload).model_dump(mode="json")
