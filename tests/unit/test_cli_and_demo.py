"""The `portal` command and the embedded mode's first start, as a plant's admin meets them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, inspect

from services import cli
from services.demo import load_demo_data_once
from services.embedded import EmbeddedPortal
from shared.events.catalogue import CATALOGUE
from shared.settings import SERVICES, Settings, get_settings


@pytest.fixture
def portal_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("PORTAL_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("PORTAL_DB_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_events_schema_writes_one_file_per_event_type(tmp_path: Path) -> None:
    cli.main(["events", "schema", "--out", str(tmp_path / "schemas")])
    written = {p.name for p in (tmp_path / "schemas").iterdir()}
    assert "envelope.json" in written
    for event_type, model in CATALOGUE.items():
        name = f"{event_type}.v{model.version}.json"
        assert name in written
        assert json.loads((tmp_path / "schemas" / name).read_text())


def test_migrate_creates_every_service_database(
    portal_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli.main(["migrate"])
    for service in SERVICES:
        tables = inspect(
            create_engine(f"sqlite:///{portal_env / f'{service}.db'}")
        ).get_table_names()
        assert {"outbox", "inbox", "dead_letters", "alembic_version"} <= set(tables), service
    assert "inventory: migrated" in capsys.readouterr().out


def test_migrate_refuses_several_services_on_one_database_url(
    portal_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PORTAL_DB_URL", f"sqlite:///{portal_env / 'one.db'}")
    get_settings.cache_clear()
    with pytest.raises(SystemExit, match="say which service"):
        cli.main(["migrate"])


def test_dead_letters_are_listed_as_json_lines(
    portal_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli.main(["migrate", "inventory"])
    cli.main(["events", "dead", "inventory"])
    captured = capsys.readouterr()
    assert "0 dead letter(s)" in captured.err


async def test_first_start_loads_demo_data_once_with_balanced_books(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, admin_password="demo-admin-pw")
    portal = EmbeddedPortal(settings)
    portal.prepare()
    async with portal.running():
        await load_demo_data_once(portal)
        await load_demo_data_once(portal)  # a second start finds the marker and adds nothing
        transport = httpx.ASGITransport(app=portal.gateway.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://portal") as api:
            login = await api.post(
                "/api/auth/login", json={"username": "admin", "password": "demo-admin-pw"}
            )
            assert login.status_code == 200
            trial = (await api.get("/api/accounting/v1/trial-balance")).json()
            pos = (await api.get("/api/purchasing/v1/purchase-orders")).json()
            black = (await api.get("/api/inventory/v1/items/PLA-BLK-1KG/stock")).json()
            orders = (await api.get("/api/production/v1/production-orders")).json()
    assert trial["balanced"] is True
    balance = {row["code"]: Decimal(row["balance"]) for row in trial["rows"]}
    # Filament 40 x 18.50 + 20 x 18.50 + 10 x 22.75 in two receipts, then 200 boxes x 0.42
    # and 1000 inserts x 0.035: all owed to the vendors.
    assert balance["2000"] == Decimal("1456.50")
    # Production moved that value between raw material, WIP, finished goods and scrap, and
    # created or lost none of it (nothing is shipped in the demo).
    moved = ("1200", "1210", "1220", "5400", "5000", "5500")
    assert sum(balance[code] for code in moved) == Decimal("1456.50")
    # 103.154 of material was issued; every started order has run to its last run, so WIP is
    # empty, and its value sits in finished goods (QC hold included) or was scrapped.
    assert balance["1200"] == Decimal("1353.346")
    assert (balance["1210"], balance["1220"], balance["5400"]) == (
        0,
        Decimal("94.133"),
        Decimal("9.021"),
    )
    assert pos["total"] == 2
    assert {po["status"] for po in pos["items"]} == {"received", "partial"}
    # 44 brackets at 0.05 spool each plus 2 % scrap: 2.244 spools issued and consumed.
    assert Decimal(black["on_hand"]) == Decimal("37.756")
    assert Decimal(black["average_cost"]) == Decimal("18.50")
    by_status = sorted((o["sku"], o["status"], o["reprint_seq"]) for o in orders["items"])
    assert by_status == [
        ("BRKT-100", "completed", 0),
        ("BRKT-100", "draft", 1),  # the reprint of 40 - 38 passed
        ("BRKT-100", "scheduled", 0),
        ("HOOK-200", "printed", 0),
    ]
