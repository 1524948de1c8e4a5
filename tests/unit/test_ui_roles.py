"""The gateway hides what a role may not do, and refuses it when asked anyway: every page in
the navigation, for every role, is shown in the menu exactly when the role may open it."""

from __future__ import annotations

import re
from pathlib import Path

from services.gateway.ui import discover
from shared.auth.permissions import allowed
from shared.auth.tokens import Role
from tests.support.ui import add_user, signed_in, ui_portal


async def test_every_page_in_the_navigation_follows_the_permission_matrix(
    tmp_path: Path,
) -> None:
    links = [link for feature in discover() for link in feature.nav if link.action is not None]
    assert len(links) >= 8  # items, stock, receiving, orders, vendors, books, ops, admin

    async with ui_portal(tmp_path) as portal:
        for role in Role:
            add_user(portal, f"user-{role.value}", [role.value])
        for role in Role:
            async with signed_in(portal, f"user-{role.value}") as browser:
                home = await browser.get("/")
                shown = set(re.findall(r'<a href="([^"]+)"', home.text))
                for link in links:
                    may = allowed([role.value], link.action)  # type: ignore[arg-type]
                    answer = await browser.get(link.href)
                    assert (link.href in shown) is may, (role, link.href, "menu")
                    expected = 200 if may else 403
                    assert answer.status_code == expected, (role, link.href, answer.status_code)
