"""The shipment forecast: the latest run's open lines by due month, split into what is likely to
ship and what is at risk, in quantity and value (open quantity x unit price).

The rule, per line (docs/mrp.md, "Dashboard, actions and forecast"):
- covered = open quantity less what production must still make (`qty_needed`): what reserved
  and live stock, QC hold and open jobs already give it. It is likely to ship. That is the
  whole line for Ready to Ship, Pending QC and In Production, and the covered part of Partial
  Ship (and of any other line with something in QC or on a job);
- the needed part is likely too when the line is Full Production Ready and its earliest date
  (the day its booked line finishes it) is on or before its due date (any earliest date for a
  line with none): it can all be made, in time;
- the rest is At-Risk/Partial: parts short, only part can be made, no able line, or late.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.mrp.planning.domain import Status
from services.mrp.runs.dashboard import LineFilters, filtered_query, run_out
from services.mrp.runs.models import MrpLineResult
from services.mrp.runs.schemas import ForecastMonth, ForecastOut
from services.mrp.runs.service import latest_run
from services.mrp.sales.domain import extended_value
from shared.i18n import _
from shared.uow import UnitOfWork

ZERO = Decimal(0)


@dataclass(frozen=True)
class Split:
    likely_qty: Decimal
    at_risk_qty: Decimal


def split(row: MrpLineResult) -> Split:
    """The likely and at-risk quantities of one line (the rule above)."""
    needed = max(row.qty_needed, ZERO)
    likely = max(row.qty_open - needed, ZERO)
    if Status(row.status) is Status.FULL_PRODUCTION and _in_time(row):
        likely += needed
    likely = min(likely, row.qty_open)
    return Split(likely, row.qty_open - likely)


def _in_time(row: MrpLineResult) -> bool:
    if row.earliest_date is None:
        return False
    return row.due_date is None or row.earliest_date <= row.due_date


def month_of(row: MrpLineResult) -> str | None:
    return f"{row.due_date:%Y-%m}" if row.due_date is not None else None


def by_month(rows: Iterable[MrpLineResult]) -> tuple[list[ForecastMonth], ForecastMonth]:
    """Months in date order, lines without a due date last, and the total."""
    sums: dict[str | None, list[Any]] = {}
    for row in rows:
        share = split(row)
        bucket = sums.setdefault(month_of(row), [0, ZERO, ZERO, ZERO, ZERO])
        bucket[0] += 1
        bucket[1] += share.likely_qty
        bucket[2] += extended_value(share.likely_qty, row.unit_price)
        bucket[3] += share.at_risk_qty
        bucket[4] += extended_value(share.at_risk_qty, row.unit_price)
    order = sorted(sums, key=lambda month: (month is None, month or ""))
    months = [_month(month, sums[month]) for month in order]
    total = [sum(bucket[i] for bucket in sums.values()) for i in range(5)]
    return months, _month(None, total)


def _month(month: str | None, figures: list[Any]) -> ForecastMonth:
    lines, likely_qty, likely_value, at_risk_qty, at_risk_value = figures
    return ForecastMonth(
        month=month,
        lines=int(lines),
        likely_qty=Decimal(likely_qty),
        likely_value=Decimal(likely_value),
        at_risk_qty=Decimal(at_risk_qty),
        at_risk_value=Decimal(at_risk_value),
    )


def forecast(uow: UnitOfWork, filters: LineFilters) -> ForecastOut:
    run = latest_run(uow)
    if run is None:
        empty = _month(None, [0, ZERO, ZERO, ZERO, ZERO])
        return ForecastOut(run=None, months=[], total=empty)
    rows = uow.session.scalars(
        filtered_query(run.id, filters.checked()).order_by(MrpLineResult.rank)
    ).all()
    months, total = by_month(rows)
    return ForecastOut(run=run_out(uow, run), months=months, total=total)


FORECAST_HEADERS = (
    _("Due month"),
    _("Lines"),
    _("Likely to Ship (qty)"),
    _("Likely to Ship (value)"),
    _("At-Risk/Partial (qty)"),
    _("At-Risk/Partial (value)"),
)


def export_rows(result: ForecastOut) -> Iterator[list[Any]]:
    no_date = str(_("No due date"))
    for month in [*result.months, result.total]:
        label = month.month or no_date
        if month is result.total:
            label = str(_("Total"))
        yield [
            label,
            month.lines,
            month.likely_qty,
            month.likely_value,
            month.at_risk_qty,
            month.at_risk_value,
        ]
