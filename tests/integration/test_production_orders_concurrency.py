"""Production orders under concurrent requests on PostgreSQL: the order's row lock makes two
tablets at one order queue, so a double submit never counts twice and a shortfall is never
reprinted twice (DESIGN §5).

Production runs alone with a fake inventory (tests/support/production_floor.py).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.production_floor import WIDGET, Floor, production_floor
from tests.support.servers import PostgresDatabases

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
ORDERS = "/api/v1/production-orders"


@pytest.fixture
async def floor(postgres: PostgresDatabases, tmp_path: Path) -> AsyncIterator[Floor]:
    async with production_floor(tmp_path, db_url=postgres.create("production")) as floor:
        yield floor


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def test_ten_qc_stations_closing_one_order_at_once_make_one_decision_and_one_reprint(
    floor: Floor,
) -> None:
    async with floor.client("supervisor") as api:
        code = ok(await api.post(ORDERS, json={"sku": WIDGET, "qty_ordered": "10"}), 201)["code"]
        ok(await api.post(f"{ORDERS}/{code}/start", json={}))
        run = {"qty_good": "10"}
        ok(await api.post(f"{ORDERS}/{code}/runs", json=run), 201)
        decision = {"qty_passed": "8", "qty_failed": "2", "reason_code": "SURFACE"}
        answers = await asyncio.gather(
            *(api.post(f"{ORDERS}/{code}/qc", json=decision) for _ in range(10))
        )
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses[201] == 1, [a.text for a in answers if a.status_code >= 500]
    assert set(statuses) <= {201, 409, 422}
    async with floor.client("viewer") as viewer:
        order = ok(await viewer.get(f"{ORDERS}/{code}"))
    assert (Decimal(order["qty_passed"]), Decimal(order["qty_failed"])) == (8, 2)
    assert len(order["qc_records"]) == 1
    assert len(floor.events("QCPassed", code)) == 1
    assert len(floor.events("ReprintCreated")) == 1


async def test_runs_reported_at_once_are_all_counted_each_under_its_own_id(floor: Floor) -> None:
    async with floor.client("supervisor") as api:
        code = ok(await api.post(ORDERS, json={"sku": WIDGET, "qty_ordered": "10"}), 201)["code"]
        ok(await api.post(f"{ORDERS}/{code}/start", json={}))
        run = {"qty_good": "1", "final_run": False}
        answers = await asyncio.gather(
            *(api.post(f"{ORDERS}/{code}/runs", json=run) for _ in range(10))
        )
        assert [a.status_code for a in answers] == [201] * 10, [a.text for a in answers]
        order = ok(await api.get(f"{ORDERS}/{code}"))
    assert Decimal(order["qty_good"]) == 10
    assert sorted(r["run_id"] for r in order["runs"]) == sorted(
        f"{code}-R{n}" for n in range(1, 11)
    )
    assert len(floor.events("PrintCompleted", code)) == 10


async def test_one_order_started_from_ten_tablets_at_once_starts_once(floor: Floor) -> None:
    async with floor.client("supervisor") as api:
        code = ok(await api.post(ORDERS, json={"sku": WIDGET, "qty_ordered": "3"}), 201)["code"]
        answers = await asyncio.gather(
            *(api.post(f"{ORDERS}/{code}/start", json={}) for _ in range(10))
        )
    assert [a.status_code for a in answers] == [200] * 10, [a.text for a in answers]
    [started_at] = {a.json()["started_at"] for a in answers}
    assert started_at is not None
    assert len(floor.events("ProductionStarted", code)) == 1


async def test_orders_created_at_once_get_gapless_codes(floor: Floor) -> None:
    async with floor.client("planner") as api:
        answers = await asyncio.gather(
            *(api.post(ORDERS, json={"sku": WIDGET, "qty_ordered": "1"}) for _ in range(12))
        )
    codes = sorted(ok(answer, 201)["code"] for answer in answers)
    numbers = [int(code.rsplit("-", 1)[1]) for code in codes]
    assert numbers == list(range(1, 13))
