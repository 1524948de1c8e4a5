"""Inventory's valuation on a real inventory service (SQLite, and PostgreSQL when reachable):
its value per class and item from the balances and from the stock ledger, the value each
document moved, named as the journal names documents, and what a change from buy to make does.

Worked by hand. Received: PO-V-1 line 1, 10 resin at 3.00 into RAW (30.00), line 2, 4 resin
at 3.00 into the QC hold (12.00); PO-V-2, 5 bolts at 2.00 (10.00); PO-V-3, 2 parts (a made
item, bought in once) at 8.00 (16.00). Then the QC hold is released, 2 bolts go from RAW to FG,
1 bolt is lost at FG (2.00). Raw: resin 42.00 + bolts 8.00 = 50.00; finished: parts 16.00.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from services.inventory.schemas import ItemType, MakeOrBuy
from services.inventory.valuation import service
from services.inventory.valuation.schemas import ValuationOut
from shared.auth.tokens import issue_service_token
from shared.events.catalogue import MaterialReceived
from shared.runtime import ServiceRuntime
from tests.support.flow import ok
from tests.support.servers import PostgresDatabases
from tests.support.stock import SECRET, add_item, deliver, envelope, inventory_runtime

D = Decimal
UTC_ZONE = ZoneInfo("UTC")

pytestmark = pytest.mark.timeout(120)


def receive(
    runtime: ServiceRuntime,
    po: str,
    line: int,
    sku: str,
    qty: str,
    value: str,
    *,
    lot: str | None = None,
    to_status: str = "approved",
) -> None:
    payload = MaterialReceived(
        po_number=po,
        line_no=line,
        receipt_id=f"RCV-{po}-{line}",
        sku=sku,
        qty=D(qty),
        unit_cost=(D(value) / D(qty)).quantize(D("0.0001")),
        value=D(value),
        vendor_code="ACME",
        received_at=datetime.now(UTC),
        lot=lot,
        to_status=to_status,
    )
    assert not deliver(runtime, envelope(payload, po))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServiceRuntime]:
    if request.param == "postgresql":
        postgres: PostgresDatabases = request.getfixturevalue("postgres")
        store = inventory_runtime(tmp_path, postgres.create("inventory"))
    else:
        store = inventory_runtime(tmp_path)
    try:
        yield store
    finally:
        store.db.dispose()


@pytest.fixture
async def api(runtime: ServiceRuntime) -> AsyncIterator[httpx.AsyncClient]:
    add_item(runtime, "RESIN")
    add_item(runtime, "BOLT")
    add_item(runtime, "PART", item_type=ItemType.FINISHED, make_or_buy=MakeOrBuy.MAKE)
    receive(runtime, "PO-V-1", 1, "RESIN", "10", "30.00", lot="R-1")
    receive(runtime, "PO-V-1", 2, "RESIN", "4", "12.00", lot="R-2", to_status="pending_qc")
    receive(runtime, "PO-V-2", 1, "BOLT", "5", "10.00", lot="B-1")
    receive(runtime, "PO-V-3", 1, "PART", "2", "16.00")
    token = issue_service_token(
        SECRET, user="clerk", roles=["store", "supervisor"], ttl_seconds=300
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=runtime.app),
        base_url="http://inventory",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        ok(await client.post("/api/v1/stock/release", json={"sku": "RESIN", "lot": "R-2"}), 201)
        transfer = {"sku": "BOLT", "lot": "B-1", "from_location": "RAW", "to_location": "FG"}
        ok(await client.post("/api/v1/stock/transfers", json={**transfer, "qty": "2"}), 201)
        lost = {"sku": "BOLT", "lot": "B-1", "location": "FG", "reason_code": "lost"}
        ok(await client.post("/api/v1/stock/adjustments", json={**lost, "qty_delta": "-1"}), 201)
        yield client


def figures(valuation: dict[str, Any] | ValuationOut) -> tuple[list[Any], list[Any]]:
    body = valuation.model_dump(mode="json") if isinstance(valuation, ValuationOut) else valuation
    classes = [(c["inventory_class"], D(c["value"])) for c in body["classes"]]
    items = [(i["sku"], i["inventory_class"], D(i["qty"]), D(i["value"])) for i in body["items"]]
    return classes, items


async def test_value_by_class_follows_the_item_wherever_it_is_stored(
    api: httpx.AsyncClient,
) -> None:
    valuation = ok(await api.get("/api/v1/valuation"))

    assert valuation["source"] == "balances"
    assert figures(valuation) == (
        [("raw", D("50.00")), ("wip", D(0)), ("finished", D("16.00"))],
        [
            ("BOLT", "raw", D(4), D("8.00")),  # 2 in RAW, 2 in FG: a bought item is raw
            ("PART", "finished", D(2), D("16.00")),  # in RAW, but made: finished goods
            ("RESIN", "raw", D(14), D("42.00")),
        ],
    )
    assert D(valuation["total"]) == D("66.00")
    totals = ok(await api.get("/api/v1/valuation", params={"items": "false"}))
    assert figures(totals) == (figures(valuation)[0], [])  # what a reconciliation asks for


async def test_the_stock_ledger_gives_the_same_value_as_the_balances(
    api: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    today = datetime.now(UTC).date()
    with runtime.uow(read_only=True) as uow:
        # As if it were tomorrow: today's value comes from the ledger, not the balances.
        from_ledger = service.valuation(uow, today, today + timedelta(days=1), UTC_ZONE)
        before_any = service.valuation(uow, today - timedelta(days=1), today, UTC_ZONE)

    assert from_ledger.source == "ledger"
    assert figures(from_ledger) == figures(ok(await api.get("/api/v1/valuation")))
    assert before_any.source == "ledger"
    assert figures(before_any) == ([("raw", D(0)), ("wip", D(0)), ("finished", D(0))], [])


async def test_each_document_is_named_as_the_journal_names_it_and_transfers_are_left_out(
    api: httpx.AsyncClient,
) -> None:
    moved = ok(await api.get("/api/v1/valuation/documents"))

    rows = [
        (d["document_type"], d["document_ref"], d["inventory_class"], D(d["value"]), d["items"])
        for d in moved["documents"]
    ]
    adjustment = next(r for r in rows if r[0] == "adjustment")
    assert adjustment[1].startswith("ADJ")
    assert rows == [
        ("adjustment", adjustment[1], "raw", D("-2.00"), [{"sku": "BOLT", "value": "-2.0000"}]),
        ("purchase_order", "PO-V-1", "raw", D("42.00"), [{"sku": "RESIN", "value": "42.0000"}]),
        ("purchase_order", "PO-V-2", "raw", D("10.00"), [{"sku": "BOLT", "value": "10.0000"}]),
        (
            "purchase_order",
            "PO-V-3",
            "finished",
            D("16.00"),
            [{"sku": "PART", "value": "16.0000"}],
        ),
    ]
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    later = ok(await api.get("/api/v1/valuation/documents", params={"date_from": tomorrow}))
    assert later["documents"] == []


async def test_a_bought_item_made_from_now_on_moves_its_value_to_finished_goods(
    api: httpx.AsyncClient,
) -> None:
    ok(await api.patch("/api/v1/items/BOLT", json={"make_or_buy": "make"}))

    valuation = ok(await api.get("/api/v1/valuation"))
    assert figures(valuation)[0] == [("raw", D("42.00")), ("wip", D(0)), ("finished", D("24.00"))]
    moved = ok(await api.get("/api/v1/valuation/documents"))
    bolts = sorted(
        (d["document_type"], d["inventory_class"], D(d["value"]))
        for d in moved["documents"]
        if d["items"][0]["sku"] == "BOLT"
    )
    assert bolts == [("adjustment", "finished", D("-2.00")), ("purchase_order", "finished", D(10))]


async def test_valuation_needs_a_reader_and_a_real_day(runtime: ServiceRuntime) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=runtime.app), base_url="http://inventory"
    ) as anonymous:
        assert (await anonymous.get("/api/v1/valuation")).status_code == 401
    token = issue_service_token(SECRET, user="viewer", roles=["viewer"], ttl_seconds=300)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=runtime.app),
        base_url="http://inventory",
        headers={"Authorization": f"Bearer {token}"},
    ) as viewer:
        assert ok(await viewer.get("/api/v1/valuation"))["total"] == "0.0000"
        wrong = await viewer.get("/api/v1/valuation", params={"as_of": "2026-02-29"})
        assert wrong.status_code == 422 and wrong.json()["field"] == "query.as_of"


def test_a_plant_day_ends_at_the_plants_midnight() -> None:
    chicago = ZoneInfo("America/Chicago")
    assert service.end_of_day(date(2026, 3, 3), chicago) == datetime(2026, 3, 4, 6, tzinfo=UTC)
    # Daylight saving starts on 8 March 2026 in Chicago: midnight is then 05:00 UTC.
    assert service.end_of_day(date(2026, 3, 8), chicago) == datetime(2026, 3, 9, 5, tzinfo=UTC)
    assert service.start_of_day(date(2026, 3, 8), chicago) == datetime(2026, 3, 8, 6, tzinfo=UTC)
    assert service.end_of_day(date.max, chicago) == datetime.max.replace(tzinfo=UTC)
