"""The ops dashboard in a real browser: a dead letter appears by itself, with its error, and the
replay button applies it once the cause is fixed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN_PASSWORD, sign_in
from tests.support.browser import LivePortal, PortalApi, assert_accessible, screenshot

SKU = "GHOST-BROWSER"


@pytest.fixture
def api(live_portal: LivePortal) -> Iterator[PortalApi]:
    client = PortalApi(live_portal)
    yield client
    client.close()


def test_the_ops_dashboard_shows_a_dead_letter_and_replays_it(
    open_page: Callable[..., Any], api: PortalApi
) -> None:
    item = {"sku": SKU, "name": "Filament the inventory forgot", "uom": "kg"}
    api.call("POST", "/api/inventory/v1/items", expect=201, json=item)
    number = api.ordered_and_submitted(SKU, "5")
    page = open_page()
    sign_in(page, "admin", ADMIN_PASSWORD)
    page.goto("/ops")
    expect(page.get_by_role("row", name="inventory")).to_be_visible()

    api.forget_item_in_inventory(SKU)
    api.call(
        "POST",
        f"/api/purchasing/v1/purchase-orders/{number}/receipts",
        expect=201,
        json={"lines": [{"line_no": 1, "qty": "5"}]},
    )

    # No reload: the page's live tick brings the dead letter in.
    letter = page.get_by_role("row").filter(has_text="MaterialReceived").filter(has_text=number)
    expect(letter).to_be_visible(timeout=30_000)
    expect(letter).to_contain_text(SKU)
    screenshot(page, "ops-dead-letter")
    assert_accessible(page)

    api.call("POST", "/api/inventory/v1/items", expect=201, json=item)  # the fix
    letter.get_by_role("button", name="Replay").click()

    expect(page.get_by_role("status").filter(has_text="Replayed")).to_contain_text(
        "the event was applied"
    )
    expect(letter).to_have_count(0)
    assert Decimal(api.on_hand(SKU)) == Decimal("5")
    screenshot(page, "ops-dead-letter-replayed")
