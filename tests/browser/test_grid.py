"""The Excel-like grid (AG Grid under the pages' strict CSP): a planner types reorder points in
place, each is saved at once, and a refused value goes back with the reason in their language."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.support.browser import LivePortal, PortalApi, assert_accessible, screenshot

SKU = "PLA-BLK-1KG"  # demo data


@pytest.fixture
def api(live_portal: LivePortal) -> Iterator[PortalApi]:
    client = PortalApi(live_portal)
    yield client
    client.close()


def test_a_planner_edits_reorder_points_in_the_grid(
    open_page: Callable[..., Any], api: PortalApi, live_portal: LivePortal
) -> None:
    live_portal.add_user("paula", "paula-pass-123", ["planner"], language="es")
    page = open_page()
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    sign_in(page, "paula", "paula-pass-123")
    page.goto("/items/reorder-grid")

    cell = page.locator(f'.ag-row[row-id="{SKU}"] .ag-cell[col-id="reorder_point"]')
    expect(cell).to_be_visible()
    expect(page.locator(".ag-header-cell-text").filter(has_text="Punto de reorden")).to_be_visible()
    cell.click()
    editor = cell.locator("input")
    expect(editor).to_be_visible()
    editor.fill("25")
    editor.press("Enter")
    api.eventually(
        lambda: (
            Decimal(api.call("GET", f"/api/inventory/v1/items/{SKU}")["reorder_point"])
            == Decimal("25")
        ),
        "the reorder point saved",
    )
    screenshot(page, "reorder-grid-saved")

    page.locator(f'.ag-row[row-id="{SKU}"] .ag-cell[col-id="name"]').click()
    cell.click()
    editor = cell.locator("input")
    expect(editor).to_be_visible()
    editor.fill("-3")
    editor.press("Enter")
    expect(page.locator("#toast")).to_contain_text("Debe ser al menos 0")
    expect(cell).to_have_text("25")
    screenshot(page, "reorder-grid-refused")

    # The grid's own menus speak Spanish too (AG Grid's locale package, from npm).
    page.locator('.ag-header-cell[col-id="name"] .ag-header-cell-filter-button').click()
    expect(page.locator(".ag-filter").get_by_text("Contiene").first).to_be_visible()
    page.keyboard.press("Escape")
    assert_accessible(page)
    assert not [e for e in errors if "Content Security Policy" in e], errors
