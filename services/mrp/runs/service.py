"""An MRP run: read the planner's inputs, put the open lines in priority order, plan, and keep
the result (one row per line with its component detail, and what each line took of each SKU's
pool) so the dashboard, the forecast and the tooltips read one consistent answer."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from time import perf_counter
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select

from services.mrp.planning import snapshot
from services.mrp.planning.domain import (
    BomTooDeep,
    ComponentNeed,
    LineResult,
    Plan,
    Take,
    plan,
)
from services.mrp.planning.ordering import Scored, Weights, by_due_date, by_score
from services.mrp.runs.models import MrpComponentTake, MrpLineResult, MrpRun, PrioritySettings
from shared.events.envelope import utc_now
from shared.i18n import _
from shared.uow import UnitOfWork
from shared.web.problems import Conflict

# Runs kept; older results are working data nobody reads again.
KEEP_RUNS = 5
FOUR = Decimal("0.0001")


def priority_in_force(uow: UnitOfWork) -> tuple[bool, Weights]:
    """Whether the score orders the lines, and its weights (the defaults until a planner sets
    them)."""
    row = uow.session.get(PrioritySettings, 1)
    if row is None:
        return False, Weights()
    return row.use_score, Weights(
        customer=row.weight_customer,
        value=row.weight_value,
        due=row.weight_due,
        penalty=row.weight_penalty,
        horizon_days=row.horizon_days,
    )


def run_mrp(uow: UnitOfWork, *, requested_by: str, plan_date: date) -> MrpRun:
    """Plan every open line now and keep the result as the latest run."""
    started_at, clock = utc_now(), perf_counter()
    use_score, weights = priority_in_force(uow)
    orders = snapshot.open_order_lines(uow.session)
    ranked = by_score(orders, weights, plan_date) if use_score else by_due_date(orders)
    plan_input = snapshot.plan_input(uow.session, plan_date, [s.order for s in ranked])
    engine_started = perf_counter()
    try:
        result = plan(plan_input)
    except BomTooDeep as error:
        raise Conflict(
            _("The MRP cannot run: {error}. Correct the BOM and run it again.", error=str(error)),
            field="boms",
            code="bom_cycle",
        ) from error
    engine_ms = round((perf_counter() - engine_started) * 1000)
    run = MrpRun(
        plan_date=plan_date,
        started_at=started_at,
        finished_at=started_at,
        requested_by=requested_by,
        ordering="score" if use_score else "due_date",
        settings=json.dumps(_settings(use_score, weights)),
        order_lines=len(result.lines),
        engine_ms=engine_ms,
        total_ms=0,
    )
    uow.session.add(run)
    uow.session.flush()
    _save(uow, run.id, ranked, result)
    _prune(uow, run.id)
    run.finished_at = utc_now()
    run.total_ms = round((perf_counter() - clock) * 1000)
    return run


def latest_run(uow: UnitOfWork) -> MrpRun | None:
    return uow.session.scalar(select(MrpRun).order_by(MrpRun.id.desc()).limit(1))


def _settings(use_score: bool, weights: Weights) -> dict[str, Any]:
    return {
        "use_score": use_score,
        "weight_customer": str(weights.customer),
        "weight_value": str(weights.value),
        "weight_due": str(weights.due),
        "weight_penalty": str(weights.penalty),
        "horizon_days": weights.horizon_days,
    }


def _save(uow: UnitOfWork, run_id: int, ranked: list[Scored], result: Plan) -> None:
    rows = [
        _line_row(run_id, scored, line) for scored, line in zip(ranked, result.lines, strict=True)
    ]
    _insert_many(uow, cast(Table, MrpLineResult.__table__), rows)
    _insert_many(uow, cast(Table, MrpComponentTake.__table__), _take_rows(run_id, result.takes))


def _insert_many(uow: UnitOfWork, table: Table, rows: list[dict[str, Any]]) -> None:
    """A run's rows (a line per open order line, a take per SKU and line: 25,000 rows for
    5,000 lines) in the run's transaction: COPY on PostgreSQL, which costs a third of the CPU
    of a batched INSERT (bench/mrp.py); one executemany of a Core INSERT elsewhere. Every
    amount is already rounded to its column's four places (`_q`), which COPY does not check."""
    if not rows:
        return
    connection = uow.session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), rows)
        return
    columns = [column.name for column in table.columns]
    driver = connection.connection.driver_connection
    assert driver is not None
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row([row[name] for name in columns])


def _line_row(run_id: int, scored: Scored, line: LineResult) -> dict[str, Any]:
    order = line.order
    return {
        "run_id": run_id,
        "rank": line.rank,
        "so_number": order.so_number,
        "line_no": order.line_no,
        "sku": order.sku,
        "customer_code": order.customer_code,
        "customer_name": order.customer_name,
        "business_unit": order.business_unit,
        "due_date": order.due_date,
        "qty_open": _q(order.qty_open),
        "unit_price": _q(order.unit_price),
        "score": scored.score,
        "score_parts": (
            json.dumps({k: str(v) for k, v in scored.parts.items()}) if scored.parts else None
        ),
        "qty_reserved": _q(line.qty_reserved),
        "qty_from_stock": _q(line.qty_from_stock),
        "qty_pending_qc": _q(line.qty_pending_qc),
        "qty_in_production": _q(line.qty_in_production),
        "qty_needed": _q(line.qty_needed),
        "qty_can_make": _q(line.qty_can_make),
        "status": line.status.value,
        "status_text": line.status_text[:400],
        "bottleneck": ", ".join(line.bottleneck)[:400] or None,
        "shifts_required": _fits_column(line.shifts_required),
        "line_code": line.line_code,
        "earliest_date": line.earliest_date,
        "material_date": line.material_date,
        "material_undated": line.material_undated,
        "components": json.dumps([_component(c) for c in line.components]),
        "to_buy": json.dumps(_to_buy(line.to_buy)),
    }


def _component(need: ComponentNeed) -> dict[str, Any]:
    return {
        "sku": need.sku,
        "parent_sku": need.parent_sku,
        "level": need.level,
        "required": str(_q(need.required)),
        "allocated": str(_q(need.allocated)),
        "short": str(_q(need.short)),
        "taken_before": str(_q(need.taken_before)),
        "customer_supplied": need.customer_supplied,
        "made": need.made,
    }


def _take_rows(run_id: int, takes: Iterable[Take]) -> list[dict[str, Any]]:
    """One row per SKU and line (a bought finished good can take from stock and from its open
    purchase orders in the same turn)."""
    merged: dict[tuple[str, int], dict[str, Any]] = {}
    for take in takes:
        key = (take.sku, take.rank)
        row = merged.get(key)
        if row is None:
            merged[key] = {
                "run_id": run_id,
                "sku": take.sku,
                "rank": take.rank,
                "so_number": take.so_number,
                "line_no": take.line_no,
                "qty": take.qty,
            }
        else:
            row["qty"] += take.qty
    for row in merged.values():
        row["qty"] = _q(row["qty"])
    return list(merged.values())


def _prune(uow: UnitOfWork, newest: int) -> None:
    """Delete the runs before the last KEEP_RUNS. No session sync: the session holds none of
    their rows, and synchronising would fetch every deleted row back (25,000 at 5,000 lines)."""
    old = select(MrpRun.id).where(MrpRun.id <= newest - KEEP_RUNS).scalar_subquery()
    for statement in (
        delete(MrpComponentTake).where(MrpComponentTake.run_id.in_(old)),
        delete(MrpLineResult).where(MrpLineResult.run_id.in_(old)),
        delete(MrpRun).where(MrpRun.id <= newest - KEEP_RUNS),
    ):
        uow.session.execute(statement.execution_options(synchronize_session=False))


def _to_buy(parts: dict[str, Decimal]) -> dict[str, str]:
    """Parts to buy at the column's four places; a hair that rounds to nothing is no purchase
    (purchasing refuses a zero quantity)."""
    rounded = {sku: _q(qty) for sku, qty in sorted(parts.items())}
    return {sku: str(qty) for sku, qty in rounded.items() if qty > 0}


# NUMERIC(18, 4) holds less than 10**14; a line that needs more shifts than that has no date
# either (beyond the capacity horizon), so the figure is left out rather than failing the run.
_LARGEST = Decimal(10) ** 14


def _fits_column(value: Decimal | None) -> Decimal | None:
    if value is None or abs(value) >= _LARGEST:
        return None
    return _q(value)


def _q(value: Decimal) -> Decimal:
    return value.quantize(FOUR, rounding=ROUND_HALF_UP)
