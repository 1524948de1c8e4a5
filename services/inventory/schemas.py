"""Request and response bodies of inventory's API."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from shared.i18n import _
from shared.values import Amount4

Sku = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$",  # no "/": a SKU is a URL segment
    ),
]
NonNegative = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=4)]


def _blank_is_none(value: object) -> object:
    """An emptied family field means the item has no family."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


Family = Annotated[
    Annotated[
        str,
        StringConstraints(
            strip_whitespace=True,
            min_length=1,
            max_length=64,
            pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$",
        ),
    ]
    | None,
    BeforeValidator(_blank_is_none),
]
"""A product family code, kept as typed like a SKU (a line's capacity can be given per family);
an empty string is no family."""


class ItemType(StrEnum):
    RAW = "raw"
    COMPONENT = "component"
    FINISHED = "finished"
    PACKAGING = "packaging"


class MakeOrBuy(StrEnum):
    MAKE = "make"
    BUY = "buy"


class ItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    uom: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)] = (
        "ea"
    )
    item_type: ItemType = ItemType.RAW
    make_or_buy: MakeOrBuy = MakeOrBuy.BUY
    customer_supplied: bool = False
    reorder_point: NonNegative = Decimal(0)
    reorder_qty: NonNegative = Decimal(0)
    requires_qc: bool = True
    family: Family = None


class ItemUpdate(BaseModel):
    """PATCH /items/{sku}: the fields to change; a field left out keeps its value.

    The SKU is the item's identity and cannot change; the moving-average cost is inventory's own
    figure. `null` is refused: leave a field out to keep it. The one exception is `family`,
    which an item may have or not: `null` or an empty string takes the family away.
    """

    model_config = ConfigDict(extra="forbid")

    name: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = None
    uom: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)] | None
    ) = None
    item_type: ItemType | None = None
    make_or_buy: MakeOrBuy | None = None
    customer_supplied: bool | None = None
    reorder_point: NonNegative | None = None
    reorder_qty: NonNegative | None = None
    active: bool | None = None
    requires_qc: bool | None = None
    family: Family = None

    @field_validator("*")
    @classmethod
    def _not_null(cls, value: object, info: ValidationInfo) -> object:
        if value is None and info.field_name != "family":
            raise ValueError(_("Give a value, or leave the field out to keep it."))
        return value


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sku: str
    name: str
    uom: str
    item_type: ItemType
    make_or_buy: MakeOrBuy
    customer_supplied: bool
    reorder_point: Amount4
    reorder_qty: Amount4
    average_cost: Amount4
    active: bool
    requires_qc: bool
    family: str | None = None


class LocationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str


class BalanceOut(BaseModel):
    location: str
    lot: str
    status: str
    qty: Amount4
    value: Amount4


class ItemStockOut(BaseModel):
    sku: str
    uom: str
    average_cost: Amount4
    on_hand: Amount4
    available: Amount4
    allocated: Amount4
    pending_qc: Amount4
    wip: Amount4
    value: Amount4
    balances: list[BalanceOut]


class StockTransactionOut(BaseModel):
    id: int
    txn_type: str
    sku: str
    location: str
    lot: str
    status: str
    qty: Amount4
    unit_cost: Amount4
    value: Amount4
    reference_type: str
    reference: str
    reason_code: str | None = None
    notes: str | None = None
    created_at: str


class StockStatusFilter(StrEnum):
    APPROVED = "approved"
    PENDING_QC = "pending_qc"


class StockRowOut(BaseModel):
    """One balance of GET /api/v1/stock: an item's quantity and value at a location, lot and
    status, with the item's name, type and unit to read it by."""

    sku: str
    name: str
    item_type: str
    uom: str
    location: str
    lot: str
    status: str
    qty: Amount4
    value: Amount4
    unit_cost: Amount4
    updated_at: str


class StockPage(BaseModel):
    """A page of balances, with the quantity and value of every balance the filters select
    (all pages, not only this one)."""

    items: list[StockRowOut]
    total: int
    limit: int
    offset: int
    qty_total: Amount4
    value_total: Amount4
