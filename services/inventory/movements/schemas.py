"""Request and response bodies of the store's stock movements: release, transfer, adjustment."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.inventory.domain import StockStatus
from services.inventory.movements.domain import AdjustmentReason
from services.inventory.schemas import Sku
from shared.values import Amount4

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]
LotCode = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]
Notes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Positive = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=4)]
NonNegative = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=4)]
Delta = Annotated[Decimal, Field(max_digits=18, decimal_places=4)]


class ReleaseCreate(BaseModel):
    """POST /stock/release: received material in the QC hold passes inspection. Without `qty`
    the whole pending quantity of the lot is released."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku
    lot: LotCode = ""
    qty: Positive | None = None
    notes: Notes | None = None


class TransferCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    lot: LotCode = ""
    from_location: Code
    to_location: Code
    qty: Positive
    notes: Notes | None = None


class AdjustmentCreate(BaseModel):
    """POST /stock/adjustments: a cycle count (`qty_counted`, what is on the shelf) or a known
    change (`qty_delta`, signed); exactly one of the two (the use case says which is missing or
    extra), with a reason from the fixed list. `unit_cost` values stock found at that cost
    instead of the item's moving average; it is refused on a loss and required (0 allowed) for
    an `opening_balance`, which must be a gain."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku
    location: Code
    lot: LotCode = ""
    status: StockStatus = StockStatus.APPROVED
    qty_counted: NonNegative | None = None
    qty_delta: Delta | None = None
    reason_code: AdjustmentReason
    unit_cost: NonNegative | None = None
    notes: Notes | None = None


class MovementLine(BaseModel):
    """One balance a movement changed, after the change."""

    location: str
    lot: str
    status: str
    qty: Amount4
    value: Amount4


class MovementOut(BaseModel):
    """What a release, a transfer or an adjustment did: the quantity and value it moved (an
    adjustment's are signed) and the balances it changed, as they are now."""

    movement: str
    movement_id: str
    sku: str
    lot: str
    qty: Amount4
    value: Amount4
    reason_code: str | None = None
    notes: str | None = None
    balances: list[MovementLine]
