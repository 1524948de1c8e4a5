"""Request and response bodies of the customers and sales-orders API."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.mrp.sales.domain import SoStatus
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
    lines: Annotated[list[SoLineCreate], Field(min_length=1, max_length=500)]


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
    total: Amount4
    lines: list[SoLineOut]


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
