"""The planners' scheduling grid in Chromium (AG Grid under the pages' strict CSP): a planner
types projections in two cells, each saved as she leaves it, and finds both after a reload; the
total row follows a filter typed in the grid; a second planner, typing in the cell she saves
(his grid shows other planners' saves as they happen, test_schedule_live.py, but keeps what he
is typing), is told who changed the line and sees the value as it is now.

The lines are two sales orders of customers of this module's own (SCHED-ONE, SCHED-TWO) on
the demo's finished items; the grid is filtered to them with `q=SCHED`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.support.browser import LivePortal, PortalApi, assert_accessible, screenshot

PAULA = ("sched-paula", "sched-paula-pass-1")
VERA = ("sched-vera", "sched-vera-pass-1")  # a viewer: reads the grid, edits nothing
MARCO = ("sched-marco", "sched-marco-pass-1")
GRID = "/schedule?q=SCHED"


@pytest.fixture
def api(live_portal: LivePortal) -> Iterator[PortalApi]:
    client = PortalApi(live_portal)
    yield client
    client.close()


def take_orders(api: PortalApi) -> dict[str, int]:
    """SCHED-ONE orders 10 brackets at 6.50 and 4 hooks at 2.25; SCHED-TWO 7 brackets at 6.50.
    Returns the line ids by 'customer/line'."""
    api.eventually(
        lambda: api.call("GET", "/api/mrp/v1/items", params={"q": "HOOK-200"})["total"],
        "mrp knows the demo items",
    )
    lines: dict[str, int] = {}
    orders = {
        "SCHED-ONE": [("BRKT-100", "10", "6.50"), ("HOOK-200", "4", "2.25")],
        "SCHED-TWO": [("BRKT-100", "7", "6.50")],
    }
    for code, wanted in orders.items():
        customer = {"code": code, "name": f"Schedule {code[6:].title()}"}
        api.call("POST", "/api/mrp/v1/customers", expect=201, json=customer)
        order = api.call(
            "POST",
            "/api/mrp/v1/sales-orders",
            expect=201,
            json={
                "customer_code": code,
                "due_date": "2031-03-12",
                "lines": [
                    {"sku": sku, "qty": qty, "unit_price": price} for sku, qty, price in wanted
                ],
            },
        )
        grid = api.call("GET", "/api/mrp/v1/schedule", params={"q": order["so_number"]})
        for row in grid["items"]:
            lines[f"{code}/{row['line_no']}"] = row["so_line_id"]
    return lines


def projections(api: PortalApi, so_line_id: int) -> tuple[Decimal | None, Decimal | None]:
    rows = api.call("GET", "/api/mrp/v1/schedule", params={"q": "SCHED", "limit": 100})["items"]
    row = next(row for row in rows if row["so_line_id"] == so_line_id)
    low, high = row["low_risk_qty"], row["high_risk_qty"]
    return (None if low is None else Decimal(low), None if high is None else Decimal(high))


def cell(page: Any, so_line_id: int | str, column: str) -> Any:
    return page.locator(
        f'.ag-grid-scrolling-container .ag-row[row-id="{so_line_id}"] [col-id="{column}"]'
    )


def type_in(page: Any, target: Any, text: str) -> None:
    target.click()
    editor = target.locator("input")
    expect(editor).to_be_visible()
    editor.fill(text)


def total_row(page: Any, column: str) -> Any:
    return page.locator(f'.ag-grid-pinned-bottom-rows-container .ag-row [col-id="{column}"]').first


def test_planners_project_lines_in_the_grid_and_never_overwrite_each_other(
    open_page: Callable[..., Any], api: PortalApi, live_portal: LivePortal
) -> None:
    live_portal.add_user(*PAULA, ["planner"])
    live_portal.add_user(*MARCO, ["planner"])
    lines = take_orders(api)
    one, hook, two = lines["SCHED-ONE/1"], lines["SCHED-ONE/2"], lines["SCHED-TWO/1"]
    errors: list[str] = []

    # Marco opens the grid first and starts typing in the cell Paula is about to save.
    marco = open_page()
    sign_in(marco, *MARCO)
    marco.goto(GRID)
    expect(cell(marco, one, "low_risk_qty")).to_be_visible()
    type_in(marco, cell(marco, one, "low_risk_qty"), "9")

    paula = open_page()
    paula.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    paula.set_viewport_size({"width": 1920, "height": 1080})  # the planner's wide desktop
    sign_in(paula, *PAULA)
    paula.goto(GRID)
    expect(paula.locator("#card-total")).to_be_visible()
    expect(paula.locator("#schedule-count")).to_contain_text("3")

    # Two cells, each saved as she leaves it: Tab out of the first, click away from the second.
    type_in(paula, cell(paula, one, "low_risk_qty"), "6")
    # The money column follows the typed quantity at once: 6 x 6.50.
    paula.keyboard.press("Tab")
    expect(cell(paula, one, "low_risk_value")).to_have_text("$39.00")
    api.eventually(lambda: projections(api, one)[0] == Decimal(6), "the first cell saved")
    paula.keyboard.press("Escape")
    type_in(paula, cell(paula, hook, "high_risk_qty"), "2.5")
    cell(paula, two, "sku").click()
    api.eventually(lambda: projections(api, hook)[1] == Decimal("2.5"), "the second cell saved")
    expect(cell(paula, hook, "high_risk_value")).to_have_text("$5.63")  # 2.5 x 2.25, half up
    expect(total_row(paula, "low_risk_value")).to_have_text("$39.00")

    paula.reload()
    expect(cell(paula, one, "low_risk_qty")).to_have_text("6")
    expect(cell(paula, hook, "high_risk_qty")).to_have_text("2.5")
    expect(cell(paula, one, "updated_by")).to_have_text(PAULA[0])
    screenshot(paula, "schedule-grid-saved")

    # The history of the line: her save, newest first.
    cell(paula, one, "history").locator("button").click()
    history = paula.locator("#schedule-history")
    expect(history).to_be_visible()
    expect(history.locator("tbody tr")).to_have_count(1)
    expect(history.locator("tbody tr").first).to_contain_text(PAULA[0])

    # The total row follows a filter typed in the grid: all three lines, then SCHED-TWO's.
    expect(total_row(paula, "ordered_value")).to_have_text("$119.50")  # 65 + 9 + 45.50
    customer_filter = paula.locator('.ag-floating-filter[aria-colindex="3"] input').first
    customer_filter.fill("Two")
    expect(total_row(paula, "ordered_value")).to_have_text("$45.50")
    expect(total_row(paula, "so_number")).to_contain_text("1")
    customer_filter.fill("")
    expect(total_row(paula, "ordered_value")).to_have_text("$119.50")
    assert_accessible(paula)

    # Marco typed from version 0 of the line: his save is refused and he is told who changed
    # it; the cell shows Paula's value.
    expect(cell(marco, one, "low_risk_qty").locator("input")).to_have_value("9")
    marco.keyboard.press("Enter")
    expect(marco.locator("#toast")).to_contain_text(f"{PAULA[0]} changed")
    expect(cell(marco, one, "low_risk_qty")).to_have_text("6")
    assert projections(api, one) == (Decimal(6), None)
    screenshot(marco, "schedule-grid-stale")
    # Now holding the current version, his next save goes through.
    type_in(marco, cell(marco, one, "low_risk_qty"), "8")
    marco.keyboard.press("Enter")
    api.eventually(lambda: projections(api, one)[0] == Decimal(8), "marco's second save")
    assert not [e for e in errors if "Content Security Policy" in e], errors

    # A viewer sees the same lines, and a projection cell opens no editor for her.
    live_portal.add_user(*VERA, ["viewer"])
    vera = open_page()
    sign_in(vera, *VERA)
    vera.goto(GRID)
    projection = cell(vera, one, "low_risk_qty")
    expect(projection).to_have_text("8")
    projection.click()
    expect(projection.locator("input")).to_have_count(0)
