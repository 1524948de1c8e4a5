"""Machines reporting their own state through the real Mosquitto (PORTAL_TEST_MQTT_URL, default
mqtt://127.0.0.1:1883) to a downtime service on PostgreSQL, its worker started by the runtime
as `portal serve` starts it, with the in-process bus:

- a stop, the same stop again, running, then an old stop: exactly one closed, unclassified
  machine stop with the machine's start and end, published as DowntimeRecorded twice;
- the broker connection cut (tests/support/tcp_proxy.py between the worker and Mosquitto) and
  restored: the worker connects again by itself, the message the broker kept for its
  persistent session while it was away lands, and so does one sent after;
- payloads that cannot be read (a time before the year 1 in UTC, JSON nested too deep) and a
  stop from a clock reset to 2000 dropped without the worker leaving its loop, then a stop
  heard after an operator recorded a later one: recorded closed when its "running" comes.

Each test listens under a topic prefix of its own, since the broker is shared. With no
Mosquitto the tests skip, or fail under PORTAL_REQUIRE_SERVICES=1 (tests/support/servers.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiomqtt
import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from services import registry
from services.downtime.entries.models import Downtime
from services.downtime.signals.worker import run_machine_signals
from shared.bus.inprocess import InProcessBus
from shared.events.envelope import Envelope, utc_now
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.support import servers
from tests.support.downtime_plant import SECRET, Plant, set_up_plant
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.timeout(120)
T = TypeVar("T")

MQTT_URL = os.environ.get("PORTAL_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
BROKER = urlsplit(MQTT_URL)
MQTT_HOST, MQTT_PORT = BROKER.hostname or "127.0.0.1", BROKER.port or 1883
LINE = "PRN-01"


@pytest.fixture
def mosquitto() -> str:
    try:
        with socket.create_connection((MQTT_HOST, MQTT_PORT), timeout=2):
            pass
    except OSError:
        servers.unavailable(f"Mosquitto is not reachable at {MQTT_HOST}:{MQTT_PORT}")
    return MQTT_URL


def new_topic_prefix() -> str:
    return f"t{servers.RUN_ID}{uuid.uuid4().hex[:6]}/portal"


@contextlib.asynccontextmanager
async def downtime_service(
    db_url: str, tmp_path: Path, *, own_worker: bool = False, **mqtt: Any
) -> AsyncIterator[tuple[Plant, list[Envelope]]]:
    """The downtime service on `db_url` with the plant of tests/support/downtime_plant.py,
    started (relay, consumer, and its workers unless the test runs its `own_worker`); and the
    DowntimeRecorded events it publishes."""
    runtime = ServiceRuntime(
        registry.definition("downtime"),
        Settings(var_dir=tmp_path, **mqtt),
        InProcessBus(),
        db_url=db_url,
        token_secret=SECRET,
    )
    runtime.migrate()
    with runtime.uow() as uow:
        set_up_plant(uow)
        uow.commit()
    heard: list[Envelope] = []
    await runtime.bus.start()
    await runtime.bus.listen(["DowntimeRecorded"], heard.append)
    await runtime.start(workers=not own_worker)
    try:
        yield Plant(runtime), heard
    finally:
        await runtime.stop()
        await runtime.bus.close()
        runtime.db.dispose()


async def until(check: Callable[[], T], what: str, seconds: float = 30.0) -> T:
    deadline = time.monotonic() + seconds
    while True:
        value = await asyncio.to_thread(check)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}; last saw {value!r}")
        await asyncio.sleep(0.05)


def sample(plant: Plant, name: str, **labels: str) -> float:
    return plant.runtime.metrics.registry.get_sample_value(name, labels) or 0.0


def connected(plant: Plant) -> bool:
    return sample(plant, "portal_machine_signals_connected") == 1.0


def counted(plant: Plant, outcome: str) -> float:
    return sample(plant, "portal_machine_signals_total", outcome=outcome)


def stops(plant: Plant) -> list[tuple[datetime, datetime | None, str | None, str]]:
    with plant.runtime.db.session() as session:
        rows = session.scalars(
            select(Downtime).where(Downtime.line_code == LINE).order_by(Downtime.started_at)
        )
        return [(r.started_at, r.ended_at, r.reason_code, r.source) for r in rows]


async def publish(prefix: str, *payloads: str) -> None:
    """As a machine's controller would: one connection, QoS 1, in order."""
    async with aiomqtt.Client(MQTT_HOST, MQTT_PORT) as machine:
        for payload in payloads:
            await machine.publish(f"{prefix}/plant-1/prn-01/state", payload, qos=1)


def whole_seconds_ago(minutes: int) -> datetime:
    return (utc_now() - timedelta(minutes=minutes)).replace(microsecond=0)


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def test_a_machine_stop_repeated_then_ended_then_heard_late_is_one_closed_stop(
    mosquitto: str, postgres: servers.PostgresDatabases, tmp_path: Path
) -> None:
    prefix = new_topic_prefix()
    stopped_at, running_at = whole_seconds_ago(30), whole_seconds_ago(18)
    async with downtime_service(
        postgres.create("downtime"), tmp_path, mqtt_url=mosquitto, mqtt_topic_prefix=prefix
    ) as (plant, heard):
        await until(lambda: connected(plant), "the worker subscribed")
        await publish(prefix, f'{{"state": "stopped", "at": "{stamp(stopped_at)}"}}')
        await until(lambda: stops(plant), "the machine's stop")
        async with plant.client("operator") as operator:
            running = (await operator.get(f"/api/v1/lines/{LINE}/floor")).json()["running"]
        assert (running["source"], running["reason_code"]) == ("machine", None)

        await publish(
            prefix,
            f"stopped {stamp(stopped_at)}",  # the same message again
            f"running {stamp(running_at)}",
            f"stopped {stamp(stopped_at + timedelta(minutes=5))}",  # older than the running
        )
        await until(lambda: counted(plant, "ignored_older") == 1, "the old stop dropped")
        await until(lambda: len(heard) == 2, "both DowntimeRecorded published")

        assert stops(plant) == [(stopped_at, running_at, None, "machine")]
        figures = {o: counted(plant, o) for o in ("opened", "ignored_repeat", "closed")}
        assert figures == {"opened": 1.0, "ignored_repeat": 1.0, "closed": 1.0}
        async with plant.client("operator") as operator:
            listed = (await operator.get("/api/v1/downtimes", params={"line_code": LINE})).json()
        [entry] = listed["items"]
        assert (entry["duration_seconds"], entry["running"], entry["source"]) == (
            "720",
            False,
            "machine",
        )
        assert [(e.key, e.payload["ended_at"]) for e in heard] == [
            (f"downtime:{entry['id']}", None),
            (f"downtime:{entry['id']}", stamp(running_at)),
        ]
        assert [e.sequence for e in heard] == [1, 2]


async def test_the_worker_connects_again_after_the_broker_connection_is_cut(
    mosquitto: str, postgres: servers.PostgresDatabases, tmp_path: Path
) -> None:
    prefix = new_topic_prefix()
    client_id = f"portal-test-{servers.RUN_ID}-{uuid.uuid4().hex[:6]}"
    proxy = TcpProxy(MQTT_HOST, MQTT_PORT)
    await proxy.start()
    first, back_up, second = whole_seconds_ago(40), whole_seconds_ago(35), whole_seconds_ago(20)
    try:
        async with downtime_service(
            postgres.create("downtime"),
            tmp_path,
            mqtt_url=f"mqtt://{proxy.host}:{proxy.port}",
            mqtt_topic_prefix=prefix,
            mqtt_client_id=client_id,
            own_worker=True,
        ) as (plant, heard):
            worker = asyncio.create_task(
                run_machine_signals(
                    plant.runtime,
                    retry_first_seconds=0.1,
                    retry_max_seconds=0.5,
                    # The proxy takes a connection while cut and drops it without a word.
                    connect_timeout_seconds=2.0,
                )
            )
            try:
                with capture_logs() as logs:
                    await until(lambda: connected(plant), "the worker subscribed")
                    await publish(prefix, f"stopped {stamp(first)}")
                    await until(lambda: stops(plant), "the first stop")

                    await proxy.cut()
                    await until(lambda: not connected(plant), "the worker to notice the cut")
                    # Sent while the worker is away: the broker keeps it for its session.
                    await publish(prefix, f"running {stamp(back_up)}")
                    await asyncio.sleep(1.0)  # a few refused reconnects
                    assert stops(plant) == [(first, None, None, "machine")]
                    proxy.restore()

                    await until(lambda: connected(plant), "the worker connected again")
                    await until(lambda: stops(plant)[0][1] is not None, "the kept message")
                    await publish(prefix, f"stopped {stamp(second)}")
                    await until(lambda: len(stops(plant)) == 2, "a message after the cut")
            finally:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker

        assert stops(plant) == [
            (first, back_up, None, "machine"),
            (second, None, None, "machine"),
        ]
        assert len(heard) == 3
        lost = [e for e in logs if e["event"] == "machine_signals.broker_lost"]
        assert lost and all(e["broker"] == f"{proxy.host}:{proxy.port}" for e in lost)
        assert len([e for e in logs if e["event"] == "machine_signals.listening"]) == 2
        assert proxy.accepted >= 2
    finally:
        await proxy.close()
        # The broker keeps a persistent session (and its queue) until told otherwise.
        async with aiomqtt.Client(MQTT_HOST, MQTT_PORT, identifier=client_id, clean_session=True):
            pass


async def test_bad_messages_leave_the_worker_listening_and_a_stop_heard_late_is_recorded(
    mosquitto: str, postgres: servers.PostgresDatabases, tmp_path: Path
) -> None:
    prefix = new_topic_prefix()
    stopped_at, running_at = whole_seconds_ago(60), whole_seconds_ago(50)
    entered_from, entered_to = whole_seconds_ago(40), whole_seconds_ago(35)
    async with downtime_service(
        postgres.create("downtime"), tmp_path, mqtt_url=mosquitto, mqtt_topic_prefix=prefix
    ) as (plant, heard):
        await until(lambda: connected(plant), "the worker subscribed")
        # The operator records a stop after the fact before the machine's messages arrive.
        async with plant.client("operator") as operator:
            entered = await operator.post(
                "/api/v1/downtimes",
                json={
                    "line_code": LINE,
                    "reason_code": "MECH-BELT",
                    "started_at": stamp(entered_from),
                    "ended_at": stamp(entered_to),
                },
            )
            assert entered.status_code == 201, entered.text
        with capture_logs() as logs:
            await publish(
                prefix,
                "stopped 0001-01-01T00:00:00+01:00",
                "[" * 1000,
                "stopped 2000-01-01T00:00:00Z",
                f"stopped {stamp(stopped_at)}",
                f"running {stamp(running_at)}",
            )
            await until(lambda: counted(plant, "recorded") == 1, "the late stop recorded")
        assert stops(plant) == [
            (stopped_at, running_at, None, "machine"),
            (entered_from, entered_to, "MECH-BELT", "manual"),
        ]
        figures = {o: counted(plant, o) for o in ("bad_message", "too_old", "pending", "failed")}
        assert figures == {"bad_message": 2.0, "too_old": 1.0, "pending": 1.0, "failed": 0.0}
        # One connection throughout: no reconnect, nothing failed.
        assert connected(plant)
        assert not [
            e["event"]
            for e in logs
            if e["event"]
            in (
                "machine_signals.listening",
                "machine_signals.broker_lost",
                "machine_signals.failed",
            )
        ]
        await until(lambda: len(heard) == 2, "both DowntimeRecorded published")
        assert [(e.payload["source"], e.payload["ended_at"]) for e in heard] == [
            ("manual", stamp(entered_to)),
            ("machine", stamp(running_at)),
        ]
