"""Every page, as an admin sees it on the desktop and as the floor sees it on the tablet, checked
with axe-core: no serious or critical violations. A screenshot of each is kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from services.gateway.ui import discover
from tests.browser.conftest import ADMIN_PASSWORD, sign_in
from tests.support.browser import assert_accessible, screenshot

# Pages reached from other pages rather than the menu (the demo data has these).
MORE_PAGES = (
    "/profile",
    "/items/new",
    "/items/reorder-grid",
    "/items/PLA-BLK-1KG",
    "/vendors/new",
    "/purchase-orders/new",
    "/purchase-orders/PO-2026-00001",
    "/journal/JE-2026-00001",
    "/admin/users/new",
    "/admin/users/admin",
)


def every_page() -> list[str]:
    menu = [link.href for feature in discover() for link in feature.nav]
    return ["/", *menu, *MORE_PAGES]


@pytest.mark.parametrize("tablet", [False, True], ids=["desktop", "tablet"])
def test_every_page_has_no_serious_accessibility_violations(
    open_page: Callable[..., Any], tablet: bool
) -> None:
    page = open_page(tablet=tablet)
    page.goto("/sign-in")
    assert_accessible(page)
    sign_in(page, "admin", ADMIN_PASSWORD)
    failures = []
    for path in every_page():
        response = page.goto(path)
        assert response is not None and response.status == 200, (path, response)
        expect(page.locator("h1").first).to_be_visible()
        name = ("tablet" if tablet else "desktop") + path.replace("/", "-")
        screenshot(page, f"a11y-{name}")
        try:
            assert_accessible(page)
        except AssertionError as violation:
            failures.append(str(violation))
    assert not failures, "\n".join(failures)
