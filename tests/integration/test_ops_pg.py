"""The ops API on PostgreSQL and RabbitMQ: a poison receipt dies into a dead letter, the status
names the broker's queue and its lag, only one of two replicas' relays is the leader, and a
replay after the fix applies the receipt once."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.inventory import service as inventory_service
from services.inventory.schemas import ItemCreate
from services.registry import definition
from services.standalone import make_bus
from shared.auth.tokens import issue_service_token
from shared.bus.rabbitmq import RabbitMQBus
from shared.runtime import ServiceRuntime
from shared.settings import SERVICES, Settings
from tests.support import servers
from tests.unit.test_ops_embedded import GHOST, receipt_of_an_unknown_item

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
SECRET = "ops-test-secret-" + "x" * 32


def client_of(runtime: ServiceRuntime) -> httpx.AsyncClient:
    token = issue_service_token(SECRET, user="admin", roles=["admin"], ttl_seconds=300)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=runtime.app),
        base_url="http://inventory",
        headers={"authorization": f"Bearer {token}"},
    )


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def test_a_dead_letter_on_postgres_and_rabbitmq_is_shown_and_replayed_once(
    postgres: servers.PostgresDatabases, rabbitmq: str, tmp_path: Path
) -> None:
    prefix = servers.new_bus_prefix()
    settings = Settings(
        var_dir=tmp_path,
        amqp_url=rabbitmq,
        bus_prefix=prefix,
        relay_poll_seconds=0.1,
        handler_backoff_seconds=0,
    )
    db_url = postgres.create("inventory")
    runtimes: list[ServiceRuntime] = []

    def replica() -> ServiceRuntime:
        rt = ServiceRuntime(
            definition("inventory"),
            settings,
            make_bus(settings),
            db_url=db_url,
            token_secret=SECRET,
        )
        runtimes.append(rt)
        return rt

    try:
        inventory = replica()
        inventory.migrate()
        inventory.seed()
        await inventory.bus.start()
        await inventory.start()
        await inventory.relay.publish_pending()  # takes the advisory lock
        second = replica()
        await second.bus.start()
        await second.start(consume=False)
        await second.relay.publish_pending()  # finds the lock taken

        publisher = RabbitMQBus(rabbitmq, prefix)
        await publisher.start()
        poison = receipt_of_an_unknown_item()
        try:
            await publisher.publish([poison])
        finally:
            await publisher.close()

        async with client_of(inventory) as api, client_of(second) as other:
            for _ in range(200):
                status = ok(await api.get("/api/v1/ops/status"))
                if status["dead_letters"]["open"] == 1:
                    break
                await asyncio.sleep(0.05)
            assert status["dead_letters"] == {"open": 1, "replayed": 0}
            (queue,) = status["queues"]
            assert queue["queue"] == f"{prefix}inventory.events"
            assert queue["lag"] == 0
            assert status["relay"]["leader"] is True
            assert ok(await other.get("/api/v1/ops/status"))["relay"]["leader"] is False

            (letter,) = ok(await api.get("/api/v1/ops/dead-letters"))["items"]
            assert letter["event_id"] == str(poison.id)
            assert letter["queue"] == f"{prefix}inventory.events"

            with inventory.uow() as uow:
                inventory_service.create_item(
                    uow, ItemCreate(sku=GHOST, name="The item nobody created", uom="ea")
                )
                uow.commit()
            replay = f"/api/v1/ops/dead-letters/{letter['id']}/replay"
            first, again = await asyncio.gather(api.post(replay), other.post(replay))
            # Two replicas replaying at once: the inbox lets one apply it, the mark lets one say so.
            outcomes = [ok(first)["outcome"], ok(again)["outcome"]]
            assert outcomes.count("replayed") <= 1, outcomes
            assert set(outcomes) <= {"replayed", "already_replayed", "already_handled"}
            stock = ok(await api.get(f"/api/v1/items/{GHOST}/stock"))
            assert Decimal(stock["on_hand"]) == Decimal("7")
            assert ok(await api.get("/api/v1/ops/status"))["dead_letters"] == {
                "open": 0,
                "replayed": 1,
            }
    finally:
        for rt in runtimes:
            await rt.stop()
            await rt.bus.close()
            rt.db.dispose()
        await servers.delete_bus_objects(prefix, SERVICES)
