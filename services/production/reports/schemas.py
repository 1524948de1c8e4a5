"""Response bodies of the yield and scrap Pareto reports.

Every quantity and figure is a string with four decimals (`Amount4`); a figure with nothing to
divide by is null. Yields and rates are ratios (0.7143 = 71.43 %); the Pareto's percentages are
percentages (63.6364 = 63.6364 %). Each row carries the quantities its figures come from, so
a supervisor can redo the arithmetic.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field

from shared.values import Amount4


class GroupBy(StrEnum):
    DAY = "day"
    PRODUCT = "product"
    LINE = "line"


class YieldFiguresOut(BaseModel):
    qty_printed: Amount4 = Field(description="good + bad at the runs")
    qty_good: Amount4
    qty_bad: Amount4 = Field(description="Scrapped at the runs")
    qty_inspected: Amount4 = Field(description="passed + failed at QC")
    qty_passed: Amount4 = Field(description="Passed QC (good of a no-QC product included)")
    qty_failed: Amount4 = Field(description="Failed at QC")
    qty_scrapped: Amount4 = Field(description="bad + failed")
    qty_ordered_root: Amount4 = Field(description="Ordered on the root orders created")
    qty_reprinted: Amount4 = Field(description="Ordered on the reprint orders created")
    reprint_count: int = Field(description="Reprint orders created")
    print_yield: Amount4 | None = Field(description="good / printed")
    qc_yield: Amount4 | None = Field(description="passed / inspected")
    fpy: Amount4 | None = Field(description="First pass yield: passed / printed")
    rty: Amount4 | None = Field(description="Rolled throughput yield: print yield x QC yield")
    scrap_rate: Amount4 | None = Field(description="(bad + failed) / printed")
    reprint_rate: Amount4 | None = Field(description="reprinted / ordered on root orders")


class YieldRowOut(YieldFiguresOut):
    group: str | None = Field(
        description="The day (YYYY-MM-DD), the product's SKU or the line code; null for work "
        "done on no line"
    )
    name: str | None = Field(default=None, description="The product's name (group_by=product)")


class YieldReportOut(BaseModel):
    date_from: date
    date_to: date
    tz: str
    group_by: GroupBy
    sku: str | None
    line_code: str | None
    rows: list[YieldRowOut] = Field(
        description="Every day of the range (group_by=day), or every product or line with "
        "anything to count"
    )
    totals: YieldFiguresOut


class ScrapParetoRowOut(BaseModel):
    code: str | None = Field(description="The scrap reason code (null: scrap recorded without)")
    category: str | None
    description: str | None
    corrective_action: str | None
    qty: Amount4 = Field(description="Scrapped with this code: bad at the runs + failed at QC")
    qty_bad: Amount4 = Field(description="Of which bad at the runs")
    qty_failed: Amount4 = Field(description="Of which failed at QC")
    percent: Amount4 = Field(description="qty / all scrap x 100")
    cumulative_percent: Amount4 = Field(description="This code and those above it, x 100")


class ScrapParetoOut(BaseModel):
    date_from: date
    date_to: date
    tz: str
    sku: str | None
    line_code: str | None
    qty_scrapped: Amount4 = Field(description="All scrap of the period")
    rows: list[ScrapParetoRowOut]
