"""A planner acts on the MRP's result, on the whole embedded portal through the gateway's API:
creates a job for a Full Production Ready line (a production order made to the line, once per
run), a smaller one for a Partial Production Ready line, and suggests purchases for its short
parts (a draft PO at the preferred vendor; what has no vendor is listed as unplaced). A
refusal by production is passed on naming it, and nothing is kept.

The plant: brackets (BRKT, made) of 0.5 kg PLA and 2 screws. 20 kg PLA and 80 screws in stock;
screws are bought from FAST (preferred, MOQ 100), PLA from nobody yet.
- SO line 1: 30 brackets due first: 15 kg PLA, 60 screws: Full Production Ready.
- SO line 2: 20 brackets: 5 kg PLA and 20 screws left: 10 can be made; 5 kg PLA and 20 screws
  short: Partial Production Ready - [PLA, SCREW].
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.embedded import EmbeddedPortal
from services.mrp.runs.models import MrpAction
from shared.events.envelope import utc_now
from tests.support.ui import ADMIN_PASSWORD, PASSWORD, add_user, ui_portal

DUE_FIRST = (utc_now() + timedelta(days=40)).date()
DUE_LATER = (utc_now() + timedelta(days=50)).date()
LINES = "/api/mrp/v1/mrp/lines"


@contextlib.asynccontextmanager
async def api_as(portal: EmbeddedPortal, username: str, password: str) -> AsyncIterator[Any]:
    transport = httpx.ASGITransport(app=portal.gateway.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal") as client:
        answer = await client.post(
            "/api/auth/login", json={"username": username, "password": password}
        )
        assert answer.status_code == 200, answer.text
        client.headers["x-csrf-token"] = answer.headers["x-csrf-token"]
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


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[EmbeddedPortal]:
    async with ui_portal(tmp_path, handler_backoff_seconds=0) as running:
        add_user(running, "pedro", ["planner"])
        yield running


@pytest.fixture
async def planner(portal: EmbeddedPortal) -> AsyncIterator[Any]:
    async with api_as(portal, "pedro", PASSWORD) as client:
        yield client


async def set_up_plant(portal: EmbeddedPortal) -> str:
    """The items, stock, BOM, vendor and sales order above; the MRP run. The SO number."""
    async with api_as(portal, "admin", ADMIN_PASSWORD) as admin:
        items = [
            {"sku": "PLA", "name": "PLA filament", "uom": "kg", "item_type": "raw"},
            {"sku": "SCREW", "name": "Screw M3", "uom": "ea", "item_type": "component"},
            {
                "sku": "BRKT",
                "name": "Bracket",
                "uom": "ea",
                "item_type": "finished",
                "make_or_buy": "make",
            },
        ]
        for item in items:
            ok(await admin.post("/api/inventory/v1/items", json=item), 201)
        await portal.wait_idle()
        for sku, qty in (("PLA", "20"), ("SCREW", "80")):
            found = {"sku": sku, "location": "RAW", "qty_delta": qty, "reason_code": "found"}
            ok(await admin.post("/api/inventory/v1/stock/adjustments", json=found), 201)
        bom = {
            "sku": "BRKT",
            "lines": [
                {"component_sku": "PLA", "qty_per": "0.5"},
                {"component_sku": "SCREW", "qty_per": "2"},
            ],
        }
        version = ok(await admin.post("/api/production/v1/boms", json=bom), 201)["version"]
        ok(await admin.post(f"/api/production/v1/boms/BRKT/versions/{version}/release"))
        ok(
            await admin.post("/api/purchasing/v1/vendors", json={"code": "FAST", "name": "Fast"}),
            201,
        )
        screws = {"sku": "SCREW", "unit_cost": "0.10", "moq": "100", "preferred": True}
        ok(await admin.post("/api/purchasing/v1/vendors/FAST/items", json=screws), 201)
        ok(await admin.post("/api/mrp/v1/customers", json={"code": "ACME", "name": "Acme"}), 201)
        order = {
            "customer_code": "ACME",
            "lines": [
                {"sku": "BRKT", "qty": "30", "unit_price": "12", "due_date": str(DUE_FIRST)},
                {"sku": "BRKT", "qty": "20", "unit_price": "12", "due_date": str(DUE_LATER)},
            ],
        }
        so: str = ok(await admin.post("/api/mrp/v1/sales-orders", json=order), 201)["so_number"]
    await portal.wait_idle()
    return so


def actions(portal: EmbeddedPortal) -> list[tuple[str, str, int | None, str]]:
    with portal.runtimes["mrp"].uow() as uow:
        rows = uow.session.scalars(select(MrpAction).order_by(MrpAction.id))
        return [(a.kind, a.so_number, a.line_no, a.reference) for a in rows]


def production_orders(portal: EmbeddedPortal) -> int:
    from services.production.orders.models import ProductionOrder

    with portal.runtimes["production"].uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(ProductionOrder)) or 0)


async def test_a_planner_creates_a_job_for_a_full_production_ready_line_once(
    portal: EmbeddedPortal, planner: Any
) -> None:
    so = await set_up_plant(portal)
    run = ok(await planner.post("/api/mrp/v1/mrp/runs"), 201)
    line = ok(await planner.get(f"{LINES}/{so}/1"))
    assert line["status_text"] == "Full Production Ready - Create job now"
    assert line["job_qty"] == "30.0000"

    key = {"Idempotency-Key": "job-first-click"}
    job = ok(await planner.post(f"{LINES}/{so}/1/job", headers=key), 201)
    assert (job["so_number"], job["line_no"], job["run_id"], job["qty"]) == (
        so,
        1,
        run["id"],
        "30.0000",
    )
    order = ok(await planner.get(f"/api/production/v1/production-orders/{job['order_code']}"))
    assert (order["order_type"], order["sku"], order["qty_ordered"]) == ("mto", "BRKT", "30.0000")
    assert (order["so_number"], order["so_line_no"], order["due_date"]) == (so, 1, str(DUE_FIRST))
    assert order["created_by"] == "pedro"  # made as the planner, not as the mrp service
    assert actions(portal) == [("job", so, 1, job["order_code"])]

    # The same click again (same key): the same answer, nothing more made.
    again = await planner.post(f"{LINES}/{so}/1/job", headers=key)
    assert again.status_code == 201 and again.headers.get("idempotent-replayed") == "true"
    assert again.json()["order_code"] == job["order_code"]
    # Another click (a new key): refused, naming the line and the job already made.
    second = refused(await planner.post(f"{LINES}/{so}/1/job"), 409, "line_no")
    assert second["code"] == "job_exists"
    assert so in second["detail"] and job["order_code"] in second["detail"]
    assert production_orders(portal) == 1
    # The dashboard shows what was done.
    listed = ok(await planner.get(f"{LINES}/{so}/1"))
    assert [(a["kind"], a["references"]) for a in listed["actions"]] == [
        ("job", [job["order_code"]])
    ]

    # The next run sees the job: the line is In Production, and a job can be made again only
    # when a line needs one.
    await portal.wait_idle()
    ok(await planner.post("/api/mrp/v1/mrp/runs"), 201)
    assert ok(await planner.get(f"{LINES}/{so}/1"))["status"] == "in_production"
    refused(await planner.post(f"{LINES}/{so}/1/job"), 409, "status")


async def test_a_partial_line_gets_a_job_for_what_can_be_made_and_purchases_for_the_rest(
    portal: EmbeddedPortal, planner: Any
) -> None:
    so = await set_up_plant(portal)
    ok(await planner.post("/api/mrp/v1/mrp/runs"), 201)
    line = ok(await planner.get(f"{LINES}/{so}/2"))
    assert line["status_text"] == "Partial Production Ready - [PLA, SCREW]"
    assert (line["qty_can_make"], line["job_qty"]) == ("10.0000", "10.0000")
    assert line["qty_to_buy"] == {"PLA": "5.0000", "SCREW": "20.0000"}

    job = ok(await planner.post(f"{LINES}/{so}/2/job"), 201)
    assert job["qty"] == "10.0000"

    bought = ok(await planner.post(f"{LINES}/{so}/2/purchases", json={"notes": "for Acme"}), 201)
    assert [(a["sku"], a["qty"], a["reference"]) for a in bought["asked"]] == [
        ("PLA", "5.0000", f"{so}/2"),
        ("SCREW", "20.0000", f"{so}/2"),
    ]
    # The screws at FAST, rounded up to its MOQ; PLA has no preferred vendor.
    [draft] = bought["orders"]
    assert (draft["vendor_code"], draft["status"]) == ("FAST", "draft")
    assert [(po_line["sku"], po_line["qty_ordered"]) for po_line in draft["lines"]] == [
        ("SCREW", "100.0000")
    ]
    assert [u["sku"] for u in bought["unplaced"]] == ["PLA"]
    assert bought["order_numbers"] == [draft["number"]]
    po = ok(await planner.get(f"/api/purchasing/v1/purchase-orders/{draft['number']}"))
    assert po["status"] == "draft"
    assert ("purchases", so, 2, draft["number"]) in actions(portal)

    again = refused(await planner.post(f"{LINES}/{so}/2/purchases"), 409, "line_no")
    assert again["code"] == "purchases_exist"
    # The view's purchases skip the line already asked for; nothing else is short.
    view = ok(await planner.post("/api/mrp/v1/mrp/purchases", json={"customer": "ACME"}), 201)
    assert (view["skipped"], view["orders"]) == ([f"{so}/2"], [])


async def test_a_refusal_by_production_is_passed_on_and_nothing_is_kept(
    portal: EmbeddedPortal, planner: Any
) -> None:
    so = await set_up_plant(portal)
    ok(await planner.post("/api/mrp/v1/mrp/runs"), 201)
    async with api_as(portal, "admin", ADMIN_PASSWORD) as admin:
        ok(await admin.patch("/api/inventory/v1/items/BRKT", json={"active": False}))
    await portal.wait_idle()
    refusal = await planner.post(f"{LINES}/{so}/1/job")
    assert 400 <= refusal.status_code < 500, refusal.text
    problem = refusal.json()
    assert problem["service"] == "production"
    assert problem["detail"].startswith(
        f"The production service refused the job for sales order {so} line 1:"
    )
    assert actions(portal) == []
    assert production_orders(portal) == 0


async def test_purchasing_refusing_everything_is_passed_on_with_the_unplaced_parts(
    portal: EmbeddedPortal, planner: Any
) -> None:
    so = await set_up_plant(portal)
    async with api_as(portal, "admin", ADMIN_PASSWORD) as admin:
        ok(await admin.post("/api/purchasing/v1/vendors/FAST/items/SCREW/deactivate"))
    ok(await planner.post("/api/mrp/v1/mrp/runs"), 201)
    problem = refused(await planner.post(f"{LINES}/{so}/2/purchases"), 422)
    assert problem["code"] == "nothing_to_order"
    assert problem["service"] == "purchasing"
    assert {u["sku"] for u in problem["unplaced"]} == {"PLA", "SCREW"}
    assert actions(portal) == []
