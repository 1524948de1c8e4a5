"""Concurrent commands on PostgreSQL: one Idempotency-Key, one effect; one unique code, one winner.

Four identical requests carrying the same key arrive together: the first claims the key, the
other three wait on its claim and then replay its response, so there is one item (or vendor) and
four 201s with the same body. Four clerks creating vendor ACME at once without a key: the unique
constraint lets one through and the other three get a 409 asking them to reload, not a 500.

The use case is slowed down (and, without a key, held at a barrier) so that the requests really
overlap inside their transactions instead of happening to run one after another.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services import registry
from services.inventory import service as inventory_service
from services.inventory.models import Item
from services.purchasing import service as purchasing_service
from services.purchasing.models import Vendor
from shared.auth.tokens import issue_service_token
from shared.bus.inprocess import InProcessBus
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from shared.web.problems import InvalidInput
from tests.support.servers import PostgresDatabases

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
SECRET = "web-commands-pg-test-secret-" + "x" * 30
CLIENTS = 4
HOLD_SECONDS = 0.5


def runtime_on(service: str, db_url: str, tmp_path: Path) -> ServiceRuntime:
    runtime = ServiceRuntime(
        registry.definition(service),
        Settings(var_dir=tmp_path),
        InProcessBus(),
        db_url=db_url,
        token_secret=SECRET,
    )
    runtime.migrate()
    runtime.seed()
    return runtime


@pytest.fixture
async def inventory(postgres: PostgresDatabases, tmp_path: Path) -> AsyncIterator[ServiceRuntime]:
    runtime = runtime_on("inventory", postgres.create("inventory"), tmp_path)
    yield runtime
    runtime.db.dispose()


@pytest.fixture
async def purchasing(postgres: PostgresDatabases, tmp_path: Path) -> AsyncIterator[ServiceRuntime]:
    runtime = runtime_on("purchasing", postgres.create("purchasing"), tmp_path)
    yield runtime
    runtime.db.dispose()


def client(runtime: ServiceRuntime, user: str = "clerk") -> httpx.AsyncClient:
    token = issue_service_token(SECRET, user=user, roles=["admin"], ttl_seconds=300)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=runtime.app),
        base_url=f"http://{runtime.name}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )


class Slowed:
    """Wraps a use case: counts its runs, optionally meets a barrier first, then holds on."""

    def __init__(self, use_case: Callable[..., Any], barrier: threading.Barrier | None = None):
        self.use_case = use_case
        self.barrier = barrier
        self.runs = 0
        self.lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            self.runs += 1
        if self.barrier is not None:
            self.barrier.wait(timeout=30)
        result = self.use_case(*args, **kwargs)
        time.sleep(HOLD_SECONDS)  # keep the transaction open while the others arrive
        return result


def count(runtime: ServiceRuntime, model: Any) -> int:
    with runtime.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


async def test_four_identical_keyed_item_creations_make_one_item_and_four_201s(
    inventory: ServiceRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    slowed = Slowed(inventory_service.create_item)
    monkeypatch.setattr(inventory_service, "create_item", slowed)
    body = {"sku": "RESIN-GRY", "name": "Resin, grey, 1 L", "uom": "L"}

    async with client(inventory) as api:
        responses = await asyncio.gather(
            *(
                api.post("/api/v1/items", json=body, headers={"Idempotency-Key": "item-1"})
                for _ in range(CLIENTS)
            )
        )

    assert [r.status_code for r in responses] == [201] * CLIENTS, [r.text for r in responses]
    assert all(r.json() == responses[0].json() for r in responses)
    replayed = [r.headers.get("Idempotent-Replayed") for r in responses]
    assert sorted(replayed, key=str) == [None] + ["true"] * (CLIENTS - 1)
    assert slowed.runs == 1
    assert count(inventory, Item) == 1
    outbox = inventory.definition.tables.outbox
    with inventory.db.session() as session:
        events = session.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.event_type == "ItemUpserted")
        )
    assert events == 1


async def test_four_identical_keyed_vendor_creations_make_one_vendor_and_four_201s(
    purchasing: ServiceRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    slowed = Slowed(purchasing_service.create_vendor)
    monkeypatch.setattr(purchasing_service, "create_vendor", slowed)
    body = {"code": "ACME", "name": "Acme Resins"}

    async with client(purchasing) as api:
        responses = await asyncio.gather(
            *(
                api.post("/api/v1/vendors", json=body, headers={"Idempotency-Key": "vendor-1"})
                for _ in range(CLIENTS)
            )
        )

    assert [r.status_code for r in responses] == [201] * CLIENTS, [r.text for r in responses]
    assert all(r.json() == responses[0].json() for r in responses)
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == CLIENTS - 1
    assert slowed.runs == 1
    assert count(purchasing, Vendor) == 1


async def test_when_the_first_keyed_request_fails_a_waiting_one_takes_the_claim(
    purchasing: ServiceRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = purchasing_service.create_vendor
    calls: list[int] = []

    def first_fails(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            time.sleep(HOLD_SECONDS)
            raise InvalidInput("refused once, for the test")
        return real(*args, **kwargs)

    monkeypatch.setattr(purchasing_service, "create_vendor", first_fails)
    body = {"code": "ACME", "name": "Acme Resins"}

    async with client(purchasing) as api:
        responses = await asyncio.gather(
            *(
                api.post("/api/v1/vendors", json=body, headers={"Idempotency-Key": "vendor-2"})
                for _ in range(CLIENTS)
            )
        )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * (CLIENTS - 1) + [422], [r.text for r in responses]
    created = [r for r in responses if r.status_code == 201]
    assert all(r.json() == created[0].json() for r in created)
    assert len(calls) == 2
    assert count(purchasing, Vendor) == 1


async def test_the_same_key_from_two_users_at_once_is_two_requests(
    purchasing: ServiceRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        purchasing_service, "create_vendor", Slowed(purchasing_service.create_vendor)
    )
    key = {"Idempotency-Key": "shared-key"}

    async with client(purchasing, "maria") as maria, client(purchasing, "jose") as jose:
        responses = await asyncio.gather(
            maria.post("/api/v1/vendors", json={"code": "ACME", "name": "Acme"}, headers=key),
            jose.post("/api/v1/vendors", json={"code": "BETA", "name": "Beta"}, headers=key),
        )

    assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
    assert [r.json()["code"] for r in responses] == ["ACME", "BETA"]
    assert count(purchasing, Vendor) == 2


async def test_four_clerks_creating_the_same_vendor_at_once_get_one_201_and_three_409s(
    purchasing: ServiceRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # All four pass the "does ACME exist?" check before any of them commits.
    slowed = Slowed(purchasing_service.create_vendor, threading.Barrier(CLIENTS))
    monkeypatch.setattr(purchasing_service, "create_vendor", slowed)
    body = {"code": "ACME", "name": "Acme Resins"}

    async with client(purchasing) as api:
        responses = await asyncio.gather(
            *(api.post("/api/v1/vendors", json=body) for _ in range(CLIENTS))
        )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (CLIENTS - 1), [r.text for r in responses]
    for refused in (r for r in responses if r.status_code == 409):
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "concurrent_change"
        assert "reload and retry" in refused.json()["detail"]
    assert slowed.runs == CLIENTS
    assert count(purchasing, Vendor) == 1
