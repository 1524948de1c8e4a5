"""Request and response bodies of the reservations API (docs/production.md, Contracts)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.inventory.schemas import Sku
from shared.values import Amount4

Reference = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$"
    ),
]
Quantity = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=4)]


class ReferenceType(StrEnum):
    PRODUCTION_ORDER = "production_order"
    SALES_ORDER = "sales_order"


class ReservationLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    qty: Quantity
    line_no: Annotated[int, Field(ge=0, le=1_000_000)] | None = None


class ReservationCreate(BaseModel):
    """POST /api/v1/reservations. Lines of the same SKU and line number are added together."""

    model_config = ConfigDict(extra="forbid")

    reference_type: ReferenceType
    reference: Reference
    lines: Annotated[list[ReservationLineIn], Field(min_length=1, max_length=20_000)]
    allow_insufficient: bool = False


class ReservationLineOut(BaseModel):
    sku: str
    line_no: int
    qty_required: Amount4
    qty_reserved: Amount4
    qty_available: Amount4
    qty_short: Amount4
    qty_issued: Amount4
    qty_released: Amount4
    status: str


class ReservationOut(BaseModel):
    """`status`: reserved (every line in full), short (some line reserved less than required),
    released (nothing open any more: released or issued)."""

    reference_type: str
    reference: str
    status: str
    lines: list[ReservationLineOut]
