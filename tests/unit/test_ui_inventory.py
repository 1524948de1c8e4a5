"""The inventory pages as a browser meets them: items, an item, the stock ledger, the forms.

The embedded portal runs in this process; users sign in through the sign-in form and post the
forms with the page's CSRF token (tests/support/ui.py).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from sqlalchemy import func, select

from services.embedded import EmbeddedPortal
from services.inventory import service as inventory_service
from services.inventory.models import Item
from services.inventory.schemas import ItemCreate, ItemOut
from shared.events.catalogue import ItemUpserted, MaterialReceived
from tests.support.ui import add_user, signed_in, ui_portal

ITEMS = (
    ItemCreate(sku="A-100", name="Bolt", uom="ea", item_type="raw", reorder_point=Decimal(5)),
    ItemCreate(sku="B-200", name="Nut", uom="ea", item_type="component"),
    ItemCreate(sku="C-300", name="Box", uom="ea", item_type="packaging", reorder_point=9),
    ItemCreate(sku="D-400", name="Widget", uom="ea", item_type="finished", make_or_buy="make"),
)
ROW_SKU = re.compile(r'<td class="col-text"><a href="/items/([^"]+)">')
FIELD_ERROR = re.compile(r'<p class="field-error" id="e-([a-z_.-]+)">([^<]*)</p>')


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[EmbeddedPortal]:
    async with ui_portal(tmp_path) as running:
        with running.runtimes["inventory"].uow() as uow:
            for item in ITEMS:
                inventory_service.create_item(uow, item)
            uow.commit()
        add_user(running, "paula", ["planner"])
        add_user(running, "pablo", ["planner"], language="es")
        add_user(running, "vera", ["viewer"])
        yield running


def receive(
    portal: EmbeddedPortal,
    sku: str,
    qty: str,
    cost: str,
    *,
    lot: str | None = None,
    pending_qc: bool = False,
    line_no: int = 1,
) -> None:
    """Stock arrives as purchasing's MaterialReceived would bring it."""
    receipt = MaterialReceived(
        po_number="PO-1",
        line_no=line_no,
        receipt_id=f"R-{line_no}",
        sku=sku,
        qty=Decimal(qty),
        unit_cost=Decimal(cost),
        value=Decimal(qty) * Decimal(cost),
        lot=lot,
        to_status="pending_qc" if pending_qc else "approved",
        vendor_code="ACME",
        received_at=datetime.now(UTC),
    )
    with portal.runtimes["inventory"].uow() as uow:
        inventory_service.receive_material(uow, receipt, f"event-{line_no}")
        uow.commit()


def skus(page: httpx.Response) -> list[str]:
    return ROW_SKU.findall(page.text)


def item_count(portal: EmbeddedPortal) -> int:
    with portal.runtimes["inventory"].uow() as uow:
        return int(uow.session.scalar(select(func.count(Item.id))) or 0)


def item_row(portal: EmbeddedPortal, sku: str) -> ItemOut:
    with portal.runtimes["inventory"].uow() as uow:
        return ItemOut.model_validate(uow.session.scalar(select(Item).where(Item.sku == sku)))


def outbox_payloads(portal: EmbeddedPortal, event_type: str, key: str) -> list[dict[str, Any]]:
    """The payloads inventory published (or will) of `event_type` under `key`, oldest first."""
    with portal.runtimes["inventory"].uow() as uow:
        outbox = uow.tables.outbox
        envelopes = uow.session.scalars(
            select(outbox.c.envelope)
            .where(outbox.c.event_type == event_type, outbox.c.key == key)
            .order_by(outbox.c.id)
        ).all()
    return [json.loads(envelope)["payload"] for envelope in envelopes]


def xlsx_rows(answer: httpx.Response) -> list[tuple[Any, ...]]:
    assert answer.status_code == 200, answer.text
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def data_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows after the header row (whatever title rows the writer puts above it)."""
    header = next(i for i, row in enumerate(rows) if "SKU" in row or "Reference" in row)
    return rows[header + 1 :]


async def test_item_list_sorts_filters_pages_and_exports_the_same_rows(
    portal: EmbeddedPortal,
) -> None:
    async with signed_in(portal, "paula") as browser:
        listed = await browser.get("/items")
        by_name_desc = await browser.get("/items?sort=-name")
        by_cost = await browser.get("/items?sort=reorder_point")
        components = await browser.get("/items?item_type=component")
        searched = await browser.get("/items?q=bo&sort=-sku")
        first_two = await browser.get("/items?limit=2")
        next_two = await browser.get("/items?limit=2&offset=2")
        partial = await browser.get(
            "/items?q=bo", headers={"HX-Request": "true", "HX-Target": "table-items"}
        )
        exported = xlsx_rows(await browser.get("/items.xlsx?q=bo&sort=-sku"))

    assert listed.status_code == 200
    assert skus(listed) == ["A-100", "B-200", "C-300", "D-400"]
    assert 'href="/items"' in listed.text and 'href="/stock"' in listed.text  # navigation
    assert 'href="/items/new"' in listed.text  # a planner may create items
    assert 'hx-trigger="sse:items, sse:stock"' in listed.text
    assert skus(by_name_desc) == ["D-400", "B-200", "C-300", "A-100"]
    assert skus(by_cost)[-2:] == ["A-100", "C-300"]
    assert skus(components) == ["B-200"]
    assert skus(searched) == ["C-300", "A-100"]
    assert skus(first_two) == ["A-100", "B-200"] and "offset=2" in first_two.text
    assert skus(next_two) == ["C-300", "D-400"]
    assert partial.text.lstrip().startswith('<section id="table-items"')
    assert "<html" not in partial.text
    assert skus(partial) == ["A-100", "C-300"]
    rows = data_rows(exported)
    assert [row[0] for row in rows] == skus(searched)
    assert rows[0][1:4] == ("Box", "Packaging", "ea")
    assert rows[1][4:7] == ("Buy", None, 5)  # no family; the reorder point as a number


async def test_an_unknown_sort_or_filter_value_keeps_the_page_working(
    portal: EmbeddedPortal,
) -> None:
    async with signed_in(portal, "paula") as browser:
        odd_sort = await browser.get("/items?sort=password")
        api = await browser.client.get("/api/inventory/v1/items?sort=password")

    assert odd_sort.status_code == 200  # the page falls back to its default order
    assert skus(odd_sort) == ["A-100", "B-200", "C-300", "D-400"]
    assert api.status_code == 422
    assert api.json()["field"] == "query.sort"


async def test_the_ledger_filters_by_sku_location_and_day_and_exports_them(
    portal: EmbeddedPortal,
) -> None:
    receive(portal, "A-100", "10", "2.50", line_no=1)
    receive(portal, "A-100", "4", "3.00", lot="L7", pending_qc=True, line_no=2)
    receive(portal, "C-300", "100", "0.40", line_no=3)
    today = datetime.now(UTC).date()
    async with signed_in(portal, "vera") as browser:
        ledger = await browser.get("/stock")
        of_a = await browser.get("/stock?sku=A-100&sort=qty")
        in_qc = await browser.get("/stock?location=QC")
        yesterday = await browser.get(f"/stock?date_to={today - timedelta(days=1)}")
        since_today = await browser.get(f"/stock?date_from={today}&date_to={today}")
        exported = xlsx_rows(await browser.get("/stock.xlsx?sku=A-100&sort=qty"))
        item = await browser.get("/items/A-100")

    assert ledger.status_code == 200
    assert skus(ledger) == ["C-300", "A-100", "A-100"]  # newest first
    assert skus(of_a) == ["A-100", "A-100"]
    assert of_a.text.index(">4<") < of_a.text.index(">10<")
    assert skus(in_qc) == ["A-100"] and "L7" in in_qc.text
    assert skus(yesterday) == []
    assert len(skus(since_today)) == 3
    rows = data_rows(exported)
    assert [(row[2], row[3], row[6]) for row in rows] == [("A-100", "QC", 4), ("A-100", "RAW", 10)]
    # The item's page: its facts, its stock by location/lot/status, its latest transactions.
    assert item.status_code == 200
    assert 'id="item-name">Bolt<' in item.text
    assert 'id="stock-on-hand">14 ea<' in item.text
    balances = item.text.split('id="balances"')[1].split("</table>")[0]
    assert "RAW" in balances and "QC" in balances and "L7" in balances
    assert "Pending QC" in balances
    recent = item.text.split('id="recent-transactions"')[1].split("</table>")[0]
    assert recent.count("<tr>") == 3  # the header and two receipts
    assert 'hx-trigger="sse:stock"' in item.text
    assert 'href="/items/A-100/edit"' not in item.text  # a viewer does not edit


async def test_bad_input_shows_each_message_beside_its_field_in_spanish_and_saves_nothing(
    portal: EmbeddedPortal,
) -> None:
    before = item_count(portal)
    async with signed_in(portal, "pablo") as browser:
        form = await browser.get("/items/new")
        key = re.search(r'name="idempotency_key" value="([^"]+)"', form.text)
        assert key is not None
        refused = await browser.post_form(
            "/items/new",
            {
                "idempotency_key": key.group(1),
                "sku": "BAD SKU",
                "name": "",
                "uom": "ea",
                "item_type": "raw",
                "make_or_buy": "buy",
                "reorder_point": "mucho",
                "reorder_qty": "0",
            },
        )
        duplicate = await browser.post_form(
            "/items/new",
            {"sku": "A-100", "name": "Otro", "item_type": "raw", "make_or_buy": "buy"},
        )

    assert form.status_code == 200 and "Nuevo artículo" in form.text
    assert refused.status_code == 422
    messages = dict(FIELD_ERROR.findall(refused.text))
    assert messages == {
        "sku": "No tiene el formato esperado.",
        "name": "Este campo es obligatorio.",
        "reorder_point": "Escriba un número.",
    }
    assert 'value="BAD SKU"' in refused.text  # what was typed is kept
    assert "No se guardó nada." in refused.text
    assert duplicate.status_code == 409
    assert set(dict(FIELD_ERROR.findall(duplicate.text))) == {"sku"}
    assert item_count(portal) == before


async def test_a_double_submitted_create_form_creates_one_item(portal: EmbeddedPortal) -> None:
    before = item_count(portal)
    async with signed_in(portal, "paula") as browser:
        form = await browser.get("/items/new")
        key = re.search(r'name="idempotency_key" value="([^"]+)"', form.text)
        assert key is not None
        fields = {
            "idempotency_key": key.group(1),
            "sku": "E-500",
            "name": "Washer",
            "uom": "ea",
            "item_type": "component",
            "make_or_buy": "buy",
            "reorder_point": "25",
            "reorder_qty": "100",
            "customer_supplied": "on",
        }
        first = await browser.post_form("/items/new", fields)
        second = await browser.post_form("/items/new", fields)
        shown = await browser.get(first.headers["location"])

    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == "/items/E-500?saved=created"
    assert second.headers["location"] == first.headers["location"]
    assert item_count(portal) == before + 1
    assert "Item created." in shown.text and 'id="item-name">Washer<' in shown.text
    created = item_row(portal, "E-500")
    assert (created.reorder_point, created.customer_supplied) == (Decimal(25), True)


async def test_a_viewer_sees_no_create_or_edit_and_is_refused_by_the_routes(
    portal: EmbeddedPortal,
) -> None:
    before = item_count(portal)
    async with signed_in(portal, "vera") as browser:
        listed = await browser.get("/items")
        item = await browser.get("/items/A-100")
        form = await browser.get("/items/new")
        created = await browser.post_form(
            "/items/new", {"sku": "V-1", "name": "Sneaky", "item_type": "raw"}
        )
        edit_form = await browser.get("/items/A-100/edit")
        edited = await browser.post_form("/items/A-100/edit", {"name": "Renamed"})

    assert listed.status_code == 200 and skus(listed)
    assert 'href="/items/new"' not in listed.text
    assert 'href="/items/A-100/edit"' not in item.text
    assert form.status_code == created.status_code == 403
    assert edit_form.status_code == edited.status_code == 403
    assert item_count(portal) == before
    assert item_row(portal, "A-100").name == "Bolt"


async def test_editing_an_item_changes_it_and_records_before_and_after(
    portal: EmbeddedPortal,
) -> None:
    async with signed_in(portal, "paula") as browser:
        before = await browser.get("/items/A-100")
        form = await browser.get("/items/A-100/edit")
        key = re.search(r'name="idempotency_key" value="([^"]+)"', form.text)
        assert key is not None
        changed = await browser.post_form(
            "/items/A-100/edit",
            {
                "idempotency_key": key.group(1),
                "name": "Hex bolt",
                "uom": "ea",
                "item_type": "component",
                "make_or_buy": "buy",
                "reorder_point": "12",
                "reorder_qty": "50",
                "active": "on",
            },
        )
        after = await browser.get(changed.headers["location"])
        emptied = await browser.post_form(
            "/items/A-100/edit",
            {
                "name": " ",
                "uom": "ea",
                "item_type": "raw",
                "make_or_buy": "buy",
                "reorder_point": "",
                "reorder_qty": "0",
                "active": "on",
            },
        )
        receive(portal, "A-100", "1", "1.00")
        new_unit = await browser.post_form(
            "/items/A-100/edit",
            {
                "name": "Hex bolt",
                "uom": "kg",
                "item_type": "component",
                "make_or_buy": "buy",
                "reorder_point": "12",
                "reorder_qty": "50",
                "active": "on",
            },
        )

    assert 'id="item-name">Bolt<' in before.text and 'id="item-reorder-point">5<' in before.text
    assert 'value="Bolt"' in form.text and 'value="raw" selected' in form.text
    assert changed.status_code == 303
    assert changed.headers["location"] == "/items/A-100?saved=updated"
    assert "Changes saved." in after.text
    assert 'id="item-name">Hex bolt<' in after.text and 'id="item-reorder-point">12<' in after.text
    assert 'id="item-type">Component<' in after.text
    assert emptied.status_code == 422
    assert set(dict(FIELD_ERROR.findall(emptied.text))) == {"name", "reorder_point"}
    assert new_unit.status_code == 409
    assert "stock transactions in ea" in dict(FIELD_ERROR.findall(new_unit.text))["uom"]
    row = item_row(portal, "A-100")
    assert (row.name, row.uom, row.reorder_point) == ("Hex bolt", "ea", Decimal(12))
    # The change went out as ItemUpserted, and its audit record holds before and after.
    upserted = outbox_payloads(portal, "ItemUpserted", "A-100")
    assert [p["name"] for p in upserted] == ["Bolt", "Hex bolt"]  # created, then changed once
    (audit,) = outbox_payloads(portal, "AuditRecorded", "audit:item:A-100")
    assert audit["action"] == "inventory.items.update" and audit["actor"] == "paula"
    assert (audit["before"]["name"], audit["after"]["name"]) == ("Bolt", "Hex bolt")
    assert (audit["before"]["item_type"], audit["after"]["item_type"]) == ("raw", "component")


async def test_an_unknown_item_is_a_page_saying_so(portal: EmbeddedPortal) -> None:
    async with signed_in(portal, "pablo") as browser:
        missing = await browser.get("/items/NOPE-1")

    assert missing.status_code == 404
    assert "No existe el artículo NOPE-1." in missing.text


async def test_an_items_product_family_is_kept_filtered_and_published_with_it(
    portal: EmbeddedPortal,
) -> None:
    """The family a line's capacity can be given for: trimmed, one filter away, on ItemUpserted;
    an empty string or null takes it away, and a family too long is refused naming it."""
    api = "/api/inventory/v1/items"
    async with signed_in(portal, "paula") as browser:
        http = browser.client
        bracket = await http.post(
            api, json={"sku": "F-600", "name": "Bracket", "family": "  PLA-PARTS "}
        )
        clip = await http.post(api, json={"sku": "G-700", "name": "Clip", "family": "PETG-PARTS"})
        blank = await http.post(api, json={"sku": "H-800", "name": "Hook", "family": "  "})
        too_long = await http.post(api, json={"sku": "J-900", "name": "Jig", "family": "P" * 65})
        of_pla = (await http.get(api, params={"family": "PLA-PARTS"})).json()
        of_petg = (await http.get(api, params={"family": "PETG-PARTS"})).json()
        by_family = (await http.get(api, params={"sort": "-family", "limit": 2})).json()
        moved = await http.patch(f"{api}/F-600", json={"family": "PETG-PARTS"})
        of_petg_after = (await http.get(api, params={"family": "PETG-PARTS"})).json()
        emptied = await http.patch(f"{api}/G-700", json={"family": ""})
        nulled = await http.patch(f"{api}/F-600", json={"family": None})
        refused = await http.patch(f"{api}/H-800", json={"family": "P" * 65, "name": "Big hook"})
        fetched = (await http.get(f"{api}/F-600")).json()

    assert bracket.status_code == clip.status_code == blank.status_code == 201
    assert (bracket.json()["family"], clip.json()["family"]) == ("PLA-PARTS", "PETG-PARTS")
    assert blank.json()["family"] is None
    assert [i["sku"] for i in of_pla["items"]] == ["F-600"] and of_pla["total"] == 1
    assert [i["sku"] for i in of_petg["items"]] == ["G-700"]
    assert [i["sku"] for i in by_family["items"]] == ["F-600", "G-700"]  # PLA > PETG
    assert moved.status_code == 200 and moved.json()["family"] == "PETG-PARTS"
    assert [i["sku"] for i in of_petg_after["items"]] == ["F-600", "G-700"]
    assert emptied.status_code == 200 and emptied.json()["family"] is None
    assert nulled.status_code == 200 and fetched["family"] is None
    for problem in (too_long, refused):
        assert problem.status_code == 422
        assert problem.json()["field"] == "family"
    assert item_count(portal) == len(ITEMS) + 3  # J-900 was not made
    assert item_row(portal, "H-800").name == "Hook"  # the refused change saved nothing
    published = {
        sku: [
            ItemUpserted.model_validate(p).family
            for p in outbox_payloads(portal, "ItemUpserted", sku)
        ]
        for sku in ("F-600", "G-700", "H-800")
    }
    assert published == {
        "F-600": ["PLA-PARTS", "PETG-PARTS", None],
        "G-700": ["PETG-PARTS", None],
        "H-800": [None],
    }


async def test_the_item_form_sets_and_clears_the_family_and_the_list_shows_and_exports_it(
    portal: EmbeddedPortal,
) -> None:
    async with signed_in(portal, "pablo") as browser:
        form = await browser.get("/items/new")
        created = await browser.post_form(
            "/items/new",
            {
                "sku": "K-100",
                "name": "Knob",
                "uom": "ea",
                "item_type": "finished",
                "make_or_buy": "make",
                "family": " PLA-PARTS ",
                "reorder_point": "0",
                "reorder_qty": "0",
            },
        )
        shown = await browser.get("/items/K-100")
        edit_form = await browser.get("/items/K-100/edit")
        listed = await browser.get("/items?family=PLA-PARTS")
        exported = xlsx_rows(await browser.get("/items.xlsx?family=PLA-PARTS"))
        too_long = await browser.post_form(
            "/items/K-100/edit",
            {
                "name": "Knob",
                "uom": "ea",
                "item_type": "finished",
                "make_or_buy": "make",
                "family": "P" * 65,
                "reorder_point": "0",
                "reorder_qty": "0",
                "active": "on",
            },
        )
        cleared = await browser.post_form(
            "/items/K-100/edit",
            {
                "name": "Knob",
                "uom": "ea",
                "item_type": "finished",
                "make_or_buy": "make",
                "family": "",
                "reorder_point": "0",
                "reorder_qty": "0",
                "active": "on",
            },
        )
        after = await browser.get("/items/K-100")

    assert "Familia de producto" in form.text and 'name="family"' in form.text
    assert created.status_code == 303
    assert 'id="item-family">PLA-PARTS<' in shown.text
    assert 'name="family" type="text" value="PLA-PARTS"' in edit_form.text
    assert skus(listed) == ["K-100"] and ">Familia de producto<" in listed.text
    header = next(row for row in exported if "SKU" in row)
    assert header[5] == "Familia de producto"
    assert [(row[0], row[5]) for row in data_rows(exported)] == [("K-100", "PLA-PARTS")]
    assert too_long.status_code == 422
    assert set(dict(FIELD_ERROR.findall(too_long.text))) == {"family"}
    assert cleared.status_code == 303
    assert 'id="item-family">—<' in after.text
    assert item_row(portal, "K-100").family is None
