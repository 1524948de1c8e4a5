"""Issue 6 acceptance: production stories across separate service processes on PostgreSQL and
RabbitMQ, through the gateway, as a plant would run them.

One cluster serves the module (starting seven processes is the slow part); each story uses its
own orders and checks figures of its own orders, so the stories do not depend on each other.
Figures are worked out by hand in tests/support/production_flow.py (a widget's material costs
5.50).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import httpx
import pytest
import sqlalchemy as sa

from shared.bus.rabbitmq import RabbitMQBus
from shared.events.envelope import Envelope
from shared.events.routing import CONSUMERS
from tests.support import mrp_flow
from tests.support import production_flow as pf
from tests.support.cluster import Cluster
from tests.support.flow import eventually, ok

# The services these stories touch (accounting's postings are the accounting issue's subject).
FLOW_SERVICES = ("inventory", "purchasing", "production", "mrp", "gateway")

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from pf.stories_cluster(tmp_path_factory.mktemp("cluster"), FLOW_SERVICES)


@pytest.fixture(scope="module")
def material_ready(cluster: Cluster) -> None:
    pf.set_up_material_once(cluster)


@pytest.fixture
async def api(cluster: Cluster, material_ready: None) -> AsyncIterator[httpx.AsyncClient]:
    async for client in pf.signed_in_gateway(cluster):
        yield client


async def test_make_to_stock_order_is_made_passed_sold_from_stock_and_shipped_once(
    api: httpx.AsyncClient,
) -> None:
    await pf.make_to_stock_story(api)


async def test_partial_qc_scraps_four_reprints_the_shortfall_and_books_material_once(
    api: httpx.AsyncClient,
) -> None:
    await pf.partial_qc_story(api)


async def test_events_delivered_again_and_out_of_order_consume_nothing_twice(
    cluster: Cluster, api: httpx.AsyncClient
) -> None:
    code = await pf.create_order(api, qty_ordered="2")
    await pf.run_and_inspect(api, code, good="2", passed="2")
    settled = await pf.wait_for_materials(
        api, code, "inspected", lambda m: Decimal(m["output"]["qty_passed"]) == 2, "QC booked"
    )
    pla, box, widget = [await pf.stock(api, sku) for sku in (pf.PLA, pf.BOX, pf.WIDGET)]

    # Production's events for the order, published again: as they were (same ids, the inbox
    # skips them) and as new envelopes (new ids: the business keys must hold), newest first.
    envelopes = production_events_of(cluster, code)
    assert [e.type for e in envelopes] == ["ProductionStarted", "PrintCompleted", "QCPassed"]
    renewed = [e.model_copy(update={"id": uuid.uuid4()}) for e in envelopes]
    again = [*reversed(envelopes), *reversed(renewed)]
    await publish(cluster, again)
    await pf.settle(3.0)

    assert await pf.materials(api, code) == settled
    for sku, before in ((pf.PLA, pla), (pf.BOX, box), (pf.WIDGET, widget)):
        now = await pf.stock(api, sku)
        assert (now["on_hand"], now["available"]) == (before["on_hand"], before["available"])
        assert Decimal(now["on_hand"]) == await pf.ledger_sum(api, sku)


async def test_twenty_concurrent_starts_for_material_enough_for_five(
    api: httpx.AsyncClient,
) -> None:
    resin, part = "RESIN-CC", "PART-CC"
    for item in (
        {"sku": resin, "name": "Resin for the race", "uom": "kg", "item_type": "raw"},
        {"sku": part, "name": "Part", "uom": "ea", "item_type": "finished", "make_or_buy": "make"},
    ):
        ok(await api.post("/api/inventory/v1/items", json=item), 201)
    ok(
        await api.post(
            "/api/inventory/v1/stock/adjustments",
            json={
                "sku": resin,
                "location": "RAW",
                "qty_delta": "5",
                "reason_code": "found",
                "notes": "opening stock",
            },
        ),
        201,
    )

    async def bom_released() -> bool:
        response = await api.post(
            "/api/production/v1/boms",
            json={"sku": part, "lines": [{"line_no": 1, "component_sku": resin, "qty_per": "1"}]},
        )
        if response.status_code != 201:
            return False
        version = response.json()["version"]
        ok(await api.post(f"/api/production/v1/boms/{part}/versions/{version}/release"))
        return True

    await eventually(bom_released, pf.WITHIN, "production to learn the items")
    codes = [
        ok(
            await api.post(
                "/api/production/v1/production-orders", json={"sku": part, "qty_ordered": "1"}
            ),
            201,
        )["code"]
        for _ in range(20)
    ]

    async def start(code: str) -> httpx.Response:
        return await api.post(f"/api/production/v1/production-orders/{code}/start", json={})

    answers = await asyncio.gather(*(start(code) for code in codes))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 5 + [409] * 15, [a.text for a in answers if a.status_code >= 500]
    refused = next(a.json() for a in answers if a.status_code == 409)
    assert refused["code"] == "insufficient_stock"
    assert refused["shortages"][0]["sku"] == resin
    # No waiting: these hold in every committed state, the asynchronous issues to WIP under way
    # included (each moves RAW to WIP and closes its reservation in one transaction), and the
    # stock figures are read from one snapshot (inventory's item_stock).
    figures = await pf.stock(api, resin)
    assert Decimal(figures["available"]) == 0
    assert Decimal(figures["allocated"]) + Decimal(figures["wip"]) == 5

    # With allow_insufficient every remaining order starts, its shortage recorded.
    late = [code for code, a in zip(codes, answers, strict=True) if a.status_code == 409]
    forced = await asyncio.gather(
        *(
            api.post(
                f"/api/production/v1/production-orders/{code}/start",
                json={"allow_insufficient": True},
            )
            for code in late
        )
    )
    assert [f.status_code for f in forced] == [200] * len(late)
    assert all(f.json()["shortages"] for f in forced)
    assert Decimal((await pf.stock(api, resin))["available"]) >= 0


def production_events_of(cluster: Cluster, code: str) -> list[Envelope]:
    """The envelopes production published about `code`, oldest first, from its outbox."""
    engine = sa.create_engine(cluster.db_urls["production"])
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT envelope FROM outbox WHERE key = :code AND event_type IN "
                    "('ProductionStarted', 'PrintCompleted', 'QCPassed') ORDER BY id"
                ),
                {"code": code},
            ).all()
    finally:
        engine.dispose()
    return [Envelope.model_validate_json(row[0]) for row in rows]


async def publish(cluster: Cluster, envelopes: list[Envelope]) -> None:
    """Publish straight onto the cluster's exchange, as a relay would."""
    bus = RabbitMQBus(cluster.amqp_url, prefix=cluster.prefix, topology=CONSUMERS)
    await bus.start()
    try:
        await bus.publish(envelopes)
    finally:
        await bus.close()


async def test_mrp_plans_from_events_creates_a_job_and_suggests_purchases(
    api: httpx.AsyncClient,
) -> None:
    """Issue 9 across processes: mrp's read models fed over RabbitMQ, the job made by
    production and the draft PO by purchasing, each called by mrp as the planner."""
    await mrp_flow.story(api)
