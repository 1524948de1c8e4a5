"""The downtime reports on a week and a bit of a Chicago plant: the summary by reason (leaf and
top of the tree) and by line, the Pareto's cumulative percentages, the trend by day and ISO
week, MTBF and MTTR per line, the facility, line and planned filters, the workbooks' rows, and
bad input named by its field. Figures are worked out by hand in the comments."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from services.downtime.plant.domain import ShiftPattern
from services.downtime.reports import service
from services.downtime.reports.domain import (
    DowntimeSum,
    Period,
    bucket_of,
    buckets,
    pareto,
    top_reason,
)
from services.downtime.reports.schemas import OeeGroupBy, ReasonLevel
from services.downtime.reports.service import ReportQuery
from shared.web.problems import PROBLEM_MEDIA_TYPE
from shared.web.xlsx import XLSX_MEDIA_TYPE
from tests.unit.test_downtime_oee import DAY, NIGHT, Plant, chicago, running_plant

D = Decimal
MADRID = ZoneInfo("Europe/Madrid")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def plant(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Plant]:
    """The plant on SQLite and on PostgreSQL: the reports add up in SQL of each one's own."""
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").create("downtime_reports")
    async with running_plant(tmp_path, url) as plant:
        yield plant


def wall(text: str) -> datetime:
    """A plant-local wall time as a workbook holds it (Excel has no time zones)."""
    return datetime.fromisoformat(text)


def march(day: int, hour: int, minute: int = 0) -> datetime:
    return chicago(date(2026, 3, day), hour, minute)


def a_week_of_stops(plant: Plant) -> None:
    """Chicago (CHI): lines L1 and L2, day shift 06:00-14:00 on weekdays. Reasons: Mechanical
    (MECH) with Jam and Nozzle under it; Changeover (planned). Madrid (MAD): line M1.

    Stops, by production day (Monday 2 March 2026 onwards):
    - Mon 2   L1 08:00-08:30 Jam                  30 min
    - Tue 3   L1 09:00-10:00 Nozzle               60 min
    - Tue 3   L2 10:00-10:20 Jam                  20 min
    - Wed 4   L2 07:00-07:45 Changeover (planned) 45 min
    - Mon 9   L1 08:00-08:15 (no reason yet)      15 min
    - Tue 3   M1 in Madrid, 10:00-11:00 local     60 min (only without a facility filter)
    Chicago: 170 min = 10,200 s, of which 45 min planned.
    """
    plant.facility()
    plant.line("L1")
    plant.line("L2")
    plant.shift(DAY, name="Day")
    plant.reason("MECH", "Mechanical", colour="#D32F2F")
    plant.reason("JAM", "Jam", parent="MECH", colour="#E57373")
    plant.reason("NOZZLE", "Nozzle", parent="MECH", colour="#F44336")
    plant.reason("CHANGEOVER", "Changeover", planned=True, colour="#1976D2")
    plant.stop("L1", march(2, 8), march(2, 8, 30), "JAM")
    plant.stop("L1", march(3, 9), march(3, 10), "NOZZLE")
    plant.stop("L2", march(3, 10), march(3, 10, 20), "JAM")
    plant.stop("L2", march(4, 7), march(4, 7, 45), "CHANGEOVER", planned=True)
    plant.stop("L1", march(9, 8), march(9, 8, 15), None)

    plant.facility("MAD", "Europe/Madrid")
    plant.line("M1", "MAD")
    plant.shift(ShiftPattern("MORNING", time(6), time(14), "12345"), "MAD")
    plant.reason("M-JAM", "Atasco", facility="MAD")
    madrid = datetime(2026, 3, 3, 10, tzinfo=MADRID).astimezone(UTC)
    plant.stop("M1", madrid, madrid.replace(hour=madrid.hour + 1), "M-JAM", facility="MAD")


WEEK = {"date_from": "2026-03-02", "date_to": "2026-03-10", "facility_code": "CHI"}


# --------------------------------------------------------------------------------------------
# The arithmetic on plain values
# --------------------------------------------------------------------------------------------


def test_pareto_percentages_come_from_the_running_total() -> None:
    # Three equal reasons: 33.3333 % each, and the cumulative ends at exactly 100.
    minute = DowntimeSum(count=1, unplanned_seconds=D(60))
    bars = pareto({"A": minute, "B": minute, None: minute})

    assert [bar.reason_code for bar in bars] == ["A", "B", None]  # ties by code, none last
    assert [bar.percent for bar in bars] == [D("33.3333")] * 3
    assert [bar.cumulative_percent for bar in bars] == [D("33.3333"), D("66.6667"), D("100.0000")]
    assert pareto({}) == []


def test_iso_weeks_are_cut_to_the_range() -> None:
    # Thursday 31 Dec 2026 is in ISO week 53 of 2026; Monday 4 Jan 2027 starts week 1.
    assert list(buckets(date(2026, 12, 31), date(2027, 1, 5), "week")) == [
        Period("2026-W53", date(2026, 12, 31), date(2027, 1, 3)),
        Period("2027-W01", date(2027, 1, 4), date(2027, 1, 5)),
    ]
    assert bucket_of(date(2027, 1, 3), "week") == "2026-W53"
    assert [p.label for p in buckets(date(2026, 3, 1), date(2026, 3, 2), "day")] == [
        "2026-03-01",
        "2026-03-02",
    ]


def test_the_top_of_a_reason_is_the_root_of_its_tree() -> None:
    parents = {"MECH": None, "NOZZLE": "MECH", "CLOGGED": "NOZZLE", "LOOP": "LOOP"}

    assert top_reason("CLOGGED", parents) == "MECH"
    assert top_reason("MECH", parents) == "MECH"
    assert top_reason("LOOP", parents) == "LOOP"  # a cycle does not hang the report


# --------------------------------------------------------------------------------------------
# Summary and Pareto
# --------------------------------------------------------------------------------------------


async def test_the_summary_by_reason_and_by_line(plant: Plant) -> None:
    a_week_of_stops(plant)

    report = await plant.get("/api/v1/reports/downtime-summary", **WEEK)

    assert report["totals"] == {
        "count": 5,
        "seconds": "10200.0000",  # 170 min
        "minutes": "170.0000",
        "planned_seconds": "2700.0000",
        "unplanned_seconds": "7500.0000",
    }
    reasons = [
        (row["reason_code"], row["name"], row["path"], row["count"], row["minutes"], row["percent"])
        for row in report["by_reason"]
    ]
    assert reasons == [
        ("NOZZLE", "Nozzle", "Mechanical / Nozzle", 1, "60.0000", "35.2941"),  # 60/170
        ("JAM", "Jam", "Mechanical / Jam", 2, "50.0000", "29.4118"),  # 50/170
        ("CHANGEOVER", "Changeover", "Changeover", 1, "45.0000", "26.4706"),  # 45/170
        (None, "Unclassified", "Unclassified", 1, "15.0000", "8.8235"),  # 15/170
    ]
    assert report["by_reason"][0]["colour"] == "#F44336"
    assert report["by_reason"][2]["planned_seconds"] == "2700.0000"
    lines = [
        (row["line_code"], row["name"], row["count"], row["seconds"], row["planned_seconds"])
        for row in report["by_line"]
    ]
    assert lines == [
        ("L1", "Line L1", 3, "6300.0000", "0.0000"),  # 30 + 60 + 15 min
        ("L2", "Line L2", 2, "3900.0000", "2700.0000"),  # 20 + 45 min
    ]


async def test_the_summary_at_the_top_of_the_reason_tree(plant: Plant) -> None:
    a_week_of_stops(plant)

    report = await plant.get("/api/v1/reports/downtime-summary", **WEEK, level="top")

    assert [
        (row["reason_code"], row["name"], row["minutes"], row["percent"], row["colour"])
        for row in report["by_reason"]
    ] == [
        ("MECH", "Mechanical", "110.0000", "64.7059", "#D32F2F"),  # 30 + 60 + 20 of 170
        ("CHANGEOVER", "Changeover", "45.0000", "26.4706", "#1976D2"),
        (None, "Unclassified", "15.0000", "8.8235", "#9E9E9E"),
    ]


async def test_the_pareto_ranks_reasons_with_cumulative_percent(plant: Plant) -> None:
    a_week_of_stops(plant)

    report = await plant.get("/api/v1/reports/pareto", **WEEK)

    assert [
        (row["reason_code"], row["minutes"], row["percent"], row["cumulative_percent"])
        for row in report["rows"]
    ] == [
        ("NOZZLE", "60.0000", "35.2941", "35.2941"),
        ("JAM", "50.0000", "29.4118", "64.7059"),  # 110/170
        ("CHANGEOVER", "45.0000", "26.4706", "91.1765"),  # 155/170
        (None, "15.0000", "8.8235", "100.0000"),
    ]
    unplanned = await plant.get("/api/v1/reports/pareto", **WEEK, planned="false")
    assert [
        (row["reason_code"], row["percent"], row["cumulative_percent"]) for row in unplanned["rows"]
    ] == [
        ("NOZZLE", "48.0000", "48.0000"),  # 60 of 125 unplanned minutes
        ("JAM", "40.0000", "88.0000"),
        (None, "12.0000", "100.0000"),
    ]
    assert unplanned["totals"]["seconds"] == "7500.0000"


async def test_the_facility_and_line_filters(plant: Plant) -> None:
    a_week_of_stops(plant)
    week = {"date_from": "2026-03-02", "date_to": "2026-03-10"}

    everywhere = await plant.get("/api/v1/reports/downtime-summary", **week)
    madrid = await plant.get("/api/v1/reports/downtime-summary", **week, facility_code="mad")
    one_line = await plant.get("/api/v1/reports/downtime-summary", **week, line_code="L2")

    assert everywhere["totals"]["minutes"] == "230.0000"  # 170 in Chicago + 60 in Madrid
    assert [row["line_code"] for row in everywhere["by_line"]] == ["L1", "L2", "M1"]
    assert madrid["facility_code"] == "MAD"
    assert [(row["reason_code"], row["name"]) for row in madrid["by_reason"]] == [
        ("M-JAM", "Atasco")
    ]
    assert one_line["totals"]["minutes"] == "65.0000"
    assert [row["line_code"] for row in one_line["by_line"]] == ["L2"]


async def test_a_running_stop_counts_up_to_now(plant: Plant) -> None:
    a_week_of_stops(plant)
    plant.stop("L2", march(10, 8), None, None)
    now = march(10, 8, 10)

    with plant.runtime.uow(read_only=True) as uow:
        summary = service.downtime_summary(
            uow, ReportQuery(date(2026, 3, 10), date(2026, 3, 10), "CHI"), ReasonLevel.LEAF, now
        )
        oee = service.oee_report(
            uow,
            ReportQuery(date(2026, 3, 10), date(2026, 3, 10), line_code="L2"),
            OeeGroupBy.LINE,
            now,
        )

    assert summary.totals.seconds == D(600)
    assert summary.as_of == now
    (row,) = oee.rows
    assert row.shift_seconds == D(7800)  # 06:00 to 08:10
    assert row.unplanned_downtime_seconds == D(600)
    assert row.run_seconds == D(7200)


async def test_seconds_are_exact_to_the_microsecond(plant: Plant) -> None:
    plant.facility()
    plant.line("L1")
    start = march(2, 8)
    plant.stop("L1", start, start.replace(second=1, microsecond=250_000), None)
    plant.stop("L1", march(2, 9), march(2, 9).replace(microsecond=999_999), None)

    report = await plant.get(
        "/api/v1/reports/downtime-summary", date_from="2026-03-02", date_to="2026-03-02"
    )

    assert report["totals"]["seconds"] == "2.2500"  # 1.25 s + 0.999999 s, shown to 4 places
    with plant.runtime.uow(read_only=True) as uow:
        summary = service.downtime_summary(
            uow, ReportQuery(date(2026, 3, 2), date(2026, 3, 2)), ReasonLevel.LEAF, march(3, 0)
        )
    assert summary.totals.seconds == D("2.249999")


# --------------------------------------------------------------------------------------------
# Trend
# --------------------------------------------------------------------------------------------


async def test_the_trend_by_day_lists_every_day(plant: Plant) -> None:
    a_week_of_stops(plant)

    report = await plant.get("/api/v1/reports/trend", **WEEK, bucket="day")

    assert [(row["bucket"], row["count"], row["seconds"]) for row in report["rows"]] == [
        ("2026-03-02", 1, "1800.0000"),
        ("2026-03-03", 2, "4800.0000"),  # 60 + 20 min
        ("2026-03-04", 1, "2700.0000"),
        ("2026-03-05", 0, "0.0000"),
        ("2026-03-06", 0, "0.0000"),
        ("2026-03-07", 0, "0.0000"),
        ("2026-03-08", 0, "0.0000"),
        ("2026-03-09", 1, "900.0000"),
        ("2026-03-10", 0, "0.0000"),
    ]
    assert report["rows"][2]["planned_seconds"] == "2700.0000"


async def test_the_trend_by_iso_week(plant: Plant) -> None:
    a_week_of_stops(plant)

    report = await plant.get("/api/v1/reports/trend", **WEEK, bucket="week")

    assert report["rows"] == [
        {
            "bucket": "2026-W10",
            "first_day": "2026-03-02",
            "last_day": "2026-03-08",
            "count": 4,
            "seconds": "9300.0000",  # 30 + 60 + 20 + 45 min
            "minutes": "155.0000",
            "planned_seconds": "2700.0000",
            "unplanned_seconds": "6600.0000",
        },
        {
            "bucket": "2026-W11",
            "first_day": "2026-03-09",
            "last_day": "2026-03-10",  # the range ends on Tuesday
            "count": 1,
            "seconds": "900.0000",
            "minutes": "15.0000",
            "planned_seconds": "0.0000",
            "unplanned_seconds": "900.0000",
        },
    ]


# --------------------------------------------------------------------------------------------
# MTBF and MTTR
# --------------------------------------------------------------------------------------------


async def test_mtbf_and_mttr_per_line(plant: Plant) -> None:
    a_week_of_stops(plant)

    report = await plant.get(
        "/api/v1/reports/reliability",
        date_from="2026-03-02",
        date_to="2026-03-03",
        facility_code="CHI",
    )

    figures = [
        (
            row["line_code"],
            row["run_seconds"],
            row["unplanned_downtime_seconds"],
            row["failures"],
            row["mtbf_minutes"],
            row["mttr_minutes"],
        )
        for row in report["rows"]
    ]
    assert figures == [
        # Two 8 h shifts = 57,600 s; down 30 + 60 min = 5,400 s; run 52,200 s; 2 failures:
        # MTBF 26,100 s = 435 min, MTTR 2,700 s = 45 min
        ("L1", "52200.0000", "5400.0000", 2, "435.0000", "45.0000"),
        # Down 20 min = 1,200 s; run 56,400 s; 1 failure: MTBF 940 min, MTTR 20 min
        ("L2", "56400.0000", "1200.0000", 1, "940.0000", "20.0000"),
    ]
    totals = report["totals"]
    # 108,600 s run / 3 failures = 36,200 s; 6,600 s / 3 = 2,200 s
    assert (totals["mtbf_seconds"], totals["mttr_seconds"]) == ("36200.0000", "2200.0000")


async def test_a_line_without_failures_has_no_mtbf(plant: Plant) -> None:
    a_week_of_stops(plant)

    report = await plant.get(
        "/api/v1/reports/reliability", date_from="2026-03-04", date_to="2026-03-04", line_code="L2"
    )

    (row,) = report["rows"]
    assert row["failures"] == 0  # the changeover was planned
    assert (row["mtbf_seconds"], row["mttr_seconds"]) == (None, None)
    assert row["run_seconds"] == "26100.0000"  # 8 h less the 45 min changeover


# --------------------------------------------------------------------------------------------
# OEE groupings
# --------------------------------------------------------------------------------------------


async def test_oee_by_shift_and_by_day_add_up_the_lines(plant: Plant) -> None:
    a_week_of_stops(plant)
    plant.capacity("L1", "480")
    plant.capacity("L2", "480")
    plant.made("L1", "CUP", "300", "0", march(2, 13))  # 300 units at 60 s = 18,000 s
    plant.made("L2", "CUP", "240", "0", march(2, 13))  # 240 units = 14,400 s
    monday = {"date_from": "2026-03-02", "date_to": "2026-03-02", "facility_code": "CHI"}

    by_shift = await plant.get("/api/v1/reports/oee", **monday, group_by="shift")
    by_day = await plant.get("/api/v1/reports/oee", **monday, group_by="day")

    (shift,) = by_shift["rows"]
    assert (shift["facility_code"], shift["shift_code"], shift["shift_name"]) == (
        "CHI",
        "DAY",
        "Day",
    )
    # Two lines x 8 h = 57,600 s; L1 down 30 min: run 55,800 s; ideal 32,400 s
    assert (shift["shift_seconds"], shift["run_seconds"], shift["ideal_run_seconds"]) == (
        "57600.0000",
        "55800.0000",
        "32400.0000",
    )
    assert shift["availability"] == "0.9688"  # 55,800 / 57,600 = 0.96875, half up
    assert shift["performance"] == "0.5806"  # 32,400 / 55,800 = 0.580645...
    # OEE = 55,800/57,600 x 32,400/55,800 x 1 = 32,400 / 57,600 = 0.5625 exactly
    assert shift["oee"] == "0.5625"
    (day,) = by_day["rows"]
    assert day["day"] == "2026-03-02"
    assert {key: day[key] for key in OEE_FIGURES} == {key: shift[key] for key in OEE_FIGURES}


OEE_FIGURES = ("shift_seconds", "run_seconds", "ideal_run_seconds", "availability", "oee")


async def test_oee_lists_the_skus_without_capacity(plant: Plant) -> None:
    plant.facility()
    plant.line("L1")
    plant.shift(DAY)
    plant.family("MUG-S", "MUGS")
    plant.capacity("L1", "240", family="MUGS")
    plant.made("L1", "MUG-S", "120", "0", march(2, 9))
    plant.made("L1", "BOWL", "10", "2", march(2, 10))

    report = await plant.get(
        "/api/v1/reports/oee", date_from="2026-03-02", date_to="2026-03-02", line_code="L1"
    )

    (row,) = report["rows"]
    assert row["missing_capacity_skus"] == ["BOWL"]
    assert row["ideal_run_seconds"] == "14400.0000"  # 120 mugs at 240 per 8 h: 4 h
    assert (row["performance"], row["oee"]) == (None, None)
    assert row["quality"] == "0.9848"  # 120 + 10 good of 120 + 12 made: 130 / 132


# --------------------------------------------------------------------------------------------
# Workbooks
# --------------------------------------------------------------------------------------------


async def workbook(plant: Plant, path: str, **params: str) -> list[tuple[Any, ...]]:
    answer = await plant.client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == XLSX_MEDIA_TYPE
    return list(load_workbook(io.BytesIO(answer.content)).active.iter_rows(values_only=True))


async def test_each_report_exports_its_rows(plant: Plant) -> None:
    a_week_of_stops(plant)
    plant.capacity("L1", "480")
    plant.made("L1", "CUP", "300", "0", march(2, 13))

    summary = await workbook(plant, "/api/v1/reports/downtime-summary.xlsx", **WEEK)
    assert summary[0][:5] == ("By", "Code", "Name", "Path or facility", "Stops")
    assert summary[1] == (
        "Reason",
        "NOZZLE",
        "Nozzle",
        "Mechanical / Nozzle",
        1,
        60,
        0,
        60,
        35.2941,
    )
    assert [row[:2] for row in summary[1:]] == [
        ("Reason", "NOZZLE"),
        ("Reason", "JAM"),
        ("Reason", "CHANGEOVER"),
        ("Reason", None),
        ("Line", "L1"),
        ("Line", "L2"),
        ("Total", None),
    ]
    assert summary[-1][4:8] == (5, 170, 45, 125)

    pareto_rows = await workbook(plant, "/api/v1/reports/pareto.xlsx", **WEEK)
    assert [(row[0], row[4], row[6]) for row in pareto_rows[1:]] == [
        ("NOZZLE", 60, 35.2941),
        ("JAM", 50, 64.7059),
        ("CHANGEOVER", 45, 91.1765),
        (None, 15, 100),
    ]

    trend_rows = await workbook(plant, "/api/v1/reports/trend.xlsx", **WEEK, bucket="week")
    assert [row[:5] for row in trend_rows[1:]] == [
        ("2026-W10", wall("2026-03-02"), wall("2026-03-08"), 4, 155),
        ("2026-W11", wall("2026-03-09"), wall("2026-03-10"), 1, 15),
    ]

    monday = {"date_from": "2026-03-02", "date_to": "2026-03-02", "line_code": "L1"}
    oee_rows = await workbook(plant, "/api/v1/reports/oee.xlsx", **monday, group_by="occurrence")
    assert oee_rows[0][:8] == (
        "Facility",
        "Line",
        "Line name",
        "Shift",
        "Shift name",
        "Production day",
        "Shift start",
        "Shift end",
    )
    (shift, total_row) = oee_rows[1:]
    # Times in the facility's wall clock: 06:00 to 14:00 Chicago
    assert shift[:8] == (
        "CHI",
        "L1",
        "Line L1",
        "DAY",
        "Day",
        wall("2026-03-02"),
        wall("2026-03-02T06:00"),
        wall("2026-03-02T14:00"),
    )
    # 8 h, no planned stop, 30 min jam: run 27,000 s; 300 units at 60 s = 18,000 s
    assert shift[8:14] == (28800, 0, 28800, 1800, 27000, 18000)
    assert shift[18:22] == (0.9375, 0.6667, 1, 0.625)  # OEE = 18,000 / 28,800
    assert total_row[0] == "Total" and total_row[21] == 0.625

    reliability_rows = await workbook(
        plant,
        "/api/v1/reports/reliability.xlsx",
        date_from="2026-03-02",
        date_to="2026-03-03",
        facility_code="CHI",
    )
    assert [row[1:8] for row in reliability_rows[1:]] == [
        ("L1", "Line L1", 52200, 5400, 2, 435, 45),
        ("L2", "Line L2", 56400, 1200, 1, 940, 20),
        (None, None, 108600, 6600, 3, 603.3333, 36.6667),
    ]


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("oee", {"date_from": "2026-03-10", "date_to": "2026-03-01"}, 422, "query.date_to"),
        ("trend", {"date_from": "2026-03-10", "date_to": "2026-03-01"}, 422, "query.date_to"),
        (
            "downtime-summary",
            {"date_from": "2025-01-01", "date_to": "2026-01-02"},
            422,
            "query.date_to",
        ),
        ("pareto", {"date_from": "0001-01-01", "date_to": "0001-01-02"}, 422, "query.date_from"),
        (
            "reliability",
            {"date_from": "9999-12-30", "date_to": "9999-12-31"},
            422,
            "query.date_from",
        ),
        ("oee", {"facility_code": "NOPE"}, 404, "query.facility_code"),
        ("downtime-summary", {"facility_code": "NOPE"}, 404, "query.facility_code"),
        ("pareto", {"line_code": "NOPE"}, 404, "query.line_code"),
        ("reliability", {"line_code": "NOPE"}, 404, "query.line_code"),
        ("trend", {"line_code": "NOPE"}, 404, "query.line_code"),
        ("oee", {"facility_code": "CHI", "line_code": "M1"}, 422, "query.line_code"),
        ("oee", {"group_by": "week"}, 422, "query.group_by"),
        ("trend", {"bucket": "month"}, 422, "query.bucket"),
        ("pareto", {"level": "root"}, 422, "query.level"),
        ("downtime-summary", {"planned": "perhaps"}, 422, "query.planned"),
        ("oee.xlsx", {"date_to": "2026-13-01"}, 422, "query.date_to"),
    ],
)
async def test_bad_input_is_refused_naming_the_field(
    plant: Plant, path: str, params: dict[str, str], status: int, field: str
) -> None:
    a_week_of_stops(plant)

    answer = await plant.client.get(f"/api/v1/reports/{path}", params=params)

    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    assert answer.json()["field"] == field


async def test_a_year_is_the_longest_range(plant: Plant) -> None:
    plant.facility()
    # 2024 is a leap year: 366 days from 1 January to 31 December.
    report = await plant.get(
        "/api/v1/reports/trend", date_from="2024-01-01", date_to="2024-12-31", bucket="week"
    )
    assert report["rows"][0]["bucket"] == "2024-W01"
    assert report["rows"][-1] == {
        "bucket": "2025-W01",  # Monday 30 December 2024 is in ISO week 1 of 2025
        "first_day": "2024-12-30",
        "last_day": "2024-12-31",
        "count": 0,
        "seconds": "0.0000",
        "minutes": "0.0000",
        "planned_seconds": "0.0000",
        "unplanned_seconds": "0.0000",
    }


async def test_a_facility_without_shifts_has_no_figures_and_all_its_output_outside(
    plant: Plant,
) -> None:
    plant.facility()
    plant.line("L1")
    plant.capacity("L1", "480")
    plant.stop("L1", march(2, 8), march(2, 9), None)
    plant.made("L1", "CUP", "50", "5", march(2, 10))

    report = await plant.get(
        "/api/v1/reports/oee", date_from="2026-03-02", date_to="2026-03-02", facility_code="CHI"
    )

    (row,) = report["rows"]
    assert (row["shift_seconds"], row["unplanned_downtime_seconds"], row["total_count"]) == (
        "0.0000",
        "0.0000",  # a stop outside every shift takes no planned production time
        "0.0000",
    )
    assert [row[key] for key in ("availability", "performance", "quality", "oee")] == [None] * 4
    assert report["outside_shifts"] == [{"line_code": "L1", "units": "55.0000"}]


async def test_before_the_first_shift_of_the_day_only_the_night_before_has_been_worked(
    plant: Plant,
) -> None:
    # Nights only, 22:00-06:00. At 03:00 on the 3rd, the 3rd's shift has not begun; the night
    # of the 2nd (another production day) is running, and what it made is not "outside".
    plant.facility()
    plant.line("L1")
    plant.shift(NIGHT)
    plant.capacity("L1", "480")
    plant.stop("L1", march(3, 1), None, None)
    plant.made("L1", "CUP", "100", "0", march(3, 0, 30))

    with plant.runtime.uow(read_only=True) as uow:
        report = service.oee_report(
            uow,
            ReportQuery(date(2026, 3, 3), date(2026, 3, 3), facility_code="CHI"),
            OeeGroupBy.LINE,
            march(3, 3),
        )
        night_before = service.oee_report(
            uow,
            ReportQuery(date(2026, 3, 2), date(2026, 3, 2), facility_code="CHI"),
            OeeGroupBy.LINE,
            march(3, 3),
        )

    (row,) = report.rows
    assert (row.shift_seconds, row.total_count, row.oee) == (D(0), D(0), None)
    assert report.outside_shifts == []
    (row,) = night_before.rows
    # 22:00 to 03:00 so far = 18,000 s; down since 01:00 = 7,200 s
    assert (row.shift_seconds, row.unplanned_downtime_seconds) == (D(18_000), D(7_200))
    assert row.total_count == D(100)
