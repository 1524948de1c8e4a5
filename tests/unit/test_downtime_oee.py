"""OEE on worked examples a supervisor can redo by hand: one line, one 8 h shift, planned and
unplanned stops (one reaching in from before the shift, one not classified yet), two runs, a QC
failure; a night shift over each daylight-saving change (7 h and 9 h); capacities by SKU,
family and any product; and the same figures through the API, with every input shown.

`Plant` (below) writes a downtime service's tables directly, so the other reports' tests
(test_downtime_reports.py) use it too.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import count
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from services import registry
from services.downtime.entries.models import Downtime
from services.downtime.floor.models import ItemFamily, QcOutcome, RunOutput
from services.downtime.plant.domain import (
    ShiftOccurrence,
    ShiftPattern,
    occurrence,
    occurrences_between,
    shift_at,
)
from services.downtime.plant.models import Facility, Line, LineCapacity, Shift
from services.downtime.reasons.models import DowntimeReason
from services.downtime.reports import service as reports_service
from services.downtime.reports.domain import (
    Capacity,
    OeeInputs,
    Output,
    Stop,
    availability,
    capacity_in_force,
    line_shifts,
    oee,
    oee_figures,
    performance,
    quality,
    reliability,
    rounded,
    total,
    worked_so_far,
)
from services.downtime.reports.schemas import OeeGroupBy
from services.downtime.reports.service import ReportQuery
from shared.auth.tokens import issue_service_token
from shared.bus.inprocess import InProcessBus
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.support import servers

D = Decimal
CHICAGO = ZoneInfo("America/Chicago")
DAY = ShiftPattern("DAY", time(6), time(14), "12345")
NIGHT = ShiftPattern("NIGHT", time(22), time(6), "1234567")
# Long past, so every shift of the examples has been worked whatever the clock says.
LATER = datetime(2027, 1, 1, tzinfo=UTC)


def chicago(day: date, hour: int, minute: int = 0) -> datetime:
    """A moment on the Chicago plant's wall clock, as the aware UTC it is stored."""
    return datetime.combine(day, time(hour, minute), tzinfo=CHICAGO).astimezone(UTC)


TUESDAY = date(2026, 3, 3)


def at(hour: int, minute: int = 0) -> datetime:
    return chicago(TUESDAY, hour, minute)


def the_shift() -> ShiftOccurrence:
    return occurrence(DAY, TUESDAY, CHICAGO)


def stop(
    stop_id: int, start: datetime, end: datetime | None, *, planned: bool, reason: str | None
) -> Stop:
    return Stop(stop_id, "L1", start, end, planned, reason)


def run(completed_at: datetime, good: str, bad: str, failed: str = "0", sku: str = "CUP") -> Output:
    return Output("L1", sku, None, completed_at, D(good), D(bad), D(failed))


ANY_PRODUCT_480 = {"L1": [Capacity(1, "L1", None, None, D(480), date(2026, 1, 1))]}


def worked_example() -> tuple[OeeInputs, dict[str, Decimal]]:
    """Line L1 on Tuesday 3 March 2026, day shift 06:00-14:00 Chicago (8 h = 28,800 s).

    Stops:
    - 05:45-06:30 jam (unplanned): 45 min, of which 30 min (1,800 s) inside the shift;
    - 10:00-10:30 changeover (planned): 30 min (1,800 s);
    - 11:00-11:15 a stop nobody classified yet (flagged planned, but unclassified counts as
      unplanned): 15 min (900 s).
    So planned downtime 1,800 s and unplanned 1,800 + 900 = 2,700 s (45 min).

    Output (capacity 480 units per shift for any product: one unit per 28,800 / 480 = 60 s):
    - 09:30 run of 200 good + 10 bad, of which QC later fails 15;
    - 13:00 run of 150 good + 5 bad;
    - 14:30 run of 40 good: after the shift, outside every shift, counted nowhere.
    """
    stops = [
        stop(1, at(5, 45), at(6, 30), planned=False, reason="JAM"),
        stop(2, at(10), at(10, 30), planned=True, reason="CHANGEOVER"),
        stop(3, at(11), at(11, 15), planned=True, reason=None),
    ]
    outputs = [
        run(at(9, 30), "200", "10", failed="15"),
        run(at(13), "150", "5"),
        run(at(14, 30), "40", "0"),
    ]
    worked = worked_so_far([the_shift()], LATER)
    cells, outside = line_shifts(["L1"], worked, stops, outputs, ANY_PRODUCT_480, LATER)
    return cells[("L1", the_shift())], outside


def test_the_worked_example_by_hand() -> None:
    inputs, outside = worked_example()

    assert inputs.shift_seconds == D(28_800)  # 06:00-14:00
    assert inputs.planned_downtime_seconds == D(1_800)  # the changeover
    assert inputs.unplanned_downtime_seconds == D(2_700)  # 30 min of the jam + 15 unclassified
    # Planned production time = 28,800 - 1,800 = 27,000 s; run time = 27,000 - 2,700 = 24,300 s
    assert inputs.planned_seconds == D(27_000)
    assert inputs.run_seconds == D(24_300)
    # 200 + 10 + 150 + 5 = 365 units at 60 s each = 21,900 s
    assert inputs.total_count == D(365)
    assert inputs.ideal_run_seconds == Fraction(21_900)
    # Good = 365 - 15 bad - 15 failed at QC = 335
    assert (inputs.bad_count, inputs.qc_failed_count, inputs.good_count) == (D(15), D(15), D(335))
    assert outside == {"L1": D(40)}

    # Availability = 24,300 / 27,000 = 9/10
    assert availability(inputs) == Fraction(9, 10)
    # Performance = 21,900 / 24,300 = 73/81 = 0.901234...
    assert performance(inputs) == Fraction(73, 81)
    # Quality = 335 / 365 = 67/73 = 0.917808...
    assert quality(inputs) == Fraction(67, 73)
    # OEE = 9/10 x 73/81 x 67/73 = 603/810 = 67/90 = 0.74444...
    assert oee(inputs) == Fraction(67, 90)

    figures = oee_figures(inputs)
    assert (figures.availability, figures.performance, figures.quality, figures.oee) == (
        D("0.9000"),
        D("0.9012"),
        D("0.9178"),
        # 67/90 rounded once; 0.9000 x 0.9012 x 0.9178 of the rounded figures would be 0.7444 too,
        # but the exact product is what is rounded.
        D("0.7444"),
    )


def test_mtbf_and_mttr_of_the_worked_example() -> None:
    inputs, _outside = worked_example()

    figures = reliability(inputs)
    # Two unplanned stops took shift time: the jam and the unclassified one.
    assert figures.failures == 2
    # MTBF = 24,300 s run / 2 = 12,150 s; MTTR = 2,700 s / 2 = 1,350 s (22.5 min)
    assert figures.mtbf_seconds == Fraction(12_150)
    assert figures.mttr_seconds == Fraction(1_350)


def test_a_stop_still_running_counts_up_to_now_and_so_does_the_shift() -> None:
    # At 12:00 the line has been down since 11:30, nobody has said why yet.
    now = at(12)
    worked = worked_so_far([the_shift()], now)
    running = stop(9, at(11, 30), None, planned=False, reason=None)

    cells, _outside = line_shifts(["L1"], worked, [running], [], ANY_PRODUCT_480, now)

    inputs = cells[("L1", the_shift())]
    assert inputs.shift_seconds == D(6 * 3600)  # 06:00-12:00 so far
    assert inputs.unplanned_downtime_seconds == D(1800)
    # Nothing made in 5.5 h of run time: performance 0, so OEE 0 although quality has no units.
    assert quality(inputs) is None
    assert performance(inputs) == 0
    assert oee(inputs) == 0


def test_a_shift_not_started_yet_is_not_counted() -> None:
    assert worked_so_far([the_shift()], at(5, 59)) == []


def test_a_line_down_all_its_planned_time_has_oee_zero() -> None:
    worked = worked_so_far([the_shift()], LATER)
    down = [
        stop(1, at(6), at(7), planned=True, reason="MEETING"),
        stop(2, at(7), at(14), planned=False, reason="NO_MATERIAL"),
    ]

    cells, _outside = line_shifts(["L1"], worked, down, [], ANY_PRODUCT_480, LATER)

    inputs = cells[("L1", the_shift())]
    assert inputs.planned_seconds == D(7 * 3600)
    assert inputs.run_seconds == 0
    assert availability(inputs) == 0
    assert performance(inputs) is None and quality(inputs) is None
    assert oee(inputs) == 0


def test_a_shift_entirely_of_planned_downtime_has_no_figures() -> None:
    worked = worked_so_far([the_shift()], LATER)
    closed = [stop(1, at(6), at(14), planned=True, reason="NO_ORDERS")]

    cells, _outside = line_shifts(["L1"], worked, closed, [], ANY_PRODUCT_480, LATER)

    inputs = cells[("L1", the_shift())]
    assert inputs.planned_seconds == 0
    assert oee_figures(inputs).availability is None
    assert oee(inputs) is None


def test_exact_seconds_keep_the_microseconds() -> None:
    worked = worked_so_far([the_shift()], LATER)
    blip = stop(
        1, at(8), at(8) + timedelta(seconds=1, microseconds=250_000), planned=False, reason="JAM"
    )

    cells, _outside = line_shifts(["L1"], worked, [blip], [], ANY_PRODUCT_480, LATER)

    assert cells[("L1", the_shift())].unplanned_downtime_seconds == D("1.25")


# --------------------------------------------------------------------------------------------
# Capacity: SKU, else family, else any product; the one in force on the run's day
# --------------------------------------------------------------------------------------------

CAPACITIES = [
    Capacity(1, "L1", None, None, D(480), date(2026, 1, 1)),  # any product
    Capacity(2, "L1", None, "MUGS", D(240), date(2026, 1, 1)),
    Capacity(3, "L1", "MUG-XL", None, D(120), date(2026, 1, 1)),
    Capacity(4, "L1", "MUG-XL", None, D(160), date(2026, 3, 3)),  # faster from the 3rd
]


def test_capacity_is_the_skus_else_the_familys_else_any_products() -> None:
    assert capacity_in_force(CAPACITIES, "MUG-XL", "MUGS", date(2026, 3, 2)) == D(120)
    assert capacity_in_force(CAPACITIES, "MUG-XL", "MUGS", date(2026, 3, 3)) == D(160)
    assert capacity_in_force(CAPACITIES, "MUG-S", "MUGS", date(2026, 3, 3)) == D(240)
    assert capacity_in_force(CAPACITIES, "PLATE", None, date(2026, 3, 3)) == D(480)
    assert capacity_in_force(CAPACITIES, "PLATE", None, date(2025, 12, 31)) is None
    assert capacity_in_force([], "PLATE", None, date(2026, 3, 3)) is None


def test_output_without_a_capacity_leaves_performance_unknown_and_names_the_sku() -> None:
    worked = worked_so_far([the_shift()], LATER)
    outputs = [
        Output("L1", "MUG-S", "MUGS", at(9), D(120), D(0)),  # 120 at 240/shift: 4 h
        Output("L1", "BOWL", None, at(10), D(10), D(0)),
    ]
    only_mugs = {"L1": [Capacity(2, "L1", None, "MUGS", D(240), date(2026, 1, 1))]}

    cells, _outside = line_shifts(["L1"], worked, [], outputs, only_mugs, LATER)

    inputs = cells[("L1", the_shift())]
    assert inputs.ideal_run_seconds == Fraction(4 * 3600)
    assert inputs.missing_capacity == frozenset({"BOWL"})
    assert performance(inputs) is None
    assert oee(inputs) is None
    assert quality(inputs) == 1


# --------------------------------------------------------------------------------------------
# A night shift over each daylight-saving change
# --------------------------------------------------------------------------------------------


def night_of(day: date, unplanned_start: datetime) -> OeeInputs:
    """The night shift of `day` (22:00-06:00 Chicago) with a 1 h unplanned stop and 400 units
    made, all good, at capacity 480 per shift."""
    shift = occurrence(NIGHT, day, CHICAGO)
    worked = worked_so_far([shift], LATER)
    stops = [Stop(1, "L1", unplanned_start, unplanned_start + timedelta(hours=1), False, "JAM")]
    made = [Output("L1", "CUP", None, shift.ends_at - timedelta(minutes=5), D(400), D(0))]
    cells, _outside = line_shifts(["L1"], worked, stops, made, ANY_PRODUCT_480, LATER)
    return cells[("L1", shift)]


def test_the_spring_night_is_seven_hours() -> None:
    # 7 March 22:00 CST to 8 March 06:00 CDT: the clocks skip 02:00-03:00, so 7 h = 25,200 s.
    inputs = night_of(date(2026, 3, 7), chicago(date(2026, 3, 8), 3))

    assert inputs.shift_seconds == inputs.planned_seconds == D(25_200)
    assert inputs.run_seconds == D(21_600)  # 25,200 - 3,600
    # The ideal rate is 480 units per 25,200 s: 52.5 s a unit; 400 units = 21,000 s
    assert inputs.ideal_run_seconds == Fraction(21_000)
    assert availability(inputs) == Fraction(6, 7)  # 21,600 / 25,200
    assert performance(inputs) == Fraction(35, 36)  # 21,000 / 21,600
    assert quality(inputs) == 1
    assert oee(inputs) == Fraction(5, 6)  # 6/7 x 35/36 = 210/252
    assert oee_figures(inputs).oee == D("0.8333")


def test_the_autumn_night_is_nine_hours() -> None:
    # 31 October 22:00 CDT to 1 November 06:00 CST: 01:00-02:00 is lived twice, so 9 h.
    inputs = night_of(date(2026, 10, 31), chicago(date(2026, 11, 1), 3))

    assert inputs.shift_seconds == D(32_400)
    assert inputs.run_seconds == D(28_800)
    # 480 units per 32,400 s: 67.5 s a unit; 400 units = 27,000 s
    assert inputs.ideal_run_seconds == Fraction(27_000)
    assert availability(inputs) == Fraction(8, 9)  # 28,800 / 32,400
    assert performance(inputs) == Fraction(15, 16)  # 27,000 / 28,800
    assert oee(inputs) == Fraction(5, 6)
    assert oee_figures(inputs).performance == D("0.9375")


def test_a_stop_over_two_shifts_is_split_between_them() -> None:
    # Day shift 06:00-14:00 and night 22:00-06:00: a stop 05:00-07:00 on Wednesday is one hour
    # of Tuesday's night shift and one hour of Wednesday's day shift.
    wednesday = date(2026, 3, 4)
    shifts = list(occurrences_between([DAY, NIGHT], TUESDAY, wednesday, CHICAGO))
    worked = worked_so_far(shifts, LATER)
    long_stop = Stop(1, "L1", chicago(wednesday, 5), chicago(wednesday, 7), False, "JAM")

    cells, _outside = line_shifts(["L1"], worked, [long_stop], [], {}, LATER)

    night = occurrence(NIGHT, TUESDAY, CHICAGO)
    day = occurrence(DAY, wednesday, CHICAGO)
    assert cells[("L1", night)].unplanned_downtime_seconds == D(3600)
    assert cells[("L1", day)].unplanned_downtime_seconds == D(3600)
    assert total(cells.values()).unplanned_downtime_seconds == D(7200)
    # A failure in each shift; a group of both (the line's MTBF) counts the stop once, which
    # the API test below shows.
    assert cells[("L1", night)].failures == cells[("L1", day)].failures == 1


def test_rounding_is_half_up_once() -> None:
    assert rounded(Fraction(1, 8)) == D("0.1250")
    assert rounded(Fraction(125, 100_000)) == D("0.0013")
    assert rounded(Fraction(2, 3)) == D("0.6667")
    assert str(rounded(Fraction(1))) == "1.0000"


# --------------------------------------------------------------------------------------------
# A downtime service of its own (SQLite), its tables written directly
# --------------------------------------------------------------------------------------------

SECRET = "downtime-reports-test-secret-" + "x" * 30


class Plant:
    """A downtime service's database with a Chicago facility, and a supervisor's client."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime
        token = issue_service_token(SECRET, user="sam", roles=["supervisor"], ttl_seconds=600)
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=runtime.app),
            base_url="http://downtime",
            headers={"Authorization": f"Bearer {token}"},
        )
        self._serial = count(1)
        self.patterns: dict[str, list[ShiftPattern]] = {}

    def _add(self, *rows: Any) -> None:
        with self.runtime.uow() as uow:
            uow.session.add_all(rows)
            uow.commit()

    def facility(self, code: str = "CHI", timezone: str = "America/Chicago") -> None:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        self._add(
            Facility(
                code=code,
                name=f"Plant {code}",
                timezone=timezone,
                day_lock_hour=None,
                active=True,
                created_at=now,
                updated_at=now,
            )
        )
        self.patterns[code] = []

    def line(self, code: str, facility: str = "CHI", *, active: bool = True) -> None:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        self._add(
            Line(
                code=code,
                facility_code=facility,
                name=f"Line {code}",
                line_type=None,
                tooling_type=None,
                allergen_status="allergen_free",
                speed_modifier=D(1),
                active=active,
                created_at=now,
                updated_at=now,
            )
        )

    def shift(self, pattern: ShiftPattern, facility: str = "CHI", name: str = "") -> None:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        self._add(
            Shift(
                facility_code=facility,
                code=pattern.code,
                name=name or pattern.code.title(),
                start_time=pattern.start,
                end_time=pattern.end,
                days_of_week=pattern.days,
                active=True,
                created_at=now,
                updated_at=now,
            )
        )
        self.patterns[facility].append(pattern)

    def capacity(
        self,
        line: str,
        units: str,
        *,
        sku: str | None = None,
        family: str | None = None,
        since: date = date(2026, 1, 1),
    ) -> None:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        self._add(
            LineCapacity(
                line_code=line,
                sku=sku,
                family=family,
                units_per_shift=D(units),
                effective_from=since,
                active=True,
                created_at=now,
                updated_at=now,
            )
        )

    def reason(
        self,
        code: str,
        name: str,
        *,
        parent: str | None = None,
        planned: bool = False,
        colour: str = "#D32F2F",
        facility: str = "CHI",
    ) -> None:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        self._add(
            DowntimeReason(
                code=code,
                facility_code=facility,
                parent_code=parent,
                name=name,
                colour=colour,
                planned=planned,
                active=True,
                sort_order=0,
                created_at=now,
                updated_at=now,
            )
        )

    def stop(
        self,
        line: str,
        start: datetime,
        end: datetime | None,
        reason: str | None,
        *,
        planned: bool = False,
        facility: str = "CHI",
    ) -> None:
        with self.runtime.uow() as uow:
            tz = ZoneInfo(uow.session.get(Facility, facility).timezone)  # type: ignore[union-attr]
        worked = shift_at(self.patterns[facility], start, tz)
        now = datetime(2026, 1, 1, tzinfo=UTC)
        self._add(
            Downtime(
                line_code=line,
                facility_code=facility,
                reason_code=reason,
                planned=planned,
                started_at=start,
                ended_at=end,
                production_day=worked.day if worked else start.astimezone(tz).date(),
                shift_code=worked.code if worked else None,
                order_code=None,
                notes=None,
                source="manual",
                created_by="sam",
                created_at=now,
                updated_at=now,
                version=1,
            )
        )

    def made(
        self,
        line: str,
        sku: str,
        good: str,
        bad: str,
        completed_at: datetime,
        *,
        failed: str | None = None,
    ) -> str:
        run_id = f"RUN-{next(self._serial)}"
        rows: list[Any] = [
            RunOutput(
                run_id=run_id,
                order_code="PRD-1",
                sku=sku,
                line_code=line,
                qty_good=D(good),
                qty_bad=D(bad),
                started_at=None,
                completed_at=completed_at,
            )
        ]
        if failed is not None:
            rows.append(
                QcOutcome(
                    qc_record_id=f"QC-{run_id}",
                    order_code="PRD-1",
                    run_id=run_id,
                    qty_passed=D(good) - D(failed),
                    qty_failed=D(failed),
                    inspected_at=completed_at + timedelta(hours=1),
                )
            )
        self._add(*rows)
        return run_id

    def family(self, sku: str, family: str) -> None:
        self._add(ItemFamily(sku=sku, family=family, sequence=1))

    async def get(self, path: str, **params: str) -> Any:
        answer = await self.client.get(path, params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()


@asynccontextmanager
async def running_plant(tmp_path: Path, db_url: str | None = None) -> AsyncIterator[Plant]:
    """A downtime service of its own (the plant in Chicago), on SQLite under `tmp_path` or on
    the PostgreSQL database `db_url`."""
    runtime = ServiceRuntime(
        registry.definition("downtime"),
        Settings(var_dir=tmp_path, plant_timezone="America/Chicago"),
        InProcessBus(),
        db_url=db_url,
        token_secret=SECRET,
    )
    runtime.migrate()
    runtime.seed()
    plant = Plant(runtime)
    try:
        yield plant
    finally:
        await plant.client.aclose()
        runtime.db.dispose()


@pytest.fixture
async def plant(tmp_path: Path) -> AsyncIterator[Plant]:
    async with running_plant(tmp_path) as plant:
        yield plant


@pytest.fixture
async def pg_plant(postgres: servers.PostgresDatabases, tmp_path: Path) -> AsyncIterator[Plant]:
    """The same on PostgreSQL, where the reports add up in SQL of its own (EXTRACT, unnest,
    width_bucket)."""
    async with running_plant(tmp_path, postgres.create("downtime_reports")) as plant:
        yield plant


def worked_example_on_the_floor(plant: Plant) -> None:
    """The worked example above, in the tables: line L1 of the Chicago plant."""
    plant.facility()
    plant.line("L1")
    plant.shift(DAY, name="Day")
    plant.capacity("L1", "480")
    plant.reason("MECH", "Mechanical")
    plant.reason("JAM", "Jam", parent="MECH")
    plant.reason("CHANGEOVER", "Changeover", planned=True, colour="#1976D2")
    plant.stop("L1", at(5, 45), at(6, 30), "JAM")
    plant.stop("L1", at(10), at(10, 30), "CHANGEOVER", planned=True)
    plant.stop("L1", at(11), at(11, 15), None)
    plant.made("L1", "CUP", "200", "10", at(9, 30), failed="15")
    plant.made("L1", "CUP", "150", "5", at(13))
    plant.made("L1", "CUP", "40", "0", at(14, 30))


async def test_the_oee_report_shows_the_worked_example_with_its_inputs(plant: Plant) -> None:
    await the_worked_example_through_the_api(plant)


@pytest.mark.integration
async def test_the_worked_example_on_postgresql(pg_plant: Plant) -> None:
    await the_worked_example_through_the_api(pg_plant)


async def the_worked_example_through_the_api(plant: Plant) -> None:
    worked_example_on_the_floor(plant)

    report = await plant.get(
        "/api/v1/reports/oee", date_from="2026-03-03", date_to="2026-03-03", facility_code="CHI"
    )

    expected = {
        "shift_seconds": "28800.0000",
        "planned_downtime_seconds": "1800.0000",
        "planned_seconds": "27000.0000",
        "unplanned_downtime_seconds": "2700.0000",
        "run_seconds": "24300.0000",
        "ideal_run_seconds": "21900.0000",
        "total_count": "365.0000",
        "bad_count": "15.0000",
        "qc_failed_count": "15.0000",
        "good_count": "335.0000",
        "availability": "0.9000",
        "performance": "0.9012",
        "quality": "0.9178",
        "oee": "0.7444",
        "missing_capacity_skus": [],
    }
    assert report["group_by"] == "line"
    assert report["rows"] == [
        {
            "facility_code": "CHI",
            "line_code": "L1",
            "line_name": "Line L1",
            "shift_code": None,
            "shift_name": None,
            "day": None,
            "starts_at": None,
            "ends_at": None,
            **expected,
        }
    ]
    assert report["totals"] == expected
    assert report["outside_shifts"] == [{"line_code": "L1", "units": "40.0000"}]

    by_occurrence = await plant.get(
        "/api/v1/reports/oee",
        date_from="2026-03-03",
        date_to="2026-03-03",
        line_code="L1",
        group_by="occurrence",
    )
    (row,) = by_occurrence["rows"]
    assert (row["shift_code"], row["shift_name"], row["day"]) == ("DAY", "Day", "2026-03-03")
    assert row["starts_at"] == "2026-03-03T12:00:00Z"  # 06:00 CST
    assert row["oee"] == "0.7444"


async def test_the_oee_of_nights_over_both_clock_changes_by_day(plant: Plant) -> None:
    plant.facility()
    plant.line("L1")
    plant.shift(NIGHT)
    plant.capacity("L1", "480")
    plant.reason("JAM", "Jam")
    for night in (date(2026, 3, 7), date(2026, 10, 31)):
        plant.stop(
            "L1",
            chicago(night + timedelta(days=1), 3),
            chicago(night + timedelta(days=1), 4),
            "JAM",
        )
        plant.made("L1", "CUP", "400", "0", chicago(night + timedelta(days=1), 5, 55))

    spring = await plant.get(
        "/api/v1/reports/oee",
        date_from="2026-03-07",
        date_to="2026-03-08",
        facility_code="CHI",
        group_by="day",
    )
    autumn = await plant.get(
        "/api/v1/reports/oee",
        date_from="2026-10-31",
        date_to="2026-10-31",
        facility_code="CHI",
        group_by="day",
    )

    first, second = spring["rows"]
    # The night of the 7th holds the stop (03:00 on the 8th) and the output: its production day
    assert (first["day"], first["shift_seconds"], first["run_seconds"]) == (
        "2026-03-07",
        "25200.0000",  # 7 h
        "21600.0000",
    )
    assert (first["availability"], first["performance"], first["oee"]) == (
        "0.8571",  # 6/7
        "0.9722",  # 35/36
        "0.8333",  # 5/6
    )
    # The night of the 8th (22:00 CDT to 06:00 CDT) is a plain 8 h with nothing recorded.
    assert (second["day"], second["shift_seconds"], second["performance"]) == (
        "2026-03-08",
        "28800.0000",
        "0.0000",
    )
    (night,) = autumn["rows"]
    assert (night["shift_seconds"], night["performance"], night["oee"]) == (
        "32400.0000",  # 9 h
        "0.9375",
        "0.8333",
    )


async def test_a_stop_over_a_shift_change_is_split_but_fails_once(plant: Plant) -> None:
    plant.facility()
    plant.line("L1")
    plant.shift(DAY, name="Day")
    plant.shift(NIGHT, name="Night")
    plant.reason("JAM", "Jam")
    wednesday = date(2026, 3, 4)
    # 05:00-07:00 Wednesday: the last hour of Tuesday's night shift, the first of Wednesday's day.
    plant.stop("L1", chicago(wednesday, 5), chicago(wednesday, 7), "JAM")
    days = {"date_from": "2026-03-03", "date_to": "2026-03-04", "line_code": "L1"}

    shifts = await plant.get("/api/v1/reports/oee", **days, group_by="occurrence")
    reliability = await plant.get("/api/v1/reports/reliability", **days)

    lost = [
        (row["day"], row["shift_code"], row["unplanned_downtime_seconds"]) for row in shifts["rows"]
    ]
    assert lost == [
        ("2026-03-03", "DAY", "0.0000"),
        ("2026-03-03", "NIGHT", "3600.0000"),
        ("2026-03-04", "DAY", "3600.0000"),
        ("2026-03-04", "NIGHT", "0.0000"),
    ]
    (line,) = reliability["rows"]
    # 4 shifts of 8 h = 115,200 s, 7,200 s lost: run 108,000 s, one failure
    assert (line["failures"], line["run_seconds"], line["mttr_minutes"]) == (
        1,
        "108000.0000",
        "120.0000",
    )
    assert line["mtbf_minutes"] == "1800.0000"  # 108,000 s / 1


async def test_the_database_adds_up_what_the_plain_computation_does(plant: Plant) -> None:
    the_database_matches_the_plain_computation(plant)


@pytest.mark.integration
async def test_postgresql_adds_up_what_the_plain_computation_does(pg_plant: Plant) -> None:
    the_database_matches_the_plain_computation(pg_plant)


def the_database_matches_the_plain_computation(plant: Plant) -> None:
    """A fortnight of random stops (inside shifts, over shift changes, outside every shift, one
    still running) and runs on two lines with capacities by SKU, family and any product: the
    report's rows, which the database adds up, are the plain computation's (domain.line_shifts)
    to the last microsecond and unit."""
    rng = random.Random(8)
    plant.facility()
    for code in ("L1", "L2"):
        plant.line(code)
    plant.shift(DAY)
    plant.shift(NIGHT)
    plant.reason("JAM", "Jam")
    plant.reason("BREAK", "Break", planned=True)
    plant.family("MUG", "MUGS")
    plant.capacity("L1", "480")
    plant.capacity("L1", "300", family="MUGS", since=date(2026, 3, 6))
    plant.capacity("L2", "200", sku="MUG")
    first, last = date(2026, 3, 2), date(2026, 3, 15)
    stops: list[Stop] = []
    outputs: list[Output] = []
    for line in ("L1", "L2"):
        moment = chicago(first, 0) - timedelta(hours=3)
        while moment < chicago(last, 23):
            moment += timedelta(minutes=rng.randint(20, 400), microseconds=rng.randint(0, 999_999))
            length = timedelta(minutes=rng.randint(1, 180), seconds=rng.randint(0, 59))
            reason = rng.choice(["JAM", "BREAK", None])
            planned = reason == "BREAK"
            plant.stop(line, moment, moment + length, reason, planned=planned)
            stops.append(Stop(len(stops) + 1, line, moment, moment + length, planned, reason))
            moment += length
        for _ in range(60):
            at_ = chicago(first, 0) + timedelta(minutes=rng.randint(-600, 15 * 24 * 60))
            sku = rng.choice(["MUG", "PLATE", "BOWL"])
            good, bad = str(rng.randint(0, 90)), str(rng.randint(0, 9))
            failed = rng.choice([None, "0", "3"])
            plant.made(line, sku, good, bad, at_, failed=failed)
            outputs.append(
                Output(
                    line,
                    sku,
                    "MUGS" if sku == "MUG" else None,
                    at_,
                    D(good),
                    D(bad),
                    D(failed or 0),
                )
            )
    running_since = chicago(last, 10)
    plant.stop("L2", running_since, None, None)
    stops.append(Stop(len(stops) + 1, "L2", running_since, None, False, None))
    capacities = {
        "L1": [
            Capacity(1, "L1", None, None, D(480), date(2026, 1, 1)),
            Capacity(2, "L1", None, "MUGS", D(300), date(2026, 3, 6)),
        ],
        "L2": [Capacity(3, "L2", "MUG", None, D(200), date(2026, 1, 1))],
    }
    now = chicago(last, 12)

    with plant.runtime.uow(read_only=True) as uow:
        report = reports_service.oee_report(
            uow,
            ReportQuery(first, last, facility_code="CHI"),
            OeeGroupBy.OCCURRENCE,
            now,
        )
    worked = worked_so_far(occurrences_between([DAY, NIGHT], first, last, CHICAGO), now)
    cells, _outside = line_shifts(["L1", "L2"], worked, stops, outputs, capacities, now)

    by_row = {(row.line_code, row.day, row.shift_code): row for row in report.rows}
    # Two lines x (10 weekday shifts + 13 nights: the 15th's has not begun at noon)
    assert len(by_row) == len(cells) == 2 * (10 + 13)
    for (line, shift), inputs in cells.items():
        row = by_row[(line, shift.day, shift.code)]
        assert row.shift_seconds == inputs.shift_seconds
        assert row.planned_downtime_seconds == inputs.planned_downtime_seconds
        assert row.unplanned_downtime_seconds == inputs.unplanned_downtime_seconds
        assert row.ideal_run_seconds == rounded(inputs.ideal_run_seconds)
        assert (row.total_count, row.bad_count, row.qc_failed_count) == (
            inputs.total_count,
            inputs.bad_count,
            inputs.qc_failed_count,
        )
        assert row.missing_capacity_skus == sorted(inputs.missing_capacity)
        assert row.oee == oee_figures(inputs).oee
    assert report.totals.unplanned_downtime_seconds > 0
    assert report.totals.missing_capacity_skus == ["BOWL", "PLATE"]
