"""Issue 7's reconciliation across separate service processes on PostgreSQL and RabbitMQ,
through the gateway: after the production stories of issue 6 the ledger and inventory agree to
the cent (the figures of test_reconciliation.py, worked out by hand there), and when a posting
is missing the difference shows, naming the document that explains it.

A missing posting, for real: accounting's process is killed, and a stand-in accounting serves
the API on the same database while subscribed under another bus prefix, so the StockAdjusted of
an adjustment made meanwhile waits in the real accounting queue, unposted. When accounting
comes back on its own queue, the posting arrives and the difference is gone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import httpx
import pytest

from tests.integration.test_reconciliation import (
    BOOKS,
    STOCK,
    accounts_of,
    assert_the_books_after_the_stories,
    reconciliation,
    wait_until_reconciled,
)
from tests.support import production_flow as pf
from tests.support import servers
from tests.support.cluster import Cluster
from tests.support.flow import ok

D = Decimal
SERVICES = ("inventory", "purchasing", "production", "mrp", "accounting", "gateway")

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from pf.stories_cluster(tmp_path_factory.mktemp("cluster"), SERVICES)


@pytest.fixture(scope="module")
def material_ready(cluster: Cluster) -> None:
    pf.set_up_material_once(cluster)


@pytest.fixture
async def api(cluster: Cluster, material_ready: None) -> AsyncIterator[httpx.AsyncClient]:
    async for client in pf.signed_in_gateway(cluster):
        yield client


async def test_ledger_and_inventory_agree_to_the_cent_after_the_stories_on_postgresql(
    api: httpx.AsyncClient,
) -> None:
    received = await wait_until_reconciled(api)
    assert accounts_of(received)[0] == ("1200", ["raw"], D("250.00"), D("250.00"), D(0), False)

    await pf.make_to_stock_story(api)
    await pf.partial_qc_story(api)

    await assert_the_books_after_the_stories(api)


async def test_a_missing_posting_shows_as_a_difference_naming_its_document_until_it_arrives(
    cluster: Cluster, api: httpx.AsyncClient
) -> None:
    before = accounts_of(await wait_until_reconciled(api))
    raw_before = before[0][2]

    # Accounting stops hearing the bus; a stand-in serves its API on its database.
    cluster.kill("accounting")
    real_prefix, elsewhere = cluster.prefix, servers.new_bus_prefix()
    cluster.prefix = elsewhere
    try:
        cluster.start("accounting")
    finally:
        cluster.prefix = real_prefix
    try:
        # Half a kilo of PLA damaged: 0.5 x 20.00 = 10.00 out of raw materials.
        adjustment = ok(
            await api.post(
                f"{STOCK}/stock/adjustments",
                json={
                    "sku": pf.PLA,
                    "location": "RAW",
                    "lot": "PLA-1",
                    "qty_delta": "-0.5",
                    "reason_code": "damaged",
                },
            ),
            201,
        )
        assert D(adjustment["value"]) == D("-10.00")
        number = adjustment["movement_id"]

        report = await reconciliation(api)
        assert (report["flagged"], report["documents_checked"], report["explained"]) == (
            True,
            True,
            True,
        )
        assert accounts_of(report) == [
            ("1200", ["raw"], raw_before, raw_before - 10, D("10.00"), True),
            *before[1:],
        ]
        assert [
            (
                d["document_type"],
                d["document_ref"],
                d["account_code"],
                D(d["gl_amount"]),
                D(d["inventory_amount"]),
                D(d["difference"]),
                [(i["sku"], D(i["difference"])) for i in d["items"]],
            )
            for d in report["documents"]
        ] == [("adjustment", number, "1200", D(0), D("-10.00"), D("10.00"), [(pf.PLA, D(10))])]
        pla = next(i for i in report["items"] if i["sku"] == pf.PLA)
        assert D(pla["gl_amount"]) - D(pla["inventory_amount"]) == D("10.00")
        assert len(report["items"]) == 1
        entries = ok(await api.get(f"{BOOKS}/journal-entries", params={"document_ref": number}))
        assert entries["total"] == 0
    finally:
        # Accounting back on its own queue: the waiting StockAdjusted is posted.
        cluster.kill("accounting")
        cluster.start("accounting")
        await servers.delete_bus_objects(elsewhere, ["accounting"])

    after = accounts_of(await wait_until_reconciled(api))
    assert after[0] == ("1200", ["raw"], raw_before - 10, raw_before - 10, D(0), False)
    entries = ok(await api.get(f"{BOOKS}/journal-entries", params={"document_ref": number}))
    assert [(e["entry_type"], D(e["total_debit"])) for e in entries["items"]] == [
        ("stock_adjustment", D("10.00"))
    ]
