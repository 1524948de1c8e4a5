"""Report use cases: read the runs, QC decisions and orders of a period, and hand their
quantities to the figures of `domain`.

What counts where:
- a run counts on the day it was completed, a QC decision on the day it was made, an order
  (for the reprint rate) on the day it was created, each day in the report's time zone;
- product and line are the order's (`production_orders.sku`, `.line_code`): a QC decision and
  a reprint belong to the line their order was scheduled on;
- cancelled orders are left out of the reprint rate (nothing was made for them); their runs, if
  any, still count, because those units were printed.

Rows are read one fact at a time and added up here, not in SQL, so that the day of each fact
is taken in the report's time zone the same way on SQLite and PostgreSQL (both store UTC).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select

from services.production.items.models import KnownItem
from services.production.orders.models import ProductionOrder, ProductionRun, QcRecord
from services.production.reports import domain
from services.production.reports.domain import Fact, YieldInputs
from services.production.reports.schemas import (
    GroupBy,
    ScrapParetoOut,
    ScrapParetoRowOut,
    YieldFiguresOut,
    YieldReportOut,
    YieldRowOut,
)
from services.production.scrap.models import ScrapReasonCode
from shared.i18n import translate
from shared.uow import UnitOfWork

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
    facts = list(_yield_facts(uow, query))
    zone = query.zone
    rows: list[YieldRowOut]
    if group_by is GroupBy.DAY:
        by_day = domain.grouped(facts, lambda fact: domain.local_day(fact.at, zone))
        rows = [
            _row(day.isoformat(), by_day.get(day, YieldInputs()))
            for day in domain.days(query.first, query.last)
        ]
    elif group_by is GroupBy.PRODUCT:
        by_sku = domain.grouped(facts, lambda fact: fact.sku)
        names = _product_names(uow, list(by_sku))
        rows = [_row(sku, by_sku[sku], names.get(sku)) for sku in sorted(by_sku)]
    else:
        by_line = domain.grouped(facts, lambda fact: fact.line_code)
        rows = [
            _row(line, by_line[line])
            for line in sorted(by_line, key=lambda line: (line is None, line or ""))
        ]
    return YieldReportOut(
        date_from=query.first,
        date_to=query.last,
        tz=query.tz,
        group_by=group_by,
        sku=query.sku,
        line_code=query.line_code,
        rows=rows,
        totals=_figures(domain.total(fact.inputs for fact in facts)),
    )


def _yield_facts(uow: UnitOfWork, query: ReportQuery) -> Iterator[Fact]:
    for at, sku, line, good, bad, requires_qc in _runs(uow, query):
        yield Fact(at, sku, line, domain.run_output(good, bad, requires_qc=requires_qc))
    for at, sku, line, passed, failed in _qc_decisions(uow, query):
        yield Fact(at, sku, line, domain.qc_decision(passed, failed))
    orders = _in_period(
        select(
            ProductionOrder.created_at,
            ProductionOrder.sku,
            ProductionOrder.line_code,
            ProductionOrder.qty_ordered,
            ProductionOrder.reprint_of,
        ).where(ProductionOrder.status != "cancelled"),
        ProductionOrder.created_at,
        query,
    )
    for at, sku, line, qty, reprint_of in uow.session.execute(orders):
        yield Fact(at, sku, line, domain.order_created(qty, is_reprint=reprint_of is not None))


def _runs(uow: UnitOfWork, query: ReportQuery) -> Sequence[Any]:
    runs = _in_period(
        select(
            ProductionRun.completed_at,
            ProductionOrder.sku,
            ProductionOrder.line_code,
            ProductionRun.qty_good,
            ProductionRun.qty_bad,
            ProductionOrder.requires_qc,
        ).join(ProductionOrder, ProductionRun.order_id == ProductionOrder.id),
        ProductionRun.completed_at,
        query,
    )
    return uow.session.execute(runs).all()


def _qc_decisions(uow: UnitOfWork, query: ReportQuery) -> Sequence[Any]:
    decisions = _in_period(
        select(
            QcRecord.inspected_at,
            ProductionOrder.sku,
            ProductionOrder.line_code,
            QcRecord.qty_passed,
            QcRecord.qty_failed,
        ).join(ProductionOrder, QcRecord.order_id == ProductionOrder.id),
        QcRecord.inspected_at,
        query,
    )
    return uow.session.execute(decisions).all()


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
    statement = _in_period(joined(select(code, qty)).where(qty > 0), moment, query)
    sums: dict[str | None, Decimal] = {}
    for reason, quantity in uow.session.execute(statement):
        sums[reason] = sums.get(reason, ZERO) + quantity
    return sums


def _scrap_codes(uow: UnitOfWork, codes: list[str]) -> dict[str, ScrapReasonCode]:
    if not codes:
        return {}
    found = uow.session.scalars(select(ScrapReasonCode).where(ScrapReasonCode.code.in_(codes)))
    return {row.code: row for row in found}
