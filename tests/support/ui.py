"""Page tests without a browser: the embedded portal in this process, signed in like a browser.

    async with ui_portal(tmp_path) as portal:
        add_user(portal, "vera", ["viewer"], language="es")
        async with signed_in(portal, "vera") as browser:
            page = await browser.get("/items")
            await browser.post_form("/items/new", {"sku": "X-1", ...})

`signed_in` posts the sign-in form, keeps the session cookie, and sends the CSRF token it read
from the last page's <meta name="csrf-token"> with every form it posts, as a browser would.
Every user made by `add_user` has the password `PASSWORD`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from services.embedded import EmbeddedPortal
from shared.settings import Settings
from tests.support.accounts import local_user

ADMIN_PASSWORD = "ui-admin-password"
PASSWORD = "ui-test-password"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


@contextlib.asynccontextmanager
async def ui_portal(var_dir: Path, **settings: Any) -> AsyncIterator[EmbeddedPortal]:
    """Every service in this process on SQLite files under `var_dir`, running."""
    portal = EmbeddedPortal(Settings(var_dir=var_dir, admin_password=ADMIN_PASSWORD, **settings))
    portal.prepare()
    async with portal.running():
        yield portal


def add_user(
    portal: EmbeddedPortal, username: str, roles: list[str], *, language: str = "en"
) -> None:
    """A local account with `roles`, written into the gateway's database (password PASSWORD)."""
    from services.gateway.models import User

    with portal.gateway.uow() as uow:
        if uow.session.scalar(select(User.id).where(User.username == username)) is None:
            uow.session.add(local_user(username, PASSWORD, roles, language))
        uow.commit()


class Browser:
    """An httpx client holding one user's session cookie and the last page's CSRF token."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.csrf_token: str | None = None

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        answer = await self.client.get(path, **kwargs)
        self._remember_token(answer)
        return answer

    async def post_form(
        self, path: str, data: Mapping[str, Any], *, csrf: bool = True
    ) -> httpx.Response:
        """Post `data` as a form, with the CSRF token of the last page (a page is fetched
        first when none was)."""
        if csrf and self.csrf_token is None:
            await self.get("/")
        fields = {**data, "csrf_token": self.csrf_token} if csrf else dict(data)
        answer = await self.client.post(path, data=fields)
        self._remember_token(answer)
        return answer

    def _remember_token(self, answer: httpx.Response) -> None:
        if "text/html" in answer.headers.get("content-type", ""):
            found = CSRF_META.search(answer.text)
            if found:
                self.csrf_token = found.group(1)


@contextlib.asynccontextmanager
async def signed_in(
    portal: EmbeddedPortal, username: str, password: str = PASSWORD
) -> AsyncIterator[Browser]:
    """A browser signed in as `username` through the sign-in form."""
    transport = httpx.ASGITransport(app=portal.gateway.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal") as client:
        answer = await client.post(
            "/sign-in", data={"username": username, "password": password, "next": "/"}
        )
        assert answer.status_code == 303, f"signing in as {username}: {answer.status_code}"
        browser = Browser(client)
        await browser.get("/")
        yield browser
