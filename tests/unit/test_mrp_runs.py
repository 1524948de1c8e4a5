"""An MRP run as the service does it: read models fed by the events other services publish,
mrp's own sales orders, a run kept as the latest result; and the same result after the read
models are rebuilt by replaying those events."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from services.mrp.planning.models import (
    OpenPurchaseLine,
    OpenPurchaseOrder,
    PlannedBom,
    PlannedBomLine,
    PlannedCapacity,
    PlannedLine,
    StockLevel,
)
from services.mrp.runs.models import MrpComponentTake, MrpRun
from services.mrp.runs.service import KEEP_RUNS
from services.mrp.sales.models import KnownItem
from shared.events.catalogue import LineCapacity
from tests.support import servers
from tests.support.mrp_plan import PLAN_DATE, MrpPlan, mrp_plan

D = Decimal


@pytest.fixture
async def plan(tmp_path: Path) -> AsyncIterator[MrpPlan]:
    async with mrp_plan(tmp_path) as plan:
        yield plan


def small_plant(plan: MrpPlan) -> None:
    """A bracket (BRKT) made of a printed arm (ARM, made of filament PLA) and two screws
    (SCREW, bought; some on an open PO), and a customer-supplied label (LABEL)."""
    for sku in ("PLA", "SCREW"):
        plan.item(sku)
    plan.item("LABEL", customer_supplied=True)
    plan.item("ARM", make=True)
    plan.item("BRKT", make=True, family="BRACKETS")
    plan.bom("ARM", ("PLA", "0.5"))
    plan.bom("BRKT", ("ARM", "1"), ("SCREW", "2"), ("LABEL", "1"))
    plan.stock("BRKT", available="30", pending_qc="10")
    plan.stock("ARM", available="5")
    plan.stock("PLA", available="20", wip="500")  # 500 kg issued to jobs: never counted
    plan.stock("SCREW", available="40")
    plan.stock("LABEL", available="1000")
    plan.purchase_order("PO-1", ("SCREW", "100", "40"))  # 60 still to come
    plan.purchase_order("PO-2", ("SCREW", "1000", "0"), status="draft")  # not ordered yet
    plan.line(
        "PRN-01",
        LineCapacity(family="BRACKETS", units_per_shift=D(20), effective_from=date(2026, 1, 1)),
    )
    plan.customer("ACME", priority=1)
    plan.customer("BOLT", priority=4)


async def test_a_run_plans_every_open_line_from_the_read_models(plan: MrpPlan) -> None:
    await a_run_plans_every_open_line(plan)


async def test_a_run_on_postgresql_keeps_the_same_result(
    postgres: servers.PostgresDatabases, tmp_path: Path
) -> None:
    """The same story on PostgreSQL, where the result goes in by COPY."""
    async with mrp_plan(tmp_path, db_url=postgres.create("mrp_runs")) as plan:
        await a_run_plans_every_open_line(plan)


async def a_run_plans_every_open_line(plan: MrpPlan) -> None:
    small_plant(plan)
    # Due first: 25 brackets, from stock.          BRKT left 5 (+10 in QC)
    plan.sales_order("SO-1", "ACME", ("BRKT", "25", date(2026, 11, 25)))
    # Then 15: 5 from stock, 10 pending QC.          BRKT left 0
    plan.sales_order("SO-2", "BOLT", ("BRKT", "15", date(2026, 11, 26)))
    # Then 60 to make: ARM 5 + PLA 20 / 0.5 = 45, SCREW 40 + 60 on order = 100 / 2 = 50:
    # 45 can be made (PLA is the bottleneck), using 5 ARM, 20 PLA, 90 SCREW. For the other 15:
    # 15 ARM short, i.e. 7.5 kg of PLA, and 30 screws of which 10 are left: 20 short.
    plan.sales_order("SO-3", "ACME", ("BRKT", "60", date(2026, 11, 27)))
    # A draft order is not planned; a cancelled one neither.
    plan.sales_order("SO-4", "ACME", ("BRKT", "5", date(2026, 11, 20)), status="draft")

    results = plan.run()

    assert set(results) == {("SO-1", 1), ("SO-2", 1), ("SO-3", 1)}
    first, second, third = results[("SO-1", 1)], results[("SO-2", 1)], results[("SO-3", 1)]
    assert (first.rank, first.status_text) == (0, "Ready to Ship")
    assert (second.status_text, second.qty_from_stock, second.qty_pending_qc) == (
        "Pending QC",
        D(5),
        D(10),
    )
    assert third.status_text == "Partial Production Ready - [PLA, SCREW]"
    assert (third.qty_needed, third.qty_can_make) == (D(60), D(45))
    components = {(c["sku"], c["level"]): c for c in json.loads(third.components)}
    assert components[("ARM", 1)] == {
        "sku": "ARM",
        "parent_sku": "BRKT",
        "level": 1,
        "required": "60.0000",
        "allocated": "45.0000",
        "short": "15.0000",
        "taken_before": "0.0000",
        "customer_supplied": False,
        "made": True,
    }
    assert components[("SCREW", 1)]["allocated"] == "90.0000"
    assert components[("SCREW", 1)]["short"] == "20.0000"
    assert components[("PLA", 2)]["short"] == "7.5000"
    # 60 to make at 20 a shift is 3 shifts on PRN-01; 2 shifts a day from Monday: Tuesday.
    assert (third.line_code, third.shifts_required, third.earliest_date) == (
        "PRN-01",
        D(3),
        date(2026, 11, 24),
    )
    with plan.uow() as uow:
        takes = {(t.sku, t.so_number): t.qty for t in uow.session.scalars(select(MrpComponentTake))}
    assert takes == {
        ("BRKT", "SO-1"): D(25),
        ("BRKT", "SO-2"): D(15),
        ("ARM", "SO-3"): D(5),
        ("PLA", "SO-3"): D(20),
        ("SCREW", "SO-3"): D(90),
        ("LABEL", "SO-3"): D(45),
    }


async def test_a_customer_supplied_shortage_waits_for_the_customer(plan: MrpPlan) -> None:
    small_plant(plan)
    plan.stock("LABEL", available="3")
    plan.stock("BRKT", available="0")
    plan.sales_order("SO-1", "ACME", ("BRKT", "10", date(2026, 11, 25)))
    result = plan.run()[("SO-1", 1)]
    assert result.status_text == "Awaiting Customer Material"
    assert result.bottleneck == "LABEL"


async def test_the_score_orders_lines_when_the_planner_turns_it_on(plan: MrpPlan) -> None:
    from services.mrp.runs.models import PrioritySettings

    small_plant(plan)
    plan.stock("BRKT", available="10", pending_qc="0")
    # BOLT's order is due first, but ACME is priority 1 and its order carries a penalty.
    plan.sales_order("SO-1", "BOLT", ("BRKT", "10", date(2026, 11, 24)))
    plan.sales_order("SO-2", "ACME", ("BRKT", "10", date(2026, 12, 20)), penalty=True)
    by_date = plan.run()
    assert by_date[("SO-1", 1)].status_text == "Ready to Ship"
    with plan.uow() as uow:
        uow.session.add(
            PrioritySettings(
                id=1,
                use_score=True,
                weight_customer=D(1),
                weight_value=D(0),
                weight_due=D(1),
                weight_penalty=D(2),
                horizon_days=60,
                version=1,
            )
        )
        uow.commit()
    by_score = plan.run()
    # SO-1: customer 0.4 + due 1 - 1/60 = 0.9833 -> 1.3833; SO-2: 1 + (1 - 27/60) 0.55 + 2 = 3.55
    assert by_score[("SO-2", 1)].status_text == "Ready to Ship"
    assert by_score[("SO-2", 1)].score == D("3.55")
    assert by_score[("SO-1", 1)].score == D("1.3833")
    assert by_score[("SO-1", 1)].status_text == "Full Production Ready - Create job now"
    assert json.loads(by_score[("SO-2", 1)].score_parts or "{}") == {
        "customer": "1.0000",
        "value": "1.0000",
        "due": "0.5500",
        "penalty": "1",
    }


async def test_only_the_latest_runs_are_kept(plan: MrpPlan) -> None:
    small_plant(plan)
    plan.sales_order("SO-1", "ACME", ("BRKT", "25", date(2026, 11, 25)))
    for _ in range(KEEP_RUNS + 2):
        plan.run()
    with plan.uow() as uow:
        kept = uow.session.scalar(select(func.count()).select_from(MrpRun))
        runs_with_takes = uow.session.scalar(
            select(func.count(func.distinct(MrpComponentTake.run_id)))
        )
    assert kept == KEEP_RUNS
    assert runs_with_takes == KEEP_RUNS


READ_MODELS = (
    OpenPurchaseLine,
    OpenPurchaseOrder,
    PlannedBomLine,
    PlannedBom,
    PlannedCapacity,
    PlannedLine,
    StockLevel,
    KnownItem,
)


async def test_the_plan_is_the_same_after_the_read_models_are_replayed(plan: MrpPlan) -> None:
    small_plant(plan)
    plan.stock("SCREW", available="12")  # a newer figure that must win again after the replay
    plan.sales_order("SO-1", "ACME", ("BRKT", "35", date(2026, 11, 25)))
    plan.sales_order("SO-2", "BOLT", ("BRKT", "30", date(2026, 11, 26)))
    before = {key: _comparable(row) for key, row in plan.run().items()}

    inbox = plan.runtime.definition.tables.inbox
    with plan.uow() as uow:
        for model in READ_MODELS:
            uow.session.execute(delete(model))
        uow.session.execute(delete(inbox))
        uow.commit()
    shuffled = list(plan.fed)
    random.Random(9).shuffle(shuffled)  # a replay need not come in the original order
    for envelope in shuffled:
        plan.apply([envelope])
    after = {key: _comparable(row) for key, row in plan.run().items()}

    assert after == before
    assert before[("SO-2", 1)]["status_text"] != "Ready to Ship"  # the plan is not trivial


def _comparable(row: object) -> dict[str, object]:
    fields = ("rank", "status_text", "qty_can_make", "qty_needed", "components", "earliest_date")
    return {name: getattr(row, name) for name in fields}


async def test_pruning_needs_no_run_before(plan: MrpPlan) -> None:
    assert plan.run() == {}
    assert PLAN_DATE.weekday() == 0


async def test_make_to_order_output_stays_with_its_line(plan: MrpPlan) -> None:
    """A job made for SO-1's line passed 38 of 40 through QC (in FG, available in inventory's
    eyes) and its 4-unit reprint is waiting: SO-1 is covered by its own output and the reprint,
    and SO-2, due earlier, cannot take those 38."""
    from shared.events.catalogue import ProductionOrderChanged

    small_plant(plan)
    plan.stock("BRKT", available="38", pending_qc="0")
    plan.stock("ARM", available="0")
    plan.stock("PLA", available="0")
    plan.sales_order("SO-1", "ACME", ("BRKT", "40", None))
    plan.sales_order("SO-2", "BOLT", ("BRKT", "10", date(2026, 11, 24)))
    job = {"sku": "BRKT", "order_type": "mto", "so_number": "SO-1", "so_line_no": 1}
    plan.feed(
        ProductionOrderChanged(
            order_code="PRD-1",
            status="completed",
            qty_ordered=D(40),
            qty_to_make=D(42),
            qty_good=D(42),
            qty_passed=D(38),
            qty_failed=D(4),
            **job,  # type: ignore[arg-type]
        ),
        key="PRD-1",
    )
    plan.feed(
        ProductionOrderChanged(
            order_code="PRD-2",
            status="draft",
            qty_ordered=D(4),
            qty_to_make=D(4),
            reprint_of="PRD-1",
            root_order_code="PRD-1",
            reprint_seq=1,
            sku="BRKT",
            order_type="mto",
        ),
        key="PRD-2",
    )
    results = plan.run()
    own, other = results[("SO-1", 1)], results[("SO-2", 1)]
    assert (own.qty_reserved, own.qty_in_production, own.status_text) == (
        D(38),
        D(2),
        "In Production",
    )
    assert (other.qty_from_stock, other.status_text) == (D(0), "Critical Shortage")


async def test_a_need_of_more_shifts_than_a_column_holds_still_runs(plan: MrpPlan) -> None:
    """10 trillion brackets at 0.0001 a shift is 10**17 shifts: no date, no figure, no 500."""
    small_plant(plan)
    plan.line("PRN-01")  # its capacity withdrawn: only the slow line can make brackets
    plan.line(
        "SLOW-01",
        LineCapacity(sku="BRKT", units_per_shift=D("0.0001"), effective_from=date(2026, 1, 1)),
    )
    plan.stock("BRKT", available="0")
    plan.stock("ARM", available="10000000000000")
    plan.stock("SCREW", available="20000000000000")
    plan.stock("LABEL", available="10000000000000")
    plan.sales_order("SO-1", "ACME", ("BRKT", "10000000000000", date(2026, 12, 1)))
    result = plan.run()[("SO-1", 1)]
    assert result.status_text == "Full Production Ready - Create job now"
    assert (result.shifts_required, result.earliest_date) == (None, None)


def test_parts_to_buy_that_round_to_nothing_are_no_purchase() -> None:
    from services.mrp.runs.service import _to_buy

    assert _to_buy({"PLA": D("1E-27"), "SCREW": D("2.00004"), "BOX": D("0.00005")}) == {
        "BOX": "0.0001",
        "SCREW": "2.0000",
    }
