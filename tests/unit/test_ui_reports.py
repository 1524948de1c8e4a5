"""The production reports as the plant reads them: yield and the scrap Pareto, the certificate
of compliance of an order, and the live list of open jobs.

The story (tests/support/production_flow.py): 10 kg of PLA (lot PLA-1) and 100 boxes (lot
BOX-1) received from Filament Co; a widget takes 0.25 kg of PLA and one box. An order for 10
widgets, 12 to make, prints 10 good and 2 bad (bed adhesion); QC passes 8 and fails 2 (surface
defects), so a reprint of 2 is created. Worked by hand: printed 12, passed 8, scrapped 4;
first pass yield 8/12 = 66.67 %, rolled throughput yield 10/12 x 8/10 = 66.67 %, scrap rate
4/12 = 33.33 %; the Pareto has ADHESION 2 (50 %) and SURFACE 2 (50 %,
cumulative 100 %). On the certificate each component's yield scrap is a third of what was
relieved: PLA 3 kg relieved -> 1 kg, boxes 12 -> 4; yield loss 33.33 %. An urgent order of 4
is started too (1 kg of PLA and 4 boxes issued, nothing printed), and an order of 5 for Acme
Retail's sales order is created: the reprint rate is the reprinted 2 over the 19 ordered on
root orders, 10.53 %.
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
from services.gateway.ui.reports.pages import certificate_lines, pct
from tests.support import production_flow as pf
from tests.support.flow import ok
from tests.support.ui import ADMIN_PASSWORD, add_user, signed_in, ui_portal

FIELD_ERROR = re.compile(r'<p class="field-error" id="e-([a-z_.-]+)">([^<]*)</p>')


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


# One plant for the whole module (the story takes seconds to set up); the tests only read it.
on_the_plant = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[EmbeddedPortal, dict[str, str]]]:
    """The portal after the partial-QC story, and an urgent order of 4 started (its material
    issued, nothing printed); the codes of the three orders."""
    async with ui_portal(tmp_path_factory.mktemp("reports")) as running:
        add_user(running, "sam", ["supervisor"])
        add_user(running, "vera", ["viewer"])
        add_user(running, "pablo", ["planner"], language="es")
        async with admin_api(running) as api:
            await pf.set_up_material(api)
            code = await pf.create_order(api, qty_ordered="10", qty_to_make="12")
            result = await pf.run_and_inspect(
                api,
                code,
                good="10",
                bad="2",
                scrap_code="ADHESION",
                passed="8",
                failed="2",
                qc_code="SURFACE",
            )
            reprint = result["reprint"]["code"]
            await pf.wait_for_materials(
                api,
                code,
                "inspected",
                lambda m: Decimal(m["output"]["qty_failed"]) == 2,
                "the QC decision booked",
            )
            started = await pf.create_order(api, qty_ordered="4", priority="urgent")
            ok(await api.post(f"/api/production/v1/production-orders/{started}/start", json={}))
            await pf.wait_for_materials(
                api, started, "issued", lambda m: m["status"] == "in_progress", "issued to WIP"
            )
            # A make-to-order job for Acme Retail's sales order, not started yet.
            so = await pf.create_sales_order(api, "5", "30.00")
            for_acme = await pf.create_order(api, qty_ordered="5", so_number=so, so_line_no=1)
        yield (
            running,
            {
                "order": code,
                "reprint": reprint,
                "started": started,
                "for_acme": for_acme,
                "so": so,
            },
        )


def text_of(html: str) -> str:
    """The page's text without tags, spaces squeezed: what a reader sees."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def section(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[start : html.index("</table>", start)]


def xlsx_rows(answer: httpx.Response) -> list[tuple[Any, ...]]:
    assert answer.status_code == 200, answer.text[-2000:]
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


# --- yield and the Pareto ----------------------------------------------------------------


@on_the_plant
async def test_the_yield_report_shows_the_days_figures_the_chart_and_the_pareto(
    plant: tuple[EmbeddedPortal, dict[str, str]],
) -> None:
    portal, _codes = plant
    async with signed_in(portal, "vera") as browser:
        report = await browser.get("/reports/yield")
        by_product = await browser.get("/reports/yield?group_by=product")
        yield_xlsx = await browser.get("/reports/yield.xlsx?group_by=product")
        pareto_xlsx = await browser.get("/reports/scrap-pareto.xlsx")

    assert report.status_code == 200, report.text[-2000:]
    totals = text_of(section(report.text, "yield-table").split("<tfoot>")[1])
    assert "66.67 %" in totals and "33.33 %" in totals and "10.53 %" in totals
    assert 'id="kpi-fpy">66.67 %<' in report.text
    assert 'id="kpi-scrap">33.33 %<' in report.text
    assert 'id="kpi-reprint">10.53 %<' in report.text
    # The chart is drawn from the same figures the table shows (ratios, one per day).
    chart = re.search(r'id="yield-chart"[^>]*data-chart="([^"]+)"', report.text)
    assert chart is not None and "0.6667" in unescape(chart.group(1))
    pareto = text_of(section(report.text, "pareto-table"))
    assert "ADHESION" in pareto and "SURFACE" in pareto
    assert "50 %" in pareto and "100 %" in pareto
    assert "Clean and level the build plate" in pareto  # the corrective action
    assert 'id="pareto-chart"' in report.text
    assert "/static/reports.js" in report.text and "/static/vendor/echarts.min.js" in report.text

    products = text_of(section(by_product.text, "yield-table"))
    assert pf.WIDGET in products and "Widget, white" in products
    rows = xlsx_rows(yield_xlsx)
    assert any(row[0] == pf.WIDGET for row in rows)
    assert any(row[0] == "ADHESION" for row in xlsx_rows(pareto_xlsx))


@on_the_plant
async def test_bad_report_dates_are_shown_beside_the_field_not_a_server_error(
    plant: tuple[EmbeddedPortal, dict[str, str]],
) -> None:
    portal, _codes = plant
    async with signed_in(portal, "pablo") as browser:
        backwards = await browser.get("/reports/yield?date_from=2026-05-10&date_to=2026-05-01")
        nonsense = await browser.get("/reports/yield?date_from=yesterday&group_by=bogus")
        too_long = await browser.get("/reports/yield?date_from=2000-01-01&date_to=2026-01-01")
        export = await browser.get("/reports/yield.xlsx?date_from=2026-13-45")

    assert backwards.status_code == 422
    assert dict(FIELD_ERROR.findall(backwards.text)) == {
        "date_to": "El último día es anterior al primero."
    }
    assert nonsense.status_code == 422
    assert set(dict(FIELD_ERROR.findall(nonsense.text))) == {"date_from"}
    assert too_long.status_code == 422  # production refuses a day-by-day range that long
    assert "date_from" in dict(FIELD_ERROR.findall(too_long.text))
    assert export.status_code == 422 and "<html" in export.text


# --- certificate of compliance -----------------------------------------------------------


@on_the_plant
async def test_the_certificate_lists_each_components_issue_return_relief_and_yield_loss(
    plant: tuple[EmbeddedPortal, dict[str, str]],
) -> None:
    portal, codes = plant
    async with signed_in(portal, "vera") as browser:
        coc = await browser.get(f"/reports/coc?order={codes['order']}")
        open_reprint = await browser.get(f"/reports/coc?order={codes['reprint']}")
        for_acme = await browser.get(f"/reports/coc?order={codes['for_acme']}")

    assert coc.status_code == 200, coc.text[-2000:]
    assert f'<h1 id="coc-title">{codes["order"]}</h1>' in coc.text
    assert 'id="coc-qty-ordered">10<' in coc.text
    assert 'id="coc-printed">10 / 2<' in coc.text
    assert 'id="coc-qc">8 / 2<' in coc.text
    components = text_of(section(coc.text, "coc-components"))
    # PLA: 12 x 0.25 = 3 kg issued and relieved, a third of it in scrapped units.
    assert re.search(r"PLA-WHT PLA filament, white PLA-1 3 kg 3 0 3 1 33.33 %", components)
    assert re.search(r"BOX-W Widget box BOX-1 12 ea 12 0 12 4 33.33 %", components)
    assert 'id="print-coc"' in coc.text and "/static/reports.js" in coc.text
    assert 'class="no-print"' in coc.text  # the form and tabs stay off the paper
    # The reprint has not started: its certificate says so, it is not an error.
    assert open_reprint.status_code == 200
    assert "No material has been issued to this order." in open_reprint.text
    # A make-to-order job names its sales order line and the customer.
    assert f'id="coc-sales-order">{codes["so"]} / 1<' in for_acme.text
    assert 'id="coc-customer">Acme Retail (ACME)<' in for_acme.text


@on_the_plant
async def test_an_unknown_order_is_said_so_beside_the_form_in_spanish(
    plant: tuple[EmbeddedPortal, dict[str, str]],
) -> None:
    portal, _codes = plant
    async with signed_in(portal, "pablo") as browser:
        empty = await browser.get("/reports/coc")
        unknown = await browser.get("/reports/coc?order=PRD-1999-00001")
        odd = await browser.get("/reports/coc", params={"order": "x" * 500})

    assert empty.status_code == 200 and "Certificado de conformidad" in empty.text
    assert unknown.status_code == 404
    assert 'id="coc-error"' in unknown.text and "PRD-1999-00001" in unknown.text
    assert 'name="order" type="text" value="PRD-1999-00001"' in unknown.text
    assert odd.status_code == 422
    assert "order" in dict(FIELD_ERROR.findall(odd.text))


def test_yield_scrap_is_the_relieved_share_of_the_scrapped_units() -> None:
    materials = {
        "output": {"qty_good": "10", "qty_bad": "2", "qty_failed": "2"},
        "components": [
            {"sku": "PLA", "qty_relieved": "3", "lots": [{"lot": "A", "qty_relieved": "3"}]}
        ],
    }
    [line] = certificate_lines(materials)
    assert line["yield_scrap"] == Decimal("1.0000")
    assert pct(line["yield_loss_pct"], ratio=False) == "33.33 %"
    assert line["lots"][0]["yield_scrap"] == Decimal("1.0000")
    # Before any run there is nothing to share out: a dash, never a division by zero.
    [idle] = certificate_lines({"output": {}, "components": [{"sku": "PLA", "lots": []}]})
    assert idle["yield_scrap"] is None and pct(idle["yield_loss_pct"]) == "-"


# --- open jobs ---------------------------------------------------------------------------


@on_the_plant
async def test_open_jobs_lists_every_open_order_with_its_material_and_refreshes_itself(
    plant: tuple[EmbeddedPortal, dict[str, str]],
) -> None:
    portal, codes = plant
    started = codes["started"]
    async with signed_in(portal, "sam") as browser:
        jobs = await browser.get("/open-jobs")
        in_progress = await browser.get("/open-jobs?status=in_progress")
        by_code = await browser.get("/open-jobs?sort=-code")
        partial = await browser.get(
            "/open-jobs?status=in_progress",
            headers={"HX-Request": "true", "HX-Target": "open-jobs"},
        )
        exported = xlsx_rows(await browser.get("/open-jobs.xlsx"))
        odd = await browser.get("/open-jobs?status=completed&priority=x&sort=password")

    assert jobs.status_code == 200, jobs.text[-2000:]
    listed = re.findall(
        r'<th scope="row" class="order"><a href="/reports/coc\?order=(PRD-[0-9-]+)">', jobs.text
    )
    # Urgent first; the completed order is not an open job, its reprint is.
    assert listed == [started, codes["reprint"], codes["for_acme"]]
    assert codes["order"] not in listed
    assert 'hx-trigger="sse:production-orders"' in jobs.text
    assert 'id="jobs-updated"' in jobs.text and "Updated at" in jobs.text
    # The started order's material: 4 x 0.25 kg of PLA and 4 boxes issued, nothing relieved yet.
    row = jobs.text.split(f'order={started}"')[1].split("</tbody>")[0]
    assert re.search(r"PLA-WHT.*?>1<.*?>1<.*?>0<.*?>0<.*?>1<", row, re.S)
    assert re.findall(r"/reports/coc\?order=(PRD-[0-9-]+)", in_progress.text)[0] == started
    assert codes["reprint"] not in in_progress.text.split('id="jobs-table"')[1]
    assert re.findall(
        r'<th scope="row" class="order"><a href="/reports/coc\?order=(PRD-[0-9-]+)">', by_code.text
    )
    assert partial.text.lstrip().startswith('<section id="open-jobs"')
    header = exported[0]
    assert header[0] == "Order" and "Component" in header
    assert {row[0] for row in exported[1:]} == {started, codes["reprint"], codes["for_acme"]}
    assert odd.status_code == 200  # odd filters fall back to every open order


@on_the_plant
async def test_every_role_may_read_the_reports_and_a_stranger_is_sent_to_sign_in(
    plant: tuple[EmbeddedPortal, dict[str, str]],
) -> None:
    portal, codes = plant
    transport = httpx.ASGITransport(app=portal.gateway.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal") as stranger:
        for path in ("/reports/yield", "/reports/coc", "/open-jobs"):
            answer = await stranger.get(path)
            assert answer.status_code == 303 and "/sign-in" in answer.headers["location"]
    async with signed_in(portal, "vera") as browser:
        home = await browser.get("/")
        for path in ("/reports/yield", f"/reports/coc?order={codes['order']}", "/open-jobs"):
            assert (await browser.get(path)).status_code == 200, path
    assert 'href="/open-jobs"' in home.text and 'href="/reports/yield"' in home.text
