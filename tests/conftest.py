"""Fixtures shared by every test: the real servers (see tests/support/servers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import servers


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
