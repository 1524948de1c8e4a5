"""Request and response bodies of the BOM API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.production.bom.domain import BomStatus
from shared.values import Amount4

Sku = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Uom = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]
Notes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Quantity = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=4)]
# Percent of the component lost in making: 5 means 5 % more is issued than the product holds.
ScrapPct = Annotated[Decimal, Field(ge=0, lt=100, max_digits=8, decimal_places=4)]
MAX_LINES = 1000


class BomLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Numbered by position when left out.
    line_no: Annotated[int, Field(ge=1, le=100_000)] | None = None
    component_sku: Sku
    qty_per: Quantity = Field(description="Component quantity per `output_qty` of the product")
    # The component item's unit when left out.
    uom: Uom | None = None
    scrap_pct: ScrapPct = Decimal(0)
    notes: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


class BomContent(BaseModel):
    """What a draft holds: its lines, how many units of the product they make, notes."""

    model_config = ConfigDict(extra="forbid")

    output_qty: Quantity = Decimal(1)
    # The product item's unit when left out.
    uom: Uom | None = None
    notes: Notes | None = None
    lines: Annotated[list[BomLineIn], Field(min_length=1, max_length=MAX_LINES)]


class BomCreate(BomContent):
    sku: Sku


class BomLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line_no: int
    component_sku: str
    qty_per: Amount4
    uom: str
    scrap_pct: Amount4
    notes: str | None


class BomSummaryOut(BaseModel):
    sku: str
    version: int
    status: BomStatus
    output_qty: Amount4
    uom: str
    notes: str | None
    line_count: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    released_at: datetime | None
    released_by: str | None
    obsoleted_at: datetime | None
    obsoleted_by: str | None


class BomOut(BomSummaryOut):
    lines: list[BomLineOut]


class RequirementOut(BaseModel):
    """What the exploded quantity needs of one leaf item, all levels added up."""

    sku: str
    qty: Amount4
    uom: str


class TreeRowOut(BaseModel):
    """One row of the indented BOM: `sku` at `level` under `parent_sku`; `qty` is what the
    exploded quantity needs of it through this parent (rounded up)."""

    level: int
    parent_sku: str
    sku: str
    qty_per: Amount4
    uom: str
    scrap_pct: Amount4
    qty: Amount4
    has_bom: bool


class ExplosionOut(BaseModel):
    sku: str
    version: int
    qty: Amount4
    uom: str
    requirements: list[RequirementOut]
    # Cut at MAX_TREE_ROWS rows (ask for fewer `levels` to see the top of a large BOM whole).
    tree_truncated: bool = False
    tree: list[TreeRowOut] | None


class WhereUsedOut(BaseModel):
    """A product that uses the component at `level` (1: its own BOM lists it), by `path`
    (the component first, this product last), through released BOMs."""

    sku: str
    level: int
    version: int
    path: list[str]
    qty_per: Amount4
    uom: str


class WhereUsedAnswer(BaseModel):
    sku: str
    parents: list[WhereUsedOut]
