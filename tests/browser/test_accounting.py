"""The books in Chromium: an accountant filters the journal to the receipts and opens one (its
lines, its purchase order, its event); posts a manual entry watching the totals as they type
(0.10 + 0.20 against 0.30 balances: the page adds in integers, not floats) and cannot post it
unbalanced; an admin closes and reopens a month; a webhook subscription to a local receiver
gets the next entry and its delivery log shows the attempt; the trial balance and the
reconciliation in Spanish, their totals equal.

The portal is the session's `portal run` with its demo data (receipts of purchase orders
posted by accounting); what these tests add (a manual entry, a subscription) is their own.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN_PASSWORD, sign_in
from tests.support.browser import LivePortal, PortalApi, assert_accessible, screenshot

ACCOUNTANT, PASSWORD = "amparo", "amparo-pass-123"


@pytest.fixture(scope="module")
def accountant(live_portal: LivePortal) -> str:
    live_portal.add_user(ACCOUNTANT, PASSWORD, ["accountant"])
    return ACCOUNTANT


@pytest.fixture
def api(live_portal: LivePortal) -> Iterator[PortalApi]:
    client = PortalApi(live_portal)
    yield client
    client.close()


class Receiver(http.server.BaseHTTPRequestHandler):
    """A QuickBooks stand-in: answers 200 to every delivery and keeps its webhook-id."""

    received: list[str] = []

    def do_POST(self) -> None:  # the name http.server calls
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        self.received.append(self.headers.get("webhook-id") or "")
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/quickbooks"
    finally:
        server.shutdown()
        server.server_close()


def test_an_accountant_filters_the_journal_to_receipts_and_opens_one(
    open_page: Callable[..., Any], accountant: str
) -> None:
    page = open_page()
    sign_in(page, accountant, PASSWORD)
    page.goto("/journal")
    expect(page.locator("h1")).to_have_text("Journal entries")
    page.get_by_label("Type", exact=True).select_option("material_receipt")
    rows = page.locator("#table-journal tbody tr")
    expect(rows.filter(has_not_text="Material receipt")).to_have_count(0)  # htmx swapped
    expect(rows.first).to_contain_text("Material receipt")
    assert "entry_type=material_receipt" in page.url
    screenshot(page, "accounting-journal-receipts")
    assert_accessible(page)

    first = rows.first.locator("td").first.get_by_role("link")
    number = first.inner_text()
    first.click()
    expect(page.locator("h1")).to_have_text(f"Journal entry {number}")
    lines = page.locator("#entry-lines tbody tr")
    expect(lines).to_have_count(2)  # Dr raw materials / Cr accounts payable
    expect(lines.nth(0)).to_contain_text("1200")
    expect(lines.nth(1)).to_contain_text("2000")
    expect(page.locator("#entry-event")).to_contain_text("MaterialReceived")
    expect(page.get_by_role("button", name="Reverse")).to_be_visible()
    screenshot(page, "accounting-entry")
    assert_accessible(page)

    document = page.locator("#entry-document").get_by_role("link")
    po = document.inner_text()
    document.click()
    expect(page.locator("h1")).to_contain_text(po)


def test_an_accountant_posts_a_balanced_manual_entry_watching_the_totals(
    open_page: Callable[..., Any], accountant: str, api: PortalApi
) -> None:
    page = open_page()
    sign_in(page, accountant, PASSWORD)
    page.goto("/journal")
    page.get_by_role("link", name="New manual entry").click()
    expect(page.locator("h1")).to_have_text("New manual entry")
    page.get_by_label("Memo", exact=True).fill("Scrap found at the stock count")
    post = page.get_by_role("button", name="Post entry")
    debit, credit = page.locator("#total-debit"), page.locator("#total-credit")
    difference = page.locator("#total-difference")
    expect(debit).to_have_text("0.00")
    expect(post).to_be_disabled()

    rows = page.locator("#manual-entry tbody tr")
    rows.nth(0).get_by_label("Account").select_option("5500")
    rows.nth(0).get_by_label("Debit").fill("0.1")
    rows.nth(1).get_by_label("Account").select_option("5400")
    rows.nth(1).get_by_label("Debit").fill("0.2")
    expect(debit).to_have_text("0.30")  # 0.1 + 0.2 in floating point is 0.30000000000000004
    expect(difference).to_have_text("0.30")
    expect(post).to_be_disabled()

    page.get_by_role("button", name="Add line").click()
    expect(rows).to_have_count(3)
    rows.nth(2).get_by_label("Account").select_option("1000")
    rows.nth(2).get_by_label("Credit").fill("0.31")
    expect(credit).to_have_text("0.31")
    expect(difference).to_have_text("-0.01")
    expect(post).to_be_disabled()  # unbalanced: it cannot be posted
    rows.nth(2).get_by_label("Credit").fill("0,3")
    expect(page.get_by_text("An amount is not a number")).to_be_visible()
    expect(post).to_be_disabled()
    rows.nth(2).get_by_label("Credit").fill("0.3")
    expect(difference).to_have_text("0.00")
    expect(page.locator("#balance-state").get_by_text("Balanced")).to_be_visible()
    expect(post).to_be_enabled()

    # A spare line added and removed changes nothing.
    page.get_by_role("button", name="Add line").click()
    expect(rows).to_have_count(4)
    rows.nth(3).get_by_role("button", name="Remove").click()
    expect(rows).to_have_count(3)
    expect(post).to_be_enabled()
    screenshot(page, "accounting-manual-entry")
    assert_accessible(page)

    post.click()
    expect(page.get_by_role("status").first).to_contain_text("was posted")
    number = page.locator("h1").inner_text().removeprefix("Journal entry ")
    entry = api.call("GET", f"/api/accounting/v1/journal-entries/{number}")
    assert entry["entry_type"] == "manual"
    assert [(line["account_code"], line["debit"], line["credit"]) for line in entry["lines"]] == [
        ("5500", "0.1000", "0.0000"),
        ("5400", "0.2000", "0.0000"),
        ("1000", "0.0000", "0.3000"),
    ]


def test_an_admin_closes_and_reopens_a_period(open_page: Callable[..., Any]) -> None:
    page = open_page()
    sign_in(page, "admin", ADMIN_PASSWORD)
    page.goto("/accounting/periods?year=2024")
    expect(page.locator("h1")).to_have_text("Accounting periods 2024")
    march = page.locator('tr[data-period="2024-03"]')
    expect(march).to_contain_text("Open")
    page.once("dialog", lambda dialog: dialog.accept())  # "Close March 2024? ..."
    march.get_by_role("button", name="Close").click()
    expect(page.get_by_role("status").first).to_have_text("Period 2024-03 is closed.")
    expect(march).to_contain_text("Closed")
    screenshot(page, "accounting-periods-closed")
    assert_accessible(page)
    march.get_by_role("button", name="Reopen").click()
    expect(page.get_by_role("status").first).to_have_text("Period 2024-03 is open again.")
    expect(march).to_contain_text("Open")


def test_a_webhook_subscription_gets_the_next_entry_and_its_delivery_log_shows(
    open_page: Callable[..., Any], accountant: str, api: PortalApi, receiver: str
) -> None:
    page = open_page()
    sign_in(page, accountant, PASSWORD)
    page.goto("/accounting/webhooks")
    page.get_by_label("Name", exact=True).fill("QuickBooks test receiver")
    page.get_by_label("URL", exact=True).fill(receiver)
    page.get_by_label("Manual entry").check()
    page.get_by_role("button", name="Add subscription").click()
    expect(page.locator("h1")).to_have_text("Webhook subscription QuickBooks test receiver")
    expect(page.get_by_label("Manual entry")).to_be_checked()
    subscription_url = page.url

    day = api.call("GET", "/api/accounting/v1/trial-balance")["as_of"]
    entry = api.call(
        "POST",
        "/api/accounting/v1/journal-entries",
        expect=201,
        json={
            "entry_date": day,
            "memo": "Bank charge",
            "lines": [
                {"account_code": "5500", "debit": "2.50"},
                {"account_code": "1000", "credit": "2.50"},
            ],
        },
    )
    api.eventually(lambda: Receiver.received, "the receiver got the entry", within=60)

    page.goto(subscription_url)
    row = page.locator("table.deliveries tbody tr", has_text=entry["number"])
    expect(row).to_contain_text("Delivered")
    expect(row).to_contain_text("200")
    row.get_by_role("link").first.click()
    expect(page.locator("h1")).to_contain_text("Delivery")
    attempt = page.locator("#attempts-table tbody tr").first
    expect(attempt).to_contain_text("200")
    expect(attempt).to_contain_text('{"ok": true}')
    screenshot(page, "accounting-delivery")
    assert_accessible(page)
    page.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("status").first).to_have_text("The delivery was queued again.")
    api.eventually(lambda: len(Receiver.received) >= 2, "the replay reached the receiver")
    assert Receiver.received[0] == Receiver.received[1]  # the same webhook-id: drop duplicates

    page.goto("/accounting/webhooks/deliveries")
    expect(page.locator("#table-deliveries")).to_contain_text(entry["number"])
    assert_accessible(page)


def test_the_trial_balance_and_the_reconciliation_in_spanish(
    open_page: Callable[..., Any], live_portal: LivePortal
) -> None:
    live_portal.add_user("rocio", "rocio-pass-123", ["accountant"], language="es")
    page = open_page()
    sign_in(page, "rocio", "rocio-pass-123")
    page.goto("/trial-balance")
    expect(page.locator("h1")).to_contain_text("Balanza de comprobación al")
    expect(page.locator("#trial-state")).to_have_text("Cuadrada")
    debit = page.locator("#trial-total-debit").inner_text()
    credit = page.locator("#trial-total-credit").inner_text()
    assert debit == credit and Decimal(debit.replace(",", "")) > 0
    screenshot(page, "accounting-trial-balance-es")
    assert_accessible(page)

    page.get_by_role("link", name="Conciliación").first.click()
    expect(page.locator("h1")).to_contain_text("Conciliación de inventario al")
    expect(page.locator("#reconciliation-table tbody tr")).to_have_count(3)
    expect(page.locator("#reconciliation-state")).to_have_text(
        "El libro mayor coincide con inventario"
    )
    screenshot(page, "accounting-reconciliation-es")
    assert_accessible(page)


def test_the_other_accounting_pages_have_no_serious_accessibility_violations(
    open_page: Callable[..., Any],
) -> None:
    """The pages the stories above do not pass through, as an admin sees them (every button)."""
    page = open_page()
    sign_in(page, "admin", ADMIN_PASSWORD)
    failures = []
    for path in (
        "/profit-and-loss",
        "/balance-sheet",
        "/accounting/accounts",
        "/accounting/accounts/1200",
        "/accounting/webhooks",
    ):
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        screenshot(page, "accounting" + path.replace("/", "-"))
        try:
            assert_accessible(page)
        except AssertionError as violation:
            failures.append(str(violation))
    assert not failures, "\n".join(failures)
