"""Fixtures shared by every test: the real servers (see tests/support/servers.py and slapd.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import servers, slapd


@pytest.fixture
def postgres() -> Iterator[servers.PostgresDatabases]:
    servers.require_postgres()
    databases = servers.PostgresDatabases()
    try:
        yield databases
    finally:
        databases.drop_all()


@pytest.fixture
def rabbitmq() -> str:
    servers.require_rabbitmq()
    return servers.AMQP_URL


@pytest.fixture(scope="session")
def ldap_directory() -> Iterator[slapd.LdapDirectory]:
    """A real OpenLDAP server with the test directory (tests/support/ldap/directory.ldif).

    One per test session: a test that changes the directory puts it back.
    """
    slapd.require_slapd()
    directory = slapd.start_directory()
    try:
        yield directory
    finally:
        slapd.remove(directory)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: they are the slowest, and the quick failures come first."""
    items.sort(key=lambda item: "tests/browser/" in item.nodeid)
