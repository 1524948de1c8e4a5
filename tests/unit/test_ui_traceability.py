"""Stock on hand, the stock ledger and lot genealogy as the plant reads them.

The story (tests/support/production_flow.py): 10 kg of PLA (lot PLA-1) and 100 boxes (lot
BOX-1) received from Filament Co (FILCO); a widget takes 0.25 kg of PLA and one box. An order
for 10 widgets, 12 to make, prints 10 good and 2 bad (bed adhesion); QC passes 8 and fails 2
(surface defects). Worked by hand: 3 kg of PLA and 12 boxes issued and consumed, so 7 kg of
PLA-1 and 88 of BOX-1 are left in RAW; the finished lot (named after the order) has 8 widgets
in FG and 4 in SCRAP; 5 of the 8 are then sold from stock to Acme Retail (ACME) and shipped,
leaving 3. A recall of PLA-1 finds the order, the lot it made and the customer it went to; the
finished lot's sources are PLA-1 and BOX-1 from FILCO.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from html import unescape
from typing import Any

import httpx
import openpyxl
import pytest
import pytest_asyncio

from services.embedded import EmbeddedPortal
from services.gateway.ui.traceability.lineage import source_tree, use_tree
from tests.support import production_flow as pf
from tests.support.flow import eventually
from tests.support.ui import ADMIN_PASSWORD, add_user, signed_in, ui_portal

FIELD_ERROR = re.compile(r'<p class="field-error" id="e-([a-z_.-]+)">([^<]*)</p>')
on_the_plant = pytest.mark.asyncio(loop_scope="module")


def admin_api(portal: EmbeddedPortal) -> httpx.AsyncClient:
    """The gateway's JSON API as the admin, signed in when entered."""
    transport = httpx.ASGITransport(app=portal.gateway.app)

    class Admin(httpx.AsyncClient):
        async def __aenter__(self) -> Admin:
            await super().__aenter__()
            login = await self.post(
                "/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
            )
            assert login.status_code == 200, login.text
            self.headers["X-CSRF-Token"] = login.headers["X-CSRF-Token"]
            return self

    return Admin(transport=transport, base_url="http://portal", timeout=30)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[EmbeddedPortal, str]]:
    """The portal after the partial-QC story (the tests only read it); the order's code."""
    async with ui_portal(tmp_path_factory.mktemp("traceability")) as running:
        add_user(running, "vera", ["viewer"])
        add_user(running, "sofia", ["store"], language="es")
        async with admin_api(running) as api:
            await pf.set_up_material(api)
            code = await pf.create_order(api, qty_ordered="10", qty_to_make="12")
            await pf.run_and_inspect(
                api,
                code,
                good="10",
                bad="2",
                scrap_code="ADHESION",
                passed="8",
                failed="2",
                qc_code="SURFACE",
            )
            await pf.wait_for_materials(
                api,
                code,
                "inspected",
                lambda m: Decimal(m["output"]["qty_failed"]) == 2,
                "the QC decision booked",
            )
            so = await pf.create_sales_order(api, "5", "30.00")
            await ship(api, so, "5")
        yield running, code


async def ship(api: httpx.AsyncClient, so: str, qty: str) -> None:
    """The store ships a sale from stock, once inventory has heard of the sales order."""
    shipment = {"so_number": so, "lines": [{"line_no": 1, "qty": qty}]}

    async def shipped() -> bool:
        answer = await api.post("/api/inventory/v1/shipments", json=shipment)
        return answer.status_code == 201

    await eventually(shipped, pf.WITHIN, f"{so} shipped")


def rows_of(html: str, table_id: str) -> list[list[str]]:
    """The text of each cell of each body row of a table."""
    start = html.index(f'id="{table_id}"')
    body = html[start : html.index("</table>", start)].split("<tbody>", 1)[1]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        rows.append([" ".join(unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells])
    return rows


def table_rows(html: str) -> list[list[str]]:
    """The rows of the page's Table (table.html: the first table in the table block)."""
    block = html[html.index('class="table-block"') :]
    body = block[block.index("<tbody>") : block.index("</tbody>")]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        rows.append([" ".join(unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells])
    return [row for row in rows if row != ["Nothing to show."]]


def xlsx_rows(answer: httpx.Response) -> list[tuple[Any, ...]]:
    assert answer.status_code == 200, answer.text[-2000:]
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


# --- stock on hand -----------------------------------------------------------------------


@on_the_plant
async def test_stock_on_hand_by_item_location_lot_and_status_links_to_ledger_and_genealogy(
    plant: tuple[EmbeddedPortal, str],
) -> None:
    portal, code = plant
    async with signed_in(portal, "vera") as browser:
        everything = await browser.get("/stock-on-hand")
        pla = await browser.get("/stock-on-hand?lot=PLA-1")
        scrap = await browser.get("/stock-on-hand?location=SCRAP")
        finished = await browser.get("/stock-on-hand?item_type=finished&sort=-qty")
        exported = xlsx_rows(await browser.get("/stock-on-hand.xlsx?item_type=finished&sort=-qty"))
        refused = await browser.get("/stock-on-hand?status=lost")

    assert everything.status_code == 200, everything.text[-2000:]
    assert 'hx-trigger="sse:stock"' in everything.text
    by_lot = {(row[0], row[2], row[3]): row for row in table_rows(everything.text)}
    assert by_lot[(pf.PLA, "RAW", "PLA-1")][5] == "7"
    assert by_lot[(pf.BOX, "RAW", "BOX-1")][5] == "88"
    assert by_lot[(pf.WIDGET, "FG", code)][5] == "3"
    assert by_lot[(pf.WIDGET, "SCRAP", code)][5] == "4"
    assert [row[3] for row in table_rows(pla.text)] == ["PLA-1"]
    # Each row links to its lot's genealogy and to the ledger of that item and lot.
    assert '<a href="/genealogy?sku=PLA-WHT&amp;lot=PLA-1">' in pla.text
    assert '<a href="/ledger?sku=PLA-WHT&amp;lot=PLA-1">Ledger</a>' in pla.text
    assert {row[2] for row in table_rows(scrap.text)} == {"SCRAP"}
    assert [(row[2], row[5]) for row in table_rows(finished.text)] == [("SCRAP", "4"), ("FG", "3")]
    header = exported[0]
    assert "Transactions" not in header and header[:2] == ("SKU", "Name")
    assert [(row[0], row[3], row[6]) for row in exported[1:]] == [
        (pf.WIDGET, "SCRAP", 4),
        (pf.WIDGET, "FG", 3),
    ]
    # A status the service does not know is shown beside its filter, not as a server error.
    assert refused.status_code == 422
    assert 'id="stock-balances-status"' in refused.text and "field-error" in refused.text


# --- the ledger --------------------------------------------------------------------------


@on_the_plant
async def test_the_ledger_filters_by_lot_type_reference_and_reason_and_exports_them(
    plant: tuple[EmbeddedPortal, str],
) -> None:
    portal, code = plant
    async with signed_in(portal, "vera") as browser:
        of_pla = await browser.get("/ledger?sku=PLA-WHT&lot=PLA-1&sort=created_at")
        scrap = await browser.get("/ledger?location=SCRAP")
        at_print = await browser.get("/ledger?txn_type=scrap")
        adhesion = await browser.get(f"/ledger?reason_code=ADHESION&reference={code}")
        of_order = await browser.get(f"/ledger?reference={code}&reference_type=production_order")
        exported = xlsx_rows(await browser.get("/ledger.xlsx?location=SCRAP&sort=reason_code"))
        backwards = await browser.get("/ledger?date_from=2026-05-10&date_to=2026-05-01")

    assert of_pla.status_code == 200, of_pla.text[-2000:]
    kinds = [row[1] for row in table_rows(of_pla.text)]
    assert kinds[0] == "Receipt" and "Issue to production" in kinds
    assert "Consumed by production" in kinds
    quantities = [(row[1], row[3], row[6]) for row in table_rows(of_pla.text)]
    assert ("Receipt", "RAW", "10") in quantities
    assert ("Consumed by production", "WIP", "-3") in quantities
    # Every scrap row carries its reason: bad at the run, failed at QC.
    reasons = sorted((row[1], row[10]) for row in table_rows(scrap.text))
    assert reasons == [("QC failed", "SURFACE"), ("Scrap", "ADHESION")]
    assert [row[10] for row in table_rows(at_print.text)] == ["ADHESION"]
    assert [row[6] for row in table_rows(adhesion.text)] == ["2"]
    assert {row[9] for row in table_rows(of_order.text)} == {code}
    assert f'<a href="/reports/coc?order={code}">{code}</a>' in of_order.text
    assert len(table_rows(of_order.text)) > 4  # issues, consumption, receipts, scrap, QC
    header = exported[0]
    assert "Reason" in header and "Notes" in header
    reason = header.index("Reason")
    assert [row[reason] for row in exported[1:]] == ["ADHESION", "SURFACE"]
    assert backwards.status_code == 422
    assert "field-error" in backwards.text


# --- lot genealogy -----------------------------------------------------------------------


@on_the_plant
async def test_a_recall_finds_what_went_into_a_finished_lot_and_where_a_material_lot_went(
    plant: tuple[EmbeddedPortal, str],
) -> None:
    portal, code = plant
    async with signed_in(portal, "vera") as browser:
        finished = await browser.get(f"/genealogy?sku={pf.WIDGET}&lot={code}")
        material = await browser.get("/genealogy?sku=PLA-WHT&lot=PLA-1")
        form = await browser.get("/genealogy")

    assert finished.status_code == 200, finished.text[-3000:]
    sources = finished.text.split('id="sources-tree"')[1].split("</section>")[0]
    # The lot, the order that made it, and under the order the two component lots.
    assert sources.index(code) < sources.index("PLA-1") and "BOX-1" in sources
    assert "vendor FILCO" in sources
    assert f"/reports/coc?order={code}" in sources
    assert 'id="lot-vendors">FILCO<' in finished.text
    assert f'href="/ledger?sku={pf.WIDGET}&amp;lot={code}"' in finished.text
    shipped = finished.text.split('id="uses-tree"')[1].split("</section>")[0]
    assert "5 to ACME" in shipped and "sales order SO-" in shipped

    assert material.status_code == 200, material.text[-3000:]
    uses = material.text.split('id="uses-tree"')[1].split("</section>")[0]
    assert uses.index("PLA-1") < uses.index(code)
    assert "issued 3, returned 0, used 3" in uses
    assert f"{pf.WIDGET} · {code}" in uses and "3 in FG (Approved)" in uses
    # ... and to whom: the shipment under the finished lot, the customer on the lot's card.
    assert uses.index(code) < uses.index("5 to ACME")
    assert 'id="lot-customers">ACME<' in material.text
    assert form.status_code == 200 and 'id="sources-tree"' not in form.text


@on_the_plant
async def test_an_unknown_lot_or_an_empty_field_is_said_beside_the_form_in_spanish(
    plant: tuple[EmbeddedPortal, str],
) -> None:
    portal, _code = plant
    async with signed_in(portal, "sofia") as browser:
        unknown_lot = await browser.get("/genealogy?sku=PLA-WHT&lot=NO-SUCH-LOT")
        unknown_item = await browser.get("/genealogy?sku=NOPE&lot=PLA-1")
        no_lot = await browser.get("/genealogy?sku=PLA-WHT")
        odd = await browser.get("/genealogy", params={"sku": "x" * 300, "lot": "a\x00b"})

    assert unknown_lot.status_code == 404
    assert "NO-SUCH-LOT" in dict(FIELD_ERROR.findall(unknown_lot.text))["lot"]
    assert 'value="NO-SUCH-LOT"' in unknown_lot.text  # what was typed is kept
    assert "Trazabilidad de lotes" in unknown_lot.text
    assert unknown_item.status_code == 404
    assert set(dict(FIELD_ERROR.findall(unknown_item.text))) == {"sku"}
    assert no_lot.status_code == 422
    assert dict(FIELD_ERROR.findall(no_lot.text)) == {"lot": "Escriba el lote."}
    assert odd.status_code == 422
    assert set(dict(FIELD_ERROR.findall(odd.text))) == {"sku", "lot"}


@on_the_plant
async def test_a_stranger_is_sent_to_sign_in(plant: tuple[EmbeddedPortal, str]) -> None:
    portal, _code = plant
    transport = httpx.ASGITransport(app=portal.gateway.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal") as stranger:
        for path in ("/stock-on-hand", "/ledger", "/genealogy?sku=A&lot=B", "/ledger.xlsx"):
            answer = await stranger.get(path)
            assert answer.status_code == 303 and "/sign-in" in answer.headers["location"], path


# --- the trees, on plain answers ---------------------------------------------------------


def test_a_shared_sub_assembly_is_shown_once_and_shipments_hang_under_their_lot() -> None:
    """PLA-1 made sub-assembly lot S1 (order O1); S1 went into two kits (orders O2 and O3),
    and O3's kit was shipped to ACME. Asked about PLA-1: every path, each order expanded."""
    lot = {"sku": "PLA", "lot": "PLA-1", "name": "PLA"}
    used = {"qty_issued": "1", "qty_returned": "0", "qty_used": "1"}
    orders: list[dict[str, Any]] = [
        {
            "order_code": "O1",
            "depth": 1,
            "consumed": [{**lot, **used}],
            "produced": [{"sku": "SUB", "lot": "S1", "qty_good": "2", "qty_bad": "0"}],
        },
        {
            "order_code": "O2",
            "depth": 2,
            "consumed": [{"sku": "SUB", "lot": "S1", **used}],
            "produced": [{"sku": "KIT", "lot": "K2", "qty_good": "1", "qty_bad": "0"}],
        },
        {
            "order_code": "O3",
            "depth": 2,
            "consumed": [{"sku": "SUB", "lot": "S1", **used}],
            "produced": [{"sku": "KIT", "lot": "K3", "qty_good": "1", "qty_bad": "0"}],
        },
    ]
    uses = {
        "lot": lot,
        "orders": orders,
        "finished_lots": [
            {
                "sku": "KIT",
                "lot": "K3",
                "name": "Kit",
                "depth": 2,
                "made_by_order": "O3",
                "on_hand": [],
            },
        ],
        "shipments": [
            {
                "sku": "KIT",
                "lot": "K3",
                "qty": "1",
                "reference_type": "shipment",
                "reference": "SH-1",
                "so_number": "SO-1",
                "customer_code": "ACME",
                "shipped_at": "2026-11-25T10:00:00+00:00",
            },
        ],
        "customers": ["ACME"],
    }
    tree = use_tree(uses)
    [o1] = tree.children
    [s1] = o1.children
    assert (o1.data["order_code"], s1.data["lot"]) == ("O1", "S1")
    assert [order.data["order_code"] for order in s1.children] == ["O2", "O3"]
    k3 = s1.children[1].children[0]
    assert k3.data["name"] == "Kit"  # what inventory knows of the lot, merged in
    assert [(child.kind, child.data["customer_code"]) for child in k3.children] == [
        ("shipment", "ACME")
    ]

    # Sources of K3: the order, S1, the order that made S1, and PLA-1 with its vendor.
    sources = {
        "lot": {"sku": "KIT", "lot": "K3", "name": "Kit", "order_code": "O3"},
        "orders": [orders[2], orders[0]],
        "component_lots": [
            {
                "sku": "SUB",
                "lot": "S1",
                "name": "Sub",
                "order_code": "O1",
                "depth": 1,
                "used_by_orders": ["O3"],
            },
            {
                "sku": "PLA",
                "lot": "PLA-1",
                "name": "PLA",
                "vendor_code": "FILCO",
                "depth": 2,
                "used_by_orders": ["O1"],
                "receipts": [],
            },
        ],
        "vendors": ["FILCO"],
    }
    tree = source_tree(sources)
    [o3] = tree.children
    [sub] = o3.children
    [o1_again] = sub.children
    [pla] = o1_again.children
    assert (sub.data["name"], sub.data["qty_used"]) == ("Sub", "1")
    assert pla.data["vendor_code"] == "FILCO"


def test_an_order_that_consumes_its_own_lot_does_not_loop_forever() -> None:
    lot = {"sku": "A", "lot": "L"}
    looping = {
        "lot": lot,
        "orders": [{"order_code": "O", "consumed": [lot], "produced": [lot]}],
        "finished_lots": [],
        "shipments": [],
    }
    tree = use_tree(looping)
    assert tree.children[0].children[0].children[0].repeated
    sources = {"lot": lot, "orders": looping["orders"], "component_lots": []}
    assert source_tree(sources).children[0].children[0].children[0].repeated
