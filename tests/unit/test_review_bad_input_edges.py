"""Odd values in the newer fields are refused as the caller's input, naming the field, and
change nothing; none is a 500:

- a stock adjustment whose stated unit cost and quantity make a value beyond what a balance
  can hold (the product overflowed the decimal context while being rounded);
- the scheduling grid's `updated_since` at an instant that has no UTC date (year 1 east of
  Greenwich, year 9999 west of it): before, or after, every save;
- an ERP import started while a mapping file is not UTF-8 text (a comment typed with an accent
  in an editor saving Windows-1252).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from services.mrp.erp import runs
from services.mrp.erp.mapping import SHIPPED_MAPPINGS
from tests.support.ui import ui_portal
from tests.unit.test_erp_api import IMPORTS, mrp
from tests.unit.test_inventory_opening_balance import ADJUST, Store, shelf, shelf_runtime
from tests.unit.test_schedule import GRID, Plant, cell, plant, today

__all__ = ["plant", "shelf", "shelf_runtime", "today"]  # fixtures used here


def refused(response: httpx.Response, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem.get("field") == field, problem
    return problem


@pytest.mark.parametrize(
    ("qty", "unit_cost", "reason"),
    [
        # 10^14 x 10^14: beyond the decimal context's 28 digits once rounded
        ("99999999999999", "99999999999999", "opening_balance"),
        # fits the context, not a balance's NUMERIC(18, 4)
        ("1000000", "1000000000", "found"),
    ],
)
async def test_a_found_value_too_large_to_hold_is_refused_naming_unit_cost(
    shelf: Store, qty: str, unit_cost: str, reason: str
) -> None:
    before = shelf.snapshot()
    response = await shelf.clerk.post(
        ADJUST,
        json={
            "sku": "BOLT",
            "location": "RAW",
            "lot": "B-1",
            "qty_delta": qty,
            "reason_code": reason,
            "unit_cost": unit_cost,
        },
    )
    problem = refused(response, 422, "unit_cost")
    assert problem.get("code") == "value_too_large", problem
    assert shelf.snapshot() == before


async def test_an_updated_since_without_a_utc_date_is_before_or_after_every_save(
    plant: Plant,
) -> None:
    widget = plant.lines["1/1"]
    async with plant.client("planner", user="paula") as paula:
        saved = await paula.put(cell(widget), json={"value": "2", "version": 0})
        assert saved.status_code == 200, saved.text
        answers = {
            instant: [
                await paula.get(GRID, params={"updated_since": instant}),
                await paula.get(f"{GRID}.xlsx", params={"updated_since": instant}),
            ]
            for instant in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00")
        }
    for grid, workbook in answers.values():
        assert grid.status_code == 200, grid.text
        assert workbook.status_code == 200, workbook.text
    earliest, latest = (grid.json() for grid, _workbook in answers.values())
    assert [row["so_line_id"] for row in earliest["items"]] == [widget]
    assert latest["items"] == []


async def test_a_mapping_file_that_is_not_utf8_is_refused_in_words_and_logs_no_run(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "mappings"
    folder.mkdir()
    for shipped in SHIPPED_MAPPINGS.glob("*.sql"):
        (folder / shipped.name).write_bytes(shipped.read_bytes())
    (folder / "items.sql").write_bytes(
        "-- artículos del ERP\n".encode("cp1252") + (SHIPPED_MAPPINGS / "items.sql").read_bytes()
    )
    async with ui_portal(
        tmp_path / "var",
        demo_data=False,
        erp_odbc=SecretStr("Database=erp.sqlite"),
        erp_mappings=folder,
    ) as portal:
        async with mrp(portal, "admin") as admin:
            answer = await admin.post(IMPORTS, json={"dry_run": True})
        assert answer.status_code == 409, answer.text
        problem = answer.json()
        assert problem["code"] == "erp_mappings", problem
        assert "items.sql" in problem["detail"] and "UTF-8" in problem["detail"], problem
        assert runs.recent_runs(portal.runtimes["mrp"].uow) == []
