"""The production reports in Chromium: a quality manager opens the yield report of a product
(its figures, the daily chart and the scrap Pareto drawn by ECharts), the certificate of
compliance of its order (and how it prints: no navigation, the certificate alone), the order's
finished lot's genealogy and the open jobs.

The production is set up through the API as an admin, as the office and the floor would have
made it: 10 kg of PLA (lot RPT-PLA-L1) and 20 boxes (lot RPT-BOX-L1) received, a bracket's BOM
released (0.25 kg of PLA and one box each), an order for 10 made as 12 that printed 10 good and
2 bad (bed adhesion) and passed 8 at QC, failing 2 (surface defects). Worked by hand for that
product: first pass yield 8/12 = 66.67 %, scrap rate 4/12 = 33.33 %; the certificate shows
3 kg of PLA and 12 boxes issued and relieved, a third of each in scrapped units.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.support.browser import LivePortal, PortalApi, assert_accessible, screenshot

PLA, BOX, PART = "RPT-PLA", "RPT-BOX", "RPT-BRACKET"
ITEMS = [
    {"sku": PLA, "name": "PLA filament for the reports test", "uom": "kg", "item_type": "raw"},
    {"sku": BOX, "name": "Bracket box", "uom": "ea", "item_type": "packaging"},
    {
        "sku": PART,
        "name": "Bracket for the reports test",
        "uom": "ea",
        "item_type": "finished",
        "make_or_buy": "make",
    },
]
USER, PASSWORD = "rita", "rita-pass-123"


@pytest.fixture
def api(live_portal: LivePortal) -> Iterator[PortalApi]:
    client = PortalApi(live_portal)
    yield client
    client.close()


def received(api: PortalApi) -> None:
    """The material in stock, from the first vendor, with its lots."""
    for item in ITEMS:
        api.call("POST", "/api/inventory/v1/items", expect=201, json=item)
    api.eventually(
        lambda: api.call("GET", "/api/purchasing/v1/items", params={"q": "RPT-"})["total"] >= 3,
        "purchasing knows the items",
    )
    vendor = api.call("GET", "/api/purchasing/v1/vendors")["items"][0]["code"]
    order = api.call(
        "POST",
        "/api/purchasing/v1/purchase-orders",
        expect=201,
        json={
            "vendor_code": vendor,
            "lines": [
                {"sku": PLA, "qty": "10", "unit_cost": "20.00"},
                {"sku": BOX, "qty": "20", "unit_cost": "0.50"},
            ],
        },
    )
    number = order["number"]
    api.call("POST", f"/api/purchasing/v1/purchase-orders/{number}/submit")
    lines = [
        {"line_no": 1, "qty": "10", "lot": "RPT-PLA-L1"},
        {"line_no": 2, "qty": "20", "lot": "RPT-BOX-L1"},
    ]
    api.call(
        "POST",
        f"/api/purchasing/v1/purchase-orders/{number}/receipts",
        expect=201,
        json={"lines": lines},
    )
    api.eventually(
        lambda: Decimal(api.call("GET", f"/api/inventory/v1/items/{BOX}/stock")["available"]) == 20,
        "the boxes available",
    )


def made_and_inspected(api: PortalApi) -> str:
    """The bracket's BOM released, an order made and inspected; its code."""
    api.eventually(
        lambda: api.client.get(f"/api/production/v1/items/{PART}").status_code == 200,
        "production knows the bracket",
    )
    bom = api.call(
        "POST",
        "/api/production/v1/boms",
        expect=201,
        json={
            "sku": PART,
            "lines": [
                {"line_no": 1, "component_sku": PLA, "qty_per": "0.25"},
                {"line_no": 2, "component_sku": BOX, "qty_per": "1"},
            ],
        },
    )
    api.call("POST", f"/api/production/v1/boms/{PART}/versions/{bom['version']}/release")
    order = api.call(
        "POST",
        "/api/production/v1/production-orders",
        expect=201,
        json={"sku": PART, "qty_ordered": "10", "qty_to_make": "12"},
    )
    code: str = order["code"]
    base = f"/api/production/v1/production-orders/{code}"
    api.call("POST", f"{base}/start", json={})
    run = {"qty_good": "10", "qty_bad": "2", "scrap_reason_code": "ADHESION"}
    api.call("POST", f"{base}/runs", expect=201, json=run)
    api.eventually(
        lambda: (
            Decimal(
                api.call("GET", f"/api/inventory/v1/production-orders/{code}/materials")["output"][
                    "qty_good"
                ]
            )
            == 10
        ),
        "the run booked into stock",
    )
    qc = {"qty_passed": "8", "qty_failed": "2", "reason_code": "SURFACE"}
    api.call("POST", f"{base}/qc", expect=201, json=qc)
    api.eventually(
        lambda: (
            Decimal(
                api.call("GET", f"/api/inventory/v1/production-orders/{code}/materials")["output"][
                    "qty_failed"
                ]
            )
            == 2
        ),
        "the QC decision booked",
    )
    return code


def chart_drawn(page: Any, box_id: str) -> None:
    """ECharts drew into the box: a canvas of the box's size, with something painted on it."""
    canvas = page.locator(f"#{box_id} canvas")
    expect(canvas).to_have_count(1)
    painted = page.evaluate(
        """(id) => {
            const canvas = document.querySelector('#' + id + ' canvas');
            const context = canvas.getContext('2d');
            const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
            let inked = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) inked++;
            return {inked, width: canvas.width, height: canvas.height};
        }""",
        box_id,
    )
    assert painted["width"] > 300 and painted["height"] > 150, painted
    assert painted["inked"] > 2000, painted


def test_the_yield_report_and_the_certificate_in_the_browser(
    open_page: Callable[..., Any], api: PortalApi, live_portal: LivePortal
) -> None:
    received(api)
    code = made_and_inspected(api)
    live_portal.add_user(USER, PASSWORD, ["quality"])
    page = open_page()
    sign_in(page, USER, PASSWORD)

    # The yield report of the product: figures, the daily chart and the Pareto.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page.locator("h1")).to_have_text("Yield and scrap")
    page.get_by_label("Product").fill(PART)
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#kpi-fpy")).to_have_text("66.67 %")
    expect(page.locator("#kpi-scrap")).to_have_text("33.33 %")
    chart_drawn(page, "yield-chart")
    chart_drawn(page, "pareto-chart")
    pareto = page.locator("#pareto-table tbody tr")
    expect(pareto).to_have_count(2)
    expect(pareto.first).to_contain_text("50 %")
    expect(pareto.last).to_contain_text("100 %")
    screenshot(page, "reports-yield")
    assert_accessible(page)
    with page.expect_download() as download:
        page.locator("#pareto-xlsx").click()
    assert download.value.suggested_filename.endswith(".xlsx")

    # The certificate of the order, and how it prints.
    page.get_by_role("link", name="Certificate of compliance").click()
    page.get_by_role("textbox", name="Production order").fill(code)
    page.get_by_role("button", name="Show certificate").click()
    expect(page.locator("#coc-title")).to_have_text(code)
    rows = page.locator("#coc-components tbody tr")
    expect(rows.filter(has_text=PLA)).to_contain_text(re.compile(r"3\s+0\s+3\s+1\s+33.33 %"))
    expect(rows.filter(has_text=BOX)).to_contain_text(re.compile(r"12\s+0\s+12\s+4\s+33.33 %"))
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    screenshot(page, "reports-coc")
    assert_accessible(page)
    page.emulate_media(media="print")
    expect(page.locator("header.topbar")).to_be_hidden()
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    expect(page.locator("#coc-components")).to_be_visible()
    screenshot(page, "reports-coc-print")
    page.emulate_media(media="screen")

    # The finished lot's genealogy, from the stock of the product.
    page.goto(f"/stock-on-hand?sku={PART}")
    page.get_by_role("link", name=code).first.click()
    expect(page.locator("#sources-tree")).to_contain_text("RPT-PLA-L1")
    expect(page.locator("#sources-tree")).to_contain_text("RPT-BOX-L1")
    screenshot(page, "traceability-genealogy")
    assert_accessible(page)

    # The open jobs (the order's reprint of 2 among them), refreshed by itself.
    page.goto(f"/open-jobs?sku={PART}")
    expect(page.locator("#jobs-table tbody.job")).to_have_count(1)
    expect(page.locator("#jobs-updated")).to_contain_text("Updated at")
    screenshot(page, "reports-open-jobs")
    assert_accessible(page)
