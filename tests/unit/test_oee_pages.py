"""The OEE and downtime report pages in a running embedded portal, read as a supervisor would.

The plant is set up through the gateway's API as the admin: facility OEEP (UTC, so the
clock needs no converting) with one shift DAY 06:00-14:00 every day, line OEEP-L1, reasons
JAM (unplanned, red), POWER (unplanned, green) and CHANGE (planned, blue). On Monday
2026-03-02 the line stopped for CHANGE 06:00-06:30, JAM 08:00-08:30, POWER 10:00-10:10 and
JAM 12:00-12:05. Worked by hand for that day:

- shift time 8 h; planned downtime 30 min; planned time 7 h 30 min (450 min);
- unplanned downtime 30 + 10 + 5 = 45 min; run time 6 h 45 min (405 min);
- availability 405 / 450 = 90.0 %; nothing was made, so quality has nothing to divide by;
- downtime 75 min in 4 stops: JAM 35 min (46.7 %, cumulative 46.7 %), CHANGE 30 min (40.0 %,
  86.7 %), POWER 10 min (13.3 %, 100.0 %);
- MTBF = 405 min / 3 failures = 2 h 15 min; MTTR = 45 min / 3 = 15 min.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest

from services.downtime.floor.models import QcOutcome, RunOutput
from services.embedded import EmbeddedPortal
from services.gateway.ui.oee.formats import duration, oee_working
from shared.i18n import language_scope
from tests.support.ui import ADMIN_PASSWORD, Browser, add_user, signed_in, ui_portal

API = "/api/downtime/v1"
FACILITY, LINE, DAY = "OEEP", "OEEP-L1", "2026-03-02"
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
RANGE = f"facility_code={FACILITY}&date_from={DAY}&date_to={DAY}"


async def set_up_plant(api: httpx.AsyncClient) -> None:
    async def post(path: str, body: dict[str, Any]) -> None:
        answer = await api.post(f"{API}/{path}", json=body)
        assert answer.status_code == 201, f"{path}: {answer.status_code} {answer.text}"

    await post("facilities", {"code": FACILITY, "name": "OEE plant", "timezone": "UTC"})
    await post(
        f"facilities/{FACILITY}/shifts",
        {
            "code": "DAY",
            "name": "Day shift",
            "start_time": "06:00",
            "end_time": "14:00",
            "days_of_week": "1234567",
        },
    )
    await post("lines", {"code": LINE, "facility_code": FACILITY, "name": "Printer one"})
    for code, name, colour, planned in REASONS:
        reason = {"code": code, "facility_code": FACILITY, "name": name, "colour": colour}
        await post("reasons", {**reason, "planned": planned})
    for reason, start, end in STOPS:
        await post(
            "downtimes",
            {
                "line_code": LINE,
                "reason_code": reason,
                "started_at": f"{DAY}T{start}:00Z",
                "ended_at": f"{DAY}T{end}:00Z",
            },
        )


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[EmbeddedPortal]:
    async with ui_portal(tmp_path) as running:
        add_user(running, "sam", ["supervisor"])
        add_user(running, "sofia", ["viewer"], language="es")
        transport = httpx.ASGITransport(app=running.gateway.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://portal") as api:
            login = await api.post(
                "/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
            )
            assert login.status_code == 200, login.text
            api.headers["X-CSRF-Token"] = login.headers["X-CSRF-Token"]
            await set_up_plant(api)
        yield running


@pytest.fixture
async def sam(portal: EmbeddedPortal) -> AsyncIterator[Browser]:
    async with signed_in(portal, "sam") as browser:
        yield browser


async def html_of(browser: Browser, url: str, status: int = 200) -> str:
    answer = await browser.get(url)
    assert answer.status_code == status, f"{url}: {answer.status_code} {answer.text[-3000:]}"
    return answer.text


def plain(html: str) -> str:
    """The page's text: tags out, entities decoded, whitespace squeezed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def part(html: str, start: str, end: str = "</table>") -> str:
    found = html.index(start)
    return html[found : html.index(end, found)]


def field_error(html: str, name: str) -> str:
    found = re.search(rf'<p class="field-error" id="e-{re.escape(name)}"[^>]*>(.*?)</p>', html)
    assert found, f"no message beside {name}"
    return unescape(found.group(1)).strip()


# --- the formats, without a portal -----------------------------------------------------------


def test_durations_read_as_hours_and_minutes() -> None:
    with language_scope("en"):
        assert duration("24300.0000") == "6 h 45 min"
        assert duration("27000") == "7 h 30 min"
        assert duration("2700") == "45 min"
        assert duration("28800") == "8 h"
        assert duration("90") == "1 min 30 s"
        assert duration("3630.4") == "1 h 00 min 30 s"
        assert duration("0") == "0 min"
        assert duration(None) == "\u2013"


def test_each_factor_is_written_out_with_its_inputs() -> None:
    figures = {
        "shift_seconds": "28800",
        "planned_downtime_seconds": "1800",
        "planned_seconds": "27000",
        "unplanned_downtime_seconds": "2700",
        "run_seconds": "24300",
        "ideal_run_seconds": "19440",
        "total_count": "100",
        "bad_count": "3",
        "qc_failed_count": "2",
        "good_count": "95",
        "availability": "0.9000",
        "performance": "0.8000",
        "quality": "0.9500",
        "oee": "0.6840",
        "missing_capacity_skus": [],
    }
    with language_scope("en"):
        lines = oee_working(figures)
    assert lines == [
        "Planned time = shift time \u2212 planned downtime = 8 h \u2212 30 min = 7 h 30 min",
        "Run time = planned time \u2212 unplanned downtime = 7 h 30 min \u2212 45 min = 6 h 45 min",
        "A = run time / planned time = 6 h 45 min / 7 h 30 min = 90.0 %",
        "P = ideal run time / run time = 5 h 24 min / 6 h 45 min = 80.0 %",
        "Good = total \u2212 bad \u2212 failed at QC = 100 \u2212 3 \u2212 2 = 95",
        "Q = good / total = 95 / 100 = 95.0 %",
        "OEE = A \u00d7 P \u00d7 Q = 90.0 % \u00d7 80.0 % \u00d7 95.0 % = 68.4 %",
    ]
    missing = {**figures, "performance": None, "oee": None, "missing_capacity_skus": ["W-1"]}
    with language_scope("es"):
        lines = oee_working(missing)
    assert lines[2] == (
        "D = tiempo en marcha / tiempo planificado = 6 h 45 min / 7 h 30 min = 90.0 %"
    )
    assert lines[3] == (
        "R no se puede calcular: no hay capacidad definida para W-1 en esta l\u00ednea."
    )


# --- the pages --------------------------------------------------------------------------------


async def test_the_oee_page_shows_availability_and_its_inputs(sam: Browser) -> None:
    html = await html_of(sam, f"/oee?{RANGE}&line_code={LINE}")
    table = plain(part(html, 'id="oee-table"'))
    assert f"{LINE} Printer one 90.0 %" in table
    assert "8 h 30 min 7 h 30 min 45 min 6 h 45 min" in table
    assert "A = run time / planned time = 6 h 45 min / 7 h 30 min = 90.0 %" in table
    assert "Q = good / total: nothing was made." in table
    assert 'id="oee-chart"' in html
    xlsx = re.search(r'href="([^"]+)" download id="oee-xlsx"', html)
    assert xlsx and unescape(xlsx.group(1)) == (
        f"/api/downtime/v1/reports/oee.xlsx?facility_code={FACILITY}&line_code={LINE}"
        f"&date_from={DAY}&date_to={DAY}&group_by=line"
    )
    answer = await sam.get(unescape(xlsx.group(1)))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    # The headers, the line and the total.
    assert sheet.max_row == 3


async def test_the_downtime_page_orders_reasons_with_their_cumulative_share(sam: Browser) -> None:
    html = await html_of(sam, f"/oee/downtime?{RANGE}")
    pareto = part(html, 'id="pareto-table"')
    rows = re.findall(r'<tr data-reason="([^"]*)">(.*?)</tr>', pareto, re.S)
    assert [code for code, _row in rows] == ["JAM", "CHANGE", "POWER"]
    shown = [plain(row) for _code, row in rows]
    assert "2 35 min 35 46.7 % 46.7 %" in shown[0]
    assert "1 30 min 30 40.0 % 86.7 %" in shown[1]
    assert "1 10 min 10 13.3 % 100.0 %" in shown[2]
    assert 'fill="#d62728"' in rows[0][1]
    assert 'id="pareto-chart"' in html
    lines = plain(part(html, 'id="lines-table"'))
    assert f"{LINE} Printer one {FACILITY} 4 1 h 15 min 75 30 min 45 min 100.0 %" in lines
    reliability = plain(part(html, 'id="reliability-table"'))
    assert f"{LINE} Printer one 6 h 45 min 45 min 3 2 h 15 min 15 min" in reliability
    week = await html_of(sam, f"/oee/downtime?{RANGE}&bucket=week")
    assert 'data-bucket="2026-W10"' in week


async def test_the_last_day_before_the_first_is_said_beside_it(sam: Browser) -> None:
    html = await html_of(
        sam, f"/oee?facility_code={FACILITY}&date_from=2026-03-05&date_to=2026-03-01", 422
    )
    assert field_error(html, "date_to") == "The last day comes before the first day."
    assert 'id="oee-table"' not in html
    html = await html_of(sam, "/oee/downtime?facility_code=NOPE", 404)
    assert "NOPE" in field_error(html, "facility_code")


async def test_the_oee_page_in_spanish(portal: EmbeddedPortal) -> None:
    async with signed_in(portal, "sofia") as sofia:
        html = await html_of(sofia, f"/oee?{RANGE}&group_by=day")
    assert "Paros y OEE" in html
    table = plain(part(html, 'id="oee-table"'))
    assert "D = tiempo en marcha / tiempo planificado = 6 h 45 min / 7 h 30 min = 90.0 %" in table


async def test_odd_days_are_refused_beside_their_field_never_a_failure(sam: Browser) -> None:
    for query in (
        "date_to=0001-01-01",
        "date_from=9999-12-25&date_to=9999-12-31",
        "date_from=0001-01-01&date_to=0001-01-07",
        "date_from=2026-02-30",
        "date_from=2025-01-01&date_to=2026-12-31",
        "line_code=%00&facility_code=%C3%B1and%C3%BA&group_by=bogus&bucket=-1&planned=x",
    ):
        for path in ("/oee", "/oee/downtime"):
            answer = await sam.get(f"{path}?{query}")
            assert answer.status_code < 500, (path, query, answer.text[-2000:])
    html = await html_of(sam, "/oee?date_from=2026-02-30", 422)
    assert field_error(html, "date_from")
    html = await html_of(sam, "/oee/downtime?date_from=2025-01-01&date_to=2026-12-31", 422)
    assert "366" in field_error(html, "date_to")


def made_on_the_line(portal: EmbeddedPortal) -> None:
    """What production's events would have left in the downtime service's read model: a run
    of 100 OEE-W on the line at 13:00 (97 good, 3 bad), of which QC later failed 2."""
    done = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    with portal.runtimes["downtime"].uow() as uow:
        uow.session.add(
            RunOutput(
                run_id="RUN-OEE-1",
                order_code="PO-OEE-1",
                sku="OEE-W",
                line_code=LINE,
                qty_good=Decimal(97),
                qty_bad=Decimal(3),
                started_at=None,
                completed_at=done,
            )
        )
        uow.session.add(
            QcOutcome(
                qc_record_id="QC-OEE-1",
                order_code="PO-OEE-1",
                run_id="RUN-OEE-1",
                qty_passed=Decimal(95),
                qty_failed=Decimal(2),
                inspected_at=done,
            )
        )
        uow.commit()


async def test_performance_and_quality_with_their_inputs_once_the_line_has_a_capacity(
    portal: EmbeddedPortal, sam: Browser
) -> None:
    """Without a capacity for OEE-W, performance cannot be worked out and the page says which
    product lacks one. With 120 a shift (8 h: 240 s a unit), the 100 made ideally take
    24,000 s = 6 h 40 min: P = 24,000 / 24,300 = 98.8 %; good = 100 - 3 - 2 = 95, Q = 95.0 %;
    OEE = 0.9 x 0.98765... x 0.95 = 84.4 %."""
    made_on_the_line(portal)
    html = await html_of(sam, f"/oee?{RANGE}")
    warning = re.search(r'id="oee-missing-capacity">(.*?)</p>', html, re.S)
    assert warning and "OEE-W" in unescape(warning.group(1))
    table = plain(part(html, 'id="oee-table"'))
    assert "P cannot be worked out: no capacity is set for OEE-W on this line." in table

    transport = httpx.ASGITransport(app=portal.gateway.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal") as api:
        login = await api.post(
            "/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        api.headers["X-CSRF-Token"] = login.headers["X-CSRF-Token"]
        capacity = {"sku": "OEE-W", "units_per_shift": "120", "effective_from": "2026-01-01"}
        answer = await api.post(f"{API}/lines/{LINE}/capacities", json=capacity)
        assert answer.status_code == 201, answer.text
    html = await html_of(sam, f"/oee?{RANGE}")
    assert 'id="oee-missing-capacity"' not in html
    table = plain(part(html, 'id="oee-table"'))
    assert f"{LINE} Printer one 90.0 % 98.8 % 95.0 % 84.4 %" in table
    assert "6 h 40 min 100 95" in table
    assert "P = ideal run time / run time = 6 h 40 min / 6 h 45 min = 98.8 %" in table
    assert "Good = total \u2212 bad \u2212 failed at QC = 100 \u2212 3 \u2212 2 = 95" in table
    assert "Q = good / total = 95 / 100 = 95.0 %" in table
    assert "OEE = A \u00d7 P \u00d7 Q = 90.0 % \u00d7 98.8 % \u00d7 95.0 % = 84.4 %" in table
