"""Signing in with the plant's directory: a real slapd (tests/support/slapd.py) holding maria
(operators), li (supervisors, quality), noroles (a group nobody mapped) and a directory user
named admin, beside the gateway's local admin.

The gateway runs as in test_gateway_auth (a migrated SQLite file, requests through httpx's
ASGI transport) with PORTAL_LDAP_* pointing at the slapd; everything goes through
/api/auth/login as a browser sends it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from ldap3 import MODIFY_ADD, MODIFY_DELETE, Connection, Server
from sqlalchemy import func, select

from services.gateway.models import LoginAttempt, PlantSetting, User
from services.gateway.service import GROUP_ROLES_SETTING
from shared.events.envelope import utc_now
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.support.slapd import LdapDirectory
from tests.unit.test_gateway_auth import (
    ADMIN_PASSWORD,
    assert_problem,
    browser,
    session_rows,
    sign_in,
    start_gateway,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def gateway_settings(directory: LdapDirectory, **overrides: Any) -> Settings:
    return Settings(
        _env_file=None, admin_password=ADMIN_PASSWORD, **directory.settings(**overrides)
    )


@pytest.fixture
def gateway(tmp_path: Path, ldap_directory: LdapDirectory) -> Iterator[ServiceRuntime]:
    runtime = start_gateway(tmp_path, gateway_settings(ldap_directory))
    yield runtime
    runtime.db.dispose()


@pytest.fixture
async def tablet(gateway: ServiceRuntime) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(gateway) as client:
        yield client


async def sign_in_as(
    client: httpx.AsyncClient, directory: LdapDirectory, username: str
) -> httpx.Response:
    return await sign_in(client, username, directory.passwords[username])


def user_row(runtime: ServiceRuntime, username: str) -> User | None:
    with runtime.db.session() as session:
        return session.scalar(select(User).where(User.username == username))


def attempts(runtime: ServiceRuntime, username: str) -> list[bool]:
    with runtime.db.session() as session:
        return list(
            session.scalars(
                select(LoginAttempt.ok)
                .where(LoginAttempt.username == username)
                .order_by(LoginAttempt.id)
            )
        )


@contextmanager
def moved(directory: LdapDirectory, uid: str, *, out_of: str, into: str) -> Iterator[None]:
    """Move a user from one group to another in the directory, and back after the block."""
    user_dn = f"uid={uid},{directory.user_base}"

    def move(source: str, target: str) -> None:
        with Connection(Server(directory.url), directory.root_dn, directory.root_password) as root:
            for group, change in ((target, MODIFY_ADD), (source, MODIFY_DELETE)):
                group_dn = f"cn={group},{directory.group_base}"
                assert root.modify(group_dn, {"member": [(change, [user_dn])]}), root.result

    move(out_of, into)
    try:
        yield
    finally:
        move(into, out_of)


# --- directory users -----------------------------------------------------------------------


async def test_a_directory_user_signs_in_with_the_roles_of_their_groups(
    gateway: ServiceRuntime, tablet: httpx.AsyncClient, ldap_directory: LdapDirectory
) -> None:
    response = await sign_in_as(tablet, ldap_directory, "maria")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "username": "maria",
        "display_name": "María López",
        "roles": ["operator"],
        "language": "en",
    }
    assert (await tablet.get("/api/auth/me")).json()["roles"] == ["operator"]
    maria = user_row(gateway, "maria")
    assert maria is not None
    assert (maria.source, maria.password_hash) == ("directory", None)
    assert attempts(gateway, "maria") == [True]


async def test_groups_by_member_and_unique_member_give_all_their_roles(
    tablet: httpx.AsyncClient, ldap_directory: LdapDirectory
) -> None:
    response = await sign_in(tablet, "Li", ldap_directory.passwords["li"])

    assert response.status_code == 200, response.text
    assert response.json()["roles"] == ["supervisor", "quality"]
    assert response.json()["display_name"] == "Lǐ Wěi"


async def test_a_wrong_directory_password_is_refused_and_recorded(
    gateway: ServiceRuntime, tablet: httpx.AsyncClient, ldap_directory: LdapDirectory
) -> None:
    response = await sign_in(tablet, "maria", ldap_directory.passwords["li"])

    body = assert_problem(response, 401)
    assert body["code"] == "invalid_credentials"
    assert attempts(gateway, "maria") == [False]
    assert user_row(gateway, "maria") is None


async def test_a_user_whose_groups_map_to_no_role_is_told_so(
    gateway: ServiceRuntime, tablet: httpx.AsyncClient, ldap_directory: LdapDirectory
) -> None:
    response = await sign_in_as(tablet, ldap_directory, "noroles")

    body = assert_problem(response, 403)
    assert body["code"] == "directory_no_roles"
    assert "none of your directory groups gives you a role" in str(body["detail"])
    assert attempts(gateway, "noroles") == [False]
    assert user_row(gateway, "noroles") is None
    assert "portal_session" not in response.cookies


async def test_a_wildcard_username_finds_nobody(tablet: httpx.AsyncClient) -> None:
    response = await sign_in(tablet, "mari*", "maria-directory-pw")

    assert assert_problem(response, 401)["code"] == "invalid_credentials"


async def test_an_empty_username_is_a_problem_naming_the_field(tablet: httpx.AsyncClient) -> None:
    response = await tablet.post("/api/auth/login", json={"username": " ", "password": "x"})

    assert assert_problem(response, 422)["field"] == "username"


# --- local accounts beside the directory ---------------------------------------------------


async def test_the_local_admin_still_signs_in_and_wins_over_a_directory_admin(
    gateway: ServiceRuntime, tablet: httpx.AsyncClient, ldap_directory: LdapDirectory
) -> None:
    local = await sign_in(tablet, "admin", ADMIN_PASSWORD)
    directory_password = await sign_in_as(tablet, ldap_directory, "admin")

    assert local.status_code == 200, local.text
    assert local.json()["roles"] == ["admin"]
    assert assert_problem(directory_password, 401)["code"] == "invalid_credentials"
    admin = user_row(gateway, "admin")
    assert admin is not None and admin.source == "local" and admin.password_hash


async def test_with_local_accounts_off_the_local_admin_is_refused(
    tmp_path: Path, ldap_directory: LdapDirectory
) -> None:
    runtime = start_gateway(tmp_path, gateway_settings(ldap_directory, local_accounts=False))
    try:
        async with browser(runtime) as client:
            refused = await sign_in(client, "admin", ADMIN_PASSWORD)
            maria = await sign_in_as(client, ldap_directory, "maria")
    finally:
        runtime.db.dispose()

    assert assert_problem(refused, 401)["code"] == "invalid_credentials"
    assert maria.status_code == 200, maria.text


async def test_with_the_directory_down_local_accounts_sign_in_and_directory_users_get_503(
    gateway: ServiceRuntime, tablet: httpx.AsyncClient, ldap_directory: LdapDirectory
) -> None:
    with ldap_directory.stopped():
        directory_user = await sign_in_as(tablet, ldap_directory, "maria")
        local = await sign_in(tablet, "admin", ADMIN_PASSWORD)

    body = assert_problem(directory_user, 503)
    assert body["code"] == "directory_unavailable"
    assert "Local accounts still can" in str(body["detail"])
    assert local.status_code == 200, local.text
    assert attempts(gateway, "maria") == []  # the directory failed, not maria
    assert (await sign_in_as(tablet, ldap_directory, "maria")).status_code == 200


async def test_a_directory_at_a_wrong_address_is_a_503_too(
    tmp_path: Path, ldap_directory: LdapDirectory
) -> None:
    nowhere = "ldap://127.0.0.1:1"
    runtime = start_gateway(tmp_path, gateway_settings(ldap_directory, ldap_url=nowhere))
    try:
        async with browser(runtime) as client:
            directory_user = await sign_in_as(client, ldap_directory, "maria")
            local = await sign_in(client, "admin", ADMIN_PASSWORD)
    finally:
        runtime.db.dispose()

    assert assert_problem(directory_user, 503)["code"] == "directory_unavailable"
    assert local.status_code == 200


# --- refreshed on every sign-in ------------------------------------------------------------


async def test_the_next_sign_in_takes_the_roles_of_the_users_new_groups(
    gateway: ServiceRuntime, tablet: httpx.AsyncClient, ldap_directory: LdapDirectory
) -> None:
    first = await sign_in_as(tablet, ldap_directory, "maria")
    assert first.json()["roles"] == ["operator"]
    with gateway.db.session() as session:
        session.execute(select(User).where(User.username == "maria")).scalar_one().language = "es"

    with moved(ldap_directory, "maria", out_of="operators", into="supervisors"):
        second = await sign_in_as(tablet, ldap_directory, "maria")

    assert second.status_code == 200, second.text
    assert second.json()["roles"] == ["supervisor"]
    assert second.json()["language"] == "es"  # the user's choice is kept
    with gateway.db.session() as session:
        rows = session.scalar(select(func.count()).where(User.username == "maria"))
    assert rows == 1  # the same row, refreshed


async def test_a_second_sign_in_ends_the_first_session_of_a_directory_user(
    gateway: ServiceRuntime, ldap_directory: LdapDirectory
) -> None:
    async with browser(gateway) as desk, browser(gateway, ("10.0.0.9", 1)) as tablet:
        await sign_in_as(desk, ldap_directory, "maria")
        await sign_in_as(tablet, ldap_directory, "maria")

        refused = await desk.get("/api/auth/me")

    assert assert_problem(refused, 401)["code"] == "session_signed_in_elsewhere"
    assert [row.ended_reason for row in session_rows(gateway)] == ["signed_in_elsewhere", None]


async def test_five_wrong_directory_passwords_lock_the_username(
    tablet: httpx.AsyncClient, ldap_directory: LdapDirectory
) -> None:
    for _ in range(5):
        assert (await sign_in(tablet, "maria", "wrong")).status_code == 401

    locked = await sign_in_as(tablet, ldap_directory, "maria")

    assert assert_problem(locked, 429)["code"] == "login_rate_limited"


# --- the admin's mapping in plant_settings -------------------------------------------------


def save_mapping(runtime: ServiceRuntime, value: Any) -> None:
    with runtime.db.session() as session:
        session.add(
            PlantSetting(
                name=GROUP_ROLES_SETTING, value=value, updated_at=utc_now(), updated_by="admin"
            )
        )


async def test_the_mapping_saved_by_the_admin_replaces_the_configured_one(
    gateway: ServiceRuntime, tablet: httpx.AsyncClient, ldap_directory: LdapDirectory
) -> None:
    save_mapping(gateway, {"VISITORS": ["viewer"]})

    visitor = await sign_in_as(tablet, ldap_directory, "noroles")
    maria = await sign_in_as(tablet, ldap_directory, "maria")

    assert visitor.status_code == 200, visitor.text
    assert visitor.json()["roles"] == ["viewer"]
    assert assert_problem(maria, 403)["code"] == "directory_no_roles"


async def test_an_invalid_saved_mapping_refuses_directory_users_and_names_the_setting(
    gateway: ServiceRuntime, tablet: httpx.AsyncClient, ldap_directory: LdapDirectory
) -> None:
    save_mapping(gateway, {"operators": ["foreman"]})

    maria = await sign_in_as(tablet, ldap_directory, "maria")
    local = await sign_in(tablet, "admin", ADMIN_PASSWORD)

    body = assert_problem(maria, 503)
    assert body["field"] == GROUP_ROLES_SETTING
    assert "unknown role 'foreman'" in str(body["detail"])
    assert local.status_code == 200
