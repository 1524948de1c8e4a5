"""The frame's security headers: a strict CSP on every page, with a fresh nonce for the styles a
library injects (AG Grid), and nothing inline allowed otherwise."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.ui import ADMIN_PASSWORD, add_user, signed_in, ui_portal


async def test_every_page_carries_a_strict_csp_with_its_own_style_nonce(tmp_path: Path) -> None:
    async with ui_portal(tmp_path) as portal, signed_in(portal, "admin", ADMIN_PASSWORD) as admin:
        first = await admin.get("/items/reorder-grid")
        second = await admin.get("/items/reorder-grid")
        sign_in_page = await admin.client.get("/sign-in")

    nonces = []
    for page in (first, second):
        csp = page.headers["content-security-policy"]
        meta = re.search(r'<meta name="csp-nonce" content="([^"]+)">', page.text)
        assert meta is not None
        assert f"style-src 'self' 'nonce-{meta.group(1)}'" in csp
        assert "script-src 'self';" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        nonces.append(meta.group(1))
    assert nonces[0] != nonces[1]
    assert "style-src 'self';" in sign_in_page.headers["content-security-policy"]
    assert "<script>" not in first.text and " style=" not in first.text


async def test_a_page_for_something_that_is_not_there_is_a_page_in_the_users_language(
    tmp_path: Path,
) -> None:
    async with ui_portal(tmp_path) as portal:
        add_user(portal, "sofia", ["admin"], language="es")
        async with signed_in(portal, "sofia") as sofia:
            entry = await sofia.get("/journal/JE-1999-00001")
            user = await sofia.get("/admin/users/nobody")
            api = await sofia.client.get("/api/accounting/v1/journal-entries/JE-1999-00001")

    for page in (entry, user):
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert "<h1>No encontrado</h1>" in page.text
    assert "JE-1999-00001" in entry.text
    assert api.headers["content-type"] == "application/problem+json"  # scripts still get JSON
