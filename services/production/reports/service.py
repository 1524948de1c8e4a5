"""Report use cases: read the runs, QC decisions and orders of a period, and hand their
quantities to the figures of `domain`.

What counts where:
- a run counts on the day it was completed, a QC decision on the day it was made, an order
  (for the reprint rate) on the day it was created, each day in the report's time zone;
- product and line are the order's (`production_orders.sku`, `.line_code`): a QC decision and
  a reprint belong to the line their order was scheduled on;
- cancelled orders are left out of the reprint rate (nothing was made for them); their runs, if
  any, still count, because those units were printed.

The database adds up the quantities per group (product, line or day). A day is a day of the
report's time zone: PostgreSQL takes it with AT TIME ZONE; SQLite, which knows no time zones,
sums per moment and the day is taken here with zoneinfo (the same rules; both store UTC).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Select, cast, func, select, type_coerce
from sqlalchemy.exc import DataError

from services.production.items.models import KnownItem
from services.production.orders.models import ProductionOrder, ProductionRun, QcRecord
from services.production.reports import domain
from services.production.reports.domain import YieldInputs
from services.production.reports.schemas import (
    GroupBy,
    ScrapParetoOut,
    ScrapParetoRowOut,
    YieldFiguresOut,
    YieldReportOut,
    YieldRowOut,
)
from services.production.scrap.models import ScrapReasonCode
from shared.i18n import _, translate
from shared.types import Amount
from shared.uow import UnitOfWork
from shared.web.problems import InvalidInput

ZERO = Decimal(0)
AnySelect = Select[*tuple[Any, ...]]
S = TypeVar("S", bound=AnySelect)


@dataclass(frozen=True)
class ReportQuery:
    """A report's period (plant days `first` to `last` in `tz`, both included) and filters."""

    first: date
    last: date
    tz: str
    sku: str | None = None
    line_code: str | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)


# --------------------------------------------------------------------------------------------
# Yield
# --------------------------------------------------------------------------------------------


def yield_report(uow: UnitOfWork, query: ReportQuery, group_by: GroupBy) -> YieldReportOut:
    try:
        sums = domain.grouped(_yield_parts(uow, query, group_by))
    except DataError as exc:
        # PostgreSQL's own time zone database may lack a zone Python knows (a newer one).
        raise InvalidInput(
            _("The database does not know the time zone '{zone}'.", zone=query.tz),
            field="query.tz",
            code="unknown_time_zone",
        ) from exc
    rows: list[YieldRowOut]
    if group_by is GroupBy.DAY:
        rows = [
            _row(day.isoformat(), sums.get(day, YieldInputs()))
            for day in domain.days(query.first, query.last)
        ]
    elif group_by is GroupBy.PRODUCT:
        names = _product_names(uow, [sku for sku in sums if sku is not None])
        rows = [_row(sku, sums[sku], names.get(sku)) for sku in sorted(sums)]
    else:
        rows = [
            _row(line, sums[line])
            for line in sorted(sums, key=lambda line: (line is None, line or ""))
        ]
    return YieldReportOut(
        date_from=query.first,
        date_to=query.last,
        tz=query.tz,
        group_by=group_by,
        sku=query.sku,
        line_code=query.line_code,
        rows=rows,
        totals=_figures(domain.total(sums.values())),
    )


def _yield_parts(
    uow: UnitOfWork, query: ReportQuery, group_by: GroupBy
) -> Iterator[tuple[Any, YieldInputs]]:
    """What runs, QC decisions and new orders add to each group, summed by the database."""
    key, group_of = _grouping(uow, query, group_by, ProductionRun.completed_at)
    runs = _in_period(
        select(key, ProductionOrder.requires_qc, _sum(ProductionRun.qty_good))
        .add_columns(_sum(ProductionRun.qty_bad))
        .join(ProductionOrder, ProductionRun.order_id == ProductionOrder.id)
        .group_by(key, ProductionOrder.requires_qc),
        ProductionRun.completed_at,
        query,
    )
    for group, requires_qc, good, bad in uow.session.execute(runs):
        yield group_of(group), domain.run_output(good, bad, requires_qc=bool(requires_qc))

    key, group_of = _grouping(uow, query, group_by, QcRecord.inspected_at)
    decisions = _in_period(
        select(key, _sum(QcRecord.qty_passed), _sum(QcRecord.qty_failed))
        .join(ProductionOrder, QcRecord.order_id == ProductionOrder.id)
        .group_by(key),
        QcRecord.inspected_at,
        query,
    )
    for group, passed, failed in uow.session.execute(decisions):
        yield group_of(group), domain.qc_decision(passed, failed)

    key, group_of = _grouping(uow, query, group_by, ProductionOrder.created_at)
    is_reprint = ProductionOrder.reprint_of.is_not(None)
    orders = _in_period(
        select(key, is_reprint, _sum(ProductionOrder.qty_ordered), func.count())
        .where(ProductionOrder.status != "cancelled")
        .group_by(key, is_reprint),
        ProductionOrder.created_at,
        query,
    )
    for group, reprints, qty, count in uow.session.execute(orders):
        yield group_of(group), domain.order_created(qty, is_reprint=bool(reprints), count=count)


def _grouping(
    uow: UnitOfWork, query: ReportQuery, group_by: GroupBy, moment: Any
) -> tuple[Any, Callable[[Any], Any]]:
    """The column to group by in SQL, and how a value of it becomes the report's group.

    By day, PostgreSQL takes each moment's day in the report's time zone itself (AT TIME ZONE,
    with the zone's daylight-saving rules); SQLite knows no time zones, so there the rows come
    by moment and Python takes the day."""
    if group_by is GroupBy.PRODUCT:
        return ProductionOrder.sku, _same
    if group_by is GroupBy.LINE:
        return ProductionOrder.line_code, _same
    if uow.session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(query.tz, moment), Date), _same
    zone = query.zone
    return moment, lambda at: domain.local_day(at, zone)


def _same(value: Any) -> Any:
    return value


def _sum(column: Any) -> Any:
    """SUM of a quantity column, read back as the column's exact Decimal."""
    return type_coerce(func.coalesce(func.sum(column), 0), Amount())


def _in_period(statement: S, moment: Any, query: ReportQuery) -> S:
    since, until = domain.period_bounds(query.first, query.last, query.zone)
    if since is not None:
        statement = statement.where(moment >= since)
    if until is not None:
        statement = statement.where(moment < until)
    if query.sku is not None:
        statement = statement.where(ProductionOrder.sku == query.sku)
    if query.line_code is not None:
        statement = statement.where(ProductionOrder.line_code == query.line_code)
    return statement


def _product_names(uow: UnitOfWork, skus: list[str]) -> dict[str, str]:
    if not skus:
        return {}
    found = uow.session.execute(
        select(KnownItem.sku, KnownItem.name).where(KnownItem.sku.in_(skus))
    )
    return {sku: name for sku, name in found}


def _figures(inputs: YieldInputs) -> YieldFiguresOut:
    return YieldFiguresOut(**_figure_fields(inputs))


def _row(group: str | None, inputs: YieldInputs, name: str | None = None) -> YieldRowOut:
    return YieldRowOut(group=group, name=name, **_figure_fields(inputs))


def _figure_fields(inputs: YieldInputs) -> dict[str, Any]:
    figures = domain.yield_figures(inputs)
    return {
        "qty_printed": inputs.qty_printed,
        "qty_good": inputs.qty_good,
        "qty_bad": inputs.qty_bad,
        "qty_inspected": inputs.qty_inspected,
        "qty_passed": inputs.qty_passed,
        "qty_failed": inputs.qty_failed,
        "qty_scrapped": inputs.qty_scrapped,
        "qty_ordered_root": inputs.qty_ordered_root,
        "qty_reprinted": inputs.qty_reprinted,
        "reprint_count": inputs.reprint_count,
        "print_yield": figures.print_yield,
        "qc_yield": figures.qc_yield,
        "fpy": figures.fpy,
        "rty": figures.rty,
        "scrap_rate": figures.scrap_rate,
        "reprint_rate": figures.reprint_rate,
    }


# --------------------------------------------------------------------------------------------
# Scrap Pareto
# --------------------------------------------------------------------------------------------


def scrap_pareto(uow: UnitOfWork, query: ReportQuery) -> ScrapParetoOut:
    bad = _scrap_by_code(
        uow,
        query,
        ProductionRun.scrap_reason_code,
        ProductionRun.qty_bad,
        ProductionRun.completed_at,
        lambda statement: statement.join(
            ProductionOrder, ProductionRun.order_id == ProductionOrder.id
        ),
    )
    failed = _scrap_by_code(
        uow,
        query,
        QcRecord.reason_code,
        QcRecord.qty_failed,
        QcRecord.inspected_at,
        lambda statement: statement.join(ProductionOrder, QcRecord.order_id == ProductionOrder.id),
    )
    both = {code: bad.get(code, ZERO) + failed.get(code, ZERO) for code in {*bad, *failed}}
    bars = domain.scrap_pareto(both)
    codes = _scrap_codes(uow, [bar.code for bar in bars if bar.code is not None])
    rows = []
    for bar in bars:
        known = codes.get(bar.code) if bar.code is not None else None
        rows.append(
            ScrapParetoRowOut(
                code=bar.code,
                category=known.category if known else None,
                description=translate(known.description) if known else None,
                corrective_action=translate(known.corrective_action) if known else None,
                qty=bar.qty,
                qty_bad=bad.get(bar.code, ZERO),
                qty_failed=failed.get(bar.code, ZERO),
                percent=bar.percent,
                cumulative_percent=bar.cumulative_percent,
            )
        )
    return ScrapParetoOut(
        date_from=query.first,
        date_to=query.last,
        tz=query.tz,
        sku=query.sku,
        line_code=query.line_code,
        qty_scrapped=sum(both.values(), ZERO),
        rows=rows,
    )


def _scrap_by_code(
    uow: UnitOfWork,
    query: ReportQuery,
    code: Any,
    qty: Any,
    moment: Any,
    joined: Callable[[AnySelect], AnySelect],
) -> dict[str | None, Decimal]:
    """Scrapped quantity per reason code, from runs (bad) or QC decisions (failed)."""
    statement = _in_period(
        joined(select(code, _sum(qty))).where(qty > 0).group_by(code), moment, query
    )
    return {reason: quantity for reason, quantity in uow.session.execute(statement)}


def _scrap_codes(uow: UnitOfWork, codes: list[str]) -> dict[str, ScrapReasonCode]:
    if not codes:
        return {}
    found = uow.session.scalars(select(ScrapReasonCode).where(ScrapReasonCode.code.in_(codes)))
    return {row.code: row for row in found}
