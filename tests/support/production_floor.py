"""The production service alone on SQLite, as a plant's floor drives it over its API, with a
fake inventory answering reservations (httpx.MockTransport) so a test decides what is in stock.

Items reach production's read model as inventory's ItemUpserted would bring them; BOMs are made
and released through production's own API. Nothing is relayed: the outbox keeps every event the
service published, for the tests to read.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from services import registry
from services.production.items.service import remember_item
from shared.bus.inprocess import InProcessBus
from shared.events.catalogue import ItemUpserted
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.support.service_api import ServiceApi

SECRET = "production-floor-test-secret-" + "x" * 30
PLA, BOX, WIDGET, KEYRING = "PLA-WHT", "BOX-W", "WIDGET-W", "KEYRING"
ITEMS = [
    ItemUpserted(sku=PLA, name="PLA filament, white", uom="kg", item_type="raw", make_or_buy="buy"),
    ItemUpserted(sku=BOX, name="Widget box", uom="ea", item_type="packaging", make_or_buy="buy"),
    ItemUpserted(
        sku=WIDGET, name="Widget, white", uom="ea", item_type="finished", make_or_buy="make"
    ),
    # A keyring needs no QC: its good output goes straight to finished goods.
    ItemUpserted(
        sku=KEYRING,
        name="Keyring",
        uom="ea",
        item_type="finished",
        make_or_buy="make",
        requires_qc=False,
    ),
    ItemUpserted(
        sku="GADGET", name="Gadget (no BOM yet)", uom="ea", item_type="finished", make_or_buy="make"
    ),
    ItemUpserted(
        sku="OLD-WIDGET",
        name="Widget, discontinued",
        uom="ea",
        item_type="finished",
        make_or_buy="make",
        active=False,
    ),
]
# A widget takes 0.25 kg of PLA and one box; a keyring 0.01 kg of PLA.
BOMS = {
    WIDGET: [
        {"line_no": 1, "component_sku": PLA, "qty_per": "0.25"},
        {"line_no": 2, "component_sku": BOX, "qty_per": "1"},
    ],
    KEYRING: [{"line_no": 1, "component_sku": PLA, "qty_per": "0.01"}],
}


class FakeInventory:
    """Inventory's reservation endpoint as docs/production.md describes it: available stock per
    SKU; short and not allow_insufficient -> 409 insufficient_stock with the shortages and
    nothing reserved; a repeat for the same reference returns the reservation that exists."""

    def __init__(self, available: dict[str, Decimal]) -> None:
        self.available = dict(available)
        self.reservations: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str, Any]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.calls.append((request.method, request.url.path, body))
        if request.method == "DELETE":
            self.reservations.pop(request.url.path.rsplit("/", 1)[-1], None)
            return httpx.Response(204)
        assert request.url.path == "/api/v1/reservations", request.url.path
        reference = body["reference"]
        if reference in self.reservations:
            return httpx.Response(200, json=self.reservations[reference])
        lines = []
        for number, line in enumerate(body["lines"], start=1):
            required = Decimal(line["qty"])
            available = self.available.get(line["sku"], Decimal(0))
            reserved = min(required, available)
            lines.append(
                {
                    "sku": line["sku"],
                    "line_no": number,
                    "qty_required": str(required),
                    "qty_reserved": str(reserved),
                    "qty_available": str(available),
                    "qty_short": str(required - reserved),
                }
            )
        short = [line for line in lines if Decimal(line["qty_short"]) > 0]
        if short and not body["allow_insufficient"]:
            return httpx.Response(
                409,
                headers={"content-type": "application/problem+json"},
                json={
                    "type": "https://portal.example/problems/conflict",
                    "title": "Conflict",
                    "status": 409,
                    "detail": "Not enough stock to reserve.",
                    "code": "insufficient_stock",
                    "shortages": [
                        {k: line[k] for k in ("sku", "qty_required", "qty_available", "qty_short")}
                        for line in short
                    ],
                },
            )
        for line in lines:
            self.available[line["sku"]] = self.available.get(line["sku"], Decimal(0)) - Decimal(
                line["qty_reserved"]
            )
        answer = {
            "reference_type": body["reference_type"],
            "reference": reference,
            "status": "short" if short else "reserved",
            "lines": lines,
        }
        self.reservations[reference] = answer
        return httpx.Response(200, json=answer)

    def reservation_calls(self) -> list[Any]:
        return [body for method, _, body in self.calls if method == "POST"]


class Floor(ServiceApi):
    def __init__(self, runtime: ServiceRuntime, inventory: FakeInventory) -> None:
        super().__init__(runtime, SECRET)
        self.inventory = inventory


_template: Path | None = None


async def _prepare(runtime: ServiceRuntime) -> None:
    """Migrate and seed the database, teach it the items, release the BOMs."""
    runtime.migrate()
    runtime.seed()
    with runtime.uow() as uow:
        for sequence, item in enumerate(ITEMS, start=1):
            remember_item(uow, item, sequence)
        uow.commit()
    async with Floor(runtime, FakeInventory({})).client("supervisor", user="bom-admin") as api:
        for sku, lines in BOMS.items():
            created = await api.post("/api/v1/boms", json={"sku": sku, "lines": lines})
            assert created.status_code == 201, created.text
            version = created.json()["version"]
            released = await api.post(f"/api/v1/boms/{sku}/versions/{version}/release")
            assert released.status_code == 200, released.text


async def _template_database() -> Path:
    """A prepared SQLite database, built once per test process and copied for each floor (a
    migration per test is slow)."""
    global _template
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="production-floor-"))
        runtime = _runtime(folder)
        await _prepare(runtime)
        runtime.db.engine.dispose()
        _template = folder
    return _template


def _runtime(folder: Path, db_url: str | None = None) -> ServiceRuntime:
    return ServiceRuntime(
        registry.definition("production"),
        Settings(var_dir=folder),
        InProcessBus(),
        db_url=db_url,
        token_secret=SECRET,
    )


@asynccontextmanager
async def production_floor(
    tmp_path: Path, available: dict[str, Decimal] | None = None, *, db_url: str | None = None
) -> AsyncIterator[Floor]:
    """Production with the items and BOMs above, and a fake inventory holding `available`
    (by default plenty of PLA and boxes); on SQLite under `tmp_path`, or on `db_url` (an
    empty PostgreSQL database)."""
    if db_url is None:
        template = await _template_database()
        for path in template.glob("production.db*"):
            shutil.copy(path, tmp_path / path.name)
        runtime = _runtime(tmp_path)
    else:
        runtime = _runtime(tmp_path, db_url)
        await _prepare(runtime)
    inventory = FakeInventory(
        available if available is not None else {PLA: Decimal(100), BOX: Decimal(1000)}
    )
    runtime.app.state.upstreams = {
        "inventory": httpx.AsyncClient(
            transport=httpx.MockTransport(inventory.handle), base_url="http://inventory"
        )
    }
    try:
        yield Floor(runtime, inventory)
    finally:
        await runtime.app.state.upstreams["inventory"].aclose()
        runtime.db.engine.dispose()
