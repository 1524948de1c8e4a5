"""The yield report and the scrap Pareto on PostgreSQL: the same figures as on SQLite from
NUMERIC(18, 4) quantities and timestamptz moments, and the plant's days across the UTC midnight.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services import registry
from services.production.reports.schemas import GroupBy
from services.production.reports.service import ReportQuery, yield_report
from shared.bus.inprocess import InProcessBus
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from shared.web.problems import InvalidInput
from tests.support.servers import PostgresDatabases
from tests.unit.test_production_reports import SECRET, Floor, chicago, partial_qc_on_the_floor

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture
async def floor(postgres: PostgresDatabases, tmp_path: Path) -> AsyncIterator[Floor]:
    runtime = ServiceRuntime(
        registry.definition("production"),
        Settings(var_dir=tmp_path, plant_timezone="America/Chicago"),
        InProcessBus(),
        db_url=postgres.create("production"),
        token_secret=SECRET,
    )
    runtime.migrate()
    runtime.seed()
    floor = Floor(runtime)
    yield floor
    await floor.client.aclose()
    runtime.db.dispose()


async def test_the_partial_qc_story_reads_the_same_on_postgresql(floor: Floor) -> None:
    partial_qc_on_the_floor(floor)
    # A late run on the 3rd in Chicago (03:30 UTC on the 4th), 0.3333 of a kg scrapped.
    late = floor.order("BRACKET", "5", chicago(3, 8))
    floor.run(late, "4.6667", "0.3333", "WARPING", chicago(3, 21, 30))

    by_day = await floor.get(
        "/api/v1/reports/yield", date_from="2026-03-02", date_to="2026-03-04", group_by="day"
    )
    pareto = await floor.get(
        "/api/v1/reports/scrap-pareto", date_from="2026-03-01", date_to="2026-03-31"
    )

    assert [(row["group"], row["qty_printed"]) for row in by_day["rows"]] == [
        ("2026-03-02", "12.0000"),
        ("2026-03-03", "7.0000"),  # the reprint's 2 and the late run's 5, in Chicago's day
        ("2026-03-04", "0.0000"),
    ]
    assert by_day["rows"][2]["fpy"] is None
    totals = by_day["totals"]
    # Passed 10 of printed 19; scrapped 4.3333 of 19; reprinted 2 of 10 + 5 ordered on roots.
    assert (totals["fpy"], totals["scrap_rate"], totals["reprint_rate"]) == (
        "0.5263",  # 10 / 19 = 0.526315…
        "0.2281",  # 4.3333 / 19 = 0.228068…
        "0.1333",  # 2 / 15
    )
    assert [(row["code"], row["qty"], row["cumulative_percent"]) for row in pareto["rows"]] == [
        ("ADHESION", "2.0000", "46.1542"),  # 2 / 4.3333 = 46.15420…%
        ("SURFACE", "2.0000", "92.3084"),  # 4 / 4.3333 = 92.30840…%
        ("WARPING", "0.3333", "100.0000"),
    ]


async def test_a_zone_python_knows_and_postgresql_does_not_is_refused_naming_the_field(
    floor: Floor, monkeypatch: pytest.MonkeyPatch
) -> None:
    partial_qc_on_the_floor(floor)
    # As if Python's tzdata were newer than the server's: the days are asked of PostgreSQL.
    monkeypatch.setattr(ReportQuery, "zone", property(lambda _query: ZoneInfo("UTC")))
    query = ReportQuery(first=date(2026, 3, 1), last=date(2026, 3, 2), tz="Mars/Olympus_Mons")

    with pytest.raises(InvalidInput) as refused, floor.runtime.uow(read_only=True) as uow:
        yield_report(uow, query, GroupBy.DAY)

    assert refused.value.field == "query.tz"
