"""Response bodies of the downtime reports: OEE, the downtime summary, the Pareto, the trend and
MTBF/MTTR.

Times are seconds, quantities units, both strings with four decimals (`Amount4`); ratios are
ratios (0.8125 = 81.25 %), percentages percentages (62.5000 = 62.5 %). A figure with nothing to
divide by is null. Every figure comes with the inputs it is computed from, so a supervisor can
redo the arithmetic (docs/downtime.md, "OEE").
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from shared.values import Amount4


class OeeGroupBy(StrEnum):
    LINE = "line"
    SHIFT = "shift"
    DAY = "day"
    OCCURRENCE = "occurrence"


class ReasonLevel(StrEnum):
    LEAF = "leaf"
    TOP = "top"


class TrendBucket(StrEnum):
    DAY = "day"
    WEEK = "week"


class ReportScopeOut(BaseModel):
    date_from: date = Field(description="First production day, included")
    date_to: date = Field(description="Last production day, included")
    facility_code: str | None
    line_code: str | None
    as_of: datetime = Field(
        description="When the report was made: a stop still running, and a shift still being "
        "worked, count up to this moment"
    )


# --- OEE -----------------------------------------------------------------------------------------


class OeeFiguresOut(BaseModel):
    shift_seconds: Amount4 = Field(description="Length of the shifts worked (up to as_of)")
    planned_downtime_seconds: Amount4 = Field(description="Planned stops inside those shifts")
    planned_seconds: Amount4 = Field(
        description="Planned production time: shift_seconds - planned_downtime_seconds"
    )
    unplanned_downtime_seconds: Amount4 = Field(
        description="Unplanned and unclassified stops inside those shifts"
    )
    run_seconds: Amount4 = Field(description="planned_seconds - unplanned_downtime_seconds")
    ideal_run_seconds: Amount4 = Field(
        description="Σ count / (units_per_shift / shift length) over the runs completed in "
        "those shifts whose capacity is known"
    )
    total_count: Amount4 = Field(description="Units made: good + bad at the runs")
    bad_count: Amount4 = Field(description="Bad at the runs")
    qc_failed_count: Amount4 = Field(description="Failed later at QC, of those runs")
    good_count: Amount4 = Field(description="total_count - bad_count - qc_failed_count")
    availability: Amount4 | None = Field(description="run_seconds / planned_seconds")
    performance: Amount4 | None = Field(
        description="ideal_run_seconds / run_seconds; null when some output has no capacity"
    )
    quality: Amount4 | None = Field(description="good_count / total_count")
    oee: Amount4 | None = Field(
        description="availability x performance x quality (exact, rounded once); 0 when any "
        "factor is 0"
    )
    missing_capacity_skus: list[str] = Field(
        description="SKUs made here with no capacity in force for the line: why performance is null"
    )


class OeeRowOut(OeeFiguresOut):
    facility_code: str | None = Field(description="group_by=line, shift or occurrence")
    line_code: str | None = Field(description="group_by=line or occurrence")
    line_name: str | None = None
    shift_code: str | None = Field(description="group_by=shift or occurrence")
    shift_name: str | None = None
    day: date | None = Field(description="The production day (group_by=day or occurrence)")
    starts_at: datetime | None = Field(
        default=None, description="The shift's start (group_by=occurrence)"
    )
    ends_at: datetime | None = Field(
        default=None, description="The shift's end (group_by=occurrence)"
    )


class UnscheduledOutputOut(BaseModel):
    line_code: str
    units: Amount4 = Field(description="Units completed outside every shift, in no figure")


class OeeReportOut(ReportScopeOut):
    group_by: OeeGroupBy
    rows: list[OeeRowOut]
    totals: OeeFiguresOut
    outside_shifts: list[UnscheduledOutputOut] = Field(
        description="Output completed outside every shift (counted in no figure)"
    )


# --- Downtime summary and Pareto -----------------------------------------------------------------


class DowntimeFiguresOut(BaseModel):
    count: int = Field(description="Stops")
    seconds: Amount4 = Field(description="Their downtime (a running stop up to as_of)")
    minutes: Amount4
    planned_seconds: Amount4
    unplanned_seconds: Amount4 = Field(description="Unplanned and unclassified")
    percent: Amount4 | None = Field(description="seconds / all downtime of the report x 100")


class ReasonRowOut(DowntimeFiguresOut):
    reason_code: str | None = Field(description="null: not classified yet")
    name: str
    colour: str
    path: str = Field(description="The reason's place in the tree, e.g. 'Mechanical / Jam'")


class LineRowOut(DowntimeFiguresOut):
    facility_code: str
    line_code: str
    name: str


class SummaryTotalsOut(BaseModel):
    count: int
    seconds: Amount4
    minutes: Amount4
    planned_seconds: Amount4
    unplanned_seconds: Amount4


class DowntimeSummaryOut(ReportScopeOut):
    level: ReasonLevel = Field(description="Reasons by leaf, or by the top of their tree")
    planned: bool | None = Field(description="Only planned (true) or unplanned (false) stops")
    totals: SummaryTotalsOut
    by_reason: list[ReasonRowOut] = Field(description="Largest first")
    by_line: list[LineRowOut] = Field(description="By line code")


class ParetoRowOut(ReasonRowOut):
    cumulative_percent: Amount4 = Field(
        description="This reason and those above it x 100 (from the exact running total)"
    )


class ParetoOut(ReportScopeOut):
    level: ReasonLevel
    planned: bool | None
    totals: SummaryTotalsOut
    rows: list[ParetoRowOut]


# --- Trend ---------------------------------------------------------------------------------------


class TrendRowOut(BaseModel):
    bucket: str = Field(description="The day (YYYY-MM-DD) or ISO week (YYYY-Www)")
    first_day: date
    last_day: date = Field(description="A week is cut to the report's range")
    count: int
    seconds: Amount4
    minutes: Amount4
    planned_seconds: Amount4
    unplanned_seconds: Amount4


class TrendOut(ReportScopeOut):
    bucket: TrendBucket
    planned: bool | None
    rows: list[TrendRowOut] = Field(description="Every day or week of the range, in order")


# --- Reliability ---------------------------------------------------------------------------------


class ReliabilityFiguresOut(BaseModel):
    run_seconds: Amount4 = Field(description="Run time in the shifts of the range (as OEE's)")
    unplanned_downtime_seconds: Amount4 = Field(description="Inside those shifts")
    failures: int = Field(description="Unplanned stops that took some of that shift time")
    mtbf_seconds: Amount4 | None = Field(description="run_seconds / failures")
    mttr_seconds: Amount4 | None = Field(description="unplanned_downtime_seconds / failures")
    mtbf_minutes: Amount4 | None
    mttr_minutes: Amount4 | None


class ReliabilityRowOut(ReliabilityFiguresOut):
    facility_code: str
    line_code: str
    line_name: str


class ReliabilityOut(ReportScopeOut):
    rows: list[ReliabilityRowOut]
    totals: ReliabilityFiguresOut
