"""The plant's master-data pages in a running embedded portal: facilities, lines, shifts, the
reason tree, capacity and day locks, each changed through its form as a browser does (the
page's CSRF token, the sign-in form's session), each refusal shown beside its field with
nothing saved, and each button drawn only for the roles that may use it.

What the pages saved is read back from the downtime service's API as the admin, so a page that
showed a success without the service having it would fail here.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from services.embedded import EmbeddedPortal
from services.gateway.ui.plant.reasons import tree_rows
from services.gateway.ui.plant.shifts import crosses_midnight
from tests.support.ui import ADMIN_PASSWORD, Browser, add_user, signed_in, ui_portal

USERS = {
    "ada": (["admin"], "en"),
    "sam": (["supervisor"], "en"),
    "paula": (["planner"], "en"),
    "vera": (["viewer"], "en"),
    "sofia": (["admin"], "es"),
}
API = "/api/downtime/v1"


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[EmbeddedPortal]:
    async with ui_portal(tmp_path) as running:
        for username, (roles, language) in USERS.items():
            add_user(running, username, roles, language=language)
        yield running


@pytest.fixture
async def api(portal: EmbeddedPortal) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway's JSON API as the admin, to read back what the pages saved."""
    transport = httpx.ASGITransport(app=portal.gateway.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal") as client:
        login = await client.post(
            "/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        assert login.status_code == 200, login.text
        client.headers["X-CSRF-Token"] = login.headers["X-CSRF-Token"]
        yield client


@pytest.fixture
async def ada(portal: EmbeddedPortal) -> AsyncIterator[Browser]:
    async with signed_in(portal, "ada") as browser:
        yield browser


async def html_of(browser: Browser, url: str, status: int = 200) -> str:
    answer = await browser.get(url)
    assert answer.status_code == status, f"{url}: {answer.status_code} {answer.text[-3000:]}"
    return answer.text


async def posted(browser: Browser, url: str, data: Mapping[str, Any], status: int = 303) -> str:
    """Post a form; on a redirect the page it leads to, else the page drawn again."""
    answer = await browser.post_form(url, dict(data))
    assert answer.status_code == status, f"{url}: {answer.status_code} {answer.text[-3000:]}"
    if status == 303:
        return await html_of(browser, answer.headers["location"])
    return answer.text


def field_error(html: str, name: str) -> str:
    found = re.search(
        rf'<p class="field-error" id="e-{re.escape(name)}"[^>]*>(.*?)</p>', html, re.S
    )
    assert found, f"no message beside {name} on the page"
    return unescape(found.group(1)).strip()


def form_error(html: str) -> str:
    found = re.search(r'<div class="alert error" role="alert">(.*?)</div>', html, re.S)
    assert found, "no message at the top of the form"
    return unescape(found.group(1)).strip()


def row_of(html: str, attribute: str, code: str) -> str:
    found = re.search(rf'<tr[^>]*{attribute}="{re.escape(code)}"[^>]*>(.*?)</tr>', html, re.S)
    assert found, f"no row {code}"
    return found.group(0)


async def items(api: httpx.AsyncClient, path: str, **params: str) -> list[dict[str, Any]]:
    answer = await api.get(f"{API}/{path}", params=params)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["items"]
    return found


async def a_facility(browser: Browser, code: str = "MAD", zone: str = "Europe/Madrid") -> None:
    await html_of(browser, "/plant")
    await posted(
        browser,
        "/plant/facilities/new",
        {"code": code, "name": f"{code} plant", "timezone": zone, "day_lock_hour": "6"},
    )


# --- the domain bits the pages compute ------------------------------------------------------


def test_a_shift_ending_at_or_before_its_start_crosses_midnight() -> None:
    assert crosses_midnight("22:00", "06:00")
    assert crosses_midnight("06:00:00", "06:00")  # a 24-hour shift ends the next day
    assert not crosses_midnight("06:00", "14:00")
    assert not crosses_midnight("", "06:00")


def test_the_tree_puts_each_reason_under_its_parent_by_sort_order_then_name() -> None:
    flat = [
        {"code": "JAM", "parent_code": "MECH", "name": "Jam", "sort_order": 2},
        {"code": "MECH", "parent_code": None, "name": "Mechanical", "sort_order": 1},
        {"code": "BREAK", "parent_code": None, "name": "Break", "sort_order": 0},
        {"code": "NOZ", "parent_code": "MECH", "name": "Nozzle", "sort_order": 1},
        {"code": "CLOG", "parent_code": "NOZ", "name": "Clogged", "sort_order": 0},
        {"code": "LOST", "parent_code": "GONE", "name": "Orphan", "sort_order": 5},
        {"code": "A", "parent_code": "B", "name": "Loop A"},
        {"code": "B", "parent_code": "A", "name": "Loop B"},
    ]
    rows = tree_rows(flat)
    assert [(r["code"], r["level"]) for r in rows] == [
        ("BREAK", 1),
        ("MECH", 1),
        ("NOZ", 2),
        ("CLOG", 3),
        ("JAM", 2),
        ("LOST", 1),
    ]  # a loop in the data (A under B under A) is left out rather than hanging the page


# --- facilities -----------------------------------------------------------------------------


async def test_an_unknown_time_zone_is_shown_beside_its_field_and_nothing_is_saved(
    ada: Browser, api: httpx.AsyncClient
) -> None:
    page = await html_of(ada, "/plant")
    assert '<datalist id="time-zones">' in page and '<option value="Europe/Madrid">' in page

    refused = await posted(
        ada,
        "/plant/facilities/new",
        {"code": "MARS", "name": "Mars base", "timezone": "Mars/Olympus_Mons"},
        status=422,
    )
    assert "Unknown time zone Mars/Olympus_Mons" in field_error(refused, "timezone")
    assert 'value="Mars base"' in refused  # what was typed is kept
    assert await items(api, "facilities") == []

    await a_facility(ada)
    saved = (await api.get(f"{API}/facilities/MAD")).json()
    assert (saved["timezone"], saved["day_lock_hour"], saved["active"]) == (
        "Europe/Madrid",
        6,
        True,
    )


async def test_admin_changes_and_deactivates_a_facility(
    ada: Browser, api: httpx.AsyncClient
) -> None:
    await a_facility(ada, "LIS", "Europe/Lisbon")
    page = await posted(
        ada,
        "/plant/facilities/LIS",
        {"name": "Lisbon plant", "timezone": "Atlantic/Madeira", "day_lock_hour": ""},
    )
    assert "Facility LIS was saved." in page
    saved = (await api.get(f"{API}/facilities/LIS")).json()
    assert (saved["name"], saved["timezone"], saved["day_lock_hour"]) == (
        "Lisbon plant",
        "Atlantic/Madeira",
        None,
    )
    hour = await posted(
        ada,
        "/plant/facilities/LIS",
        {"name": "Lisbon plant", "timezone": "Atlantic/Madeira", "day_lock_hour": "24"},
        status=422,
    )
    assert field_error(hour, "day_lock_hour")
    assert (await api.get(f"{API}/facilities/LIS")).json()["day_lock_hour"] is None

    await posted(ada, "/plant/facilities/LIS/lines/new", {"code": "LIS-1", "name": "Line"})
    busy = await posted(ada, "/plant/facilities/LIS/deactivate", {}, status=409)
    assert "still has active lines (LIS-1)" in form_error(busy)
    assert (await api.get(f"{API}/facilities/LIS")).json()["active"] is True
    await posted(ada, "/plant/lines/LIS-1/deactivate", {})
    gone = await posted(ada, "/plant/facilities/LIS/deactivate", {})
    assert "Facility LIS was deactivated." in gone
    assert (await api.get(f"{API}/facilities/LIS")).json()["active"] is False
    back = await posted(ada, "/plant/facilities/LIS/reactivate", {})
    assert "Facility LIS is active again." in back


# --- lines and capacity ---------------------------------------------------------------------


async def test_admin_adds_a_line_with_its_capabilities_and_links_its_pages(
    ada: Browser, api: httpx.AsyncClient
) -> None:
    await a_facility(ada)
    listed = await posted(
        ada,
        "/plant/facilities/MAD/lines/new",
        {
            "code": "L1",
            "name": "Filling line 1",
            "line_type": "FILLING",
            "tooling_type": "6-HEAD",
            "allergen_status": "allergen_free",
            "speed_modifier": "1.25",
        },
    )
    row = row_of(listed, "data-line", "L1")
    assert "FILLING" in row and "6-HEAD" in row and "Allergen-free" in row and "1.25" in row
    assert 'href="/plant/lines/L1/capacity"' in row and 'href="/floor/lines/L1"' in row
    saved = (await api.get(f"{API}/lines/L1")).json()
    assert (saved["facility_code"], saved["allergen_status"], saved["speed_modifier"]) == (
        "MAD",
        "allergen_free",
        "1.2500",
    )

    slow = await posted(
        ada,
        "/plant/lines/L1",
        {"name": "Filling line 1", "allergen_status": "allergen_free", "speed_modifier": "0"},
        status=422,
    )
    assert field_error(slow, "speed_modifier")
    assert (await api.get(f"{API}/lines/L1")).json()["speed_modifier"] == "1.2500"

    off = await posted(ada, "/plant/lines/L1/deactivate", {})
    assert "Line L1 was deactivated" in off
    assert (await api.get(f"{API}/lines/L1")).json()["active"] is False


async def test_a_planner_sets_capacity_and_the_rows_show_their_target(
    portal: EmbeddedPortal, ada: Browser, api: httpx.AsyncClient
) -> None:
    await a_facility(ada)
    await posted(ada, "/plant/facilities/MAD/lines/new", {"code": "L2", "name": "Line 2"})
    async with signed_in(portal, "paula") as paula:
        page = await html_of(paula, "/plant/lines/L2/capacity")
        assert "Add a capacity" in page
        both = await posted(
            paula,
            "/plant/lines/L2/capacity/new",
            {"sku": "JAR-1", "family": "JARS", "units_per_shift": "10", "effective_from": ""},
            status=422,
        )
        assert field_error(both, "effective_from")
        assert await items(api, "lines/L2/capacities") == []

        await posted(
            paula,
            "/plant/lines/L2/capacity/new",
            {"family": "JARS", "units_per_shift": "1200", "effective_from": "2026-03-01"},
        )
        listed = await posted(
            paula,
            "/plant/lines/L2/capacity/new",
            {"units_per_shift": "900", "effective_from": "2026-03-01"},
        )
        assert "Family JARS" in listed and "Any product" in listed
        rows = {r["family"]: r for r in await items(api, "lines/L2/capacities")}
        assert rows["JARS"]["units_per_shift"] == "1200.0000"
        family_id = rows["JARS"]["id"]

        edited = await posted(
            paula,
            f"/plant/lines/L2/capacity/{family_id}",
            {"units_per_shift": "1250.5", "effective_from": "2026-04-01"},
        )
        assert "The capacity was saved." in edited
        again = {r["family"]: r for r in await items(api, "lines/L2/capacities")}
        assert (again["JARS"]["units_per_shift"], again["JARS"]["effective_from"]) == (
            "1250.5000",
            "2026-04-01",
        )
        await posted(paula, f"/plant/lines/L2/capacity/{family_id}/deactivate", {})
        final = {r["family"]: r["active"] for r in await items(api, "lines/L2/capacities")}
        assert final == {"JARS": False, None: True}

        # A planner sets capacity but does not manage lines.
        lines = await html_of(paula, "/plant/facilities/MAD/lines")
        assert "Add a line" not in lines and 'href="/plant/lines/L2"' not in lines
        await html_of(paula, "/plant/lines/L2", status=403)


# --- shifts ---------------------------------------------------------------------------------


async def test_a_night_shift_crosses_midnight_and_an_overlapping_one_is_refused(
    ada: Browser, api: httpx.AsyncClient
) -> None:
    await a_facility(ada)
    form = await html_of(ada, "/plant/facilities/MAD/shifts")
    assert 'name="days_of_week" value="1" checked' in form  # Monday to Friday by default
    assert re.search(r'name="days_of_week" value="6"[^>]*checked', form) is None

    listed = await posted(
        ada,
        "/plant/facilities/MAD/shifts/new",
        {
            "code": "NIGHT",
            "name": "Night",
            "start_time": "22:00",
            "end_time": "06:00",
            "days_of_week": ["1", "2", "3", "4", "5"],
        },
    )
    row = row_of(listed, "data-shift", "NIGHT")
    assert "22:00" in row and "06:00" in row and "next day" in row
    assert re.findall(r"<abbr[^>]*>(\w+)</abbr>", row) == ["Mon", "Tue", "Wed", "Thu", "Fri"]

    # Early Tuesday is still Monday's night shift: a shift from 05:00 on Tuesdays overlaps it.
    refused = await posted(
        ada,
        "/plant/facilities/MAD/shifts/new",
        {
            "code": "EARLY",
            "name": "Early",
            "start_time": "05:00",
            "end_time": "13:00",
            "days_of_week": ["2"],
        },
        status=409,
    )
    assert "overlap shift NIGHT" in field_error(refused, "start_time")  # the service names it
    assert 'value="EARLY"' in refused and 'name="days_of_week" value="2" checked' in refused
    assert [s["code"] for s in await items(api, "facilities/MAD/shifts")] == ["NIGHT"]

    none = await posted(
        ada,
        "/plant/facilities/MAD/shifts/NIGHT",
        {"name": "Night", "start_time": "22:00", "end_time": "06:00"},
        status=422,
    )
    assert field_error(none, "days_of_week")
    saved = await posted(
        ada,
        "/plant/facilities/MAD/shifts/NIGHT",
        {"name": "Night", "start_time": "21:00", "end_time": "05:00", "days_of_week": ["7"]},
    )
    assert "Shift NIGHT was saved." in saved
    night = (await items(api, "facilities/MAD/shifts"))[0]
    assert (night["start_time"], night["end_time"], night["days_of_week"]) == (
        "21:00",
        "05:00",
        "7",
    )


# --- the reason tree ------------------------------------------------------------------------


async def test_a_supervisor_builds_a_three_level_reason_tree_with_colours(
    portal: EmbeddedPortal, ada: Browser, api: httpx.AsyncClient
) -> None:
    await a_facility(ada)
    async with signed_in(portal, "sam") as sam:
        page = await html_of(sam, "/plant/facilities/MAD/reasons")
        assert "Add a reason" in page
        for code, parent, name, colour, planned in (
            ("MECH", "", "Mechanical", "#d9534f", ""),
            ("NOZZLE", "MECH", "Nozzle", "#f0ad4e", ""),
            ("CLOG", "NOZZLE", "Clogged", "#5bc0de", ""),
            ("BREAK", "", "Break", "#5cb85c", "on"),
        ):
            await posted(
                sam,
                "/plant/facilities/MAD/reasons/new",
                {
                    "code": code,
                    "parent_code": parent,
                    "name": name,
                    "colour": colour,
                    "planned": planned,
                    "sort_order": "",
                },
            )
        tree = await html_of(sam, "/plant/facilities/MAD/reasons?parent=NOZZLE")
        levels = re.findall(r'data-reason="(\w+)" data-level="(\d)"', tree)
        assert levels == [("BREAK", "1"), ("MECH", "1"), ("NOZZLE", "2"), ("CLOG", "3")]
        clog = row_of(tree, "data-reason", "CLOG")
        assert 'fill="#5bc0de"' in clog and "Unplanned" in clog and 'class="level-3' in clog
        assert "Planned" in row_of(tree, "data-reason", "BREAK")
        assert '<option value="NOZZLE" selected>' in tree  # "Add below" chose the parent

        bad = await posted(
            sam,
            "/plant/facilities/MAD/reasons/new",
            {"code": "X", "parent_code": "CLOG", "name": "X", "colour": "red"},
            status=422,
        )
        assert "#" in field_error(bad, "colour")
        assert "X" not in [r["code"] for r in await items(api, "reasons", facility_code="MAD")]

        edited = await posted(
            sam,
            "/plant/reasons/CLOG",
            {"name": "Clogged nozzle", "colour": "#112233", "planned": "", "sort_order": "4"},
        )
        assert "Reason CLOG was saved." in edited
        clog_now = (await api.get(f"{API}/reasons/CLOG")).json()
        assert (clog_now["name"], clog_now["colour"], clog_now["sort_order"]) == (
            "Clogged nozzle",
            "#112233",
            4,
        )

        await posted(sam, "/plant/reasons/CLOG/deactivate", {})
        assert (await api.get(f"{API}/reasons/CLOG")).json()["active"] is False
        await posted(sam, "/plant/reasons/CLOG/reactivate", {})

        # MECH has reasons under it: the service refuses, and the page says why.
        refused = await posted(sam, "/plant/reasons/MECH/delete", {"from": "reason"}, status=409)
        assert form_error(refused)
        assert (await api.get(f"{API}/reasons/MECH")).status_code == 200
        gone = await posted(sam, "/plant/reasons/BREAK/delete", {"from": "reason"})
        assert "Reason BREAK was deleted." in gone
        assert (await api.get(f"{API}/reasons/BREAK")).status_code == 404

        # A supervisor manages reasons, not facilities.
        assert "Add a facility" not in await html_of(sam, "/plant")


# --- day locks ------------------------------------------------------------------------------


async def test_a_supervisor_locks_a_day_and_only_an_admin_unlocks_it(
    portal: EmbeddedPortal, ada: Browser, api: httpx.AsyncClient
) -> None:
    await html_of(ada, "/plant")
    await posted(
        ada,
        "/plant/facilities/new",
        {"code": "NYC", "name": "New York", "timezone": "America/New_York", "day_lock_hour": ""},
    )
    yesterday = (datetime.now(ZoneInfo("America/New_York")) - timedelta(days=1)).date()
    async with signed_in(portal, "sam") as sam:
        days = await html_of(sam, "/plant/facilities/NYC/day-locks")
        assert 'data-lock="open"' in row_of(days, "data-day", yesterday.isoformat())
        assert "Unlock" not in days
        locked = await posted(
            sam, "/plant/facilities/NYC/day-locks", {"day": yesterday.isoformat()}
        )
        row = row_of(locked, "data-day", yesterday.isoformat())
        assert 'data-lock="manual"' in row and "Locked by a supervisor" in row and "sam" in row
        assert "/unlock" not in row  # a supervisor does not lift a lock
        await sam.post_form(f"/plant/facilities/NYC/day-locks/{yesterday}/unlock", {})

    still = await api.get(f"{API}/facilities/NYC/day-locks")
    assert [lock["day"] for lock in still.json()["locks"]] == [yesterday.isoformat()]
    page = await html_of(ada, "/plant/facilities/NYC/day-locks")
    assert f"/day-locks/{yesterday}/unlock" in row_of(page, "data-day", yesterday.isoformat())
    unlocked = await posted(ada, f"/plant/facilities/NYC/day-locks/{yesterday}/unlock", {})
    assert 'data-lock="open"' in row_of(unlocked, "data-day", yesterday.isoformat())
    assert (await api.get(f"{API}/facilities/NYC/day-locks")).json()["locks"] == []


# --- roles and language ---------------------------------------------------------------------


async def test_a_viewer_reads_the_plant_without_a_single_button(
    portal: EmbeddedPortal, ada: Browser
) -> None:
    await a_facility(ada)
    await posted(ada, "/plant/facilities/MAD/lines/new", {"code": "L1", "name": "Line 1"})
    async with signed_in(portal, "vera") as vera:
        home = await html_of(vera, "/")
        assert 'href="/plant"' in home
        for url in (
            "/plant",
            "/plant/facilities/MAD",
            "/plant/facilities/MAD/lines",
            "/plant/facilities/MAD/shifts",
            "/plant/facilities/MAD/reasons",
            "/plant/facilities/MAD/day-locks",
            "/plant/lines/L1/capacity",
        ):
            page = await html_of(vera, url)
            main = page.split('<main id="main"', 1)[1]
            assert 'method="post"' not in main, url
        await html_of(vera, "/plant/reasons/ANY", status=403)
        refused = await vera.post_form("/plant/facilities/new", {"code": "V", "name": "V"})
        assert refused.status_code == 403


async def test_the_plant_pages_speak_spanish(portal: EmbeddedPortal, ada: Browser) -> None:
    await a_facility(ada)
    async with signed_in(portal, "sofia") as sofia:
        page = await html_of(sofia, "/plant/facilities/MAD/shifts")
        assert "<h1>Turnos de MAD</h1>" in page and "Añadir un turno" in page
        assert ">lun</label>" in page.replace(" ", "")
        listed = await html_of(sofia, "/plant")
        assert "<h1>Instalaciones</h1>" in listed and ">Planta</a>" in listed
