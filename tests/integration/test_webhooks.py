"""The QuickBooks feed delivering for real: the accounting service's webhook worker POSTs to a
local receiver (a real HTTP server in a thread) that verifies every signature with
`standardwebhooks.Webhook.verify` and drops a webhook-id it has seen before, as the Standard
Webhooks spec asks receivers to.

- the receiver down for a while, then up: each entry is delivered and accepted once;
- a slow receiver: the attempt times out, is logged, and the retry is dropped as a duplicate;
- a receiver that refuses (wrong secret, 401): retried on the schedule, then failed;
- a restart: the worker stopped with deliveries pending (one of them claimed by the process
  that "died" mid-POST), a new runtime on the same PostgreSQL database delivers them all;
- two replicas on one PostgreSQL database: each entry queued and sent once;
- bad input on PostgreSQL: a 4xx problem+json naming the field, nothing stored.

The worker's figures are shortened (timeout 0.5 s, retries after fractions of a second); the
code under test is the one the service runs. No mocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError

from services.accounting.quickbooks import service
from services.accounting.quickbooks.domain import DeliveryConfig
from services.accounting.quickbooks.models import WebhookDelivery, WebhookSubscription
from services.accounting.quickbooks.worker import run_webhook_worker
from shared.events.envelope import utc_now
from shared.runtime import ServiceRuntime
from tests.support.servers import PostgresDatabases
from tests.unit.test_quickbooks_api import accounting_runtime, client, count, post_entry

pytestmark = pytest.mark.timeout(180)
T = TypeVar("T")

# A slow receiver's timeout; the other tests allow 2 s, so that a busy machine (two cores
# shared by several test runs) does not turn a quick answer into a timeout and a retry.
TIMEOUT = 0.5
FAST = DeliveryConfig(
    timeout_seconds=2.0,
    poll_seconds=0.05,
    claim_margin_seconds=0.5,
    settle_seconds=0,
    retry_delays=tuple(timedelta(seconds=s) for s in (0.2, 0.2, 0.4, 0.4, 0.8, 0.8, 1.6)),
)
DAY = date(2026, 11, 26)


# --- the receiver -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RoomyServer(ThreadingHTTPServer):
    """The standard server takes 5 waiting connections; two replicas sending a batch each at
    once can have more, and the sixth would be reset (a retry the test would count as a
    second claim)."""

    request_queue_size = 128


class Receiver:
    """A webhook receiver as its owner would write one: verify, drop duplicates, then act."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.port = free_port()
        self.accepted: dict[str, dict[str, Any]] = {}  # webhook-id -> body
        self.duplicates = 0
        self.refused = 0
        # Seconds to keep a caller waiting after taking a new message (a slow receiver).
        self.answer_new_after = 0.0
        self.lock = threading.Lock()
        self.server: RoomyServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/quickbooks"

    @property
    def doc_numbers(self) -> list[str]:
        with self.lock:
            return sorted(body["DocNumber"] for body in self.accepted.values())

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length).decode()
                headers = {name.lower(): value for name, value in self.headers.items()}
                status, answer = receiver.take(raw, headers)
                with contextlib.suppress(OSError):  # the sender may have given up
                    self.send_response(status)
                    self.send_header("content-type", "text/plain")
                    self.end_headers()
                    self.wfile.write(answer.encode())

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = RoomyServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.server = server

    def take(self, raw: str, headers: dict[str, str]) -> tuple[int, str]:
        try:
            body = Webhook(self.secret).verify(raw, headers)
        except WebhookVerificationError as exc:
            with self.lock:
                self.refused += 1
            return 401, f"bad signature: {exc}"
        webhook_id = headers["webhook-id"]
        with self.lock:
            if webhook_id in self.accepted:
                self.duplicates += 1
                return 200, "duplicate, dropped"
            self.accepted[webhook_id] = body
        time.sleep(self.answer_new_after)
        return 200, f"booked {body['DocNumber']}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for receiver in made:
        receiver.stop()


# --- helpers ------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def worker(runtime: ServiceRuntime, config: DeliveryConfig = FAST) -> AsyncIterator[None]:
    task = asyncio.create_task(run_webhook_worker(runtime, config))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(check: Callable[[], T], what: str, seconds: float = 30.0) -> T:
    deadline = time.monotonic() + seconds
    while True:
        value = await asyncio.to_thread(check)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}; last saw {value!r}")
        await asyncio.sleep(0.05)


def statuses(runtime: ServiceRuntime) -> dict[str, tuple[str, int]]:
    """Entry number -> (status, attempts) of every delivery."""
    with runtime.db.session() as session:
        rows = session.execute(
            select(WebhookDelivery.entry_number, WebhookDelivery.status, WebhookDelivery.attempts)
        ).all()
    return {number: (status, attempts) for number, status, attempts in rows}


def all_delivered(runtime: ServiceRuntime, numbers: list[str]) -> Callable[[], bool]:
    def check() -> bool:
        seen = statuses(runtime)
        return sorted(seen) == numbers and all(s == "delivered" for s, _n in seen.values())

    return check


async def subscribe(runtime: ServiceRuntime, receiver_url: str, **fields: Any) -> dict[str, Any]:
    async with client(runtime) as api:
        response = await api.post(
            "/api/v1/webhooks/subscriptions",
            json={"name": "QuickBooks", "url": receiver_url, **fields},
        )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def delivery_log(runtime: ServiceRuntime, delivery_id: int) -> dict[str, Any]:
    async with client(runtime) as api:
        response = await api.get(f"/api/v1/webhooks/deliveries/{delivery_id}")
    assert response.status_code == 200, response.text
    log: dict[str, Any] = response.json()
    return log


@pytest.fixture
def sqlite_runtime(tmp_path: Path) -> Iterator[ServiceRuntime]:
    runtime = accounting_runtime(tmp_path)
    yield runtime
    runtime.db.dispose()


# --- SQLite (the embedded mode) -----------------------------------------------------------------


async def test_a_receiver_down_for_a_while_gets_each_entry_once_when_it_is_back(
    sqlite_runtime: ServiceRuntime, receivers: list[Receiver]
) -> None:
    runtime = sqlite_runtime
    receiver = Receiver("")
    receivers.append(receiver)
    receiver.secret = (await subscribe(runtime, receiver.url))["secret"]
    numbers = [
        post_entry(runtime, DAY, "12.5"),
        post_entry(runtime, DAY, "7", entry_type="manual", debit="1000", credit="3000"),
        post_entry(runtime, DAY, "0.3333"),
    ]

    async with worker(runtime):
        await until(
            lambda: (
                len(statuses(runtime)) == 3 and all(n >= 2 for _s, n in statuses(runtime).values())
            ),
            "two refused attempts of each delivery",
        )
        receiver.start()
        await until(all_delivered(runtime, numbers), "every delivery once the receiver is up")

    assert receiver.doc_numbers == ["JE-2026-00001", "JE-2026-00002", "JE-2026-00003"]
    assert (receiver.duplicates, receiver.refused) == (0, 0)
    bodies = {body["DocNumber"]: body for body in receiver.accepted.values()}
    assert [line["Amount"] for line in bodies["JE-2026-00003"]["Line"]] == ["0.3333", "0.3333"]
    assert bodies["JE-2026-00002"]["portal"]["entry_type"] == "manual"
    log = await delivery_log(runtime, 1)
    refused = [a for a in log["attempt_log"] if a["status_code"] is None]
    assert len(refused) >= 2 and all(a["error"].startswith("ConnectError") for a in refused)
    assert [a["status_code"] for a in log["attempt_log"]][-1] == 200
    assert log["last_response_excerpt"] == "booked JE-2026-00001"
    assert log["webhook_id"] in receiver.accepted


async def test_a_slow_receiver_times_out_and_the_retry_is_dropped_as_a_duplicate(
    sqlite_runtime: ServiceRuntime, receivers: list[Receiver]
) -> None:
    runtime = sqlite_runtime
    receiver = Receiver("")
    receivers.append(receiver)
    receiver.answer_new_after = 6 * TIMEOUT  # takes the entry, answers too late
    receiver.start()
    receiver.secret = (await subscribe(runtime, receiver.url))["secret"]
    number = post_entry(runtime, DAY, "40")

    async with worker(runtime, replace(FAST, timeout_seconds=TIMEOUT)):
        await until(all_delivered(runtime, [number]), "the retry after the timeout")

    log = await delivery_log(runtime, 1)
    first, second = log["attempt_log"]
    assert (first["status_code"], first["error"]) == (None, "no answer within 0.5 s")
    assert 500 <= first["duration_ms"] < 3000  # gave up before the answer came
    assert (second["status_code"], second["response_excerpt"]) == (200, "duplicate, dropped")
    assert (log["status"], log["attempts"]) == ("delivered", 2)
    assert receiver.doc_numbers == [number]
    assert receiver.duplicates == 1


async def test_a_receiver_that_refuses_the_signature_is_retried_then_the_delivery_fails(
    sqlite_runtime: ServiceRuntime, receivers: list[Receiver]
) -> None:
    runtime = sqlite_runtime
    receiver = Receiver("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")  # not the subscription's
    receivers.append(receiver)
    receiver.start()
    await subscribe(runtime, receiver.url)
    number = post_entry(runtime, DAY, "5")
    three_tries = replace(FAST, retry_delays=(timedelta(seconds=0.1), timedelta(seconds=0.1)))

    async with worker(runtime, three_tries):
        await until(lambda: statuses(runtime).get(number, ("",))[0] == "failed", "failure")

    log = await delivery_log(runtime, 1)
    assert (log["status"], log["attempts"], log["last_status_code"]) == ("failed", 3, 401)
    assert log["next_attempt_at"] is None
    assert log["last_response_excerpt"] == "bad signature: No matching signature found"
    assert [a["status_code"] for a in log["attempt_log"]] == [401, 401, 401]
    assert (receiver.refused, receiver.accepted) == (3, {})


# --- PostgreSQL (a deployment) ------------------------------------------------------------------


@pytest.mark.integration
async def test_deliveries_pending_at_a_restart_are_sent_by_the_next_process(
    postgres: PostgresDatabases, tmp_path: Path, receivers: list[Receiver]
) -> None:
    url = postgres.create("accounting")
    first = accounting_runtime(tmp_path / "first", url)
    receiver = Receiver("")
    receivers.append(receiver)
    receiver.secret = (await subscribe(first, receiver.url))["secret"]
    numbers = [post_entry(first, DAY, "10"), post_entry(first, DAY, "20")]
    async with worker(first):  # the receiver is down: every attempt fails
        await until(
            lambda: len(statuses(first)) == 2 and all(n >= 1 for _s, n in statuses(first).values()),
            "a failed attempt of each delivery",
        )
    numbers.append(post_entry(first, DAY, "30"))
    # The first process's last act: it queues and claims the third entry, then dies mid-POST.
    with first.uow() as uow:
        service.queue_new_entries(uow, 1, utc_now(), FAST)
        uow.commit()
    with first.uow() as uow:
        dying = service.claim_due_deliveries(uow, utc_now(), FAST)
        uow.commit()
    assert statuses(first)[numbers[2]] == ("pending", 1)
    assert 3 in [claim.delivery_id for claim in dying]
    first.db.dispose()

    second = accounting_runtime(tmp_path / "second", url)
    receiver.start()
    try:
        async with worker(second):
            await until(all_delivered(second, numbers), "the pending deliveries after restart")
        log = await delivery_log(second, 3)
    finally:
        second.db.dispose()

    assert receiver.doc_numbers == numbers == ["JE-2026-00001", "JE-2026-00002", "JE-2026-00003"]
    assert receiver.duplicates == 0
    # The dead process's claim counted an attempt that left no row; the next one delivered.
    assert (log["attempts"], [a["attempt_no"] for a in log["attempt_log"]]) == (2, [2])


@pytest.mark.integration
async def test_two_replicas_queue_and_send_each_entry_once(
    postgres: PostgresDatabases, tmp_path: Path, receivers: list[Receiver]
) -> None:
    url = postgres.create("accounting")
    replicas = [accounting_runtime(tmp_path / name, url) for name in ("a", "b")]
    receiver = Receiver("")
    receivers.append(receiver)
    receiver.start()
    receiver.secret = (await subscribe(replicas[0], receiver.url))["secret"]
    try:
        # A timeout long enough that no claim runs out on a busy machine: a second attempt
        # would then mean two replicas claimed one delivery.
        patient = replace(FAST, timeout_seconds=5.0, claim_margin_seconds=5.0)
        async with worker(replicas[0], patient), worker(replicas[1], patient):
            numbers = []
            for n in range(24):
                numbers.append(await asyncio.to_thread(post_entry, replicas[n % 2], DAY, "1"))
            await until(all_delivered(replicas[0], numbers), "24 deliveries", seconds=60)
        seen = statuses(replicas[1])
    finally:
        for replica in replicas:
            replica.db.dispose()

    assert receiver.doc_numbers == numbers
    assert receiver.duplicates == 0
    assert sorted(attempts for _status, attempts in seen.values()) == [1] * 24


@pytest.mark.integration
async def test_bad_webhook_input_is_a_4xx_naming_the_field_and_stores_nothing(
    postgres: PostgresDatabases, tmp_path: Path
) -> None:
    runtime = accounting_runtime(tmp_path, postgres.create("accounting"))
    try:
        async with client(runtime) as api:
            not_web = await api.post(
                "/api/v1/webhooks/subscriptions", json={"name": "QB", "url": "ftp://qb.local/x"}
            )
            created = await api.post(
                "/api/v1/webhooks/subscriptions", json={"name": "QB", "url": "https://qb.local/x"}
            )
            bad_patch = await api.patch(
                "/api/v1/webhooks/subscriptions/1", json={"url": "mailto:books@qb.local"}
            )
            huge_id = await api.get(f"/api/v1/webhooks/subscriptions/{2**63}")
            unknown = await api.post(
                "/api/v1/webhooks/replay",
                json={"subscription_id": 9, "date_from": "2026-11-01", "date_to": "2026-11-30"},
            )
            bad_json = await api.post(
                "/api/v1/webhooks/subscriptions",
                content=b'{"name": "QB", "url": ',
                headers={"content-type": "application/json"},
            )
        with runtime.db.session() as session:
            urls = list(session.scalars(select(WebhookSubscription.url)))
        queued = count(runtime, WebhookDelivery)
    finally:
        runtime.db.dispose()

    assert (not_web.status_code, not_web.json()["field"]) == (422, "url")
    assert created.status_code == 201
    assert (bad_patch.status_code, bad_patch.json()["field"]) == (422, "url")
    assert huge_id.status_code == 422
    assert (unknown.status_code, unknown.json()["field"]) == (404, "subscription_id")
    assert bad_json.status_code == 400
    assert all(
        r.headers["content-type"].startswith("application/problem+json")
        for r in (not_web, bad_patch, huge_id, unknown, bad_json)
    )
    assert urls == ["https://qb.local/x"]
    assert queued == 0
