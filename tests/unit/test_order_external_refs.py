"""Another system's number on an order: mrp's sales orders and purchasing's purchase orders
take an `external_ref` (an ERP's order number) when they are created, show it, find the order by
it, and hold one order per number: a second order with a number already taken is a 409 naming
`external_ref`, and nothing is saved. Orders taken in the portal have none (any number of them).

Each service runs alone on SQLite, with the customer, vendor and items it would have learned.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from services import registry
from services.mrp.sales import service as sales_service
from services.mrp.sales.models import Customer
from services.mrp.sales.models import KnownItem as MrpItem
from services.purchasing import service as purchasing_service
from shared.bus.inprocess import InProcessBus
from shared.events.envelope import utc_now
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.support.service_api import ServiceApi
from tests.unit.test_vendor_items import purchasing_api

SECRET = "order-external-refs-test-secret-" + "x" * 30
SO_LINE = {"sku": "LAMP-1", "qty": "4", "unit_price": "24.5"}
PO_LINE = {"sku": "RESIN", "qty": "10", "unit_cost": "3.2"}


def mrp_runtime(folder: Path, secret: str, db_url: str | None = None) -> ServiceRuntime:
    """mrp, migrated, knowing customer C-ACME and item LAMP-1."""
    runtime = ServiceRuntime(
        registry.definition("mrp"),
        Settings(var_dir=folder),
        InProcessBus(),
        db_url=db_url,
        token_secret=secret,
    )
    runtime.migrate()
    now = utc_now()
    with runtime.uow() as uow:
        uow.session.add(
            Customer(
                code="C-ACME",
                name="Acme Retail",
                priority=2,
                active=True,
                created_at=now,
                updated_at=now,
            )
        )
        uow.session.add(
            MrpItem(
                sku="LAMP-1",
                name="Desk lamp",
                uom="ea",
                item_type="finished",
                active=True,
                sequence=1,
                make_or_buy="make",
            )
        )
        uow.commit()
    return runtime


@pytest.fixture
async def mrp(tmp_path: Path) -> AsyncIterator[ServiceApi]:
    runtime = mrp_runtime(tmp_path, SECRET)
    try:
        yield ServiceApi(runtime, SECRET)
    finally:
        runtime.db.engine.dispose()


@pytest.fixture
async def purchasing(tmp_path: Path) -> AsyncIterator[ServiceApi]:
    async with purchasing_api(tmp_path) as running:
        yield running


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: httpx.Response, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["field"] == field, body
    return body


def new_sales_order(**header: Any) -> dict[str, Any]:
    return {"customer_code": "C-ACME", "lines": [SO_LINE], **header}


def new_purchase_order(**header: Any) -> dict[str, Any]:
    return {"vendor_code": "ACME", "lines": [PO_LINE], **header}


# --- sales orders ------------------------------------------------------------------------------


async def test_a_sales_order_keeps_the_erp_number_it_was_taken_with_and_is_found_by_it(
    mrp: ServiceApi,
) -> None:
    async with mrp.client("planner") as planner:
        taken = ok(
            await planner.post(
                "/api/v1/sales-orders", json=new_sales_order(external_ref="  S1001 ")
            ),
            201,
        )
        assert taken["external_ref"] == "S1001"  # trimmed
        # Orders taken here have none, and there may be any number of those.
        for typed in (None, "", "   "):
            plain = ok(
                await planner.post(
                    "/api/v1/sales-orders", json=new_sales_order(external_ref=typed)
                ),
                201,
            )
            assert plain["external_ref"] is None
        assert ok(await planner.get(f"/api/v1/sales-orders/{taken['so_number']}"))[
            "external_ref"
        ] == ("S1001")

        found = ok(await planner.get("/api/v1/sales-orders", params={"external_ref": "S1001"}))
        assert [o["so_number"] for o in found["items"]] == [taken["so_number"]]
        spaced = ok(await planner.get("/api/v1/sales-orders", params={"external_ref": " S1001 "}))
        assert spaced["total"] == 1
        # Exact, not a part of it.
        for other in ("S100", "s1001", "S10011"):
            none = ok(await planner.get("/api/v1/sales-orders", params={"external_ref": other}))
            assert none["total"] == 0, other
        every = ok(await planner.get("/api/v1/sales-orders"))
        assert every["total"] == 4


async def test_a_second_sales_order_with_a_taken_erp_number_is_refused_naming_the_field(
    mrp: ServiceApi,
) -> None:
    async with mrp.client("planner") as planner:
        first = ok(
            await planner.post("/api/v1/sales-orders", json=new_sales_order(external_ref="S1001")),
            201,
        )
        before = mrp.row_counts()
        problem = refused(
            await planner.post(
                "/api/v1/sales-orders",
                json=new_sales_order(external_ref="S1001 ", notes="again"),
                headers={"Idempotency-Key": "second-take"},
            ),
            409,
            "external_ref",
        )
        assert problem["code"] == "duplicate"
        assert "S1001" in problem["detail"] and first["so_number"] in problem["detail"]
        assert mrp.row_counts() == before  # no order, no event, no audit, no stored key
        # Too long for the column: refused before anything is tried.
        refused(
            await planner.post("/api/v1/sales-orders", json=new_sales_order(external_ref="S" * 65)),
            422,
            "external_ref",
        )
        # Given once, when the order is taken: a PATCH does not change it.
        refused(
            await planner.patch(
                f"/api/v1/sales-orders/{first['so_number']}", json={"external_ref": "S2002"}
            ),
            422,
            "external_ref",
        )
        assert mrp.row_counts() == before


async def test_the_unique_index_refuses_a_taken_sales_order_number_the_check_missed(
    mrp: ServiceApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a request at the same moment meets (tests/integration proves the race itself): the
    database's refusal is the same 409 naming the field, not a generic conflict."""
    async with mrp.client("planner") as planner:
        ok(
            await planner.post("/api/v1/sales-orders", json=new_sales_order(external_ref="S1001")),
            201,
        )
        blind: Callable[..., None] = lambda *_args: None  # noqa: E731
        monkeypatch.setattr(sales_service, "_check_external_ref_free", blind)
        before = mrp.row_counts()
        problem = refused(
            await planner.post("/api/v1/sales-orders", json=new_sales_order(external_ref="S1001")),
            409,
            "external_ref",
        )
        assert problem["code"] == "duplicate"
        assert mrp.row_counts() == before


# --- purchase orders ---------------------------------------------------------------------------


async def test_a_purchase_order_keeps_the_erp_number_it_was_made_with_and_is_found_by_it(
    purchasing: ServiceApi,
) -> None:
    async with purchasing.client("buyer") as buyer:
        made = ok(
            await buyer.post(
                "/api/v1/purchase-orders", json=new_purchase_order(external_ref=" P5001")
            ),
            201,
        )
        assert made["external_ref"] == "P5001"
        for typed in (None, ""):
            plain = ok(
                await buyer.post(
                    "/api/v1/purchase-orders", json=new_purchase_order(external_ref=typed)
                ),
                201,
            )
            assert plain["external_ref"] is None
        got = ok(await buyer.get(f"/api/v1/purchase-orders/{made['number']}"))
        assert got["external_ref"] == "P5001"
        found = ok(await buyer.get("/api/v1/purchase-orders", params={"external_ref": "P5001"}))
        assert [o["number"] for o in found["items"]] == [made["number"]]
        none = ok(await buyer.get("/api/v1/purchase-orders", params={"external_ref": "P500"}))
        assert none["total"] == 0
        assert ok(await buyer.get("/api/v1/purchase-orders"))["total"] == 3


async def test_a_second_purchase_order_with_a_taken_erp_number_is_refused_naming_the_field(
    purchasing: ServiceApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with purchasing.client("buyer") as buyer:
        first = ok(
            await buyer.post(
                "/api/v1/purchase-orders", json=new_purchase_order(external_ref="P5001")
            ),
            201,
        )
        before = purchasing.row_counts()
        problem = refused(
            await buyer.post(
                "/api/v1/purchase-orders", json=new_purchase_order(external_ref="P5001")
            ),
            409,
            "external_ref",
        )
        assert problem["code"] == "duplicate"
        assert first["number"] in problem["detail"]
        refused(
            await buyer.post(
                "/api/v1/purchase-orders", json=new_purchase_order(external_ref="P" * 65)
            ),
            422,
            "external_ref",
        )
        # The database's last word, when the check missed a request at the same moment.
        blind: Callable[..., None] = lambda *_args: None  # noqa: E731
        monkeypatch.setattr(purchasing_service, "_check_external_ref_free", blind)
        problem = refused(
            await buyer.post(
                "/api/v1/purchase-orders", json=new_purchase_order(external_ref="P5001")
            ),
            409,
            "external_ref",
        )
        assert problem["code"] == "duplicate"
        assert purchasing.row_counts() == before
