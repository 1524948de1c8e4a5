"""A reviewer's findings on the MRP and scheduling (issue 9), each as the plant would meet it:
inputs that gave a 500 or a wrong answer before the fix beside each test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from services.embedded import EmbeddedPortal
from services.mrp.planning.domain import (
    Capacity,
    Component,
    Item,
    Line,
    OrderLine,
    PlanInput,
    Status,
    Stock,
    bom_component,
    plan,
)
from tests.support.ui import ADMIN_PASSWORD, PASSWORD, add_user, ui_portal
from tests.unit.test_mrp_actions import LINES, api_as, ok, set_up_plant
from tests.unit.test_sales_payments import running_sales
from tests.unit.test_schedule import GRID, refused, schedule_plant

D = Decimal
MONDAY = date(2026, 3, 2)


def order(qty: str, sku: str = "TAG") -> OrderLine:
    due = date(2026, 5, 1)
    return OrderLine("SO-2026-00001", 1, sku, "ACME", "Acme", 1, None, due, D(qty), D(1))


# --- the engine -------------------------------------------------------------------------------


def test_three_pieces_made_from_five_kilograms_can_all_be_made_from_five_kilograms() -> None:
    """A BOM for 3 pieces takes 5 kg of resin: 5 kg in stock make the 3 ordered. The quantity
    per piece (5/3 kg) has no exact decimal, and 3 x 1.6666...7 came to a hair over 5 kg:
    the line said Partial Production Ready - [RESIN], 2 makeable, 1E-27 kg to buy."""
    result = plan(
        PlanInput(
            MONDAY,
            [order("3")],
            {"TAG": Item("TAG", "EA", "make"), "RESIN": Item("RESIN", "kg")},
            {"RESIN": Stock(D(5))},
            {"TAG": [bom_component("RESIN", D(5), D(3), D(0))]},
        )
    ).lines[0]
    assert (result.status, result.qty_can_make, result.to_buy) == (
        Status.FULL_PRODUCTION,
        D(3),
        {},
    )
    assert [(c.sku, c.required, c.allocated, c.short) for c in result.components] == [
        ("RESIN", D(5), D(5), D(0))
    ]


def test_a_need_far_beyond_the_horizon_has_no_date_instead_of_stopping_the_run() -> None:
    """Ten billion tags on a line making a hundredth of a tag a shift: 10^12 shifts, far past
    the year the dates look ahead. The day-count overflowed Python's dates (a 500 on Run MRP
    for the whole plant)."""
    result = plan(
        PlanInput(
            MONDAY,
            [order("10000000000")],
            {"TAG": Item("TAG", "EA", "make"), "PAPER": Item("PAPER", "EA")},
            {"PAPER": Stock(D("20000000000"))},
            {"TAG": [Component("PAPER", D(1))]},
            lines=[Line("L1")],
            capacities=[Capacity("L1", D("0.01"), date(2026, 1, 1))],
        )
    ).lines[0]
    assert (result.line_code, result.earliest_date) == ("L1", None)
    assert result.shifts_required == D("1000000000000")


# --- actions on the whole portal ---------------------------------------------------------------


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[EmbeddedPortal]:
    async with ui_portal(tmp_path, handler_backoff_seconds=0) as running:
        add_user(running, "pedro", ["planner"])
        yield running


async def test_purchases_for_a_line_without_a_due_date_are_asked_for_as_soon_as_possible(
    portal: EmbeddedPortal,
) -> None:
    """An order taken without a due date is short of screws: its purchases go to purchasing
    with no need-by date (as soon as the vendor can). The line's shortage became an AskedLine
    whose need_by had to be a date: a 500 before purchasing was asked."""
    await set_up_plant(portal)
    async with api_as(portal, "admin", ADMIN_PASSWORD) as admin:
        undated = {"customer_code": "ACME", "lines": [{"sku": "BRKT", "qty": "5"}]}
        undated["lines"][0]["unit_price"] = "12"
        so = ok(await admin.post("/api/mrp/v1/sales-orders", json=undated), 201)["so_number"]
    await portal.wait_idle()
    async with api_as(portal, "pedro", PASSWORD) as planner:
        ok(await planner.post("/api/mrp/v1/mrp/runs"), 201)
        line = ok(await planner.get(f"{LINES}/{so}/1"))
        assert line["due_date"] is None and line["qty_to_buy"]["SCREW"] == "10.0000"
        bought = ok(await planner.post(f"{LINES}/{so}/1/purchases"), 201)
    assert [(a["sku"], a["need_by"]) for a in bought["asked"]] == [
        ("PLA", None),
        ("SCREW", None),
    ]
    assert len(bought["order_numbers"]) == 1  # the screws at FAST


# --- odd inputs on the mrp service alone --------------------------------------------------------


async def test_a_due_month_in_the_year_zero_is_refused_naming_it(tmp_path: Path) -> None:
    """`due_month=0000-01` matched the pattern but is no date: a 500."""
    async with schedule_plant(tmp_path) as plant, plant.client("viewer") as api:
        refused(await api.get(GRID, params={"due_month": "0000-01"}), 422, "query.due_month")
        refused(
            await api.get(GRID + ".xlsx", params={"due_month": "0000-12"}), 422, "query.due_month"
        )


async def test_a_payment_dated_at_the_dawn_of_time_is_refused_not_a_500(tmp_path: Path) -> None:
    """Received 1 January of the year 1 at +05:00 is before the first UTC moment: storing it
    overflowed (a 500)."""
    async with running_sales(tmp_path) as sales:
        number = await sales.take_order()
        before = sales.row_counts()
        answer = await sales.pay(number, "10", received_at="0001-01-01T00:00:00+05:00")
        assert answer.status_code == 422, answer.text
        assert answer.json()["field"] == "received_at"
        assert sales.row_counts() == before
