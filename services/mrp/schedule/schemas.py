"""Request and response bodies of the scheduling grid's API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from services.mrp.sales.domain import SoStatus
from services.mrp.schedule.domain import Period, ProjectionField
from shared.values import Amount4

ProjectionQty = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=4)]


class CellSave(BaseModel):
    """One projection cell as the planner left it, and the row version the grid showed."""

    model_config = ConfigDict(extra="forbid")

    value: ProjectionQty | None = Field(
        description="The quantity (0 or more, at most 4 decimals); null empties the cell"
    )
    version: int = Field(
        ge=0,
        le=2_000_000_000,
        description="The row's version as the grid loaded it (0 for a line never projected)",
    )


class ScheduleRow(BaseModel):
    """One open sales-order line as the grid shows it."""

    so_line_id: int
    so_number: str
    line_no: int
    status: SoStatus
    customer_code: str
    customer_name: str
    business_unit: str | None
    sku: str
    item_name: str | None
    due_date: date | None
    period: Period = Field(description="current, next or later against the 19th-day cutoffs")
    qty_ordered: Amount4
    qty_shipped: Amount4
    qty_open: Amount4 = Field(description="Ordered less shipped")
    fg_on_hand: Amount4 = Field(description="Approved FG on hand of the SKU (all of it)")
    fg_covering: Amount4 = Field(
        description="The part of the SKU's FG on hand that covers this line (due-date order)"
    )
    net_qty: Amount4 = Field(description="Ordered - shipped - FG covering the line; never < 0")
    unit_price: Amount4
    ordered_value: Amount4
    net_value: Amount4
    low_risk_qty: Amount4 | None
    low_risk_value: Amount4 | None
    high_risk_qty: Amount4 | None
    high_risk_value: Amount4 | None
    version: int = Field(description="0 until a projection of the line is saved")
    updated_by: str | None
    updated_at: datetime | None


class ScheduleTotals(BaseModel):
    """Sums over every line matching the filters (not just the page)."""

    lines: int
    qty_ordered: Amount4
    qty_shipped: Amount4
    qty_open: Amount4
    fg_covering: Amount4
    net_qty: Amount4
    ordered_value: Amount4
    net_value: Amount4
    low_risk_qty: Amount4
    low_risk_value: Amount4
    high_risk_qty: Amount4
    high_risk_value: Amount4


class CardValueOut(BaseModel):
    at_cost: Amount4
    at_price: Amount4


class FgCardsOut(BaseModel):
    """The plant's FG on hand split by the 19th-day cutoffs (the filters do not apply)."""

    as_of: date
    current_cutoff: date
    next_cutoff: date
    total: CardValueOut
    current: CardValueOut = Field(description="Covering lines due on or before current_cutoff")
    next: CardValueOut = Field(description="Covering lines due after it, up to next_cutoff")
    not_needed: CardValueOut = Field(description="Covering later or undated lines, or none")
    unpriced_skus: list[str]


class ScheduleOut(BaseModel):
    items: list[ScheduleRow]
    total: int
    limit: int
    offset: int
    totals: ScheduleTotals
    cards: FgCardsOut


class ProjectionOut(BaseModel):
    """A line's projections after a save (the cells the grid updates)."""

    so_line_id: int
    so_number: str
    line_no: int
    field: ProjectionField
    value: Amount4 | None
    low_risk_qty: Amount4 | None
    low_risk_value: Amount4 | None
    high_risk_qty: Amount4 | None
    high_risk_value: Amount4 | None
    version: int
    updated_by: str | None
    updated_at: datetime | None


class ProjectionChangeOut(BaseModel):
    id: int
    field: ProjectionField
    old_value: Amount4 | None
    new_value: Amount4 | None
    changed_by: str
    changed_at: datetime


class ProjectionHistory(BaseModel):
    so_line_id: int
    so_number: str
    line_no: int
    items: list[ProjectionChangeOut]
    total: int
    limit: int
    offset: int
