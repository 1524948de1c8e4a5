"""The plant's master data in Chromium, as an admin sets up a new facility: a time zone the
world does not have is refused beside its field and nothing is saved; then the facility in
Europe/Madrid, a line, a night shift crossing midnight (the form says so as the end is typed),
an overlapping early shift refused beside its start with nothing saved, a three-level reason
tree with its colours, and a capacity row; each listed where the plant will look for it. Then
the same pages in Spanish.

What the pages saved is read back from the downtime API (PortalApi, its own admin session), so
a page that only looked right would fail here. Codes carry a -UI suffix: the portal is the
session's, shared with the other browser tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN_PASSWORD, sign_in
from tests.support.browser import LivePortal, PortalApi, assert_accessible, screenshot

FACILITY, LINE = "MAD-UI", "L-UI-1"
API = "/api/downtime/v1"


@pytest.fixture
def api(live_portal: LivePortal) -> Iterator[PortalApi]:
    client = PortalApi(live_portal)
    yield client
    client.close()


def test_an_admin_sets_up_a_facility_with_its_line_shifts_reasons_and_capacity(
    open_page: Callable[..., Any], api: PortalApi
) -> None:
    page = open_page()
    sign_in(page, "admin", ADMIN_PASSWORD)

    # A facility in a time zone that does not exist: refused beside the field, nothing saved.
    page.goto("/plant")
    expect(page.locator("h1")).to_have_text("Facilities")
    assert_accessible(page)
    page.get_by_label("Code", exact=True).fill(FACILITY)
    page.get_by_label("Name", exact=True).fill("Madrid plant")
    page.get_by_label("Time zone").fill("Mars/Olympus_Mons")
    page.get_by_label("Day-lock hour").fill("6")
    page.get_by_role("button", name="Add facility").click()
    expect(page.locator("#e-timezone")).to_contain_text("Unknown time zone Mars/Olympus_Mons")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Madrid plant")
    assert page.locator(f'tr[data-facility="{FACILITY}"]').count() == 0
    api.call("GET", f"{API}/facilities/{FACILITY}", expect=404)
    assert_accessible(page)

    page.get_by_label("Time zone").fill("Europe/Madrid")
    page.get_by_role("button", name="Add facility").click()
    expect(page.get_by_role("status")).to_contain_text(f"Facility {FACILITY} was added")
    facility = api.call("GET", f"{API}/facilities/{FACILITY}")
    assert (facility["timezone"], facility["day_lock_hour"]) == ("Europe/Madrid", 6)

    # A line with its capabilities.
    page.get_by_role("link", name="Lines", exact=True).click()
    page.get_by_label("Code", exact=True).fill(LINE)
    page.get_by_label("Name", exact=True).fill("Filling line 1")
    page.get_by_label("Line type").fill("FILLING")
    page.get_by_label("Tooling type").fill("6-HEAD")
    page.get_by_label("Allergen status").select_option("allergen_free")
    page.get_by_label("Speed modifier").fill("1.25")
    page.get_by_role("button", name="Add line").click()
    line_row = page.locator(f'tr[data-line="{LINE}"]')
    expect(line_row).to_contain_text("Filling line 1")
    expect(line_row).to_contain_text("Allergen-free")
    expect(line_row.get_by_role("link", name=f"Floor tablet of {LINE}")).to_have_attribute(
        "href", f"/floor/lines/{LINE}"
    )
    assert api.call("GET", f"{API}/lines/{LINE}")["speed_modifier"] == "1.2500"

    # A night shift, Monday to Friday (the form's default days), crossing midnight.
    page.get_by_role("link", name="Shifts", exact=True).click()
    expect(page.locator("h1")).to_have_text(f"Shifts of {FACILITY}")
    hint = page.locator("[data-crosses-midnight]")
    page.get_by_label("Code", exact=True).fill("NIGHT")
    page.get_by_label("Name", exact=True).fill("Night")
    page.get_by_label("Starts at").fill("22:00")
    expect(hint).to_be_hidden()
    page.get_by_label("Ends at").fill("06:00")
    expect(hint).to_be_visible()  # said as the end is typed, before anything is sent
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"):
        expect(page.get_by_label(day, exact=True)).to_be_checked()
    expect(page.get_by_label("Saturday", exact=True)).not_to_be_checked()
    page.get_by_role("button", name="Add shift").click()
    night = page.locator('tr[data-shift="NIGHT"]')
    expect(night).to_contain_text("22:00")
    expect(night).to_contain_text("06:00")
    expect(night.locator(".crosses-midnight")).to_have_text("next day")
    expect(night.locator("td.days abbr")).to_have_text(["Mon", "Tue", "Wed", "Thu", "Fri"])

    # Early Tuesday still belongs to Monday's night: a 05:00 Tuesday shift overlaps it.
    page.get_by_label("Code", exact=True).fill("EARLY")
    page.get_by_label("Name", exact=True).fill("Early")
    page.get_by_label("Starts at").fill("05:00")
    page.get_by_label("Ends at").fill("13:00")
    for day in ("Monday", "Wednesday", "Thursday", "Friday"):
        page.get_by_label(day, exact=True).uncheck()
    page.get_by_role("button", name="Add shift").click()
    expect(page.locator("#e-start_time")).to_contain_text("overlap shift NIGHT")
    expect(page.get_by_label("Code", exact=True)).to_have_value("EARLY")
    expect(page.get_by_label("Tuesday", exact=True)).to_be_checked()
    expect(page.get_by_label("Monday", exact=True)).not_to_be_checked()
    assert page.locator('tr[data-shift="EARLY"]').count() == 0
    shifts = api.call("GET", f"{API}/facilities/{FACILITY}/shifts")["items"]
    assert [s["code"] for s in shifts] == ["NIGHT"]
    screenshot(page, "plant-shifts-overlap")
    assert_accessible(page)

    # A three-level reason tree: Mechanical > Nozzle > Clogged, each with its colour.
    page.get_by_role("link", name="Downtime reasons", exact=True).click()
    add_reason(page, "MECH-UI", "Mechanical", "#d9534f")
    page.get_by_role("link", name="Add below Mechanical").click()
    expect(page.get_by_label("Under", exact=True)).to_have_value("MECH-UI")
    add_reason(page, "NOZZLE-UI", "Nozzle", "#f0ad4e")
    page.get_by_role("link", name="Add below Nozzle").click()
    add_reason(page, "CLOG-UI", "Clogged", "#5bc0de")
    rows = page.locator("#reason-tree tbody tr")
    expect(rows).to_have_count(3)
    assert [rows.nth(i).get_attribute("data-level") for i in range(3)] == ["1", "2", "3"]
    for i, colour in enumerate(("#d9534f", "#f0ad4e", "#5bc0de")):
        expect(rows.nth(i).locator("svg.swatch rect")).to_have_attribute("fill", colour)
    expect(rows.nth(2)).to_contain_text("Unplanned")
    clog = api.call("GET", f"{API}/reasons/CLOG-UI")
    assert (clog["parent_code"], clog["colour"], clog["depth"]) == ("NOZZLE-UI", "#5bc0de", 2)
    screenshot(page, "plant-reason-tree")
    assert_accessible(page)

    # The line's capacity: 480 units a shift of any product from 1 March 2026.
    page.get_by_role("link", name="Lines", exact=True).click()
    page.get_by_role("link", name=f"Capacity of {LINE}").click()
    expect(page.locator("h1")).to_have_text(f"Capacity of line {LINE}")
    page.get_by_label("Units per shift").fill("480")
    page.get_by_label("Effective from").fill("2026-03-01")
    page.get_by_role("button", name="Add capacity").click()
    expect(page.get_by_role("status")).to_contain_text("The capacity was added.")
    row = page.locator("#capacity-table tbody tr").first
    expect(row).to_contain_text("Any product")
    expect(row).to_contain_text("480")
    capacities = api.call("GET", f"{API}/lines/{LINE}/capacities")["items"]
    assert [
        (c["sku"], c["family"], c["units_per_shift"], c["effective_from"]) for c in capacities
    ] == [(None, None, "480.0000", "2026-03-01")]
    assert_accessible(page)

    # And the facility is listed with its zone and day-lock hour.
    page.goto("/plant")
    listed = page.locator(f'tr[data-facility="{FACILITY}"]')
    expect(listed).to_contain_text("Europe/Madrid")
    expect(listed).to_contain_text("06:00 the next day")


def add_reason(page: Any, code: str, name: str, colour: str) -> None:
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Colour", exact=True).fill(colour)
    page.get_by_role("button", name="Add reason").click()
    expect(page.get_by_role("status")).to_contain_text(f"Reason {code} was added.")


def test_the_plant_pages_in_spanish(
    open_page: Callable[..., Any], api: PortalApi, live_portal: LivePortal
) -> None:
    if api.client.get(f"{API}/facilities/BCN-UI").status_code == 404:
        api.call(
            "POST",
            f"{API}/facilities",
            expect=201,
            json={"code": "BCN-UI", "name": "Barcelona", "timezone": "Europe/Madrid"},
        )
    live_portal.add_user("sofia", "sofia-pass-123", ["admin"], language="es")
    page = open_page()
    sign_in(page, "sofia", "sofia-pass-123")

    page.goto("/plant")
    expect(page.locator("h1")).to_have_text("Instalaciones")
    expect(page.get_by_role("link", name="Planta", exact=True)).to_be_visible()
    page.get_by_role("link", name="BCN-UI", exact=True).click()
    page.get_by_role("link", name="Turnos", exact=True).click()
    expect(page.locator("h1")).to_have_text("Turnos de BCN-UI")
    expect(page.get_by_role("heading", name="Añadir un turno")).to_be_visible()
    expect(page.get_by_label("lunes", exact=True)).to_be_checked()
    page.get_by_label("Código").fill("NOCHE")
    page.get_by_label("Nombre", exact=True).fill("Noche")
    page.get_by_label("Empieza a las").fill("23:00")
    page.get_by_label("Termina a las").fill("07:00")
    expect(page.locator("[data-crosses-midnight]")).to_contain_text("cruza la medianoche")
    page.get_by_role("button", name="Añadir turno").click()
    expect(page.get_by_role("status")).to_contain_text("Se añadió el turno NOCHE.")
    expect(page.locator('tr[data-shift="NOCHE"] .crosses-midnight')).to_have_text(
        re.compile("día siguiente")
    )
    assert_accessible(page)
