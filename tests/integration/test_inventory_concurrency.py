"""Twenty starts competing for material enough for five, on PostgreSQL over real connections:
the items' row locks let exactly five reserve (all twenty with allow_insufficient, the last ones
short), available never goes below zero, and two inventory replicas handed the same start at
once issue it once (docs/production.md; DESIGN §5)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from services.inventory.models import Reservation, StockTransaction, WipComponent
from services.inventory.schemas import ItemType, MakeOrBuy
from shared.auth.tokens import issue_service_token
from shared.events.catalogue import (
    ComponentRequirement,
    PrintCompleted,
    ProductionStarted,
    QCPassed,
    StockChanged,
)
from shared.events.envelope import Envelope
from shared.runtime import ServiceRuntime
from tests.support.servers import PostgresDatabases
from tests.support.stock import (
    SECRET,
    add_item,
    assert_ledger_matches_balances,
    envelope,
    inventory_runtime,
    receive,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
D = Decimal
TOKEN = issue_service_token(SECRET, user="paula", roles=["planner"], ttl_seconds=6 * 3600)


@pytest.fixture
async def inventory(postgres: PostgresDatabases, tmp_path: Path) -> AsyncIterator[ServiceRuntime]:
    runtime = inventory_runtime(tmp_path, postgres.create("inventory"))
    add_item(runtime, "RESIN")
    add_item(runtime, "PIGMENT")
    add_item(runtime, "WIDGET", item_type=ItemType.FINISHED, make_or_buy=MakeOrBuy.MAKE)
    receive(runtime, "RESIN", "30", "75.00", lot="R1")
    receive(runtime, "RESIN", "20", "62.00", lot="R2")  # 50 L: five orders of 10
    receive(runtime, "PIGMENT", "100", "100.00", lot="P1")
    yield runtime
    runtime.db.dispose()


def order_body(n: int, allow_insufficient: bool) -> dict[str, object]:
    lines = [{"sku": "RESIN", "qty": "10"}, {"sku": "PIGMENT", "qty": "2"}]
    random.shuffle(lines)  # the lock order is the items', whatever the request's
    return {
        "reference_type": "production_order",
        "reference": f"PRD-2026-{n:05d}",
        "lines": lines,
        "allow_insufficient": allow_insufficient,
    }


async def start_twenty(runtime: ServiceRuntime, allow_insufficient: bool) -> list[httpx.Response]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=runtime.app),
        base_url="http://inventory",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=120,
    ) as api:
        return await asyncio.gather(
            *(
                api.post("/api/v1/reservations", json=order_body(n, allow_insufficient))
                for n in range(1, 21)
            )
        )


def resin_published(runtime: ServiceRuntime) -> list[StockChanged]:
    with runtime.uow() as uow:
        outbox = uow.tables.outbox
        rows = uow.session.execute(
            select(outbox.c.envelope)
            .where(outbox.c.event_type == "StockChanged", outbox.c.key == "RESIN")
            .order_by(outbox.c.sequence)
        ).scalars()
        return [StockChanged.model_validate(Envelope.model_validate_json(r).payload) for r in rows]


def reserved_resin(runtime: ServiceRuntime) -> Decimal:
    with runtime.uow() as uow:
        return D(
            uow.session.scalar(
                select(func.coalesce(func.sum(Reservation.qty_reserved), 0)).where(
                    Reservation.item_id == 1
                )
            )
            or 0
        )


async def test_twenty_starts_for_material_enough_for_five_reserve_exactly_five(
    inventory: ServiceRuntime,
) -> None:
    answers = await start_twenty(inventory, allow_insufficient=False)

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 5 + [409] * 15, [a.text for a in answers if a.status_code >= 500]
    refused = [a.json() for a in answers if a.status_code == 409]
    assert {p["code"] for p in refused} == {"insufficient_stock"}
    assert all(p["shortages"][0]["sku"] == "RESIN" for p in refused)
    assert reserved_resin(inventory) == D(50)
    published = resin_published(inventory)
    assert [s.available for s in published if s.available < 0] == []
    assert published[-1].available == D(0)
    assert published[-1].allocated == D(50)


async def test_with_allow_insufficient_all_twenty_start_and_the_short_ones_say_so(
    inventory: ServiceRuntime,
) -> None:
    answers = await start_twenty(inventory, allow_insufficient=True)

    assert [a.status_code for a in answers] == [200] * 20
    bodies = [a.json() for a in answers]
    resin = [next(line for line in b["lines"] if line["sku"] == "RESIN") for b in bodies]
    assert sum(D(line["qty_reserved"]) for line in resin) == D(50)
    assert sum(D(line["qty_short"]) for line in resin) == D(150)
    assert sum(1 for b in bodies if b["status"] == "reserved") == 5
    assert reserved_resin(inventory) == D(50)
    assert [s.available for s in resin_published(inventory) if s.available < 0] == []


async def test_two_replicas_handed_the_same_start_at_once_issue_it_once(
    inventory: ServiceRuntime, tmp_path: Path
) -> None:
    await start_twenty(inventory, allow_insufficient=False)
    second = inventory_runtime(
        tmp_path / "replica", str(inventory.db.engine.url.render_as_string(hide_password=False))
    )
    started = [
        ProductionStarted(
            order_code=f"PRD-2026-{n:05d}",
            sku="WIDGET",
            qty=D(1),
            components=(
                ComponentRequirement(sku="RESIN", qty=D(10)),
                ComponentRequirement(sku="PIGMENT", qty=D(2)),
            ),
            started_at=datetime(2026, 3, 2, 7, tzinfo=UTC),
        )
        for n in range(1, 21)
    ]
    # Every start twice, in two envelopes, one to each replica at the same moment.
    first_batch = [envelope(s, s.order_code) for s in started]
    second_batch = [envelope(s, s.order_code) for s in reversed(started)]
    dead = await asyncio.gather(
        inventory.consumer.handle_batch(first_batch), second.consumer.handle_batch(second_batch)
    )

    assert dead == [set(), set()]
    with inventory.uow() as uow:
        in_wip = uow.session.scalar(
            select(func.sum(WipComponent.qty_issued)).where(WipComponent.item_id == 1)
        )
        issues = uow.session.scalar(
            select(func.count())
            .where(StockTransaction.txn_type == "issue")
            .select_from(StockTransaction)
        )
    assert in_wip == D(50)  # the five that reserved, 10 L each, once
    assert issues is not None and issues > 0
    assert resin_published(inventory)[-1].wip == D(50)
    assert_ledger_matches_balances(inventory)
    second.db.dispose()


async def test_two_replicas_handed_the_same_run_and_qc_at_once_book_them_once(
    inventory: ServiceRuntime, tmp_path: Path
) -> None:
    await start_twenty(inventory, allow_insufficient=False)
    order = next(
        f"PRD-2026-{n:05d}"
        for n in range(1, 21)
        if reserved_for(inventory, f"PRD-2026-{n:05d}") > 0
    )
    at = datetime(2026, 3, 2, 7, tzinfo=UTC)
    start = ProductionStarted(
        order_code=order,
        sku="WIDGET",
        qty=D(4),
        components=(
            ComponentRequirement(sku="RESIN", qty=D(10)),
            ComponentRequirement(sku="PIGMENT", qty=D(2)),
        ),
        started_at=at,
    )
    assert await inventory.consumer.handle_batch([envelope(start, order)]) == set()
    second = inventory_runtime(
        tmp_path / "replica", inventory.db.engine.url.render_as_string(hide_password=False)
    )
    run = PrintCompleted(
        order_code=order,
        run_id="RUN-1",
        sku="WIDGET",
        qty_good=D(3),
        qty_bad=D(1),
        scrap_reason_code="ADHESION",
        completed_at=at,
    )
    qc = QCPassed(
        qc_record_id="QC-1",
        order_code=order,
        sku="WIDGET",
        qty_passed=D(2),
        qty_failed=D(1),
        reason_code="SURFACE",
        inspected_at=at,
    )

    dead = await asyncio.gather(
        inventory.consumer.handle_batch([envelope(run, order), envelope(qc, order)]),
        second.consumer.handle_batch([envelope(run, order), envelope(qc, order)]),
    )

    assert dead == [set(), set()]
    with inventory.uow() as uow:
        outbox = uow.tables.outbox
        booked = uow.session.execute(
            select(outbox.c.event_type, func.count())
            .where(outbox.c.event_type.in_(["FinishedGoodsReceived", "FinishedGoodsInspected"]))
            .group_by(outbox.c.event_type)
        ).all()
        left = uow.session.scalar(
            select(
                func.sum(
                    WipComponent.value_issued
                    - WipComponent.value_returned
                    - WipComponent.value_relieved
                )
            ).where(WipComponent.order_code == order)
        )
    assert sorted(booked) == [("FinishedGoodsInspected", 1), ("FinishedGoodsReceived", 1)]
    assert left == D(0)
    assert_ledger_matches_balances(inventory)
    second.db.dispose()


def reserved_for(runtime: ServiceRuntime, order: str) -> Decimal:
    with runtime.uow() as uow:
        return D(
            uow.session.scalar(
                select(func.coalesce(func.sum(Reservation.qty_reserved), 0)).where(
                    Reservation.reference == order
                )
            )
            or 0
        )
