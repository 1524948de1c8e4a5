"""Request and response bodies of the vendor-item API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from services.purchasing.schemas import Quantity, UnitCost
from services.purchasing.vendor_items.domain import MAX_LEAD_TIME_DAYS
from shared.i18n import _
from shared.values import Amount4

Sku = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
PartNumber = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
LeadTimeDays = Annotated[int, Field(ge=0, le=MAX_LEAD_TIME_DAYS)]


class VendorItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    vendor_part_number: PartNumber | None = Field(
        default=None, description="The vendor's own part number for the item"
    )
    unit_cost: UnitCost
    moq: Quantity = Field(default=Decimal(1), description="Minimum order quantity")
    order_multiple: Quantity | None = Field(
        default=None, description="The vendor sells only whole multiples of this quantity"
    )
    lead_time_days: LeadTimeDays = 0
    preferred: bool = Field(
        default=False, description="Buy this SKU here; the SKU's other preferred row stops being"
    )


class VendorItemUpdate(BaseModel):
    """PATCH: the fields to change; a field left out keeps its value. `null` is refused except
    for the part number and the order multiple, which a vendor item may have or not."""

    model_config = ConfigDict(extra="forbid")
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"vendor_part_number", "order_multiple"})

    vendor_part_number: PartNumber | None = None
    unit_cost: UnitCost | None = None
    moq: Quantity | None = None
    order_multiple: Quantity | None = None
    lead_time_days: LeadTimeDays | None = None
    preferred: bool | None = None

    @field_validator("*")
    @classmethod
    def _not_null(cls, value: object, info: ValidationInfo) -> object:
        if value is None and info.field_name not in cls.NULLABLE:
            raise ValueError(_("Give a value, or leave the field out to keep it."))
        return value


class VendorItemOut(BaseModel):
    vendor_code: str
    vendor_name: str
    sku: str
    # From purchasing's copy of the item; None if the item was never heard of.
    item_name: str | None
    uom: str | None
    vendor_part_number: str | None
    unit_cost: Amount4
    moq: Amount4
    order_multiple: Amount4 | None
    lead_time_days: int
    preferred: bool
    active: bool
    updated_at: datetime
