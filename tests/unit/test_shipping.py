"""Selling finished goods from stock and shipping them, on the whole embedded portal through the
gateway's API: mrp allocates an order's lines through inventory's reservations, the store ships
them out of FG lot by lot (oldest first) at the lots' cost, OrderShipped carries cost and price,
and mrp's order follows to shipped. A retried shipment ships once; short FG and over-shipping
are refused naming the line, with nothing moved.

Stock: 3 widgets in lot FG-A at 5.00 (older) and 5 in lot FG-B at 6.00, put in FG through the
stock primitive. Figures below are worked by hand from that.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from sqlalchemy import select

from services.embedded import EmbeddedPortal
from services.inventory import service as inventory_service
from services.inventory import stock
from services.inventory.models import StockTransaction
from services.inventory.schemas import ItemCreate
from tests.support.ui import ADMIN_PASSWORD, PASSWORD, add_user, ui_portal

WIDGET = "WIDGET-S"
D = Decimal


def put_in_fg(portal: EmbeddedPortal, lot: str, qty: str, value: str) -> None:
    """Finished goods arrive in FG/approved under `lot` (one transaction per lot, so the lots'
    ages differ and FIFO has an order to follow)."""
    with portal.runtimes["inventory"].uow() as uow:
        book = stock.lock_items(uow, skus=[WIDGET])
        item = book.item(WIDGET)
        assert item is not None
        stock.record_lot(book, item.id, lot, stock.LotOrigin(order_code=lot))
        stock.move(
            book,
            stock.Move(
                item_id=item.id,
                qty=D(qty),
                txn_type="adjustment",
                reference_type="test",
                reference=lot,
                destination=stock.Place("FG", lot, "approved"),
                value=D(value),
            ),
        )
        stock.save(uow, book)
        uow.commit()


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[EmbeddedPortal]:
    async with ui_portal(tmp_path, handler_backoff_seconds=0) as running:
        with running.runtimes["inventory"].uow() as uow:
            inventory_service.create_item(
                uow,
                ItemCreate(
                    sku=WIDGET, name="Widget", uom="ea", item_type="finished", make_or_buy="make"
                ),
            )
            uow.commit()
        put_in_fg(running, "FG-A", "3", "15.00")
        put_in_fg(running, "FG-B", "5", "30.00")
        add_user(running, "paula", ["planner"])
        await running.wait_idle()
        yield running


@contextlib.asynccontextmanager
async def api_as(
    portal: EmbeddedPortal, username: str, password: str
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=portal.gateway.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal") as client:
        answer = await client.post(
            "/api/auth/login", json={"username": username, "password": password}
        )
        assert answer.status_code == 200, answer.text
        if token := answer.headers.get("x-csrf-token"):
            client.headers["x-csrf-token"] = token
        yield client


@pytest.fixture
async def api(portal: EmbeddedPortal) -> AsyncIterator[httpx.AsyncClient]:
    async with api_as(portal, "admin", ADMIN_PASSWORD) as client:
        yield client


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    if field is not None:
        assert body.get("field") == field, body
    return body


async def sales_order(
    portal: EmbeddedPortal, api: httpx.AsyncClient, *lines: tuple[str, str]
) -> str:
    """A sales order of widgets, (qty, unit price) per line, known to inventory when returned."""
    response = await api.post("/api/mrp/v1/customers", json={"code": "ACME", "name": "Acme"})
    assert response.status_code in (201, 409), response.text
    so = ok(
        await api.post(
            "/api/mrp/v1/sales-orders",
            json={
                "customer_code": "ACME",
                "business_unit": "RETAIL",
                "lines": [{"sku": WIDGET, "qty": q, "unit_price": p} for q, p in lines],
            },
        ),
        201,
    )
    await portal.wait_idle()
    number: str = so["so_number"]
    return number


def figures(portal: EmbeddedPortal) -> dict[str, Decimal]:
    """The widget's stock as inventory's stock primitive computes it (what StockChanged says)."""
    with portal.runtimes["inventory"].uow() as uow:
        book = stock.lock_items(uow, skus=[WIDGET])
        item = book.item(WIDGET)
        assert item is not None
        levels = book.levels(item.id)
    return {
        "on_hand": levels.on_hand,
        "available": levels.available,
        "allocated": levels.allocated,
    }


def ledger(portal: EmbeddedPortal, reference_type: str | None = None) -> list[tuple[Any, ...]]:
    with portal.runtimes["inventory"].uow() as uow:
        query = select(
            StockTransaction.reference_type,
            StockTransaction.reference,
            StockTransaction.location_code,
            StockTransaction.lot,
            StockTransaction.qty,
            StockTransaction.value,
        ).order_by(StockTransaction.id)
        if reference_type:
            query = query.where(StockTransaction.reference_type == reference_type)
        return [tuple(row) for row in uow.session.execute(query)]


def order_shipped_events(portal: EmbeddedPortal) -> list[dict[str, Any]]:
    with portal.runtimes["inventory"].uow() as uow:
        outbox = uow.tables.outbox
        rows = uow.session.scalars(
            select(outbox.c.envelope)
            .where(outbox.c.event_type == "OrderShipped")
            .order_by(outbox.c.id)
        ).all()
    return [json.loads(row)["payload"] for row in rows]


async def test_an_order_sold_from_stock_is_allocated_then_shipped_once_fifo_at_the_lots_cost(
    portal: EmbeddedPortal, api: httpx.AsyncClient
) -> None:
    so = await sales_order(portal, api, ("4", "12.00"))

    allocated = ok(await api.post(f"/api/mrp/v1/sales-orders/{so}/allocate"))
    assert allocated["status"] == "ready_to_ship"
    assert allocated["lines"][0]["qty_allocated"] == "4.0000"
    assert allocated["allocation"]["status"] == "reserved"
    assert figures(portal) == {"on_hand": 8, "available": 4, "allocated": 4}
    # Allocating again holds nothing more.
    again = ok(await api.post(f"/api/mrp/v1/sales-orders/{so}/allocate"))
    assert again["lines"][0]["qty_allocated"] == "4.0000"
    assert figures(portal) == {"on_hand": 8, "available": 4, "allocated": 4}

    request = {"so_number": so, "lines": [{"line_no": 1, "qty": "4"}]}
    key = {"Idempotency-Key": "dock-door-2-first-pallet"}
    shipment = ok(await api.post("/api/inventory/v1/shipments", json=request, headers=key), 201)
    # FIFO: 3 from FG-A at 5.00 (15.00), 1 from FG-B at 6.00 (6.00): cost 21.00, 5.25 a unit.
    # Price 4 x 12.00 = 48.00, shared by quantity: 36.00 and 12.00.
    (line,) = shipment["lines"]
    assert (line["qty"], line["unit_cost"], line["cost_value"]) == ("4.0000", "5.2500", "21.0000")
    assert (line["unit_price"], line["sales_value"]) == ("12.0000", "48.0000")
    assert [
        (lot["lot"], lot["qty"], lot["cost_value"], lot["sales_value"]) for lot in line["lots"]
    ] == [
        ("FG-A", "3.0000", "15.0000", "36.0000"),
        ("FG-B", "1.0000", "6.0000", "12.0000"),
    ]
    shipment_id = shipment["shipment_id"]
    assert shipment_id.startswith("SHP-") and len(shipment_id) == len("SHP-2026-00001")
    assert shipment["customer_code"] == "ACME" and shipment["business_unit"] == "RETAIL"

    # The dock's retry with the same key answers the same shipment and ships nothing more.
    retry = await api.post("/api/inventory/v1/shipments", json=request, headers=key)
    assert ok(retry, 201) == shipment
    assert retry.headers.get("idempotent-replayed") == "true"

    # FG consumed once: 8 - 4 = 4 left, nothing allocated; on hand = the ledger's sum.
    assert figures(portal) == {"on_hand": 4, "available": 4, "allocated": 0}
    assert ledger(portal, "shipment") == [
        ("shipment", shipment_id, "FG", "FG-A", D(-3), D("-15.00")),
        ("shipment", shipment_id, "FG", "FG-B", D(-1), D("-6.00")),
    ]
    assert sum(row[4] for row in ledger(portal)) == 4
    (event,) = order_shipped_events(portal)
    assert event["shipment_id"] == shipment_id and event["so_number"] == so
    assert event["customer_code"] == "ACME" and event["business_unit"] == "RETAIL"
    assert [
        (
            shipped["line_no"],
            D(shipped["qty"]),
            D(shipped["unit_cost"]),
            D(shipped["unit_price"]),
            D(shipped["cost_value"]),
            D(shipped["sales_value"]),
            shipped["lot"],
        )
        for shipped in event["lines"]
    ] == [(1, 4, D("5.25"), 12, 21, 48, None)]

    # mrp hears it: the order is shipped.
    await portal.wait_idle()
    order = ok(await api.get(f"/api/mrp/v1/sales-orders/{so}"))
    assert order["status"] == "shipped"
    assert order["lines"][0]["qty_shipped"] == "4.0000"
    assert order["lines"][0]["qty_allocated"] == "0.0000"

    # Read back: by id, in the list by order, customer and day, and as a workbook.
    assert ok(await api.get(f"/api/inventory/v1/shipments/{shipment_id}")) == shipment
    for params in (
        {"so_number": so},
        {"customer_code": "ACME"},
        {"date_from": shipment["ship_date"]},
    ):
        page = ok(await api.get("/api/inventory/v1/shipments", params=params))
        assert [s["shipment_id"] for s in page["items"]] == [shipment_id], params
    assert (
        ok(await api.get("/api/inventory/v1/shipments", params={"customer_code": "OTHER"}))["total"]
        == 0
    )
    export = await api.get("/api/inventory/v1/shipments.xlsx", params={"so_number": so})
    assert export.status_code == 200, export.text
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Shipment"
    assert [(row[0], row[7], row[8], row[11]) for row in rows[1:]] == [
        (shipment_id, "FG-A", 3, 15),
        (shipment_id, "FG-B", 1, 6),
    ]
    refused(await api.get("/api/inventory/v1/shipments/SHP-1999-00001"), 404)


async def test_a_sale_without_allocation_allocates_fg_first_and_short_fg_is_refused_by_line(
    portal: EmbeddedPortal, api: httpx.AsyncClient
) -> None:
    so = await sales_order(portal, api, ("10", "2.00"), ("1", "9.99"))
    other = await sales_order(portal, api, ("3", "1.00"))
    before = ledger(portal)

    def ship(*lines: tuple[int, str], number: str = so) -> Any:
        body = {"so_number": number, "lines": [{"line_no": n, "qty": q} for n, q in lines]}
        return api.post("/api/inventory/v1/shipments", json=body)

    # More than ordered (10) is refused naming the line's quantity; so is FG that is not there
    # (9 asked, 8 in FG), naming the line.
    problem = refused(await ship((1, "11")), 422, "lines.0.qty")
    assert "10" in problem["detail"] and problem["code"] == "over_shipment"
    problem = refused(await ship((2, "1"), (1, "9")), 409, "lines.1.qty")
    assert problem["code"] == "insufficient_stock" and WIDGET in problem["detail"]
    refused(await ship((3, "1")), 422, "lines.0.line_no")
    refused(await ship((1, "1"), (1, "1")), 422, "lines.1.line_no")
    refused(await ship((1, "0")), 422, "lines.0.qty")
    refused(await ship((1, "1"), number="SO-1999-00001"), 404, "so_number")
    assert ledger(portal) == before
    assert figures(portal) == {"on_hand": 8, "available": 8, "allocated": 0}

    # Nothing allocated: available FG is allocated to the line, then shipped (3 of A, 2 of B).
    shipped = ok(await ship((1, "5")), 201)
    assert shipped["lines"][0]["cost_value"] == "27.0000"  # 15.00 + 2 x 6.00
    assert shipped["lines"][0]["sales_value"] == "10.0000"
    assert figures(portal) == {"on_hand": 3, "available": 3, "allocated": 0}

    # Another order takes the last 3; this one cannot have them.
    ok(await api.post(f"/api/mrp/v1/sales-orders/{other}/allocate"))
    assert figures(portal) == {"on_hand": 3, "available": 0, "allocated": 3}
    problem = refused(await ship((1, "1")), 409, "lines.0.qty")
    assert problem["code"] == "insufficient_stock"
    # 10 ordered, 5 shipped: 6 more is over the line, whatever the stock.
    refused(await ship((1, "6")), 422, "lines.0.qty")

    # The other order is cancelled: inventory hears it and releases its allocation.
    ok(await api.post(f"/api/mrp/v1/sales-orders/{other}/cancel"))
    await portal.wait_idle()
    assert figures(portal) == {"on_hand": 3, "available": 3, "allocated": 0}
    refused(await ship((1, "1"), number=other), 409, "so_number")

    # A shipment id chosen by the caller is kept; sent again, the same shipment is answered.
    chosen = {"so_number": so, "lines": [{"line_no": 2, "qty": "1"}], "shipment_id": "DOCK-7"}
    first = ok(await api.post("/api/inventory/v1/shipments", json=chosen), 201)
    assert first["shipment_id"] == "DOCK-7" and first["lines"][0]["sales_value"] == "9.9900"
    assert ok(await api.post("/api/inventory/v1/shipments", json=chosen), 201) == first
    different = {**chosen, "lines": [{"line_no": 1, "qty": "1"}]}
    refused(await api.post("/api/inventory/v1/shipments", json=different), 409, "shipment_id")
    assert figures(portal) == {"on_hand": 2, "available": 2, "allocated": 0}

    await portal.wait_idle()
    order = ok(await api.get(f"/api/mrp/v1/sales-orders/{so}"))
    assert order["status"] == "partial"
    assert [line["qty_shipped"] for line in order["lines"]] == ["5.0000", "1.0000"]


async def test_a_planner_allocates_but_only_the_store_ships(
    portal: EmbeddedPortal, api: httpx.AsyncClient
) -> None:
    so = await sales_order(portal, api, ("2", "1"))
    async with api_as(portal, "paula", PASSWORD) as planner:
        allocated = ok(await planner.post(f"/api/mrp/v1/sales-orders/{so}/allocate"))
        assert allocated["status"] == "ready_to_ship"
        body = {"so_number": so, "lines": [{"line_no": 1, "qty": "2"}]}
        refused(await planner.post("/api/inventory/v1/shipments", json=body), 403)
    assert figures(portal) == {"on_hand": 8, "available": 6, "allocated": 2}
