"""Request and response bodies of the MRP API: runs, the dashboard's lines and their component
detail, what earlier orders took, the actions (a job, draft purchase orders), the shipment
forecast and the priority-score settings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.mrp.planning.domain import Status
from shared.values import Amount4

Quantity = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=4)]
Weight = Annotated[Decimal, Field(ge=0, le=100, max_digits=18, decimal_places=4)]
Notes = Annotated[str, StringConstraints(max_length=1000)]
SoNumber = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]


class RunOut(BaseModel):
    """One MRP run: when, by whom, how lines were put in order, how long it took, and how many
    lines ended in each status."""

    id: int
    plan_date: date
    started_at: datetime
    finished_at: datetime
    requested_by: str
    ordering: str = Field(description="due_date or score")
    settings: dict[str, Any] = Field(description="The priority settings the run used")
    order_lines: int
    engine_ms: int
    total_ms: int
    counts: dict[str, int] = Field(description="Lines per status")


class ComponentOut(BaseModel):
    """One component of a line's need: `required` for the whole need, `allocated` for what can
    be made now, `short` what the pools cannot give, `taken_before` what earlier orders of the
    run took of its pool. Level 1 are the BOM's own lines; deeper rows are short parts found
    below a made component (`parent_sku`)."""

    sku: str
    parent_sku: str
    level: int
    required: Amount4
    allocated: Amount4
    short: Amount4
    taken_before: Amount4
    customer_supplied: bool
    made: bool


class ActionOut(BaseModel):
    kind: str = Field(description="job or purchases")
    run_id: int | None
    references: list[str] = Field(description="The job's code, or the draft PO numbers")
    done_by: str
    done_at: datetime
    pending: bool = Field(description="Still waiting for the other service's answer")


class LineOut(BaseModel):
    rank: int = Field(description="Order in which the run served the line, 1 first")
    so_number: str
    line_no: int
    sku: str
    customer_code: str
    customer_name: str
    business_unit: str | None
    due_date: date | None
    unit_price: Amount4
    value: Amount4 = Field(description="Open quantity x unit price, to the cent")
    qty_open: Amount4
    qty_reserved: Amount4
    qty_from_stock: Amount4
    qty_shippable: Amount4 = Field(description="Reserved plus live stock")
    qty_pending_qc: Amount4
    qty_in_production: Amount4
    qty_needed: Amount4 = Field(description="What production must still make")
    qty_can_make: Amount4
    status: Status
    status_name: str
    status_text: str
    score: Amount4 | None
    score_parts: dict[str, Amount4] | None
    bottleneck: list[str]
    line_code: str | None
    shifts_required: Amount4 | None
    earliest_date: date | None
    material_date: date | None = Field(
        description="The latest due date of the dated open purchase-order quantity the line's "
        "production takes (at any depth); the earliest date is never before it. None when it "
        "takes none"
    )
    material_undated: bool = Field(
        description="The production takes open purchase-order quantity with no due date (no "
        "promised date: it holds the earliest date back by nothing)"
    )
    components: list[ComponentOut]
    job_qty: Amount4 | None = Field(
        description="What 'create job' makes when no quantity is given; None when the line "
        "is not one production can start"
    )
    qty_to_buy: dict[str, Amount4] = Field(
        description="Short parts we buy (not made, not customer-supplied), per SKU"
    )
    actions: list[ActionOut]


class LineChoices(BaseModel):
    """What the filter bar offers: values found in the run's lines."""

    business_units: list[str]
    customers: list[dict[str, str]]
    due_years: list[int]


class LinesPage(BaseModel):
    items: list[LineOut]
    total: int
    limit: int
    offset: int
    run: RunOut | None
    counts: dict[str, int] = Field(
        description="Lines per status under every filter but the status one"
    )
    choices: LineChoices


class TakenLine(BaseModel):
    rank: int
    so_number: str
    line_no: int
    customer_name: str | None
    qty: Amount4


class TakenOut(BaseModel):
    """What orders served before this line took of one SKU's pool, a line per sales order."""

    run_id: int
    so_number: str
    line_no: int
    sku: str
    total: Amount4
    lines: list[TakenLine]


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    qty: Quantity | None = Field(
        default=None,
        description="What to make; the line's `job_qty` when left out, never more than needed",
    )


class JobOut(BaseModel):
    so_number: str
    line_no: int
    run_id: int
    order_code: str
    sku: str
    qty: Amount4
    due_date: date | None
    line_code: str | None
    order: dict[str, Any] = Field(description="The production order as production answered")


class LineKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    so_number: SoNumber
    line_no: Annotated[int, Field(ge=1, le=100_000)]


class PurchasesForLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notes: Notes | None = None


class PurchasesCreate(BaseModel):
    """The lines whose shortages to buy: those listed, or else every line the filters match
    (the dashboard's view)."""

    model_config = ConfigDict(extra="forbid")

    lines: Annotated[list[LineKey], Field(max_length=1000)] | None = None
    business_unit: Annotated[str, StringConstraints(max_length=32)] | None = None
    customer: Annotated[str, StringConstraints(max_length=32)] | None = None
    due_year: Annotated[int, Field(ge=2000, le=2999)] | None = None
    due_month: Annotated[int, Field(ge=1, le=12)] | None = None
    no_due_date: bool = False
    status: list[Status] | None = None
    sku: Annotated[str, StringConstraints(max_length=64)] | None = None
    q: Annotated[str, StringConstraints(max_length=100)] | None = None
    notes: Notes | None = None


class AskedLine(BaseModel):
    sku: str
    qty: Amount4
    need_by: date | None = Field(
        description="The line's due date; none when it has none or it is past (as soon as can be)"
    )
    reference: str


class UnplacedOut(BaseModel):
    sku: str
    qty: Amount4
    reason: str


class PurchasesOut(BaseModel):
    run_id: int | None
    asked: list[AskedLine] = Field(description="What was sent to purchasing")
    orders: list[dict[str, Any]] = Field(description="Draft purchase orders, as purchasing made")
    order_numbers: list[str]
    unplaced: list[UnplacedOut] = Field(description="Parts purchasing could not place")
    skipped: list[str] = Field(
        description="Lines left out: purchases were already suggested for them in this run"
    )


class ForecastMonth(BaseModel):
    month: str | None = Field(description="YYYY-MM of the due date; None for lines without one")
    lines: int
    likely_qty: Amount4
    likely_value: Amount4
    at_risk_qty: Amount4
    at_risk_value: Amount4


class ForecastOut(BaseModel):
    run: RunOut | None
    months: list[ForecastMonth]
    total: ForecastMonth


class PrioritySettingsOut(BaseModel):
    use_score: bool
    weight_customer: Amount4
    weight_value: Amount4
    weight_due: Amount4
    weight_penalty: Amount4
    horizon_days: int
    version: int = Field(description="Send it back with a change; 0 until first saved")
    updated_by: str | None
    updated_at: datetime | None


class PrioritySettingsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    use_score: bool
    weight_customer: Weight
    weight_value: Weight
    weight_due: Weight
    weight_penalty: Weight
    horizon_days: Annotated[int, Field(ge=1, le=365)]
    version: Annotated[int, Field(ge=0, le=2_000_000_000)] = Field(
        description="The version read; another planner's change since then is a 409"
    )
