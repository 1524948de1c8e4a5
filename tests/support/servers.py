"""The real servers integration tests use: PostgreSQL and RabbitMQ on this machine, found through
PORTAL_TEST_PG_URL and PORTAL_TEST_AMQP_URL. Each test run gets its own databases and its own
exchange/queue prefix and removes them afterwards, since the servers are shared.

When a server is not reachable and a Docker engine is, a throwaway container is started with
testcontainers instead (once per test session) and removed at exit. With neither, the test is
skipped with the reason, or fails when PORTAL_REQUIRE_SERVICES=1 (as CI sets it), so
integration tests never skip silently there.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import socket
import subprocess
import time
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
    global PG_URL
    url = make_url(PG_URL)
    if _reachable(url.host or "127.0.0.1", url.port or 5432):
        return
    started = _container_url("postgres")
    if started is None:
        unavailable(f"PostgreSQL is not reachable at {url.host}:{url.port} and no Docker engine")
    else:
        PG_URL = started


def require_rabbitmq() -> None:
    global AMQP_URL
    url = make_url(AMQP_URL.replace("amqp://", "postgresql://", 1))
    if _reachable(url.host or "127.0.0.1", url.port or 5672):
        return
    started = _container_url("rabbitmq")
    if started is None:
        unavailable(f"RabbitMQ is not reachable at {url.host}:{url.port} and no Docker engine")
    else:
        AMQP_URL = started


_containers: dict[str, str | None] = {}


def _docker_engine() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=15).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _container_url(kind: str) -> str | None:
    """Start (once) a throwaway PostgreSQL or RabbitMQ container; None without Docker."""
    if kind not in _containers:
        _containers[kind] = _start_container(kind) if _docker_engine() else None
    return _containers[kind]


def _start_container(kind: str) -> str:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    if kind == "postgres":
        container = (
            DockerContainer("postgres:15")
            .with_exposed_ports(5432)
            .with_env("POSTGRES_HOST_AUTH_METHOD", "trust")
        )
        ready = "database system is ready to accept connections"
        port, template = 5432, "postgresql+psycopg://postgres@{host}:{port}/postgres"
    else:
        container = DockerContainer("rabbitmq:3.13").with_exposed_ports(5672)
        ready = "Server startup complete"
        port, template = 5672, "amqp://guest:guest@{host}:{port}/"
    container.start()
    atexit.register(container.stop)
    wait_for_logs(container, ready, timeout=120)
    host, mapped = container.get_container_host_ip(), container.get_exposed_port(port)
    deadline = time.monotonic() + 60
    while not _reachable(host, int(mapped)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return template.format(host=host, port=mapped)


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


async def delete_bus_objects(prefix: str, services: Iterable[str] = ()) -> None:
    """Remove the exchanges and queues a test declared under its prefix: those of `services`
    and of every consumer in the routing map, since any service's bus declares them all."""
    from shared.events.routing import CONSUMERS

    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        for service in dict.fromkeys([*services, *CONSUMERS]):
            for queue in (f"{prefix}{service}.events", f"{prefix}{service}.dead"):
                await channel.queue_delete(queue)
        for exchange in (f"{prefix}portal.events", f"{prefix}portal.dead"):
            await channel.exchange_delete(exchange)
    finally:
        await connection.close()


def delete_bus_objects_sync(prefix: str, services: Iterable[str]) -> None:
    asyncio.run(delete_bus_objects(prefix, list(services)))
