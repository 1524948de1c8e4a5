"""Scrap reason codes and production's item read model, through production's API: the seeded
standard set in four categories (English and Spanish), admin adds, deactivates and reactivates
codes (audited; others may not), a deactivated code is refused for new scrap and kept on the
records that used it; items learned from ItemUpserted, the newest sequence winning."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.production.items.service import remember_item
from shared.events.catalogue import ItemUpserted
from tests.support.production_floor import WIDGET, Floor, production_floor

CODES = "/api/v1/scrap-codes"


@pytest.fixture
async def floor(tmp_path: Path) -> AsyncIterator[Floor]:
    async with production_floor(tmp_path) as floor:
        yield floor


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def test_the_standard_codes_cover_four_categories_with_a_corrective_action(
    floor: Floor,
) -> None:
    async with floor.client("operator") as operator:
        codes = ok(await operator.get(CODES, params={"limit": 100}))["items"]
        by_category = Counter(code["category"] for code in codes)
        assert set(by_category) == {"print_failure", "qc_failure", "handling", "other"}
        assert all(count >= 3 for count in by_category.values()), by_category
        assert {"ADHESION", "SURFACE", "DROPPED", "OTHER"} <= {c["code"] for c in codes}
        assert all(c["description"] and c["corrective_action"] and c["active"] for c in codes)
        qc_only = ok(await operator.get(CODES, params={"category": "qc_failure"}))["items"]
        assert {c["category"] for c in qc_only} == {"qc_failure"}
        refused = await operator.get(CODES, params={"category": "gremlins"})
        assert refused.status_code == 422
    async with floor.client("operator", language="es") as spanish:
        adhesion = ok(await spanish.get(f"{CODES}/ADHESION"))
        assert adhesion["description"].startswith("Fallo de adherencia")


async def test_seeding_again_adds_nothing_and_keeps_a_deactivated_code_deactivated(
    floor: Floor,
) -> None:
    async with floor.client("admin", user="ada") as admin:
        ok(await admin.post(f"{CODES}/COLOUR/deactivate"))
        total = ok(await admin.get(CODES))["total"]
        floor.runtime.seed()
        assert ok(await admin.get(CODES))["total"] == total
        assert ok(await admin.get(f"{CODES}/COLOUR"))["active"] is False


async def test_admin_adds_deactivates_and_reactivates_a_code_and_each_change_is_audited(
    floor: Floor,
) -> None:
    async with floor.client("admin", user="ada") as admin:
        added = ok(
            await admin.post(
                CODES,
                json={
                    "code": "spaghetti",
                    "category": "print_failure",
                    "description": "Spaghetti: the print detached and extruded into the air",
                    "corrective_action": "Watch the first layers; use the camera alarm",
                },
            ),
            201,
        )
        assert (added["code"], added["active"]) == ("SPAGHETTI", True)
        duplicate = await admin.post(
            CODES,
            json={
                "code": "SPAGHETTI",
                "category": "other",
                "description": "again",
                "corrective_action": "none",
            },
        )
        assert duplicate.status_code == 409 and duplicate.json()["field"] == "code"
        assert ok(await admin.post(f"{CODES}/SPAGHETTI/deactivate"))["active"] is False
        assert ok(await admin.post(f"{CODES}/spaghetti/reactivate"))["active"] is True
        assert (await admin.post(f"{CODES}/NOPE/deactivate")).status_code == 404
    audit = [e.payload for e in floor.events("AuditRecorded", "audit:scrap_code:SPAGHETTI")]
    assert [entry["action"] for entry in audit] == [
        "production.scrap_codes.create",
        "production.scrap_codes.deactivate",
        "production.scrap_codes.reactivate",
    ]
    assert all(entry["actor"] == "ada" for entry in audit)


async def test_only_admin_manages_codes(floor: Floor) -> None:
    async with floor.client("supervisor", "quality") as supervisor:
        before = floor.row_counts()
        assert (await supervisor.post(f"{CODES}/ADHESION/deactivate")).status_code == 403
        body = {"code": "X", "category": "other", "description": "x", "corrective_action": "y"}
        assert (await supervisor.post(CODES, json=body)).status_code == 403
        assert floor.row_counts() == before


async def test_a_deactivated_code_is_refused_for_new_scrap_and_kept_on_old_runs(
    floor: Floor,
) -> None:
    async with floor.client("supervisor") as api, floor.client("admin") as admin:
        orders = "/api/v1/production-orders"
        code = ok(await api.post(orders, json={"sku": WIDGET, "qty_ordered": "5"}), 201)["code"]
        ok(await api.post(f"{orders}/{code}/start", json={}))
        run = {"qty_good": "1", "qty_bad": "1", "scrap_reason_code": "warping", "final_run": False}
        first = ok(await api.post(f"{orders}/{code}/runs", json=run), 201)
        assert first["scrap_reason_code"] == "WARPING"
        ok(await admin.post(f"{CODES}/WARPING/deactivate"))
        refused = await api.post(f"{orders}/{code}/runs", json=run)
        assert refused.status_code == 422
        assert refused.json()["code"] == "inactive_scrap_code"
        order = ok(await api.get(f"{orders}/{code}"))
        assert [r["scrap_reason_code"] for r in order["runs"]] == ["WARPING"]


async def test_production_learns_items_from_inventory_and_the_newest_event_wins(
    floor: Floor,
) -> None:
    def upsert(sequence: int, **fields: Any) -> None:
        item = ItemUpserted(
            sku="CLIP", uom="ea", item_type="finished", make_or_buy="make", **fields
        )
        with floor.runtime.uow() as uow:
            remember_item(uow, item, sequence)
            uow.commit()

    async with floor.client("viewer") as viewer:
        assert (await viewer.get("/api/v1/items/CLIP")).status_code == 404
        upsert(5, name="Clip", requires_qc=False)
        clip = ok(await viewer.get("/api/v1/items/CLIP"))
        assert (clip["name"], clip["requires_qc"], clip["active"]) == ("Clip", False, True)
        upsert(4, name="Clip (old)", active=False)  # older: changes nothing
        assert ok(await viewer.get("/api/v1/items/CLIP"))["name"] == "Clip"
        upsert(6, name="Clip, black", active=False)
        assert ok(await viewer.get("/api/v1/items/CLIP"))["active"] is False
        active = ok(await viewer.get("/api/v1/items", params={"q": "clip"}))
        assert active["total"] == 0
        every = ok(await viewer.get("/api/v1/items", params={"q": "clip", "active": "false"}))
        assert [i["name"] for i in every["items"]] == ["Clip, black"]
