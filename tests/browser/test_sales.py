"""Sales in Chromium, as a plant takes an order and gets paid for it: a planner adds a customer,
types an order of two lines (the demo's bracket and hook), and finds it in the sales orders
list; an accountant opens it, is refused a payment above the balance beside the amount, then
records part of it and sees the balance drop.

What the pages saved is read back from the mrp API (PortalApi, its own admin session), so a page
that only looked right would fail here. The users and the customer are this module's own: the
portal is the session's, shared with the other browser tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.support.browser import LivePortal, PortalApi, assert_accessible, screenshot

PLANNER, ACCOUNTANT, PASSWORD = "sales-pilar", "sales-amparo", "sales-pass-123"
CUSTOMER = "ROCKET-UI"
API = "/api/mrp/v1"


@pytest.fixture
def api(live_portal: LivePortal) -> Iterator[PortalApi]:
    live_portal.add_user(PLANNER, PASSWORD, ["planner"])
    live_portal.add_user(ACCOUNTANT, PASSWORD, ["accountant"])
    client = PortalApi(live_portal)
    yield client
    client.close()


def test_a_planner_takes_an_order_and_an_accountant_records_its_payment(
    open_page: Callable[..., Any], api: PortalApi
) -> None:
    planner = open_page()
    sign_in(planner, PLANNER, PASSWORD)

    # A new customer, priority 2.
    planner.goto("/customers")
    expect(planner.locator("h1")).to_have_text("Customers")
    planner.get_by_label("Code", exact=True).fill(CUSTOMER)
    planner.get_by_label("Name", exact=True).fill("Rocket Toys")
    planner.get_by_label("Priority").select_option("2")
    planner.get_by_role("button", name="Add customer").click()
    expect(planner.get_by_role("status")).to_contain_text(f"Customer {CUSTOMER} was added")
    assert api.call("GET", f"{API}/customers/{CUSTOMER}")["priority"] == 2

    # An order of two lines, with a contractual penalty.
    planner.get_by_role("link", name="New sales order").click()
    expect(planner.get_by_label("Customer", exact=True)).to_have_value(CUSTOMER)
    planner.get_by_label("Business unit").fill("TOYS")
    planner.get_by_label("The contract carries a penalty for shipping late").check()
    planner.get_by_label("SKU of line 1").fill("BRKT-100")
    planner.get_by_label("Quantity of line 1").fill("40")
    planner.get_by_label("Unit price of line 1").fill("6.50")
    planner.get_by_label("Due-to-ship date of line 1").fill("2026-12-15")
    planner.get_by_label("SKU of line 2").fill("HOOK-200")
    planner.get_by_label("Quantity of line 2").fill("100")
    planner.get_by_label("Unit price of line 2").fill("1.25")
    assert_accessible(planner)
    planner.get_by_role("button", name="Create sales order").click()
    expect(planner.get_by_role("status")).to_contain_text("The sales order was created")
    number = planner.locator("h1").inner_text().split()[2]
    # 40 x 6.50 + 100 x 1.25 = 260.00 + 125.00 = 385.00
    expect(planner.locator('[data-figure="value"] strong')).to_have_text("$385.00")
    expect(planner.locator("tr[data-line]")).to_have_count(2)
    expect(planner.get_by_role("heading", name="Record a payment")).to_have_count(0)
    order = api.call("GET", f"{API}/sales-orders/{number}")
    assert (order["customer_code"], order["contractual_penalty"], order["value"]) == (
        CUSTOMER,
        True,
        "385.0000",
    )

    # Listed among the sales orders, found by its customer.
    planner.get_by_role("link", name="Back to the sales orders").click()
    planner.get_by_label("Customer code").fill(CUSTOMER)
    planner.get_by_role("button", name="Filter").click()
    row = planner.locator("#table-sales-orders tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(number)
    expect(row).to_contain_text("Penalty")
    assert_accessible(planner)

    # The accountant: more than the balance is refused beside the amount, nothing recorded.
    accountant = open_page()
    sign_in(accountant, ACCOUNTANT, PASSWORD)
    accountant.goto(f"/sales-orders/{number}")
    expect(accountant.get_by_role("button", name="Cancel this order")).to_have_count(0)
    accountant.get_by_label("Amount received").fill("385.01")
    accountant.get_by_role("button", name="Record payment").click()
    expect(accountant.locator("#e-amount")).to_contain_text("open balance")
    assert api.call("GET", f"{API}/sales-orders/{number}/payments")["items"] == []

    accountant.get_by_label("Amount received").fill("150")
    accountant.get_by_label("Reference").fill("Wire 7731")
    accountant.get_by_role("button", name="Record payment").click()
    expect(accountant.get_by_role("status")).to_contain_text("The payment was recorded")
    expect(accountant.locator('[data-figure="paid"] strong')).to_have_text("$150.00")
    expect(accountant.locator('[data-figure="balance"] strong')).to_have_text("$235.00")
    expect(accountant.locator("#payments-table tbody tr")).to_contain_text("Wire 7731")
    screenshot(accountant, "sales-order-paid")
    assert_accessible(accountant)
    payments = api.call("GET", f"{API}/sales-orders/{number}/payments")
    assert [(p["amount"], p["recorded_by"]) for p in payments["items"]] == [
        ("150.0000", ACCOUNTANT)
    ]
    assert payments["balance"] == "235.0000"
