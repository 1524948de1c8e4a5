"""Downtime on the floor, through the downtime service's API: "line down" and "back up", an entry
after the fact, the shift and production day set from the plant's clock, overlaps refused with a
message naming the other entry, locked days, Idempotency-Key retries, stale edits, the machine's
own stops classified afterwards, and bad input refused with nothing saved.

Plant: PLANT-1 in America/New_York, shifts A 06-14, B 14-22, C 22-06 every day
(tests/support/downtime_plant.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.downtime.entries import service
from services.downtime.entries.models import Downtime
from services.downtime.plant.calendar import day_lock
from services.downtime.plant.models import DayLock, Facility
from services.downtime.reasons.models import DowntimeReason
from shared.events.envelope import utc_now
from tests.support.downtime_plant import Plant, downtime_plant

LINE = "PRN-01"
# 2026-07-15 (EDT, UTC-4): 10:00 local is 14:00 UTC, shift A of the 15th.
T = datetime(2026, 7, 15, 14, 0, tzinfo=UTC)


@pytest.fixture
async def plant(tmp_path: Path) -> AsyncIterator[Plant]:
    async with downtime_plant(tmp_path) as plant:
        yield plant


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def entry(start: datetime, minutes: int, reason: str = "MECH-NOZZLE-CLOG") -> dict[str, Any]:
    return {
        "line_code": LINE,
        "reason_code": reason,
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(minutes=minutes)).isoformat(),
    }


def count(plant: Plant) -> int:
    with plant.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Downtime)) or 0)


async def test_line_down_then_back_up_records_one_classified_stop_in_the_current_shift(
    plant: Plant,
) -> None:
    async with plant.client("operator", user="olga") as operator:
        started = ok(await operator.post(f"/api/v1/lines/{LINE}/downtime/start", json={}), 201)
        assert started["running"] is True and started["reason_code"] is None
        floor = ok(await operator.get(f"/api/v1/lines/{LINE}/floor"))
        assert floor["running"]["id"] == started["id"]
        assert floor["shift_code"] == started["shift_code"]
        assert floor["production_day"] == started["production_day"]
        ended = ok(
            await operator.post(
                f"/api/v1/downtimes/{started['id']}/end",
                json={"reason_code": "mech-nozzle-clog", "notes": "cleared the nozzle"},
            )
        )
    assert ended["running"] is False and ended["ended_at"] is not None
    assert ended["reason_path"] == "Mechanical / Nozzle / Clogged"
    assert (ended["reason_colour"], ended["planned"]) == ("#ffbb78", False)
    assert (ended["created_by"], ended["source"], ended["version"]) == ("olga", "tablet", 2)
    published = plant.events("DowntimeRecorded")
    assert [e.payload["ended_at"] is None for e in published] == [True, False]
    assert {e.key for e in published} == {f"downtime:{started['id']}"}
    assert published[-1].payload["reason_code"] == "MECH-NOZZLE-CLOG"


async def test_the_shift_and_production_day_follow_the_plants_clock_across_midnight(
    plant: Plant,
) -> None:
    # 23:30 and 02:00 New York time on the night of 14-15 July are both shift C of the 14th.
    evening = datetime(2026, 7, 15, 3, 30, tzinfo=UTC)
    small_hours = datetime(2026, 7, 15, 6, 0, tzinfo=UTC)
    morning = datetime(2026, 7, 15, 10, 0, tzinfo=UTC)  # 06:00 local: shift A of the 15th
    async with plant.client("operator") as operator:
        shown = [
            ok(await operator.post("/api/v1/downtimes", json=entry(moment, 10)), 201)
            for moment in (evening, small_hours, morning)
        ]
    assert [(e["shift_code"], e["production_day"]) for e in shown] == [
        ("C", "2026-07-14"),
        ("C", "2026-07-14"),
        ("A", "2026-07-15"),
    ]


async def test_a_night_shift_over_the_autumn_change_keeps_its_production_day(
    plant: Plant,
) -> None:
    # 1 November 2026: New York falls back at 02:00 EDT. 01:30 happens twice; 05:30 EST is
    # 10:30 UTC, still shift C (22:00 EDT on 31 Oct to 06:00 EST on 1 Nov, nine hours).
    async with plant.client("operator") as operator:
        late = ok(
            await operator.post(
                "/api/v1/downtimes", json=entry(datetime(2026, 11, 1, 10, 30, tzinfo=UTC), 20)
            ),
            201,
        )
        after = ok(
            await operator.post(
                "/api/v1/downtimes", json=entry(datetime(2026, 11, 1, 11, 0, tzinfo=UTC), 20)
            ),
            201,
        )
    assert (late["shift_code"], late["production_day"]) == ("C", "2026-10-31")
    assert (after["shift_code"], after["production_day"]) == ("A", "2026-11-01")


async def test_an_overlapping_entry_is_refused_naming_the_other_and_nothing_is_saved(
    plant: Plant,
) -> None:
    async with plant.client("operator") as operator:
        first = ok(await operator.post("/api/v1/downtimes", json=entry(T, 30)), 201)
        for start, minutes in ((T + timedelta(minutes=10), 5), (T - timedelta(minutes=5), 10)):
            refused = await operator.post(
                "/api/v1/downtimes", json=entry(start, minutes, "CHANGEOVER")
            )
            assert refused.status_code == 409, refused.text
            problem = refused.json()
            assert problem["code"] == "downtime_overlap"
            assert f"#{first['id']}" in problem["detail"]
            assert "Mechanical / Nozzle / Clogged" in problem["detail"]
            assert "10:00" in problem["detail"] and "10:30" in problem["detail"]
            assert problem["other"]["id"] == first["id"]
        # Touching ends do not overlap: 10:30-10:40 follows 10:00-10:30.
        ok(
            await operator.post(
                "/api/v1/downtimes", json=entry(T + timedelta(minutes=30), 10, "CHANGEOVER")
            ),
            201,
        )
        # Another line is another line.
        other_line = entry(T, 30) | {"line_code": "PRN-02"}
        ok(await operator.post("/api/v1/downtimes", json=other_line), 201)
    assert count(plant) == 3


async def test_a_line_that_is_already_down_cannot_go_down_again(plant: Plant) -> None:
    async with plant.client("operator") as operator:
        since = (utc_now() - timedelta(minutes=30)).isoformat()
        running = ok(
            await operator.post(f"/api/v1/lines/{LINE}/downtime/start", json={"started_at": since}),
            201,
        )
        again = await operator.post(f"/api/v1/lines/{LINE}/downtime/start", json={})
        assert again.status_code == 409 and again.json()["code"] == "downtime_overlap"
        assert f"#{running['id']}" in again.json()["detail"]
        # An entry after the fact that reaches into the running stop is refused too.
        recent = entry(utc_now() - timedelta(minutes=40), 20)
        late = await operator.post("/api/v1/downtimes", json=recent)
        assert late.status_code == 409
    assert count(plant) == 1


async def test_bad_input_names_the_field_and_saves_nothing(plant: Plant) -> None:
    with plant.uow() as uow:
        uow.session.get_one(DowntimeReason, "MECH-BELT").active = False
        uow.commit()
    cases = [
        (entry(T, 10) | {"ended_at": (T - timedelta(minutes=5)).isoformat()}, 422, "ended_at"),
        (entry(T, 10) | {"line_code": "NOPE"}, 404, "line_code"),
        (entry(T, 10, "GREMLINS"), 422, "reason_code"),
        (entry(T, 10, "MAD-JAM"), 422, "reason_code"),  # PLANT-2's reason
        (entry(T, 10, "MECH-BELT"), 422, "reason_code"),  # deactivated
        (entry(T, 10, "MECH-NOZZLE"), 422, "reason_code"),  # not a leaf
        (entry(utc_now() + timedelta(hours=2), 10), 422, "started_at"),
        (entry(T, 60 * 24 * 40), 422, "ended_at"),
        (entry(T, 10) | {"started_at": "2026-07-15T10:00:00"}, 422, "started_at"),  # naive
    ]
    async with plant.client("operator") as operator:
        for body, status, field in cases:
            response = await operator.post("/api/v1/downtimes", json=body)
            assert response.status_code == status, (body, response.text)
            problem = response.json()
            assert response.headers["content-type"].startswith("application/problem+json")
            named = problem.get("field") or " ".join(
                str(error.get("field", "")) for error in problem.get("errors", [])
            )
            assert field in named, (body, problem)
    assert count(plant) == 0
    assert plant.events("DowntimeRecorded") == []


async def test_a_locked_day_takes_changes_only_from_admin_with_a_reason_and_audits_them(
    plant: Plant,
) -> None:
    with plant.uow() as uow:
        uow.session.add(
            DayLock(
                facility_code="PLANT-1", day=date(2026, 7, 15), locked_by="sue", locked_at=utc_now()
            )
        )
        uow.commit()
    async with plant.client("supervisor") as supervisor:
        refused = await supervisor.post("/api/v1/downtimes", json=entry(T, 15))
        assert refused.status_code == 409 and refused.json()["code"] == "day_locked"
        assert "2026-07-15" in refused.json()["detail"]
    async with plant.client("admin", user="ada") as admin:
        no_reason = await admin.post("/api/v1/downtimes", json=entry(T, 15))
        assert no_reason.status_code == 422 and no_reason.json()["field"] == "edit_reason"
        assert count(plant) == 0
        body = entry(T, 15) | {"edit_reason": "late report from the night crew"}
        created = ok(await admin.post("/api/v1/downtimes", json=body), 201)
        moved = ok(
            await admin.patch(
                f"/api/v1/downtimes/{created['id']}",
                json={
                    "version": created["version"],
                    "ended_at": (T + timedelta(minutes=25)).isoformat(),
                    "edit_reason": "the crew corrected the end",
                },
            )
        )
    assert moved["duration_seconds"] == "1500"
    audits = [e.payload for e in plant.events("AuditRecorded")]
    assert [a["action"] for a in audits] == [
        "downtime.entries.create",
        "downtime.entries.update",
    ]
    assert audits[1]["before"]["ended_at"].startswith("2026-07-15T14:15")
    assert audits[1]["after"]["ended_at"].startswith("2026-07-15T14:25")
    assert audits[1]["after"]["edit_reason"] == "the crew corrected the end"
    assert audits[1]["actor"] == "ada"


async def test_yesterday_locks_by_itself_at_the_plants_lock_hour(tmp_path: Path) -> None:
    async with downtime_plant(tmp_path, day_lock_hour=6) as plant:
        with plant.uow() as uow:
            facility = uow.session.get_one(Facility, "PLANT-1")
            day = date(2026, 7, 15)
            # 06:00 New York on the 16th is 10:00 UTC.
            assert day_lock(uow, facility, day, datetime(2026, 7, 16, 9, 59, tzinfo=UTC)) is None
            assert (
                day_lock(uow, facility, day, datetime(2026, 7, 16, 10, 0, tzinfo=UTC))
                == "automatic"
            )
        async with plant.client("operator") as operator:
            refused = await operator.post("/api/v1/downtimes", json=entry(T, 10))
            assert refused.status_code == 409 and refused.json()["lock"] == "automatic"


async def test_a_retry_with_the_same_idempotency_key_saves_the_stop_once(plant: Plant) -> None:
    headers = {"Idempotency-Key": "tablet-7-entry-1"}
    async with plant.client("operator") as operator:
        first = await operator.post("/api/v1/downtimes", json=entry(T, 10), headers=headers)
        again = await operator.post("/api/v1/downtimes", json=entry(T, 10), headers=headers)
        start_key = {"Idempotency-Key": "tablet-7-down-1"}
        down = await operator.post(
            f"/api/v1/lines/{LINE}/downtime/start", json={}, headers=start_key
        )
        down_again = await operator.post(
            f"/api/v1/lines/{LINE}/downtime/start", json={}, headers=start_key
        )
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert first.json()["id"] == again.json()["id"]
    assert down.status_code == down_again.status_code == 201
    assert down.json()["id"] == down_again.json()["id"]
    assert count(plant) == 2


async def test_an_edit_from_a_stale_read_is_refused_with_the_entry_as_it_is_now(
    plant: Plant,
) -> None:
    async with plant.client("operator") as operator, plant.client("supervisor") as supervisor:
        created = ok(await operator.post("/api/v1/downtimes", json=entry(T, 10)), 201)
        ok(
            await supervisor.patch(
                f"/api/v1/downtimes/{created['id']}",
                json={"version": created["version"], "notes": "belt, not nozzle"},
            )
        )
        stale = await operator.patch(
            f"/api/v1/downtimes/{created['id']}",
            json={"version": created["version"], "reason_code": "CHANGEOVER"},
        )
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    assert stale.json()["downtime"]["notes"] == "belt, not nozzle"
    assert stale.json()["downtime"]["reason_code"] == "MECH-NOZZLE-CLOG"


async def test_a_machine_stop_arrives_unclassified_and_the_operator_classifies_it(
    plant: Plant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The floor view shows the production day of "now": a stop 30 minutes before the 06:00
    # start of New York's day belongs to the day before. The clock is set to mid-morning so
    # the story does not depend on when it runs (it failed between 11:00 and 11:30 UTC).
    now = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 10:00 in New York, a Monday
    monkeypatch.setattr(service, "utc_now", lambda: now)
    stopped_at = now - timedelta(minutes=30)
    with plant.uow() as uow:
        opened = service.machine_stopped(uow, LINE, stopped_at)
        assert opened is not None
        # The same stop reported again while the line is down changes nothing.
        assert service.machine_stopped(uow, LINE, stopped_at + timedelta(minutes=1)) is None
        closed = service.machine_running(uow, LINE, stopped_at + timedelta(minutes=12))
        assert closed is not None and closed.id == opened.id
        assert service.machine_running(uow, LINE, stopped_at + timedelta(minutes=13)) is None
        uow.commit()
    async with plant.client("operator") as operator:
        floor = ok(await operator.get(f"/api/v1/lines/{LINE}/floor"))
        assert floor["unclassified"] == 1
        stop = floor["entries"][0]
        assert (stop["source"], stop["reason_code"], stop["duration_seconds"]) == (
            "machine",
            None,
            "720",
        )
        classified = ok(
            await operator.patch(
                f"/api/v1/downtimes/{stop['id']}",
                json={"version": stop["version"], "reason_code": "CHANGEOVER"},
            )
        )
    assert (classified["reason_code"], classified["planned"]) == ("CHANGEOVER", True)
    listed = [e.payload for e in plant.events("DowntimeRecorded")]
    assert [p["reason_code"] for p in listed] == [None, None, "CHANGEOVER"]


async def test_the_floor_view_shows_the_order_running_on_the_line(plant: Plant) -> None:
    from services.downtime.floor.service import remember_order
    from shared.events.catalogue import ProductionOrderChanged

    order = ProductionOrderChanged(
        order_code="PRD-2026-00042",
        sku="WIDGET-W",
        order_type="mts",
        status="in_progress",
        qty_ordered=100,
        qty_to_make=105,
        line_code=LINE,
    )
    with plant.uow() as uow:
        remember_order(uow, order, 3)
        remember_order(uow, order.model_copy(update={"status": "scheduled"}), 2)  # older
        uow.commit()
    async with plant.client("operator") as operator:
        floor = ok(await operator.get(f"/api/v1/lines/{LINE}/floor"))
        assert floor["order"]["order_code"] == "PRD-2026-00042"
        down = ok(await operator.post(f"/api/v1/lines/{LINE}/downtime/start", json={}), 201)
        assert down["order_code"] == "PRD-2026-00042"
        other = ok(await operator.get("/api/v1/lines/PRN-02/floor"))
        assert other["order"] is None


async def test_the_list_filters_by_line_day_and_unclassified_and_exports(plant: Plant) -> None:
    async with plant.client("operator") as operator:
        ok(await operator.post("/api/v1/downtimes", json=entry(T, 10)), 201)
        ok(
            await operator.post(
                "/api/v1/downtimes", json=entry(T + timedelta(days=1), 10, "CHANGEOVER")
            ),
            201,
        )
        day = ok(
            await operator.get(
                "/api/v1/downtimes",
                params={"date_from": "2026-07-16", "date_to": "2026-07-16", "line_code": LINE},
            )
        )
        assert [e["reason_code"] for e in day["items"]] == ["CHANGEOVER"]
        assert (
            ok(await operator.get("/api/v1/downtimes", params={"unclassified": True}))["total"] == 0
        )
        backwards = await operator.get(
            "/api/v1/downtimes", params={"date_from": "2026-07-16", "date_to": "2026-07-01"}
        )
        assert backwards.status_code == 422
        sheet = await operator.get("/api/v1/downtimes.xlsx", params={"facility_code": "PLANT-1"})
    assert sheet.status_code == 200
    from io import BytesIO

    from openpyxl import load_workbook

    rows = list(load_workbook(BytesIO(sheet.content)).active.iter_rows(values_only=True))
    assert len(rows) == 3
    assert rows[2][9] == "Mechanical / Nozzle / Clogged"
    # Times are New York wall-clock time: 10:00 on 15 July.
    assert rows[2][5] == datetime(2026, 7, 15, 10, 0, tzinfo=UTC).replace(tzinfo=None)


async def test_times_no_stop_can_have_are_refused_and_a_clock_slightly_ahead_is_taken_as_now(
    plant: Plant,
) -> None:
    now = utc_now()
    async with plant.client("operator") as operator:
        cases = [
            ({"started_at": (now - timedelta(days=40)).isoformat()}, "start_too_old"),
            ({"started_at": "1999-12-31T23:00:00Z"}, "start_too_early"),
            ({"started_at": "0001-01-01T00:00:00Z"}, "start_too_early"),
        ]
        for body, code in cases:
            refused = await operator.post(f"/api/v1/lines/{LINE}/downtime/start", json=body)
            assert refused.status_code == 422, refused.text
            assert (refused.json()["code"], refused.json()["field"]) == (code, "started_at")
        ancient = entry(datetime(1, 1, 1, tzinfo=UTC), 10)
        assert (await operator.post("/api/v1/downtimes", json=ancient)).status_code == 422
        for bad_id in ("0", "99999999999999999999"):
            answer = await operator.get(f"/api/v1/downtimes/{bad_id}")
            assert answer.status_code == 422, answer.text
            patched = await operator.patch(f"/api/v1/downtimes/{bad_id}", json={"version": 1})
            assert patched.status_code == 422, patched.text
        ahead = (now + timedelta(minutes=4)).isoformat()
        started = ok(
            await operator.post(f"/api/v1/lines/{LINE}/downtime/start", json={"started_at": ahead}),
            201,
        )
    assert datetime.fromisoformat(started["started_at"]) <= utc_now()
    assert count(plant) == 1


async def test_a_line_down_for_longer_than_a_month_still_comes_back_up(plant: Plant) -> None:
    long_ago = utc_now() - timedelta(days=45)
    with plant.uow() as uow:
        opened = service.machine_stopped(uow, LINE, utc_now() - timedelta(days=1))
        assert opened is not None
        opened.started_at = long_ago  # a shutdown that began before the last month
        uow.commit()
    async with plant.client("operator") as operator:
        ended = ok(await operator.post(f"/api/v1/downtimes/{opened.id}/end", json={}))
    assert ended["running"] is False
    assert int(ended["duration_seconds"]) >= 45 * 24 * 3600


async def test_back_up_on_a_locked_day_ends_the_stop_but_classifying_it_needs_admin(
    plant: Plant,
) -> None:
    async with plant.client("operator") as operator:
        first = ok(await operator.post(f"/api/v1/lines/{LINE}/downtime/start", json={}), 201)
        second = ok(await operator.post("/api/v1/lines/PRN-02/downtime/start", json={}), 201)
        with plant.uow() as uow:
            day = date.fromisoformat(first["production_day"])
            uow.session.add(
                DayLock(facility_code="PLANT-1", day=day, locked_by="sue", locked_at=utc_now())
            )
            uow.commit()
        classified = await operator.post(
            f"/api/v1/downtimes/{first['id']}/end", json={"reason_code": "CHANGEOVER"}
        )
        assert classified.status_code == 409 and classified.json()["code"] == "day_locked"
        plain = ok(await operator.post(f"/api/v1/downtimes/{second['id']}/end", json={}))
        assert plain["running"] is False and plain["reason_code"] is None
    async with plant.client("admin", user="ada") as admin:
        done = ok(
            await admin.post(
                f"/api/v1/downtimes/{first['id']}/end",
                json={"reason_code": "CHANGEOVER", "edit_reason": "crew forgot to classify"},
            )
        )
    assert (done["reason_code"], done["planned"]) == ("CHANGEOVER", True)


async def test_a_machine_stop_heard_late_is_recorded_closed_unless_it_overlaps(
    plant: Plant,
) -> None:
    async with plant.client("operator") as operator:
        ok(await operator.post("/api/v1/downtimes", json=entry(T + timedelta(hours=1), 15)), 201)
    with plant.uow() as uow:
        late = service.record_machine_stop(uow, LINE, T, T + timedelta(minutes=30))
        assert late is not None and (late.source, late.reason_code) == ("machine", None)
        clash = service.record_machine_stop(
            uow, LINE, T + timedelta(minutes=50), T + timedelta(minutes=70)
        )
        assert clash is None
        uow.commit()
    assert count(plant) == 2
