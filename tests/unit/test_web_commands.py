"""run_command and paged lists on SQLite: Idempotency-Key replay scoped per caller and request,
a unique constraint or an unstorable value as a 4xx problem (never a 500), and bounded pages.

Inventory and purchasing run with the in-process bus; inventory carries test-only routes that
reach past the use cases' own checks, to make the database itself refuse a write."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, select

from services import registry
from services.inventory.models import Item
from services.purchasing.models import Vendor
from shared.auth.tokens import issue_service_token
from shared.bus.inprocess import InProcessBus
from shared.events.envelope import utc_now
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from shared.uow import UnitOfWork
from shared.web.commands import run_command
from shared.web.pagination import MAX_OFFSET, PageParams, paginate

SECRET = "web-commands-test-secret-" + "x" * 30

raw_router = APIRouter(prefix="/api/v1/test-only")


def _item(sku: str, **values: Any) -> Item:
    now = utc_now()
    fields: dict[str, Any] = {
        "sku": sku,
        "name": sku,
        "uom": "ea",
        "item_type": "raw",
        "make_or_buy": "buy",
        "created_at": now,
        "updated_at": now,
        **values,
    }
    return Item(**fields)


@raw_router.post("/duplicate-item/{sku}", status_code=201)
def insert_without_checking(sku: str, request: Request) -> JSONResponse:
    """Inserts an item as a racing request would: the SKU check passed before the other commit."""

    def action(uow: UnitOfWork) -> dict[str, str]:
        uow.session.add(_item(sku))
        uow.session.flush()
        return {"sku": sku}

    return run_command(request, action, status_code=201)


@raw_router.post("/huge-cost/{sku}", status_code=201)
def insert_unstorable(sku: str, request: Request) -> JSONResponse:
    def action(uow: UnitOfWork) -> dict[str, str]:
        uow.session.add(_item(sku, average_cost=Decimal("1E+15")))
        uow.session.flush()
        return {"sku": sku}

    return run_command(request, action, status_code=201)


def token_headers(user: str, roles: list[str]) -> dict[str, str]:
    # Issued when the module is imported, which can be many minutes before a test uses it.
    token = issue_service_token(SECRET, user=user, roles=roles, ttl_seconds=6 * 3600)
    return {"Authorization": f"Bearer {token}"}


MARIA = token_headers("maria", ["admin"])
JOSE = token_headers("jose", ["buyer"])


class Plant:
    def __init__(self, inventory: ServiceRuntime, purchasing: ServiceRuntime) -> None:
        self.inventory_runtime = inventory
        self.purchasing_runtime = purchasing
        self.inventory = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=inventory.app), base_url="http://inventory"
        )
        self.purchasing = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=purchasing.app), base_url="http://purchasing"
        )

    def count(self, runtime: ServiceRuntime, model: Any) -> int:
        with runtime.db.session() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)

    def keys(self, runtime: ServiceRuntime) -> list[dict[str, Any]]:
        table = runtime.definition.tables.idempotency_keys
        with runtime.db.session() as session:
            return [dict(row) for row in session.execute(select(table)).mappings()]


@pytest.fixture
async def plant(tmp_path: Path) -> AsyncIterator[Plant]:
    settings = Settings(var_dir=tmp_path)
    bus = InProcessBus()
    inventory_def = registry.definition("inventory")
    inventory_def = dataclasses.replace(inventory_def, routers=[*inventory_def.routers, raw_router])
    runtimes = [
        ServiceRuntime(definition, settings, bus, token_secret=SECRET)
        for definition in (inventory_def, registry.definition("purchasing"))
    ]
    for runtime in runtimes:
        runtime.migrate()
        runtime.seed()
    plant = Plant(*runtimes)
    try:
        yield plant
    finally:
        await plant.inventory.aclose()
        await plant.purchasing.aclose()
        for runtime in runtimes:
            runtime.db.dispose()


def new_key() -> dict[str, str]:
    return {"Idempotency-Key": f"k-{uuid.uuid4()}"}


ACME = {"code": "ACME", "name": "Acme Resins"}


# --------------------------------------------------------------------------------------------
# Idempotency-Key
# --------------------------------------------------------------------------------------------


async def test_a_retry_with_the_same_key_replays_the_first_response(plant: Plant) -> None:
    key = new_key()
    first = await plant.purchasing.post("/api/v1/vendors", json=ACME, headers=MARIA | key)
    retry = await plant.purchasing.post("/api/v1/vendors", json=ACME, headers=MARIA | key)

    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    assert retry.status_code == 201, retry.text
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert plant.count(plant.purchasing_runtime, Vendor) == 1
    (stored,) = plant.keys(plant.purchasing_runtime)
    assert stored["caller"] == "maria"
    assert stored["key"] == key["Idempotency-Key"]
    assert (stored["method"], stored["path"]) == ("POST", "/api/v1/vendors")
    assert len(stored["request_hash"]) == 64
    assert stored["status_code"] == 201


async def test_the_same_key_from_another_user_is_another_key(plant: Plant) -> None:
    key = new_key()
    beta = {"code": "BETA", "name": "Beta Pigments"}

    maria = await plant.purchasing.post("/api/v1/vendors", json=ACME, headers=MARIA | key)
    jose = await plant.purchasing.post("/api/v1/vendors", json=beta, headers=JOSE | key)
    maria_again = await plant.purchasing.post("/api/v1/vendors", json=ACME, headers=MARIA | key)

    assert maria.status_code == 201, maria.text
    assert jose.status_code == 201, jose.text
    assert "Idempotent-Replayed" not in jose.headers
    assert jose.json()["code"] == "BETA"
    assert maria_again.headers["Idempotent-Replayed"] == "true"
    assert maria_again.json()["code"] == "ACME"
    assert plant.count(plant.purchasing_runtime, Vendor) == 2
    assert sorted(k["caller"] for k in plant.keys(plant.purchasing_runtime)) == ["jose", "maria"]


async def test_another_users_key_is_never_replayed_to_him(plant: Plant) -> None:
    key = new_key()
    assert (
        await plant.purchasing.post("/api/v1/vendors", json=ACME, headers=MARIA | key)
    ).status_code == 201

    jose = await plant.purchasing.post("/api/v1/vendors", json=ACME, headers=JOSE | key)

    # Jose's request runs as his own: ACME exists, so the use case refuses it.
    assert jose.status_code == 409, jose.text
    assert jose.json()["field"] == "code"
    assert "Idempotent-Replayed" not in jose.headers


async def test_the_same_key_with_another_body_is_refused_naming_the_header(
    plant: Plant,
) -> None:
    key = new_key()
    assert (
        await plant.purchasing.post("/api/v1/vendors", json=ACME, headers=MARIA | key)
    ).status_code == 201

    other = await plant.purchasing.post(
        "/api/v1/vendors", json={"code": "BETA", "name": "Beta"}, headers=MARIA | key
    )

    assert other.status_code == 422, other.text
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["field"] == "Idempotency-Key"
    assert "different request body" in other.json()["detail"]
    assert plant.count(plant.purchasing_runtime, Vendor) == 1


async def test_the_same_key_on_another_path_is_refused_naming_the_header(plant: Plant) -> None:
    key = new_key()
    assert (
        await plant.inventory.post("/api/v1/test-only/duplicate-item/A", headers=MARIA | key)
    ).status_code == 201

    other = await plant.inventory.post("/api/v1/test-only/duplicate-item/B", headers=MARIA | key)

    assert other.status_code == 422, other.text
    assert other.json()["field"] == "Idempotency-Key"
    assert "POST /api/v1/test-only/duplicate-item/A" in other.json()["detail"]
    assert plant.count(plant.inventory_runtime, Item) == 1


async def test_a_failed_keyed_request_leaves_no_key_so_a_retry_runs_again(plant: Plant) -> None:
    key = new_key()
    assert (
        await plant.purchasing.post("/api/v1/vendors", json=ACME, headers=MARIA)
    ).status_code == 201

    refused = await plant.purchasing.post("/api/v1/vendors", json=ACME, headers=JOSE | key)

    assert refused.status_code == 409
    assert plant.keys(plant.purchasing_runtime) == []


@pytest.mark.parametrize("key", ["", "k" * 201])
async def test_a_key_of_bad_length_is_refused(plant: Plant, key: str) -> None:
    response = await plant.purchasing.post(
        "/api/v1/vendors", json=ACME, headers=MARIA | {"Idempotency-Key": key}
    )

    assert response.status_code == 422, response.text
    assert response.json()["field"] == "Idempotency-Key"
    assert plant.count(plant.purchasing_runtime, Vendor) == 0


# --------------------------------------------------------------------------------------------
# The database refusing a write
# --------------------------------------------------------------------------------------------


async def test_a_unique_constraint_hit_is_a_409_asking_to_reload_and_retry(plant: Plant) -> None:
    assert (
        await plant.inventory.post("/api/v1/test-only/duplicate-item/RESIN", headers=MARIA)
    ).status_code == 201

    clash = await plant.inventory.post("/api/v1/test-only/duplicate-item/RESIN", headers=MARIA)

    assert clash.status_code == 409, clash.text
    assert clash.headers["content-type"] == "application/problem+json"
    assert clash.json()["code"] == "concurrent_change"
    assert "another request at the same moment; reload and retry" in clash.json()["detail"]
    assert plant.count(plant.inventory_runtime, Item) == 1


async def test_a_unique_constraint_hit_with_a_key_stores_no_key(plant: Plant) -> None:
    assert (
        await plant.inventory.post("/api/v1/test-only/duplicate-item/RESIN", headers=MARIA)
    ).status_code == 201
    key = new_key()

    clash = await plant.inventory.post(
        "/api/v1/test-only/duplicate-item/RESIN", headers=MARIA | key
    )

    assert clash.status_code == 409, clash.text
    assert plant.keys(plant.inventory_runtime) == []


async def test_a_value_beyond_the_column_is_a_422_not_a_500(plant: Plant) -> None:
    response = await plant.inventory.post("/api/v1/test-only/huge-cost/RESIN", headers=MARIA)

    assert response.status_code == 422, response.text
    assert response.json()["title"] == "Invalid input"
    assert "does not fit NUMERIC(18, 4)" in response.json()["detail"]
    assert plant.count(plant.inventory_runtime, Item) == 0


# --------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (f"offset={MAX_OFFSET + 1}", "query.offset"),
        ("offset=100000000000000000000000", "query.offset"),
        ("offset=-1", "query.offset"),
        ("limit=0", "query.limit"),
        ("limit=1001", "query.limit"),
    ],
)
async def test_a_page_out_of_bounds_is_a_422_naming_the_parameter(
    plant: Plant, query: str, field: str
) -> None:
    for client, path in (
        (plant.inventory, "/api/v1/items"),
        (plant.inventory, "/api/v1/stock-transactions"),
        (plant.purchasing, "/api/v1/vendors"),
        (plant.purchasing, "/api/v1/purchase-orders"),
    ):
        response = await client.get(f"{path}?{query}", headers=MARIA)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["field"] == field


async def test_the_largest_offset_answers_an_empty_page(plant: Plant) -> None:
    response = await plant.inventory.get(f"/api/v1/items?offset={MAX_OFFSET}", headers=MARIA)

    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "total": 0, "limit": 50, "offset": MAX_OFFSET}


async def test_pages_are_ordered_slices_with_the_total(plant: Plant) -> None:
    for code in ("C", "A", "D", "B", "E"):
        body = {"code": code, "name": f"Vendor {code}"}
        assert (
            await plant.purchasing.post("/api/v1/vendors", json=body, headers=MARIA)
        ).status_code == 201

    page = (await plant.purchasing.get("/api/v1/vendors?limit=2&offset=1", headers=MARIA)).json()

    assert [v["code"] for v in page["items"]] == ["B", "C"]
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 1)


def test_paginate_hands_multi_column_rows_and_needs_an_order(plant: Plant) -> None:
    with plant.inventory_runtime.uow() as uow:
        uow.session.add_all([_item("B"), _item("A"), _item("C")])
        uow.session.flush()
        query = select(Item.sku, Item.name)
        page = paginate(
            uow.session,
            query.order_by(Item.sku.desc()),
            PageParams(limit=2, offset=0),
            lambda row: f"{row[0]}:{row[1]}",
        )
        assert page.items == ["C:C", "B:B"]
        assert page.total == 3
        single = paginate(
            uow.session, select(Item).order_by(Item.sku), PageParams(offset=2), lambda i: i.sku
        )
        assert single.items == ["C"]
        with pytest.raises(ValueError, match="ordered query"):
            paginate(uow.session, query, PageParams(), lambda row: row)


def test_page_params_refuse_an_offset_beyond_the_bound() -> None:
    with pytest.raises(ValueError, match="offset"):
        PageParams(offset=MAX_OFFSET + 1)
