"""Issue 6's production stories in the embedded mode: one process, SQLite, the in-process bus.
The same stories run across separate processes on PostgreSQL and RabbitMQ in
tests/integration/test_production_flow.py; both must give the hand-worked figures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.embedded import EmbeddedPortal
from shared.settings import Settings
from tests.support import production_flow as pf
from tests.support.cluster import sign_in

PASSWORD = "embedded-admin-pw"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(var_dir=tmp_path, admin_password=PASSWORD, demo_data=False)
    portal = EmbeddedPortal(settings)
    portal.prepare()
    async with portal.running():
        transport = httpx.ASGITransport(app=portal.gateway.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://portal") as client:
            await sign_in(client, PASSWORD)
            await pf.set_up_material(client)
            yield client


async def test_make_to_stock_in_embedded_mode(api: httpx.AsyncClient) -> None:
    await pf.make_to_stock_story(api)


async def test_partial_qc_in_embedded_mode(api: httpx.AsyncClient) -> None:
    await pf.partial_qc_story(api)
