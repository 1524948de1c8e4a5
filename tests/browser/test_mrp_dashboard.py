"""The MRP dashboard in Chromium: a planner runs the MRP, filters the dashboard to her customer,
reads a component's tooltip (what the earlier line of the same order took of the resin, fetched
when it opens), creates a job from a Full Production Ready line, and sees it listed in the row
and among the production orders; then projects both lines in the scheduling grid, and finds
the two cells saved after a reload (the issue's whole browser story in one session).

Set up through the APIs as an admin, with names of this module's own (MRPB-...): a resin in
stock (100 kg), a clip made of 2 kg of it (its BOM released), a customer and a sales order of
two lines, 10 clips due in 20 days and 5 clips due in 30 days: both Full Production Ready, the
second after the first took 20 kg.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from shared.events.envelope import utc_now
from tests.browser.conftest import sign_in
from tests.browser.test_schedule_grid import cell, type_in
from tests.support.browser import LivePortal, PortalApi, assert_accessible, screenshot

PLANNER = ("mrpb-bea", "mrpb-bea-pass-1")
RESIN, CLIP, CUSTOMER = "MRPB-RESIN", "MRPB-CLIP", "MRPB-CUST"
ORDER_CODE = re.compile(r"PRD-\d{4}-\d{5}")


@pytest.fixture
def api(live_portal: LivePortal) -> Iterator[PortalApi]:
    client = PortalApi(live_portal)
    yield client
    client.close()


def set_up(api: PortalApi) -> str:
    """The resin, the clip and its BOM, the customer and the order; the SO number."""
    items = [
        {"sku": RESIN, "name": "Resin for the MRP test", "uom": "kg", "item_type": "raw"},
        {
            "sku": CLIP,
            "name": "Clip for the MRP test",
            "uom": "ea",
            "item_type": "finished",
            "make_or_buy": "make",
        },
    ]
    for item in items:
        api.call("POST", "/api/inventory/v1/items", expect=201, json=item)
    found = {"sku": RESIN, "location": "RAW", "qty_delta": "100", "reason_code": "found"}
    api.call("POST", "/api/inventory/v1/stock/adjustments", expect=201, json=found)
    api.eventually(
        lambda: api.client.get(f"/api/production/v1/items/{CLIP}").status_code == 200,
        "production knows the clip",
    )
    bom = api.call(
        "POST",
        "/api/production/v1/boms",
        expect=201,
        json={"sku": CLIP, "lines": [{"component_sku": RESIN, "qty_per": "2"}]},
    )
    api.call("POST", f"/api/production/v1/boms/{CLIP}/versions/{bom['version']}/release")
    api.eventually(
        lambda: api.call("GET", "/api/mrp/v1/items", params={"q": CLIP})["total"],
        "mrp knows the clip",
    )
    customer = {"code": CUSTOMER, "name": "MRP browser customer"}
    api.call("POST", "/api/mrp/v1/customers", expect=201, json=customer)
    today = utc_now().date()
    order = api.call(
        "POST",
        "/api/mrp/v1/sales-orders",
        expect=201,
        json={
            "customer_code": CUSTOMER,
            "lines": [
                {
                    "sku": CLIP,
                    "qty": "10",
                    "unit_price": "4.50",
                    "due_date": str(today + timedelta(days=20)),
                },
                {
                    "sku": CLIP,
                    "qty": "5",
                    "unit_price": "4.50",
                    "due_date": str(today + timedelta(days=30)),
                },
            ],
        },
    )
    number: str = order["so_number"]

    def planned() -> bool:
        """mrp has heard the stock and the BOM: a run finds the first line ready to make."""
        api.call("POST", "/api/mrp/v1/mrp/runs", expect=201)
        line = api.call("GET", f"/api/mrp/v1/mrp/lines/{number}/1")
        return bool(line["status"] == "full_production")

    api.eventually(planned, "the first line is Full Production Ready", within=60)
    return number


def test_a_planner_filters_reads_a_tooltip_and_creates_a_job(
    open_page: Callable[..., Any], api: PortalApi, live_portal: LivePortal
) -> None:
    so = set_up(api)
    live_portal.add_user(*PLANNER, ["planner"])
    page = open_page()
    sign_in(page, *PLANNER)

    page.goto("/mrp")
    expect(page.locator("h1")).to_contain_text("MRP")
    page.get_by_role("button", name="Run MRP now").click()
    expect(page.get_by_role("status").first).to_contain_text("The MRP has run")
    expect(page.locator("#last-run")).to_contain_text("by mrpb-bea")

    # Filter to her customer: only her two lines, both Full Production Ready.
    page.get_by_label("Customer", exact=True).select_option(CUSTOMER)
    page.get_by_role("button", name="Show").click()
    rows = page.locator("#mrp-lines tbody tr")
    expect(rows).to_have_count(2)
    first, second = rows.nth(0), rows.nth(1)
    expect(first).to_contain_text(f"{so} / 1")
    expect(first.locator(".status")).to_contain_text("Full Production Ready - Create job now")
    expect(second.locator(".status")).to_contain_text("Full Production Ready - Create job now")
    chip = page.locator("#status-chips a[data-status='full_production']")
    expect(chip).to_contain_text("2")
    assert_accessible(page)

    # The resin of the second line: 10 kg required, and the 20 kg the first line took.
    resin = second.locator(f".component[data-sku='{RESIN}']")
    resin.hover()
    tooltip = resin.locator(".tip")
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text("Required")
    expect(tooltip.locator(".tip-figures")).to_contain_text("10")
    expect(tooltip.locator(".taken")).to_contain_text("By sales order (total 20):")
    expect(tooltip.locator(".taken-line")).to_have_text(f"{so}/1 · MRP browser customer")
    screenshot(page, "mrp-dashboard-tooltip")

    # Create the job for the first line: its cell says which, and links to it.
    first.get_by_role("button", name="Create job").click()
    done = first.locator(".line-actions .alert")
    expect(done).to_contain_text("created for 10")
    code_text = done.inner_text()
    found = ORDER_CODE.search(code_text)
    assert found, code_text
    code = found.group(0)
    expect(first.locator(".line-actions ul.done")).to_contain_text(code)
    expect(first.get_by_role("button", name="Create job")).to_have_count(0)
    assert_accessible(page)

    # The job is listed among the production orders, made to the sales-order line.
    page.goto(f"/production-orders?sku={CLIP}")
    expect(page.get_by_role("link", name=code, exact=True)).to_be_visible()
    order = api.call("GET", f"/api/production/v1/production-orders/{code}")
    assert (order["so_number"], order["so_line_no"], order["qty_ordered"]) == (so, 1, "10.0000")

    # The scheduling grid: both lines of the order, two cells typed, each saved on leaving it.
    page.goto(f"/schedule?q={so}")
    lines = api.call("GET", "/api/mrp/v1/schedule", params={"q": so})["items"]
    first_id, second_id = (row["so_line_id"] for row in sorted(lines, key=lambda r: r["line_no"]))
    type_in(page, cell(page, first_id, "low_risk_qty"), "7")
    page.keyboard.press("Enter")
    type_in(page, cell(page, second_id, "high_risk_qty"), "3")
    page.keyboard.press("Enter")

    def both_saved() -> bool:
        rows = api.call("GET", "/api/mrp/v1/schedule", params={"q": so})["items"]
        saved = {row["so_line_id"]: (row["low_risk_qty"], row["high_risk_qty"]) for row in rows}
        return saved == {first_id: ("7.0000", None), second_id: (None, "3.0000")}

    api.eventually(both_saved, "both cells saved")
    page.reload()
    expect(cell(page, first_id, "low_risk_qty")).to_have_text("7")
    expect(cell(page, second_id, "high_risk_qty")).to_have_text("3")
    expect(cell(page, first_id, "updated_by")).to_have_text(PLANNER[0])
