"""The directory adapter on ldap3's MOCK_SYNC strategy: finding the user with an escaped filter,
checking the password by binding as them, groups from member/uniqueMember and from memberOf
(as AD answers), and groups mapped to roles by DN or CN in any case. Also the settings that
configure it. The same adapter against a real slapd: tests/integration/test_ldap_sign_in.py.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from ldap3 import MOCK_SYNC, Connection, Server
from pydantic import ValidationError

from services.gateway.directory import (
    Directory,
    DirectoryConfig,
    DirectoryUnavailable,
    common_name,
    group_key,
    roles_for_groups,
    user_filter,
)
from shared.settings import Settings

BASE = "dc=plant,dc=test"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"
SERVICE_DN = f"cn=portal,ou=services,{BASE}"
SERVICE_PASSWORD = "service-secret"
GROUP_ROLES = {
    "operators": ["operator"],
    f"CN=Supervisors, OU=Groups, {BASE.upper()}": ["supervisor"],
    "Quality": ["quality", "viewer"],
}


def person(uid: str, password: str, **attributes: Any) -> dict[str, Any]:
    return {
        "objectClass": ["inetOrgPerson"],
        "uid": uid,
        "cn": attributes.pop("cn", uid.title()),
        "sn": uid,
        "userPassword": password,
        **attributes,
    }


def mock_directory(
    entries: dict[str, dict[str, Any]], **config: Any
) -> tuple[Directory, Connection]:
    """A Directory over an in-memory DIT holding `entries` and the service account."""
    server = Server("mock-directory")
    admin = Connection(
        server, user=SERVICE_DN, password=SERVICE_PASSWORD, client_strategy=MOCK_SYNC
    )
    admin.strategy.add_entry(
        SERVICE_DN, {"objectClass": ["simpleSecurityObject"], "userPassword": SERVICE_PASSWORD}
    )
    for container in (BASE, PEOPLE, GROUPS):
        admin.strategy.add_entry(container, {"objectClass": ["organizationalUnit"]})
    for dn, attributes in entries.items():
        admin.strategy.add_entry(dn, attributes)
    settings = {
        "url": "ldap://mock-directory",
        "user_base": PEOPLE,
        "group_base": GROUPS,
        "bind_dn": SERVICE_DN,
        "bind_password": SERVICE_PASSWORD,
        **config,
    }
    return Directory(DirectoryConfig(**settings), server=server, strategy=MOCK_SYNC), admin


@pytest.fixture
def plant() -> Directory:
    directory, _ = mock_directory(
        {
            f"uid=maria,{PEOPLE}": person("maria", "maria-pw", displayName="María López"),
            f"uid=li,{PEOPLE}": person("li", "li-pw", cn="Li Wei"),
            f"uid=mario,{PEOPLE}": person("mario", "mario-pw"),
            f"cn=operators,{GROUPS}": {
                "objectClass": ["groupOfNames"],
                "member": [f"uid=maria,{PEOPLE}", f"uid=mario,{PEOPLE}"],
            },
            f"cn=supervisors,{GROUPS}": {
                "objectClass": ["groupOfNames"],
                "member": [f"uid=li,{PEOPLE}"],
            },
            f"cn=quality,{GROUPS}": {
                "objectClass": ["groupOfUniqueNames"],
                "uniqueMember": [f"uid=li,{PEOPLE}"],
            },
        }
    )
    return directory


# --- groups to roles -----------------------------------------------------------------------


def test_groups_map_to_roles_by_cn_or_dn_whatever_the_case() -> None:
    groups = [f"cn=Operators,{GROUPS}", f"cn=supervisors,ou=groups,{BASE}", "cn=canteen,ou=x"]

    assert roles_for_groups(groups, GROUP_ROLES) == ["supervisor", "operator"]


def test_roles_come_once_and_in_the_order_of_the_role_list() -> None:
    mapping = {"quality": ["viewer", "quality"], "auditors": ["viewer", "admin"]}

    roles = roles_for_groups([f"cn=QUALITY,{GROUPS}", f"cn=Auditors,{GROUPS}"], mapping)

    assert roles == ["admin", "quality", "viewer"]


def test_a_group_nobody_mapped_gives_no_role() -> None:
    assert roles_for_groups([f"cn=visitors,{GROUPS}"], GROUP_ROLES) == []


def test_a_cn_key_does_not_match_a_group_whose_first_part_is_not_a_cn() -> None:
    assert common_name(f"ou=operators,{BASE}") is None
    assert roles_for_groups([f"ou=operators,{BASE}"], {"operators": ["operator"]}) == []


def test_dns_compare_without_case_or_spaces_after_commas() -> None:
    assert group_key("CN=Shift A, OU=Groups,DC=Plant") == group_key("cn=shift a,ou=groups,dc=plant")
    assert group_key("  Shift A ") == "shift a"


# --- the search filter ---------------------------------------------------------------------


def test_the_username_is_escaped_into_the_filter() -> None:
    assert user_filter("(uid={username})", "ma*") == r"(uid=ma\2a)"
    assert (
        user_filter("(sAMAccountName={username})", "x)(uid=*") == r"(sAMAccountName=x\29\28uid=\2a)"
    )


def test_a_wildcard_in_the_username_matches_nobody(plant: Directory) -> None:
    assert plant.authenticate("mari*", "maria-pw", GROUP_ROLES) is None
    assert plant.authenticate("*", "maria-pw", GROUP_ROLES) is None


def test_a_filter_injection_in_the_username_matches_nobody(plant: Directory) -> None:
    assert plant.authenticate("maria)(uid=*", "maria-pw", GROUP_ROLES) is None


# --- signing in ----------------------------------------------------------------------------


def test_the_right_password_gives_the_user_with_the_roles_of_their_groups(
    plant: Directory,
) -> None:
    maria = plant.authenticate("maria", "maria-pw", GROUP_ROLES)

    assert maria is not None
    assert maria.dn == f"uid=maria,{PEOPLE}"
    assert maria.display_name == "María López"
    assert maria.groups == (f"cn=operators,{GROUPS}",)
    assert maria.roles == ("operator",)


def test_member_and_unique_member_groups_both_count(plant: Directory) -> None:
    li = plant.authenticate("li", "li-pw", GROUP_ROLES)

    assert li is not None
    assert set(li.groups) == {f"cn=supervisors,{GROUPS}", f"cn=quality,{GROUPS}"}
    assert li.roles == ("supervisor", "quality", "viewer")


def test_without_a_display_name_the_cn_is_shown(plant: Directory) -> None:
    li = plant.authenticate("li", "li-pw", GROUP_ROLES)

    assert li is not None and li.display_name == "Li Wei"


def test_a_wrong_password_an_unknown_user_and_an_empty_password_are_refused(
    plant: Directory,
) -> None:
    assert plant.authenticate("maria", "li-pw", GROUP_ROLES) is None
    assert plant.authenticate("nobody", "maria-pw", GROUP_ROLES) is None
    assert plant.authenticate("maria", "", GROUP_ROLES) is None


def test_an_active_directory_user_gets_roles_from_member_of() -> None:
    """AD answers with memberOf on the user and is searched by sAMAccountName."""
    directory, _ = mock_directory(
        {
            f"cn=Ana Ruiz,{PEOPLE}": {
                "objectClass": ["user"],
                "sAMAccountName": "aruiz",
                "cn": "Ana Ruiz",
                "displayName": "Ana Ruiz (Quality)",
                "userPassword": "ana-pw",
                "memberOf": [f"CN=Quality,{GROUPS.upper()}", f"CN=Domain Users,{BASE}"],
            }
        },
        user_filter="(&(objectClass=user)(sAMAccountName={username}))",
        display_name_attribute="displayName",
    )

    ana = directory.authenticate("aruiz", "ana-pw", GROUP_ROLES)

    assert ana is not None
    assert ana.display_name == "Ana Ruiz (Quality)"
    assert ana.roles == ("quality", "viewer")


def test_a_group_named_by_both_member_of_and_the_search_counts_once() -> None:
    directory, _ = mock_directory(
        {
            f"uid=maria,{PEOPLE}": person("maria", "maria-pw", memberOf=[f"cn=operators,{GROUPS}"]),
            f"cn=operators,{GROUPS}": {
                "objectClass": ["groupOfNames"],
                "member": [f"uid=maria,{PEOPLE}"],
            },
        }
    )

    maria = directory.authenticate("maria", "maria-pw", GROUP_ROLES)

    assert maria is not None and maria.groups == (f"cn=operators,{GROUPS}",)


def test_two_entries_for_one_username_trust_neither() -> None:
    directory, _ = mock_directory(
        {
            f"uid=maria,{PEOPLE}": person("maria", "maria-pw"),
            f"uid=maria,ou=contractors,{PEOPLE}": person("maria", "maria-pw"),
        }
    )

    assert directory.authenticate("maria", "maria-pw", GROUP_ROLES) is None


# --- a directory that cannot be asked ------------------------------------------------------


def test_a_refused_service_account_makes_the_directory_unavailable() -> None:
    directory, _ = mock_directory(
        {f"uid=maria,{PEOPLE}": person("maria", "maria-pw")}, bind_password="stale-secret"
    )

    with pytest.raises(DirectoryUnavailable) as refused:
        directory.authenticate("maria", "maria-pw", GROUP_ROLES)

    assert refused.value.status == 503
    assert "Local accounts still can" in str(refused.value.detail)


def test_a_directory_nobody_listens_on_is_unavailable_not_a_wrong_password() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = DirectoryConfig(
        url=f"ldap://127.0.0.1:{port}", user_base=PEOPLE, group_base=GROUPS, timeout_seconds=1
    )

    with pytest.raises(DirectoryUnavailable):
        Directory(config).authenticate("maria", "maria-pw", GROUP_ROLES)


# --- settings ------------------------------------------------------------------------------


def test_directory_sign_in_is_off_until_a_url_is_set() -> None:
    assert DirectoryConfig.from_settings(Settings(_env_file=None)) is None


def test_settings_give_the_directory_its_defaults() -> None:
    settings = Settings(
        _env_file=None,
        ldap_url="ldaps://dc1.plant.test",
        ldap_user_base=PEOPLE,
        ldap_bind_dn=SERVICE_DN,
        ldap_bind_password=SERVICE_PASSWORD,
        ldap_group_roles='{"Operators": "operator", "cn=leads,ou=groups": ["Supervisor"]}',
    )

    config = DirectoryConfig.from_settings(settings)

    assert config is not None
    assert config.group_base == PEOPLE  # groups are searched under the user base by default
    assert config.bind_password == SERVICE_PASSWORD
    assert config.user_filter == "(uid={username})"
    assert settings.ldap_group_roles == {
        "Operators": ["operator"],
        "cn=leads,ou=groups": ["supervisor"],
    }
    assert SERVICE_PASSWORD not in repr(settings)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"ldap_group_roles": '{"operators": ["boss"]}'}, "unknown role 'boss'"),
        ({"ldap_group_roles": "{operators"}, "not valid JSON"),
        ({"ldap_group_roles": '["operators"]'}, "must be a JSON object"),
        ({"ldap_user_filter": "uid={username}"}, "must be in parentheses"),
        ({"ldap_user_filter": "(uid=maria)"}, "must contain {username}"),
        ({"ldap_group_filter": "(member=x)"}, "must contain {user_dn}"),
        ({"ldap_url": "http://dc1"}, "not an ldap:// or ldaps:// URL"),
        ({"ldap_user_base": None}, "PORTAL_LDAP_USER_BASE is required"),
    ],
)
def test_a_mistake_in_the_directory_settings_is_named(values: dict[str, Any], message: str) -> None:
    base = {"ldap_url": "ldap://dc1", "ldap_user_base": PEOPLE}

    with pytest.raises(ValidationError, match=message):
        Settings(_env_file=None, **{**base, **values})


def test_local_accounts_cannot_be_turned_off_without_a_directory() -> None:
    with pytest.raises(ValidationError, match="nobody could sign in"):
        Settings(_env_file=None, local_accounts=False)
