"""Downtime entries under concurrent requests on PostgreSQL: tablets, clerks and a machine at
one line at once never leave two overlapping stops, because the line's row lock makes the
overlap check and the write one step (docs/downtime.md "Entries").

The downtime service runs alone on its own database (tests/support/downtime_plant.py).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from services.downtime.entries.models import Downtime
from tests.support.downtime_plant import Plant, downtime_plant
from tests.support.servers import PostgresDatabases

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
T = datetime(2026, 7, 15, 14, 0, tzinfo=UTC)


@pytest.fixture
async def plant(postgres: PostgresDatabases, tmp_path: Path) -> AsyncIterator[Plant]:
    async with downtime_plant(tmp_path, db_url=postgres.create("downtime")) as plant:
        yield plant


def body(start: datetime, minutes: int, line: str = "PRN-01") -> dict[str, Any]:
    return {
        "line_code": line,
        "reason_code": "MECH-NOZZLE-CLOG",
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(minutes=minutes)).isoformat(),
    }


def stops(plant: Plant, line: str) -> list[tuple[datetime, datetime | None]]:
    with plant.uow() as uow:
        rows = uow.session.execute(
            select(Downtime.started_at, Downtime.ended_at)
            .where(Downtime.line_code == line)
            .order_by(Downtime.started_at)
        )
        return [(start, end) for start, end in rows]


async def test_twelve_tablets_entering_overlapping_stops_at_once_save_exactly_one(
    plant: Plant,
) -> None:
    # Twelve entries that all overlap one another (each starts a minute after the last and
    # lasts 30): whichever commits first wins, every other one is told which entry is in the
    # way.
    async with plant.client("operator") as api:
        answers = await asyncio.gather(
            *(
                api.post("/api/v1/downtimes", json=body(T + timedelta(minutes=n), 30))
                for n in range(12)
            )
        )
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {201: 1, 409: 11}, [a.text for a in answers if a.status_code != 409]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"downtime_overlap"}
    assert len(stops(plant, "PRN-01")) == 1


async def test_tablets_on_two_lines_and_the_machine_at_once_leave_no_overlap_on_either_line(
    plant: Plant,
) -> None:
    # On each line: ten "line down now" taps at once, and ten back-to-back entries of the past
    # hour that do not overlap each other: one running stop and ten entries per line.
    now = datetime.now(UTC).replace(microsecond=0)
    past = now - timedelta(hours=2)
    async with plant.client("operator") as api:
        calls = []
        for line in ("PRN-01", "PRN-02"):
            calls += [api.post(f"/api/v1/lines/{line}/downtime/start", json={}) for _ in range(10)]
            calls += [
                api.post("/api/v1/downtimes", json=body(past + timedelta(minutes=6 * n), 6, line))
                for n in range(10)
            ]
        answers = await asyncio.gather(*calls)
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {201: 22, 409: 18}, [a.text for a in answers if a.status_code >= 500]
    for line in ("PRN-01", "PRN-02"):
        saved = stops(plant, line)
        assert len(saved) == 11
        assert sum(1 for _, end in saved if end is None) == 1
        for (_, end), (next_start, _) in itertools.pairwise(saved):
            assert end is not None and end <= next_start, (line, saved)
