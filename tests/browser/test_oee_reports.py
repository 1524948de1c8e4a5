"""The OEE and downtime reports in Chromium: a supervisor opens OEE for a day with known stops,
reads the availability and its inputs, is told beside the field when the last day comes before
the first, opens the downtime page (the Pareto drawn in the reasons' colours, the reasons in
order with their cumulative percentage, the trend by week), and downloads the workbooks. A
viewer who reads Spanish sees the OEE page in Spanish.

The plant is set up through the API as an admin: facility BRW-OEE (UTC, so the clock needs
no converting) with one shift DAY 06:00-14:00 every day, line BRW-L1, reasons JAM and POWER
(unplanned) and CHANGE (planned). On Monday 2026-03-02 the line stopped for CHANGE
06:00-06:30, JAM 08:00-08:30, POWER 10:00-10:10 and JAM 12:00-12:05. Worked by hand:

- shift time 8 h; planned downtime 30 min; planned time 8 h - 30 min = 7 h 30 min (450 min);
- unplanned downtime 30 + 10 + 5 = 45 min; run time 7 h 30 min - 45 min = 6 h 45 min (405 min);
- availability = 405 / 450 = 0.9 -> 90.0 %;
- 75 min of downtime: JAM 35 min (35/75 = 46.7 %, cumulative 46.7 %), CHANGE 30 min (40.0 %,
  cumulative 65/75 = 86.7 %), POWER 10 min (13.3 %, cumulative 100.0 %).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from typing import Any

import openpyxl
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.support.browser import LivePortal, PortalApi, assert_accessible, screenshot

API = "/api/downtime/v1"
FACILITY, LINE, DAY = "BRW-OEE", "BRW-L1", "2026-03-02"
REASONS = [
    ("JAM", "Jam", "#d62728", False),
    ("POWER", "Power cut", "#2ca02c", False),
    ("CHANGE", "Changeover", "#1f77b4", True),
]
STOPS = [
    ("CHANGE", "06:00", "06:30"),
    ("JAM", "08:00", "08:30"),
    ("POWER", "10:00", "10:10"),
    ("JAM", "12:00", "12:05"),
]
# Names of their own: the browser tests share one portal (test_frame.py signs in a "lucia").
SUPERVISOR, VIEWER, PASSWORD = "sue-oee", "ines-oee", "oee-pass-123"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Reason codes are unique across facilities: this module's own prefix keeps them apart from the
# demo plant's and from other modules' on the same live portal.
PREFIX = "BRW-"


@pytest.fixture(scope="module")
def plant(live_portal: LivePortal) -> Iterator[None]:
    """The plant and its day of stops, set up once for the module's tests."""
    client = PortalApi(live_portal)
    try:
        set_up_plant(client)
        yield
    finally:
        client.close()


def set_up_plant(api: PortalApi) -> None:
    api.call(
        "POST",
        f"{API}/facilities",
        expect=201,
        json={"code": FACILITY, "name": "Browser OEE plant", "timezone": "UTC"},
    )
    shift = {
        "code": "DAY",
        "name": "Day shift",
        "start_time": "06:00",
        "end_time": "14:00",
        "days_of_week": "1234567",
    }
    api.call("POST", f"{API}/facilities/{FACILITY}/shifts", expect=201, json=shift)
    line = {"code": LINE, "facility_code": FACILITY, "name": "Browser printer"}
    api.call("POST", f"{API}/lines", expect=201, json=line)
    for code, name, colour, planned in REASONS:
        reason = {"code": PREFIX + code, "facility_code": FACILITY, "name": name}
        api.call(
            "POST",
            f"{API}/reasons",
            expect=201,
            json={**reason, "colour": colour, "planned": planned},
        )
    for reason, start, end in STOPS:
        stop = {
            "line_code": LINE,
            "reason_code": PREFIX + reason,
            "started_at": f"{DAY}T{start}:00Z",
            "ended_at": f"{DAY}T{end}:00Z",
        }
        api.call("POST", f"{API}/downtimes", expect=201, json=stop)


def chart_drawn(page: Any, box_id: str) -> None:
    """ECharts drew into the box: a canvas of the box's size, with something painted on it."""
    expect(page.locator(f"#{box_id} canvas")).to_have_count(1)
    painted = page.evaluate(
        """(id) => {
            const canvas = document.querySelector('#' + id + ' canvas');
            const data = canvas.getContext('2d')
                .getImageData(0, 0, canvas.width, canvas.height).data;
            let inked = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) inked++;
            return {inked, width: canvas.width, height: canvas.height};
        }""",
        box_id,
    )
    assert painted["width"] > 300 and painted["height"] > 150, painted
    assert painted["inked"] > 2000, painted


def painted_red(page: Any, box_id: str) -> int:
    """Pixels of the chart in JAM's red (#d62728): the largest bar wears its reason's colour."""
    return int(
        page.evaluate(
            """(id) => {
                const canvas = document.querySelector('#' + id + ' canvas');
                const data = canvas.getContext('2d')
                    .getImageData(0, 0, canvas.width, canvas.height).data;
                let red = 0;
                for (let i = 0; i < data.length; i += 4)
                    if (data[i] === 0xd6 && data[i + 1] === 0x27 && data[i + 2] === 0x28) red++;
                return red;
            }""",
            box_id,
        )
    )


def workbook_rows(page: Any, link_id: str) -> list[tuple[Any, ...]]:
    """The workbook the link points at, fetched with the page's session: its rows."""
    href = page.locator(f"#{link_id}").get_attribute("href")
    assert href and href.startswith(f"{API}/reports/"), href
    answer = page.request.get(href)
    assert answer.status == 200, answer.text()
    assert answer.headers["content-type"].startswith(XLSX)
    sheet = openpyxl.load_workbook(io.BytesIO(answer.body())).active
    assert sheet is not None
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


@pytest.mark.usefixtures("plant")
def test_a_supervisor_reads_oee_and_the_downtime_pareto(
    open_page: Callable[..., Any], live_portal: LivePortal
) -> None:
    live_portal.add_user(SUPERVISOR, PASSWORD, ["supervisor"])
    page = open_page()
    sign_in(page, SUPERVISOR, PASSWORD)

    # OEE of the day on the line: availability and its inputs.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Downtime & OEE").click()
    expect(page.locator("h1")).to_have_text("Overall equipment effectiveness")
    page.get_by_label("Facility", exact=True).select_option(FACILITY)
    page.get_by_label("From", exact=True).fill(DAY)
    page.get_by_label("To", exact=True).fill(DAY)
    page.get_by_role("button", name="Show").click()
    page.get_by_label("Line", exact=True).select_option(LINE)
    page.get_by_role("button", name="Show").click()
    row = page.locator("#oee-table tbody.oee-group").first
    expect(row.locator("[data-factor=availability]")).to_have_text("90.0 %")
    expect(row.locator("[data-input=shift]")).to_have_text("8 h")
    expect(row.locator("[data-input=planned-downtime]")).to_have_text("30 min")
    expect(row.locator("[data-input=planned]")).to_have_text("7 h 30 min")
    expect(row.locator("[data-input=unplanned-downtime]")).to_have_text("45 min")
    expect(row.locator("[data-input=run]")).to_have_text("6 h 45 min")
    expect(row.locator(".working-lines")).to_contain_text(
        "A = run time / planned time = 6 h 45 min / 7 h 30 min = 90.0 %"
    )
    expect(page.locator("#kpi-availability")).to_have_text("90.0 %")
    chart_drawn(page, "oee-chart")
    screenshot(page, "oee-report")
    assert_accessible(page)
    rows = workbook_rows(page, "oee-xlsx")
    assert len(rows) == 3  # the headers, the line, the total
    assert LINE in rows[1]

    # The last day before the first: said beside the field, no figures.
    page.get_by_label("From", exact=True).fill("2026-03-05")
    page.get_by_label("To", exact=True).fill("2026-03-01")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#e-date_to")).to_have_text("The last day comes before the first day.")
    expect(page.locator("#oee-table")).to_have_count(0)

    # The downtime page of the same day: the Pareto in the reasons' colours.
    page.goto(f"/oee/downtime?facility_code={FACILITY}&date_from={DAY}&date_to={DAY}")
    expect(page.locator("h1")).to_have_text("Downtime by reason and line")
    chart_drawn(page, "pareto-chart")
    assert painted_red(page, "pareto-chart") > 500
    reasons = page.locator("#pareto-table tbody tr")
    expect(reasons).to_have_count(3)
    expect(reasons.nth(0)).to_have_attribute("data-reason", PREFIX + "JAM")
    expect(reasons.nth(1)).to_have_attribute("data-reason", PREFIX + "CHANGE")
    expect(reasons.nth(2)).to_have_attribute("data-reason", PREFIX + "POWER")
    expect(reasons.nth(0).locator("td.cumulative")).to_have_text("46.7 %")
    expect(reasons.nth(1).locator("td.cumulative")).to_have_text("86.7 %")
    expect(reasons.nth(2).locator("td.cumulative")).to_have_text("100.0 %")
    expect(reasons.nth(0)).to_contain_text("35 min")
    expect(page.locator("#kpi-downtime")).to_have_text("1 h 15 min")
    expect(page.locator("#reliability-table tbody tr")).to_contain_text(
        re.compile(r"6 h 45 min\s+45 min\s+3\s+2 h 15 min\s+15 min")
    )
    chart_drawn(page, "trend-chart")
    screenshot(page, "oee-downtime")
    assert_accessible(page)

    # The workbooks: the Pareto's rows as the table shows them, and a real download.
    pareto = workbook_rows(page, "pareto-xlsx")
    assert len(pareto) == 4  # the headers and three reasons
    assert [each[0] for each in pareto[1:]] == [PREFIX + "JAM", PREFIX + "CHANGE", PREFIX + "POWER"]
    with page.expect_download() as download:
        page.locator("#summary-xlsx").click()
    assert download.value.suggested_filename == f"downtime-summary-{DAY}-{DAY}.xlsx"

    # The trend by week.
    page.locator("#trend-by-week").click()
    expect(page.locator("#trend-by-week")).to_have_attribute("aria-current", "page")
    expect(page.locator("#trend-table tbody tr")).to_have_count(1)
    chart_drawn(page, "trend-chart")
    trend = workbook_rows(page, "trend-xlsx")
    assert [row[0] for row in trend[1:]] == ["2026-W10"]


@pytest.mark.usefixtures("plant")
def test_the_oee_page_in_spanish(open_page: Callable[..., Any], live_portal: LivePortal) -> None:
    live_portal.add_user(VIEWER, PASSWORD, ["viewer"], language="es")
    page = open_page()
    sign_in(page, VIEWER, PASSWORD)
    page.get_by_role("navigation", name="Principal").get_by_role("link", name="Paros y OEE").click()
    expect(page.locator("h1")).to_have_text("Eficiencia general de los equipos (OEE)")
    page.get_by_label("Planta", exact=True).select_option(FACILITY)
    page.get_by_label("Desde", exact=True).fill(DAY)
    page.get_by_label("Hasta", exact=True).fill(DAY)
    page.get_by_label("Agrupar por", exact=True).select_option("day")
    page.get_by_role("button", name="Mostrar").click()
    row = page.locator("#oee-table tbody.oee-group").first
    expect(row.locator("[data-factor=availability]")).to_have_text("90.0 %")
    expect(row.locator(".working-lines")).to_contain_text(
        "D = tiempo en marcha / tiempo planificado = 6 h 45 min / 7 h 30 min = 90.0 %"
    )
    chart_drawn(page, "oee-chart")
    screenshot(page, "oee-report-es")
    assert_accessible(page)
