"""The plant's master data through the downtime service's API: facilities with their time
zones, lines with the capabilities the MRP matches on (LineUpserted), shifts in plant-local time
(overlaps refused, the shift of a moment), line capacity by effective date (CapacityChanged and
`capacity_for`), and day locks. Bad input is a 4xx naming the field, and saves nothing.

The service runs alone on SQLite; nothing is relayed, so the outbox keeps every event it
published for the tests to read.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from services import registry
from services.downtime.plant import service as plant
from shared.bus.inprocess import InProcessBus
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.support.service_api import ServiceApi

SECRET = "downtime-plant-test-secret-" + "x" * 30
FACILITIES = "/api/v1/facilities"
LINES = "/api/v1/lines"


class DowntimeApi(ServiceApi):
    """The downtime service on SQLite, called as any role; its outbox and tables readable."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        super().__init__(runtime, SECRET)


_template: Path | None = None


def _runtime(folder: Path) -> ServiceRuntime:
    return ServiceRuntime(
        registry.definition("downtime"),
        Settings(var_dir=folder),
        InProcessBus(),
        token_secret=SECRET,
    )


def _template_database() -> Path:
    """A migrated database, built once per test process and copied for each test."""
    global _template
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="downtime-api-"))
        runtime = _runtime(folder)
        runtime.migrate()
        runtime.seed()
        runtime.db.engine.dispose()
        _template = folder
    return _template


@asynccontextmanager
async def downtime_api(tmp_path: Path) -> AsyncIterator[DowntimeApi]:
    """The downtime service, migrated, on a SQLite file under `tmp_path`."""
    for path in _template_database().glob("downtime.db*"):
        shutil.copy(path, tmp_path / path.name)
    runtime = _runtime(tmp_path)
    try:
        yield DowntimeApi(runtime)
    finally:
        runtime.db.engine.dispose()


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[DowntimeApi]:
    async with downtime_api(tmp_path) as running:
        yield running


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: httpx.Response, status: int, field: str, code: str | None = None) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["field"] == field, body
    if code is not None:
        assert body["code"] == code, body
    return body


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


async def make_facility(client: Any, code: str, timezone: str, **more: Any) -> Any:
    body = {"code": code, "name": f"Plant {code}", "timezone": timezone, **more}
    return ok(await client.post(FACILITIES, json=body), 201)


async def make_line(client: Any, code: str, facility: str, **more: Any) -> Any:
    body = {"code": code, "facility_code": facility, "name": f"Line {code}", **more}
    return ok(await client.post(LINES, json=body), 201)


# --- facilities --------------------------------------------------------------------------------


async def test_admin_sets_up_a_facility_and_every_change_is_audited(api: DowntimeApi) -> None:
    async with api.client("admin", user="ada") as admin:
        made = await make_facility(admin, "plant-1", "America/Mexico_City", day_lock_hour=6)
        assert (made["code"], made["timezone"], made["day_lock_hour"], made["active"]) == (
            "PLANT-1",
            "America/Mexico_City",
            6,
            True,
        )
        changed = ok(
            await admin.patch(
                f"{FACILITIES}/plant-1", json={"name": "Monterrey", "day_lock_hour": None}
            )
        )
        assert (changed["name"], changed["day_lock_hour"]) == ("Monterrey", None)
        assert ok(await admin.post(f"{FACILITIES}/PLANT-1/deactivate"))["active"] is False
        assert ok(await admin.post(f"{FACILITIES}/PLANT-1/reactivate"))["active"] is True
        listed = ok(await admin.get(FACILITIES, params={"active": "true"}))
        assert [f["code"] for f in listed["items"]] == ["PLANT-1"] and listed["total"] == 1
        assert (await admin.get(f"{FACILITIES}/NOWHERE")).status_code == 404
    audit = [e.payload for e in api.events("AuditRecorded", "audit:facility:PLANT-1")]
    assert [entry["action"] for entry in audit] == [
        "downtime.facilities.create",
        "downtime.facilities.update",
        "downtime.facilities.deactivate",
        "downtime.facilities.reactivate",
    ]
    assert audit[1]["before"]["day_lock_hour"] == 6 and audit[1]["after"]["day_lock_hour"] is None
    assert all(entry["actor"] == "ada" for entry in audit)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "America"}, "timezone"),  # a folder of the zone database, not a zone
        ({"timezone": "localtime"}, "timezone"),
        ({"day_lock_hour": 24}, "day_lock_hour"),
        ({"code": "two words"}, "code"),
        ({"name": ""}, "name"),
    ],
)
async def test_bad_facility_input_names_the_field_and_saves_nothing(
    api: DowntimeApi, body: dict[str, Any], field: str
) -> None:
    async with api.client("admin") as admin:
        before = api.row_counts()
        facility = {"code": "P2", "name": "Plant 2", "timezone": "Europe/Madrid", **body}
        refused(await admin.post(FACILITIES, json=facility), 422, field)
        assert api.row_counts() == before


async def test_a_second_facility_with_the_same_code_or_a_bad_change_is_refused(
    api: DowntimeApi,
) -> None:
    async with api.client("admin") as admin, api.client("supervisor") as supervisor:
        await make_facility(admin, "P1", "Europe/Madrid")
        before = api.row_counts()
        again = {"code": "p1", "name": "Again", "timezone": "UTC"}
        refused(await admin.post(FACILITIES, json=again), 409, "code", "duplicate")
        refused(
            await admin.patch(f"{FACILITIES}/P1", json={"timezone": "Europe/Atlantis"}),
            422,
            "timezone",
        )
        refused(await admin.patch(f"{FACILITIES}/P1", json={"name": None}), 422, "name")
        refused(await admin.patch(f"{FACILITIES}/P1", json={"colour": "red"}), 422, "colour")
        denied = await supervisor.post(FACILITIES, json={**again, "code": "P9"})
        assert denied.status_code == 403
        assert api.row_counts() == before


# --- lines -------------------------------------------------------------------------------------


async def test_a_line_publishes_its_whole_state_on_every_change(api: DowntimeApi) -> None:
    async with api.client("admin", user="ada") as admin:
        await make_facility(admin, "P1", "America/Mexico_City")
        line = await make_line(admin, "prn-01", "p1", line_type="printer")
        assert line == {
            **line,
            "code": "PRN-01",
            "facility_code": "P1",
            "line_type": "printer",
            "tooling_type": None,
            "allergen_status": "handles_allergens",
            "speed_modifier": "1.0000",
            "active": True,
        }
        changes = {
            "tooling_type": "0.4mm nozzle",
            "allergen_status": "allergen_free",
            "speed_modifier": "1.25",
        }
        updated = ok(await admin.patch(f"{LINES}/PRN-01", json=changes))
        assert (updated["tooling_type"], updated["speed_modifier"]) == ("0.4mm nozzle", "1.2500")
        ok(await admin.patch(f"{LINES}/PRN-01", json={"tooling_type": ""}))  # emptied: none
        ok(await admin.post(f"{LINES}/PRN-01/deactivate"))
    published = api.events("LineUpserted", "line:PRN-01")
    assert [e.sequence for e in published] == [1, 2, 3, 4]
    assert published[0].version == 2
    assert published[0].payload == {
        "line_code": "PRN-01",
        "name": "Line prn-01",
        "facility_code": "P1",
        "timezone": "America/Mexico_City",
        "line_type": "printer",
        "tooling_type": None,
        "allergen_status": "handles_allergens",
        "speed_modifier": "1.0000",
        "active": True,
    }
    assert (published[1].payload["tooling_type"], published[1].payload["speed_modifier"]) == (
        "0.4mm nozzle",
        "1.2500",
    )
    assert published[1].payload["allergen_status"] == "allergen_free"
    assert published[2].payload["tooling_type"] is None
    assert published[3].payload["active"] is False
    audit = [e.payload["action"] for e in api.events("AuditRecorded", "audit:line:PRN-01")]
    assert audit == [
        "downtime.lines.create",
        "downtime.lines.update",
        "downtime.lines.update",
        "downtime.lines.deactivate",
    ]


async def test_a_line_needs_a_known_active_facility_and_sane_capabilities(api: DowntimeApi) -> None:
    async with api.client("admin") as admin:
        await make_facility(admin, "P1", "UTC")
        await make_facility(admin, "OLD", "UTC")
        ok(await admin.post(f"{FACILITIES}/OLD/deactivate"))
        before = api.row_counts()
        line = {"code": "L1", "facility_code": "NOPE", "name": "Line"}
        refused(await admin.post(LINES, json=line), 422, "facility_code", "unknown_facility")
        line["facility_code"] = "OLD"
        refused(await admin.post(LINES, json=line), 422, "facility_code", "inactive_facility")
        line["facility_code"] = "P1"
        refused(
            await admin.post(LINES, json={**line, "speed_modifier": "0"}), 422, "speed_modifier"
        )
        refused(
            await admin.post(LINES, json={**line, "allergen_status": "sometimes"}),
            422,
            "allergen_status",
        )
        assert api.row_counts() == before
        await make_line(admin, "L1", "P1")
        refused(await admin.post(LINES, json=line), 409, "code", "duplicate")
        refused(
            await admin.patch(f"{LINES}/L1", json={"facility_code": "OLD"}), 422, "facility_code"
        )


async def test_a_new_time_zone_goes_out_with_each_line_of_the_facility(api: DowntimeApi) -> None:
    async with api.client("admin") as admin:
        await make_facility(admin, "P1", "America/Mexico_City")
        await make_facility(admin, "P2", "UTC")
        for code in ("L1", "L2"):
            await make_line(admin, code, "P1")
        await make_line(admin, "L3", "P2")
        ok(await admin.patch(f"{FACILITIES}/P1", json={"name": "Renamed"}))  # no line event
        ok(await admin.patch(f"{FACILITIES}/P1", json={"timezone": "America/Chicago"}))
    for code in ("L1", "L2"):
        published = api.events("LineUpserted", f"line:{code}")
        assert [e.payload["timezone"] for e in published] == [
            "America/Mexico_City",
            "America/Chicago",
        ]
    assert len(api.events("LineUpserted", "line:L3")) == 1


async def test_a_line_moved_to_another_facility_goes_out_with_its_capacity(
    api: DowntimeApi,
) -> None:
    async with api.client("admin") as admin:
        await make_facility(admin, "P1", "America/Mexico_City")
        await make_facility(admin, "P2", "Europe/Madrid")
        await make_line(admin, "L1", "P1")
        capacity = {"units_per_shift": "50", "effective_from": "2026-01-01"}
        ok(await admin.post(f"{LINES}/L1/capacities", json=capacity), 201)
        ok(await admin.patch(f"{LINES}/L1", json={"name": "Renamed"}))  # no capacity event
        moved = ok(await admin.patch(f"{LINES}/L1", json={"facility_code": "p2"}))
        assert moved["facility_code"] == "P2"
    lines = [e.payload for e in api.events("LineUpserted", "line:L1")]
    assert [(p["facility_code"], p["timezone"]) for p in lines][-1] == ("P2", "Europe/Madrid")
    capacities = [e.payload for e in api.events("CapacityChanged", "capacity:L1")]
    assert [c["facility_code"] for c in capacities] == ["P1", "P2"]
    assert capacities[1]["capacities"] == [
        {"sku": None, "family": None, "units_per_shift": "50.0000", "effective_from": "2026-01-01"}
    ]


async def test_a_facility_with_active_lines_is_not_deactivated(api: DowntimeApi) -> None:
    async with api.client("admin") as admin:
        await make_facility(admin, "P1", "UTC")
        await make_line(admin, "L1", "P1")
        body = refused(await admin.post(f"{FACILITIES}/P1/deactivate"), 409, "code")
        assert body["code"] == "facility_has_active_lines" and "L1" in body["detail"]
        ok(await admin.post(f"{LINES}/L1/deactivate"))
        ok(await admin.post(f"{FACILITIES}/P1/deactivate"))
        again = await admin.post(f"{LINES}/L1/reactivate")
        refused(again, 409, "facility_code", "inactive_facility")


async def test_lines_are_listed_by_facility_paged_and_sorted(api: DowntimeApi) -> None:
    async with api.client("admin") as admin, api.client("operator") as operator:
        await make_facility(admin, "P1", "UTC")
        await make_facility(admin, "P2", "UTC")
        for code, facility in (("A1", "P1"), ("B1", "P1"), ("C1", "P1"), ("Z2", "P2")):
            await make_line(admin, code, facility)
        ok(await admin.post(f"{LINES}/B1/deactivate"))
        page = ok(
            await operator.get(LINES, params={"facility_code": "p1", "sort": "-code", "limit": 2})
        )
        assert ([line["code"] for line in page["items"]], page["total"]) == (["C1", "B1"], 3)
        active = ok(await operator.get(LINES, params={"facility_code": "P1", "active": "true"}))
        assert [line["code"] for line in active["items"]] == ["A1", "C1"]
        refused(await operator.get(LINES, params={"sort": "colour"}), 422, "query.sort")
        assert (await operator.post(f"{LINES}/A1/deactivate")).status_code == 403


async def test_a_line_created_twice_with_one_idempotency_key_is_created_once(
    api: DowntimeApi,
) -> None:
    async with api.client("admin") as admin:
        await make_facility(admin, "P1", "UTC")
        body = {"code": "L1", "facility_code": "P1", "name": "Line 1"}
        headers = {"Idempotency-Key": "line-l1"}
        first = ok(await admin.post(LINES, json=body, headers=headers), 201)
        again = await admin.post(LINES, json=body, headers=headers)
        assert again.status_code == 201 and again.json() == first
        assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(api.events("LineUpserted", "line:L1")) == 1


# --- shifts ------------------------------------------------------------------------------------


async def add_shifts(client: Any, facility: str, days: str = "123456") -> None:
    for code, start, end in (
        ("A", "06:00", "14:00"),
        ("B", "14:00", "22:00"),
        ("C", "22:00", "06:00"),
    ):
        shift = {
            "code": code,
            "name": f"Shift {code}",
            "start_time": start,
            "end_time": end,
            "days_of_week": days,
        }
        ok(await client.post(f"{FACILITIES}/{facility}/shifts", json=shift), 201)


async def test_shifts_cross_midnight_and_an_overlapping_one_is_refused_naming_the_other(
    api: DowntimeApi,
) -> None:
    async with api.client("admin", user="ada") as admin:
        await make_facility(admin, "NY", "America/New_York")
        await add_shifts(admin, "NY")
        shifts = ok(await admin.get(f"{FACILITIES}/NY/shifts"))["items"]
        assert [
            (s["code"], s["start_time"], s["end_time"], s["crosses_midnight"]) for s in shifts
        ] == [
            ("A", "06:00", "14:00", False),
            ("B", "14:00", "22:00", False),
            ("C", "22:00", "06:00", True),
        ]
        before = api.row_counts()
        sunday_early = {
            "code": "D",
            "name": "Sunday early",
            "start_time": "05:00",
            "end_time": "07:00",
            "days_of_week": [7],
        }
        body = refused(
            await admin.post(f"{FACILITIES}/NY/shifts", json=sunday_early), 409, "start_time"
        )
        assert (body["code"], body["other_shift"]) == ("shift_overlap", "C")
        assert "C" in body["detail"]
        late = {**sunday_early, "start_time": "6:00", "end_time": "18:00"}
        made = ok(await admin.post(f"{FACILITIES}/NY/shifts", json=late), 201)
        assert (made["days_of_week"], made["start_time"]) == ("7", "06:00")
        unknown = await admin.post(f"{FACILITIES}/NOPE/shifts", json={**late, "code": "E"})
        refused(unknown, 404, "code", "unknown_facility")
        # Moving A onto Sunday would meet D.
        moved = await admin.patch(f"{FACILITIES}/NY/shifts/A", json={"days_of_week": "1234567"})
        assert refused(moved, 409, "start_time")["other_shift"] == "D"
        assert api.row_counts()["shifts"] == before["shifts"] + 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"days_of_week": "1,2"}, "days_of_week"),
        ({"days_of_week": "8"}, "days_of_week"),
        ({"days_of_week": [0, 1]}, "days_of_week"),
        ({"days_of_week": ""}, "days_of_week"),
        ({"start_time": "25:00"}, "start_time"),
        ({"end_time": "06:00:30"}, "end_time"),
        ({"start_time": "06:00+01:00"}, "start_time"),
        ({"code": ""}, "code"),
    ],
)
async def test_bad_shift_input_names_the_field_and_saves_nothing(
    api: DowntimeApi, change: dict[str, Any], field: str
) -> None:
    async with api.client("admin") as admin:
        await make_facility(admin, "P1", "UTC")
        before = api.row_counts()
        shift = {
            "code": "A",
            "name": "A",
            "start_time": "06:00",
            "end_time": "14:00",
            "days_of_week": "12345",
            **change,
        }
        refused(await admin.post(f"{FACILITIES}/P1/shifts", json=shift), 422, field)
        assert api.row_counts() == before


async def test_a_deactivated_shift_frees_its_hours_until_it_is_reactivated(
    api: DowntimeApi,
) -> None:
    async with api.client("admin") as admin:
        await make_facility(admin, "P1", "UTC")
        await add_shifts(admin, "P1")
        ok(await admin.post(f"{FACILITIES}/P1/shifts/C/deactivate"))
        night = {
            "code": "N",
            "name": "Night",
            "start_time": "23:00",
            "end_time": "05:00",
            "days_of_week": "123456",
        }
        ok(await admin.post(f"{FACILITIES}/P1/shifts", json=night), 201)
        refused(
            await admin.post(f"{FACILITIES}/P1/shifts/C/reactivate"),
            409,
            "start_time",
            "shift_overlap",
        )
        at = {"at": "2026-06-16T23:30:00Z"}  # a Tuesday
        assert ok(await admin.get(f"{FACILITIES}/P1/shift-at", params=at))["shift_code"] == "N"
    audit = [e.payload["action"] for e in api.events("AuditRecorded", "audit:shift:P1/C")]
    assert audit == ["downtime.shifts.create", "downtime.shifts.deactivate"]


async def test_shift_at_answers_in_the_plants_own_time_over_the_clock_changes(
    api: DowntimeApi,
) -> None:
    # New York: Saturday night's C over the spring change runs 03:00-10:00 UTC on 8 March 2026
    # (22:00 EST to 06:00 EDT, 7 hours) and over the autumn change 02:00-11:00 UTC on 1 November
    # (22:00 EDT to 06:00 EST, 9 hours).
    async with api.client("operator") as operator, api.client("admin") as admin:
        await make_facility(admin, "NY", "America/New_York")
        await add_shifts(admin, "NY")
        spring = ok(
            await operator.get(
                f"{FACILITIES}/ny/shift-at", params={"at": "2026-03-08T03:30:00-04:00"}
            )
        )
        assert spring == {
            "facility_code": "NY",
            "timezone": "America/New_York",
            "at": "2026-03-08T07:30:00Z",
            "shift_code": "C",
            "production_day": "2026-03-07",
            "starts_at": "2026-03-08T03:00:00Z",
            "ends_at": "2026-03-08T10:00:00Z",
        }
        autumn = ok(
            await operator.get(
                f"{FACILITIES}/NY/shift-at", params={"at": "2026-11-01T06:30:00+00:00"}
            )
        )
        assert (autumn["shift_code"], autumn["production_day"]) == ("C", "2026-10-31")
        assert (autumn["starts_at"], autumn["ends_at"]) == (
            "2026-11-01T02:00:00Z",
            "2026-11-01T11:00:00Z",
        )
        sunday = ok(
            await operator.get(f"{FACILITIES}/NY/shift-at", params={"at": "2026-11-01T12:00:00Z"})
        )
        assert (sunday["shift_code"], sunday["production_day"], sunday["starts_at"]) == (
            None,
            "2026-11-01",
            None,
        )
        naive = await operator.get(
            f"{FACILITIES}/NY/shift-at", params={"at": "2026-11-01T12:00:00"}
        )
        refused(naive, 422, "query.at")
        assert (
            await operator.get(f"{FACILITIES}/NOPE/shift-at", params={"at": "2026-11-01T12:00:00Z"})
        ).status_code == 404


# --- capacity ----------------------------------------------------------------------------------


async def test_capacity_per_item_family_or_any_product_goes_out_whole(api: DowntimeApi) -> None:
    async with api.client("admin") as admin, api.client("planner", user="pat") as planner:
        await make_facility(admin, "P1", "UTC")
        await make_line(admin, "L1", "P1")
        url = f"{LINES}/L1/capacities"
        anything = ok(
            await planner.post(
                url, json={"units_per_shift": "100", "effective_from": "2026-01-01"}
            ),
            201,
        )
        family = ok(
            await planner.post(
                url,
                json={
                    "family": "BRACKETS",
                    "units_per_shift": "80",
                    "effective_from": "2026-01-01",
                },
            ),
            201,
        )
        item = ok(
            await planner.post(
                url,
                json={"sku": "BRKT-100", "units_per_shift": "60.5", "effective_from": "2026-03-01"},
            ),
            201,
        )
        assert (item["sku"], item["family"], item["units_per_shift"]) == (
            "BRKT-100",
            None,
            "60.5000",
        )
        before = api.row_counts()
        both = {"sku": "X", "family": "Y", "units_per_shift": "1", "effective_from": "2026-01-01"}
        refused(await planner.post(url, json=both), 422, "family")
        refused(
            await planner.post(url, json={**both, "sku": None, "units_per_shift": "0"}),
            422,
            "units_per_shift",
        )
        twice = {"family": "BRACKETS", "units_per_shift": "90", "effective_from": "2026-01-01"}
        body = refused(
            await planner.post(url, json=twice), 409, "effective_from", "capacity_exists"
        )
        assert body["other_capacity"] == family["id"]
        assert api.row_counts() == before
        changed = ok(
            await planner.patch(
                f"/api/v1/capacities/{family['id']}", json={"units_per_shift": "85"}
            )
        )
        assert changed["units_per_shift"] == "85.0000"
        ok(await planner.post(f"/api/v1/capacities/{anything['id']}/deactivate"))
        refused(
            await planner.patch(
                f"/api/v1/capacities/{anything['id']}", json={"units_per_shift": "1"}
            ),
            409,
            "id",
            "capacity_inactive",
        )
        listed = ok(await planner.get(url, params={"active": "true"}))["items"]
        assert [c["id"] for c in listed] == [item["id"], family["id"]]  # newest effective first
        async with api.client("operator") as operator:
            assert (await operator.post(url, json=twice)).status_code == 403
    published = [e.payload for e in api.events("CapacityChanged", "capacity:L1")]
    assert len(published) == 5  # three added, one changed, one deactivated
    assert published[-1] == {
        "line_code": "L1",
        "facility_code": "P1",
        "capacities": [
            {
                "sku": None,
                "family": "BRACKETS",
                "units_per_shift": "85.0000",
                "effective_from": "2026-01-01",
            },
            {
                "sku": "BRKT-100",
                "family": None,
                "units_per_shift": "60.5000",
                "effective_from": "2026-03-01",
            },
        ],
        "shifts_by_weekday": [0, 0, 0, 0, 0, 0, 0],  # the facility has no shifts yet
    }
    assert len(published[2]["capacities"]) == 3


async def test_capacity_for_takes_the_item_else_the_family_else_any_product_in_force(
    api: DowntimeApi,
) -> None:
    async with api.client("admin") as admin:
        await make_facility(admin, "P1", "UTC")
        await make_line(admin, "L1", "P1")
        url = f"{LINES}/L1/capacities"
        rows = [
            (None, None, "100", "2026-01-01"),
            (None, None, "120", "2026-06-01"),
            (None, "HOOKS", "200", "2026-02-01"),
            ("HOOK-200", None, "250", "2026-04-01"),
            ("HOOK-200", None, "999", "2026-05-01"),  # deactivated below: never in force
        ]
        made = []
        for sku, family, units, day in rows:
            body = {"sku": sku, "family": family, "units_per_shift": units, "effective_from": day}
            made.append(ok(await admin.post(url, json=body), 201))
        ok(await admin.post(f"/api/v1/capacities/{made[-1]['id']}/deactivate"))

    def capacity(sku: str | None, family: str | None, day: date) -> Decimal | None:
        with api.runtime.uow(read_only=True) as uow:
            return plant.capacity_for(uow, "L1", sku, family, day)

    assert capacity("HOOK-200", "HOOKS", date(2025, 12, 31)) is None  # before any row
    assert capacity("HOOK-200", "HOOKS", date(2026, 1, 15)) == Decimal("100")  # only "any"
    assert capacity("HOOK-200", "HOOKS", date(2026, 2, 1)) == Decimal("200")  # the family's
    assert capacity("HOOK-200", "HOOKS", date(2026, 4, 1)) == Decimal("250")  # the item's
    assert capacity("HOOK-200", "HOOKS", date(2026, 5, 20)) == Decimal("250")  # 999 is inactive
    assert capacity("HOOK-300", "HOOKS", date(2026, 5, 20)) == Decimal("200")  # another hook
    assert capacity("BRKT-100", None, date(2026, 5, 31)) == Decimal("100")
    assert capacity("BRKT-100", None, date(2026, 6, 1)) == Decimal("120")  # the newer "any"
    assert capacity(None, None, date(2026, 7, 1)) == Decimal("120")
    with api.runtime.uow(read_only=True) as uow:
        assert plant.capacity_for(uow, "NO-LINE", "HOOK-200", "HOOKS", date(2026, 7, 1)) is None


# --- day locks ---------------------------------------------------------------------------------


async def test_a_supervisor_locks_a_day_and_only_admin_lifts_the_lock(api: DowntimeApi) -> None:
    async with (
        api.client("admin", user="ada") as admin,
        api.client("supervisor", user="sue") as supervisor,
    ):
        await make_facility(admin, "P1", "America/Mexico_City")
        locks = f"{FACILITIES}/P1/day-locks"
        locked = ok(await supervisor.post(locks, json={"day": "2026-11-02"}), 201)
        assert (locked["day"], locked["kind"], locked["locked_by"]) == (
            "2026-11-02",
            "manual",
            "sue",
        )
        refused(
            await supervisor.post(locks, json={"day": "2026-11-02"}),
            409,
            "day",
            "day_already_locked",
        )
        future = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
        refused(await supervisor.post(locks, json={"day": future}), 422, "day", "day_in_future")
        async with api.client("operator") as operator:
            assert (await operator.post(locks, json={"day": "2026-11-03"})).status_code == 403
        listed = ok(
            await supervisor.get(locks, params={"date_from": "2026-11-01", "date_to": "2026-11-05"})
        )
        assert [(lock["day"], lock["kind"]) for lock in listed["locks"]] == [
            ("2026-11-02", "manual")
        ]
        assert (await supervisor.post(f"{locks}/2026-11-02/unlock")).status_code == 403
        lifted = ok(await admin.post(f"{locks}/2026-11-02/unlock"))
        assert lifted == {"facility_code": "P1", "day": "2026-11-02", "lock": None}
        refused(await admin.post(f"{locks}/2026-11-02/unlock"), 404, "day", "day_not_locked")
    audit = [e.payload for e in api.events("AuditRecorded", "audit:day_lock:P1/2026-11-02")]
    assert [(entry["action"], entry["actor"]) for entry in audit] == [
        ("downtime.days.lock", "sue"),
        ("downtime.days.unlock", "ada"),
    ]


async def test_a_day_locks_by_itself_at_the_plants_hour_of_the_next_day(api: DowntimeApi) -> None:
    async with api.client("admin") as admin, api.client("supervisor", user="sue") as supervisor:
        await make_facility(admin, "NY", "America/New_York", day_lock_hour=6)
        locks = f"{FACILITIES}/NY/day-locks"
        ok(await supervisor.post(locks, json={"day": "2026-03-07"}), 201)
        listed = ok(
            await supervisor.get(locks, params={"date_from": "2026-03-06", "date_to": "2026-03-08"})
        )
        # 7 March was locked by hand; 6 and 8 March by the clock at 06:00 the next morning
        # (EST on 7 March = 11:00 UTC, EDT on 9 March = 10:00 UTC).
        assert [(lock["day"], lock["kind"], lock["locked_at"]) for lock in listed["locks"]] == [
            ("2026-03-06", "automatic", "2026-03-07T11:00:00Z"),
            ("2026-03-07", "manual", listed["locks"][1]["locked_at"]),
            ("2026-03-08", "automatic", "2026-03-09T10:00:00Z"),
        ]
        # Lifting the supervisor's lock leaves the clock's.
        assert ok(await admin.post(f"{locks}/2026-03-07/unlock"))["lock"] == "automatic"
        refused(await admin.post(f"{locks}/2026-03-07/unlock"), 409, "day", "locked_by_the_clock")
        refused(
            await supervisor.get(
                locks, params={"date_from": "2026-03-08", "date_to": "2026-03-01"}
            ),
            422,
            "query.date_from",
        )
        refused(
            await supervisor.get(
                locks, params={"date_from": "2024-01-01", "date_to": "2026-03-01"}
            ),
            422,
            "query.date_from",
        )
    with api.runtime.uow(read_only=True) as uow:
        # 1 November 2026 ends on EST: it locks at 06:00 EST on 2 November = 11:00 UTC.
        just_before = plant.list_day_locks(
            uow, "NY", date(2026, 11, 1), date(2026, 11, 1), utc(2026, 11, 2, 10, 59)
        )
        at_six = plant.list_day_locks(
            uow, "NY", date(2026, 11, 1), date(2026, 11, 1), utc(2026, 11, 2, 11, 0)
        )
    assert just_before.locks == []
    assert [(lock.day, lock.kind) for lock in at_six.locks] == [(date(2026, 11, 1), "automatic")]


# --- the plant's calendar and ids --------------------------------------------------------------


async def test_days_and_moments_outside_the_plants_calendar_are_refused_naming_the_field(
    api: DowntimeApi,
) -> None:
    async with (
        api.client("admin") as admin,
        api.client("supervisor") as supervisor,
        api.client("operator") as operator,
    ):
        await make_facility(admin, "NY", "America/New_York", day_lock_hour=6)
        await add_shifts(admin, "NY")
        before = api.row_counts()
        locks = f"{FACILITIES}/NY/day-locks"
        for params, field in (
            ({"date_to": "0001-01-01"}, "query.date_to"),
            ({"date_from": "9999-12-31", "date_to": "9999-12-31"}, "query.date_from"),
            ({"date_from": "1999-12-31", "date_to": "2000-01-01"}, "query.date_from"),
            ({"date_from": "2999-12-31", "date_to": "3000-01-01"}, "query.date_to"),
        ):
            body = refused(await supervisor.get(locks, params=params), 422, field)
            assert body["code"] == "day_out_of_range", body
            assert "2000-01-01" in body["detail"] and "2999-12-31" in body["detail"], body
        for day in ("9999-12-31", "0001-01-01", "1999-12-31"):
            refused(await admin.post(f"{locks}/{day}/unlock"), 422, "day", "day_out_of_range")
            refused(await supervisor.post(locks, json={"day": day}), 422, "day", "day_out_of_range")
        shift_at = f"{FACILITIES}/NY/shift-at"
        for at in (
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:00:00Z",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-05:00",
            "1999-12-31T23:59:59Z",
            "3000-01-01T00:00:00Z",
        ):
            body = refused(
                await operator.get(shift_at, params={"at": at}), 422, "query.at", "day_out_of_range"
            )
            assert "2000-01-01" in body["detail"], body
        assert api.row_counts() == before

        # The calendar's own ends answer. Saturday 1 January 2000 locks by itself at 06:00 EST
        # of the 2nd (11:00 UTC); the list without a date_from starts at the calendar's start.
        first = ok(await supervisor.get(locks, params={"date_to": "2000-01-02"}))
        assert (first["date_from"], first["date_to"]) == ("2000-01-01", "2000-01-02")
        assert [(lock["day"], lock["kind"], lock["locked_at"]) for lock in first["locks"]] == [
            ("2000-01-01", "automatic", "2000-01-02T11:00:00Z"),
            ("2000-01-02", "automatic", "2000-01-03T11:00:00Z"),
        ]
        last = ok(
            await supervisor.get(locks, params={"date_from": "2999-12-30", "date_to": "2999-12-31"})
        )
        assert last["locks"] == []  # not locked yet
        refused(await admin.post(f"{locks}/2999-12-31/unlock"), 404, "day", "day_not_locked")
        # Saturday 1 January 2000, 07:00 EST, is shift A; Tuesday 31 December 2999, 18:59:59
        # EST, is shift B, which ends at 22:00 EST (03:00 UTC of the year 3000).
        saturday = ok(await operator.get(shift_at, params={"at": "2000-01-01T12:00:00Z"}))
        assert (saturday["shift_code"], saturday["production_day"]) == ("A", "2000-01-01")
        end = ok(await operator.get(shift_at, params={"at": "2999-12-31T23:59:59Z"}))
        assert (end["shift_code"], end["production_day"], end["ends_at"]) == (
            "B",
            "2999-12-31",
            "3000-01-01T03:00:00Z",
        )


async def test_an_id_beyond_any_row_is_refused_naming_it(api: DowntimeApi) -> None:
    async with api.client("admin") as admin:
        huge = "9" * 30
        for response in (
            await admin.patch(f"/api/v1/capacities/{huge}", json={"units_per_shift": "5"}),
            await admin.post(f"/api/v1/capacities/{huge}/deactivate"),
            await admin.post(f"/api/v1/capacities/{2**63}/deactivate"),
            await admin.post("/api/v1/capacities/0/deactivate"),
        ):
            refused(response, 422, "path.capacity_id")
        missing = await admin.post(f"/api/v1/capacities/{2**63 - 1}/deactivate")
        refused(missing, 404, "id", "unknown_capacity")


async def test_a_line_that_is_down_is_not_deactivated(api: DowntimeApi) -> None:
    async with api.client("admin") as admin, api.client("operator") as operator:
        await make_facility(admin, "NY", "America/New_York")
        await make_line(admin, "L1", "NY")
        since = (datetime.now(UTC) - timedelta(hours=2)).replace(second=0, microsecond=0)
        stop = ok(
            await operator.post(
                f"{LINES}/L1/downtime/start", json={"started_at": since.isoformat()}
            ),
            201,
        )
        body = refused(await admin.post(f"{LINES}/L1/deactivate"), 409, "code", "line_is_down")
        wall = since.astimezone(ZoneInfo("America/New_York")).strftime("%Y-%m-%d %H:%M")
        assert f"#{stop['id']}" in body["detail"] and wall in body["detail"], body
        assert body["downtime_id"] == stop["id"]
        assert ok(await admin.get(f"{LINES}/L1"))["active"] is True
        # The facility cannot go either: its line is still active.
        refused(await admin.post(f"{FACILITIES}/NY/deactivate"), 409, "code")

        ok(await operator.post(f"/api/v1/downtimes/{stop['id']}/end", json={}))
        assert ok(await admin.post(f"{LINES}/L1/deactivate"))["active"] is False
    spanish = None
    async with api.client("admin", language="es") as admin:
        ok(await admin.post(f"{LINES}/L1/reactivate"))
        async with api.client("operator") as operator:
            again = ok(await operator.post(f"{LINES}/L1/downtime/start", json={}), 201)
        spanish = refused(await admin.post(f"{LINES}/L1/deactivate"), 409, "code", "line_is_down")
    assert f"#{again['id']}" in spanish["detail"] and "paro" in spanish["detail"], spanish


async def test_a_shift_change_republishes_each_lines_shifts_per_weekday(api: DowntimeApi) -> None:
    """The MRP counts the shifts a line works per weekday for its earliest dates: each shift
    added, moved to other days or deactivated sends every line of the facility again."""
    async with api.client("admin") as admin:
        await make_facility(admin, "P1", "UTC")
        await make_line(admin, "L1", "P1")
        await make_line(admin, "L2", "P1")
        day = {"start_time": "06:00", "end_time": "14:00", "days_of_week": "12345"}
        ok(await admin.post(f"{FACILITIES}/P1/shifts", json={**day, "code": "A", "name": "A"}), 201)
        night = {"start_time": "22:00", "end_time": "06:00", "days_of_week": "123456"}
        ok(
            await admin.post(f"{FACILITIES}/P1/shifts", json={**night, "code": "C", "name": "C"}),
            201,
        )

        def latest(line: str) -> list[int]:
            events = api.events("CapacityChanged", f"capacity:{line}")
            return list(events[-1].payload["shifts_by_weekday"])

        assert latest("L1") == latest("L2") == [2, 2, 2, 2, 2, 1, 0]
        ok(await admin.patch(f"{FACILITIES}/P1/shifts/A", json={"days_of_week": "1234567"}))
        assert latest("L1") == [2, 2, 2, 2, 2, 2, 1]
        ok(await admin.post(f"{FACILITIES}/P1/shifts/C/deactivate"))
        assert latest("L2") == [1, 1, 1, 1, 1, 1, 1]
        renamed = len(api.events("CapacityChanged", "capacity:L1"))
        ok(await admin.patch(f"{FACILITIES}/P1/shifts/A", json={"name": "Morning"}))
        assert len(api.events("CapacityChanged", "capacity:L1")) == renamed  # days unchanged
