"""When purchased material arrives: open purchase-order quantity is held as dated lots, taken due
first first (undated last); a line's material date is the latest due date of the dated lots its
production took, at any depth, and its shifts are not booked before that day (docs/mrp.md,
"Material dates").

As in test_mrp_engine.py: the plan date is Monday 2026-11-23; items are counted in pieces; a
kit is 2 brackets and 1 box; a line makes 100 kits a shift, one shift a weekday."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from services.embedded import EmbeddedPortal
from services.mrp.planning import snapshot
from services.mrp.planning.domain import (
    Capacity,
    Item,
    Line,
    OrderLine,
    Plan,
    Pools,
    Status,
    Stock,
)
from shared.events.catalogue import LineCapacity, PurchaseOrderChanged, PurchaseOrderLine
from shared.events.envelope import utc_now
from shared.i18n import format_date
from tests.support import servers
from tests.support.mrp_plan import MrpPlan, mrp_plan
from tests.support.ui import ADMIN_PASSWORD, add_user, signed_in, ui_portal
from tests.unit.test_mrp_actions import api_as, ok, set_up_plant
from tests.unit.test_mrp_engine import KIT, PLAN_DATE, bom, kits_needing, order, run, stock

D = Decimal


def day(n: int) -> date:
    """The plan date plus `n` days."""
    return PLAN_DATE + timedelta(days=n)


def on_order(*lots: tuple[date, str], undated: str = "0", available: str = "0") -> Stock:
    """Stock whose open purchase orders are the dated `lots` plus `undated` with no due date."""
    dated = tuple((due, D(qty)) for due, qty in lots)
    total = sum((qty for _due, qty in dated), D(undated))
    return Stock(D(available), D(0), total, dated)


def on_the_press(orders: Sequence[OrderLine], stocks: Mapping[str, Stock]) -> Plan:
    """Kits planned with PRESS-1 making 100 of anything a shift, one shift a weekday."""
    return run(
        orders,
        stocks=stocks,
        boms=KIT,
        items=[Item("KIT", make_or_buy="make")],
        lines=[Line("PRESS-1")],
        capacities=[Capacity("PRESS-1", D(100), date(2026, 1, 1))],
    )


# --------------------------------------------------------------------------------------------
# A line's material date, and its earliest date after it
# --------------------------------------------------------------------------------------------


def test_a_line_covered_by_stock_has_no_material_date() -> None:
    # 100 kits from 200 brackets and 100 boxes on the shelf: 1 shift, Monday 23.
    result = on_the_press(kits_needing("100"), {"BRKT": stock("200"), "BOX": stock("100")})

    (line,) = result.lines
    assert line.status is Status.FULL_PRODUCTION
    assert (line.material_date, line.material_undated) == (None, False)
    assert line.earliest_date == PLAN_DATE


def test_a_line_needing_purchased_material_is_not_made_before_it_arrives() -> None:
    # 100 brackets on the shelf, 100 more on a PO due in 20 days (Sunday 13 December). 100
    # kits take all 200: the material is due on the 13th, and the first shift worked on or
    # after it is Monday 14th's: 1 shift, earliest date Monday 14 December (not Monday 23 Nov).
    stocks = {"BRKT": on_order((day(20), "100"), available="100"), "BOX": stock("100")}

    (line,) = on_the_press(kits_needing("100"), stocks).lines

    assert line.status is Status.FULL_PRODUCTION
    assert line.material_date == date(2026, 12, 13)
    assert line.earliest_date == date(2026, 12, 14)
    assert line.earliest_date >= line.material_date


def test_a_later_line_whose_material_is_in_is_made_in_the_days_an_earlier_one_waits() -> None:
    # SO-1's 200 kits (2 shifts) wait for brackets due Thursday 26th: Thu 26 and Fri 27, and the
    # press would stand idle Mon 23 to Wed 25. SO-2's 100 trays (1 shift; a tray is a box, on
    # the shelf) go into the idle Monday, and SO-1 does not move. SO-3's 400 trays (4 shifts)
    # fit in no idle stretch (Tue and Wed are left): after SO-1, Mon 30 to Thu 3 December.
    stocks = {"BRKT": on_order((day(3), "400")), "BOX": stock("2000")}
    orders = [
        order("SO-1", "KIT", "200"),
        order("SO-2", "TRAY", "100"),
        order("SO-3", "TRAY", "400"),
    ]

    first, second, third = run(
        orders,
        stocks=stocks,
        boms={**KIT, "TRAY": bom(("BOX", "1"))},
        items=[Item("KIT", make_or_buy="make"), Item("TRAY", make_or_buy="make")],
        lines=[Line("PRESS-1")],
        capacities=[Capacity("PRESS-1", D(100), date(2026, 1, 1))],
    ).lines

    assert (first.material_date, first.earliest_date) == (day(3), date(2026, 11, 27))
    assert (second.material_date, second.earliest_date) == (None, PLAN_DATE)
    assert (third.material_date, third.earliest_date) == (None, date(2026, 12, 3))


def test_a_line_booked_after_one_waiting_for_its_material_waits_too() -> None:
    # SO-1 waits for brackets due Wednesday 25th: its 2 shifts are Wed 25 and Thu 26 (Mon and
    # Tue stand idle). SO-2's material is on the shelf, but the line's cursor is after SO-1:
    # Friday 27th. The idle Monday and Tuesday stay idle: SO-2 waits for the same lot.
    stocks = {"BRKT": on_order((day(2), "400"), available="200"), "BOX": stock("1000")}

    first, second = on_the_press(kits_needing("200", "100"), stocks).lines

    # SO-1 takes the 200 on the shelf, then the lot due on the 25th.
    assert (first.material_date, first.earliest_date) == (date(2026, 11, 25), date(2026, 11, 26))
    # SO-2 takes 200 more of that lot: the same date; booked after SO-1.
    assert (second.material_date, second.earliest_date) == (date(2026, 11, 25), date(2026, 11, 27))


def test_an_overdue_lot_holds_nothing_back() -> None:
    # The PO was due a week ago: the material date says so, the shifts start today.
    stocks = {"BRKT": on_order((day(-7), "200")), "BOX": stock("100")}

    (line,) = on_the_press(kits_needing("100"), stocks).lines

    assert (line.material_date, line.earliest_date) == (date(2026, 11, 16), PLAN_DATE)


def test_material_due_beyond_the_horizon_gives_no_earliest_date() -> None:
    stocks = {"BRKT": on_order((day(400), "200")), "BOX": stock("100")}

    (line,) = on_the_press(kits_needing("100"), stocks).lines

    assert (line.material_date, line.line_code, line.earliest_date) == (day(400), "PRESS-1", None)


# --------------------------------------------------------------------------------------------
# Lots: due first, taken first; undated last
# --------------------------------------------------------------------------------------------


def test_the_lot_due_first_goes_to_the_line_served_first() -> None:
    # Two POs for brackets: 100 due in 5 days, 100 due in 30. SO-1 (50 kits = 100 brackets)
    # takes the day-5 lot, SO-2 the day-30 lot, whatever order the lots were listed in.
    stocks = {"BRKT": on_order((day(30), "100"), (day(5), "100")), "BOX": stock("100")}

    first, second = on_the_press(kits_needing("50", "50"), stocks).lines

    assert first.material_date == date(2026, 11, 28)
    assert second.material_date == date(2026, 12, 23)
    # Friday 27 is no day for SO-1 either: the first shift on or after Saturday 28 is Monday
    # 30th's. SO-2 waits for Wednesday 23 December.
    assert (first.earliest_date, second.earliest_date) == (date(2026, 11, 30), date(2026, 12, 23))


def test_a_line_spanning_two_lots_waits_for_the_later() -> None:
    stocks = {"BRKT": on_order((day(5), "100"), (day(30), "100")), "BOX": stock("100")}

    (line,) = on_the_press(kits_needing("60"), stocks).lines

    assert line.material_date == day(30)


def test_quantity_without_a_due_date_is_taken_last_and_holds_nothing_back() -> None:
    # 100 brackets due on day 10, and 100 on a PO line with no due date. SO-1 (50 kits) takes
    # the dated lot; SO-2 (50 kits) the undated quantity: no material date, but it is marked,
    # and its shifts are not held back: its half shift goes into the line's idle days before
    # SO-1's material comes, today.
    stocks = {"BRKT": on_order((day(10), "100"), undated="100"), "BOX": stock("100")}

    first, second = on_the_press(kits_needing("50", "50"), stocks).lines

    assert (first.material_date, first.material_undated) == (day(10), False)
    assert (second.material_date, second.material_undated) == (None, True)
    assert (first.earliest_date, second.earliest_date) == (date(2026, 12, 3), PLAN_DATE)


def test_a_bought_finished_good_tells_when_its_purchase_order_is_due() -> None:
    # A resold pump (no BOM): 4 on the shelf, 10 due on day 12. SO-1 wants 10: 4 ship, 6 wait
    # for the PO. No line makes it, so no earliest date; the material date is the PO's.
    (line,) = run(
        [order("SO-1", "PUMP", "10")], stocks={"PUMP": on_order((day(12), "10"), available="4")}
    ).lines

    assert line.status_text == "Partial Ship: 4 / Prod. Needed: 6"
    assert (line.material_date, line.earliest_date) == (day(12), None)


def test_a_sub_assembly_made_from_purchased_material_carries_its_date_to_the_parent() -> None:
    # A lamp is a made shade (2 kg resin each, on a PO due on day 12) and a bulb from the shelf.
    # The resin two levels down sets the lamp's material date.
    boms = {"LAMP": bom(("SHADE", "1"), ("BULB", "1")), "SHADE": bom(("RESIN", "2"))}
    stocks = {"RESIN": on_order((day(12), "40")), "BULB": stock("20")}

    (line,) = run(
        [order("SO-1", "LAMP", "20")],
        stocks=stocks,
        boms=boms,
        items=[Item("LAMP", make_or_buy="make"), Item("SHADE", make_or_buy="make")],
        lines=[Line("PRESS-1")],
        capacities=[Capacity("PRESS-1", D(100), date(2026, 1, 1))],
    ).lines

    assert line.status is Status.FULL_PRODUCTION
    assert line.material_date == date(2026, 12, 5)
    assert line.earliest_date == date(2026, 12, 7)  # Saturday 5th: Monday 7th's shift


def test_a_sub_assembly_on_the_shelf_needs_no_purchased_material() -> None:
    boms = {"LAMP": bom(("SHADE", "1"), ("BULB", "1")), "SHADE": bom(("RESIN", "2"))}
    stocks = {"SHADE": stock("20"), "RESIN": on_order((day(12), "40")), "BULB": stock("20")}

    (line,) = run([order("SO-1", "LAMP", "20")], stocks=stocks, boms=boms).lines

    assert line.material_date is None


# --------------------------------------------------------------------------------------------
# Trials that are rolled back leave the lots as they were
# --------------------------------------------------------------------------------------------

# A part shared by two branches: each DUO holds a LEFT (2 clips) and a RIGHT (3 clips).
DUO = {
    "DUO": bom(("LEFT", "1"), ("RIGHT", "1")),
    "LEFT": bom(("CLIP", "2")),
    "RIGHT": bom(("CLIP", "3")),
}


def test_a_trial_that_does_not_fit_leaves_the_lots_and_their_dates_alone() -> None:
    # Clips: 50 due on day 5, 4 due on day 30. 11 DUOs want 55 clips: the first estimate (each
    # branch alone fits) is tried, takes all 54 to the day-30 lot, does not fit, and is rolled
    # back; so are the trials of the search down to 10. 10 DUOs take the 50 of day 5: that is
    # SO-1's material date, not day 30. SO-2 (1 RIGHT, 3 clips) finds the day-30 lot whole.
    stocks = {"CLIP": on_order((day(5), "50"), (day(30), "4"))}

    first, second = run(
        [order("SO-1", "DUO", "11"), order("SO-2", "RIGHT", "1")], stocks=stocks, boms=DUO
    ).lines

    assert (first.qty_can_make, first.material_date) == (D(10), day(5))
    assert (second.qty_can_make, second.material_date) == (D(1), day(30))
    assert second.status is Status.FULL_PRODUCTION


def test_pools_roll_back_and_commit_their_lots() -> None:
    pools = Pools({"CLIP": on_order((day(5), "10"), (day(9), "10"), undated="5")})
    before = pools["CLIP"].lots

    pools.trial()
    assert pools["CLIP"].take(D(14)) == D(14)
    assert pools["CLIP"].lots == ((day(9), D(6)),)
    pools.rollback()

    assert pools["CLIP"].lots == before == ((day(5), D(10)), (day(9), D(10)))
    pools.trial()
    pools["CLIP"].take(D(22))
    pools.commit()
    assert (pools["CLIP"].lots, pools["CLIP"].on_order) == ((), D(3))


def test_lots_beyond_the_open_quantity_are_cut_latest_first() -> None:
    # A figure that disagrees (20 dated, 15 open in all) keeps the earliest 15.
    pools = Pools({"CLIP": Stock(on_order=D(15), on_order_lots=((day(9), D(10)), (day(2), D(10))))})

    assert pools["CLIP"].lots == ((day(2), D(10)), (day(9), D(5)))


def test_components_need_rows_and_takes_are_as_before() -> None:
    # Dates change nothing in what is taken: 60 kits take 120 brackets (100 on the shelf, 20
    # of the lot due on day 3) and 60 boxes.
    stocks = {"BRKT": on_order((day(3), "50"), available="100"), "BOX": stock("60")}

    result = run(kits_needing("60"), stocks=stocks, boms=KIT)

    (line,) = result.lines
    assert line.qty_can_make == D(60)
    assert [(t.sku, t.qty) for t in result.takes] == [("BRKT", D(120)), ("BOX", D(60))]
    assert line.material_date == day(3)


# --------------------------------------------------------------------------------------------
# From the read models to the dashboard
# --------------------------------------------------------------------------------------------


def purchase_order(plan: MrpPlan, number: str, *lines: tuple[str, str, date | None]) -> None:
    """A submitted PO: lines (sku, qty, due date)."""
    plan.feed(
        PurchaseOrderChanged(
            po_number=number,
            vendor_code="V1",
            status="submitted",
            order_date=PLAN_DATE,
            lines=tuple(
                PurchaseOrderLine(
                    line_no=n,
                    sku=sku,
                    qty_ordered=D(q),
                    qty_received=D(0),
                    unit_cost=D(1),
                    due_date=due,
                )
                for n, (sku, q, due) in enumerate(lines, start=1)
            ),
        ),
        key=number,
    )


def lamp_plant(plan: MrpPlan) -> None:
    """Lamps (made on PRESS-1, 100 a shift, 2 shifts a weekday) of 2 kg resin: 10 kg on the
    shelf, PO-1 brings 30 due on day 10 and 10 due on day 3, PO-2 20 with no due date."""
    plan.item("RESIN")
    plan.item("LAMP", make=True)
    plan.bom("LAMP", ("RESIN", "2"))
    plan.stock("RESIN", available="10")
    purchase_order(plan, "PO-1", ("RESIN", "30", day(10)), ("RESIN", "10", day(3)))
    purchase_order(plan, "PO-2", ("RESIN", "20", None))
    plan.line("PRESS-1", LineCapacity(units_per_shift=D(100), effective_from=date(2026, 1, 1)))
    plan.customer("ACME")
    # SO-1: 10 lamps, 20 kg: the shelf's 10 and the day-3 lot. SO-2: 15 lamps, the day-10 lot.
    # SO-3: 10 lamps, the undated 20.
    plan.sales_order("SO-1", "ACME", ("LAMP", "10", date(2026, 12, 1)))
    plan.sales_order("SO-2", "ACME", ("LAMP", "15", date(2026, 12, 2)))
    plan.sales_order("SO-3", "ACME", ("LAMP", "10", date(2026, 12, 3)))


async def test_the_loader_reads_open_purchase_orders_as_dated_lots(tmp_path: Path) -> None:
    async with mrp_plan(tmp_path) as plan:
        lamp_plant(plan)
        with plan.uow() as uow:
            stocks = snapshot.stock_by_sku(uow.session)

    assert stocks["RESIN"] == Stock(D(10), D(0), D(60), ((day(3), D(10)), (day(10), D(30))))


async def a_run_keeps_each_lines_material_date(plan: MrpPlan) -> None:
    lamp_plant(plan)

    results = plan.run()

    kept = {
        so: (r.material_date, r.material_undated, r.earliest_date) for (so, _), r in results.items()
    }
    assert kept == {
        "SO-1": (day(3), False, day(3)),  # Thursday 26th
        "SO-2": (day(10), False, day(10)),  # Thursday 3 December
        # Holds nothing back: made in the idle Monday before SO-1's resin comes.
        "SO-3": (None, True, day(0)),
    }


async def test_a_run_keeps_each_lines_material_date_on_sqlite(tmp_path: Path) -> None:
    async with mrp_plan(tmp_path) as plan:
        await a_run_keeps_each_lines_material_date(plan)


async def test_a_run_keeps_each_lines_material_date_on_postgresql(
    postgres: servers.PostgresDatabases, tmp_path: Path
) -> None:
    """Where the result goes in by COPY."""
    async with mrp_plan(tmp_path, db_url=postgres.create("mrp_material")) as plan:
        await a_run_keeps_each_lines_material_date(plan)


@pytest.fixture
async def plan(tmp_path: Path) -> AsyncIterator[MrpPlan]:
    async with mrp_plan(tmp_path) as plan:
        yield plan


async def test_the_dashboard_api_and_workbook_show_the_material_date(plan: MrpPlan) -> None:
    lamp_plant(plan)
    plan.run()
    async with plan.client("planner", user="pia") as planner:
        answer = await planner.get("/api/v1/mrp/lines")
        assert answer.status_code == 200, answer.text
        lines = {line["so_number"]: line for line in answer.json()["items"]}
        workbook = await planner.get("/api/v1/mrp/lines.xlsx")

    assert [
        (lines[so]["material_date"], lines[so]["material_undated"])
        for so in ("SO-1", "SO-2", "SO-3")
    ] == [
        ("2026-11-26", False),
        ("2026-12-03", False),
        (None, True),
    ]
    book = openpyxl.load_workbook(io.BytesIO(workbook.content), read_only=True)
    rows = list(book["MRP lines"].iter_rows(values_only=True))
    header = rows[0]
    due, undated = header.index("Material due"), header.index("Material without a due date")
    assert header[due - 1] == "Earliest date"
    by_order = {row[1]: row for row in rows[1:]}
    cell = by_order["SO-2"][due]
    assert isinstance(cell, datetime) and cell.date() == date(2026, 12, 3)  # a date cell
    assert (by_order["SO-2"][undated], by_order["SO-3"][undated]) == (None, "Yes")


# --------------------------------------------------------------------------------------------
# The whole portal: a purchase order's due date reaches the dashboard
# --------------------------------------------------------------------------------------------


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[EmbeddedPortal]:
    async with ui_portal(tmp_path, handler_backoff_seconds=0) as running:
        add_user(running, "paula", ["planner"])
        add_user(running, "pepa", ["planner"], language="es")
        yield running


async def test_the_dashboard_says_when_the_purchased_material_is_due(
    portal: EmbeddedPortal,
) -> None:
    """test_mrp_actions.py's plant, where line 2 (20 brackets) found 5 kg PLA and 20 screws
    left; a submitted PO brings 20 screws due in 10 days and 5 kg PLA due in 12: line 2 can
    all be made once the PLA is in."""
    await set_up_plant(portal)
    screws_due, pla_due = ((utc_now() + timedelta(days=n)).date() for n in (10, 12))
    async with api_as(portal, "admin", ADMIN_PASSWORD) as admin:
        po = {
            "vendor_code": "FAST",
            "lines": [
                {"sku": "SCREW", "qty": "20", "unit_cost": "0.10", "due_date": str(screws_due)},
                {"sku": "PLA", "qty": "5", "unit_cost": "20", "due_date": str(pla_due)},
            ],
        }
        number = ok(await admin.post("/api/purchasing/v1/purchase-orders", json=po), 201)["number"]
        ok(await admin.post(f"/api/purchasing/v1/purchase-orders/{number}/submit"))
    await portal.wait_idle()

    async with signed_in(portal, "paula") as browser:
        ran = await browser.post_form("/mrp/run", {})
        html = (await browser.get(ran.headers["location"])).text
    assert html.count("Full Production Ready - Create job now") == 2
    assert html.count("Material due ") == 1
    assert f"Material due {format_date(pla_due, 'en')}" in html
    async with signed_in(portal, "pepa") as spanish:
        html = (await spanish.get("/mrp")).text
    assert f"Material previsto para el {format_date(pla_due, 'es')}" in html
