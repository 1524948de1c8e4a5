"""The purchasing pages in a running embedded portal: lists, forms, and receiving at the dock.

The portal runs in one process (every service, the in-process bus, SQLite files) with the demo
data; browsers sign in through the sign-in form and send the CSRF token from the page, as a
real browser does, so the frame's checks are the real ones.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import date
from decimal import Decimal
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from services.demo import load_demo_data_once
from services.embedded import EmbeddedPortal
from services.purchasing import service as purchasing_service
from services.purchasing.schemas import PurchaseOrderCreate
from shared.i18n import translate
from tests.support.ui import Browser, add_user, signed_in, ui_portal

# username -> (roles, language)
USERS = {
    "buyer": (["buyer"], "en"),
    "dock": (["store"], "es"),
    "looker": (["viewer"], "en"),
}
Form = Mapping[str, str] | Sequence[tuple[str, str]]


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[EmbeddedPortal]:
    async with ui_portal(tmp_path) as running:
        for username, (roles, language) in USERS.items():
            add_user(running, username, roles, language=language)
        await load_demo_data_once(running)
        yield running


@pytest.fixture
async def buyer(portal: EmbeddedPortal) -> AsyncIterator[Browser]:
    async with signed_in(portal, "buyer") as browser:
        yield browser


@pytest.fixture
async def dock(portal: EmbeddedPortal) -> AsyncIterator[Browser]:
    async with signed_in(portal, "dock") as browser:
        yield browser


async def html_of(browser: Browser, url: str, status: int = 200) -> str:
    answer = await browser.get(url)
    assert answer.status_code == status, answer.text
    return answer.text


async def post(browser: Browser, url: str, data: Form) -> httpx.Response:
    """A form post; repeated names (one per row of lines) keep the order given."""
    fields: dict[str, list[str]] = {}
    for name, value in data.items() if isinstance(data, Mapping) else data:
        fields.setdefault(name, []).append(value)
    return await browser.post_form(url, fields)


def numbers_on(html: str) -> list[str]:
    """The PO numbers the list shows, in order."""
    return re.findall(r'<a href="/purchase-orders/(PO-[0-9-]+)">', html)


def field_error(html: str, error_id: str) -> str:
    found = re.search(rf'<p class="field-error" id="{error_id}"[^>]*>(.*?)</p>', html, re.S)
    assert found, f"no message {error_id} on the page"
    return unescape(found.group(1)).strip()


async def api_json(browser: Browser, path: str) -> Any:
    answer = await browser.client.get(path)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def new_submitted_po(browser: Browser, lines: list[tuple[str, str, str]]) -> str:
    """A PO made on the form and submitted on its page; its number."""
    await html_of(browser, "/purchase-orders/new")
    form = [("vendor_code", "PACKRITE"), ("expected_date", "2030-01-15")]
    for sku, qty, cost in lines:
        form += [("sku", sku), ("qty", qty), ("unit_cost", cost)]
    created = await post(browser, "/purchase-orders/new", form)
    assert created.status_code == 303, created.text
    number = created.headers["location"].rsplit("/", 1)[-1]
    await html_of(browser, f"/purchase-orders/{number}")
    submitted = await post(browser, f"/purchase-orders/{number}/submit", {})
    assert submitted.status_code == 303, submitted.text
    return number


# --- lists ----------------------------------------------------------------------------------


async def test_po_list_filters_sorts_and_exports_the_same_rows(buyer: Browser) -> None:
    third = await new_submitted_po(buyer, [("BOX-S", "10", "0.40")])

    everything = await html_of(buyer, "/purchase-orders?sort=number")
    assert len(numbers_on(everything)) == 3
    assert numbers_on(everything) == sorted(numbers_on(everything))
    descending = await html_of(buyer, "/purchase-orders?sort=-number")
    assert numbers_on(descending) == sorted(numbers_on(everything), reverse=True)
    # The status is shown by its label, coloured by its class.
    assert '<span class="status status-submitted">Submitted</span>' in everything

    # The demo's PackRite PO is received in part; the new one is PackRite's only submitted PO.
    by_vendor = await html_of(buyer, "/purchase-orders?vendor_code=PACKRITE&status=submitted")
    assert numbers_on(by_vendor) == [third]
    in_part = numbers_on(
        await html_of(buyer, "/purchase-orders?vendor_code=PACKRITE&status=partial")
    )
    assert len(in_part) == 1 and third not in in_part
    packrite = [third, *in_part]
    by_number = await html_of(buyer, f"/purchase-orders?q={third[-3:]}")
    assert numbers_on(by_number) == [third]
    # The htmx partial is the table alone.
    partial = await buyer.get(
        "/purchase-orders?status=received",
        headers={"HX-Request": "true", "HX-Target": "table-purchase-orders"},
    )
    assert partial.status_code == 200 and "<html" not in partial.text
    assert len(numbers_on(partial.text)) == 1

    export = await buyer.client.get("/purchase-orders.xlsx?vendor_code=PACKRITE&sort=-number")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    rows = [row for row in sheet.iter_rows(values_only=True) if row and row[0]]
    exported = [row[0] for row in rows if str(row[0]).startswith("PO-")]
    assert exported == sorted(packrite, reverse=True)


async def test_vendor_form_creates_and_refuses_a_duplicate_beside_the_code(buyer: Browser) -> None:
    await html_of(buyer, "/vendors/new")
    created = await post(buyer, "/vendors/new", {"code": "BOLTS", "name": "Bolts & Nuts"})
    assert created.status_code == 303
    listed = await html_of(buyer, created.headers["location"])
    assert "Bolts &amp; Nuts" in listed

    again = await post(buyer, "/vendors/new", {"code": "BOLTS", "name": "Other"})
    assert again.status_code == 409
    assert "BOLTS" in field_error(again.text, "e-code")


# --- the purchase order form ----------------------------------------------------------------


async def test_a_bad_line_is_shown_beside_its_field_and_nothing_is_created(buyer: Browser) -> None:
    before = await api_json(buyer, "/api/purchasing/v1/purchase-orders")
    await html_of(buyer, "/purchase-orders/new")
    form = [
        ("vendor_code", "FILAMENTCO"),
        ("expected_date", ""),
        ("sku", "PLA-BLK-1KG"),
        ("qty", "5"),
        ("unit_cost", "18"),
        ("sku", "PLA-WHT-1KG"),
        ("qty", "lots"),
        ("unit_cost", "18"),
        ("sku", ""),  # the blank spare row is not a line
        ("qty", ""),
        ("unit_cost", ""),
    ]
    refused = await post(buyer, "/purchase-orders/new", form)

    assert refused.status_code == 422
    assert field_error(refused.text, "e-lines-1-qty") == "Enter a number."
    assert 'value="lots"' in refused.text  # what was typed stays
    after = await api_json(buyer, "/api/purchasing/v1/purchase-orders")
    assert after["total"] == before["total"]


async def test_a_created_po_is_a_draft_with_a_submit_button(buyer: Browser) -> None:
    await html_of(buyer, "/purchase-orders/new")
    form = [("vendor_code", "FILAMENTCO"), ("expected_date", "2030-02-01")]
    form += [("sku", "PLA-BLK-1KG"), ("qty", "3"), ("unit_cost", "18.5")]
    created = await post(buyer, "/purchase-orders/new", form)
    assert created.status_code == 303
    detail = await html_of(buyer, created.headers["location"])
    assert "Submit to vendor" in detail and "status-draft" in detail
    number = created.headers["location"].rsplit("/", 1)[-1]
    po = await api_json(buyer, f"/api/purchasing/v1/purchase-orders/{number}")
    assert po["expected_date"] == "2030-02-01"


async def test_a_po_made_with_an_erp_number_shows_it_on_its_page(
    portal: EmbeddedPortal, buyer: Browser, dock: Browser
) -> None:
    with portal.runtimes["purchasing"].uow() as uow:
        made = purchasing_service.create_purchase_order(
            uow,
            PurchaseOrderCreate.model_validate(
                {
                    "vendor_code": "PACKRITE",
                    "external_ref": "P5001",
                    "lines": [{"sku": "BOX-S", "qty": "10", "unit_cost": "0.4"}],
                }
            ),
            date(2030, 1, 2),
        )
        uow.commit()
    detail = await html_of(buyer, f"/purchase-orders/{made.number}")
    assert '<dt>ERP ref</dt><dd data-field="external_ref">P5001</dd>' in detail
    spanish = await html_of(dock, f"/purchase-orders/{made.number}")
    assert "<dt>Ref. ERP</dt>" in spanish
    # A PO made here has none, and its page no such line.
    plain = await new_submitted_po(buyer, [("BOX-S", "5", "0.42")])
    assert "ERP ref" not in await html_of(buyer, f"/purchase-orders/{plain}")


# --- receiving at the dock ------------------------------------------------------------------


async def test_receiving_by_po_number_moves_stock_once_per_key(
    portal: EmbeddedPortal, buyer: Browser, dock: Browser
) -> None:
    number = await new_submitted_po(buyer, [("BOX-S", "30", "0.40"), ("INSERT-M3", "100", "0.03")])
    stock_before = await api_json(dock, "/api/inventory/v1/items/BOX-S/stock")

    page = await html_of(dock, f"/receiving?po={number}")
    assert 'class="floor-page"' in page
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    assert key
    assert 'name="qty" value="30"' in page  # the open quantity, ready to receive
    form = [("idempotency_key", key.group(1))]
    form += [("line_no", "1"), ("qty", "12"), ("lot", "PR-1"), ("to_status", "approved")]
    form += [("line_no", "2"), ("qty", "0"), ("lot", ""), ("to_status", "approved")]

    first = await post(dock, f"/receiving/{number}", form)
    second = await post(dock, f"/receiving/{number}", form)  # a double tap

    assert first.status_code == 200, first.text
    assert "data-received" in first.text and "BOX-S" in first.text
    assert second.status_code == 200 and "data-received" in second.text
    await portal.wait_idle()
    stock_after = await api_json(dock, "/api/inventory/v1/items/BOX-S/stock")
    assert Decimal(stock_after["on_hand"]) - Decimal(stock_before["on_hand"]) == 12
    po = await api_json(dock, f"/api/purchasing/v1/purchase-orders/{number}")
    assert [Decimal(line["qty_received"]) for line in po["lines"]] == [12, 0]
    assert po["status"] == "partial"
    receipts = await api_json(dock, f"/api/purchasing/v1/purchase-orders/{number}/receipts")
    assert len(receipts) == 1
    # The stock block shows what inventory holds now.
    stock_block = await html_of(dock, "/receiving/stock?sku=BOX-S")
    assert "BOX-S" in stock_block


async def test_over_receipt_is_shown_beside_the_line_in_spanish_and_nothing_is_received(
    buyer: Browser, dock: Browser
) -> None:
    number = await new_submitted_po(buyer, [("BOX-S", "5", "0.40"), ("INSERT-M3", "10", "0.03")])
    page = await html_of(dock, f"/receiving?po={number}")
    assert "Recibir" in page  # the dock user's page is in Spanish
    form = [("idempotency_key", str(uuid.uuid4()))]
    form += [("line_no", "1"), ("qty", "2"), ("lot", ""), ("to_status", "approved")]
    form += [("line_no", "2"), ("qty", "11"), ("lot", ""), ("to_status", "pending_qc")]

    refused = await post(dock, f"/receiving/{number}", form)

    assert refused.status_code == 422, refused.text
    expected = translate(
        "line {line_no} has {open_qty} open; receiving {qty} would exceed the ordered {ordered}",
        "es",
        line_no=2,
        open_qty=Decimal("10.0000"),
        qty=Decimal("11"),
        ordered=Decimal("10.0000"),
    )
    assert field_error(refused.text, "e-qty-2") == expected
    assert "e-qty-1" not in refused.text  # the line that was fine says nothing
    assert 'value="11"' in refused.text  # what was typed stays
    po = await api_json(dock, f"/api/purchasing/v1/purchase-orders/{number}")
    assert all(Decimal(line["qty_received"]) == 0 for line in po["lines"])

    # A quantity that is not a number is refused beside its line too, in Spanish.
    form[2] = ("qty", "dos")
    bad = await post(dock, f"/receiving/{number}", form)
    assert field_error(bad.text, "e-qty-1") == translate("Enter a number.", "es")


async def test_an_unknown_or_draft_po_is_explained_beside_the_scan_field(
    buyer: Browser, dock: Browser
) -> None:
    unknown = await html_of(dock, "/receiving?po=PO-1999-00001")
    assert field_error(unknown, "scan-error") == translate(
        "There is no purchase order {number}.", "es", number="PO-1999-00001"
    )
    await html_of(buyer, "/purchase-orders/new")
    form = [("vendor_code", "PACKRITE"), ("sku", "BOX-S"), ("qty", "1"), ("unit_cost", "1")]
    created = await post(buyer, "/purchase-orders/new", form)
    draft = created.headers["location"].rsplit("/", 1)[-1]
    page = await html_of(dock, f"/receiving?po={draft}")
    assert "scan-error" in page and 'name="idempotency_key"' not in page


async def test_a_viewer_may_not_open_receiving(portal: EmbeddedPortal) -> None:
    async with signed_in(portal, "looker") as looker:
        await html_of(looker, "/receiving", status=403)
        listed = await html_of(looker, "/purchase-orders")
        assert "New purchase order" not in listed
        assert 'href="/receiving"' not in listed
        await html_of(looker, "/purchase-orders/new", status=403)
