"""A supervisor on the floor tablet (1024x768, touch) runs a production order through to QC: starts
it, completes its run with two parts scrapped, passes QC partially on the QC station, and finds
the reprint of the shortfall in the queue. Then the same QC station in Spanish, refusing a count
beside its field.

The material is set up through the API as an admin, as a plant's office would have it: a raw
material received from a vendor and the product's BOM released (0.25 kg of PLA per part).
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

PLA, PART = "PLA-FLOOR-1KG", "BRACKET-FLOOR"
ITEMS = [
    {"sku": PLA, "name": "PLA filament for the floor test", "uom": "kg", "item_type": "raw"},
    {
        "sku": PART,
        "name": "Bracket printed on the floor",
        "uom": "ea",
        "item_type": "finished",
        "make_or_buy": "make",
    },
]
ORDER_CODE = re.compile(r"PRD-\d{4}-\d{5}")


@pytest.fixture
def api(live_portal: LivePortal) -> Iterator[PortalApi]:
    client = PortalApi(live_portal)
    yield client
    client.close()


@pytest.fixture
def material(api: PortalApi) -> None:
    """20 kg of PLA in stock and the bracket's BOM released (once per portal)."""
    known = api.client.get(f"/api/production/v1/boms/{PART}")
    if known.status_code == 200:
        return
    for item in ITEMS:
        api.call("POST", "/api/inventory/v1/items", expect=201, json=item)
    number = api.ordered_and_submitted(PLA, "20", "18.00")
    receipt = {"lines": [{"line_no": 1, "qty": "20", "lot": "PLA-FLOOR-LOT1"}]}
    api.call(
        "POST", f"/api/purchasing/v1/purchase-orders/{number}/receipts", expect=201, json=receipt
    )
    api.eventually(
        lambda: Decimal(api.call("GET", f"/api/inventory/v1/items/{PLA}/stock")["available"]) == 20,
        "20 kg of PLA available",
    )
    api.eventually(
        lambda: api.client.get(f"/api/production/v1/items/{PART}").status_code == 200,
        "production knows the bracket",
    )
    bom = api.call(
        "POST",
        "/api/production/v1/boms",
        expect=201,
        json={"sku": PART, "lines": [{"component_sku": PLA, "qty_per": "0.25"}]},
    )
    api.call("POST", f"/api/production/v1/boms/{PART}/versions/{bom['version']}/release")


def new_order(api: PortalApi, qty: str, **fields: Any) -> str:
    order = api.call(
        "POST",
        "/api/production/v1/production-orders",
        expect=201,
        json={"sku": PART, "qty_ordered": qty, **fields},
    )
    code: str = order["code"]
    return code


def big_enough(locator: Any) -> None:
    box = locator.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 44, box


def test_a_supervisor_runs_an_order_through_qc_and_sees_the_reprint_in_the_queue(
    open_page: Callable[..., Any], api: PortalApi, live_portal: LivePortal, material: None
) -> None:
    code = new_order(api, "10", qty_to_make="12", due_date="2030-03-01")
    live_portal.add_user("suki", "suki-pass-123", ["supervisor"])
    tablet = open_page(tablet=True)
    sign_in(tablet, "suki", "suki-pass-123")

    tablet.goto(f"/production-orders?sku={PART}")
    expect(tablet.locator("h1")).to_contain_text("Production orders")
    assert_accessible(tablet)
    tablet.get_by_role("link", name=code, exact=True).tap()

    # Start: the material is there, so it starts.
    expect(tablet.locator("h1")).to_contain_text(code)
    start = tablet.get_by_role("button", name="Start production")
    big_enough(start)
    assert_accessible(tablet)
    start.tap()
    expect(tablet.get_by_role("status").first).to_contain_text("started")
    expect(tablet.locator("h1 .status")).to_contain_text("In progress")

    # Complete the run: ten good, two lost to bed adhesion.
    tablet.get_by_label("Good quantity").fill("10")
    tablet.get_by_label("Bad quantity (scrapped)").fill("2")
    tablet.get_by_label("Scrap reason").select_option("ADHESION")
    screenshot(tablet, "production-order-run")
    tablet.get_by_role("button", name="Complete run").tap()
    expect(tablet.locator("h1 .status")).to_contain_text("Printed, awaiting QC")
    assert_accessible(tablet)

    # QC on the station: eight pass, two fail for surface defects; the reprint is on already.
    tablet.get_by_role("link", name="Inspect at the QC station").tap()
    expect(tablet.locator("body.floor-page")).to_be_visible()
    passed = tablet.get_by_label("Quantity passed")
    expect(passed).to_have_value("10")
    expect(tablet.get_by_label("Reprint the shortfall")).to_be_checked()
    screenshot(tablet, "qc-station-tablet")
    assert_accessible(tablet)
    passed.fill("8")
    tablet.get_by_label("Quantity failed").fill("2")
    tablet.get_by_label("Reason for the failed parts").select_option("SURFACE")
    record = tablet.get_by_role("button", name="Record QC decision")
    big_enough(record)
    for name in ("Quantity passed", "Quantity failed", "Reason for the failed parts"):
        big_enough(tablet.get_by_label(name))
    record.tap()

    done = tablet.locator("[data-reprint]")
    expect(done).to_contain_text("Reprint order")
    reprint = done.get_attribute("data-reprint")
    assert reprint and ORDER_CODE.fullmatch(reprint) and reprint != code
    expect(tablet.locator("[data-qc-done]")).to_contain_text("8 passed and 2 failed")
    screenshot(tablet, "qc-station-reprinted")
    assert_accessible(tablet)

    # The queue shows the reprint: high priority, second in the chain of the first order.
    tablet.goto(f"/production-orders?sku={PART}&sort=-code")
    row = tablet.locator("tr", has=tablet.get_by_role("link", name=reprint, exact=True))
    expect(row).to_contain_text(f"#1 of {code}")
    expect(row.locator(".status-high")).to_be_visible()
    expect(row).to_contain_text("Draft")
    screenshot(tablet, "production-queue-with-reprint")
    assert_accessible(tablet)

    # The reprint's page shows the chain and its totals.
    row.get_by_role("link", name=reprint, exact=True).tap()
    chain = tablet.locator("section", has=tablet.get_by_role("heading", name="Reprint chain"))
    expect(chain).to_contain_text(code)
    expect(chain).to_contain_text("Effective yield")
    screenshot(tablet, "production-reprint-chain")
    assert_accessible(tablet)


def test_the_qc_station_in_spanish_refuses_a_count_beside_its_field(
    open_page: Callable[..., Any], api: PortalApi, live_portal: LivePortal, material: None
) -> None:
    code = new_order(api, "4", priority="urgent")
    api.call("POST", f"/api/production/v1/production-orders/{code}/start", json={})
    api.call(
        "POST",
        f"/api/production/v1/production-orders/{code}/runs",
        expect=201,
        json={"qty_good": "4", "qty_bad": "0"},
    )
    live_portal.add_user("sergio", "sergio-pass-123", ["supervisor"], language="es")
    tablet = open_page(tablet=True)
    sign_in(tablet, "sergio", "sergio-pass-123")

    tablet.goto("/qc")
    expect(tablet.locator("h1")).to_have_text("Estación de calidad")
    tablet.locator("a.pick", has_text=code).tap()  # swapped in without leaving the page
    expect(tablet.get_by_label("Cantidad aprobada")).to_have_value("4")
    tablet.get_by_label("Cantidad rechazada").fill("3")
    tablet.get_by_label("Motivo de las piezas rechazadas").select_option("SURFACE")
    tablet.get_by_role("button", name="Registrar decisión de calidad").tap()

    message = tablet.locator("#e-qty_passed")
    expect(message).to_be_visible()
    expect(message).not_to_contain_text("Passed plus failed")
    expect(tablet.get_by_label("Cantidad rechazada")).to_have_value("3")
    screenshot(tablet, "qc-station-es-refused")
    assert_accessible(tablet)
    order = api.call("GET", f"/api/production/v1/production-orders/{code}")
    assert Decimal(order["qty_passed"]) == 0 and order["status"] == "printed"


def test_a_planner_explodes_a_bom_and_an_admin_retires_a_scrap_code(
    open_page: Callable[..., Any], api: PortalApi, live_portal: LivePortal, material: None
) -> None:
    live_portal.add_user("petra", "petra-pass-123", ["planner"])
    desk = open_page()
    sign_in(desk, "petra", "petra-pass-123")
    desk.goto(f"/boms?q={PART}")
    assert_accessible(desk)
    desk.get_by_role("link", name=PART, exact=True).click()

    expect(desk.locator("h1")).to_contain_text(PART)
    desk.get_by_label("Quantity to make").fill("40")
    desk.get_by_role("button", name="Explode").click()
    need = desk.locator("#bom-explosion tr", has_text=PLA).last
    expect(need).to_contain_text("10")  # 40 brackets x 0.25 kg
    expect(desk).to_have_url(re.compile(r"qty=40"))
    screenshot(desk, "bom-explosion")
    assert_accessible(desk)

    desk.goto(f"/boms/{PLA}")
    used = desk.locator("section", has=desk.get_by_role("heading", name="Where used"))
    expect(used.get_by_role("link", name=PART, exact=True)).to_be_visible()
    assert_accessible(desk)

    live_portal.add_user("ada", "ada-pass-1234", ["admin"])
    admin = open_page()
    sign_in(admin, "ada", "ada-pass-1234")
    admin.goto("/scrap-codes")
    admin.get_by_label("Code", exact=True).fill("FLOOR-TEST")
    admin.get_by_label("Category").select_option("handling")
    admin.get_by_label("Description").fill("Knocked off the cart on the floor")
    admin.get_by_label("Corrective action").fill("Use the tote")
    admin.get_by_role("button", name="Add scrap code").click()
    expect(admin.get_by_role("status")).to_contain_text("FLOOR-TEST")
    admin.get_by_role("button", name="Deactivate FLOOR-TEST").click()
    row = admin.locator("tr", has_text="FLOOR-TEST")
    expect(row).to_contain_text("Inactive")
    screenshot(admin, "scrap-codes-admin")
    assert_accessible(admin)


def test_a_start_short_of_material_lists_the_shortages(
    open_page: Callable[..., Any], api: PortalApi, live_portal: LivePortal, material: None
) -> None:
    code = new_order(api, "400")  # 100 kg of PLA; 20 kg were received
    live_portal.add_user("suki", "suki-pass-123", ["supervisor"])
    desk = open_page()
    sign_in(desk, "suki", "suki-pass-123")
    desk.goto(f"/production-orders/{code}")
    desk.get_by_role("button", name="Start production").click()

    shortages = desk.locator("#shortages")
    expect(shortages).to_contain_text(f"Not enough material to start {code}")
    expect(shortages.locator("tr", has_text=PLA)).to_be_visible()
    expect(desk.get_by_label("Start even if material is short")).not_to_be_checked()
    expect(desk.locator("h1 .status")).to_contain_text("Draft")
    screenshot(desk, "production-start-shortages")
    assert_accessible(desk)
