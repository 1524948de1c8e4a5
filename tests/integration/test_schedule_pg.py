"""Two planners save the same scheduling-grid cell at the same moment on PostgreSQL: the order's
row lock makes the version check and the write one step, so exactly one save is applied and
the other is told who changed the line, with the row as it is now (docs/mrp.md "Scheduling
grid").

The mrp service runs alone on its own database, with the plant of tests/unit/test_schedule.py.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from services.mrp.schedule.models import LineProjection, ProjectionChange
from tests.support.servers import PostgresDatabases
from tests.unit.test_schedule import Plant, cell, schedule_plant

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


@pytest.fixture
async def plant(
    postgres: PostgresDatabases, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Plant]:
    from services.mrp.schedule import api as schedule_api

    monkeypatch.setattr(schedule_api, "plant_today", lambda settings: date(2026, 3, 10))
    async with schedule_plant(tmp_path, db_url=postgres.create("mrp")) as running:
        yield running


def changes(plant: Plant, so_line_id: int) -> int:
    with plant.uow() as uow:
        return int(
            uow.session.scalar(
                select(func.count(ProjectionChange.id)).where(
                    ProjectionChange.so_line_id == so_line_id
                )
            )
            or 0
        )


def projection(plant: Plant, so_line_id: int) -> tuple[int, str] | None:
    """The line's (version, low risk qty) as saved, None while it has no projection."""
    with plant.uow() as uow:
        row = uow.session.get(LineProjection, so_line_id)
        return None if row is None else (row.version, str(row.low_risk_qty))


async def test_two_planners_saving_the_same_cell_at_once_exactly_one_wins(plant: Plant) -> None:
    widget = plant.lines["1/1"]
    # Round after round, each time both planners hold the row's current version: the first
    # round creates the projection row, the others update it.
    for round_no in range(8):
        version = round_no
        async with (
            plant.client("planner", user="paula") as paula,
            plant.client("supervisor", user="marco") as marco,
        ):
            answers = await asyncio.gather(
                paula.put(cell(widget), json={"value": f"{round_no}.25", "version": version}),
                marco.put(cell(widget), json={"value": f"{round_no}.75", "version": version}),
            )
        statuses = Counter(answer.status_code for answer in answers)
        assert statuses == {200: 1, 409: 1}, [answer.text for answer in answers]
        won = next(answer.json() for answer in answers if answer.status_code == 200)
        lost = next(answer.json() for answer in answers if answer.status_code == 409)
        assert lost["code"] == "concurrent_change"
        assert lost["current"]["version"] == version + 1
        assert lost["current"]["value"] == won["value"]
        assert lost["current"]["updated_by"] == won["updated_by"]
        assert won["updated_by"] in lost["detail"]
        assert projection(plant, widget) == (version + 1, won["value"])
        assert changes(plant, widget) == round_no + 1  # one history row per round


async def test_many_planners_on_many_cells_of_one_order_lose_no_save(plant: Plant) -> None:
    # Ten saves at once over two lines and both fields of one order, each cell once, all
    # naming the version they loaded (0): the first save of a line wins, the rest of that line
    # are refused, and every applied save has its history row.
    cells = [
        (plant.lines[name], field)
        for name in ("1/1", "1/2")
        for field in ("low_risk_qty", "high_risk_qty")
    ]
    async with plant.client("planner", user="paula") as api:
        answers = await asyncio.gather(
            *(
                api.put(cell(line_id, field), json={"value": "1", "version": 0})
                for line_id, field in cells
                for _ in range(3)
            )
        )
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {200: 2, 409: 10}, [a.text for a in answers if a.status_code >= 500]
    for line_id in (plant.lines["1/1"], plant.lines["1/2"]):
        saved = projection(plant, line_id)
        assert saved is not None and saved[0] == 1
        assert changes(plant, line_id) == 1
