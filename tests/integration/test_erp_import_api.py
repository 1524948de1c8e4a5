"""The ERP import driven through mrp's API, as the admin's page drives it: the sample ERP of
test_erp_import.py in a PostgreSQL database of the test's own, read through the real ODBC driver
`PostgreSQL Unicode`, into an embedded portal. A dry run lists what it would create and changes
nothing; the import, started by the admin Marta, creates it all in her name; a second import
finds everything unchanged and lists no record.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.gateway.models import AuditEntry
from services.mrp.erp.api import background_imports
from shared.auth.tokens import issue_service_token
from tests.integration.test_erp_import import DRIVER, Plant, erp_database, plant  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

IMPORTS = "/api/v1/erp/imports"
ADMIN = "erp-api-marta"


def as_admin(plant: Plant) -> httpx.AsyncClient:  # noqa: F811
    token = issue_service_token(
        plant.portal.secret, user=ADMIN, roles=["admin"], name="Marta", ttl_seconds=600
    )
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=plant.portal.runtimes["mrp"].app),
        base_url="http://mrp",
        headers={"Authorization": f"Bearer {token}"},
    )


async def run_to_the_end(
    plant: Plant,  # noqa: F811
    client: httpx.AsyncClient,
    dry_run: bool,
) -> dict[str, Any]:
    """Start a run, ask for it as the page does until it has finished, and return it."""
    started = await client.post(IMPORTS, json={"dry_run": dry_run})
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    for _ in range(600):
        answer = await client.get(f"{IMPORTS}/{run_id}")
        assert answer.status_code == 200, answer.text
        run: dict[str, Any] = answer.json()
        if run["finished"]:
            await plant.portal.wait_idle()
            return run
        await asyncio.sleep(0.1)
    raise AssertionError(f"ERP import {run_id} did not finish in 60 s")


def steps_by(run: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(step["entity"], step["key"]): step for step in run["steps"]}


async def test_a_preview_then_the_import_then_again_through_the_api(
    plant: Plant,  # noqa: F811
) -> None:
    before = plant.row_counts()
    async with as_admin(plant) as client:
        preview = await run_to_the_end(plant, client, dry_run=True)
        after_preview = plant.row_counts()
        imported = await run_to_the_end(plant, client, dry_run=False)
        again = await run_to_the_end(plant, client, dry_run=False)
        listed = (await client.get(IMPORTS)).json()
    await background_imports(plant.portal.runtimes["mrp"].app).wait()

    # The preview: what it would create, nothing changed but the run log.
    assert (preview["status"], preview["dry_run"], preview["driver"]) == ("done", True, DRIVER)
    assert preview["requested_by"] == ADMIN
    assert preview["counts"]["items"] == {"create": 5}
    assert preview["counts"]["purchase_orders"] == {"create": 2}
    previewed = steps_by(preview)
    for key in (("items", "LAMP-1"), ("sales_orders", "S1001"), ("purchase_orders", "P5002")):
        assert (previewed[key]["outcome"], previewed[key]["done"]) == ("create", False)
    assert ("sales_orders", "S0990") not in previewed  # closed in the ERP
    for counts in (before, after_preview):
        counts["mrp"].pop("erp_import_runs")
        counts["mrp"].pop("erp_import_steps")
    assert after_preview == before

    # The import: every record of the preview done, in Marta's name.
    assert (imported["status"], imported["failed"], imported["error"]) == ("done", 0, None)
    assert imported["counts"]["items"] == {"create": 5}
    done = steps_by(imported)
    assert set(done) == set(previewed)
    assert all(step["done"] and step["failure"] is None for step in done.values())
    assert done[("sales_orders", "S1001")]["named"].startswith("SO-")
    lamp = await plant.get("inventory", "/api/v1/items/LAMP-1")
    assert lamp["item_type"] == "finished"
    orders = await plant.get("mrp", "/api/v1/sales-orders", external_ref="S1001")
    assert [order["so_number"] for order in orders["items"]] == [
        done[("sales_orders", "S1001")]["named"]
    ]
    with plant.portal.gateway.uow() as uow:
        actors = set(
            uow.session.scalars(
                select(AuditEntry.actor).where(AuditEntry.action == "inventory.items.create")
            )
        )
    assert actors == {ADMIN}

    # Again: nothing differs, nothing is listed, everything counted unchanged.
    assert (again["status"], again["steps"]) == ("done", [])
    assert again["counts"]["items"] == {"unchanged": 5}
    assert all(set(tally) == {"unchanged"} for tally in again["counts"].values()), again["counts"]

    assert [run["id"] for run in listed["items"]] == [again["id"], imported["id"], preview["id"]]
    assert listed["total"] == 3
