"""BOMs at production's API (SQLite, in process): a bracket kit made of brackets, where the
bracket has a BOM of its own, told the way a planner builds it.

The kit: 2 brackets and 1 box. The bracket's BOM makes 4 brackets from 1 kg of PLA (5 % lost
in printing) and 16 brass inserts. Worked by hand for 10 kits: 20 brackets; PLA 20 / 4 x 1 kg x
1.05 = 5.25 kg; inserts 20 / 4 x 16 = 80; boxes 10.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import MetaData, func, insert, select
from sqlalchemy.exc import IntegrityError

from services import registry
from services.production.bom import service as bom_service
from services.production.bom.models import BomVersion
from services.production.bom.service import NoReleasedBom, requirements_for
from services.production.items.service import remember_item
from shared.auth.tokens import issue_service_token
from shared.bus.inprocess import InProcessBus
from shared.events.catalogue import ItemUpserted
from shared.events.envelope import utc_now
from shared.runtime import ServiceRuntime
from shared.settings import Settings

SECRET = "bom-test-secret-" + "x" * 40
ITEMS = [
    ("KIT", "Bracket kit", "ea", "finished", "make"),
    ("BRKT", "Bracket", "ea", "component", "make"),
    ("PLA", "PLA filament", "kg", "raw", "buy"),
    ("INSERT", "Brass insert M3", "ea", "raw", "buy"),
    ("BOX", "Kit box", "ea", "packaging", "buy"),
    ("OLD", "Discontinued clip", "ea", "raw", "buy"),
]
KIT_LINES = [
    {"component_sku": "BRKT", "qty_per": "2"},
    {"component_sku": "BOX", "qty_per": "1"},
]
BRACKET = {
    "sku": "BRKT",
    "output_qty": "4",
    "lines": [
        {"component_sku": "PLA", "qty_per": "1", "scrap_pct": "5"},
        {"component_sku": "INSERT", "qty_per": "16"},
    ],
}


class Plant:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime
        self.api = self.client("pat", "planner")

    def client(self, user: str, role: str) -> httpx.AsyncClient:
        token = issue_service_token(SECRET, user=user, roles=[role], ttl_seconds=600)
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.runtime.app),
            base_url="http://production",
            headers={"Authorization": f"Bearer {token}"},
        )

    async def draft(self, sku: str, lines: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
        response = await self.api.post("/api/v1/boms", json={"sku": sku, "lines": lines, **more})
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def release(self, sku: str, version: int) -> dict[str, Any]:
        response = await self.api.post(f"/api/v1/boms/{sku}/versions/{version}/release")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def released(self, sku: str, lines: list[dict[str, Any]], **more: Any) -> int:
        version: int = (await self.draft(sku, lines, **more))["version"]
        await self.release(sku, version)
        return version

    def outbox(self, event_type: str) -> list[dict[str, Any]]:
        table = self.runtime.definition.tables.outbox
        with self.runtime.db.engine.connect() as conn:
            rows = conn.execute(
                select(table.c.envelope)
                .where(table.c.event_type == event_type)
                .order_by(table.c.id)
            ).scalars()
            return [json.loads(row) for row in rows]

    def snapshot(self) -> dict[str, int]:
        tables = MetaData()
        tables.reflect(self.runtime.db.engine)
        with self.runtime.db.engine.connect() as conn:
            return {
                table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for table in tables.sorted_tables
            }


@pytest.fixture
async def plant(tmp_path: Path) -> AsyncIterator[Plant]:
    runtime = ServiceRuntime(
        registry.definition("production"),
        Settings(var_dir=tmp_path),
        InProcessBus(),
        token_secret=SECRET,
    )
    runtime.definition.metadata.create_all(runtime.db.engine)
    with runtime.uow() as uow:
        for sku, name, uom, item_type, make_or_buy in ITEMS:
            item = ItemUpserted(
                sku=sku, name=name, uom=uom, item_type=item_type, make_or_buy=make_or_buy
            )
            remember_item(uow, item, 1)
        remember_item(
            uow,
            ItemUpserted(
                sku="OLD", name="x", uom="ea", item_type="raw", make_or_buy="buy", active=False
            ),
            2,
        )
        uow.commit()
    plant = Plant(runtime)
    yield plant
    await plant.api.aclose()
    runtime.db.engine.dispose()


async def test_a_draft_is_numbered_per_product_and_takes_the_items_units(plant: Plant) -> None:
    first = await plant.draft("KIT", KIT_LINES, notes="launch kit")
    second = await plant.draft("KIT", KIT_LINES)
    bracket = await plant.draft(**BRACKET)

    assert (first["version"], second["version"], bracket["version"]) == (1, 2, 1)
    assert first["status"] == "draft" and first["created_by"] == "pat"
    assert first["uom"] == "ea" and first["output_qty"] == "1.0000"
    assert [(line["line_no"], line["component_sku"], line["uom"]) for line in first["lines"]] == [
        (1, "BRKT", "ea"),
        (2, "BOX", "ea"),
    ]
    assert bracket["lines"][0] | {"notes": None} == {
        "line_no": 1,
        "component_sku": "PLA",
        "qty_per": "1.0000",
        "uom": "kg",
        "scrap_pct": "5.0000",
        "notes": None,
    }
    audit = [event["payload"] for event in plant.outbox("AuditRecorded")]
    assert [(entry["action"], entry["entity_id"]) for entry in audit] == [
        ("production.boms.create", "KIT v1"),
        ("production.boms.create", "KIT v2"),
        ("production.boms.create", "BRKT v1"),
    ]


async def test_a_retried_create_with_its_idempotency_key_makes_one_version(plant: Plant) -> None:
    body = {"sku": "KIT", "lines": KIT_LINES}
    key = {"Idempotency-Key": "bom-kit-1"}

    first = await plant.api.post("/api/v1/boms", json=body, headers=key)
    again = await plant.api.post("/api/v1/boms", json=body, headers=key)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["version"] == first.json()["version"] == 1
    listed = (await plant.api.get("/api/v1/boms", params={"sku": "KIT"})).json()
    assert listed["total"] == 1


async def test_a_draft_changes_until_it_is_released_and_never_after(plant: Plant) -> None:
    draft = await plant.draft("KIT", KIT_LINES)
    changed = await plant.api.put(
        "/api/v1/boms/KIT/versions/1",
        json={"output_qty": "2", "lines": [{"component_sku": "BRKT", "qty_per": "3"}]},
    )
    assert changed.status_code == 200, changed.text
    assert [line["qty_per"] for line in changed.json()["lines"]] == ["3.0000"]
    assert changed.json()["output_qty"] == "2.0000"
    await plant.release("KIT", draft["version"])

    late = await plant.api.put("/api/v1/boms/KIT/versions/1", json={"lines": KIT_LINES})

    assert late.status_code == 409
    assert late.json()["code"] == "bom_not_draft"
    shown = (await plant.api.get("/api/v1/boms/KIT/versions/1")).json()
    assert [line["component_sku"] for line in shown["lines"]] == ["BRKT"]


async def test_releasing_publishes_the_version_and_retires_the_one_before(plant: Plant) -> None:
    await plant.released("KIT", KIT_LINES)
    second = await plant.draft("KIT", [*KIT_LINES, {"component_sku": "INSERT", "qty_per": "2"}])

    released = await plant.release("KIT", second["version"])

    assert released["status"] == "released" and released["released_by"] == "pat"
    first = (await plant.api.get("/api/v1/boms/KIT/versions/1")).json()
    assert first["status"] == "obsolete" and first["obsoleted_by"] == "pat"
    current = (await plant.api.get("/api/v1/boms/KIT")).json()
    assert current["version"] == 2
    events = plant.outbox("BomReleased")
    assert [(e["key"], e["payload"]["bom_version"]) for e in events] == [("KIT", 1), ("KIT", 2)]
    assert events[1]["payload"]["lines"] == [
        {"line_no": 1, "component_sku": "BRKT", "qty_per": "2.0000", "scrap_pct": "0.0000"},
        {"line_no": 2, "component_sku": "BOX", "qty_per": "1.0000", "scrap_pct": "0.0000"},
        {"line_no": 3, "component_sku": "INSERT", "qty_per": "2.0000", "scrap_pct": "0.0000"},
    ]
    actions = [e["payload"]["action"] for e in plant.outbox("AuditRecorded")]
    assert actions[-2:] == ["production.boms.obsolete", "production.boms.release"]


async def test_the_database_keeps_one_released_version_per_product(plant: Plant) -> None:
    await plant.released("KIT", KIT_LINES)
    now = utc_now()

    with pytest.raises(IntegrityError), plant.runtime.db.engine.begin() as conn:
        conn.execute(
            insert(BomVersion.__table__).values(
                product_sku="KIT",
                version=9,
                status="released",
                output_qty=Decimal(1),
                uom="ea",
                created_at=now,
                created_by="x",
                updated_at=now,
                updated_by="x",
            )
        )


async def test_obsoleting_the_released_version_leaves_none_to_make(plant: Plant) -> None:
    await plant.released("KIT", KIT_LINES)

    retired = await plant.api.post("/api/v1/boms/KIT/versions/1/obsolete")

    assert retired.status_code == 200 and retired.json()["status"] == "obsolete"
    missing = await plant.api.get("/api/v1/boms/KIT")
    assert missing.status_code == 404 and missing.json()["code"] == "no_released_bom"
    again = await plant.api.post("/api/v1/boms/KIT/versions/1/release")
    assert again.status_code == 409 and again.json()["code"] == "bom_transition"
    with plant.runtime.uow() as uow, pytest.raises(NoReleasedBom):
        requirements_for(uow, "KIT", Decimal(1))


async def test_a_cycle_through_a_sub_assemblys_released_bom_is_refused(plant: Plant) -> None:
    await plant.released(**BRACKET)  # BRKT -> PLA, INSERT
    kit = await plant.draft("KIT", KIT_LINES)  # KIT -> BRKT, BOX (a draft)
    # The insert listing the kit is no cycle yet: the kit has no released BOM.
    insert_draft = await plant.draft("INSERT", [{"component_sku": "KIT", "qty_per": "1"}])
    await plant.release("KIT", kit["version"])
    before = plant.snapshot()

    refused = await plant.api.post(
        f"/api/v1/boms/INSERT/versions/{insert_draft['version']}/release"
    )
    saved = await plant.api.post(
        "/api/v1/boms", json={"sku": "INSERT", "lines": [{"component_sku": "KIT", "qty_per": "2"}]}
    )

    for answer in (refused, saved):
        assert answer.status_code == 409, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["code"] == "bom_cycle"
        assert "INSERT → KIT → BRKT → INSERT" in answer.json()["detail"]
    assert plant.snapshot() == before
    status = (await plant.api.get("/api/v1/boms/INSERT/versions/1")).json()["status"]
    assert status == "draft"


async def test_the_explosion_is_worked_out_through_every_level(plant: Plant) -> None:
    await plant.released(**BRACKET)
    kit_version = await plant.released("KIT", KIT_LINES)

    answer = await plant.api.get("/api/v1/boms/KIT/explosion", params={"qty": "10"})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["sku"], body["version"], body["qty"], body["uom"]) == (
        "KIT",
        kit_version,
        "10.0000",
        "ea",
    )
    assert body["requirements"] == [
        {"sku": "BOX", "qty": "10.0000", "uom": "ea"},
        {"sku": "INSERT", "qty": "80.0000", "uom": "ea"},
        {"sku": "PLA", "qty": "5.2500", "uom": "kg"},
    ]
    assert [
        (row["level"], row["parent_sku"], row["sku"], row["qty"], row["has_bom"])
        for row in body["tree"]
    ] == [
        (1, "KIT", "BRKT", "20.0000", True),
        (2, "BRKT", "PLA", "5.2500", False),
        (2, "BRKT", "INSERT", "80.0000", False),
        (1, "KIT", "BOX", "10.0000", False),
    ]
    assert body["tree"][1]["scrap_pct"] == "5.0000"
    assert body["tree_truncated"] is False
    flat = await plant.api.get("/api/v1/boms/KIT/explosion?qty=1&tree=false")
    assert flat.json()["tree"] is None
    # One kit: PLA 2 / 4 x 1.05 = 0.525 kg.
    assert {r["sku"]: r["qty"] for r in flat.json()["requirements"]}["PLA"] == "0.5250"
    with plant.runtime.uow() as uow:
        assert requirements_for(uow, "KIT", Decimal(10)) == (
            kit_version,
            [("BOX", Decimal(10)), ("INSERT", Decimal(80)), ("PLA", Decimal("5.25"))],
        )
        # The bracket is made from its own BOM too: 6 brackets = 1.5 batches.
        assert requirements_for(uow, "BRKT", Decimal(6)) == (
            1,
            [("INSERT", Decimal(24)), ("PLA", Decimal("1.575"))],
        )


async def test_the_indented_bom_can_stop_at_a_level_and_is_cut_when_too_long(
    plant: Plant, monkeypatch: pytest.MonkeyPatch
) -> None:
    await plant.released(**BRACKET)
    await plant.released("KIT", KIT_LINES)

    top = (await plant.api.get("/api/v1/boms/KIT/explosion?qty=10&levels=1")).json()
    monkeypatch.setattr(bom_service, "MAX_TREE_ROWS", 3)
    cut = (await plant.api.get("/api/v1/boms/KIT/explosion?qty=10")).json()

    assert [(row["level"], row["sku"]) for row in top["tree"]] == [(1, "BRKT"), (1, "BOX")]
    assert top["tree_truncated"] is False
    assert len(top["requirements"]) == 3  # the totals are always of every level
    assert [row["sku"] for row in cut["tree"]] == ["BRKT", "PLA", "INSERT"]
    assert cut["tree_truncated"] is True


async def test_a_release_by_another_replica_changes_the_next_explosion(
    plant: Plant, tmp_path: Path
) -> None:
    """Each process keeps the released BOMs it read; a release anywhere makes it read again."""
    await plant.released(**BRACKET)
    await plant.released("KIT", KIT_LINES)
    with plant.runtime.uow() as uow:
        assert dict(requirements_for(uow, "KIT", Decimal(10))[1])["PLA"] == Decimal("5.25")
    replica = ServiceRuntime(
        registry.definition("production"),
        Settings(var_dir=tmp_path),
        InProcessBus(),
        db_url=plant.runtime.db.url,
        token_secret=SECRET,
    )
    other = Plant(replica)
    # The other replica releases a bracket that takes 2 kg of PLA per batch of 4.
    await other.released(
        "BRKT", [{"component_sku": "PLA", "qty_per": "2", "scrap_pct": "5"}], output_qty="4"
    )

    with plant.runtime.uow() as uow:
        version, needs = requirements_for(uow, "KIT", Decimal(10))
    answer = (await plant.api.get("/api/v1/boms/KIT/explosion?qty=10&tree=false")).json()

    assert version == 1
    assert dict(needs) == {"BOX": Decimal(10), "PLA": Decimal("10.5")}  # 20 / 4 x 2 x 1.05
    assert [(r["sku"], r["qty"]) for r in answer["requirements"]] == [
        ("BOX", "10.0000"),
        ("PLA", "10.5000"),
    ]
    await other.api.aclose()
    replica.db.engine.dispose()


async def test_where_used_names_every_parent_by_its_path(plant: Plant) -> None:
    await plant.released(**BRACKET)
    await plant.released("KIT", [*KIT_LINES, {"component_sku": "INSERT", "qty_per": "2"}])

    answer = (await plant.api.get("/api/v1/boms/INSERT/where-used")).json()

    assert answer["sku"] == "INSERT"
    assert [(p["sku"], p["level"], p["path"], p["qty_per"]) for p in answer["parents"]] == [
        ("BRKT", 1, ["INSERT", "BRKT"], "16.0000"),
        ("KIT", 2, ["INSERT", "BRKT", "KIT"], "2.0000"),
        ("KIT", 1, ["INSERT", "KIT"], "2.0000"),
    ]
    assert (await plant.api.get("/api/v1/boms/KIT/where-used")).json()["parents"] == []


async def test_the_list_filters_sorts_pages_and_exports(plant: Plant) -> None:
    await plant.released(**BRACKET)
    await plant.released("KIT", KIT_LINES)
    await plant.draft("KIT", KIT_LINES)

    drafts = (await plant.api.get("/api/v1/boms", params={"status": "draft"})).json()
    kits = (await plant.api.get("/api/v1/boms", params={"sku": "KIT", "sort": "-version"})).json()
    first = (await plant.api.get("/api/v1/boms", params={"limit": 1})).json()
    export = await plant.api.get("/api/v1/boms.xlsx", params={"status": "released"})

    assert [(b["sku"], b["version"]) for b in drafts["items"]] == [("KIT", 2)]
    assert [(b["version"], b["status"]) for b in kits["items"]] == [(2, "draft"), (1, "released")]
    assert kits["items"][0]["line_count"] == 2
    assert (first["total"], len(first["items"]), first["items"][0]["sku"]) == (3, 1, "BRKT")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("SKU", "Version", "Status")
    assert [row[:3] for row in rows[1:]] == [("BRKT", 1, "released"), ("KIT", 1, "released")]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("POST", "/api/v1/boms", {"sku": "NOPE", "lines": KIT_LINES}, 422, "sku"),
        (
            "POST",
            "/api/v1/boms",
            {"sku": "KIT", "lines": [*KIT_LINES, {"component_sku": "GHOST", "qty_per": "1"}]},
            422,
            "lines.2.component_sku",
        ),
        (
            "POST",
            "/api/v1/boms",
            {"sku": "KIT", "lines": [{"component_sku": "OLD", "qty_per": "1"}]},
            422,
            "lines.0.component_sku",
        ),
        (
            "POST",
            "/api/v1/boms",
            {"sku": "KIT", "lines": [{"component_sku": "BOX", "qty_per": "0"}]},
            422,
            "lines.0.qty_per",
        ),
        (
            "POST",
            "/api/v1/boms",
            {"sku": "KIT", "lines": [{"component_sku": "BOX", "qty_per": "1", "scrap_pct": "100"}]},
            422,
            "lines.0.scrap_pct",
        ),
        (
            "POST",
            "/api/v1/boms",
            {"sku": "KIT", "lines": [KIT_LINES[0], KIT_LINES[0]]},
            422,
            "lines.1.component_sku",
        ),
        (
            "POST",
            "/api/v1/boms",
            {"sku": "KIT", "lines": [{"component_sku": "KIT", "qty_per": "1"}]},
            422,
            "lines.0.component_sku",
        ),
        (
            "POST",
            "/api/v1/boms",
            {
                "sku": "KIT",
                "lines": [
                    {"line_no": 3, "component_sku": "BOX", "qty_per": "1"},
                    {"line_no": 3, "component_sku": "BRKT", "qty_per": "1"},
                ],
            },
            422,
            "lines.1.line_no",
        ),
        ("POST", "/api/v1/boms", {"sku": "KIT", "lines": []}, 422, "lines"),
        (
            "POST",
            "/api/v1/boms",
            {"sku": "KIT", "lines": KIT_LINES, "output_qty": "-1"},
            422,
            "output_qty",
        ),
        ("PUT", "/api/v1/boms/KIT/versions/7", {"lines": KIT_LINES}, 404, "version"),
        ("POST", "/api/v1/boms/KIT/versions/7/release", None, 404, "version"),
        ("GET", "/api/v1/boms/KIT/explosion?qty=0", None, 422, "query.qty"),
        ("GET", "/api/v1/boms/KIT/explosion?qty=1.00001", None, 422, "query.qty"),
        ("GET", "/api/v1/boms/BOX/explosion?qty=1", None, 409, "sku"),
        ("GET", "/api/v1/boms?status=live", None, 422, "query.status"),
        ("GET", "/api/v1/boms?sort=colour", None, 422, "query.sort"),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field_and_changes_nothing(
    plant: Plant, method: str, path: str, body: Any, status: int, field: str
) -> None:
    await plant.draft("KIT", KIT_LINES)
    before = plant.snapshot()

    answer = await plant.api.request(method, path, json=body)

    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json().get("field") == field, answer.json()
    assert plant.snapshot() == before


async def test_a_viewer_reads_boms_but_cannot_change_them(plant: Plant) -> None:
    await plant.released("KIT", KIT_LINES)
    viewer = plant.client("vic", "viewer")

    assert (await viewer.get("/api/v1/boms/KIT")).status_code == 200
    refused = await viewer.post("/api/v1/boms", json={"sku": "KIT", "lines": KIT_LINES})
    assert refused.status_code == 403
    await viewer.aclose()
