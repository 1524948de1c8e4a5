"""Receiving at the dock on a tablet (1024x768, touch): scan a PO number, receive a line with its
lot, and see the stock change, while an office page showing the stock updates by itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.support.browser import LivePortal, PortalApi, assert_accessible, screenshot

SKU = "PETG-DOCK-1KG"


@pytest.fixture
def api(live_portal: LivePortal) -> Iterator[PortalApi]:
    client = PortalApi(live_portal)
    yield client
    client.close()


def test_a_storekeeper_receives_a_po_on_the_tablet_and_the_stock_changes(
    open_page: Callable[..., Any], api: PortalApi, live_portal: LivePortal
) -> None:
    item = {"sku": SKU, "name": "PETG filament for the dock test", "uom": "kg"}
    api.call("POST", "/api/inventory/v1/items", expect=201, json=item)
    number = api.ordered_and_submitted(SKU, "12", "21.50")
    live_portal.add_user("dora", "dora-pass-123", ["store"])
    live_portal.add_user("otto", "otto-pass-123", ["viewer"])

    office = open_page()
    sign_in(office, "otto", "otto-pass-123")
    office.goto(f"/items/{SKU}")
    expect(office.locator("h1")).to_contain_text(SKU)

    tablet = open_page(tablet=True)
    sign_in(tablet, "dora", "dora-pass-123")
    tablet.goto("/receiving")
    assert_accessible(tablet)
    scan = tablet.get_by_label("Scan or type the PO number")
    scan.fill(number)
    scan.press("Enter")  # what a barcode scanner types after the number

    quantity = tablet.get_by_label(f"Quantity to receive of {SKU}")
    expect(quantity).to_have_value("12")
    quantity.fill("8")
    tablet.get_by_label(f"Lot of {SKU}").fill("LOT-DOCK-7")
    receive = tablet.get_by_role("button", name="Receive", exact=True)
    box = receive.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 44
    screenshot(tablet, "receiving-tablet-before")
    receive.tap()

    expect(tablet.get_by_role("status").first).to_contain_text(number)
    screenshot(tablet, "receiving-tablet-received")
    assert_accessible(tablet)
    api.eventually(lambda: Decimal(api.on_hand(SKU)) == Decimal("8"), "stock of 8")

    # The office page was not reloaded: the stock event refreshed it.
    expect(office.locator("main")).to_contain_text("LOT-DOCK-7", timeout=15_000)
    screenshot(office, "item-stock-updated-live")
