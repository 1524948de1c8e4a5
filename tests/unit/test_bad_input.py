"""Bad input at the service APIs: a 4xx problem+json that names the field or the reason, and
nothing written, nothing published (DESIGN §6). Runs inventory and purchasing on SQLite with
the in-process bus; the state of both databases is compared before and after each request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import MetaData, func, select

from services import registry
from shared.auth.tokens import issue_service_token
from shared.bus.inprocess import InProcessBus
from shared.events.envelope import utc_now
from shared.runtime import ServiceRuntime
from shared.settings import Settings

SECRET = "bad-input-test-secret-" + "x" * 30


class Plant:
    def __init__(self, runtimes: dict[str, ServiceRuntime]) -> None:
        self.runtimes = runtimes
        token = issue_service_token(SECRET, user="clerk", roles=["admin"], ttl_seconds=300)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.clients = {
            name: httpx.AsyncClient(
                transport=httpx.ASGITransport(app=rt.app),
                base_url=f"http://{name}",
                headers=self.headers,
            )
            for name, rt in runtimes.items()
        }

    def snapshot(self) -> dict[str, int]:
        """Row counts of every table of both services, outbox included."""
        counts = {}
        for name, runtime in self.runtimes.items():
            tables = MetaData()
            tables.reflect(runtime.db.engine)
            with runtime.db.engine.connect() as conn:
                for table in tables.sorted_tables:
                    count = conn.execute(select(func.count()).select_from(table)).scalar_one()
                    counts[f"{name}.{table.name}"] = int(count)
        return counts


@pytest.fixture
async def plant(tmp_path: Path) -> AsyncIterator[Plant]:
    settings = Settings(var_dir=tmp_path)
    bus = InProcessBus()
    runtimes = {
        name: ServiceRuntime(registry.definition(name), settings, bus, token_secret=SECRET)
        for name in ("inventory", "purchasing")
    }
    for runtime in runtimes.values():
        runtime.migrate()
        runtime.seed()
    await bus.start()
    for runtime in runtimes.values():
        await runtime.start()
    plant = Plant(runtimes)
    inventory, purchasing = plant.clients["inventory"], plant.clients["purchasing"]
    assert (
        await inventory.post("/api/v1/items", json={"sku": "RESIN", "name": "Resin"})
    ).status_code == 201
    assert (
        await purchasing.post("/api/v1/vendors", json={"code": "ACME", "name": "Acme"})
    ).status_code == 201
    for _ in range(100):
        known = (await purchasing.get("/api/v1/items")).json()
        if known["total"]:
            break
        await plant_settle()
    yield plant
    for runtime in runtimes.values():
        await runtime.stop()
    await bus.close()
    for client in plant.clients.values():
        await client.aclose()


async def plant_settle() -> None:
    import asyncio

    await asyncio.sleep(0.02)


async def po(plant: Plant, *, submit: bool) -> str:
    purchasing = plant.clients["purchasing"]
    created = await purchasing.post(
        "/api/v1/purchase-orders",
        json={"vendor_code": "ACME", "lines": [{"sku": "RESIN", "qty": "10", "unit_cost": "2.5"}]},
    )
    assert created.status_code == 201, created.text
    number: str = created.json()["number"]
    if submit:
        assert (
            await purchasing.post(f"/api/v1/purchase-orders/{number}/submit")
        ).status_code == 200
    return number


async def refused(
    plant: Plant,
    service: str,
    method: str,
    path: str,
    *,
    status: int,
    field: str | None = None,
    detail_has: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    await plant_settle()
    before = plant.snapshot()
    response = await plant.clients[service].request(method, path, **kwargs)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    if field is not None:
        assert problem.get("field") == field, problem
    if detail_has is not None:
        assert detail_has in problem["detail"], problem
    await plant_settle()
    assert plant.snapshot() == before, "a refused request changed the database"
    return problem


def line(**overrides: Any) -> dict[str, Any]:
    return {"sku": "RESIN", "qty": "5", "unit_cost": "2.5", **overrides}


@pytest.mark.parametrize("qty", ["0", "-3"])
async def test_zero_or_negative_order_quantity_is_refused(plant: Plant, qty: str) -> None:
    await refused(
        plant,
        "purchasing",
        "POST",
        "/api/v1/purchase-orders",
        status=422,
        field="lines.0.qty",
        json={"vendor_code": "ACME", "lines": [line(qty=qty)]},
    )


async def test_unknown_sku_on_a_purchase_order_is_refused(plant: Plant) -> None:
    await refused(
        plant,
        "purchasing",
        "POST",
        "/api/v1/purchase-orders",
        status=422,
        field="lines.1.sku",
        detail_has="NOPE",
        json={"vendor_code": "ACME", "lines": [line(), line(sku="NOPE")]},
    )


async def test_unknown_vendor_is_refused(plant: Plant) -> None:
    await refused(
        plant,
        "purchasing",
        "POST",
        "/api/v1/purchase-orders",
        status=422,
        field="vendor_code",
        detail_has="GHOST",
        json={"vendor_code": "GHOST", "lines": [line()]},
    )


async def test_receipt_on_a_draft_po_is_refused(plant: Plant) -> None:
    number = await po(plant, submit=False)
    await refused(
        plant,
        "purchasing",
        "POST",
        f"/api/v1/purchase-orders/{number}/receipts",
        status=409,
        field="status",
        detail_has="submit it first",
        json={"lines": [{"line_no": 1, "qty": "1"}]},
    )


async def test_receipt_beyond_the_ordered_quantity_is_refused(plant: Plant) -> None:
    number = await po(plant, submit=True)
    purchasing = plant.clients["purchasing"]
    first = await purchasing.post(
        f"/api/v1/purchase-orders/{number}/receipts", json={"lines": [{"line_no": 1, "qty": "6"}]}
    )
    assert first.status_code == 201
    await refused(
        plant,
        "purchasing",
        "POST",
        f"/api/v1/purchase-orders/{number}/receipts",
        status=422,
        field="lines.0.qty",
        detail_has="exceed",
        json={"lines": [{"line_no": 1, "qty": "4.0001"}]},
    )


@pytest.mark.parametrize("qty", ["0", "-1"])
async def test_zero_or_negative_receipt_quantity_is_refused(plant: Plant, qty: str) -> None:
    number = await po(plant, submit=True)
    await refused(
        plant,
        "purchasing",
        "POST",
        f"/api/v1/purchase-orders/{number}/receipts",
        status=422,
        field="lines.0.qty",
        json={"lines": [{"line_no": 1, "qty": qty}]},
    )


async def test_malformed_json_is_refused(plant: Plant) -> None:
    await refused(
        plant,
        "inventory",
        "POST",
        "/api/v1/items",
        status=400,
        detail_has="not valid JSON",
        content=b'{"sku": "X", "name": ',
        headers={"content-type": "application/json"},
    )


async def test_duplicate_sku_is_refused(plant: Plant) -> None:
    await refused(
        plant,
        "inventory",
        "POST",
        "/api/v1/items",
        status=409,
        field="sku",
        json={"sku": "RESIN", "name": "Resin again"},
    )


def forged_token() -> str:
    return issue_service_token(
        "another-secret-" + "y" * 40, user="mallory", roles=["admin"], ttl_seconds=60
    )


def expired_token() -> str:
    now = utc_now()
    claims = {
        "sub": "clerk",
        "roles": ["admin"],
        "iat": now - timedelta(minutes=5),
        "exp": now - timedelta(minutes=1),
        "iss": "portal-gateway",
        "aud": "portal-services",
        "jti": "x",
    }
    return jwt.encode(claims, SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [(None, "no service token"), ("forged", "signature"), ("expired", "expired")],
)
async def test_missing_expired_or_forged_token_is_refused(
    plant: Plant, authorization: str | None, reason: str
) -> None:
    token = {"forged": forged_token, "expired": expired_token}.get(authorization or "")
    headers = {"Authorization": f"Bearer {token()}"} if token else {"Authorization": ""}
    problem = await refused(
        plant,
        "inventory",
        "POST",
        "/api/v1/items",
        status=401,
        json={"sku": "NEW", "name": "New"},
        headers=headers,
    )
    assert reason in problem["detail"].lower()


async def test_a_role_without_the_right_gets_403_and_changes_nothing(plant: Plant) -> None:
    token = issue_service_token(SECRET, user="op", roles=["operator"], ttl_seconds=60)
    await refused(
        plant,
        "purchasing",
        "POST",
        "/api/v1/vendors",
        status=403,
        json={"code": "NEWV", "name": "New"},
        headers={"Authorization": f"Bearer {token}"},
    )
