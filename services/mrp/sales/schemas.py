"""Request and response bodies of the customers, sales-orders and customer-payments API."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from services.mrp.sales.domain import SoStatus
from shared.i18n import _
from shared.values import Amount4

Code = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$"
    ),
]
Sku = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Notes = Annotated[str, StringConstraints(max_length=1000)]
Priority = Annotated[int, Field(ge=1, le=5, description="1 (most important) to 5")]
Quantity = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=4)]
UnitPrice = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=4)]
PaymentAmount = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=4)]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


def _none_if_empty(value: str | None) -> str | None:
    return value or None


# Another system's number for the order (an ERP's): trimmed, and nothing typed is none.
ExternalRef = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None,
    AfterValidator(_none_if_empty),
]


def _in_utc(moment: datetime) -> datetime:
    """The moment in UTC, as it is stored; one that has none (1 January of the year 1 east of
    Greenwich) is no date a payment came in."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(_("Enter a date and time.")) from None


ReceivedAt = Annotated[AwareDatetime, AfterValidator(_in_utc)]


class CustomerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Text200
    priority: Priority = 3


class CustomerUpdate(BaseModel):
    """The fields to change; those left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: Text200 | None = None
    priority: Priority | None = None
    active: bool | None = None


class CustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    priority: int
    active: bool


class SoLineCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    qty: Quantity
    unit_price: UnitPrice
    due_date: date | None = Field(default=None, description="Due-to-ship date")
    business_unit: Code | None = Field(
        default=None, description="The order's business unit when not given"
    )


class SalesOrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_code: Code
    order_date: date | None = Field(default=None, description="The plant's today when not given")
    business_unit: Code | None = None
    # The due-to-ship date of every line that gives none of its own.
    due_date: date | None = None
    notes: Notes | None = None
    contractual_penalty: bool = Field(
        default=False, description="The contract carries a penalty for shipping late"
    )
    external_ref: ExternalRef = Field(
        default=None,
        description="Another system's number for the order (an ERP's); one order per number",
    )
    lines: Annotated[list[SoLineCreate], Field(min_length=1, max_length=500)]


class SalesOrderUpdate(BaseModel):
    """Header fields to change while the order is not finished; those left out stay as they
    are. A null notes or business unit clears it; the penalty is true or false."""

    model_config = ConfigDict(extra="forbid")

    contractual_penalty: bool | None = None
    notes: Notes | None = None
    business_unit: Code | None = Field(
        default=None, description="Lines that had the order's old business unit follow it"
    )


class SoLineOut(BaseModel):
    line_no: int
    sku: str
    qty_ordered: Amount4
    qty_shipped: Amount4
    qty_allocated: Amount4
    qty_passed: Amount4 = Field(description="Passed QC on the line's production orders")
    qty_open: Amount4 = Field(description="Ordered, not yet shipped")
    unit_price: Amount4
    value: Amount4
    due_date: date | None
    business_unit: str | None


class SalesOrderOut(BaseModel):
    so_number: str
    customer_code: str
    customer_name: str
    status: SoStatus
    order_date: date
    # The earliest due-to-ship date of its lines, None when no line has one.
    due_date: date | None
    business_unit: str | None
    notes: str | None
    contractual_penalty: bool
    external_ref: str | None = Field(
        default=None, description="Another system's number for the order (an ERP's)"
    )
    total: Amount4
    value: Amount4 = Field(description="The order's value: its lines' values (the same as total)")
    paid: Amount4 = Field(description="Payments received against the order so far")
    balance: Amount4 = Field(description="What the customer still owes: value less paid")
    lines: list[SoLineOut]


class PaymentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: PaymentAmount
    reference: Reference | None = Field(default=None, description="The bank's or cheque's")
    received_at: ReceivedAt | None = Field(
        default=None, description="When the money came in (now when not given; never later)"
    )


class PaymentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    payment_id: str
    so_number: str
    amount: Amount4
    reference: str | None
    received_at: datetime
    recorded_by: str


class PaymentsOut(BaseModel):
    """An order's payments, oldest first, with what they leave owing."""

    so_number: str
    value: Amount4
    paid: Amount4
    balance: Amount4
    items: list[PaymentOut]


class AllocatedLineOut(BaseModel):
    """What inventory reserved of one line (its reservation answer, as is)."""

    line_no: int
    sku: str
    qty_required: Amount4
    qty_reserved: Amount4
    qty_available: Amount4
    qty_short: Amount4
    qty_issued: Amount4 = Decimal(0)
    qty_released: Amount4 = Decimal(0)
    status: str = "open"

    @property
    def qty_held(self) -> Decimal:
        """What the line's reservation still holds (nothing once closed)."""
        if self.status != "open":
            return Decimal(0)
        return max(self.qty_reserved - self.qty_issued - self.qty_released, Decimal(0))


class AllocationReport(BaseModel):
    status: str = Field(description="reserved: every line in full; short: some of it is missing")
    lines: list[AllocatedLineOut]


class AllocationOut(SalesOrderOut):
    """The order after allocating, and inventory's answer (None when no line needed stock)."""

    allocation: AllocationReport | None


class KnownItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sku: str
    name: str
    uom: str
    item_type: str
    active: bool
