"""Store clerks moving and counting the same lot at once, on PostgreSQL: the item's row lock
(services/inventory/stock.py) serialises them, so a lot never gives more than it holds, and
every balance stays the sum of its ledger rows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.auth.tokens import issue_service_token
from shared.runtime import ServiceRuntime
from tests.support.servers import PostgresDatabases
from tests.support.stock import (
    SECRET,
    add_item,
    assert_ledger_matches_balances,
    balances,
    inventory_runtime,
    receive,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


@pytest.fixture
async def store(postgres: PostgresDatabases, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    runtime = inventory_runtime(tmp_path, postgres.create("inventory"))
    add_item(runtime, "BOLT")
    receive(runtime, "BOLT", "5", "10.00", lot="B-1")
    token = issue_service_token(SECRET, user="clerk", roles=["store"], ttl_seconds=300)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=runtime.app),
        base_url="http://inventory",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        client.runtime = runtime  # type: ignore[attr-defined]
        yield client
    runtime.db.dispose()


async def at_once(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> list[int]:
    responses = await asyncio.gather(*(client.post(path, json=body) for _ in range(10)))
    for response in responses:
        assert response.status_code in (201, 409), response.text
    return sorted(response.status_code for response in responses)


async def test_ten_clerks_writing_off_one_bolt_each_from_five_write_off_five(
    store: httpx.AsyncClient,
) -> None:
    body = {
        "sku": "BOLT",
        "location": "RAW",
        "lot": "B-1",
        "qty_delta": "-1",
        "reason_code": "lost",
    }
    assert await at_once(store, "/api/v1/stock/adjustments", body) == [201] * 5 + [409] * 5
    runtime: ServiceRuntime = store.runtime  # type: ignore[attr-defined]
    assert balances(runtime, "BOLT") == {}
    assert_ledger_matches_balances(runtime)


async def test_ten_clerks_moving_one_bolt_each_out_of_five_move_five(
    store: httpx.AsyncClient,
) -> None:
    body = {"sku": "BOLT", "lot": "B-1", "from_location": "RAW", "to_location": "FG", "qty": "1"}
    assert await at_once(store, "/api/v1/stock/transfers", body) == [201] * 5 + [409] * 5
    runtime: ServiceRuntime = store.runtime  # type: ignore[attr-defined]
    assert balances(runtime, "BOLT") == {("FG", "B-1", "approved"): (Decimal(5), Decimal("10.00"))}
    assert_ledger_matches_balances(runtime)
