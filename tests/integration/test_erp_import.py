"""A plant moving off its old ERP: the ERP's database (the sample of services/mrp/erp/
sample_erp.sql, in a PostgreSQL database of the test's own) is read through the real ODBC driver
`PostgreSQL Unicode` (Debian's odbc-postgresql, installed by scripts/system-packages) with the
shipped mappings, and applied to an embedded portal through its services' APIs.

The story: a dry run lists what would be created and changes nothing; the import creates the
items, BOMs, customers, open orders (each carrying the ERP's number as its external_ref) and
stock (opening balances at the ERP's costs, booked against opening-balance equity); a second
import changes nothing; a change to one row of the ERP changes only that in the
portal; a planner rewriting an imported order's notes does not make the next import take the
order again; and a mapping that names a missing column is refused before anything is applied,
naming the file and the column.
"""

from __future__ import annotations

import io
import json
import shutil
import socket
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from services import cli
from services.embedded import EmbeddedPortal
from services.mrp.erp import runs
from services.mrp.erp.mapping import SHIPPED_MAPPINGS, mapping_files, read_table
from services.mrp.erp.odbc import read_mappings
from services.mrp.erp.records import ErpData, collect
from services.mrp.erp.service import ErpImportContext, ImportResult, import_from_erp
from shared.auth.tokens import issue_service_token
from shared.settings import Settings, get_settings
from tests.support import servers
from tests.support.service_api import ServiceApi

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

SAMPLE_ERP = Path("services/mrp/erp/sample_erp.sql")
DRIVER = "PostgreSQL Unicode"


def odbc_driver_installed(name: str) -> bool:
    try:
        import pyodbc
    except ImportError:
        return False
    return name in pyodbc.drivers()


@pytest.fixture
def erp_database(postgres: servers.PostgresDatabases) -> Iterator[str]:
    """The sample ERP in a database of its own; its libpq URL."""
    if not odbc_driver_installed(DRIVER):
        servers.unavailable(
            f"the ODBC driver '{DRIVER}' is not installed (bash scripts/system-packages)"
        )
    url = make_url(postgres.create("erp")).set(drivername="postgresql")
    libpq = url.render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(SAMPLE_ERP.read_text())  # type: ignore[arg-type]
    yield libpq


def odbc_string(libpq: str) -> str:
    url = make_url(libpq)
    parts = [
        f"SERVER={url.host or '127.0.0.1'}",
        f"PORT={url.port or 5432}",
        f"DATABASE={url.database}",
        f"UID={url.username or 'postgres'}",
    ]
    if url.password:
        parts.append(f"PWD={url.password}")
    return ";".join(parts)


def erp_sql(libpq: str, statement: str) -> None:
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


@dataclass
class Plant:
    portal: EmbeddedPortal
    settings: Settings
    libpq: str

    async def erp_import(
        self, *, dry_run: bool, mappings: Path | None = None
    ) -> tuple[ImportResult, str]:
        out = io.StringIO()
        settings = self.settings.model_copy(update={"erp_mappings": mappings} if mappings else {})
        context = ErpImportContext(
            settings,
            self.portal.upstreams,
            self.portal.secret,
            self.portal.runtimes["mrp"].uow,
            out,
        )
        result = await import_from_erp(context, dry_run=dry_run)
        await self.portal.wait_idle()
        return result, out.getvalue()

    def api(self, service: str) -> httpx.AsyncClient:
        token = issue_service_token(
            self.portal.secret, user="auditor", roles=["admin"], ttl_seconds=600
        )
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.portal.runtimes[service].app),
            base_url=f"http://{service}",
            headers={"Authorization": f"Bearer {token}"},
        )

    async def get(self, service: str, path: str, **params: Any) -> Any:
        async with self.api(service) as client:
            response = await client.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def row_counts(self) -> dict[str, dict[str, int]]:
        return {
            name: ServiceApi(runtime, self.portal.secret).row_counts()
            for name, runtime in self.portal.runtimes.items()
        }


@pytest.fixture
async def plant(erp_database: str, tmp_path: Path) -> AsyncIterator[Plant]:
    settings = Settings(
        var_dir=tmp_path / "var",
        demo_data=False,
        erp_odbc=SecretStr(odbc_string(erp_database)),
        erp_odbc_drivers=["No Such Driver", DRIVER],
        erp_timeout_seconds=20,
    )
    portal = EmbeddedPortal(settings)
    portal.prepare()
    async with portal.running():
        yield Plant(portal, settings, erp_database)


def count(result: ImportResult, entity: str, outcome: str) -> int:
    return result.count(entity, outcome)


async def test_a_dry_run_then_the_import_then_again_and_then_one_row_changed_in_the_erp(
    plant: Plant,
) -> None:
    # The dry run lists what it would create, and changes nothing but the run log.
    before = plant.row_counts()
    dry, printed = await plant.erp_import(dry_run=True)
    assert dry.ok, printed
    assert "dry run, nothing is changed" in printed
    assert f"Read with the ODBC driver '{DRIVER}'" in printed
    assert "items: 5 to create" in printed
    for line in (
        "create     LAMP-1",
        "create     RESIN-GRY",
        "create     S1001",
        "create     P5002",
        "create     V-BOX",
    ):
        assert line in printed, printed
    assert "OLD-9" not in printed  # inactive in the ERP
    assert "S0990" not in printed  # closed in the ERP
    after = plant.row_counts()
    assert after["mrp"].pop("erp_import_runs") == before["mrp"].pop("erp_import_runs") + 1
    # The run log keeps the records it would create or change (erp_import_steps).
    listed = [step for step in dry.steps if step.verdict.value != "unchanged"]
    assert after["mrp"].pop("erp_import_steps") == before["mrp"].pop("erp_import_steps") + len(
        listed
    )
    assert after == before
    [run] = runs.recent_runs(plant.portal.runtimes["mrp"].uow)
    assert (run.dry_run, run.status) == (True, "done")
    assert run.summary["entities"]["items"] == {"create": 5}

    # The import applies it all through the services' APIs.
    result, printed = await plant.erp_import(dry_run=False)

    assert result.ok, printed
    assert count(result, "items", "create") == 5
    # Items, as the ERP has them.
    lamp = await plant.get("inventory", "/api/v1/items/LAMP-1")
    assert (lamp["item_type"], lamp["make_or_buy"], lamp["family"]) == ("finished", "make", "LAMPS")
    resin = await plant.get("inventory", "/api/v1/items/RESIN-GRY")
    assert (resin["uom"], resin["requires_qc"], resin["reorder_qty"]) == ("L", True, "40.0000")
    kit = await plant.get("inventory", "/api/v1/items/KIT-CS")
    assert kit["customer_supplied"] is True
    # BOMs released in production.
    lamp_bom = await plant.get("production", "/api/v1/boms/LAMP-1")
    assert lamp_bom["status"] == "released"
    assert {(line["component_sku"], line["qty_per"]) for line in lamp_bom["lines"]} == {
        ("BRKT-100", "2.0000"),
        ("KIT-CS", "1.0000"),
        ("BOX-S", "1.0000"),
    }
    bracket_bom = await plant.get("production", "/api/v1/boms/BRKT-100")
    assert [(line["qty_per"], line["scrap_pct"]) for line in bracket_bom["lines"]] == [
        ("0.1250", "2.0000")
    ]
    # Customers and the open sales orders, with the quantity still to ship.
    acme = await plant.get("mrp", "/api/v1/customers/C-ACME")
    assert (acme["name"], acme["priority"]) == ("Acme Retail", 1)
    orders = (await plant.get("mrp", "/api/v1/sales-orders"))["items"]
    by_ref = {order["external_ref"]: order for order in orders}
    assert set(by_ref) == {"S1001", "S1002"}
    s1001 = by_ref["S1001"]
    assert s1001["notes"] is None  # the ERP's notes as they are: the mapping gives none
    assert (s1001["customer_code"], s1001["order_date"], s1001["contractual_penalty"]) == (
        "C-ACME",
        "2026-11-02",
        True,
    )
    assert [(line["sku"], line["qty_ordered"], line["unit_price"]) for line in s1001["lines"]] == [
        ("LAMP-1", "40.0000", "24.5000"),
        ("BRKT-100", "100.0000", "1.2500"),
    ]
    # Vendors created, purchase orders submitted with what is still to receive.
    vendor = await plant.get("purchasing", "/api/v1/vendors/V-BOX")
    assert vendor["name"] == "Box & Carton Co"
    pos = (await plant.get("purchasing", "/api/v1/purchase-orders"))["items"]
    assert sorted(
        (po["external_ref"], po["notes"], po["status"], po["lines"][0]["qty_ordered"]) for po in pos
    ) == [
        ("P5001", None, "submitted", "80.0000"),
        ("P5002", None, "submitted", "500.0000"),
    ]
    found = await plant.get("purchasing", "/api/v1/purchase-orders", external_ref="P5002")
    assert [po["external_ref"] for po in found["items"]] == ["P5002"]
    # Stock brought to the ERP's figures: finished goods in FG, the rest in RAW.
    stock = await plant.get("inventory", "/api/v1/stock")
    held = {(row["sku"], row["location"]): row["qty"] for row in stock["items"]}
    assert held == {
        ("BOX-S", "RAW"): "250.0000",
        ("LAMP-1", "FG"): "7.0000",
        ("RESIN-GRY", "RAW"): "12.5000",
    }
    # New items: their stock is an opening balance (valued at the ERP's cost, next test).
    adjustments = await plant.get("inventory", "/api/v1/stock-transactions", sku="BOX-S")
    assert [(t["reason_code"], t["notes"]) for t in adjustments["items"]] == [
        ("opening_balance", "ERP import")
    ]

    # The same ERP again: nothing to do, and nothing written anywhere but the run log.
    before = plant.row_counts()
    again, printed = await plant.erp_import(dry_run=False)
    assert again.ok, printed
    assert {step.verdict.value for step in again.steps} == {"unchanged"}, printed
    after = plant.row_counts()
    assert after["mrp"].pop("erp_import_runs") == before["mrp"].pop("erp_import_runs") + 1
    assert after == before

    # The ERP changes one BOM line: a new version is released, nothing else moves.
    erp_sql(
        plant.libpq,
        "UPDATE BM_BOM SET QTY_PER = 3 WHERE PARENT_ITEM = 'LAMP-1' AND COMP_ITEM = 'BRKT-100'",
    )
    changed, printed = await plant.erp_import(dry_run=False)
    assert changed.ok, printed
    assert [
        (s.entity, s.key, s.verdict.value) for s in changed.steps if s.verdict.value != "unchanged"
    ] == [("boms", "LAMP-1", "change")]
    assert "BRKT-100 qty_per: 2 → 3" in printed
    lamp_bom = await plant.get("production", "/api/v1/boms/LAMP-1")
    assert lamp_bom["version"] == 2
    assert {line["component_sku"]: line["qty_per"] for line in lamp_bom["lines"]}["BRKT-100"] == (
        "3.0000"
    )
    old = await plant.get("production", "/api/v1/boms/LAMP-1/versions/1")
    assert old["status"] == "obsolete"

    # The ERP counts more resin, renames the lamp and ships more of S1001: the first two are
    # applied; the order's line cannot be changed through mrp's API and is held for a person.
    erp_sql(plant.libpq, "UPDATE IN_ONHAND SET QTY_ON_HAND = 20 WHERE ITEM_NO = 'RESIN-GRY'")
    erp_sql(plant.libpq, "UPDATE IM_ITEM SET DESCR = 'Desk lamp, black' WHERE ITEM_NO = 'LAMP-1'")
    erp_sql(
        plant.libpq, "UPDATE SO_LINE SET QTY_SHIPPED = 15 WHERE SO_NO = 'S1001' AND LINE_NO = 10"
    )
    changed, printed = await plant.erp_import(dry_run=False)
    assert changed.ok, printed
    moved = {
        (s.entity, s.key): s.verdict.value for s in changed.steps if s.verdict.value != "unchanged"
    }
    assert moved == {
        ("items", "LAMP-1"): "change",
        ("stock", "RESIN-GRY @ RAW"): "change",
        ("sales_orders", "S1001"): "held",
    }
    assert "line 1 qty: 40 → 35" in printed
    assert (await plant.get("inventory", "/api/v1/items/LAMP-1"))["name"] == "Desk lamp, black"
    resin_stock = await plant.get("inventory", "/api/v1/items/RESIN-GRY/stock")
    assert Decimal(resin_stock["on_hand"]) == Decimal(20)
    resin_moves = await plant.get("inventory", "/api/v1/stock-transactions", sku="RESIN-GRY")
    assert sorted(t["reason_code"] for t in resin_moves["items"]) == [
        "count_correction",  # a later difference, at the portal's average
        "opening_balance",
    ]
    [last, *_] = runs.recent_runs(plant.portal.runtimes["mrp"].uow)
    assert last.summary["entities"]["sales_orders"] == {"held": 1, "unchanged": 1}
    assert last.summary["problems"][0]["key"] == "S1001"


async def test_opening_stock_is_valued_at_the_erps_cost_and_booked_against_opening_equity(
    plant: Plant,
) -> None:
    """The sample's resin has an average cost in the ERP (3.05), its boxes one per warehouse
    (200 at 0.41 and 50 at 0.43: 0.414 weighted), its lamps none but a standard cost (17.50).
    The customer's kits (30 found here, no cost of any kind) come in as today, at the portal's
    average: the dry run says so."""
    erp_sql(plant.libpq, "UPDATE IN_ONHAND SET QTY_ON_HAND = 30 WHERE ITEM_NO = 'KIT-CS'")
    erp_sql(plant.libpq, "UPDATE IM_ITEM SET STD_COST = NULL WHERE ITEM_NO = 'KIT-CS'")

    dry, printed = await plant.erp_import(dry_run=True)
    assert dry.ok, printed
    for line in (
        "RESIN-GRY @ RAW  qty_on_hand: 0 → 12.5; opening balance at the ERP's unit cost, 3.05",
        "BOX-S @ RAW      qty_on_hand: 0 → 250; opening balance at the ERP's unit cost, 0.414",
        "LAMP-1 @ FG      qty_on_hand: 0 → 7; opening balance at the ERP's standard cost, 17.5",
        "KIT-CS @ RAW     qty_on_hand: 0 → 30; no unit cost in the ERP: valued at the portal's "
        "average cost, 0",
    ):
        assert line in printed, printed

    result, printed = await plant.erp_import(dry_run=False)
    assert result.ok, printed
    stock = await plant.get("inventory", "/api/v1/stock")
    valued = {row["sku"]: (row["qty"], row["value"]) for row in stock["items"]}
    assert valued == {
        "BOX-S": ("250.0000", "103.5000"),  # 250 x 0.414
        "KIT-CS": ("30.0000", "0.0000"),
        "LAMP-1": ("7.0000", "122.5000"),  # 7 x 17.50
        "RESIN-GRY": ("12.5000", "38.1250"),  # 12.5 x 3.05
    }
    averages = {
        sku: (await plant.get("inventory", f"/api/v1/items/{sku}"))["average_cost"]
        for sku in valued
    }
    assert averages == {
        "BOX-S": "0.4140",
        "KIT-CS": "0.0000",
        "LAMP-1": "17.5000",
        "RESIN-GRY": "3.0500",
    }
    kit_moves = await plant.get("inventory", "/api/v1/stock-transactions", sku="KIT-CS")
    assert [t["reason_code"] for t in kit_moves["items"]] == ["count_correction"]

    # The books: the opening stock against opening-balance equity, nothing through 5500.
    trial = await plant.get("accounting", "/api/v1/trial-balance")
    balances = {row["code"]: Decimal(row["balance"]) for row in trial["rows"]}
    assert (balances["1200"], balances["1220"]) == (Decimal("141.625"), Decimal("122.5"))
    assert (balances["3900"], balances["5500"]) == (Decimal("264.125"), Decimal(0))
    assert trial["balanced"] is True

    # The ERP counts 7.5 more resin: a count correction at the portal's average, through 5500.
    erp_sql(plant.libpq, "UPDATE IN_ONHAND SET QTY_ON_HAND = 20 WHERE ITEM_NO = 'RESIN-GRY'")
    later, printed = await plant.erp_import(dry_run=False)
    assert later.ok, printed
    assert "RESIN-GRY @ RAW  qty_on_hand: 12.5 → 20\n" in printed + "\n", printed
    resin = await plant.get("inventory", "/api/v1/stock-transactions", sku="RESIN-GRY")
    assert sorted((t["reason_code"], t["value"]) for t in resin["items"]) == [
        ("count_correction", "22.8750"),  # 7.5 x 3.05
        ("opening_balance", "38.1250"),
    ]
    trial = await plant.get("accounting", "/api/v1/trial-balance")
    balances = {row["code"]: Decimal(row["balance"]) for row in trial["rows"]}
    assert (balances["3900"], balances["5500"]) == (Decimal("264.125"), Decimal("-22.875"))


async def test_a_planner_rewriting_an_imported_orders_notes_does_not_make_the_import_take_it_again(
    plant: Plant,
) -> None:
    first, printed = await plant.erp_import(dry_run=False)
    assert first.ok, printed
    [s1001] = (await plant.get("mrp", "/api/v1/sales-orders", external_ref="S1001"))["items"]
    # The planner writes over the notes (where an "[ERP S1001]" prefix was kept once).
    async with plant.api("mrp") as mrp:
        edited = await mrp.patch(
            f"/api/v1/sales-orders/{s1001['so_number']}",
            json={"notes": "Customer asked to hold until the 20th"},
        )
    assert edited.status_code == 200, edited.text
    await plant.portal.wait_idle()  # the change's audit entry reaches the gateway
    before = plant.row_counts()

    again, printed = await plant.erp_import(dry_run=False)

    assert again.ok, printed
    orders = {s.key: s.verdict.value for s in again.steps if s.entity == "sales_orders"}
    assert orders == {"S1001": "unchanged", "S1002": "unchanged"}, printed
    assert {step.verdict.value for step in again.steps} == {"unchanged"}, printed
    after = plant.row_counts()
    assert after["mrp"].pop("erp_import_runs") == before["mrp"].pop("erp_import_runs") + 1
    assert after == before  # no second order
    [still] = (await plant.get("mrp", "/api/v1/sales-orders", external_ref="S1001"))["items"]
    assert (still["so_number"], still["notes"]) == (
        s1001["so_number"],
        "Customer asked to hold until the 20th",
    )


async def test_a_mapping_naming_a_missing_column_is_refused_naming_file_and_column(
    plant: Plant, tmp_path: Path
) -> None:
    mappings = tmp_path / "mappings"
    shutil.copytree(SHIPPED_MAPPINGS, mappings)
    items = mappings / "items.sql"
    # The description is given another name than ours.
    items.write_text(items.read_text().replace("TRIM(DESCR) AS name", "TRIM(DESCR) AS title"))
    before = plant.row_counts()

    result, printed = await plant.erp_import(dry_run=False, mappings=mappings)

    assert not result.ok
    assert "items.sql: the query returns no column 'name'" in printed
    assert "(it returns: sku, title, uom," in printed
    after = plant.row_counts()
    assert after["mrp"].pop("erp_import_runs") == before["mrp"].pop("erp_import_runs") + 1
    assert after == before
    [run] = runs.recent_runs(plant.portal.runtimes["mrp"].uow, limit=1)
    assert run.status == "failed"
    assert run.error is not None and "items.sql" in run.error and "'name'" in run.error


def test_the_shipped_mappings_read_the_same_erp_alike_through_sqlite_and_postgresql(
    erp_database: str, tmp_path: Path
) -> None:
    """SQLite's driver hands NUMERIC over as floats and dates as it stored them: the values
    read must still be exactly those read from PostgreSQL, where they come as decimals."""
    if not odbc_driver_installed("SQLite3"):
        servers.unavailable("the ODBC driver 'SQLite3' is not installed (libsqliteodbc)")
    sqlite_file = tmp_path / "erp.sqlite"
    with sqlite3.connect(sqlite_file) as conn:
        conn.executescript(SAMPLE_ERP.read_text())

    def read(connection: str, drivers: list[str]) -> tuple[str, ErpData]:
        files, _absent = mapping_files(SHIPPED_MAPPINGS)
        driver, results = read_mappings(connection, drivers, files, 10)
        tables = [read_table(r.file.entity, r.file.path.name, r.columns, r.rows) for r in results]
        return driver, collect(tables)

    from_pg = read(odbc_string(erp_database), [DRIVER])
    from_sqlite = read(f"Database={sqlite_file}", ["SQLite3"])

    assert (from_pg[0], from_sqlite[0]) == (DRIVER, "SQLite3")
    assert from_sqlite[1] == from_pg[1]
    box = next(order for order in from_sqlite[1].purchase_orders if order.ref == "P5002")
    assert box.lines[0].price == Decimal("0.4150")


def test_portal_erp_import_runs_the_embedded_services_itself_and_logs_its_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`portal erp import` with no service URLs: the embedded portal's services run in the
    command's own process, on the portal's files, for the length of the import."""
    if not odbc_driver_installed("SQLite3"):
        servers.unavailable("the ODBC driver 'SQLite3' is not installed (libsqliteodbc)")
    sqlite_file = tmp_path / "erp.sqlite"
    with sqlite3.connect(sqlite_file) as conn:
        conn.executescript(SAMPLE_ERP.read_text())
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    for name, value in {
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
        "PORTAL_PORT": str(port),
        "PORTAL_DEMO_DATA": "false",
        "PORTAL_ERP_ODBC": f"Database={sqlite_file}",
        "PORTAL_ERP_ODBC_DRIVERS": "SQLite3",
    }.items():
        monkeypatch.setenv(name, value)
    # The command sets up logging for a terminal (WARNING, stdout): process-wide, and it would
    # outlive this test and silence later tests' captured logs.
    monkeypatch.setattr("shared.logging.configure_logging", lambda *args, **kwargs: None)
    get_settings.cache_clear()
    try:
        cli.main(["erp", "import", "--dry-run"])
        dry = capsys.readouterr().out
        cli.main(["erp", "import", "--as", "migration"])
        applied = capsys.readouterr().out
        cli.main(["erp", "runs"])
        logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    finally:
        get_settings.cache_clear()

    assert "Read with the ODBC driver 'SQLite3'" in dry
    assert "items: 5 to create" in dry
    assert "items: 5 created" in applied
    assert "stock: 3 changed, 1 unchanged" in applied
    assert [(run["dry_run"], run["by"], run["status"]) for run in logged] == [
        (False, "migration", "done"),
        (True, "erp-import", "done"),
    ]
    assert logged[0]["entities"]["purchase_orders"] == {"create": 2}
