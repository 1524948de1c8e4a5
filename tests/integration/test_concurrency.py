"""Concurrent clients on PostgreSQL: row locks keep receipts and stock exact (DESIGN §5).

Ten dock clerks receive the same PO line at once; the line's open quantity is taken exactly, the
excess requests are refused, and the PO, the events and the receipts agree. Two inventory
replicas applying receipts of the same item at once never lose an update.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from services import registry
from services.inventory.models import Item, StockTransaction
from services.purchasing.models import PurchaseOrderLine
from shared.auth.tokens import issue_service_token
from shared.bus.inprocess import InProcessBus
from shared.events.catalogue import ItemUpserted, MaterialReceived
from shared.events.envelope import Envelope, utc_now
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.support.servers import PostgresDatabases

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
SECRET = "concurrency-test-secret-" + "x" * 30


async def started(service: str, db_url: str, tmp_path: Path) -> ServiceRuntime:
    runtime = ServiceRuntime(
        registry.definition(service),
        Settings(var_dir=tmp_path),
        InProcessBus(),
        db_url=db_url,
        token_secret=SECRET,
    )
    runtime.migrate()
    runtime.seed()
    return runtime


def teach_purchasing_the_resin(purchasing: ServiceRuntime) -> None:
    """Deliver inventory's ItemUpserted for RESIN, as the bus would, so POs may order it."""
    item = ItemUpserted(sku="RESIN", name="Resin", uom="L", item_type="raw", make_or_buy="buy")
    envelope = Envelope(
        type="ItemUpserted",
        producer="inventory",
        key="RESIN",
        sequence=1,
        payload=item.model_dump(mode="json"),
    )
    with purchasing.uow() as uow:
        purchasing.consumer.handlers["ItemUpserted"](envelope, uow)
        uow.commit()


@pytest.fixture
async def purchasing(postgres: PostgresDatabases, tmp_path: Path) -> AsyncIterator[ServiceRuntime]:
    runtime = await started("purchasing", postgres.create("purchasing"), tmp_path)
    yield runtime
    runtime.db.dispose()


async def test_ten_clerks_receiving_one_line_at_once_never_over_receive(
    purchasing: ServiceRuntime,
) -> None:
    teach_purchasing_the_resin(purchasing)
    token = issue_service_token(SECRET, user="clerk", roles=["admin"], ttl_seconds=300)
    transport = httpx.ASGITransport(app=purchasing.app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://purchasing",
        headers={"Authorization": f"Bearer {token}"},
    ) as api:
        assert (
            await api.post("/api/v1/vendors", json={"code": "ACME", "name": "Acme"})
        ).status_code == 201
        po = (
            await api.post(
                "/api/v1/purchase-orders",
                json={
                    "vendor_code": "ACME",
                    "lines": [{"sku": "RESIN", "qty": "10", "unit_cost": "2"}],
                },
            )
        ).json()
        number = po["number"]
        assert (await api.post(f"/api/v1/purchase-orders/{number}/submit")).status_code == 200
        answers = await asyncio.gather(
            *[
                api.post(
                    f"/api/v1/purchase-orders/{number}/receipts",
                    json={"lines": [{"line_no": 1, "qty": "2"}]},
                )
                for _ in range(10)
            ]
        )
    statuses = sorted(a.status_code for a in answers)
    # Five fill the line; once the PO is fully received, the rest are refused as a conflict.
    assert statuses == [201] * 5 + [409] * 5, [a.text for a in answers]
    with purchasing.uow() as uow:
        received = uow.session.scalar(select(PurchaseOrderLine.qty_received))
        outbox = uow.tables.outbox
        receipts_published = uow.session.scalar(
            select(func.count()).where(outbox.c.event_type == "MaterialReceived")
        )
    assert received == Decimal("10")
    assert receipts_published == 5


async def test_the_first_documents_of_the_year_taken_at_once_get_distinct_numbers(
    purchasing: ServiceRuntime,
) -> None:
    token = issue_service_token(SECRET, user="buyer", roles=["admin"], ttl_seconds=300)
    transport = httpx.ASGITransport(app=purchasing.app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://purchasing",
        headers={"Authorization": f"Bearer {token}"},
    ) as api:
        assert (
            await api.post("/api/v1/vendors", json={"code": "ACME", "name": "Acme"})
        ).status_code == 201
        teach_purchasing_the_resin(purchasing)
        answers = await asyncio.gather(
            *[
                api.post(
                    "/api/v1/purchase-orders",
                    json={
                        "vendor_code": "ACME",
                        "lines": [{"sku": "RESIN", "qty": "1", "unit_cost": "1"}],
                    },
                )
                for _ in range(6)
            ]
        )
    assert [a.status_code for a in answers] == [201] * 6, [a.text for a in answers]
    year = answers[0].json()["number"][3:7]
    assert sorted(a.json()["number"] for a in answers) == [
        f"PO-{year}-{n:05d}" for n in range(1, 7)
    ]


async def test_two_inventory_replicas_receiving_one_item_at_once_lose_no_update(
    postgres: PostgresDatabases, tmp_path: Path
) -> None:
    url = postgres.create("inventory")
    first = await started("inventory", url, tmp_path)
    second = ServiceRuntime(
        registry.definition("inventory"),
        Settings(var_dir=tmp_path),
        InProcessBus(),
        db_url=url,
        token_secret=SECRET,
    )
    with first.uow() as uow:
        now = utc_now()
        uow.session.add(
            Item(
                sku="RESIN",
                name="Resin",
                uom="L",
                item_type="raw",
                make_or_buy="buy",
                customer_supplied=False,
                reorder_point=Decimal(0),
                reorder_qty=Decimal(0),
                average_cost=Decimal(0),
                active=True,
                created_at=now,
                updated_at=now,
            )
        )
        uow.commit()

    def receipt(n: int) -> Envelope:
        cost = Decimal("2.00") if n % 2 else Decimal("3.00")
        payload = MaterialReceived(
            po_number="PO-1",
            line_no=n,
            receipt_id=f"RCV-{n}",
            sku="RESIN",
            qty=Decimal(5),
            unit_cost=cost,
            value=cost * 5,
            to_status="approved",
            vendor_code="ACME",
            received_at=utc_now(),
        )
        return Envelope(
            type="MaterialReceived",
            producer="purchasing",
            key="PO-1",
            sequence=n,
            payload=payload.model_dump(mode="json"),
        )

    batches = [[receipt(n) for n in range(1, 41, 2)], [receipt(n) for n in range(2, 41, 2)]]
    results = await asyncio.gather(
        first.consumer.handle_batch(batches[0]), second.consumer.handle_batch(batches[1])
    )
    assert results == [set(), set()]
    with first.uow() as uow:
        average = uow.session.scalar(select(Item.average_cost).where(Item.sku == "RESIN"))
        count = uow.session.scalar(select(func.count()).select_from(StockTransaction))
    assert count == 40
    # 20 receipts of 5 at 2.00 and 20 of 5 at 3.00: 200 units worth 500.00, average 2.50
    assert average == Decimal("2.5000")
    for runtime in (first, second):
        runtime.db.dispose()


async def test_two_gateway_replicas_starting_together_create_one_admin(
    postgres: PostgresDatabases, tmp_path: Path
) -> None:
    from services.gateway.models import User

    url = postgres.create("gateway")
    replicas = [
        ServiceRuntime(
            registry.definition("gateway"),
            Settings(var_dir=tmp_path),
            InProcessBus(),
            db_url=url,
            token_secret=SECRET,
        )
        for _ in range(2)
    ]

    def start(runtime: ServiceRuntime) -> None:
        runtime.migrate()
        runtime.seed()

    await asyncio.gather(*(asyncio.to_thread(start, r) for r in replicas))
    with replicas[0].uow() as uow:
        admins = uow.session.scalars(select(User.username)).all()
    assert admins == ["admin"]
    for runtime in replicas:
        runtime.db.dispose()
