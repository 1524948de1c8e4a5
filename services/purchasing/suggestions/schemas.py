"""Request and response bodies of `POST /purchase-orders/suggestions` (the MRP's call)."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_CEILING, Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from services.purchasing.schemas import PurchaseOrderOut
from shared.values import FOUR_PLACES, Amount4

Sku = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
MAX_LINES = 500


def _up_to_four_places(qty: Decimal) -> Decimal:
    return qty.quantize(FOUR_PLACES, rounding=ROUND_CEILING)


# A shortage as the MRP computes it (a BOM's qty per times an order's quantity may run to eight
# places) is bought rounded up to the 0.0001 a PO line holds, never down.
Shortage = Annotated[Decimal, Field(gt=0, lt=Decimal(10) ** 14), AfterValidator(_up_to_four_places)]


class ShortageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    qty: Shortage
    need_by: date | None = Field(
        default=None, description="When the material is needed; none: as soon as it can come"
    )
    reference: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = (
        Field(default=None, description="What the need is for, e.g. a sales order number")
    )


class PurchaseSuggestionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: Annotated[list[ShortageIn], Field(min_length=1, max_length=MAX_LINES)]
    notes: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


class UnplacedOut(BaseModel):
    sku: str
    qty: Amount4
    # Why, in the caller's language; `code` says the same for a program.
    reason: str
    code: str


class PurchaseSuggestionsOut(BaseModel):
    orders: list[PurchaseOrderOut]
    unplaced: list[UnplacedOut]
