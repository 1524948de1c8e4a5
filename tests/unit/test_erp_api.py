"""The ERP import's API for the admin's page (/api/v1/erp on mrp): only an admin may read the
runs or start one; a portal without the ERP's connection string says so in words; one run at a
time; and a dry run, read back when it has finished, lists what it would create and has changed
nothing in the other services.

The embedded portal, with the sample ERP (services/mrp/erp/sample_erp.sql) in a SQLite file read
through the SQLite ODBC driver (libsqliteodbc, scripts/system-packages) where a test needs one.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from services.embedded import EmbeddedPortal
from services.mrp.erp import runs
from services.mrp.erp.api import background_imports
from tests.support.service_api import ServiceApi
from tests.support.ui import ui_portal

SAMPLE_ERP = Path("services/mrp/erp/sample_erp.sql")
ODBC_DRIVER = "SQLite3"
IMPORTS = "/api/v1/erp/imports"


def sqlite_driver_installed() -> bool:
    try:
        import pyodbc
    except ImportError:
        return False
    return ODBC_DRIVER in pyodbc.drivers()


def sample_erp(folder: Path) -> str:
    """The sample ERP in a SQLite file; its ODBC connection string."""
    path = folder / "erp.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(SAMPLE_ERP.read_text())
    return f"Database={path}"


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[EmbeddedPortal]:
    """A portal whose mrp service has no ERP connection string."""
    async with ui_portal(tmp_path / "var", demo_data=False) as portal:
        yield portal


@pytest.fixture
async def erp_portal(tmp_path: Path) -> AsyncIterator[EmbeddedPortal]:
    if not sqlite_driver_installed():
        pytest.skip(f"the ODBC driver '{ODBC_DRIVER}' is not installed (libsqliteodbc)")
    async with ui_portal(
        tmp_path / "var",
        demo_data=False,
        erp_odbc=SecretStr(sample_erp(tmp_path)),
        erp_odbc_drivers=[ODBC_DRIVER],
    ) as portal:
        yield portal


def mrp(portal: EmbeddedPortal, *roles: str, user: str = "ana") -> Any:
    return ServiceApi(portal.runtimes["mrp"], portal.secret).client(*roles, user=user)


async def finished(portal: EmbeddedPortal, run_id: int) -> dict[str, Any]:
    await background_imports(portal.runtimes["mrp"].app).wait()
    async with mrp(portal, "admin") as client:
        answer = await client.get(f"{IMPORTS}/{run_id}")
    assert answer.status_code == 200, answer.text
    run: dict[str, Any] = answer.json()
    assert run["finished"], run
    return run


async def test_a_planner_may_neither_read_nor_start_imports_and_an_admin_may_read_them(
    portal: EmbeddedPortal,
) -> None:
    async with mrp(portal, "planner", "supervisor") as planner:
        for answer in (
            await planner.get(IMPORTS),
            await planner.get(f"{IMPORTS}/1"),
            await planner.post(IMPORTS, json={"dry_run": True}),
        ):
            assert answer.status_code == 403, answer.text
            assert answer.json()["code"] == "permission_required"
    async with mrp(portal, "admin") as admin:
        listed = await admin.get(IMPORTS)
        missing = await admin.get(f"{IMPORTS}/7")
    assert listed.status_code == 200
    assert listed.json() == {"items": [], "total": 0, "limit": 50, "offset": 0}
    assert missing.status_code == 404
    assert "There is no ERP import 7" in missing.json()["detail"]


async def test_without_the_erps_connection_string_starting_says_what_to_set_and_logs_nothing(
    portal: EmbeddedPortal,
) -> None:
    async with mrp(portal, "admin") as admin:
        answer = await admin.post(IMPORTS, json={"dry_run": True})
        listed = (await admin.get(IMPORTS)).json()
    assert answer.status_code == 409, answer.text
    problem = answer.json()
    assert problem["code"] == "erp_not_configured"
    assert "not set up" in problem["detail"] and "PORTAL_ERP_ODBC" in problem["detail"]
    assert listed["total"] == 0


async def test_a_bad_body_is_refused_naming_the_field(erp_portal: EmbeddedPortal) -> None:
    async with mrp(erp_portal, "admin") as admin:
        answer = await admin.post(IMPORTS, json={"dry_run": "perhaps"})
        listed = (await admin.get(IMPORTS)).json()
    assert answer.status_code == 422
    assert "dry_run" in answer.text
    assert listed["total"] == 0


async def test_a_second_start_while_one_runs_is_refused_naming_the_running_one(
    erp_portal: EmbeddedPortal,
) -> None:
    # A run going on elsewhere: `portal erp import --dry-run` on another machine, say.
    running = runs.start_run(erp_portal.runtimes["mrp"].uow, dry_run=True, requested_by="luis")

    async with mrp(erp_portal, "admin") as admin:
        refused = await admin.post(IMPORTS, json={"dry_run": False})
        also_dry = await admin.post(IMPORTS, json={"dry_run": True})

    for answer in (refused, also_dry):
        assert answer.status_code == 409, answer.text
        problem = answer.json()
        assert problem["code"] == "erp_import_running"
        assert problem["running_run_id"] == running
        assert f"Import {running} (by luis" in problem["detail"]
    [only] = runs.recent_runs(erp_portal.runtimes["mrp"].uow)
    assert only.id == running


async def test_two_starts_at_once_start_one_run(erp_portal: EmbeddedPortal) -> None:
    async with mrp(erp_portal, "admin") as admin:
        answers = await asyncio.gather(
            admin.post(IMPORTS, json={"dry_run": True}),
            admin.post(IMPORTS, json={"dry_run": True}),
        )
    assert sorted(answer.status_code for answer in answers) == [202, 409]
    started = next(answer for answer in answers if answer.status_code == 202).json()
    refused = next(answer for answer in answers if answer.status_code == 409).json()
    assert refused["running_run_id"] == started["id"]
    await finished(erp_portal, started["id"])


async def test_a_finished_dry_run_lists_its_steps_and_changed_nothing_in_the_services(
    erp_portal: EmbeddedPortal,
) -> None:
    before = {
        name: ServiceApi(runtime, erp_portal.secret).row_counts()
        for name, runtime in erp_portal.runtimes.items()
    }

    async with mrp(erp_portal, "admin", user="ana") as admin:
        answer = await admin.post(IMPORTS, json={"dry_run": True})
    assert answer.status_code == 202, answer.text
    started = answer.json()
    assert started["status"] == "running" and started["dry_run"] is True
    assert answer.headers["location"] == f"{IMPORTS}/{started['id']}"

    run = await finished(erp_portal, started["id"])
    assert (run["status"], run["requested_by"], run["dry_run"]) == ("done", "ana", True)
    assert run["driver"] == ODBC_DRIVER
    assert run["counts"]["items"] == {"create": 5}
    assert run["failed"] == 0 and run["error"] is None
    steps = {(step["entity"], step["key"]): step for step in run["steps"]}
    for entity, key in (
        ("items", "LAMP-1"),
        ("items", "RESIN-GRY"),
        ("sales_orders", "S1001"),
        ("purchase_orders", "P5002"),
        ("vendors", "V-BOX"),
    ):
        step = steps[(entity, key)]
        assert (step["verdict"], step["outcome"], step["done"]) == ("create", "create", False)
    assert ("items", "OLD-9") not in steps  # inactive in the ERP
    assert all(step["failure"] is None for step in run["steps"])

    after = {
        name: ServiceApi(runtime, erp_portal.secret).row_counts()
        for name, runtime in erp_portal.runtimes.items()
    }
    assert after["mrp"].pop("erp_import_runs") == before["mrp"].pop("erp_import_runs") + 1
    assert after["mrp"].pop("erp_import_steps") == len(run["steps"])
    before["mrp"].pop("erp_import_steps")
    assert after == before

    async with mrp(erp_portal, "admin") as admin:
        listed = (await admin.get(IMPORTS, params={"limit": 1})).json()
    assert listed["total"] == 1
    assert [(r["id"], r["finished"], r["counts"]) for r in listed["items"]] == [
        (run["id"], True, run["counts"])
    ]
