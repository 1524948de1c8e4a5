"""Response bodies of production's item read model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class KnownItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sku: str
    name: str
    uom: str
    item_type: str
    make_or_buy: str
    active: bool
    requires_qc: bool
