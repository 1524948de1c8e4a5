"""Two planners on one scheduling grid in Chromium, side by side: what one saves appears in the
other's open grid within a couple of seconds, without a reload (the mrp service's
ScheduleProjectionChanged, heard by the gateway and sent down the page's live stream): the
figure, its dollar value, the total row, who saved it, and the row's version, so the other
planner's next save of that row is accepted. A planner typing in a row keeps what she types:
the row is updated around her editor, and only when the other planner changed the very cell
she is typing in is her save refused as stale, with who changed it. A due range the service
refuses is marked on its field.

The lines are one order of a customer of this module's own (LIVEGRID-1) on the demo's finished
items; the grid is filtered to it with `q=LIVEGRID`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.support.browser import LivePortal, PortalApi, assert_accessible, screenshot

ANA = ("live-ana", "live-ana-pass-1")
BEN = ("live-ben", "live-ben-pass-1")
GRID = "/schedule?q=LIVEGRID"
LIVE_MS = 10_000  # "a couple of seconds", with room for a loaded CI machine


@pytest.fixture
def api(live_portal: LivePortal) -> Iterator[PortalApi]:
    client = PortalApi(live_portal)
    yield client
    client.close()


def take_order(api: PortalApi) -> tuple[int, int]:
    """LIVEGRID-1 orders 10 brackets at 6.50 and 4 hooks at 2.25: the two line ids."""
    api.eventually(
        lambda: api.call("GET", "/api/mrp/v1/items", params={"q": "HOOK-200"})["total"],
        "mrp knows the demo items",
    )
    customer = {"code": "LIVEGRID-1", "name": "Live Grid One"}
    api.call("POST", "/api/mrp/v1/customers", expect=201, json=customer)
    order = api.call(
        "POST",
        "/api/mrp/v1/sales-orders",
        expect=201,
        json={
            "customer_code": "LIVEGRID-1",
            "due_date": "2031-04-15",
            "lines": [
                {"sku": "BRKT-100", "qty": "10", "unit_price": "6.50"},
                {"sku": "HOOK-200", "qty": "4", "unit_price": "2.25"},
            ],
        },
    )
    rows = api.call("GET", "/api/mrp/v1/schedule", params={"q": order["so_number"]})["items"]
    by_line = {row["line_no"]: row["so_line_id"] for row in rows}
    return by_line[1], by_line[2]


def projections(
    api: PortalApi, so_line_id: int, q: str = "LIVEGRID"
) -> tuple[Decimal | None, Decimal | None]:
    rows = api.call("GET", "/api/mrp/v1/schedule", params={"q": q})["items"]
    row = next(row for row in rows if row["so_line_id"] == so_line_id)
    low, high = row["low_risk_qty"], row["high_risk_qty"]
    return (None if low is None else Decimal(low), None if high is None else Decimal(high))


def cell(page: Any, so_line_id: int, column: str) -> Any:
    return page.locator(
        f'.ag-grid-scrolling-container .ag-row[row-id="{so_line_id}"] [col-id="{column}"]'
    )


def total_row(page: Any, column: str) -> Any:
    return page.locator(f'.ag-grid-pinned-bottom-rows-container .ag-row [col-id="{column}"]').first


def start_typing(page: Any, target: Any, text: str) -> Any:
    """Open the cell's editor and type in it, leaving it open; the editor's input."""
    target.click()
    editor = target.locator("input")
    expect(editor).to_be_visible()
    editor.fill(text)
    return editor


def type_and_leave(page: Any, target: Any, text: str, elsewhere: Any) -> None:
    """Type in a cell and click away from it, which saves it."""
    start_typing(page, target, text)
    elsewhere.click()
    expect(target.locator("input")).to_have_count(0)


def open_grid(open_page: Callable[..., Any], who: tuple[str, str], errors: list[str]) -> Any:
    page = open_page()
    # A refused save (the 409 below) and the favicon are failed loads, not script errors.
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, *who)
    page.goto(GRID)
    expect(page.locator("#schedule-count")).to_contain_text("2")
    # Marks this load of the page: still there afterwards means nothing reloaded it.
    page.evaluate("window.loadedOnce = true")
    return page


def test_a_planners_save_appears_in_the_other_planners_open_grid(
    open_page: Callable[..., Any], api: PortalApi, live_portal: LivePortal
) -> None:
    live_portal.add_user(*ANA, ["planner"])
    live_portal.add_user(*BEN, ["planner"])
    brackets, hooks = take_order(api)
    errors: list[str] = []
    ben = open_grid(open_page, BEN, errors)
    ana = open_grid(open_page, ANA, errors)

    # Ana types a cell and leaves it; Ben's grid shows it with its value, the total and who.
    type_and_leave(ana, cell(ana, brackets, "low_risk_qty"), "6", cell(ana, hooks, "sku"))
    expect(cell(ben, brackets, "low_risk_qty")).to_have_text("6", timeout=LIVE_MS)
    expect(cell(ben, brackets, "low_risk_value")).to_have_text("$39.00")  # 6 x 6.50
    expect(total_row(ben, "low_risk_value")).to_have_text("$39.00")
    expect(total_row(ben, "low_risk_qty")).to_have_text("6")
    expect(cell(ben, brackets, "updated_by")).to_have_text(ANA[0])
    assert ben.evaluate("window.loadedOnce") is True
    screenshot(ben, "schedule-live-update")

    # Ben saves another cell of that row: accepted, as his grid holds the row's new version.
    type_and_leave(ben, cell(ben, brackets, "high_risk_qty"), "2", cell(ben, hooks, "sku"))
    api.eventually(lambda: projections(api, brackets) == (6, 2), "ben's save accepted")
    expect(cell(ben, brackets, "high_risk_value")).to_have_text("$13.00")
    expect(total_row(ben, "high_risk_value")).to_have_text("$13.00")
    expect(cell(ana, brackets, "high_risk_qty")).to_have_text("2", timeout=LIVE_MS)
    expect(cell(ana, brackets, "updated_by")).to_have_text(BEN[0])
    expect(ben.locator("#toast")).not_to_contain_text("changed")

    # Ben is typing in the row's High Risk cell when Ana changes its Low Risk cell: the row is
    # updated around his editor, what he types stays, and his save goes through.
    editor = start_typing(ben, cell(ben, brackets, "high_risk_qty"), "1")
    type_and_leave(ana, cell(ana, brackets, "low_risk_qty"), "8", cell(ana, hooks, "sku"))
    expect(cell(ben, brackets, "low_risk_qty")).to_have_text("8", timeout=LIVE_MS)
    expect(cell(ben, brackets, "low_risk_value")).to_have_text("$52.00")
    expect(editor).to_have_value("1")
    ben.keyboard.press("Enter")
    api.eventually(lambda: projections(api, brackets) == (8, 1), "ben's save around ana's")
    expect(cell(ana, brackets, "high_risk_qty")).to_have_text("1", timeout=LIVE_MS)

    # Ben is typing in the very cell Ana changes: his typing stays; his save is refused as
    # stale, he is told who changed it, and the cell shows her value.
    editor = start_typing(ben, cell(ben, hooks, "low_risk_qty"), "3")
    type_and_leave(ana, cell(ana, hooks, "low_risk_qty"), "2.5", cell(ana, brackets, "sku"))
    api.eventually(lambda: projections(api, hooks)[0] == Decimal("2.5"), "ana's hooks saved")
    # A later save of Ana's reaches Ben's grid: by then it has read the hooks line too.
    type_and_leave(ana, cell(ana, brackets, "low_risk_qty"), "9", cell(ana, hooks, "sku"))
    expect(cell(ben, brackets, "low_risk_qty")).to_have_text("9", timeout=LIVE_MS)
    expect(editor).to_have_value("3")
    ben.keyboard.press("Enter")
    expect(ben.locator("#toast")).to_contain_text(f"{ANA[0]} changed")
    expect(cell(ben, hooks, "low_risk_qty")).to_have_text("2.5")
    expect(cell(ben, hooks, "low_risk_value")).to_have_text("$5.63")  # 2.5 x 2.25, half up
    assert projections(api, hooks) == (Decimal("2.5"), None)
    assert ben.evaluate("window.loadedOnce") is True
    assert ana.evaluate("window.loadedOnce") is True

    # A due range the service refuses is marked on its field, and no lines are read with it.
    ben.goto(f"{GRID}&due_from=2031-05-01&due_to=2031-04-01")
    due_to = ben.locator("#f-due_to")
    expect(due_to).to_have_attribute("aria-invalid", "true")
    expect(due_to).to_have_attribute("aria-describedby", "e-due_to")
    expect(ben.locator("#e-due_to")).to_have_text("The last day comes before the first day.")
    expect(ben.locator("#f-due_from")).not_to_have_attribute("aria-invalid", "true")
    expect(ben.locator(".ag-grid-scrolling-container .ag-row")).to_have_count(0)
    expect(ben.get_by_text("until the filters marked above are corrected")).to_be_visible()
    assert_accessible(ben)
    screenshot(ben, "schedule-filter-refused")
    assert not errors, errors


def test_a_save_queued_behind_one_refused_as_stale_is_not_sent_over_the_other_planners_figure(
    open_page: Callable[..., Any], api: PortalApi, live_portal: LivePortal
) -> None:
    """Cleo types Low Risk and then High Risk of one row before the first save is answered (its
    answer is held here; her live stream is cut, so the other save has not reached her grid).
    Meanwhile High Risk was saved by someone else. Her first save is refused as stale; the
    second, queued behind it, was typed over the figure the other planner changed, so it is not
    sent (sent with the row's new version it would overwrite that figure unseen): she is told,
    and the row shows the figures as they are now."""
    cleo = ("queue-cleo", "queue-cleo-pass-1")
    live_portal.add_user(*cleo, ["planner"])
    api.call("POST", "/api/mrp/v1/customers", expect=201, json={"code": "LIVEQ-1", "name": "Q"})
    order = api.call(
        "POST",
        "/api/mrp/v1/sales-orders",
        expect=201,
        json={
            "customer_code": "LIVEQ-1",
            "due_date": "2031-04-15",
            "lines": [{"sku": "BRKT-100", "qty": "10", "unit_price": "6.50"}],
        },
    )
    [row] = api.call("GET", "/api/mrp/v1/schedule", params={"q": order["so_number"]})["items"]
    line = row["so_line_id"]

    page = open_page()
    page.route("**/ui/live**", lambda route: route.abort())
    held: list[Any] = []
    sent: list[str] = []

    def hold_the_first_save(route: Any) -> None:
        if route.request.method != "PUT":
            route.continue_()
            return
        sent.append(route.request.url)
        if not held:
            held.append(route)  # answered below, once the second save is queued behind it
        else:
            route.continue_()

    page.route("**/api/mrp/v1/schedule/lines/**", hold_the_first_save)
    sign_in(page, *cleo)
    page.goto("/schedule?q=LIVEQ")
    expect(page.locator("#schedule-count")).to_contain_text("1")

    api.call(
        "PUT",
        f"/api/mrp/v1/schedule/lines/{line}/high_risk_qty",
        json={"value": "5", "version": row["version"]},
    )
    elsewhere = cell(page, line, "sku")
    type_and_leave(page, cell(page, line, "low_risk_qty"), "4", elsewhere)
    type_and_leave(page, cell(page, line, "high_risk_qty"), "7", elsewhere)
    assert len(held) == 1 and len(sent) == 1
    held[0].continue_()

    expect(page.locator("#toast")).to_contain_text("Not saved", timeout=LIVE_MS)
    expect(cell(page, line, "high_risk_qty")).to_have_text("5")
    expect(cell(page, line, "high_risk_value")).to_have_text("$32.50")
    expect(cell(page, line, "low_risk_qty")).to_have_text("")
    assert projections(api, line, "LIVEQ") == (None, Decimal(5))
    assert len(sent) == 1, sent
