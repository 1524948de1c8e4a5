"""A plant moving to the portal brings its stock with it: an `opening_balance` adjustment at the
unit cost the old system knew, so the stock is valued, the item's moving average starts from
that cost, and what is consumed later leaves at it. Any found stock may state its unit cost the
same way; a loss may not (it leaves at what its balance holds), and a refusal changes nothing.

An inventory service of its own on SQLite (tests/support/stock.py); the store clerk calls the
API with her token.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import MetaData, func, select

from services.inventory.models import Item, StockTransaction
from services.inventory.reservations.service import Line, reserve
from shared.auth.tokens import issue_service_token
from shared.events.catalogue import ComponentRequirement, ProductionStarted
from shared.runtime import ServiceRuntime
from tests.support.stock import (
    SECRET,
    add_item,
    assert_ledger_matches_balances,
    balances,
    deliver,
    envelope,
    inventory_runtime,
    receive,
)

D = Decimal
ADJUST = "/api/v1/stock/adjustments"


class Store:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime
        token = issue_service_token(SECRET, user="clerk", roles=["store"], ttl_seconds=600)
        self.clerk = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=runtime.app),
            base_url="http://inventory",
            headers={"Authorization": f"Bearer {token}"},
        )
        self.tables = MetaData()
        self.tables.reflect(runtime.db.engine)

    def events(self, event_type: str) -> list[dict[str, Any]]:
        outbox = self.runtime.definition.tables.outbox
        with self.runtime.db.engine.connect() as conn:
            rows = conn.execute(
                select(outbox.c.envelope)
                .where(outbox.c.event_type == event_type)
                .order_by(outbox.c.id)
            ).scalars()
            return [json.loads(row)["payload"] for row in rows]

    def average_cost(self, sku: str) -> Decimal:
        with self.runtime.db.engine.connect() as conn:
            return D(conn.execute(select(Item.average_cost).where(Item.sku == sku)).scalar_one())

    def snapshot(self) -> dict[str, Any]:
        """Row counts of every table (the outbox and the audit log included), the balances and
        the items' average costs."""
        with self.runtime.db.engine.connect() as conn:
            counts: dict[str, Any] = {
                table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for table in self.tables.sorted_tables
            }
            held = self.tables.tables["stock_balances"]
            counts["balances"] = sorted(tuple(row) for row in conn.execute(select(held)).all())
            counts["averages"] = sorted(conn.execute(select(Item.sku, Item.average_cost)).all())
        return counts


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    runtime = inventory_runtime(tmp_path)
    add_item(runtime, "RESIN")
    add_item(runtime, "BOLT")
    plant = Store(runtime)
    yield plant
    await plant.clerk.aclose()
    runtime.db.dispose()


@pytest.fixture(scope="module")
def shelf_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceRuntime]:
    """Bolts lot B-1, 5 in RAW at 2.00 each, for the refusals (each checks it changed nothing)."""
    runtime = inventory_runtime(tmp_path_factory.mktemp("shelf"))
    add_item(runtime, "BOLT")
    receive(runtime, "BOLT", "5", "10.00", lot="B-1")
    yield runtime
    runtime.db.dispose()


@pytest.fixture
async def shelf(shelf_runtime: ServiceRuntime) -> AsyncIterator[Store]:
    plant = Store(shelf_runtime)
    yield plant
    await plant.clerk.aclose()


def ok(response: httpx.Response, status: int = 201) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def test_an_opening_balance_is_valued_at_its_cost_and_starts_the_average(
    store: Store,
) -> None:
    assert store.average_cost("RESIN") == 0
    opened = ok(
        await store.clerk.post(
            ADJUST,
            json={
                "sku": "RESIN",
                "location": "RAW",
                "qty_delta": "40",
                "reason_code": "opening_balance",
                "unit_cost": "2.95",
                "notes": "stock on hand in the old ERP",
            },
        )
    )
    assert (opened["qty"], opened["value"], opened["reason_code"]) == (
        "40.0000",
        "118.0000",  # 40 x 2.95
        "opening_balance",
    )
    assert balances(store.runtime, "RESIN") == {("RAW", "", "approved"): (D(40), D("118.00"))}
    assert store.average_cost("RESIN") == D("2.95")
    adjusted = store.events("StockAdjusted")[-1]
    assert (adjusted["reason_code"], D(adjusted["qty_delta"]), D(adjusted["value_delta"])) == (
        "opening_balance",
        D(40),
        D("118.00"),
    )
    with store.runtime.db.engine.connect() as conn:
        ledger = conn.execute(
            select(StockTransaction.unit_cost, StockTransaction.reason_code).where(
                StockTransaction.txn_type == "adjustment"
            )
        ).all()
    assert [(D(cost), reason) for cost, reason in ledger] == [(D("2.95"), "opening_balance")]

    # A receipt after it averages in: (118.00 + 10 x 3.50) / 50 = 3.06.
    receive(store.runtime, "RESIN", "10", "35.00")
    assert store.average_cost("RESIN") == D("3.06")
    assert_ledger_matches_balances(store.runtime)


async def test_opening_stock_consumed_later_leaves_at_its_opening_cost(store: Store) -> None:
    ok(
        await store.clerk.post(
            ADJUST,
            json={
                "sku": "RESIN",
                "location": "RAW",
                "qty_counted": "12",  # a count of an empty balance: the whole 12 is opening
                "reason_code": "opening_balance",
                "unit_cost": "1.25",
            },
        )
    )
    order = "PRD-2026-00001"
    with store.runtime.uow() as uow:
        reserve(uow, "production_order", order, [Line("RESIN", D(4))])
        uow.commit()
    started = ProductionStarted(
        order_code=order,
        sku="RESIN",
        qty=D(1),
        components=(ComponentRequirement(sku="RESIN", qty=D(4)),),
        started_at=datetime(2026, 3, 2, 7, tzinfo=UTC),
    )
    assert not deliver(store.runtime, envelope(started, order))
    issued = store.events("MaterialIssued")
    assert [(D(e["qty"]), D(e["unit_cost"]), D(e["value"])) for e in issued] == [
        (D(4), D("1.25"), D("5.00"))
    ]
    assert balances(store.runtime, "RESIN")[("RAW", "", "approved")] == (D(8), D("10.00"))


async def test_found_stock_at_a_stated_cost_moves_the_average(store: Store) -> None:
    receive(store.runtime, "BOLT", "10", "25.00", lot="B-1")  # 2.50 each
    found = ok(
        await store.clerk.post(
            ADJUST,
            json={
                "sku": "BOLT",
                "location": "RAW",
                "lot": "B-1",
                "qty_delta": "10",
                "reason_code": "found",
                "unit_cost": "3.50",
            },
        )
    )
    assert found["value"] == "35.0000"
    assert store.average_cost("BOLT") == D("3.00")  # (25 + 35) / 20
    # without a cost, found stock still comes in at the average
    again = ok(
        await store.clerk.post(
            ADJUST,
            json={
                "sku": "BOLT",
                "location": "RAW",
                "lot": "B-1",
                "qty_delta": "1",
                "reason_code": "found",
            },
        )
    )
    assert again["value"] == "3.0000"


async def test_customer_supplied_stock_opens_at_an_explicit_zero_cost(store: Store) -> None:
    opened = ok(
        await store.clerk.post(
            ADJUST,
            json={
                "sku": "BOLT",
                "location": "RAW",
                "qty_delta": "100",
                "reason_code": "opening_balance",
                "unit_cost": "0",
            },
        )
    )
    assert (opened["qty"], opened["value"]) == ("100.0000", "0.0000")
    assert balances(store.runtime, "BOLT") == {("RAW", "", "approved"): (D(100), D(0))}
    assert store.average_cost("BOLT") == 0
    assert D(store.events("StockAdjusted")[-1]["value_delta"]) == 0


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        # a loss leaves at the cost its balance holds, never at one given
        ({"qty_delta": "-1", "unit_cost": "2.00"}, "unit_cost", "unit_cost_on_loss"),
        ({"qty_counted": "3", "unit_cost": "0"}, "unit_cost", "unit_cost_on_loss"),
        # an opening balance states its cost, and only brings stock in
        ({"reason_code": "opening_balance"}, "unit_cost", "unit_cost_required"),
        (
            {"reason_code": "opening_balance", "qty_delta": "-1", "unit_cost": "2"},
            "qty_delta",
            "opening_balance_not_a_gain",
        ),
        (
            {"reason_code": "opening_balance", "qty_counted": "4", "unit_cost": "2"},
            "qty_counted",
            "opening_balance_not_a_gain",
        ),
        # the cost itself
        ({"unit_cost": "-0.01"}, "unit_cost", None),
        ({"unit_cost": "1.00001"}, "unit_cost", None),
        ({"unit_cost": "two"}, "unit_cost", None),
    ],
)
async def test_a_unit_cost_that_cannot_be_is_refused_and_changes_nothing(
    shelf: Store, changes: dict[str, Any], field: str, code: str | None
) -> None:
    body: dict[str, Any] = {
        "sku": "BOLT",
        "location": "RAW",
        "lot": "B-1",
        "qty_delta": "2",
        "reason_code": "found",
    }
    if "qty_counted" in changes:
        del body["qty_delta"]
    body.update(changes)
    before = shelf.snapshot()
    response = await shelf.clerk.post(ADJUST, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem.get("field") == field, problem
    if code is not None:
        assert problem.get("code") == code, problem
    assert shelf.snapshot() == before, "a refused adjustment changed the database"
    assert before["outbox"] > 0 and before["stock_transactions"] > 0  # the snapshot sees them
