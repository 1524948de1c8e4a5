"""Request and response bodies of the shipments API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.values import Amount4

Reference = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$"
    ),
]
Quantity = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=4)]


class ShipmentLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_no: Annotated[int, Field(ge=1, le=1_000_000)]
    qty: Quantity


class ShipmentCreate(BaseModel):
    """POST /api/v1/shipments: ship lines of a sales order (`shipment_id` is generated,
    SHP-YYYY-NNNNN, unless given)."""

    model_config = ConfigDict(extra="forbid")

    so_number: Reference
    lines: Annotated[list[ShipmentLineIn], Field(min_length=1, max_length=500)]
    shipment_id: Reference | None = None
    notes: Annotated[str, StringConstraints(max_length=1000)] | None = None


class ShippedLotOut(BaseModel):
    lot: str
    qty: Amount4
    unit_cost: Amount4
    cost_value: Amount4
    sales_value: Amount4


class ShipmentLineOut(BaseModel):
    """One sales order line of the shipment, and the lots it came from."""

    line_no: int
    sku: str
    qty: Amount4
    unit_cost: Amount4
    unit_price: Amount4
    cost_value: Amount4
    sales_value: Amount4
    lots: list[ShippedLotOut]


class ShipmentOut(BaseModel):
    shipment_id: str
    so_number: str
    customer_code: str
    business_unit: str | None
    shipped_at: datetime
    ship_date: date
    shipped_by: str
    notes: str | None
    cost_value: Amount4
    sales_value: Amount4
    lines: list[ShipmentLineOut]
