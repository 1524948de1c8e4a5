"""Customers and sales orders in the mrp service, on the whole embedded portal through the
gateway's API: a planner takes an order, bad orders are refused with the field named and
nothing saved, and the order's status follows production's and inventory's events."""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from sqlalchemy import func, select

from services.embedded import EmbeddedPortal
from services.inventory import service as inventory_service
from services.inventory.schemas import ItemCreate
from services.mrp.sales.models import SalesOrder
from shared.events.catalogue import OrderShipped, ProductionOrderChanged
from shared.events.envelope import Envelope, utc_now
from tests.support.ui import ADMIN_PASSWORD, add_user, ui_portal

WIDGET, GADGET = "WIDGET-1", "GADGET-1"
CUSTOMER = {"code": "ACME", "name": "Acme Retail", "priority": 2}


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[EmbeddedPortal]:
    async with ui_portal(tmp_path, handler_backoff_seconds=0) as running:
        with running.runtimes["inventory"].uow() as uow:
            for sku in (WIDGET, GADGET):
                inventory_service.create_item(
                    uow,
                    ItemCreate(
                        sku=sku,
                        name=sku.title(),
                        uom="ea",
                        item_type="finished",
                        make_or_buy="make",
                    ),
                )
            uow.commit()
        await running.wait_idle()
        add_user(running, "vera", ["viewer"])
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
        assert body["field"] == field, body
    return body


def so_count(portal: EmbeddedPortal) -> int:
    with portal.runtimes["mrp"].uow() as uow:
        return int(uow.session.scalar(select(func.count(SalesOrder.id))) or 0)


def published(portal: EmbeddedPortal, event_type: str, key: str) -> list[dict[str, Any]]:
    """The payloads mrp published (or will) of `event_type` under `key`, oldest first."""
    with portal.runtimes["mrp"].uow() as uow:
        outbox = uow.tables.outbox
        rows = uow.session.scalars(
            select(outbox.c.envelope)
            .where(outbox.c.event_type == event_type, outbox.c.key == key)
            .order_by(outbox.c.id)
        ).all()
    return [json.loads(row)["payload"] for row in rows]


async def take_order(api: httpx.AsyncClient, *lines: dict[str, Any], **header: Any) -> Any:
    response = await api.post("/api/mrp/v1/customers", json=CUSTOMER)
    assert response.status_code in (201, 409), response.text
    return ok(
        await api.post(
            "/api/mrp/v1/sales-orders",
            json={"customer_code": "ACME", "lines": list(lines), **header},
        ),
        201,
    )


async def test_a_planner_takes_an_order_numbered_priced_and_published(
    portal: EmbeddedPortal, api: httpx.AsyncClient
) -> None:
    customer = ok(await api.post("/api/mrp/v1/customers", json=CUSTOMER), 201)
    assert customer == {"code": "ACME", "name": "Acme Retail", "priority": 2, "active": True}
    so = await take_order(
        api,
        {"sku": WIDGET, "qty": "10", "unit_price": "15.00", "due_date": "2026-12-10"},
        {"sku": GADGET, "qty": "3", "unit_price": "2.335", "business_unit": "RETAIL"},
        order_date="2026-11-20",
        business_unit="PRINT",
        due_date="2026-12-01",
    )
    assert so["so_number"] == "SO-2026-00001"
    assert so["status"] == "open"
    assert so["customer_name"] == "Acme Retail"
    # 10 x 15.00 = 150.00; 3 x 2.335 = 7.005 -> 7.01 (cents, half up); total 157.01.
    assert [line["value"] for line in so["lines"]] == ["150.0000", "7.0100"]
    assert so["total"] == "157.0100"
    # A line without its own due date or business unit takes the order's.
    assert [(line["due_date"], line["business_unit"]) for line in so["lines"]] == [
        ("2026-12-10", "PRINT"),
        ("2026-12-01", "RETAIL"),
    ]
    assert so["due_date"] == "2026-12-01"
    assert so == ok(await api.get("/api/mrp/v1/sales-orders/SO-2026-00001"))

    (event,) = published(portal, "SalesOrderChanged", "SO-2026-00001")
    assert event["status"] == "open" and event["customer_code"] == "ACME"
    assert [
        (line["sku"], Decimal(line["qty_ordered"]), Decimal(line["unit_price"]))
        for line in event["lines"]
    ] == [(WIDGET, 10, 15), (GADGET, 3, Decimal("2.335"))]
    audit = published(portal, "AuditRecorded", "audit:sales_order:SO-2026-00001")
    assert [entry["action"] for entry in audit] == ["mrp.sales_orders.create"]

    second = await take_order(
        api, {"sku": WIDGET, "qty": "1", "unit_price": "1"}, order_date="2026-11-21"
    )
    assert second["so_number"] == "SO-2026-00002"
    next_year = await take_order(
        api, {"sku": WIDGET, "qty": "1", "unit_price": "1"}, order_date="2027-01-04"
    )
    assert next_year["so_number"] == "SO-2027-00001"


async def test_the_list_filters_by_status_customer_unit_and_due_dates_and_exports(
    api: httpx.AsyncClient,
) -> None:
    first = await take_order(
        api,
        {"sku": WIDGET, "qty": "1", "unit_price": "1", "due_date": "2026-12-05"},
        business_unit="PRINT",
    )
    second = await take_order(
        api, {"sku": GADGET, "qty": "2", "unit_price": "3", "due_date": "2027-01-15"}
    )
    ok(await api.post(f"/api/mrp/v1/sales-orders/{second['so_number']}/cancel"))

    async def numbers(**params: str) -> list[str]:
        page = ok(await api.get("/api/mrp/v1/sales-orders", params=params))
        return [so["so_number"] for so in page["items"]]

    assert await numbers() == [second["so_number"], first["so_number"]]
    assert await numbers(status="cancelled") == [second["so_number"]]
    assert await numbers(customer_code="ACME", status="open") == [first["so_number"]]
    assert await numbers(customer_code="NOBODY") == []
    assert await numbers(business_unit="PRINT") == [first["so_number"]]
    assert await numbers(due_from="2026-12-01", due_to="2026-12-31") == [first["so_number"]]
    assert await numbers(due_from="2027-01-01") == [second["so_number"]]
    assert await numbers(sort="number") == [first["so_number"], second["so_number"]]
    refused(
        await api.get(
            "/api/mrp/v1/sales-orders", params={"due_from": "2027-01-02", "due_to": "2027-01-01"}
        ),
        422,
        "query.due_to",
    )
    refused(await api.get("/api/mrp/v1/sales-orders", params={"status": "lost"}), 422)

    export = await api.get("/api/mrp/v1/sales-orders.xlsx", params={"status": "open"})
    assert export.status_code == 200, export.text
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("Sales order", "Customer", "Customer name", "Status")
    assert [row[0] for row in rows[1:]] == [first["so_number"]]
    assert rows[1][3] == "open" and rows[1][-1] == 1


async def test_bad_orders_are_refused_naming_the_field_and_nothing_is_saved(
    portal: EmbeddedPortal, api: httpx.AsyncClient
) -> None:
    ok(await api.post("/api/mrp/v1/customers", json=CUSTOMER), 201)
    line = {"sku": WIDGET, "qty": "1", "unit_price": "1"}
    cases = [
        ({"customer_code": "NOBODY", "lines": [line]}, 422, "customer_code"),
        (
            {"customer_code": "ACME", "lines": [line, {**line, "sku": "NO-SUCH-SKU"}]},
            422,
            "lines.1.sku",
        ),
        ({"customer_code": "ACME", "lines": [{**line, "qty": "0"}]}, 422, "lines.0.qty"),
        ({"customer_code": "ACME", "lines": [{**line, "qty": "-2"}]}, 422, "lines.0.qty"),
        (
            {"customer_code": "ACME", "lines": [{**line, "unit_price": "-1"}]},
            422,
            "lines.0.unit_price",
        ),
        ({"customer_code": "ACME", "lines": []}, 422, "lines"),
        ({"customer_code": "ACME", "lines": [{**line, "qty": "1e14"}]}, 422, "lines.0.qty"),
        ({"customer_code": "ACME", "lines": [line], "surprise": 1}, 422, "surprise"),
    ]
    for body, status, field in cases:
        refused(await api.post("/api/mrp/v1/sales-orders", json=body), status, field)
    assert so_count(portal) == 0
    assert published(portal, "SalesOrderChanged", "SO-2026-00001") == []

    refused(await api.post("/api/mrp/v1/customers", json=CUSTOMER), 409, "code")
    refused(
        await api.post("/api/mrp/v1/customers", json={**CUSTOMER, "code": "B", "priority": 6}),
        422,
        "priority",
    )
    refused(await api.post("/api/mrp/v1/customers", json={"code": "", "name": "x"}), 422, "code")
    refused(await api.get("/api/mrp/v1/customers/NOBODY"), 404)
    refused(await api.get("/api/mrp/v1/sales-orders/SO-2026-99999"), 404)
    refused(await api.post("/api/mrp/v1/sales-orders/SO-2026-99999/cancel"), 404)

    # An inactive customer takes no new orders.
    ok(await api.patch("/api/mrp/v1/customers/ACME", json={"active": False}))
    refused(
        await api.post("/api/mrp/v1/sales-orders", json={"customer_code": "ACME", "lines": [line]}),
        422,
        "customer_code",
    )
    # The first order taken after all that still gets the first number: refusals take none.
    ok(await api.patch("/api/mrp/v1/customers/ACME", json={"active": True, "priority": 1}))
    so = ok(
        await api.post(
            "/api/mrp/v1/sales-orders",
            json={"customer_code": "ACME", "lines": [line], "order_date": "2026-06-01"},
        ),
        201,
    )
    assert so["so_number"] == "SO-2026-00001"
    assert ok(await api.get("/api/mrp/v1/customers/ACME"))["priority"] == 1


async def test_a_viewer_reads_orders_but_cannot_take_or_cancel_them(
    portal: EmbeddedPortal, api: httpx.AsyncClient
) -> None:
    so = await take_order(api, {"sku": WIDGET, "qty": "1", "unit_price": "1"})
    async with api_as(portal, "vera", "ui-test-password") as viewer:
        assert (
            ok(await viewer.get(f"/api/mrp/v1/sales-orders/{so['so_number']}"))["status"] == "open"
        )
        refused(await viewer.post(f"/api/mrp/v1/sales-orders/{so['so_number']}/cancel"), 403)
        refused(await viewer.post("/api/mrp/v1/customers", json={"code": "V", "name": "V"}), 403)


async def test_an_order_is_cancelled_once_and_never_after_it_shipped(
    portal: EmbeddedPortal, api: httpx.AsyncClient
) -> None:
    so = await take_order(api, {"sku": WIDGET, "qty": "5", "unit_price": "1"})
    number = so["so_number"]
    cancelled = ok(await api.post(f"/api/mrp/v1/sales-orders/{number}/cancel"))
    assert cancelled["status"] == "cancelled"
    refused(await api.post(f"/api/mrp/v1/sales-orders/{number}/cancel"), 409, "status")
    refused(await api.post(f"/api/mrp/v1/sales-orders/{number}/allocate"), 409, "status")
    assert [e["status"] for e in published(portal, "SalesOrderChanged", number)] == [
        "open",
        "cancelled",
    ]

    shipped = (await take_order(api, {"sku": WIDGET, "qty": "5", "unit_price": "1"}))["so_number"]
    await deliver(portal, shipment(shipped, "SHP-T-1", qty="2"))
    refused(await api.post(f"/api/mrp/v1/sales-orders/{shipped}/cancel"), 409, "status")
    assert ok(await api.get(f"/api/mrp/v1/sales-orders/{shipped}"))["status"] == "partial"


# --- the status follows the events ------------------------------------------------------------

_sequences: dict[str, int] = {}


def production_order(
    code: str, status: str, *, sequence: int | None = None, **fields: Any
) -> Envelope:
    """ProductionOrderChanged as production would publish it (the next sequence of `code`)."""
    _sequences[code] = sequence if sequence is not None else _sequences.get(code, 0) + 1
    payload = ProductionOrderChanged(
        order_code=code,
        sku=WIDGET,
        order_type="mto",
        status=status,
        qty_ordered=Decimal(fields.pop("qty_ordered", "10")),
        qty_to_make=Decimal(fields.pop("qty_to_make", "10")),
        **fields,
    )
    return Envelope(
        type="ProductionOrderChanged",
        producer="production",
        key=code,
        sequence=_sequences[code],
        payload=payload.model_dump(mode="json"),
    )


def shipment(so_number: str, shipment_id: str, *, qty: str, line_no: int = 1) -> Envelope:
    payload = OrderShipped(
        shipment_id=shipment_id,
        so_number=so_number,
        customer_code="ACME",
        lines=(
            {
                "line_no": line_no,
                "sku": WIDGET,
                "qty": Decimal(qty),
                "unit_cost": Decimal("5.50"),
                "unit_price": Decimal("15"),
                "cost_value": Decimal(qty) * Decimal("5.50"),
                "sales_value": Decimal(qty) * 15,
            },
        ),
        shipped_at=utc_now(),
    )
    return Envelope(
        type="OrderShipped",
        producer="inventory",
        key=so_number,
        sequence=1,
        payload=payload.model_dump(mode="json"),
    )


async def deliver(portal: EmbeddedPortal, *envelopes: Envelope) -> None:
    """Hand events to mrp's consumer (its inbox, as the bus would), one at a time."""
    for envelope in envelopes:
        dead = await portal.runtimes["mrp"].consumer.handle_batch([envelope])
        assert not dead, f"{envelope.type} was dead-lettered"


async def status_of(api: httpx.AsyncClient, number: str) -> str:
    status: str = ok(await api.get(f"/api/mrp/v1/sales-orders/{number}"))["status"]
    return status


async def test_partial_qc_then_the_reprint_passing_makes_the_order_ready_then_shipped(
    portal: EmbeddedPortal, api: httpx.AsyncClient
) -> None:
    number = (await take_order(api, {"sku": WIDGET, "qty": "10", "unit_price": "15"}))["so_number"]
    root, reprint = "PRD-T-00001", "PRD-T-00002"
    link = {"so_number": number, "so_line_no": 1}

    await deliver(portal, production_order(root, "draft", qty_to_make="12", **link))
    assert await status_of(api, number) == "open"
    await deliver(portal, production_order(root, "in_progress", qty_to_make="12", **link))
    assert await status_of(api, number) == "in_production"
    await deliver(
        portal,
        production_order(
            root, "printed", qty_to_make="12", qty_good="10", qty_scrapped="2", **link
        ),
    )
    assert await status_of(api, number) == "in_production"

    # QC passes 8 and fails 2; production opens a reprint of 2 naming only its root.
    passed_8 = production_order(
        root, "completed", qty_to_make="12", qty_good="10", qty_passed="8", qty_failed="2", **link
    )
    await deliver(
        portal,
        passed_8,
        production_order(
            reprint,
            "draft",
            qty_ordered="2",
            qty_to_make="2",
            reprint_of=root,
            root_order_code=root,
            reprint_seq=1,
            priority="high",
        ),
    )
    so = ok(await api.get(f"/api/mrp/v1/sales-orders/{number}"))
    assert so["status"] == "partial_qc"
    assert so["lines"][0]["qty_passed"] == "8.0000"

    # An older state of the root arriving late changes nothing; a redelivery neither.
    await deliver(portal, production_order(root, "printed", sequence=2, **link), passed_8)
    assert await status_of(api, number) == "partial_qc"

    await deliver(
        portal,
        production_order(
            reprint,
            "completed",
            qty_ordered="2",
            qty_to_make="2",
            qty_passed="2",
            reprint_of=root,
            root_order_code=root,
            reprint_seq=1,
        ),
    )
    so = ok(await api.get(f"/api/mrp/v1/sales-orders/{number}"))
    assert so["status"] == "ready_to_ship"
    assert so["lines"][0]["qty_passed"] == "10.0000"

    first_shipment = shipment(number, "SHP-T-00001", qty="4")
    await deliver(portal, first_shipment, first_shipment)
    so = ok(await api.get(f"/api/mrp/v1/sales-orders/{number}"))
    assert so["status"] == "partial"
    assert so["lines"][0]["qty_shipped"] == "4.0000"
    # The same shipment in another envelope (a producer's retry) is applied once too.
    again = first_shipment.model_copy(update={"id": uuid.uuid4()})
    await deliver(portal, again, shipment(number, "SHP-T-00002", qty="6"))
    so = ok(await api.get(f"/api/mrp/v1/sales-orders/{number}"))
    assert so["status"] == "shipped"
    assert so["lines"][0]["qty_shipped"] == "10.0000"

    statuses = [e["status"] for e in published(portal, "SalesOrderChanged", number)]
    assert statuses == [
        "open",
        "in_production",
        "partial_qc",
        "ready_to_ship",
        "partial",
        "shipped",
    ]
    assert (
        published(portal, "SalesOrderChanged", number)[-1]["lines"][0]["qty_shipped"] == "10.0000"
    )


async def test_qc_failing_everything_marks_the_order_qc_failed(
    portal: EmbeddedPortal, api: httpx.AsyncClient
) -> None:
    number = (await take_order(api, {"sku": WIDGET, "qty": "10", "unit_price": "15"}))["so_number"]
    link = {"so_number": number, "so_line_no": 1}
    await deliver(
        portal,
        production_order("PRD-F-00001", "completed", qty_good="10", qty_failed="10", **link),
        production_order(
            "PRD-F-00002",
            "draft",
            reprint_of="PRD-F-00001",
            root_order_code="PRD-F-00001",
            reprint_seq=1,
        ),
    )
    assert await status_of(api, number) == "qc_failed"
    # A make-to-stock order outside any chain is none of the order's business.
    await deliver(portal, production_order("PRD-F-00003", "in_progress"))
    assert await status_of(api, number) == "qc_failed"
