"""The first flow for real: receive material → stock → journal.

Across separate service processes on PostgreSQL and RabbitMQ, and in the embedded mode (one
process, SQLite, in-process bus), the same PO of three lines received in two receipts must give
the hand-worked stock, moving-average cost and a balanced trial balance.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from services.embedded import EmbeddedPortal
from shared.settings import Settings
from tests.support import flow, servers
from tests.support.cluster import Cluster, running_cluster, sign_in

FLOW_SERVICES = ("inventory", "purchasing", "accounting", "gateway")

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def cluster(
    postgres: servers.PostgresDatabases, rabbitmq: str, tmp_path: Path
) -> Iterator[Cluster]:
    with running_cluster(postgres, rabbitmq, tmp_path, FLOW_SERVICES) as cluster:
        yield cluster


@pytest.mark.integration
async def test_po_received_in_two_receipts_across_processes_gives_exact_books(
    cluster: Cluster,
) -> None:
    async with cluster.gateway_client() as api:
        await sign_in(api)
        await flow.run_first_flow(api)
        await flow.wait_for_journals(api, flow.EXPECTED_JOURNALS)
        await flow.wait_for_stock_movements(api, flow.EXPECTED_JOURNALS)
        result = await flow.figures(api)
    flow.assert_first_flow_books(result)


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[EmbeddedPortal]:
    settings = Settings(var_dir=tmp_path, admin_password=flow_password(), demo_data=False)
    portal = EmbeddedPortal(settings)
    portal.prepare()
    async with portal.running():
        yield portal


def flow_password() -> str:
    return "embedded-admin-pw"


async def test_same_flow_in_embedded_mode_gives_the_same_figures(
    embedded: EmbeddedPortal,
) -> None:
    transport = httpx.ASGITransport(app=embedded.gateway.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal") as api:
        await sign_in(api, flow_password())
        await flow.run_first_flow(api)
        await embedded.wait_idle()
        result = await flow.figures(api)
    flow.assert_first_flow_books(result)
