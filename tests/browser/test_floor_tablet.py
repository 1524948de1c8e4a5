"""Operators record downtime on the floor tablet (1024x768, touch): "Line down" with its timer,
a reason drilled three levels deep, "Back up", and the entry with its shift; the same in
Spanish; entries made while the Wi-Fi is down kept on the tablet and sent once when it returns
(one answer lost on the way, so the retry must be answered from the first); a stop recorded by
someone else appearing without a reload and classified there; an overlap refused naming the
other entry. Every line here is a line of its own, so the tests do not see each other's stops.

The plant is set up through the downtime API as an admin: facility FLOOR-T in America/Chicago with
three 8-hour shifts A, B and C every day (so any moment has a shift), and the reasons Mechanical >
Nozzle > Clogged. The order running on a line comes from production's events in a real plant; here
it is written into the downtime service's read model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from tests.browser.conftest import sign_in
from tests.support.browser import LivePortal, PortalApi, assert_accessible, screenshot

FACILITY = "FLOOR-T"
ZONE = ZoneInfo("America/Chicago")


_anchor: list[int] = []


def first_hour() -> int:
    """The hour shift A starts: three hours before the first test that sets up a plant, on the
    Chicago clock (worked out then, not when the module is collected, which may be long before).
    The production day (the date its shift started) then holds every stop these tests enter,
    whatever the time of day: with A fixed at 06:00, a stop entered 50 minutes back at 06:10
    belonged to yesterday and was rightly left out of the tablet's list of today."""
    if not _anchor:
        _anchor.append((datetime.now(ZONE).hour - 3) % 24)
    return _anchor[0]


def anchored_shifts() -> list[tuple[str, str, str]]:
    """Shifts A, B and C of 8 hours each, from first_hour(): every moment has a shift."""
    first = first_hour()
    return [
        (code, f"{(first + 8 * i) % 24:02d}:00", f"{(first + 8 * i + 8) % 24:02d}:00")
        for i, code in enumerate("ABC")
    ]


# code, parent, name, colour
REASONS = [
    ("FT-MECH", None, "Mechanical", "#d62728"),
    ("FT-MECH-NOZ", "FT-MECH", "Nozzle", "#ff7f0e"),
    ("FT-MECH-NOZ-CLOG", "FT-MECH-NOZ", "Clogged", "#ffbb78"),
    ("FT-MECH-BELT", "FT-MECH", "Belt", "#9467bd"),
    ("FT-PLANNED", None, "Planned stop", "#1f77b4"),
]
CLOGGED = "Mechanical / Nozzle / Clogged"
PASSWORD = "floor-operator-pw-1"
DOWNTIMES = "/api/downtime/v1/downtimes"
# The tablet's queue goes through the floor's own route, which checks whose each entry is.
SENT = "/floor/send"


@pytest.fixture
def api(live_portal: LivePortal) -> Iterator[PortalApi]:
    client = PortalApi(live_portal)
    yield client
    client.close()


@pytest.fixture
def plant(api: PortalApi) -> None:
    """The facility, its shifts and reasons (once per portal)."""
    if api.client.get(f"/api/downtime/v1/facilities/{FACILITY}").status_code == 200:
        return
    api.call(
        "POST",
        "/api/downtime/v1/facilities",
        expect=201,
        json={"code": FACILITY, "name": "Floor test plant", "timezone": "America/Chicago"},
    )
    add_shifts(api, FACILITY)
    for code, parent, name, colour in REASONS:
        api.call(
            "POST",
            "/api/downtime/v1/reasons",
            expect=201,
            json={
                "code": code,
                "facility_code": FACILITY,
                "parent_code": parent,
                "name": name,
                "colour": colour,
            },
        )


def add_shifts(api: PortalApi, facility: str) -> None:
    for code, start, end in anchored_shifts():
        api.call(
            "POST",
            f"/api/downtime/v1/facilities/{facility}/shifts",
            expect=201,
            json={
                "code": code,
                "name": f"Shift {code}",
                "start_time": start,
                "end_time": end,
                "days_of_week": "1234567",
            },
        )


def new_line(api: PortalApi, code: str) -> str:
    api.call(
        "POST",
        "/api/downtime/v1/lines",
        expect=201,
        json={"code": code, "facility_code": FACILITY, "name": f"Printer {code}"},
    )
    return code


def entries_of(api: PortalApi, line: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.call("GET", DOWNTIMES, params={"line_code": line})["items"]
    return items


def shift_by_hand(started_at: str) -> str:
    """A, B and C follow each other from first_hour() on the Chicago clock."""
    hour = datetime.fromisoformat(started_at).astimezone(ZONE).hour
    return "ABC"[(hour - first_hour()) % 24 // 8]


def day_by_hand(moment: datetime) -> str:
    """The production day of a moment in shift A (every stop these tests enter is: A starts three
    hours before the first test and lasts eight): the date A started, first_hour() hours
    earlier. (For B or C after midnight it would be wrong: their day is the date they started.)"""
    return (moment.astimezone(ZONE) - timedelta(hours=first_hour())).date().isoformat()


def wall(moment: datetime) -> str:
    return moment.astimezone(ZONE).strftime("%H:%M")


def order_on_line(portal: LivePortal, line: str, order_code: str, sku: str) -> None:
    """Production's order in progress on `line`, as the downtime service's read model holds it
    once it has heard ProductionOrderChanged."""
    from services.downtime.floor.models import OrderOnLine

    engine = create_engine(f"sqlite:///{portal.var_dir / 'downtime.db'}")
    try:
        with Session(engine) as session, session.begin():
            session.add(
                OrderOnLine(
                    order_code=order_code,
                    sku=sku,
                    status="in_progress",
                    line_code=line,
                    qty_to_make=Decimal(120),
                    sequence=1,
                    updated_at=datetime.now(UTC),
                )
            )
    finally:
        engine.dispose()


@pytest.fixture
def operator_page(
    open_page: Callable[..., Any], live_portal: LivePortal
) -> Callable[[str, str], Any]:
    def make(username: str, language: str = "en") -> Any:
        live_portal.add_user(username, PASSWORD, ["operator"], language)
        page = open_page(tablet=True)
        sign_in(page, username, PASSWORD)
        return page

    return make


def drill_to_clogged(page: Any) -> None:
    page.locator(".reason-tile", has_text="Mechanical").click()
    page.locator(".reason-tile", has_text="Nozzle").click()
    page.locator(".reason-tile", has_text="Clogged").click()


def assert_touch_targets(page: Any) -> None:
    """Every control of the page that can be tapped is at least 44 x 44 px."""
    small = page.evaluate(
        """() => Array.from(document.querySelectorAll(
              'main button, main a[href], main input, main textarea, main summary'))
            .filter((el) => el.offsetParent !== null)
            .map((el) => { const r = el.getBoundingClientRect();
                           return {text: (el.textContent || el.id || el.name).trim().slice(0, 30),
                                   width: r.width, height: r.height}; })
            .filter((box) => box.width < 44 || box.height < 44)"""
    )
    assert small == [], small


def test_an_operator_stops_the_line_picks_a_reason_three_deep_and_starts_it_again(
    plant: None, api: PortalApi, live_portal: LivePortal, operator_page: Callable[..., Any]
) -> None:
    line = new_line(api, "FLR-01")
    order_on_line(live_portal, line, "PRD-FLOOR-0001", "BRACKET-FLOOR")
    page = operator_page("floor-olivia")

    page.goto("/floor")
    tile = page.locator(f".line-tile[data-line='{line}']")
    expect(tile).to_contain_text("Running")
    screenshot(page, "floor-lines")
    assert_accessible(page)
    tile.click()
    expect(page.locator("h1")).to_contain_text(f"Printer {line}")
    expect(page.locator("[data-order]")).to_contain_text("PRD-FLOOR-0001")
    expect(page.locator("[data-order]")).to_contain_text("120 to make")
    expect(page.locator("[data-state='up']")).to_be_visible()
    assert_touch_targets(page)

    page.locator("[data-action='line-down']").click()
    expect(page.locator("[data-state='down']")).to_be_visible()
    timer = page.locator("[data-timer]")
    expect(timer).to_have_text(re.compile(r"^0:00:0\d$"))
    first = timer.inner_text()
    expect(timer).not_to_have_text(first, timeout=5_000)  # it runs
    expect(page.locator("[data-running-reason]")).to_contain_text("No reason yet")

    page.locator(".reason-tile", has_text="Mechanical").click()
    page.locator(".reason-tile", has_text="Nozzle").click()
    expect(page.locator(".crumbs")).to_contain_text("Mechanical")
    expect(page.locator(".crumbs")).to_contain_text("Nozzle")
    expect(page.locator(".reason-tile")).to_have_count(1)
    page.locator(".reason-tile", has_text="Clogged").click()
    expect(page.locator("[data-picked]")).to_have_text(f"Reason: {CLOGGED}")
    expect(page.locator("[data-running-reason]")).to_have_text(f"Reason: {CLOGGED}")
    screenshot(page, "floor-tablet-down")
    assert_accessible(page)

    page.locator("[data-action='back-up']").click()
    expect(page.locator("[data-state='up']")).to_be_visible()
    row = page.locator("tr[data-entry]")
    expect(row).to_have_count(1)
    expect(row.locator("[data-reason]")).to_have_text(CLOGGED)
    expect(row.locator("[data-duration]")).not_to_have_text("running")
    expect(row.locator("[data-source]")).to_have_text("Tablet")

    [entry] = entries_of(api, line)
    assert entry["reason_code"] == "FT-MECH-NOZ-CLOG"
    assert entry["ended_at"] is not None and entry["running"] is False
    assert entry["order_code"] == "PRD-FLOOR-0001"
    assert entry["source"] == "tablet"
    assert entry["shift_code"] == shift_by_hand(entry["started_at"])
    expect(row.locator("[data-shift]")).to_have_text(entry["shift_code"])
    started = datetime.fromisoformat(entry["started_at"])
    expect(row.locator("[data-times]")).to_contain_text(wall(started))
    screenshot(page, "floor-tablet-up")
    assert_accessible(page)


def test_the_tablet_in_spanish(
    plant: None, api: PortalApi, operator_page: Callable[..., Any]
) -> None:
    line = new_line(api, "FLR-02")
    page = operator_page("floor-olga", "es")

    page.goto("/floor")
    expect(page.locator("h1")).to_have_text("Piso de planta: elija una línea")
    page.locator(f".line-tile[data-line='{line}']").click()
    expect(page.locator("[data-order]")).to_have_text(
        "No hay ninguna orden de producción en marcha en esta línea."
    )
    expect(page.locator("[data-action='line-down']")).to_have_text("Línea parada")
    page.locator("[data-action='line-down']").click()
    expect(page.locator("[data-state='down']")).to_contain_text("Línea parada desde las")
    expect(page.locator("[data-running-reason]")).to_have_text(
        "Aún sin motivo: elija uno antes de pulsar En marcha."
    )
    drill_to_clogged(page)
    expect(page.locator(".crumbs .crumb").first).to_have_text("Todos los motivos")
    expect(page.locator("[data-picked]")).to_have_text(f"Motivo: {CLOGGED}")
    expect(page.locator("[data-action='back-up']")).to_have_text("En marcha")
    page.locator("[data-action='back-up']").click()

    row = page.locator("tr[data-entry]")
    expect(row).to_have_count(1)
    expect(page.locator("#entries-title")).to_contain_text("Paradas del día de producción")
    expect(row.locator("[data-reason]")).to_have_text(CLOGGED)
    expect(row.locator("[data-duration]")).not_to_have_text("en curso")
    expect(row.locator("[data-source]")).to_have_text("Tableta")
    [entry] = entries_of(api, line)
    assert entry["reason_code"] == "FT-MECH-NOZ-CLOG"
    assert entry["shift_code"] == shift_by_hand(entry["started_at"])
    expect(row.locator("[data-shift]")).to_have_text(entry["shift_code"])
    assert_touch_targets(page)
    screenshot(page, "floor-tablet-es")
    assert_accessible(page)


def test_entries_made_offline_wait_on_the_tablet_and_are_saved_once_when_it_is_back(
    plant: None, api: PortalApi, operator_page: Callable[..., Any]
) -> None:
    line = new_line(api, "FLR-03")
    page = operator_page("floor-omar")
    page.goto(f"/floor/lines/{line}")
    expect(page.locator("[data-state='up']")).to_be_visible()

    # The first answer to the after-the-fact entry is lost on its way back: the stop is saved,
    # the tablet does not know it, and sends it again later with the same key.
    lost: list[str] = []

    def lose_first_answer(route: Any) -> None:
        if lost:
            route.continue_()
            return
        lost.append(route.request.headers.get("idempotency-key", ""))
        route.fetch()
        route.abort()

    page.route(f"**{SENT}/downtimes", lose_first_answer)

    page.context.set_offline(True)
    now = datetime.now(UTC)
    start, end = now - timedelta(minutes=50), now - timedelta(minutes=40)
    page.locator("summary", has_text="Enter a stop after the fact").click()
    page.locator("#f-start").fill(wall(start))
    page.locator("#f-end").fill(wall(end))
    expect(page.locator("[data-span]")).to_contain_text("(10 min)")
    drill_to_clogged(page)
    page.locator("[data-action='record']").click()

    page.locator("[data-action='line-down']").click()
    expect(page.locator("[data-state='down']")).to_be_visible()
    expect(page.locator(".state .hint", has_text="Waiting to send")).to_be_visible()
    page.locator(".reason-tile", has_text="Mechanical").click()
    page.locator(".reason-tile", has_text="Belt").click()
    page.locator("[data-action='back-up']").click()
    expect(page.locator("[data-state='up']")).to_be_visible()

    waiting = page.locator(".pending-item")
    expect(waiting).to_have_count(3)
    expect(waiting.nth(0)).to_contain_text(f"Stop from {wall(start)} to {wall(end)}")
    expect(waiting.nth(1)).to_contain_text("Line down at")
    expect(waiting.nth(2)).to_contain_text("Back up at")
    for i in range(3):
        expect(waiting.nth(i)).to_contain_text("Waiting to send")
    assert entries_of(api, line) == []
    screenshot(page, "floor-tablet-offline")

    page.context.set_offline(False)
    expect(page.locator(".pending-item")).to_have_count(0, timeout=40_000)
    expect(page.locator("tr[data-entry]")).to_have_count(2, timeout=15_000)
    assert lost and lost[0], "the after-the-fact entry went out with an Idempotency-Key"

    saved = sorted(entries_of(api, line), key=lambda e: e["started_at"])
    assert len(saved) == 2
    after, stop = saved
    assert after["reason_code"] == "FT-MECH-NOZ-CLOG" and after["source"] == "manual"
    assert datetime.fromisoformat(after["started_at"]).astimezone(ZONE).strftime("%H:%M") == wall(
        start
    )
    assert Decimal(after["duration_seconds"]) == 600
    assert stop["reason_code"] == "FT-MECH-BELT" and stop["source"] == "tablet"
    assert stop["ended_at"] is not None
    assert page.evaluate("() => JSON.parse(localStorage.getItem(portalFloor.queueKey))") == []


def test_a_stop_recorded_elsewhere_appears_without_a_reload_and_is_classified_here(
    plant: None, api: PortalApi, operator_page: Callable[..., Any]
) -> None:
    line = new_line(api, "FLR-04")
    page = operator_page("floor-oscar")
    page.goto(f"/floor/lines/{line}")
    expect(page.locator("[data-state='up']")).to_be_visible()
    page.evaluate("() => { window.notReloaded = true; }")

    # Another tablet says the line is down, without a reason.
    other = api.call("POST", f"/api/downtime/v1/lines/{line}/downtime/start", expect=201, json={})
    row = page.locator(f"tr[data-entry='{other['id']}']")
    expect(row).to_be_visible(timeout=15_000)
    expect(row).to_have_class(re.compile("unclassified"))
    expect(page.locator("[data-state='down']")).to_be_visible()
    expect(page.locator("[data-since]")).to_have_text(
        wall(datetime.fromisoformat(other["started_at"]))
    )
    assert page.evaluate("() => window.notReloaded") is True

    row.locator("button", has_text="Classify").click()
    expect(page.locator(".classifying")).to_be_visible()
    drill_to_clogged(page)
    expect(row.locator("[data-reason]")).to_have_text(CLOGGED, timeout=15_000)
    expect(row).not_to_have_class(re.compile("unclassified"))
    page.locator("[data-action='back-up']").click()
    expect(page.locator("[data-state='up']")).to_be_visible()
    expect(row.locator("[data-duration]")).not_to_have_text("running")

    [entry] = entries_of(api, line)
    assert entry["id"] == other["id"]
    assert entry["reason_code"] == "FT-MECH-NOZ-CLOG"
    assert entry["ended_at"] is not None
    assert entry["version"] == 3  # started, classified, ended
    assert page.evaluate("() => window.notReloaded") is True


def test_an_overlapping_stop_is_refused_naming_the_other_entry(
    plant: None, api: PortalApi, operator_page: Callable[..., Any]
) -> None:
    line = new_line(api, "FLR-05")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    other = api.call(
        "POST",
        DOWNTIMES,
        expect=201,
        json={
            "line_code": line,
            "reason_code": "FT-MECH-BELT",
            "started_at": (now - timedelta(minutes=60)).isoformat(),
            "ended_at": (now - timedelta(minutes=30)).isoformat(),
        },
    )
    page = operator_page("floor-otto")
    page.goto(f"/floor/lines/{line}")
    page.locator("summary", has_text="Enter a stop after the fact").click()
    page.locator("#f-start").fill(wall(now - timedelta(minutes=50)))
    page.locator("#f-end").fill(wall(now - timedelta(minutes=40)))
    drill_to_clogged(page)
    page.locator("[data-action='record']").click()

    problem = page.locator("[data-problem]")
    expect(problem).to_contain_text(f"#{other['id']}")
    expect(problem).to_contain_text("Mechanical / Belt")
    expect(problem).to_contain_text(wall(now - timedelta(minutes=60)))
    expect(page.locator(".pending-item")).to_have_count(0)
    assert [e["id"] for e in entries_of(api, line)] == [other["id"]]
    assert_accessible(page)


def test_the_tablet_reads_the_plant_clock_as_the_server_does(
    plant: None, api: PortalApi, operator_page: Callable[..., Any]
) -> None:
    """Wall-clock times to UTC in the browser, across both 2026 clock changes in New York,
    worked out by hand: EST is UTC-5, EDT UTC-4; 2026-03-08 02:00 EST jumps to 03:00 EDT,
    2026-11-01 02:00 EDT falls back to 01:00 EST."""
    page = operator_page("floor-ursula")
    page.goto("/floor")

    def utc(y: int, mo: int, d: int, h: int, mi: int) -> str:
        iso: str = page.evaluate(
            "([y, mo, d, h, mi]) => new Date(portalFloor.toUtc(y, mo, d, h, mi,"
            " 'America/New_York')).toISOString()",
            [y, mo, d, h, mi],
        )
        return iso

    assert utc(2026, 3, 8, 1, 30) == "2026-03-08T06:30:00.000Z"  # EST
    assert utc(2026, 3, 8, 2, 30) == "2026-03-08T07:30:00.000Z"  # skipped: read as EST
    assert utc(2026, 3, 8, 3, 30) == "2026-03-08T07:30:00.000Z"  # EDT
    assert utc(2026, 11, 1, 0, 30) == "2026-11-01T04:30:00.000Z"  # EDT
    assert utc(2026, 11, 1, 1, 30) == "2026-11-01T05:30:00.000Z"  # twice: the first (EDT)
    assert utc(2026, 11, 1, 2, 30) == "2026-11-01T07:30:00.000Z"  # EST
    # 23:50 to 00:20 typed at 00:40 on 2 March (EST): the stop crossed midnight.
    span = page.evaluate(
        "() => { const s = portalFloor.resolveSpan('23:50', '00:20',"
        " Date.parse('2026-03-02T05:40:00Z'), 'America/New_York');"
        " return [new Date(s.start).toISOString(), new Date(s.end).toISOString()]; }"
    )
    assert span == ["2026-03-02T04:50:00.000Z", "2026-03-02T05:20:00.000Z"]
    # Across the autumn change the night is an hour longer: 22:00 to 06:00 is 9 h.
    span = page.evaluate(
        "() => { const s = portalFloor.resolveSpan('22:00', '06:00',"
        " Date.parse('2026-11-01T12:00:00Z'), 'America/New_York');"
        " return (s.end - s.start) / 3600000; }"
    )
    assert span == 9


def test_a_locked_day_takes_a_stop_only_from_an_admin_who_says_why(
    api: PortalApi, live_portal: LivePortal, open_page: Callable[..., Any]
) -> None:
    """A facility of its own, its production day of today locked by hand: the operator is
    refused naming the day, an admin records the stop with the reason for changing a locked
    day."""
    facility, line, reason = "FLOOR-L", "FLL-01", "FL-STOP"
    if api.client.get(f"/api/downtime/v1/facilities/{facility}").status_code != 200:
        api.call(
            "POST",
            "/api/downtime/v1/facilities",
            expect=201,
            json={"code": facility, "name": "Locked plant", "timezone": "America/Chicago"},
        )
        add_shifts(api, facility)
        api.call(
            "POST",
            "/api/downtime/v1/lines",
            expect=201,
            json={"code": line, "facility_code": facility, "name": "Locked printer"},
        )
        api.call(
            "POST",
            "/api/downtime/v1/reasons",
            expect=201,
            json={"code": reason, "facility_code": facility, "name": "Jam", "colour": "#2ca02c"},
        )
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start, end = now - timedelta(minutes=20), now - timedelta(minutes=10)
    day = day_by_hand(start)
    api.call(
        "POST", f"/api/downtime/v1/facilities/{facility}/day-locks", expect=201, json={"day": day}
    )

    for username, roles in (("floor-lola", ["operator"]), ("floor-adele", ["admin"])):
        live_portal.add_user(username, PASSWORD, roles)
        page = open_page(tablet=True)
        sign_in(page, username, PASSWORD)
        page.goto(f"/floor/lines/{line}")
        page.locator("summary", has_text="Enter a stop after the fact").click()
        page.locator("#f-start").fill(wall(start))
        page.locator("#f-end").fill(wall(end))
        page.locator(".reason-tile", has_text="Jam").click()
        if username == "floor-lola":
            expect(page.locator("#f-edit-reason")).to_have_count(0)
            page.locator("[data-action='record']").click()
            expect(page.locator("[data-problem]")).to_contain_text(
                f"{day} is locked for {facility}"
            )
            assert entries_of(api, line) == []
        else:
            page.locator("#f-edit-reason").fill("Jam reported late by the night shift")
            page.locator("[data-action='record']").click()
            expect(page.locator("tr[data-entry]")).to_have_count(1)
            expect(page.locator("[data-problem]")).to_be_hidden()
    [entry] = entries_of(api, line)
    assert entry["reason_code"] == reason and entry["created_by"] == "floor-adele"
    assert entry["production_day"] == day


# The queue's requests as the tablet sends them (through the floor's route, /floor/send/...; the
# service's own path, /api/downtime/v1/..., before it had one), to answer or hold some of them.
def queue_requests(tail: str) -> re.Pattern[str]:
    return re.compile(rf"/(?:api/downtime/v1|floor/send)/{tail}$")


def send_the_queue_now(page: Any) -> None:
    """What the connection's return does (the tablet also tries every 10 s by itself)."""
    page.evaluate("() => window.dispatchEvent(new Event('online'))")


def problem_body(status: int, detail: str, code: str | None = None) -> dict[str, Any]:
    problem: dict[str, Any] = {"type": "about:blank", "status": status, "detail": detail}
    if code:
        problem["code"] = code
    return {
        "status": status,
        "content_type": "application/problem+json",
        "body": json.dumps(problem),
    }


def test_entries_queued_by_one_user_wait_for_them_while_another_is_signed_in(
    plant: None, api: PortalApi, live_portal: LivePortal, open_page: Callable[..., Any]
) -> None:
    """The tab was opened as Abel; his session ends and Bea signs in from another tab of the
    same browser. The old tab must not send Abel's "Line down" with Bea's cookie: it waits,
    shown as Abel's, and goes as Abel once he signs in again."""
    line = new_line(api, "FLR-06")
    abel, bea = "floor-abel", "floor-bea"
    for username in (abel, bea):
        live_portal.add_user(username, PASSWORD, ["operator"])
    page = open_page(tablet=True)
    sign_in(page, abel, PASSWORD)
    page.goto(f"/floor/lines/{line}")
    expect(page.locator("[data-state='up']")).to_be_visible()

    # The floor's Wi-Fi drops the tablet's requests while Abel taps "Line down".
    cut = [True]

    def while_cut(route: Any) -> None:
        if cut[0] and route.request.method != "GET":
            route.abort()
        else:
            route.continue_()

    page.route(queue_requests(".*"), while_cut)
    page.locator("[data-action='line-down']").click()
    waiting = page.locator(".pending-item")
    expect(waiting).to_have_count(1)
    expect(waiting).to_contain_text("Waiting to send")

    page.context.clear_cookies()  # Abel's session is gone from this browser
    other_tab = page.context.new_page()
    sign_in(other_tab, bea, PASSWORD)
    cut[0] = False
    send_the_queue_now(page)
    expect(waiting).to_contain_text(f"Waiting for {abel} to sign in on this tablet")
    expect(page.locator("[data-signed-in-elsewhere]")).to_contain_text(
        f"{bea} is signed in on this tablet now"
    )
    # Another round asks who is signed in again, and sends nothing.
    with page.expect_response(lambda answer: answer.url.endswith("/api/auth/me")):
        send_the_queue_now(page)
    assert entries_of(api, line) == []
    expect(waiting).to_have_count(1)

    # Even sent straight to the floor's route with Bea's session, Abel's entry is refused.
    def send_directly(tab: Any, path: str, user: str | None) -> Any:
        return tab.evaluate(
            """async ([path, user]) => {
                 const headers = {"Content-Type": "application/json",
                                  "X-CSRF-Token": portal.csrfToken(),
                                  "Idempotency-Key": crypto.randomUUID()};
                 if (user) headers["X-Portal-Queued-By"] = user;
                 const answer = await fetch(`/floor/send/${path}`, {
                   method: "POST", credentials: "same-origin", headers, body: "{}"});
                 return [answer.status, await answer.json()];
               }""",
            [path, user],
        )

    start_path = f"lines/{line}/downtime/start"
    refused = send_directly(other_tab, start_path, abel)
    assert refused[0] == 409
    assert refused[1]["code"] == "queued_by_another_user"
    assert refused[1]["signed_in"] == bea and refused[1]["queued_by"] == abel
    assert entries_of(api, line) == []

    sign_in(other_tab, abel, PASSWORD)
    # The route forwards only the queue's own requests, each saying whose it is.
    assert send_directly(other_tab, start_path, None)[0] == 422
    assert send_directly(other_tab, "facilities", abel)[0] == 404
    assert entries_of(api, line) == []
    send_the_queue_now(page)
    expect(waiting).to_have_count(0, timeout=15_000)
    expect(page.locator("[data-signed-in-elsewhere]")).to_be_hidden()
    [entry] = entries_of(api, line)
    assert entry["created_by"] == abel
    assert entry["running"] is True


def test_a_concurrent_change_is_sent_again_with_the_same_key_and_body(
    plant: None, api: PortalApi, operator_page: Callable[..., Any]
) -> None:
    line = new_line(api, "FLR-07")
    page = operator_page("floor-cora")
    page.goto(f"/floor/lines/{line}")
    expect(page.locator("[data-state='up']")).to_be_visible()
    seen: list[tuple[str, str]] = []

    def concurrent_once(route: Any) -> None:
        request = route.request
        seen.append((request.headers.get("idempotency-key", ""), request.post_data or ""))
        if len(seen) == 1:
            route.fulfill(
                **problem_body(
                    409,
                    "The data this request changes was changed by another request at the same "
                    "moment; reload and retry.",
                    "concurrent_change",
                )
            )
        else:
            route.continue_()

    page.route(queue_requests("downtimes"), concurrent_once)
    now = datetime.now(UTC)
    start, end = now - timedelta(minutes=30), now - timedelta(minutes=20)
    page.locator("summary", has_text="Enter a stop after the fact").click()
    page.locator("#f-start").fill(wall(start))
    page.locator("#f-end").fill(wall(end))
    drill_to_clogged(page)
    page.locator("[data-action='record']").click()
    expect(page.locator(".pending-item")).to_contain_text("Waiting to send")

    send_the_queue_now(page)
    expect(page.locator("tr[data-entry]")).to_have_count(1, timeout=15_000)
    expect(page.locator(".pending-item")).to_have_count(0)
    expect(page.locator("[data-problem]")).to_be_hidden()
    assert len(seen) == 2
    assert seen[0][0] and seen[1] == seen[0]  # the same key, the same body
    assert json.loads(seen[0][1])["reason_code"] == "FT-MECH-NOZ-CLOG"
    [entry] = entries_of(api, line)
    assert entry["reason_code"] == "FT-MECH-NOZ-CLOG" and Decimal(entry["duration_seconds"]) == 600


def test_refusals_of_entries_that_waited_for_a_sign_in_each_stay_listed_with_their_words(
    plant: None, api: PortalApi, operator_page: Callable[..., Any]
) -> None:
    """Two stops entered after the fact while signed out, each overlapping another stop:
    once signed in again both are refused, and both stay in the list, each naming its own
    other stop (the second was dropped before, only the last refusal shown)."""
    line = new_line(api, "FLR-08")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    others = [
        api.call(
            "POST",
            DOWNTIMES,
            expect=201,
            json={
                "line_code": line,
                "reason_code": "FT-MECH-BELT",
                "started_at": (now - timedelta(minutes=start)).isoformat(),
                "ended_at": (now - timedelta(minutes=start - 10)).isoformat(),
            },
        )
        for start in (80, 40)
    ]
    page = operator_page("floor-dora")
    page.goto(f"/floor/lines/{line}")
    expect(page.locator("tr[data-entry]")).to_have_count(2)
    page.context.clear_cookies()  # signed out
    page.locator("summary", has_text="Enter a stop after the fact").click()
    for start in (75, 35):
        page.locator("#f-start").fill(wall(now - timedelta(minutes=start)))
        page.locator("#f-end").fill(wall(now - timedelta(minutes=start - 2)))
        drill_to_clogged(page)
        page.locator("[data-action='record']").click()
        expect(page.locator("[data-problem]")).to_contain_text("Sign in again")
    waiting = page.locator(".pending-item")
    expect(waiting).to_have_count(2)

    sign_in(page.context.new_page(), "floor-dora", PASSWORD)
    send_the_queue_now(page)
    expect(waiting.locator(".status", has_text="Not saved")).to_have_count(2, timeout=15_000)
    for item, other in zip([waiting.nth(0), waiting.nth(1)], others, strict=True):
        expect(item).to_have_class(re.compile("refused"))
        expect(item).to_contain_text(f"#{other['id']}")
    expect(waiting.nth(0)).not_to_contain_text(f"#{others[1]['id']}")
    expect(page.locator("[data-problem]")).to_have_text(
        "Not saved: each entry is listed below with the reason."
    )
    assert sorted(e["id"] for e in entries_of(api, line)) == sorted(o["id"] for o in others)

    # A refused entry leaves the list when the operator discards it (to enter it again).
    page.once("dialog", lambda dialog: dialog.accept())
    waiting.nth(0).locator("[data-discard]").click()
    expect(waiting).to_have_count(1)
    expect(waiting).to_contain_text(f"#{others[1]['id']}")


def test_an_entry_the_server_keeps_failing_is_shown_failing_and_can_be_discarded(
    plant: None, api: PortalApi, operator_page: Callable[..., Any]
) -> None:
    """A stop entered after the fact always gets a 500: it is shown failing with the server's
    words, holds the "Line down" tapped after it, and once discarded (confirmed) that goes."""
    line = new_line(api, "FLR-09")
    page = operator_page("floor-ezra")
    page.goto(f"/floor/lines/{line}")
    expect(page.locator("[data-state='up']")).to_be_visible()
    failed: list[str] = []

    def always_failing(route: Any) -> None:
        failed.append(route.request.headers.get("idempotency-key", ""))
        route.fulfill(**problem_body(500, "The disk is full."))

    page.route(queue_requests("downtimes"), always_failing)
    now = datetime.now(UTC)
    page.locator("summary", has_text="Enter a stop after the fact").click()
    page.locator("#f-start").fill(wall(now - timedelta(minutes=30)))
    page.locator("#f-end").fill(wall(now - timedelta(minutes=20)))
    drill_to_clogged(page)
    page.locator("[data-action='record']").click()
    page.locator("[data-action='line-down']").click()

    waiting = page.locator(".pending-item")
    expect(waiting).to_have_count(2)
    expect(waiting.nth(0)).to_have_class(re.compile("failing"))
    expect(waiting.nth(0)).to_contain_text(
        "Not sent yet, the server answered: The disk is full. It is sent again by itself."
    )
    expect(waiting.nth(1)).to_contain_text("Line down at")
    expect(waiting.nth(1)).to_contain_text("Waiting to send")
    send_the_queue_now(page)
    expect(waiting).to_have_count(2)
    assert entries_of(api, line) == []
    assert len(failed) >= 1 and len(set(failed)) == 1  # always the same key
    assert_touch_targets(page)

    # Dismissed, the confirmation keeps it; accepted, the entry goes and the "Line down" is sent.
    page.once("dialog", lambda dialog: dialog.dismiss())
    waiting.nth(0).locator("[data-discard]").click()
    expect(waiting).to_have_count(2)
    page.once("dialog", lambda dialog: dialog.accept())
    waiting.nth(0).locator("[data-discard]").click()
    expect(waiting).to_have_count(1)
    send_the_queue_now(page)
    expect(waiting).to_have_count(0, timeout=15_000)
    [entry] = entries_of(api, line)
    assert entry["running"] is True and entry["source"] == "tablet"
