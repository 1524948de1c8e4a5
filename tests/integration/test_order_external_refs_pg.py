"""One order per ERP number under concurrent requests on PostgreSQL: however many creates with
one `external_ref` arrive at once (an import run twice by mistake, two clerks keying the same
order), exactly one order is made and every other request is the 409 naming `external_ref`,
never a second order and never a 500. The check before the insert cannot see a request that has
not committed yet; the partial unique index is the database's last word, and its refusal is
turned into that same 409.

Each service runs alone on its own PostgreSQL database.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from services import registry
from services.mrp.sales.models import SalesOrder
from services.purchasing.models import KnownItem, PurchaseOrder, Vendor
from shared.bus.inprocess import InProcessBus
from shared.events.envelope import utc_now
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.support.servers import PostgresDatabases
from tests.support.service_api import ServiceApi
from tests.unit.test_order_external_refs import (
    PO_LINE,
    SECRET,
    SO_LINE,
    mrp_runtime,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
AT_ONCE = 8


@pytest.fixture
async def mrp(postgres: PostgresDatabases, tmp_path: Path) -> AsyncIterator[ServiceApi]:
    runtime = mrp_runtime(tmp_path, SECRET, postgres.create("mrp"))
    try:
        yield ServiceApi(runtime, SECRET)
    finally:
        runtime.db.engine.dispose()


@pytest.fixture
async def purchasing(postgres: PostgresDatabases, tmp_path: Path) -> AsyncIterator[ServiceApi]:
    runtime = ServiceRuntime(
        registry.definition("purchasing"),
        Settings(var_dir=tmp_path),
        InProcessBus(),
        db_url=postgres.create("purchasing"),
        token_secret=SECRET,
    )
    runtime.migrate()
    with runtime.uow() as uow:
        uow.session.add(KnownItem(sku="RESIN", name="Resin", uom="kg", active=True, sequence=1))
        uow.session.add(
            Vendor(code="ACME", name="Acme Polymers", active=True, created_at=utc_now())
        )
        uow.commit()
    try:
        yield ServiceApi(runtime, SECRET)
    finally:
        runtime.db.engine.dispose()


def outcome(answers: list[httpx.Response]) -> Counter[tuple[int, str | None]]:
    """Each answer's status, and the field a refusal names."""
    return Counter(
        (a.status_code, a.json().get("field") if a.status_code >= 400 else None) for a in answers
    )


async def test_sales_orders_with_one_erp_number_created_at_once_make_one_order(
    mrp: ServiceApi,
) -> None:
    body = {"customer_code": "C-ACME", "external_ref": "S1001", "lines": [SO_LINE]}
    async with mrp.client("planner") as planner:
        answers = await asyncio.gather(
            *(planner.post("/api/v1/sales-orders", json=body) for _ in range(AT_ONCE))
        )
    assert outcome(answers) == {(201, None): 1, (409, "external_ref"): AT_ONCE - 1}, [
        a.text for a in answers
    ]
    with mrp.runtime.uow() as uow:
        refs = list(uow.session.scalars(select(SalesOrder.external_ref)))
    assert refs == ["S1001"]
    assert len(mrp.events("SalesOrderChanged")) == 1


async def test_purchase_orders_with_one_erp_number_created_at_once_make_one_order(
    purchasing: ServiceApi,
) -> None:
    body = {"vendor_code": "ACME", "external_ref": "P5001", "lines": [PO_LINE]}
    async with purchasing.client("buyer") as buyer:
        answers = await asyncio.gather(
            *(buyer.post("/api/v1/purchase-orders", json=body) for _ in range(AT_ONCE))
        )
    assert outcome(answers) == {(201, None): 1, (409, "external_ref"): AT_ONCE - 1}, [
        a.text for a in answers
    ]
    with purchasing.runtime.uow() as uow:
        made = uow.session.scalar(select(func.count(PurchaseOrder.id)))
    assert made == 1
    assert len(purchasing.events("PurchaseOrderChanged")) == 1
