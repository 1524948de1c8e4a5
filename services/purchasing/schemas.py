"""Request and response bodies of purchasing's API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from services.purchasing.domain import PoStatus
from shared.values import Amount4

Code = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$"
    ),
]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
Quantity = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=4)]
UnitCost = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=4)]


def _none_if_empty(value: str | None) -> str | None:
    return value or None


# Another system's number for the order (an ERP's): trimmed, and nothing typed is none.
ExternalRef = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None,
    AfterValidator(_none_if_empty),
]


class VendorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Text200
    email: Email | None = None
    phone: Annotated[str, StringConstraints(max_length=50)] | None = None


class VendorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    email: str | None
    phone: str | None
    active: bool


class KnownItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sku: str
    name: str
    uom: str
    active: bool


class PoLineCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    qty: Quantity
    unit_cost: UnitCost
    due_date: date | None = None


class PurchaseOrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vendor_code: Code
    order_date: date | None = None
    # When the goods are expected: the due date of every line that gives none of its own.
    expected_date: date | None = None
    notes: Annotated[str, StringConstraints(max_length=1000)] | None = None
    external_ref: ExternalRef = Field(
        default=None,
        description="Another system's number for the order (an ERP's); one order per number",
    )
    lines: Annotated[list[PoLineCreate], Field(min_length=1, max_length=500)]


class PoLineOut(BaseModel):
    line_no: int
    sku: str
    qty_ordered: Amount4
    qty_received: Amount4
    qty_open: Amount4
    unit_cost: Amount4
    due_date: date | None


class PurchaseOrderOut(BaseModel):
    number: str
    vendor_code: str
    vendor_name: str
    status: PoStatus
    order_date: date
    # The earliest due date of its lines, None when no line has one.
    expected_date: date | None = None
    notes: str | None
    external_ref: str | None = Field(
        default=None, description="Another system's number for the order (an ERP's)"
    )
    total: Amount4
    lines: list[PoLineOut]


class ReceiptLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_no: Annotated[int, Field(ge=1)]
    qty: Quantity
    lot: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    to_status: Annotated[str, StringConstraints(pattern="^(approved|pending_qc)$")] = "approved"


class ReceiptCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: Annotated[list[ReceiptLineIn], Field(min_length=1, max_length=500)]
    notes: Annotated[str, StringConstraints(max_length=1000)] | None = None


class ReceiptLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line_no: int
    sku: str
    qty: Amount4
    unit_cost: Amount4
    value: Amount4
    lot: str | None
    to_status: str


class ReceiptOut(BaseModel):
    number: str
    po_number: str
    po_status: PoStatus
    received_at: datetime
    received_by: str
    notes: str | None
    lines: list[ReceiptLineOut]
