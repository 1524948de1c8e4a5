"""The real servers integration tests use: PostgreSQL and RabbitMQ on this machine, found through
PORTAL_TEST_PG_URL and PORTAL_TEST_AMQP_URL. Each test run gets its own databases and its own
exchange/queue prefix and removes them afterwards, since the servers are shared.

Without a reachable server the test is skipped with the reason, or fails when
PORTAL_REQUIRE_SERVICES=1 (as CI sets it), so integration tests never skip silently there.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterable

import aio_pika
import psycopg
import pytest
from sqlalchemy.engine import make_url

PG_URL = os.environ.get(
    "PORTAL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
AMQP_URL = os.environ.get("PORTAL_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
REQUIRED = os.environ.get("PORTAL_REQUIRE_SERVICES") == "1"
RUN_ID = uuid.uuid4().hex[:8]


def unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (PORTAL_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def require_postgres() -> None:
    url = make_url(PG_URL)
    if not _reachable(url.host or "127.0.0.1", url.port or 5432):
        unavailable(f"PostgreSQL is not reachable at {url.host}:{url.port}")


def require_rabbitmq() -> None:
    url = make_url(AMQP_URL.replace("amqp://", "postgresql://", 1))
    if not _reachable(url.host or "127.0.0.1", url.port or 5672):
        unavailable(f"RabbitMQ is not reachable at {url.host}:{url.port}")


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresDatabases:
    """Creates databases named for this test run and drops them (and their sessions) at the end."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def create(self, name: str) -> str:
        database = f"portal_t{RUN_ID}_{name}_{uuid.uuid4().hex[:4]}"
        with psycopg.connect(_libpq(PG_URL), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        self.created.append(database)
        return make_url(PG_URL).set(database=database).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with psycopg.connect(_libpq(PG_URL), autocommit=True) as conn:
            for database in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        self.created.clear()


def new_bus_prefix() -> str:
    return f"t{RUN_ID}{uuid.uuid4().hex[:4]}."


async def delete_bus_objects(prefix: str, services: Iterable[str]) -> None:
    """Remove the exchanges and queues a test declared under its prefix."""
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        for service in services:
            for queue in (f"{prefix}{service}.events", f"{prefix}{service}.dead"):
                await channel.queue_delete(queue)
        for exchange in (f"{prefix}portal.events", f"{prefix}portal.dead"):
            await channel.exchange_delete(exchange)
    finally:
        await connection.close()


def delete_bus_objects_sync(prefix: str, services: Iterable[str]) -> None:
    asyncio.run(delete_bus_objects(prefix, list(services)))
