"""The store's stock movements over inventory's API: QC release of received material, transfers
between locations, cycle-count adjustments with a reason and a value, the ledger filters and the
stock list, and the rule behind all of it: every balance is the sum of its ledger rows.

An inventory service of its own on SQLite (tests/support/stock.py); material arrives as
purchasing's MaterialReceived through the real consumer; the store clerk, the quality inspector
and the viewer call the API with their own tokens.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import MetaData, func, select

from services.inventory import service as inventory_service
from services.inventory.models import Item, StockTransaction
from services.inventory.movements import service as movements
from services.inventory.movements.domain import AdjustmentReason
from services.inventory.movements.schemas import AdjustmentCreate, ReleaseCreate, TransferCreate
from services.inventory.reservations.service import Line, reserve
from services.inventory.schemas import ItemType, MakeOrBuy
from shared.auth.tokens import issue_service_token
from shared.events.catalogue import ComponentRequirement, PrintCompleted, ProductionStarted
from shared.runtime import ServiceRuntime
from shared.web.problems import PortalError
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


class Store:
    """The inventory service and a client per person."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime
        self.clients: dict[str, httpx.AsyncClient] = {}
        self.tables = MetaData()
        self.tables.reflect(runtime.db.engine)

    def client(self, role: str) -> httpx.AsyncClient:
        if role not in self.clients:
            token = issue_service_token(SECRET, user=role, roles=[role], ttl_seconds=600)
            self.clients[role] = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=self.runtime.app),
                base_url="http://inventory",
                headers={"Authorization": f"Bearer {token}"},
            )
        return self.clients[role]

    @property
    def clerk(self) -> httpx.AsyncClient:
        return self.client("store")

    @property
    def inspector(self) -> httpx.AsyncClient:
        return self.client("quality")

    def events(self, event_type: str) -> list[dict[str, Any]]:
        outbox = self.runtime.definition.tables.outbox
        with self.runtime.db.engine.connect() as conn:
            rows = conn.execute(
                select(outbox.c.envelope)
                .where(outbox.c.event_type == event_type)
                .order_by(outbox.c.id)
            ).scalars()
            return [json.loads(row)["payload"] for row in rows]

    def snapshot(self) -> dict[str, Any]:
        """Row counts of every table, and the balances themselves."""
        with self.runtime.db.engine.connect() as conn:
            counts: dict[str, Any] = {
                table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for table in self.tables.sorted_tables
            }
            held = self.tables.tables["stock_balances"]
            counts["balances"] = sorted(tuple(row) for row in conn.execute(select(held)).all())
        return counts

    async def close(self) -> None:
        for client in self.clients.values():
            await client.aclose()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    runtime = inventory_runtime(tmp_path)
    add_item(runtime, "RESIN")
    add_item(runtime, "BOLT")
    plant = Store(runtime)
    yield plant
    await plant.close()
    runtime.db.dispose()


@pytest.fixture(scope="module")
def shelf_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceRuntime]:
    """One stock for every refusal below (a refusal changes nothing, which each one checks):
    resin lot R-1 approved in RAW and lot R-2 waiting in the QC hold, bolts lot B-1 in RAW."""
    runtime = inventory_runtime(tmp_path_factory.mktemp("shelf"))
    add_item(runtime, "RESIN")
    add_item(runtime, "BOLT")
    receive(runtime, "RESIN", "5", "10.00", lot="R-1")
    receive(runtime, "RESIN", "4", "8.00", lot="R-2", to_status="pending_qc")
    receive(runtime, "BOLT", "5", "10.00", lot="B-1")
    yield runtime
    runtime.db.dispose()


@pytest.fixture
async def shelf(shelf_runtime: ServiceRuntime) -> AsyncIterator[Store]:
    plant = Store(shelf_runtime)
    yield plant
    await plant.close()


def ok(response: httpx.Response, status: int = 201) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def refused(
    store: Store,
    client: httpx.AsyncClient,
    path: str,
    body: dict[str, Any],
    *,
    status: int,
    field: str | None,
) -> dict[str, Any]:
    """The request is refused with a problem naming `field`, and nothing at all is written."""
    before = store.snapshot()
    response = await client.post(path, json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem.get("field") == field, problem
    assert store.snapshot() == before, "a refused request changed the database"
    return problem


# -- QC release ------------------------------------------------------------------------------


async def test_resin_held_for_inspection_is_released_to_raw_stock_at_its_value(
    store: Store,
) -> None:
    receive(store.runtime, "RESIN", "30", "93.00", lot="R-2", to_status="pending_qc")

    first = ok(
        await store.inspector.post(
            "/api/v1/stock/release", json={"sku": "RESIN", "lot": "R-2", "qty": "10"}
        )
    )
    assert (first["qty"], first["value"]) == ("10.0000", "31.0000")
    rest = ok(
        await store.inspector.post("/api/v1/stock/release", json={"sku": "RESIN", "lot": "R-2"})
    )
    assert (rest["qty"], rest["value"]) == ("20.0000", "62.0000")

    assert balances(store.runtime, "RESIN") == {("RAW", "R-2", "approved"): (D(30), D("93.00"))}
    last = store.events("StockChanged")[-1]
    assert (D(last["available"]), D(last["pending_qc"])) == (D(30), D(0))
    ledger = ok(
        await store.clerk.get("/api/v1/transactions", params={"txn_type": "qc_release"}), 200
    )
    assert sorted((row["location"], row["qty"]) for row in ledger["items"]) == [
        ("QC", "-10.0000"),
        ("QC", "-20.0000"),
        ("RAW", "10.0000"),
        ("RAW", "20.0000"),
    ]
    assert_ledger_matches_balances(store.runtime)


async def test_release_refuses_what_is_not_waiting_for_qc(shelf: Store) -> None:
    path = "/api/v1/stock/release"
    inspector = shelf.inspector
    for body, status, field in [
        ({"sku": "NOPE", "lot": "R-2"}, 404, "sku"),
        ({"sku": "RESIN", "lot": "R-9"}, 422, "lot"),
        # R-1 was received approved: nothing of it waits for QC.
        ({"sku": "RESIN", "lot": "R-1"}, 409, "lot"),
        ({"sku": "RESIN", "lot": "R-2", "qty": "5"}, 409, "qty"),
        ({"sku": "RESIN", "lot": "R-2", "qty": "0"}, 422, "qty"),
        ({"sku": "RESIN", "lot": "R-2", "colour": "red"}, 422, "colour"),
    ]:
        await refused(shelf, inspector, path, body, status=status, field=field)
    # The store may move stock, but releasing it is quality's call.
    await refused(shelf, shelf.clerk, path, {"sku": "RESIN", "lot": "R-2"}, status=403, field=None)


async def test_a_production_orders_output_held_for_qc_is_neither_released_nor_counted(
    store: Store,
) -> None:
    """Printed widgets wait in the QC hold for their QC decision on the QC station."""
    runtime = store.runtime
    add_item(runtime, "WIDGET", item_type=ItemType.FINISHED, make_or_buy=MakeOrBuy.MAKE)
    receive(runtime, "RESIN", "10", "25.00", lot="R-1")
    order = "PRD-2026-00001"
    with runtime.uow() as uow:
        reserve(uow, "production_order", order, [Line("RESIN", D(2))])
        uow.commit()
    at = datetime(2026, 3, 2, 7, tzinfo=UTC)
    for payload in (
        ProductionStarted(
            order_code=order,
            sku="WIDGET",
            qty=D(4),
            components=(ComponentRequirement(sku="RESIN", qty=D(2)),),
            started_at=at,
        ),
        PrintCompleted(
            order_code=order, run_id="RUN-1", sku="WIDGET", qty_good=D(4), completed_at=at
        ),
    ):
        assert not deliver(runtime, envelope(payload, order))
    assert balances(runtime, "WIDGET") == {("QC", order, "pending_qc"): (D(4), D("5.00"))}

    release = await refused(
        store,
        store.inspector,
        "/api/v1/stock/release",
        {"sku": "WIDGET", "lot": order},
        status=409,
        field="lot",
    )
    assert release["code"] == "production_output"
    count = await refused(
        store,
        store.clerk,
        "/api/v1/stock/adjustments",
        {
            "sku": "WIDGET",
            "location": "QC",
            "lot": order,
            "status": "pending_qc",
            "qty_counted": "3",
            "reason_code": "count_correction",
        },
        status=409,
        field="lot",
    )
    assert count["code"] == "production_output"


# -- Transfers -------------------------------------------------------------------------------


async def test_bolts_move_from_raw_to_finished_goods_at_their_value(store: Store) -> None:
    receive(store.runtime, "BOLT", "3", "10.00", lot="B-1")

    moved = ok(
        await store.clerk.post(
            "/api/v1/stock/transfers",
            json={
                "sku": "BOLT",
                "lot": "B-1",
                "from_location": "RAW",
                "to_location": "FG",
                "qty": "1",
                "notes": "sold as a spare part",
            },
        )
    )
    assert (moved["qty"], moved["value"]) == ("1.0000", "3.3333")
    assert balances(store.runtime, "BOLT") == {
        ("RAW", "B-1", "approved"): (D(2), D("6.6667")),
        ("FG", "B-1", "approved"): (D(1), D("3.3333")),
    }
    rows = ok(
        await store.clerk.get("/api/v1/transactions", params={"reference": moved["movement_id"]}),
        200,
    )["items"]
    assert {(r["location"], r["qty"], r["notes"]) for r in rows} == {
        ("RAW", "-1.0000", "sold as a spare part"),
        ("FG", "1.0000", "sold as a spare part"),
    }
    # On hand and available did not change: the stock only moved.
    last = store.events("StockChanged")[-1]
    assert (D(last["on_hand"]), D(last["available"])) == (D(3), D(3))
    assert_ledger_matches_balances(store.runtime)


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"to_location": "RAW"}, 422, "to_location"),
        ({"to_location": "SHELF-9"}, 422, "to_location"),
        ({"from_location": "NOWHERE"}, 422, "from_location"),
        ({"to_location": "WIP"}, 422, "to_location"),
        ({"to_location": "SCRAP"}, 422, "to_location"),
        ({"from_location": "QC"}, 422, "from_location"),
        ({"sku": "GHOST"}, 404, "sku"),
        ({"lot": "B-404"}, 422, "lot"),
        ({"qty": "5.5"}, 409, "qty"),
        ({"qty": "-1"}, 422, "qty"),
        ({"qty": "0"}, 422, "qty"),
        ({"qty": "1.00001"}, 422, "qty"),
    ],
)
async def test_a_transfer_that_cannot_be_done_is_refused_and_moves_nothing(
    shelf: Store, changes: dict[str, str], status: int, field: str
) -> None:
    body = {"sku": "BOLT", "lot": "B-1", "from_location": "RAW", "to_location": "FG", "qty": "1"}
    await refused(
        shelf,
        shelf.clerk,
        "/api/v1/stock/transfers",
        {**body, **changes},
        status=status,
        field=field,
    )


async def test_a_transfer_retried_with_its_idempotency_key_moves_once(store: Store) -> None:
    receive(store.runtime, "BOLT", "3", "10.00", lot="B-1")
    body = {"sku": "BOLT", "lot": "B-1", "from_location": "RAW", "to_location": "FG", "qty": "1"}
    headers = {"Idempotency-Key": "move-bolt-1"}
    first = ok(await store.clerk.post("/api/v1/stock/transfers", json=body, headers=headers))
    again = await store.clerk.post("/api/v1/stock/transfers", json=body, headers=headers)
    assert again.status_code == 201 and again.json() == first
    assert balances(store.runtime, "BOLT")[("FG", "B-1", "approved")] == (D(1), D("3.3333"))


# -- Adjustments -----------------------------------------------------------------------------


async def test_a_count_short_of_the_balance_writes_off_the_loss_at_the_lots_cost(
    store: Store,
) -> None:
    receive(store.runtime, "RESIN", "10", "25.00", lot="R-1")  # 2.50 each
    receive(store.runtime, "RESIN", "30", "93.00", lot="R-2")  # 3.10 each; average 2.95

    counted = ok(
        await store.clerk.post(
            "/api/v1/stock/adjustments",
            json={
                "sku": "RESIN",
                "location": "RAW",
                "lot": "R-2",
                "qty_counted": "27",
                "reason_code": "damaged",
                "notes": "three bottles cracked",
            },
        )
    )
    assert (counted["qty"], counted["value"]) == ("-3.0000", "-9.3000")
    adjusted = store.events("StockAdjusted")
    assert len(adjusted) == 1
    assert adjusted[0]["adjustment_id"] == counted["movement_id"]
    assert (adjusted[0]["location"], adjusted[0]["lot"], adjusted[0]["reason_code"]) == (
        "RAW",
        "R-2",
        "damaged",
    )
    assert (D(adjusted[0]["qty_delta"]), D(adjusted[0]["value_delta"])) == (D(-3), D("-9.30"))
    assert balances(store.runtime, "RESIN")[("RAW", "R-2", "approved")] == (D(27), D("83.70"))
    rows = ok(
        await store.clerk.get("/api/v1/transactions", params={"reason_code": "damaged"}), 200
    )["items"]
    assert [(r["txn_type"], r["qty"], r["reason_code"], r["notes"]) for r in rows] == [
        ("adjustment", "-3.0000", "damaged", "three bottles cracked")
    ]
    assert_ledger_matches_balances(store.runtime)


async def test_stock_found_by_a_count_comes_in_at_the_items_average_cost(store: Store) -> None:
    receive(store.runtime, "RESIN", "10", "25.00", lot="R-1")
    receive(store.runtime, "RESIN", "30", "93.00", lot="R-2")  # average 118 / 40 = 2.95

    found = ok(
        await store.clerk.post(
            "/api/v1/stock/adjustments",
            json={
                "sku": "RESIN",
                "location": "RAW",
                "lot": "R-1",
                "qty_delta": "2",
                "reason_code": "found",
            },
        )
    )
    assert (found["qty"], found["value"]) == ("2.0000", "5.9000")
    event = store.events("StockAdjusted")[-1]
    assert (D(event["qty_delta"]), D(event["value_delta"])) == (D(2), D("5.90"))
    assert balances(store.runtime, "RESIN")[("RAW", "R-1", "approved")] == (D(12), D("30.90"))
    last = store.events("StockChanged")[-1]
    assert D(last["on_hand"]) == D(42)
    assert_ledger_matches_balances(store.runtime)


async def test_counting_a_whole_lot_gone_leaves_its_balance_at_zero_value(store: Store) -> None:
    receive(store.runtime, "BOLT", "3", "10.00", lot="B-1")
    gone = ok(
        await store.clerk.post(
            "/api/v1/stock/adjustments",
            json={
                "sku": "BOLT",
                "location": "RAW",
                "lot": "B-1",
                "qty_counted": "0",
                "reason_code": "lost",
            },
        )
    )
    assert (gone["qty"], gone["value"]) == ("-3.0000", "-10.0000")
    assert balances(store.runtime, "BOLT") == {}


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"qty_counted": "5"}, 422, "qty_counted"),  # the count is what the balance holds
        ({"qty_counted": None, "qty_delta": "0"}, 422, "qty_delta"),
        ({"qty_counted": None, "qty_delta": "-6"}, 409, "qty_delta"),
        ({"qty_counted": None}, 422, "qty_counted"),  # neither a count nor a change
        ({"qty_delta": "1"}, 422, "qty_delta"),  # both
        ({"qty_counted": "-1"}, 422, "qty_counted"),
        ({"reason_code": None}, 422, "reason_code"),
        ({"reason_code": "felt_like_it"}, 422, "reason_code"),
        ({"location": "WIP"}, 422, "location"),
        ({"location": "SCRAP"}, 422, "location"),
        ({"location": "ATTIC"}, 422, "location"),
        ({"lot": "B-404"}, 422, "lot"),
        ({"sku": "GHOST"}, 404, "sku"),
        ({"status": "quarantined"}, 422, "status"),
    ],
)
async def test_an_adjustment_that_makes_no_sense_is_refused_and_changes_nothing(
    shelf: Store, changes: dict[str, Any], status: int, field: str
) -> None:
    body: dict[str, Any] = {
        "sku": "BOLT",
        "location": "RAW",
        "lot": "B-1",
        "qty_counted": "4",
        "reason_code": "count_correction",
    }
    body.update(changes)
    body = {key: value for key, value in body.items() if value is not None}
    await refused(shelf, shelf.clerk, "/api/v1/stock/adjustments", body, status=status, field=field)


async def test_a_viewer_cannot_move_or_adjust_stock(shelf: Store) -> None:
    viewer = shelf.client("viewer")
    await refused(
        shelf,
        viewer,
        "/api/v1/stock/adjustments",
        {"sku": "BOLT", "location": "RAW", "lot": "B-1", "qty_counted": "4", "reason_code": "lost"},
        status=403,
        field=None,
    )
    await refused(
        shelf,
        viewer,
        "/api/v1/stock/transfers",
        {"sku": "BOLT", "lot": "B-1", "from_location": "RAW", "to_location": "FG", "qty": "1"},
        status=403,
        field=None,
    )


# -- The ledger and the stock list -----------------------------------------------------------


async def test_the_ledger_filters_by_lot_reference_type_and_reason(store: Store) -> None:
    receive(store.runtime, "RESIN", "10", "25.00", lot="R-1")
    receive(store.runtime, "RESIN", "30", "93.00", lot="R-2", to_status="pending_qc")
    receive(store.runtime, "BOLT", "3", "10.00", lot="R-1")
    adjustment = ok(
        await store.clerk.post(
            "/api/v1/stock/adjustments",
            json={
                "sku": "RESIN",
                "location": "RAW",
                "lot": "R-1",
                "qty_delta": "-1",
                "reason_code": "expired",
            },
        )
    )

    async def ledger(**params: str) -> list[tuple[str, str, str]]:
        page = ok(await store.clerk.get("/api/v1/transactions", params=params), 200)
        return sorted((r["sku"], r["lot"], r["txn_type"]) for r in page["items"])

    assert await ledger(lot="R-1") == [
        ("BOLT", "R-1", "receipt"),
        ("RESIN", "R-1", "adjustment"),
        ("RESIN", "R-1", "receipt"),
    ]
    assert await ledger(sku="RESIN", lot="R-1") == [
        ("RESIN", "R-1", "adjustment"),
        ("RESIN", "R-1", "receipt"),
    ]
    assert await ledger(reference_type="adjustment") == [("RESIN", "R-1", "adjustment")]
    assert await ledger(reference=adjustment["movement_id"]) == [("RESIN", "R-1", "adjustment")]
    assert await ledger(reason_code="expired") == [("RESIN", "R-1", "adjustment")]
    assert await ledger(reason_code="lost") == []
    assert len(await ledger(reference_type="purchase_order")) == 3
    assert await ledger(location="QC") == [("RESIN", "R-2", "receipt")]
    # The ledger's first name answers the same.
    old = ok(await store.clerk.get("/api/v1/stock-transactions", params={"lot": "R-2"}), 200)
    assert [r["lot"] for r in old["items"]] == ["R-2"]
    sorted_by_reason = ok(
        await store.clerk.get("/api/v1/transactions", params={"sort": "-reason_code"}), 200
    )
    assert sorted_by_reason["total"] == 4


async def test_stock_by_item_location_lot_and_status_with_totals(store: Store) -> None:
    receive(store.runtime, "RESIN", "10", "25.00", lot="R-1")
    receive(store.runtime, "RESIN", "30", "93.00", lot="R-2", to_status="pending_qc")
    receive(store.runtime, "BOLT", "3", "10.00", lot="B-1")
    ok(
        await store.clerk.post(
            "/api/v1/stock/adjustments",
            json={
                "sku": "BOLT",
                "location": "RAW",
                "lot": "B-1",
                "qty_counted": "0",
                "reason_code": "lost",
            },
        )
    )

    async def stock(**params: Any) -> dict[str, Any]:
        body: dict[str, Any] = ok(await store.clerk.get("/api/v1/stock", params=params), 200)
        return body

    everything = await stock()
    assert [(r["sku"], r["location"], r["lot"], r["status"]) for r in everything["items"]] == [
        ("RESIN", "RAW", "R-1", "approved"),
        ("RESIN", "QC", "R-2", "pending_qc"),
    ] or sorted((r["sku"], r["lot"]) for r in everything["items"]) == [
        ("RESIN", "R-1"),
        ("RESIN", "R-2"),
    ]
    assert (everything["total"], everything["qty_total"], everything["value_total"]) == (
        2,
        "40.0000",
        "118.0000",
    )
    held = await stock(status="pending_qc")
    assert [(r["lot"], r["unit_cost"]) for r in held["items"]] == [("R-2", "3.1000")]
    assert (await stock(lot="R-1"))["qty_total"] == "10.0000"
    assert (await stock(location="QC"))["total"] == 1
    assert (await stock(item_type="finished"))["total"] == 0
    with_zero = await stock(hide_zero="false", sku="BOLT")
    assert [(r["lot"], r["qty"], r["value"]) for r in with_zero["items"]] == [
        ("B-1", "0.0000", "0.0000")
    ]
    by_value = await stock(sort="-value", limit=1)
    assert [r["lot"] for r in by_value["items"]] == ["R-2"]
    assert by_value["total"] == 2 and by_value["value_total"] == "118.0000"
    bad = await store.clerk.get("/api/v1/stock", params={"status": "lost"})
    assert bad.status_code == 422 and bad.json()["field"] == "query.status"
    bad_sort = await store.clerk.get("/api/v1/stock", params={"sort": "colour"})
    assert bad_sort.status_code == 422 and bad_sort.json()["field"] == "query.sort"


# -- On hand is the sum of the ledger --------------------------------------------------------


async def ledger_sums(store: Store) -> dict[tuple[str, str, str, str], tuple[Decimal, Decimal]]:
    """The ledger as the API shows it, summed by (sku, location, lot, status)."""
    sums: dict[tuple[str, str, str, str], list[Decimal]] = defaultdict(lambda: [D(0), D(0)])
    offset = 0
    while True:
        page = ok(
            await store.clerk.get("/api/v1/transactions", params={"limit": 1000, "offset": offset}),
            200,
        )
        for row in page["items"]:
            total = sums[(row["sku"], row["location"], row["lot"], row["status"])]
            total[0] += D(row["qty"])
            total[1] += D(row["value"])
        offset += len(page["items"])
        if offset >= page["total"]:
            break
    return {key: (q, v) for key, (q, v) in sums.items() if (q, v) != (0, 0)}


async def stock_rows(store: Store) -> dict[tuple[str, str, str, str], tuple[Decimal, Decimal]]:
    page = ok(await store.clerk.get("/api/v1/stock", params={"limit": 1000}), 200)
    return {
        (r["sku"], r["location"], r["lot"], r["status"]): (D(r["qty"]), D(r["value"]))
        for r in page["items"]
        if (D(r["qty"]), D(r["value"])) != (0, 0)
    }


async def test_on_hand_equals_the_sum_of_the_ledger_after_a_mixed_day(store: Store) -> None:
    receive(store.runtime, "RESIN", "10", "25.00", lot="R-1")
    receive(store.runtime, "RESIN", "30", "93.00", lot="R-2", to_status="pending_qc")
    receive(store.runtime, "BOLT", "7", "10.00", lot="B-1")
    inspector, clerk = store.inspector, store.clerk
    ok(
        await inspector.post(
            "/api/v1/stock/release", json={"sku": "RESIN", "lot": "R-2", "qty": "12.5"}
        )
    )
    ok(
        await clerk.post(
            "/api/v1/stock/transfers",
            json={
                "sku": "RESIN",
                "lot": "R-2",
                "from_location": "RAW",
                "to_location": "FG",
                "qty": "3.3333",
            },
        )
    )
    ok(
        await clerk.post(
            "/api/v1/stock/adjustments",
            json={
                "sku": "RESIN",
                "location": "FG",
                "lot": "R-2",
                "qty_counted": "1",
                "reason_code": "damaged",
            },
        )
    )
    ok(
        await clerk.post(
            "/api/v1/stock/adjustments",
            json={
                "sku": "BOLT",
                "location": "RAW",
                "lot": "B-1",
                "qty_delta": "0.5",
                "reason_code": "found",
            },
        )
    )
    ok(
        await clerk.post(
            "/api/v1/stock/transfers",
            json={
                "sku": "BOLT",
                "lot": "B-1",
                "from_location": "RAW",
                "to_location": "FG",
                "qty": "7.5",
            },
        )
    )
    ok(
        await clerk.post(
            "/api/v1/stock/transfers",
            json={
                "sku": "BOLT",
                "lot": "B-1",
                "from_location": "FG",
                "to_location": "RAW",
                "qty": "2",
            },
        )
    )
    ok(await inspector.post("/api/v1/stock/release", json={"sku": "RESIN", "lot": "R-2"}))
    receive(store.runtime, "RESIN", "5", "16.00", lot="R-1")
    ok(
        await clerk.post(
            "/api/v1/stock/adjustments",
            json={
                "sku": "RESIN",
                "location": "RAW",
                "lot": "R-1",
                "qty_counted": "14",
                "reason_code": "count_correction",
            },
        )
    )

    shown = await stock_rows(store)
    assert shown == await ledger_sums(store)
    for sku in ("RESIN", "BOLT"):
        item = ok(await clerk.get(f"/api/v1/items/{sku}/stock"), 200)
        ledger_on_hand = sum(
            (
                qty
                for (s, location, _l, _s), (qty, _v) in shown.items()
                if s == sku and location in ("RAW", "QC", "FG")
            ),
            D(0),
        )
        assert D(item["on_hand"]) == ledger_on_hand
    assert_ledger_matches_balances(store.runtime)


# -- The same, for any sequence (hypothesis) -------------------------------------------------

LOTS = st.sampled_from(["L-1", "L-2"])
QTY = st.decimals(min_value=D("0.0001"), max_value=D(50), places=4)
OPERATIONS = st.one_of(
    st.tuples(
        st.just("receive"),
        LOTS,
        st.sampled_from(["approved", "pending_qc"]),
        QTY,
        st.decimals(min_value=D(0), max_value=D(500), places=2),
    ),
    st.tuples(st.just("release"), LOTS, st.none() | QTY),
    st.tuples(st.just("transfer"), LOTS, st.sampled_from([("RAW", "FG"), ("FG", "RAW")]), QTY),
    st.tuples(
        st.just("adjust"),
        LOTS,
        st.sampled_from([("RAW", "approved"), ("FG", "approved"), ("QC", "pending_qc")]),
        st.booleans(),
        st.decimals(min_value=D(-30), max_value=D(30), places=4),
    ),
)
_skus = count(1)


def apply_operation(runtime: ServiceRuntime, sku: str, operation: tuple[Any, ...]) -> None:
    """One operation through the use cases; a refused one (PortalError) is rolled back."""
    kind, lot = operation[0], operation[1]
    if kind == "receive":
        _kind, _lot, to_status, qty, value = operation
        receive(runtime, sku, qty, value, lot=lot, to_status=to_status)
        return
    with runtime.uow() as uow:
        try:
            if kind == "release":
                movements.release_material(uow, ReleaseCreate(sku=sku, lot=lot, qty=operation[2]))
            elif kind == "transfer":
                (source, destination), qty = operation[2], operation[3]
                movements.transfer_stock(
                    uow,
                    TransferCreate(
                        sku=sku, lot=lot, from_location=source, to_location=destination, qty=qty
                    ),
                )
            else:
                (location, status), counted, number = operation[2], operation[3], operation[4]
                movements.adjust_stock(
                    uow,
                    AdjustmentCreate(
                        sku=sku,
                        location=location,
                        lot=lot,
                        status=status,
                        qty_counted=abs(number) if counted else None,
                        qty_delta=None if counted else number,
                        reason_code=AdjustmentReason.COUNT_CORRECTION,
                    ),
                )
        except PortalError as refusal:
            uow.rollback()
            event(f"{kind} refused ({type(refusal).__name__})")
            return
        uow.commit()
        event(f"{kind} done")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(OPERATIONS, min_size=1, max_size=12))
def test_any_sequence_of_receipts_releases_transfers_and_counts_keeps_stock_equal_to_the_ledger(
    shelf_runtime: ServiceRuntime, operations: list[tuple[Any, ...]]
) -> None:
    sku = f"ANY-{next(_skus)}"
    add_item(shelf_runtime, sku)
    receive(shelf_runtime, sku, "10", "25.00", lot="L-1")
    receive(shelf_runtime, sku, "10", "31.00", lot="L-2", to_status="pending_qc")
    for operation in operations:
        apply_operation(shelf_runtime, sku, operation)
    held = balances(shelf_runtime, sku)
    assert all(qty >= 0 for qty, _value in held.values()), held
    assert all(value == 0 for qty, value in held.values() if qty == 0), held
    with shelf_runtime.uow() as uow:
        on_hand = inventory_service.item_stock(uow, sku).on_hand
        ledger_on_hand = uow.session.scalar(
            select(func.coalesce(func.sum(StockTransaction.qty), 0))
            .join(Item, Item.id == StockTransaction.item_id)
            .where(Item.sku == sku, StockTransaction.location_code.in_(("RAW", "QC", "FG")))
        )
    assert on_hand == D(ledger_on_hand)
    assert_ledger_matches_balances(shelf_runtime)


# -- Where a lot came from -------------------------------------------------------------------


async def test_a_lot_keeps_the_vendor_po_and_receipt_of_its_first_receipt(store: Store) -> None:
    receive(store.runtime, "RESIN", "10", "25.00", lot="2026/03-A")
    receive(store.runtime, "RESIN", "5", "12.50", lot="2026/03-A")
    with store.runtime.uow() as uow:
        first_po, second_po = uow.session.scalars(
            select(StockTransaction.reference)
            .where(StockTransaction.txn_type == "receipt")
            .order_by(StockTransaction.id)
        ).all()

    # The vendor's lot code has a slash in it.
    path = "/api/v1/genealogy/lots/RESIN/2026%2F03-A/sources"
    origin = ok(await store.clerk.get(path), 200)["lot"]
    assert origin["lot"] == "2026/03-A"
    uses = ok(await store.clerk.get("/api/v1/genealogy/lots/RESIN/2026/03-A/uses"), 200)
    assert uses["lot"]["lot"] == "2026/03-A" and uses["orders"] == []
    assert (origin["vendor_code"], f"{origin['po_number']}/1") == ("ACME", first_po)
    assert origin["receipt_id"].startswith("RCV-")
    assert [(r["reference"], r["qty"]) for r in origin["receipts"]] == [
        (first_po, "10.0000"),
        (second_po, "5.0000"),
    ]
