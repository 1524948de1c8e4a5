"""The MRP dashboard's reading of the latest run: its lines under the planner's filters, counts
per status, what earlier orders took of a component (the tooltip), and the workbook of the
filtered view with its component detail.

Everything here reads one run, the latest, so the figures of a page, its tooltips and its export
agree with each other; a new run replaces them all at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import Response
from sqlalchemy import Select, func, select

from services.mrp.planning.domain import Status, quantity_text
from services.mrp.runs.models import MrpAction, MrpComponentTake, MrpLineResult, MrpRun
from services.mrp.runs.schemas import (
    ActionOut,
    ComponentOut,
    LineChoices,
    LineOut,
    LinesPage,
    RunOut,
    TakenLine,
    TakenOut,
)
from services.mrp.runs.service import latest_run
from services.mrp.sales.domain import extended_value
from shared.i18n import Text, _
from shared.uow import UnitOfWork
from shared.web.pagination import PageParams, apply_sort, contains_text, paginate
from shared.web.problems import InvalidInput, NotFound
from shared.web.xlsx import sheets_response

ZERO = Decimal(0)

# The planners' names of each status, for chips and filters.
STATUS_NAMES: dict[Status, Text] = {
    Status.READY_TO_SHIP: _("Ready to Ship"),
    Status.PARTIAL_SHIP: _("Partial Ship"),
    Status.PENDING_QC: _("Pending QC"),
    Status.IN_PRODUCTION: _("In Production"),
    Status.FULL_PRODUCTION: _("Full Production Ready"),
    Status.PARTIAL_PRODUCTION: _("Partial Production Ready"),
    Status.AWAITING_CUSTOMER: _("Awaiting Customer Material"),
    Status.AWAITING_PURCHASE: _("Awaiting Purchase Order"),
    Status.CRITICAL_SHORTAGE: _("Critical Shortage"),
}

# Statuses whose production part can be started now: a job makes what the components allow.
JOB_STATUSES = frozenset({Status.FULL_PRODUCTION, Status.PARTIAL_PRODUCTION, Status.PARTIAL_SHIP})


@dataclass(frozen=True)
class LineFilters:
    business_unit: str | None = None
    customer: str | None = None  # a customer code
    due_year: int | None = None
    due_month: int | None = None
    no_due_date: bool = False
    statuses: tuple[Status, ...] = ()
    sku: str | None = None
    search: str | None = None  # part of an SO number, a customer's code or name, or a SKU

    def checked(self, prefix: str = "query.") -> LineFilters:
        """A month needs its year; "no due date" takes no year or month. `prefix` is where
        the refusal says the fields are: the query string, or a body's top level ("")."""
        if self.due_month is not None and self.due_year is None:
            raise InvalidInput(
                _("Choose the year of the due month as well."), field=f"{prefix}due_year"
            )
        if self.no_due_date and self.due_year is not None:
            raise InvalidInput(
                _("Lines without a due date have no due year or month; choose one or the other."),
                field=f"{prefix}no_due_date",
            )
        return self


# --- the run ----------------------------------------------------------------------------------


def run_out(uow: UnitOfWork, run: MrpRun) -> RunOut:
    counts: dict[str, int] = {
        status: count
        for status, count in uow.session.execute(
            select(MrpLineResult.status, func.count())
            .where(MrpLineResult.run_id == run.id)
            .group_by(MrpLineResult.status)
        )
    }
    return RunOut(
        id=run.id,
        plan_date=run.plan_date,
        started_at=run.started_at,
        finished_at=run.finished_at,
        requested_by=run.requested_by,
        ordering=run.ordering,
        settings=json.loads(run.settings or "{}"),
        order_lines=run.order_lines,
        engine_ms=run.engine_ms,
        total_ms=run.total_ms,
        counts={status.value: int(counts.get(status.value, 0)) for status in Status},
    )


def latest_run_out(uow: UnitOfWork) -> RunOut:
    run = latest_run(uow)
    if run is None:
        raise NotFound(_("The MRP has not been run yet."), code="no_run")
    return run_out(uow, run)


# --- lines ------------------------------------------------------------------------------------

LINE_SORTS: dict[str, Any] = {
    "rank": MrpLineResult.rank,
    "so_number": MrpLineResult.so_number,
    "customer": MrpLineResult.customer_name,
    "sku": MrpLineResult.sku,
    "due_date": MrpLineResult.due_date,
    "status": MrpLineResult.status,
    "score": MrpLineResult.score,
    "earliest_date": MrpLineResult.earliest_date,
    "qty_needed": MrpLineResult.qty_needed,
}


def list_lines(
    uow: UnitOfWork, page: PageParams, filters: LineFilters, sort: str | None = None
) -> LinesPage:
    """The latest run's lines under the filters, in the run's order unless `sort` says
    otherwise; with counts per status (every filter but the status one, so each chip says how
    many a click on it would list) and the values the filter bar offers."""
    filters = filters.checked()
    run = latest_run(uow)
    if run is None:
        return LinesPage(
            items=[],
            total=0,
            limit=page.limit,
            offset=page.offset,
            run=None,
            counts={status.value: 0 for status in Status},
            choices=LineChoices(business_units=[], customers=[], due_years=[]),
        )
    query = apply_sort(
        filtered_query(run.id, filters),
        sort,
        LINE_SORTS,
        default="rank",
        tiebreak=MrpLineResult.rank,
    )
    found = paginate(uow.session, query, page, lambda row: row)
    actions = actions_by_line(uow, [(row.so_number, row.line_no) for row in found.items])
    return LinesPage(
        items=[line_out(row, actions) for row in found.items],
        total=found.total,
        limit=found.limit,
        offset=found.offset,
        run=run_out(uow, run),
        counts=_counts(uow, run.id, filters),
        choices=_choices(uow, run.id),
    )


def filtered_rows(
    uow: UnitOfWork, run_id: int, filters: LineFilters, sort: str | None = None
) -> list[MrpLineResult]:
    query = apply_sort(
        filtered_query(run_id, filters.checked()),
        sort,
        LINE_SORTS,
        default="rank",
        tiebreak=MrpLineResult.rank,
    )
    return list(uow.session.scalars(query))


def filtered_query(
    run_id: int, filters: LineFilters, *, with_status: bool = True
) -> Select[MrpLineResult]:
    query = select(MrpLineResult).where(MrpLineResult.run_id == run_id)
    if filters.business_unit:
        query = query.where(MrpLineResult.business_unit == filters.business_unit)
    if filters.customer:
        query = query.where(MrpLineResult.customer_code == filters.customer)
    if filters.no_due_date:
        query = query.where(MrpLineResult.due_date.is_(None))
    elif filters.due_year is not None:
        first, last = _due_range(filters.due_year, filters.due_month)
        query = query.where(MrpLineResult.due_date >= first, MrpLineResult.due_date < last)
    if with_status and filters.statuses:
        query = query.where(MrpLineResult.status.in_([s.value for s in filters.statuses]))
    if filters.sku:
        query = query.where(MrpLineResult.sku == filters.sku)
    if filters.search and filters.search.strip():
        query = query.where(
            contains_text(
                filters.search,
                MrpLineResult.so_number,
                MrpLineResult.customer_code,
                MrpLineResult.customer_name,
                MrpLineResult.sku,
            )
        )
    return query


def _due_range(year: int, month: int | None) -> tuple[date, date]:
    """[first day, first day after) of the year, or of its month."""
    if month is None:
        return date(year, 1, 1), date(year + 1, 1, 1)
    first = date(year, month, 1)
    return first, date(year + (month == 12), month % 12 + 1, 1)


def _counts(uow: UnitOfWork, run_id: int, filters: LineFilters) -> dict[str, int]:
    rows = filtered_query(run_id, filters, with_status=False).subquery()
    found: dict[str, int] = {
        status: count
        for status, count in uow.session.execute(
            select(rows.c.status, func.count()).group_by(rows.c.status)
        )
    }
    return {status.value: int(found.get(status.value, 0)) for status in Status}


def _choices(uow: UnitOfWork, run_id: int) -> LineChoices:
    of_run = MrpLineResult.run_id == run_id
    units = uow.session.scalars(
        select(MrpLineResult.business_unit)
        .where(of_run, MrpLineResult.business_unit.is_not(None))
        .distinct()
        .order_by(MrpLineResult.business_unit)
    )
    customers = uow.session.execute(
        select(MrpLineResult.customer_code, MrpLineResult.customer_name)
        .where(of_run)
        .distinct()
        .order_by(MrpLineResult.customer_name, MrpLineResult.customer_code)
    )
    years = sorted(
        {
            due.year
            for due in uow.session.scalars(
                select(MrpLineResult.due_date)
                .where(of_run, MrpLineResult.due_date.is_not(None))
                .distinct()
            )
            if due is not None
        }
    )
    return LineChoices(
        business_units=[unit for unit in units if unit],
        customers=[{"code": code, "name": name} for code, name in customers],
        due_years=years,
    )


def line_row(uow: UnitOfWork, run_id: int, so_number: str, line_no: int) -> MrpLineResult:
    row = uow.session.scalar(
        select(MrpLineResult).where(
            MrpLineResult.run_id == run_id,
            MrpLineResult.so_number == so_number,
            MrpLineResult.line_no == line_no,
        )
    )
    if row is None:
        raise NotFound(
            _(
                "Sales order {so_number} line {line_no} is not in the latest MRP run (an "
                "unknown, shipped or cancelled line, or one taken after the run).",
                so_number=so_number,
                line_no=line_no,
            ),
            field="so_number",
            code="unknown_line",
        )
    return row


def get_line(uow: UnitOfWork, so_number: str, line_no: int) -> LineOut:
    run = latest_run(uow)
    if run is None:
        raise NotFound(_("The MRP has not been run yet."), code="no_run")
    row = line_row(uow, run.id, so_number, line_no)
    return line_out(row, actions_by_line(uow, [(so_number, line_no)]))


# --- one line, as shown -----------------------------------------------------------------------


def components_of(row: MrpLineResult) -> list[ComponentOut]:
    return [ComponentOut.model_validate(each) for each in json.loads(row.components or "[]")]


def status_text(row: MrpLineResult) -> Text:
    """The planners' text of the line's status, in the reader's language."""
    status = Status(row.status)
    if status is Status.PARTIAL_SHIP:
        return _(
            "Partial Ship: {shippable} / Prod. Needed: {needed}",
            shippable=quantity_text(row.qty_reserved + row.qty_from_stock),
            needed=quantity_text(row.qty_needed),
        )
    if status is Status.FULL_PRODUCTION:
        return _("Full Production Ready - Create job now")
    if status is Status.PARTIAL_PRODUCTION:
        return _("Partial Production Ready - [{parts}]", parts=row.bottleneck or "")
    return STATUS_NAMES[status]


def is_made(row: MrpLineResult, components: Sequence[ComponentOut]) -> bool:
    """A line whose item has a BOM (a bought finished good's only component is itself)."""
    return any(c.level == 1 and c.sku != row.sku for c in components)


def job_qty(row: MrpLineResult, components: Sequence[ComponentOut]) -> Decimal | None:
    """What a job for the line makes by default: the whole need when it can all be made (Full
    Production Ready), else what the components allow (Partial Production Ready, and the
    production part of a Partial Ship); None when production cannot start it."""
    if Status(row.status) not in JOB_STATUSES or not is_made(row, components):
        return None
    qty = min(row.qty_can_make, row.qty_needed)
    return qty if qty > 0 else None


def to_buy(row: MrpLineResult) -> dict[str, Decimal]:
    """Parts we buy for the line, per SKU: bought (not made here, not the customer's), netted
    by the engine across every line of the run (LineResult.to_buy)."""
    return {sku: Decimal(qty) for sku, qty in json.loads(row.to_buy or "{}").items()}


def line_out(row: MrpLineResult, actions: dict[tuple[str, int], list[MrpAction]]) -> LineOut:
    components = components_of(row)
    parts = json.loads(row.score_parts) if row.score_parts else None
    return LineOut(
        rank=row.rank + 1,
        so_number=row.so_number,
        line_no=row.line_no,
        sku=row.sku,
        customer_code=row.customer_code,
        customer_name=row.customer_name,
        business_unit=row.business_unit,
        due_date=row.due_date,
        unit_price=row.unit_price,
        value=extended_value(row.qty_open, row.unit_price),
        qty_open=row.qty_open,
        qty_reserved=row.qty_reserved,
        qty_from_stock=row.qty_from_stock,
        qty_shippable=row.qty_reserved + row.qty_from_stock,
        qty_pending_qc=row.qty_pending_qc,
        qty_in_production=row.qty_in_production,
        qty_needed=row.qty_needed,
        qty_can_make=row.qty_can_make,
        status=Status(row.status),
        status_name=str(STATUS_NAMES[Status(row.status)]),
        status_text=str(status_text(row)),
        score=row.score,
        score_parts={k: Decimal(v) for k, v in parts.items()} if parts else None,
        bottleneck=[part.strip() for part in (row.bottleneck or "").split(",") if part.strip()],
        line_code=row.line_code,
        shifts_required=row.shifts_required,
        earliest_date=row.earliest_date,
        material_date=row.material_date,
        material_undated=bool(row.material_undated),
        components=components,
        job_qty=job_qty(row, components),
        qty_to_buy=to_buy(row),
        actions=[action_out(action) for action in actions.get((row.so_number, row.line_no), [])],
    )


def actions_by_line(
    uow: UnitOfWork, keys: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], list[MrpAction]]:
    """What planners did from any run for these lines, newest first."""
    if not keys:
        return {}
    wanted = set(keys)
    found: dict[tuple[str, int], list[MrpAction]] = {}
    rows = uow.session.scalars(
        select(MrpAction)
        .where(MrpAction.so_number.in_({so for so, _line in keys}))
        .order_by(MrpAction.done_at.desc(), MrpAction.id.desc())
    )
    for action in rows:
        key = (action.so_number, action.line_no or 0)
        if key in wanted:
            found.setdefault(key, []).append(action)
    return found


def action_out(action: MrpAction) -> ActionOut:
    return ActionOut(
        kind=action.kind,
        run_id=action.run_id,
        references=[ref for ref in action.reference.split(",") if ref],
        done_by=action.done_by,
        done_at=action.done_at,
        pending=action.reference == "",
    )


# --- the tooltip: what earlier orders took -----------------------------------------------------


def taken_before(uow: UnitOfWork, so_number: str, line_no: int, sku: str) -> TakenOut:
    """What the lines served before this one took of `sku`'s pool in the latest run: a line
    per sales-order line (its takes summed), in the order they were served, and the total."""
    run = latest_run(uow)
    if run is None:
        raise NotFound(_("The MRP has not been run yet."), code="no_run")
    row = line_row(uow, run.id, so_number, line_no)
    skus = {c.sku for c in components_of(row)} | {row.sku}
    if sku not in skus:
        raise NotFound(
            _(
                "{sku} is not a component of sales order {so_number} line {line_no}.",
                sku=sku,
                so_number=so_number,
                line_no=line_no,
            ),
            field="sku",
            code="unknown_component",
        )
    takes = uow.session.execute(
        select(
            func.min(MrpComponentTake.rank),
            MrpComponentTake.so_number,
            MrpComponentTake.line_no,
            func.sum(MrpComponentTake.qty),
        )
        .where(
            MrpComponentTake.run_id == run.id,
            MrpComponentTake.sku == sku,
            MrpComponentTake.rank < row.rank,
        )
        .group_by(MrpComponentTake.so_number, MrpComponentTake.line_no)
        .order_by(func.min(MrpComponentTake.rank))
    ).all()
    names: dict[int, str] = {
        rank: name
        for rank, name in uow.session.execute(
            select(MrpLineResult.rank, MrpLineResult.customer_name).where(
                MrpLineResult.run_id == run.id,
                MrpLineResult.rank.in_([rank for rank, *_rest in takes]),
            )
        )
    }
    lines = [
        TakenLine(
            rank=rank + 1,
            so_number=number,
            line_no=taken_line,
            customer_name=names.get(rank),
            qty=Decimal(qty),
        )
        for rank, number, taken_line, qty in takes
    ]
    return TakenOut(
        run_id=run.id,
        so_number=so_number,
        line_no=line_no,
        sku=sku,
        total=sum((line.qty for line in lines), ZERO),
        lines=lines,
    )


# --- the workbook -----------------------------------------------------------------------------

LINE_HEADERS = (
    _("Rank"),
    _("Sales order"),
    _("Line"),
    _("Customer"),
    _("Customer name"),
    _("Business unit"),
    _("SKU"),
    _("Due date"),
    _("Open"),
    _("Reserved"),
    _("From stock"),
    _("Pending QC"),
    _("In production"),
    _("Needed"),
    _("Can make"),
    _("Unit price"),
    _("Value"),
    _("Status"),
    _("Status text"),
    _("Score"),
    _("Line code"),
    _("Shifts"),
    _("Earliest date"),
    _("Material due"),
    _("Material without a due date"),
    _("Bottleneck"),
    _("Actions"),
)
COMPONENT_HEADERS = (
    _("Sales order"),
    _("Line"),
    _("SKU"),
    _("Component"),
    _("Parent"),
    _("Level"),
    _("Required"),
    _("Allocated"),
    _("Short"),
    _("Taken by earlier orders"),
    _("Customer-supplied"),
    _("Made"),
)


def export_workbook(
    uow: UnitOfWork, filters: LineFilters, sort: str | None, timezone: str
) -> Response:
    """The filtered view, a row per line, and a sheet of every line's component detail."""
    run = latest_run(uow)
    if run is None:
        raise NotFound(_("The MRP has not been run yet."), code="no_run")
    rows = filtered_rows(uow, run.id, filters, sort)
    actions = actions_by_line(uow, [(row.so_number, row.line_no) for row in rows])
    lines = [line_out(row, actions) for row in rows]
    sheets = [
        (str(_("MRP lines")), [str(h) for h in LINE_HEADERS], _line_cells(lines)),
        (str(_("Components")), [str(h) for h in COMPONENT_HEADERS], _component_cells(lines)),
    ]
    return sheets_response(f"mrp-run-{run.id}", sheets, timezone=timezone)


def _line_cells(lines: Sequence[LineOut]) -> Iterator[list[Any]]:
    for line in lines:
        yield [
            line.rank,
            line.so_number,
            line.line_no,
            line.customer_code,
            line.customer_name,
            line.business_unit,
            line.sku,
            line.due_date,
            line.qty_open,
            line.qty_reserved,
            line.qty_from_stock,
            line.qty_pending_qc,
            line.qty_in_production,
            line.qty_needed,
            line.qty_can_make,
            line.unit_price,
            line.value,
            line.status_name,
            line.status_text,
            line.score,
            line.line_code,
            line.shifts_required,
            line.earliest_date,
            line.material_date,
            str(_("Yes")) if line.material_undated else None,
            ", ".join(line.bottleneck),
            "; ".join(f"{a.kind}: {', '.join(a.references)}" for a in line.actions if a.references),
        ]


def _component_cells(lines: Sequence[LineOut]) -> Iterator[list[Any]]:
    yes, no = str(_("Yes")), str(_("No"))
    for line in lines:
        for c in line.components:
            yield [
                line.so_number,
                line.line_no,
                line.sku,
                c.sku,
                c.parent_sku,
                c.level,
                c.required,
                c.allocated,
                c.short,
                c.taken_before,
                yes if c.customer_supplied else no,
                yes if c.made else no,
            ]
