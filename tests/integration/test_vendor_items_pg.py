"""The preferred vendor of an item under concurrent buyers on PostgreSQL: however many "make
preferred" calls for one SKU arrive at once, each is answered (none refused, none a 500) and
exactly one vendor item stays preferred, because every write to a SKU's vendor items first
locks the SKU's known item, and the partial unique index is the database's last word.

The purchasing service runs alone on its own PostgreSQL database.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from services import registry
from services.purchasing.models import KnownItem, Vendor
from services.purchasing.vendor_items.models import VendorItem
from shared.bus.inprocess import InProcessBus
from shared.events.envelope import utc_now
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.support.servers import PostgresDatabases
from tests.unit.test_vendor_items import SECRET, PurchasingApi

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
VENDORS = [f"V{n:02d}" for n in range(1, 13)]


@pytest.fixture
async def api(postgres: PostgresDatabases, tmp_path: Path) -> AsyncIterator[PurchasingApi]:
    """Twelve vendors on PostgreSQL; each sells resin and boxes, none of them preferred."""
    runtime = ServiceRuntime(
        registry.definition("purchasing"),
        Settings(var_dir=tmp_path),
        InProcessBus(),
        db_url=postgres.create("purchasing"),
        token_secret=SECRET,
    )
    runtime.migrate()
    now = utc_now()
    with runtime.uow() as uow:
        for sequence, sku in enumerate(("RESIN", "BOX-S"), start=1):
            uow.session.add(KnownItem(sku=sku, name=sku, uom="ea", active=True, sequence=sequence))
        for code in VENDORS:
            vendor = Vendor(code=code, name=f"Vendor {code}", active=True, created_at=now)
            uow.session.add(vendor)
            uow.session.flush()
            for sku in ("RESIN", "BOX-S"):
                uow.session.add(
                    VendorItem(
                        vendor_id=vendor.id,
                        sku=sku,
                        unit_cost=1,
                        moq=1,
                        lead_time_days=0,
                        preferred=False,
                        active=True,
                        created_at=now,
                        updated_at=now,
                    )
                )
        uow.commit()
    try:
        yield PurchasingApi(runtime)
    finally:
        runtime.db.engine.dispose()


def preferred_of(api: PurchasingApi, sku: str) -> list[str]:
    with api.runtime.uow() as uow:
        return list(
            uow.session.scalars(
                select(Vendor.code)
                .join(VendorItem, VendorItem.vendor_id == Vendor.id)
                .where(VendorItem.sku == sku, VendorItem.preferred.is_(True))
            )
        )


async def test_twelve_buyers_making_twelve_vendors_preferred_at_once_leave_exactly_one(
    api: PurchasingApi,
) -> None:
    async with api.client("buyer") as buyer:
        answers = await asyncio.gather(
            *(
                buyer.patch(f"/api/v1/vendors/{code}/items/RESIN", json={"preferred": True})
                for code in VENDORS
            )
        )
    assert Counter(a.status_code for a in answers) == {200: 12}, [a.text for a in answers]
    [winner] = preferred_of(api, "RESIN")
    # one after the other: each un-marked the one before it, in its own transaction
    unmarked = api.audit("purchasing.vendor_items.unmark_preferred")
    assert len(unmarked) == 11
    assert winner not in {entry["entity_id"].split("/")[0] for entry in unmarked}
    # the other SKU was never touched
    assert preferred_of(api, "BOX-S") == []


async def test_making_preferred_racing_with_adding_a_preferred_vendor_item_leaves_one(
    api: PurchasingApi,
) -> None:
    async with api.client("buyer") as buyer:
        await buyer.post("/api/v1/vendors", json={"code": "NEW", "name": "New vendor"})
        calls = [
            buyer.patch(f"/api/v1/vendors/{code}/items/BOX-S", json={"preferred": True})
            for code in VENDORS[:6]
        ]
        calls.append(
            buyer.post(
                "/api/v1/vendors/NEW/items",
                json={"sku": "BOX-S", "unit_cost": "2", "preferred": True},
            )
        )
        calls += [
            buyer.post(f"/api/v1/vendors/{code}/items/BOX-S/deactivate") for code in VENDORS[6:9]
        ]
        answers = await asyncio.gather(*calls)
    assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
    assert len(preferred_of(api, "BOX-S")) == 1
