"""Fixtures of the browser tests: one live portal (`portal run`) and one Chromium per session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import browser as support
from tests.support import slapd

ADMIN_PASSWORD = "browser-admin-pw-1"


@pytest.fixture(scope="session")
def live_portal(
    tmp_path_factory: pytest.TempPathFactory, ldap_directory: slapd.LdapDirectory
) -> Iterator[support.LivePortal]:
    """`portal run` with local accounts and the test directory (real slapd) both on."""
    support.require_chromium()
    var_dir: Path = tmp_path_factory.mktemp("portal-var")
    portal = support.LivePortal(
        var_dir=var_dir, admin_password=ADMIN_PASSWORD, extra_env=ldap_directory.environment()
    )
    portal.start()
    try:
        yield portal
    finally:
        portal.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One Chromium per test module. Playwright's sync API runs an event loop of its own while
    it is open; closing it with the module keeps it away from the asyncio tests that follow."""
    support.require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=support.CHROMIUM, headless=True, args=support.CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def open_page(chromium: Any, live_portal: support.LivePortal) -> Iterator[Callable[..., Any]]:
    """A new browser context (its own cookies) and page; `tablet=True` for 1024x768 touch."""
    contexts: list[Any] = []

    def make(*, tablet: bool = False) -> Any:
        context = chromium.new_context(
            base_url=live_portal.url,
            viewport=support.TABLET if tablet else support.DESKTOP,
            has_touch=tablet,
            # axe-core is injected as a script: the pages' CSP would refuse it otherwise.
            bypass_csp=True,
            locale="en-US",
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def sign_in(page: Any, username: str, password: str) -> None:
    page.goto("/sign-in")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("form[action='/sign-in'] button[type=submit]").click()
    page.wait_for_load_state("networkidle")
