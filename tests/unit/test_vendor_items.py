"""Vendor items through purchasing's API: what each vendor sells of an item, at what price,
minimum, multiple and lead time, and which vendor is an item's preferred one (at most one per
SKU: marking one preferred un-marks the other in the same transaction, both audited). Bad input
is a 4xx naming the field, and saves nothing.

The service runs alone on SQLite, with the items it learned from inventory written into its
read model; nothing is relayed, so the outbox keeps every event it published. The vendor page
of the gateway is tested at the end, in the embedded portal.
"""

from __future__ import annotations

import io
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from services import registry
from services.embedded import EmbeddedPortal
from services.purchasing.models import KnownItem, Vendor
from shared.auth.tokens import issue_service_token
from shared.bus.inprocess import InProcessBus
from shared.events.envelope import utc_now
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.support.service_api import ServiceApi
from tests.support.ui import Browser, add_user, signed_in, ui_portal

SECRET = "purchasing-vendor-items-test-secret-" + "x" * 30
# sku -> (name, uom, active): the items purchasing knows from inventory's ItemUpserted.
ITEMS = {
    "RESIN": ("Resin, grey", "kg", True),
    "PLA-BLK": ("PLA filament, black", "kg", True),
    "BOX-S": ("Shipping box, small", "ea", True),
    "OLD-GLUE": ("Glue (discontinued)", "ea", False),
}
# code -> (name, active)
VENDORS = {"ACME": ("Acme Polymers", True), "BETA": ("Beta Supply", True)}


class PurchasingApi(ServiceApi):
    """The purchasing service on SQLite, called as any role; its outbox and tables readable."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        super().__init__(runtime, SECRET)

    def audit(self, action: str | None = None) -> list[dict[str, Any]]:
        entries = [e.payload for e in self.events("AuditRecorded")]
        return [e for e in entries if action is None or e["action"] == action]


_template: Path | None = None


def _runtime(folder: Path) -> ServiceRuntime:
    return ServiceRuntime(
        registry.definition("purchasing"),
        Settings(var_dir=folder),
        InProcessBus(),
        token_secret=SECRET,
    )


def _template_database() -> Path:
    """A migrated database with the known items and vendors, built once per test process."""
    global _template
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="purchasing-vendor-items-"))
        runtime = _runtime(folder)
        runtime.migrate()
        with runtime.uow() as uow:
            for sequence, (sku, (name, uom, active)) in enumerate(ITEMS.items(), start=1):
                uow.session.add(
                    KnownItem(sku=sku, name=name, uom=uom, active=active, sequence=sequence)
                )
            for code, (name, active) in VENDORS.items():
                uow.session.add(Vendor(code=code, name=name, active=active, created_at=utc_now()))
            uow.commit()
        runtime.db.engine.dispose()
        _template = folder
    return _template


@asynccontextmanager
async def purchasing_api(tmp_path: Path) -> AsyncIterator[PurchasingApi]:
    """The purchasing service, migrated, with ITEMS and VENDORS, on a SQLite file."""
    for path in _template_database().glob("purchasing.db*"):
        shutil.copy(path, tmp_path / path.name)
    runtime = _runtime(tmp_path)
    try:
        yield PurchasingApi(runtime)
    finally:
        runtime.db.engine.dispose()


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[PurchasingApi]:
    async with purchasing_api(tmp_path) as running:
        yield running


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: httpx.Response, status: int, field: str, code: str | None = None) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["field"] == field, body
    if code is not None:
        assert body["code"] == code, body
    return body


def items_of(vendor: str) -> str:
    return f"/api/v1/vendors/{vendor}/items"


async def add_item(client: Any, vendor: str, sku: str, **terms: Any) -> Any:
    body = {"sku": sku, "unit_cost": "1", **terms}
    return ok(await client.post(items_of(vendor), json=body), 201)


async def preferred_vendors(client: Any, sku: str) -> list[str]:
    page = ok(await client.get("/api/v1/vendor-items", params={"sku": sku, "preferred": "true"}))
    return [row["vendor_code"] for row in page["items"]]


# --- adding and listing ----------------------------------------------------------------------


async def test_a_buyer_adds_a_vendors_terms_for_an_item_and_it_is_audited(
    api: PurchasingApi,
) -> None:
    async with api.client("buyer", user="bea") as buyer:
        added = await add_item(
            buyer,
            "ACME",
            "RESIN",
            vendor_part_number="AC-R-100",
            unit_cost="12.5",
            moq="25",
            order_multiple="5",
            lead_time_days=14,
        )
        assert added == {
            "vendor_code": "ACME",
            "vendor_name": "Acme Polymers",
            "sku": "RESIN",
            "item_name": "Resin, grey",
            "uom": "kg",
            "vendor_part_number": "AC-R-100",
            "unit_cost": "12.5000",
            "moq": "25.0000",
            "order_multiple": "5.0000",
            "lead_time_days": 14,
            "preferred": False,
            "active": True,
            "updated_at": added["updated_at"],
        }
        # The fewest terms: MOQ 1, no multiple, no lead time, not preferred.
        box = await add_item(buyer, "ACME", "BOX-S", unit_cost="0.4")
        assert (box["moq"], box["order_multiple"], box["lead_time_days"]) == ("1.0000", None, 0)

        listed = ok(await buyer.get(items_of("ACME")))
        assert [row["sku"] for row in listed["items"]] == ["BOX-S", "RESIN"]
        assert listed["total"] == 2
        by_cost = ok(await buyer.get(items_of("ACME"), params={"sort": "-unit_cost"}))
        assert [row["sku"] for row in by_cost["items"]] == ["RESIN", "BOX-S"]
        found = ok(await buyer.get(items_of("ACME"), params={"q": "AC-R"}))
        assert [row["sku"] for row in found["items"]] == ["RESIN"]
        assert ok(await buyer.get(f"{items_of('ACME')}/RESIN")) == added

    [created, _box] = api.audit("purchasing.vendor_items.create")
    assert created["actor"] == "bea"
    assert created["entity_type"] == "vendor_item"
    assert created["entity_id"] == "ACME/RESIN"
    assert created["before"] is None
    assert created["after"]["moq"] == "25.0000"


async def test_an_item_is_listed_with_every_vendor_that_sells_it(api: PurchasingApi) -> None:
    async with api.client("buyer") as buyer:
        await add_item(buyer, "ACME", "RESIN", unit_cost="12.5", preferred=True)
        await add_item(buyer, "BETA", "RESIN", unit_cost="11.9", lead_time_days=30)
        await add_item(buyer, "BETA", "PLA-BLK", unit_cost="20")
    async with api.client("viewer") as viewer:
        resin = ok(await viewer.get("/api/v1/vendor-items", params={"sku": "RESIN"}))
        assert [(r["vendor_code"], r["unit_cost"], r["preferred"]) for r in resin["items"]] == [
            ("ACME", "12.5000", True),
            ("BETA", "11.9000", False),
        ]
        beta = ok(await viewer.get("/api/v1/vendor-items", params={"vendor_code": "BETA"}))
        assert [row["sku"] for row in beta["items"]] == ["PLA-BLK", "RESIN"]
        assert await preferred_vendors(viewer, "RESIN") == ["ACME"]
        nowhere = ok(await viewer.get("/api/v1/vendor-items", params={"sku": "BOX-S"}))
        assert nowhere["items"] == []


async def test_a_vendor_item_needs_a_known_active_item_and_one_row_per_vendor_and_sku(
    api: PurchasingApi,
) -> None:
    async with api.client("buyer") as buyer:
        await add_item(buyer, "ACME", "RESIN")
        counts = api.row_counts()
        refused(
            await buyer.post(items_of("ACME"), json={"sku": "NOPE", "unit_cost": "1"}), 422, "sku"
        )
        refused(
            await buyer.post(items_of("ACME"), json={"sku": "OLD-GLUE", "unit_cost": "1"}),
            422,
            "sku",
            "unknown_item",
        )
        refused(
            await buyer.post(items_of("ACME"), json={"sku": "RESIN", "unit_cost": "2"}),
            409,
            "sku",
            "duplicate",
        )
        refused(
            await buyer.post(items_of("NOBODY"), json={"sku": "RESIN", "unit_cost": "1"}),
            404,
            "code",
        )
        refused(await buyer.get(items_of("NOBODY")), 404, "code")
        refused(await buyer.get(f"{items_of('ACME')}/BOX-S"), 404, "sku", "unknown_vendor_item")
        refused(
            await buyer.patch(f"{items_of('BETA')}/RESIN", json={"unit_cost": "1"}),
            404,
            "sku",
            "unknown_vendor_item",
        )
        assert api.row_counts() == counts


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"unit_cost": "-0.01"}, "unit_cost"),
        ({"unit_cost": "abc"}, "unit_cost"),
        ({"unit_cost": "1.00001"}, "unit_cost"),
        ({"moq": "0"}, "moq"),
        ({"moq": "-5"}, "moq"),
        ({"order_multiple": "0"}, "order_multiple"),
        ({"lead_time_days": -1}, "lead_time_days"),
        ({"lead_time_days": 3651}, "lead_time_days"),
        ({"lead_time_days": 1.5}, "lead_time_days"),
        ({"vendor_part_number": "x" * 65}, "vendor_part_number"),
        ({"vendor_part_number": "  "}, "vendor_part_number"),
        ({"preferred": "perhaps"}, "preferred"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_terms_are_refused_naming_the_field_and_nothing_is_saved(
    api: PurchasingApi, body: dict[str, Any], field: str
) -> None:
    async with api.client("buyer") as buyer:
        await add_item(buyer, "ACME", "RESIN")
        counts = api.row_counts()
        refused(
            await buyer.post(items_of("ACME"), json={"sku": "BOX-S", "unit_cost": "1", **body}),
            422,
            field,
        )
        refused(await buyer.patch(f"{items_of('ACME')}/RESIN", json=body), 422, field)
        assert api.row_counts() == counts


async def test_a_change_keeps_what_it_does_not_name_and_clears_the_optional_terms(
    api: PurchasingApi,
) -> None:
    async with api.client("buyer") as buyer:
        await add_item(
            buyer, "ACME", "RESIN", vendor_part_number="AC-R", moq="25", order_multiple="5"
        )
        url = f"{items_of('ACME')}/RESIN"
        changed = ok(await buyer.patch(url, json={"unit_cost": "13.1", "lead_time_days": 10}))
        assert (changed["unit_cost"], changed["lead_time_days"], changed["moq"]) == (
            "13.1000",
            10,
            "25.0000",
        )
        cleared = ok(
            await buyer.patch(url, json={"vendor_part_number": None, "order_multiple": None})
        )
        assert (cleared["vendor_part_number"], cleared["order_multiple"]) == (None, None)
        # null for a term every vendor item has is refused: leave it out to keep it
        counts = api.row_counts()
        refused(await buyer.patch(url, json={"moq": None}), 422, "moq")
        refused(await buyer.patch(url, json={"unit_cost": None}), 422, "unit_cost")
        # the same values again change nothing and record nothing
        ok(await buyer.patch(url, json={"unit_cost": "13.10", "lead_time_days": 10}))
        assert api.row_counts() == counts
    [first, second] = api.audit("purchasing.vendor_items.update")
    assert (first["before"]["unit_cost"], first["after"]["unit_cost"]) == ("1.0000", "13.1000")
    assert second["before"]["order_multiple"] == "5.0000"
    assert second["after"]["order_multiple"] is None


# --- the preferred vendor --------------------------------------------------------------------


async def test_making_a_vendor_preferred_unmarks_the_other_in_the_same_change_both_audited(
    api: PurchasingApi,
) -> None:
    async with api.client("buyer", user="bea") as buyer:
        await add_item(buyer, "ACME", "RESIN", preferred=True)
        await add_item(buyer, "BETA", "RESIN")
        await add_item(buyer, "BETA", "PLA-BLK", preferred=True)
        assert await preferred_vendors(buyer, "RESIN") == ["ACME"]

        made = ok(await buyer.patch(f"{items_of('BETA')}/RESIN", json={"preferred": True}))
        assert made["preferred"] is True
        assert await preferred_vendors(buyer, "RESIN") == ["BETA"]
        acme = ok(await buyer.get(f"{items_of('ACME')}/RESIN"))
        assert acme["preferred"] is False
        # another SKU's preferred vendor is untouched
        assert await preferred_vendors(buyer, "PLA-BLK") == ["BETA"]

        # making the preferred one preferred again changes nothing
        counts = api.row_counts()
        ok(await buyer.patch(f"{items_of('BETA')}/RESIN", json={"preferred": True}))
        assert api.row_counts() == counts

    [unmarked] = api.audit("purchasing.vendor_items.unmark_preferred")
    assert unmarked["entity_id"] == "ACME/RESIN"
    assert (unmarked["before"]["preferred"], unmarked["after"]["preferred"]) == (True, False)
    [marked] = api.audit("purchasing.vendor_items.update")
    assert marked["entity_id"] == "BETA/RESIN"
    assert (marked["before"]["preferred"], marked["after"]["preferred"]) == (False, True)
    # one transaction: both entries carry the same request
    assert unmarked["request_id"] == marked["request_id"]


async def test_a_new_vendor_item_added_as_preferred_takes_over_from_the_old_one(
    api: PurchasingApi,
) -> None:
    async with api.client("buyer") as buyer:
        await add_item(buyer, "ACME", "RESIN", preferred=True)
        await add_item(buyer, "BETA", "RESIN", preferred=True)
        assert await preferred_vendors(buyer, "RESIN") == ["BETA"]
    [unmarked] = api.audit("purchasing.vendor_items.unmark_preferred")
    assert unmarked["entity_id"] == "ACME/RESIN"


async def test_a_buyer_can_leave_an_item_without_a_preferred_vendor(api: PurchasingApi) -> None:
    async with api.client("buyer") as buyer:
        await add_item(buyer, "ACME", "RESIN", preferred=True)
        ok(await buyer.patch(f"{items_of('ACME')}/RESIN", json={"preferred": False}))
        assert await preferred_vendors(buyer, "RESIN") == []


async def test_a_deactivated_vendor_item_stops_being_preferred_and_must_be_reactivated_first(
    api: PurchasingApi,
) -> None:
    async with api.client("buyer") as buyer:
        await add_item(buyer, "ACME", "RESIN", preferred=True)
        url = f"{items_of('ACME')}/RESIN"
        gone = ok(await buyer.post(f"{url}/deactivate"))
        assert (gone["active"], gone["preferred"]) == (False, False)
        assert await preferred_vendors(buyer, "RESIN") == []
        active_only = ok(await buyer.get(items_of("ACME"), params={"active": "true"}))
        assert active_only["items"] == []

        counts = api.row_counts()
        refused(
            await buyer.patch(url, json={"preferred": True}),
            409,
            "preferred",
            "inactive_vendor_item",
        )
        ok(await buyer.post(f"{url}/deactivate"))  # again: nothing more happens
        assert api.row_counts() == counts

        back = ok(await buyer.post(f"{url}/reactivate"))
        assert (back["active"], back["preferred"]) == (True, False)
        ok(await buyer.patch(url, json={"preferred": True}))
        assert await preferred_vendors(buyer, "RESIN") == ["ACME"]
    actions = [entry["action"] for entry in api.audit()]
    assert actions.count("purchasing.vendor_items.deactivate") == 1
    assert actions.count("purchasing.vendor_items.reactivate") == 1


async def test_the_database_itself_refuses_two_preferred_rows_for_one_sku(
    api: PurchasingApi,
) -> None:
    """The partial unique index, under the service's lock: a write that skips the service
    (a script, a bug) still cannot leave two preferred vendors."""
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError

    from services.purchasing.vendor_items.models import VendorItem

    async with api.client("buyer") as buyer:
        await add_item(buyer, "ACME", "RESIN", preferred=True)
        await add_item(buyer, "BETA", "RESIN")
    with pytest.raises(IntegrityError), api.runtime.uow() as uow:
        uow.session.execute(update(VendorItem).values(preferred=True))
        uow.commit()


# --- who may do what -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "planner", "store", "operator", "accountant"])
async def test_only_buyers_change_vendor_items_and_everyone_reads_them(
    api: PurchasingApi, role: str
) -> None:
    async with api.client("buyer") as buyer:
        await add_item(buyer, "ACME", "RESIN")
    counts = api.row_counts()
    url = f"{items_of('ACME')}/RESIN"
    async with api.client(role) as someone:
        assert (
            await someone.post(items_of("ACME"), json={"sku": "BOX-S", "unit_cost": "1"})
        ).status_code == 403
        assert (await someone.patch(url, json={"preferred": True})).status_code == 403
        assert (await someone.post(f"{url}/deactivate")).status_code == 403
        assert ok(await someone.get(items_of("ACME")))["total"] == 1
        assert ok(await someone.get("/api/v1/vendor-items", params={"sku": "RESIN"}))["total"] == 1
    assert api.row_counts() == counts


# --- the vendor page -------------------------------------------------------------------------


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[EmbeddedPortal]:
    async with ui_portal(tmp_path) as running:
        add_user(running, "vi-buyer", ["buyer"])
        add_user(running, "vi-compras", ["buyer"], language="es")
        add_user(running, "vi-viewer", ["viewer"])
        async with signed_in(running, "vi-buyer") as buyer:
            await set_up_shop(running, buyer)
        yield running


async def set_up_shop(portal: EmbeddedPortal, buyer: Browser) -> None:
    """Items VI-RESIN and VI-BOX in inventory (purchasing learns them from its events), and
    vendors VI-ACME and VI-BETA added on the vendor form."""
    token = issue_service_token(portal.secret, user="vi-admin", roles=["admin"], ttl_seconds=600)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=portal.runtimes["inventory"].app),
        base_url="http://inventory",
        headers={"Authorization": f"Bearer {token}"},
    ) as inventory:
        for sku, name in (("VI-RESIN", "Resin"), ("VI-BOX", "Box")):
            ok(await inventory.post("/api/v1/items", json={"sku": sku, "name": name}), 201)
    for code, name in (("VI-ACME", "Acme"), ("VI-BETA", "Beta")):
        answer = await buyer.post_form("/vendors/new", {"code": code, "name": name})
        assert answer.status_code == 303, answer.text
    await portal.wait_idle()


def rows_of(html: str) -> dict[str, str]:
    """SKU -> the text of its row in the vendor items table."""
    table = re.search(r'<table id="vendor-items".*?</table>', html, re.S)
    assert table, "no vendor items table on the page"
    rows: dict[str, str] = {}
    for row in re.findall(r"<tr data-sku=\"([^\"]+)\">(.*?)</tr>", table.group(0), re.S):
        rows[row[0]] = " ".join(unescape(re.sub(r"<[^>]+>", " ", row[1])).split())
    return rows


async def test_a_buyer_keeps_a_vendors_items_on_the_vendor_page(portal: EmbeddedPortal) -> None:
    async with signed_in(portal, "vi-buyer") as buyer:
        page = await buyer.get("/vendors")
        assert 'href="/vendors/VI-ACME"' in page.text
        page = await buyer.get("/vendors/VI-ACME")
        assert page.status_code == 200, page.text
        assert rows_of(page.text) == {}

        added = await buyer.post_form(
            "/vendors/VI-ACME/items",
            {
                "sku": "VI-RESIN",
                "vendor_part_number": "AC-1",
                "unit_cost": "12.5",
                "moq": "25",
                "order_multiple": "5",
                "lead_time_days": "14",
                "preferred": "on",
            },
        )
        assert added.status_code == 303, added.text
        refused_form = await buyer.post_form(
            "/vendors/VI-ACME/items", {"sku": "VI-BOX", "unit_cost": "-1", "moq": "1"}
        )
        assert refused_form.status_code == 422
        assert "field-error" in refused_form.text and 'id="e-unit_cost"' in refused_form.text
        assert 'value="VI-BOX"' in refused_form.text  # what was typed is kept

        page = await buyer.get("/vendors/VI-ACME")
        rows = rows_of(page.text)
        assert list(rows) == ["VI-RESIN"]
        assert "AC-1" in rows["VI-RESIN"] and "12.5" in rows["VI-RESIN"]
        assert "Preferred" in rows["VI-RESIN"]

        # BETA sells it too, and becomes the preferred vendor
        await buyer.post_form("/vendors/VI-BETA/items", {"sku": "VI-RESIN", "unit_cost": "11"})
        made = await buyer.post_form("/vendors/VI-BETA/items/VI-RESIN/preferred", {})
        assert made.status_code == 303
        assert "Preferred" in rows_of((await buyer.get("/vendors/VI-BETA")).text)["VI-RESIN"]
        assert "Preferred" not in rows_of((await buyer.get("/vendors/VI-ACME")).text)["VI-RESIN"]

        # a change through the edit form
        form = await buyer.get("/vendors/VI-ACME/items/VI-RESIN/edit")
        assert form.status_code == 200 and 'value="25"' in form.text
        changed = await buyer.post_form(
            "/vendors/VI-ACME/items/VI-RESIN/edit",
            {
                "vendor_part_number": "",
                "unit_cost": "13",
                "moq": "30",
                "order_multiple": "",
                "lead_time_days": "7",
            },
        )
        assert changed.status_code == 303, changed.text
        bad = await buyer.post_form(
            "/vendors/VI-ACME/items/VI-RESIN/edit",
            {"unit_cost": "13", "moq": "0", "order_multiple": "", "lead_time_days": "7"},
        )
        assert bad.status_code == 422 and 'id="e-moq"' in bad.text
        row = rows_of((await buyer.get("/vendors/VI-ACME")).text)["VI-RESIN"]
        assert "13" in row and "30" in row and "AC-1" not in row

        gone = await buyer.post_form("/vendors/VI-ACME/items/VI-RESIN/deactivate", {})
        assert gone.status_code == 303
        assert "Inactive" in rows_of((await buyer.get("/vendors/VI-ACME")).text)["VI-RESIN"]

        # a SKU of '..' would climb to the vendor itself in the service's path: it names nothing
        climbing = await buyer.post_form("/vendors/VI-ACME/items/%2E%2E/edit", {"moq": "1"})
        assert climbing.status_code == 404
        assert (await buyer.get("/vendors/VI-ACME/items/%2E%2E/edit")).status_code == 404

        export = await buyer.get("/vendors/VI-ACME/items.xlsx")
        assert export.status_code == 200
        sheet = load_workbook(io.BytesIO(export.content)).active
        assert sheet is not None
        cells = [[cell.value for cell in row] for row in sheet.iter_rows()]
        assert cells[0][:3] == ["Item SKU", "Item", "Vendor part number"]
        assert cells[1][0] == "VI-RESIN" and Decimal(str(cells[1][3])) == Decimal(13)


async def test_the_buttons_are_shown_to_buyers_only_and_the_page_speaks_spanish(
    portal: EmbeddedPortal,
) -> None:
    async with signed_in(portal, "vi-buyer") as buyer:
        await buyer.post_form("/vendors/VI-ACME/items", {"sku": "VI-RESIN", "unit_cost": "1"})
    async with signed_in(portal, "vi-viewer") as viewer:
        page = await viewer.get("/vendors/VI-ACME")
        assert page.status_code == 200
        assert "VI-RESIN" in rows_of(page.text)
        assert "/items/VI-RESIN/preferred" not in page.text
        assert "/items/VI-RESIN/deactivate" not in page.text
        assert 'action="/vendors/VI-ACME/items"' not in page.text
        forbidden = await viewer.post_form("/vendors/VI-ACME/items/VI-RESIN/deactivate", {})
        assert forbidden.status_code == 403
    async with signed_in(portal, "vi-compras") as compras:
        page = await compras.get("/vendors/VI-ACME")
        assert "Artículos del proveedor" in page.text
        assert "/items/VI-RESIN/preferred" in page.text
        missing = await compras.get("/vendors/NOBODY")
        assert missing.status_code == 404
