"""The frame in a real browser: signing in, language, roles, one session per user."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import ADMIN_PASSWORD, sign_in
from tests.support.browser import LivePortal, assert_accessible, screenshot


def test_an_admin_signs_in_with_a_local_account_and_sees_the_start_page(
    open_page: Callable[..., Any],
) -> None:
    page = open_page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=%2F"))
    assert_accessible(page)

    sign_in(page, "admin", ADMIN_PASSWORD)

    expect(page.locator("h1")).to_contain_text("Good to see you, Administrator")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    screenshot(page, "sign-in-local-admin")
    assert_accessible(page)


def test_a_wrong_password_is_refused_with_a_message(open_page: Callable[..., Any]) -> None:
    page = open_page()
    sign_in(page, "admin", "not-the-password")

    expect(page.get_by_role("alert")).to_contain_text("Invalid username or password.")
    screenshot(page, "sign-in-refused")


def test_a_user_who_picks_spanish_sees_spanish_on_every_device(
    open_page: Callable[..., Any], live_portal: LivePortal
) -> None:
    live_portal.add_user("lucia", "lucia-pass-123", ["buyer"])
    page = open_page()
    sign_in(page, "lucia", "lucia-pass-123")
    page.goto("/profile")
    page.get_by_label("Español").check()
    page.get_by_role("button", name="Save").click()

    expect(page.locator("h1")).to_have_text("Su perfil")
    expect(page.get_by_role("button", name="Cerrar sesión")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    screenshot(page, "profile-spanish")
    assert_accessible(page)

    other_device = open_page(tablet=True)
    sign_in(other_device, "lucia", "lucia-pass-123")
    expect(other_device.locator("h1")).to_contain_text("Qué gusto verle")
    screenshot(other_device, "spanish-on-a-second-device")


def test_an_operator_who_opens_an_admin_page_is_refused(
    open_page: Callable[..., Any], live_portal: LivePortal
) -> None:
    live_portal.add_user("omar", "omar-pass-123", ["operator"])
    page = open_page(tablet=True)
    sign_in(page, "omar", "omar-pass-123")

    expect(page.get_by_role("button", name="Admin")).to_have_count(0)
    response = page.goto("/admin/users")

    assert response is not None and response.status == 403
    expect(page.locator("h1")).to_have_text("Not allowed")
    screenshot(page, "operator-refused-admin")
    assert_accessible(page)


def test_a_second_sign_in_ends_the_first_session_and_says_why(
    open_page: Callable[..., Any], live_portal: LivePortal
) -> None:
    live_portal.add_user("sam", "sam-pass-1234", ["store"])
    first = open_page()
    sign_in(first, "sam", "sam-pass-1234")
    expect(first.locator("h1")).to_contain_text("Good to see you")

    second = open_page(tablet=True)
    sign_in(second, "sam", "sam-pass-1234")
    expect(second.locator("h1")).to_contain_text("Good to see you")

    first.reload()
    expect(first).to_have_url(re.compile(r"/sign-in\?.*reason=signed_in_elsewhere"))
    expect(first.get_by_role("status")).to_contain_text("you signed in on another device")
    screenshot(first, "first-session-ended")


def test_a_directory_user_signs_in_with_their_ldap_account_and_gets_their_groups_roles(
    open_page: Callable[..., Any],
) -> None:
    page = open_page(tablet=True)
    sign_in(page, "maria", "maria-directory-pw")

    expect(page.locator("h1")).to_contain_text("María López")
    page.goto("/profile")
    expect(page.locator(".facts")).to_contain_text("Operator")
    screenshot(page, "sign-in-ldap-directory-user")
    assert_accessible(page)
