"""Findings of the security review of the gateway's sign-in, sessions and admin pages, each kept
fixed by a test: what an attacker or a mistaken admin could otherwise have done."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.ui import ADMIN_PASSWORD, PASSWORD, add_user, signed_in, ui_portal


async def test_deactivating_a_user_named_in_other_case_ends_their_session_at_once(
    tmp_path: Path,
) -> None:
    # Usernames are case-insensitive (the admin pages find /admin/users/MARIA as maria); the
    # cache of live sessions must forget maria's too, or she keeps working after deactivation.
    async with ui_portal(tmp_path) as portal:
        add_user(portal, "maria", ["store"])
        async with (
            signed_in(portal, "admin", ADMIN_PASSWORD) as admin,
            signed_in(portal, "maria") as maria,
        ):
            assert (await maria.get("/items")).status_code == 200  # now in the cache
            deactivated = await admin.post_form("/admin/users/MARIA/active", {"active": "false"})
            after = await maria.get("/items")

    assert deactivated.status_code == 303
    assert after.status_code == 303
    assert "reason=account_disabled" in after.headers["location"]


async def test_a_password_reset_by_an_admin_ends_the_users_live_session(tmp_path: Path) -> None:
    # An admin resets a password because someone else knows it: whoever signed in with the old
    # one must not stay signed in with it.
    async with ui_portal(tmp_path) as portal:
        add_user(portal, "sam", ["store"])
        async with signed_in(portal, "admin", ADMIN_PASSWORD) as admin:
            async with signed_in(portal, "sam") as intruder:
                assert (await intruder.get("/items")).status_code == 200
                reset = await admin.post_form(
                    "/admin/users/sam/password", {"password": "a-brand-new-pass"}
                )
                after = await intruder.get("/items")
                sign_in_page = await intruder.get(after.headers.get("location", "/sign-in"))
            still_admin = await admin.get("/admin/users")

    assert reset.status_code == 303
    assert after.status_code == 303
    assert "reason=password_reset" in after.headers["location"]
    assert "Your password was changed by an administrator" in sign_in_page.text
    assert still_admin.status_code == 200


async def test_the_sign_in_form_is_rate_limited_and_sends_nobody_to_another_site(
    tmp_path: Path,
) -> None:
    async with ui_portal(tmp_path) as portal:
        add_user(portal, "olga", ["viewer"])
        transport = httpx.ASGITransport(app=portal.gateway.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://portal") as client:
            wrong = [
                await client.post("/sign-in", data={"username": "Olga", "password": "nope"})
                for _ in range(6)
            ]
            right_but_throttled = await client.post(
                "/sign-in", data={"username": "olga", "password": PASSWORD}
            )
            add_user(portal, "pia", ["viewer"])
            redirects = [
                (
                    await client.post(
                        "/sign-in", data={"username": "pia", "password": PASSWORD, "next": target}
                    )
                ).headers.get("location")
                for target in (
                    "//evil.example/x",
                    "https://evil.example/",
                    "/\\evil.example",
                    "/\t/evil.example",
                    "/items?x=1",
                )
            ]
            cross_site = await client.post(
                "/sign-in",
                data={"username": "pia", "password": PASSWORD},
                headers={"Origin": "https://evil.example"},
            )

    assert [answer.status_code for answer in wrong] == [401] * 5 + [429]
    assert right_but_throttled.status_code == 429
    assert redirects[:3] == ["/", "/", "/"]
    assert redirects[3] is not None and redirects[3].startswith("/%09")
    assert redirects[4] == "/items?x=1"
    assert cross_site.status_code == 403  # no login CSRF from another site's form


async def test_changes_without_the_csrf_token_are_refused_on_pages_and_the_api(
    tmp_path: Path,
) -> None:
    async with ui_portal(tmp_path) as portal:
        add_user(portal, "bo", ["buyer"])
        async with signed_in(portal, "bo") as bo:
            page_form = await bo.post_form("/vendors/new", {"code": "EVIL"}, csrf=False)
            wrong_token = await bo.client.post(
                "/vendors/new", data={"code": "EVIL", "csrf_token": "0" * 64}
            )
            api_form = await bo.client.post("/api/purchasing/v1/vendors", data={"code": "EVIL"})
            api_plain = await bo.client.post(
                "/api/purchasing/v1/vendors",
                content='{"code": "EVIL", "name": "Evil"}',
                headers={"content-type": "text/plain"},
            )
            api_cross_site_json = await bo.client.post(
                "/api/purchasing/v1/vendors",
                json={"code": "EVIL", "name": "Evil"},
                headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
            )
            sign_out = await bo.client.post("/sign-out")
            still_in = await bo.get("/vendors")

    assert [page_form.status_code, wrong_token.status_code] == [403, 403]
    assert [api_form.status_code, api_plain.status_code] == [403, 403]
    assert api_cross_site_json.status_code == 403
    assert sign_out.status_code == 403
    assert still_in.status_code == 200
