"""Downtime on PostgreSQL (issue 8): 100 tablets recording stops at once through the served
downtime service, and the summary, Pareto, trend, MTBF/MTTR and OEE reports over 1,000,000
downtime events, each beside a ceiling measured in the same run.

    .venv/bin/python bench/downtime.py [--events 1000000] [--tablets 100] [--seconds 60]
        [--think 1 3] [--runs 50] [--budget 60] [--explain] [--profile] [--try-rollup]
        [--report NAME ...] [--report-days 30 365] [--no-reports]
        [--json bench/results/downtime.json]

    # a smoke run (two to three minutes):
    .venv/bin/python bench/downtime.py --events 20000 --tablets 10 --seconds 5 --runs 5
    # the tablets alone, at another pace; one tablet without pauses (no queueing):
    .venv/bin/python bench/downtime.py --no-reports --think 10 20
    .venv/bin/python bench/downtime.py --no-reports --tablets 1 --think 0 0 --seconds 30
    # the reports alone (no tablets), only OEE, only over a year, with plans and a profile:
    .venv/bin/python bench/downtime.py --seconds 0 --report oee --report-days 365 --explain \
        --profile

The plant (seeded, so every run builds the same one): facility P1 in America/Chicago with 24
lines, working shifts A 06-14, B 14-22 and C 22-06 Monday to Friday, and facility P2 in
Europe/Madrid with 16 lines working the same shifts Monday to Saturday; each facility has a
reason tree of 65 reasons three levels deep (Mechanical, Electrical, Material, Quality, and
Planned: changeovers, maintenance, breaks), 30 items in 3 product families, a capacity per line
for any product and one for a family (which changes a year ago), and an order running on each
line. The master data is written with the service's models.

The history: `--events` downtime events over the last 730 days, the same number on each line,
written with COPY (one transaction per 100,000 rows, every check and index of the table on),
then VACUUM ANALYZE. On each line the stops fall in the facility's worked shift time, never
overlap, and end at least 6 hours before the run began (the tablets' entries after the fact go
there). Durations: unplanned stops 1-90 min, lognormal with a median of 3 min (micro-stops
logged); planned ones 5-45 min; 15 % of the stops are planned, 2 % unclassified (a machine's
stop nobody gave a reason yet), the rest skewed over the unplanned reasons so the Pareto has a
head. Each stop's production day and shift come from the shift occurrence it starts in
(`services.downtime.plant.domain.occurrences_between`); a sample is checked against
`plant.domain.shift_at`. Output for OEE: three runs per line per worked shift (`floor_runs`),
a tenth of them with a QC outcome that failed some units (`floor_qc`).

The tablets: the downtime service runs as `portal serve downtime` would run it (its own process,
one uvicorn worker, the in-process bus: nothing consumes its events here) on the database above.
`--tablets` clients (httpx, async, one keep-alive connection each, a signed operator token
each) share the 40 lines (tablet i stands at line i mod 40; the tablets of one line take turns,
as people at one line do, so none taps over another). For `--seconds`, each tablet repeats:
GET /api/v1/lines/{code}/floor (the tablet's screen), then one action, then a think time drawn
from `--think` seconds:
- the line is up: "line down" (POST /api/v1/lines/{code}/downtime/start with an
  Idempotency-Key, 40 % with a reason), of which 3 % are sent twice with the same key (a retry
  after a dropped connection: the first answer must come back, nothing more opened); or, in
  15 % of the turns, a stop entered after the fact (POST /api/v1/downtimes with a key, 1-5 min
  in the line's hours before the run), of which 5 % deliberately overlap the line's previous
  one (409 downtime_overlap expected, counted on its own);
- the line is down: "back up" (POST /api/v1/downtimes/{id}/end, with a reason if it had none).
Per operation: count, p50 / p90 / p99 / max in ms of wall time, statuses and errors; entries
per second; the CPU of the server, of PostgreSQL's backends of this database, of this process
and of the rest of the machine. Then it checks that no line has two overlapping stops.

Ceilings of the entry, in the same run: GET /healthz through the same HTTP stack from the same
tablets at the same pace (`--ceiling-seconds`); the same number of INSERTs of a downtime row
as the tablets wrote, one transaction each, with psycopg alone; and the service's own
start_downtime + end_downtime in this process (no HTTP), one after the other.

The reports, each for facility P1 over the last 30 and the last 365 production days, warm,
`--runs` times (fewer when `--budget` seconds would not hold them, at least 5; a report whose
first call shows 5 calls would take over twice the budget is timed by that one call alone;
n is printed), both as the service functions in this process (a fresh read-only unit of work
per call; the time inside SQL statements and their count are printed beside) and as the HTTP
routes of the served process (one keep-alive client; the server's CPU per call beside):
downtime-summary, pareto, trend (day), reliability, oee (group_by line, shift, day), and the
downtime list's first page (GET /api/v1/downtimes?facility_code=P1&date_from=...). The
contrast: the naive aggregate over the whole table with psycopg alone,
`SELECT reason_code, sum(ended_at - started_at) FROM downtimes GROUP BY reason_code`.
`--explain` prints EXPLAIN (ANALYZE, BUFFERS) of each distinct statement the first call of
each report ran; `--profile` prints where one more call of each spends its time (cProfile);
`--try-rollup` times reading per-shift sums (one row per line, production day and shift) from a
table built for the purpose: what a rollup kept by the entries' writes would cost to read.

It creates a database of its own on the server PORTAL_TEST_PG_URL names and drops it at the
end, whatever happens (Ctrl-C and SIGTERM included; the served process is stopped too).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import cProfile
import io
import json
import math
import os
import pstats
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bom import free_port, libpq, machine, say, summary  # noqa: E402
from services import registry  # noqa: E402
from services.downtime.entries import service as entries  # noqa: E402
from services.downtime.entries.schemas import DowntimeEnd, DowntimeStart  # noqa: E402
from services.downtime.entries.service import DowntimeFilters  # noqa: E402
from services.downtime.floor.models import ItemFamily, OrderOnLine  # noqa: E402
from services.downtime.plant.domain import (  # noqa: E402
    ShiftOccurrence,
    ShiftPattern,
    occurrences_between,
    shift_at,
)
from services.downtime.plant.models import Facility, Line, LineCapacity, Shift  # noqa: E402
from services.downtime.reasons.models import DowntimeReason  # noqa: E402
from shared import context  # noqa: E402
from shared.auth.tokens import issue_service_token, verify_service_token  # noqa: E402
from shared.bus.inprocess import InProcessBus  # noqa: E402
from shared.logging import configure_logging  # noqa: E402
from shared.migrations import upgrade  # noqa: E402
from shared.runtime import ServiceRuntime  # noqa: E402
from shared.settings import Settings  # noqa: E402
from shared.web.pagination import PageParams  # noqa: E402

PG_URL = os.environ.get(
    "PORTAL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SECRET = "bench-downtime-secret-" + "x" * 40
ENTRY_TARGET_MS = 50.0
REPORT_TARGET_MS = 300.0
NAIVE_SQL = "SELECT reason_code, sum(ended_at - started_at) FROM downtimes GROUP BY reason_code"
HISTORY_DAYS = 730
# The bulk history ends this long before the run; entries after the fact go in between.
FREE_BEFORE_RUN = timedelta(hours=6)
BATCH_ROWS = 100_000
MIN_RUNS = 5
REPORT_FACILITY = "P1"
WRITES = ("line_down", "back_up", "after_the_fact")

# Shares of the tablets' turns and of the history (see the module docstring).
AFTER_SHARE = 0.15
OVERLAP_SHARE = 0.05
RETRY_SHARE = 0.03
REASON_AT_DOWN_SHARE = 0.40
PLANNED_SHARE = 0.15
UNCLASSIFIED_SHARE = 0.02


# -- the plant -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FacilitySpec:
    code: str
    name: str
    timezone: str
    lines: int
    days: str  # ISO weekdays its shifts start on


FACILITIES = (
    FacilitySpec("P1", "Plant 1, Chicago", "America/Chicago", 24, "12345"),
    FacilitySpec("P2", "Plant 2, Madrid", "Europe/Madrid", 16, "123456"),
)
SHIFTS = (
    ("A", "Morning", clock(6), clock(14)),
    ("B", "Afternoon", clock(14), clock(22)),
    ("C", "Night", clock(22), clock(6)),
)
# top code, name, colour, planned, ((middle code, name, (leaf names)), ...)
TREE: tuple[tuple[str, str, str, bool, tuple[tuple[str, str, tuple[str, ...]], ...]], ...] = (
    (
        "MECH",
        "Mechanical",
        "#d62728",
        False,
        (
            ("NOZ", "Nozzle", ("Clogged", "Worn", "Misaligned")),
            ("CONV", "Conveyor", ("Belt slip", "Jam", "Motor")),
            ("HYD", "Hydraulics", ("Leak", "Low pressure", "Valve")),
        ),
    ),
    (
        "ELEC",
        "Electrical",
        "#ff7f0e",
        False,
        (
            ("SENS", "Sensor", ("Fault", "Dirty", "Cable")),
            ("DRV", "Drive", ("Overload", "Trip", "Encoder")),
            ("CTRL", "Controls", ("PLC fault", "HMI frozen", "E-stop")),
        ),
    ),
    (
        "MATL",
        "Material",
        "#2ca02c",
        False,
        (
            ("SUP", "Supply", ("Material late", "Wrong material", "Hopper empty")),
            ("PACK", "Packaging", ("Film out", "Labels out", "Cartons out")),
            ("FEED", "Feed", ("Blocked feed", "Low level", "Contamination")),
        ),
    ),
    (
        "QUAL",
        "Quality",
        "#9467bd",
        False,
        (
            ("INSP", "Inspection", ("QC hold", "Sample check", "Rework")),
            ("DEF", "Defects", ("Colour off", "Dimension out", "Seal failure")),
            ("ADJ", "Adjustment", ("Recalibration", "Test run", "Settings")),
        ),
    ),
    (
        "PLAN",
        "Planned",
        "#1f77b4",
        True,
        (
            ("CHG", "Changeover", ("Product change", "Colour change", "Tooling change")),
            ("MNT", "Maintenance", ("Preventive", "Lubrication", "Inspection")),
            ("BRK", "Breaks", ("Meal break", "Meeting", "Cleaning")),
        ),
    ),
)
SKUS = [(f"SKU-{n:03d}", f"FAM-{'ABC'[n % 3]}") for n in range(30)]


def line_codes(spec: FacilitySpec) -> list[str]:
    return [f"{spec.code}-L{n:02d}" for n in range(1, spec.lines + 1)]


@dataclass
class Reasons:
    """One facility's leaves, by kind, with the weights the history draws them with."""

    unplanned: list[str]
    planned: list[str]
    weights: list[float]  # over unplanned, then planned


def reason_rows(spec: FacilitySpec, rng: random.Random) -> tuple[list[dict[str, Any]], Reasons]:
    rows: list[dict[str, Any]] = []
    unplanned: list[str] = []
    planned: list[str] = []
    order = 0
    for top, name, colour, is_planned, middles in TREE:
        top_code = f"{spec.code}-{top}"
        rows.append(dict(code=top_code, parent=None, name=name, colour=colour, planned=is_planned))
        for middle, middle_name, leaves in middles:
            middle_code = f"{top_code}-{middle}"
            rows.append(
                dict(
                    code=middle_code,
                    parent=top_code,
                    name=middle_name,
                    colour=colour,
                    planned=is_planned,
                )
            )
            for number, leaf in enumerate(leaves, start=1):
                code = f"{middle_code}-{number}"
                rows.append(
                    dict(
                        code=code, parent=middle_code, name=leaf, colour=colour, planned=is_planned
                    )
                )
                (planned if is_planned else unplanned).append(code)
                order += 1
    # A Pareto head: unplanned leaves weighted 1/rank in a seeded order; planned ones equal.
    ranks = list(range(1, len(unplanned) + 1))
    rng.shuffle(ranks)
    head = [1 / rank for rank in ranks]
    scale = (1 - PLANNED_SHARE) / sum(head)
    weights = [w * scale for w in head] + [PLANNED_SHARE / len(planned)] * len(planned)
    return rows, Reasons(unplanned, planned, weights)


def set_up_plant(runtime: ServiceRuntime, first_day: date) -> dict[str, Reasons]:
    """Facilities, lines, shifts, reason trees, items, capacities and running orders."""
    rng = random.Random(8)
    now = datetime.now(UTC)
    stamps = {"created_at": now, "updated_at": now}
    reasons: dict[str, Reasons] = {}
    with runtime.uow() as uow:
        session = uow.session
        for spec in FACILITIES:
            session.add(
                Facility(
                    code=spec.code,
                    name=spec.name,
                    timezone=spec.timezone,
                    day_lock_hour=None,
                    active=True,
                    **stamps,
                )
            )
        session.flush()
        for spec in FACILITIES:
            for code, name, start, end in SHIFTS:
                session.add(
                    Shift(
                        facility_code=spec.code,
                        code=code,
                        name=name,
                        start_time=start,
                        end_time=end,
                        days_of_week=spec.days,
                        active=True,
                        **stamps,
                    )
                )
            for number, code in enumerate([*line_codes(spec), f"{spec.code}-CEIL"]):
                session.add(
                    Line(
                        code=code,
                        facility_code=spec.code,
                        name=f"Line {code}",
                        line_type="filler" if number % 2 else "printer",
                        tooling_type=None,
                        allergen_status="handles_allergens",
                        speed_modifier=Decimal(1),
                        active=True,
                        **stamps,
                    )
                )
            rows, reasons[spec.code] = reason_rows(spec, rng)
            for order, row in enumerate(rows):
                session.add(
                    DowntimeReason(
                        code=row["code"],
                        facility_code=spec.code,
                        parent_code=row["parent"],
                        name=row["name"],
                        colour=row["colour"],
                        planned=row["planned"],
                        active=True,
                        sort_order=order,
                        **stamps,
                    )
                )
            session.flush()
        for sku, family in SKUS:
            session.add(ItemFamily(sku=sku, family=family, sequence=1))
        for spec in FACILITIES:
            for code in line_codes(spec):
                units = Decimal(rng.randrange(2000, 4001, 100))
                session.add(
                    LineCapacity(
                        line_code=code,
                        sku=None,
                        family=None,
                        units_per_shift=units,
                        effective_from=first_day - timedelta(days=1),
                        active=True,
                        **stamps,
                    )
                )
                session.add(
                    LineCapacity(
                        line_code=code,
                        sku=None,
                        family="FAM-B",
                        units_per_shift=(units * Decimal("0.8")).quantize(Decimal(1)),
                        effective_from=first_day + timedelta(days=HISTORY_DAYS // 2),
                        active=True,
                        **stamps,
                    )
                )
                session.add(
                    OrderOnLine(
                        order_code=f"WO-{code}",
                        sku=rng.choice(SKUS)[0],
                        status="in_progress",
                        line_code=code,
                        qty_to_make=Decimal(5000),
                        sequence=1,
                        updated_at=now,
                    )
                )
        uow.commit()
    return reasons


# -- the history: 1,000,000 stops with COPY ------------------------------------------------


DOWNTIME_COLUMNS = (
    "line_code, facility_code, reason_code, planned, started_at, ended_at, production_day, "
    "shift_code, order_code, notes, source, created_by, created_at, updated_at, version"
)
RUN_COLUMNS = "run_id, order_code, sku, line_code, qty_good, qty_bad, started_at, completed_at"
QC_COLUMNS = "qc_record_id, order_code, run_id, qty_passed, qty_failed, inspected_at"


@dataclass
class WorkedTime:
    """A facility's worked shift occurrences up to the cut-off, as a line of worked seconds."""

    occurrences: list[ShiftOccurrence]
    starts: list[int]  # epoch seconds
    untils: list[int]
    offsets: list[int]  # worked seconds before each occurrence
    total: int

    def at(self, worked: int) -> tuple[int, int]:
        """(epoch second, occurrence index) of `worked` seconds into the worked time."""
        index = bisect.bisect_right(self.offsets, worked) - 1
        return self.starts[index] + worked - self.offsets[index], index


def worked_time(spec: FacilitySpec, first_day: date, cutoff: datetime) -> WorkedTime:
    patterns = [ShiftPattern(code, start, end, spec.days) for code, _n, start, end in SHIFTS]
    chosen = [
        each
        for each in occurrences_between(
            patterns, first_day, cutoff.date() + timedelta(days=1), ZoneInfo(spec.timezone)
        )
        if each.starts_at < cutoff
    ]
    starts = [int(each.starts_at.timestamp()) for each in chosen]
    untils = [int(min(each.ends_at, cutoff).timestamp()) for each in chosen]
    offsets, total = [], 0
    for start, until in zip(starts, untils, strict=True):
        offsets.append(total)
        total += until - start
    return WorkedTime(chosen, starts, untils, offsets, total)


def iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def duration_s(rng: random.Random, planned: bool) -> int:
    if planned:
        return rng.randint(5 * 60, 45 * 60)
    minutes = min(90.0, max(1.0, rng.lognormvariate(math.log(3), 0.8)))
    return max(60, round(minutes * 60))


def line_history(
    rng: random.Random,
    spec: FacilitySpec,
    line: str,
    worked: WorkedTime,
    reasons: Reasons,
    stops: int,
    checks: list[tuple[FacilitySpec, int, date, str]],
) -> Iterator[str]:
    """COPY rows of `stops` stops of `line` spread over the worked time, never overlapping."""
    leaves = reasons.unplanned + reasons.planned
    picked = rng.choices(leaves, weights=reasons.weights, k=stops)
    kinds: list[str | None] = [
        None if rng.random() < UNCLASSIFIED_SHARE else code for code in picked
    ]
    planned_set = set(reasons.planned)
    durations = [duration_s(rng, code in planned_set) for code in kinds]
    slack = worked.total - sum(durations)
    if slack <= 0:
        raise SystemExit(f"{stops:,} stops do not fit in {line}'s worked time; fewer --events")
    gaps = [rng.expovariate(1.0) for _ in range(stops + 1)]
    scale = slack / sum(gaps)
    position = 0.0
    user = f"op-{line.lower()}"
    for number, (code, seconds) in enumerate(zip(kinds, durations, strict=True)):
        position += gaps[number] * scale
        start, index = worked.at(int(position))
        position += seconds
        end = start + seconds
        where = worked.occurrences[index]
        planned = code in planned_set
        source = "machine" if code is None else ("manual" if rng.random() < 0.1 else "tablet")
        created = iso(end + rng.randint(5, 600))
        if number % 997 == 0:
            checks.append((spec, start, where.day, where.code))
        yield "\t".join(
            (
                line,
                spec.code,
                code or r"\N",
                "t" if planned else "f",
                iso(start),
                iso(end),
                where.day.isoformat(),
                where.code,
                f"WO-{line}-{where.day:%y%m%d}" if rng.random() < 0.7 else r"\N",
                r"\N",
                source,
                "machine" if source == "machine" else ("clerk" if source == "manual" else user),
                created,
                created,
                "1" if source == "manual" else "2",
            )
        )


def line_output(
    rng: random.Random, line: str, worked: WorkedTime, capacity: int
) -> tuple[list[str], list[str]]:
    """Three runs per worked shift of `line`, and a QC outcome for a tenth of them."""
    runs, qcs = [], []
    for index, (start, until) in enumerate(zip(worked.starts, worked.untils, strict=True)):
        length = until - start
        if length < 3600:
            continue
        order = f"WO-{line}-{worked.occurrences[index].day:%y%m%d}"
        for part in range(3):
            completed = start + length * (part + 1) // 3 - rng.randint(60, 900)
            good = round(capacity * rng.uniform(0.16, 0.22) * length / (8 * 3600))
            bad = round(good * rng.uniform(0, 0.03))
            run_id = f"R-{line}-{index}-{part}"
            sku = rng.choice(SKUS)[0]
            runs.append(
                f"{run_id}\t{order}\t{sku}\t{line}\t{good}\t{bad}\t"
                f"{iso(completed - length // 3 + 300)}\t{iso(completed)}"
            )
            if rng.random() < 0.1:
                failed = round(good * rng.uniform(0, 0.05))
                qcs.append(
                    f"QC-{run_id}\t{order}\t{run_id}\t{good - failed}\t{failed}\t"
                    f"{iso(completed + 3600)}"
                )
    return runs, qcs


def copy_rows(conn: psycopg.Connection[Any], table: str, columns: str, rows: list[str]) -> None:
    if not rows:
        return
    with (
        conn.transaction(),
        conn.cursor() as cur,
        cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        copy.write("\n".join(rows) + "\n")


def load_history(
    url: str, events: int, first_day: date, cutoff: datetime, reasons: dict[str, Reasons]
) -> dict[str, Any]:
    rng = random.Random(2026)
    all_lines = [(spec, code) for spec in FACILITIES for code in line_codes(spec)]
    per_line, extra = divmod(events, len(all_lines))
    worked = {spec.code: worked_time(spec, first_day, cutoff) for spec in FACILITIES}
    checks: list[tuple[FacilitySpec, int, date, str]] = []
    began = time.perf_counter()
    copy_s = 0.0
    written = runs_written = qc_written = 0
    buffer: list[str] = []
    with psycopg.connect(libpq(url)) as conn:
        capacities: dict[str, Decimal] = dict(
            conn.execute(
                "SELECT line_code, units_per_shift FROM line_capacities WHERE sku IS NULL "
                "AND family IS NULL"
            ).fetchall()
        )
        for number, (spec, line) in enumerate(all_lines):
            stops = per_line + (1 if number < extra else 0)
            buffer.extend(
                line_history(rng, spec, line, worked[spec.code], reasons[spec.code], stops, checks)
            )
            runs, qcs = line_output(rng, line, worked[spec.code], int(capacities[line]))
            started = time.perf_counter()
            copy_rows(conn, "floor_runs", RUN_COLUMNS, runs)
            copy_rows(conn, "floor_qc", QC_COLUMNS, qcs)
            runs_written += len(runs)
            qc_written += len(qcs)
            if len(buffer) >= BATCH_ROWS or number == len(all_lines) - 1:
                copy_rows(conn, "downtimes", DOWNTIME_COLUMNS, buffer)
                written += len(buffer)
                buffer = []
                elapsed = time.perf_counter() - began
                say(f"  loaded {written:,} downtimes in {elapsed:.0f} s")
            copy_s += time.perf_counter() - started
    elapsed = time.perf_counter() - began
    # The shift and production day written agree with the service's own shift detection.
    mismatches = 0
    for spec, start, day, code in checks:
        patterns = [ShiftPattern(c, s, e, spec.days) for c, _n, s, e in SHIFTS]
        found = shift_at(patterns, datetime.fromtimestamp(start, UTC), ZoneInfo(spec.timezone))
        if found is None or (found.day, found.code) != (day, code):
            mismatches += 1
    if mismatches:
        raise SystemExit(f"{mismatches} of {len(checks)} sampled stops disagree with shift_at")
    return {
        "downtimes": written,
        "floor_runs": runs_written,
        "floor_qc": qc_written,
        "seconds": elapsed,
        "copy_seconds": copy_s,
        "rows_per_s": written / elapsed,
        "shift_checks": len(checks),
        "worked_hours": {code: w.total / 3600 for code, w in worked.items()},
    }


def vacuum_analyze(url: str) -> float:
    started = time.perf_counter()
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        for table in ("downtimes", "floor_runs", "floor_qc", "line_capacities", "floor_items"):
            conn.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started


def database_figures(url: str) -> dict[str, Any]:
    with psycopg.connect(libpq(url)) as conn:
        row = conn.execute(
            "SELECT count(*), min(started_at), max(started_at), "
            "pg_total_relation_size('downtimes'), pg_relation_size('downtimes'), "
            "count(*) FILTER (WHERE planned), count(*) FILTER (WHERE reason_code IS NULL) "
            "FROM downtimes"
        ).fetchone()
    assert row is not None
    return {
        "downtimes": row[0],
        "first_start": str(row[1]),
        "last_start": str(row[2]),
        "table_mib_with_indexes": row[3] / 2**20,
        "heap_mib": row[4] / 2**20,
        "planned": row[5],
        "unclassified": row[6],
    }


# -- CPU accounting ------------------------------------------------------------------------


TICKS = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_busy() -> float:
    """Seconds of CPU the whole machine has been busy, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / TICKS


class CpuWatch:
    """CPU of the server, of PostgreSQL's backends of our database (sampled each second, so a
    backend that closes is counted up to its last sample), of this process, and of the machine,
    over a phase."""

    def __init__(self, server_pid: int, database: str) -> None:
        self.server_pid = server_pid
        self.database = database
        self.backends: dict[int, tuple[float, float]] = {}  # pid -> (first, last)
        self._task: asyncio.Task[None] | None = None

    def _backend_pids(self) -> list[int]:
        with psycopg.connect(libpq(PG_URL), autocommit=True) as conn:
            return [
                int(pid)
                for (pid,) in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> "
                    "pg_backend_pid()",
                    (self.database,),
                )
            ]

    def _sample(self) -> None:
        for pid in self._backend_pids():
            cpu = proc_cpu(pid)
            first, _last = self.backends.get(pid, (cpu, cpu))
            self.backends[pid] = (first, cpu)

    async def _loop(self) -> None:
        while True:
            await asyncio.to_thread(self._sample)
            await asyncio.sleep(1.0)

    async def __aenter__(self) -> CpuWatch:
        self.backends.clear()
        await asyncio.to_thread(self._sample)
        self.began = (
            time.perf_counter(),
            proc_cpu(self.server_pid),
            time.process_time(),
            machine_busy(),
        )
        self._task = asyncio.create_task(self._loop())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await asyncio.to_thread(self._sample)
        wall, server, mine, busy = self.began
        self.wall = time.perf_counter() - wall
        self.server = proc_cpu(self.server_pid) - server
        self.bench = time.process_time() - mine
        self.postgres = sum(last - first for first, last in self.backends.values())
        self.machine = machine_busy() - busy
        self.others = max(0.0, self.machine - self.server - self.bench - self.postgres)

    def figures(self) -> dict[str, float]:
        return {
            "wall_s": self.wall,
            "server_cpu_s": self.server,
            "postgres_cpu_s": self.postgres,
            "bench_cpu_s": self.bench,
            "machine_cpu_s": self.machine,
            "others_cpu_s": self.others,
            "others_cores": self.others / self.wall,
            "machine_cores": self.machine / self.wall,
        }


# -- the served service ----------------------------------------------------------------------


@contextlib.contextmanager
def served(url: str, var_dir: Path) -> Iterator[tuple[str, int]]:
    """`portal serve downtime` in a process of its own on `url`: (base URL, pid)."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PORTAL_")}
    env.update(
        PORTAL_DB_URL=url,
        PORTAL_SERVICE_TOKEN_SECRET=SECRET,
        PORTAL_LOG_LEVEL="WARNING",
        PORTAL_LOG_JSON="false",
        PORTAL_VAR_DIR=str(var_dir),
    )
    portal = Path(sys.executable).parent / "portal"
    command = (
        [str(portal)]
        if portal.exists()
        else [sys.executable, "-c", "from services.cli import main; main()"]
    )
    log_path = var_dir / "downtime-serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*command, "serve", "downtime", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"portal serve downtime exited:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"portal serve downtime did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        tail = log_path.read_text()[-2000:].strip()
        if tail:
            say(f"server log (tail):\n{tail}")


# -- the tablets ---------------------------------------------------------------------------


@dataclass
class Station:
    """One line and the tablets at it: they take turns, so none taps over another."""

    line: str
    leaves: list[str]
    past: datetime  # where the next entry after the fact may start
    past_end: datetime  # ... and by when it must have ended
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    running: int | None = None
    classified: bool = False
    last_after: tuple[datetime, datetime] | None = None


class Stats:
    def __init__(self) -> None:
        self.ms: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, Counter[int]] = defaultdict(Counter)
        self.errors: dict[str, int] = Counter()
        self.examples: list[str] = []

    def note(self, op: str, began: float, answer: httpx.Response, ok: bool) -> None:
        self.ms[op].append((time.perf_counter() - began) * 1000)
        self.statuses[op][answer.status_code] += 1
        if not ok:
            self.errors[op] += 1
            if len(self.examples) < 8:
                self.examples.append(f"{op}: {answer.status_code} {answer.text[:300]}")

    def failed(self, op: str, exc: Exception) -> None:
        self.errors[op] += 1
        self.statuses[op][0] += 1
        if len(self.examples) < 8:
            self.examples.append(f"{op}: {type(exc).__name__} {exc}")


async def tablet(
    client: httpx.AsyncClient,
    station: Station,
    rng: random.Random,
    deadline: float,
    think: tuple[float, float],
    stats: Stats,
) -> None:
    await asyncio.sleep(rng.uniform(0, think[1]))
    while time.monotonic() < deadline:
        try:
            began = time.perf_counter()
            answer = await client.get(f"/api/v1/lines/{station.line}/floor")
            stats.note("floor", began, answer, answer.status_code == 200)
            async with station.lock:
                await act(client, station, rng, stats)
        except httpx.HTTPError as exc:
            stats.failed("transport", exc)
        await asyncio.sleep(rng.uniform(*think))


async def act(
    client: httpx.AsyncClient, station: Station, rng: random.Random, stats: Stats
) -> None:
    if station.running is not None:
        body: dict[str, Any] = {}
        if not station.classified:
            body["reason_code"] = rng.choice(station.leaves)
        if rng.random() < 0.1:
            body["notes"] = "cleared by the operator"
        began = time.perf_counter()
        answer = await client.post(f"/api/v1/downtimes/{station.running}/end", json=body)
        ok = answer.status_code == 200 and answer.json()["ended_at"] is not None
        stats.note("back_up", began, answer, ok)
        station.running = None
        return
    if rng.random() < AFTER_SHARE and station.past + timedelta(minutes=6) < station.past_end:
        key = {"Idempotency-Key": uuid.uuid4().hex}
        if station.last_after is not None and rng.random() < OVERLAP_SHARE:
            first, last = station.last_after
            body = {
                "line_code": station.line,
                "reason_code": rng.choice(station.leaves),
                "started_at": (first + (last - first) / 2).isoformat(),
                "ended_at": (last + timedelta(minutes=1)).isoformat(),
            }
            began = time.perf_counter()
            answer = await client.post("/api/v1/downtimes", json=body, headers=key)
            expected = answer.status_code == 409 and answer.json().get("code") == (
                "downtime_overlap"
            )
            stats.note("overlap_refused", began, answer, expected)
            return
        start = station.past + timedelta(seconds=rng.randint(30, 120))
        end = start + timedelta(seconds=rng.randint(60, 300))
        body = {
            "line_code": station.line,
            "reason_code": rng.choice(station.leaves),
            "started_at": start.isoformat(),
            "ended_at": end.isoformat(),
            "notes": "entered after the shift",
        }
        began = time.perf_counter()
        answer = await client.post("/api/v1/downtimes", json=body, headers=key)
        stats.note("after_the_fact", began, answer, answer.status_code == 201)
        if answer.status_code == 201:
            station.past = end
            station.last_after = (start, end)
        return
    body = {}
    station.classified = rng.random() < REASON_AT_DOWN_SHARE
    if station.classified:
        body["reason_code"] = rng.choice(station.leaves)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    path = f"/api/v1/lines/{station.line}/downtime/start"
    began = time.perf_counter()
    answer = await client.post(path, json=body, headers=key)
    stats.note("line_down", began, answer, answer.status_code == 201)
    if answer.status_code != 201:
        return
    station.running = int(answer.json()["id"])
    if rng.random() < RETRY_SHARE:
        began = time.perf_counter()
        again = await client.post(path, json=body, headers=key)
        same = (
            again.status_code == 201
            and int(again.json()["id"]) == station.running
            and again.headers.get("Idempotent-Replayed") is not None
        )
        stats.note("line_down_retry", began, again, same)


def op_figures(stats: Stats, seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for op, ms in sorted(stats.ms.items()):
        out[op] = summary(ms) | {
            "per_s": len(ms) / seconds,
            "errors": stats.errors.get(op, 0),
            "statuses": {str(k): v for k, v in sorted(stats.statuses[op].items())},
        }
    writes = [value for op in WRITES for value in stats.ms.get(op, [])]
    if writes:
        out["entries"] = summary(writes) | {
            "per_s": len(writes) / seconds,
            "errors": sum(stats.errors.get(op, 0) for op in WRITES),
        }
    if stats.errors.get("transport"):
        out["transport"] = {"errors": stats.errors["transport"]}
    return out


def stations_for(
    reasons: dict[str, Reasons], free_from: datetime, free_until: datetime
) -> list[Station]:
    return [
        Station(
            line=code,
            leaves=reasons[spec.code].unplanned,
            past=free_from + timedelta(minutes=1),
            past_end=free_until - timedelta(minutes=1),
        )
        for spec in FACILITIES
        for code in line_codes(spec)
    ]


def tablet_clients(base: str, tablets: int, seconds: float) -> list[httpx.AsyncClient]:
    clients = []
    for number in range(tablets):
        token = issue_service_token(
            SECRET,
            user=f"tablet-{number:03d}",
            roles=["operator"],
            ttl_seconds=int(seconds) + 3600,
        )
        clients.append(
            httpx.AsyncClient(
                base_url=base,
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            )
        )
    return clients


async def run_tablets(
    clients: list[httpx.AsyncClient],
    stations: list[Station],
    seconds: float,
    think: tuple[float, float],
    watch: CpuWatch,
) -> dict[str, Any]:
    stats = Stats()
    deadline = time.monotonic() + seconds
    rng = random.Random(88)
    async with watch:
        began = time.perf_counter()
        await asyncio.gather(
            *(
                tablet(
                    client,
                    stations[number % len(stations)],
                    random.Random(rng.random()),
                    deadline,
                    think,
                    stats,
                )
                for number, client in enumerate(clients)
            )
        )
        elapsed = time.perf_counter() - began
    figures = op_figures(stats, elapsed)
    cpu = watch.figures()
    requests = sum(len(ms) for ms in stats.ms.values())
    return {
        "seconds": elapsed,
        "ops": figures,
        "requests": requests,
        "requests_per_s": requests / elapsed,
        "cpu": cpu,
        "server_cpu_ms_per_request": cpu["server_cpu_s"] / max(requests, 1) * 1000,
        "postgres_cpu_ms_per_request": cpu["postgres_cpu_s"] / max(requests, 1) * 1000,
        "error_examples": stats.examples,
        "lines_left_down": sum(1 for station in stations if station.running is not None),
    }


async def healthz_tablet(
    client: httpx.AsyncClient,
    rng: random.Random,
    deadline: float,
    think: tuple[float, float],
    stats: Stats,
) -> None:
    await asyncio.sleep(rng.uniform(0, think[1]))
    while time.monotonic() < deadline:
        for _ in range(2):  # the floor's GET and an action per turn
            began = time.perf_counter()
            answer = await client.get("/healthz")
            stats.note("healthz", began, answer, answer.status_code == 200)
        await asyncio.sleep(rng.uniform(*think))


async def run_healthz(
    clients: list[httpx.AsyncClient], seconds: float, think: tuple[float, float], watch: CpuWatch
) -> dict[str, Any]:
    stats = Stats()
    deadline = time.monotonic() + seconds
    rng = random.Random(99)
    async with watch:
        began = time.perf_counter()
        await asyncio.gather(
            *(
                healthz_tablet(client, random.Random(rng.random()), deadline, think, stats)
                for client in clients
            )
        )
        elapsed = time.perf_counter() - began
    return op_figures(stats, elapsed)["healthz"] | {"cpu": watch.figures()}


def raw_inserts(url: str, line: str, count: int) -> dict[str, Any]:
    """`count` INSERTs of a downtime row, one transaction each, with psycopg alone."""
    sql = (
        f"INSERT INTO downtimes ({DOWNTIME_COLUMNS}) VALUES (%s, %s, %s, false, %s, %s, %s, "
        "%s, NULL, NULL, 'tablet', 'raw', %s, %s, 1) RETURNING id"
    )
    base = datetime(2000, 1, 3, tzinfo=UTC)
    ms = []
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        reason = conn.execute(
            "SELECT code FROM downtime_reasons WHERE facility_code = %s AND code LIKE %s "
            "ORDER BY code LIMIT 1",
            (line.split("-")[0], "%-MECH-NOZ-1"),
        ).fetchone()
        assert reason is not None
        conn.execute(sql.replace("RETURNING id", ""), _raw_row(line, reason[0], base, -1))
        began = time.perf_counter()
        for number in range(count):
            started = time.perf_counter()
            conn.execute(sql, _raw_row(line, reason[0], base, number)).fetchone()
            ms.append((time.perf_counter() - started) * 1000)
        elapsed = time.perf_counter() - began
        conn.execute("DELETE FROM downtimes WHERE line_code = %s", (line,))
    return summary(ms) | {"per_s": count / elapsed}


def _raw_row(line: str, reason: str, base: datetime, number: int) -> tuple[Any, ...]:
    start = base + timedelta(minutes=10 * (number + 1))
    now = datetime.now(UTC)
    end = start + timedelta(minutes=3)
    return (line, line.split("-")[0], reason, start, end, start.date(), "A", now, now)


def in_process_entries(runtime: ServiceRuntime, line: str, pairs: int) -> dict[str, Any]:
    """The service's start_downtime and end_downtime in this process, as an operator, each in
    its own unit of work and transaction (what the routes do, without HTTP)."""
    token = issue_service_token(SECRET, user="tablet-inproc", roles=["operator"], ttl_seconds=3600)
    claims = verify_service_token(SECRET, token)
    reset = context.set_current_user(claims)
    starts, ends = [], []
    with runtime.uow(read_only=True) as uow:
        leaf = uow.session.scalars(
            text("SELECT code FROM downtime_reasons WHERE code LIKE :pattern ORDER BY code"),
            {"pattern": f"{line.split('-')[0]}-MECH-NOZ-1"},
        ).first()
    try:
        for _ in range(pairs):
            began = time.perf_counter()
            with runtime.uow() as uow:
                out = entries.start_downtime(uow, line, DowntimeStart())
                uow.commit()
            starts.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            with runtime.uow() as uow:
                entries.end_downtime(uow, out.id, DowntimeEnd(reason_code=leaf))
                uow.commit()
            ends.append((time.perf_counter() - began) * 1000)
    finally:
        context.current_user.reset(reset)
    with runtime.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM downtimes WHERE line_code = :line"), {"line": line})
    return {"start": summary(starts), "end": summary(ends), "both": summary(starts + ends)}


def overlap_check(url: str) -> dict[str, int]:
    """Stops of one line that overlap (a running one reaches to forever): must be none."""
    with psycopg.connect(libpq(url)) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE prev_end > started_at), count(*) FROM (SELECT "
            "started_at, lag(coalesce(ended_at, 'infinity')) OVER (PARTITION BY line_code "
            "ORDER BY started_at) AS prev_end FROM downtimes) s"
        ).fetchone()
        running = conn.execute("SELECT count(*) FROM downtimes WHERE ended_at IS NULL").fetchone()
        recent = conn.execute(
            "SELECT count(*) FILTER (WHERE source = 'tablet'), count(*) FILTER (WHERE source = "
            "'manual') FROM downtimes WHERE created_at > now() - interval '1 hour'"
        ).fetchone()
    assert row is not None and running is not None and recent is not None
    return {
        "overlapping": row[0],
        "stops": row[1],
        "running": running[0],
        "written_by_tablets": recent[0],
        "written_after_the_fact": recent[1],
    }


# -- timing the reports --------------------------------------------------------------------


class SqlClock:
    """Time spent inside SQL statements on an engine, and their number, while on."""

    def __init__(self, engine: Engine) -> None:
        self.on = False
        self.seconds = 0.0
        self.statements = 0
        self.seen: list[tuple[str, Any]] | None = None
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, _cursor: Any, statement: str, parameters: Any, *_r: Any) -> None:
        conn.info["bench_began"] = time.perf_counter()
        if self.seen is not None:
            self.seen.append((statement, parameters))

    def _after(self, conn: Any, *_rest: Any) -> None:
        if self.on:
            self.seconds += time.perf_counter() - conn.info.pop("bench_began", time.perf_counter())
            self.statements += 1


def runs_for(first_call_s: float, runs: int, budget: float) -> int:
    if first_call_s * runs <= budget:
        return runs
    return max(MIN_RUNS, int(budget / max(first_call_s, 1e-6)))


def slow(first_call_s: float, budget: float) -> bool:
    """A call so slow that `MIN_RUNS` of it would take more than twice the budget: its first
    call is its only sample (n = 1)."""
    return first_call_s * MIN_RUNS > 2 * budget


def timed(
    call: Callable[[], Any], runs: int, budget: float, sql: SqlClock
) -> tuple[dict[str, Any], Any, list[tuple[str, Any]]]:
    """Timings of `call` (warm unless it is slow), and the statements its first call ran."""
    sql.seen = []
    sql.seconds, sql.statements, sql.on = 0.0, 0, True
    cpu = time.process_time()
    began = time.perf_counter()
    try:
        result = call()
    finally:
        sql.on = False
        seen, sql.seen = sql.seen, None
    first = time.perf_counter() - began
    if slow(first, budget):
        return (
            summary([first * 1000])
            | {
                "cpu_mean": (time.process_time() - cpu) * 1000,
                "sql_ms_mean": sql.seconds * 1000,
                "statements": sql.statements,
                "only_first_call": True,
            },
            result,
            seen,
        )
    began = time.perf_counter()
    result = call()
    n = runs_for(time.perf_counter() - began, runs, budget)
    ms = []
    sql.seconds, sql.statements, sql.on = 0.0, 0, True
    cpu = time.process_time()
    try:
        for _ in range(n):
            began = time.perf_counter()
            result = call()
            ms.append((time.perf_counter() - began) * 1000)
    finally:
        sql.on = False
    return (
        summary(ms)
        | {
            "cpu_mean": (time.process_time() - cpu) / n * 1000,
            "sql_ms_mean": sql.seconds / n * 1000,
            "statements": sql.statements / n,
        },
        result,
        seen,
    )


async def atimed(
    call: Callable[[], Awaitable[Any]], runs: int, budget: float, server_pid: int
) -> tuple[dict[str, Any], Any]:
    cpu = proc_cpu(server_pid)
    began = time.perf_counter()
    result = await call()
    first = time.perf_counter() - began
    if slow(first, budget):
        return summary([first * 1000]) | {
            "server_cpu_mean": (proc_cpu(server_pid) - cpu) * 1000,
            "only_first_call": True,
        }, result
    began = time.perf_counter()
    result = await call()
    n = runs_for(time.perf_counter() - began, runs, budget)
    ms = []
    cpu = proc_cpu(server_pid)
    for _ in range(n):
        began = time.perf_counter()
        result = await call()
        ms.append((time.perf_counter() - began) * 1000)
    return summary(ms) | {"server_cpu_mean": (proc_cpu(server_pid) - cpu) / n * 1000}, result


@dataclass(frozen=True)
class Report:
    name: str
    path: str
    params: dict[str, str]
    call: Callable[[Any, date, date, datetime], Any] | None  # (uow, first, last, now)


def reports_to_time() -> tuple[list[Report], str | None]:
    """The reports, each as its service function and its route; the service functions are
    skipped (and why is returned) when services.downtime.reports cannot be imported."""
    facility = REPORT_FACILITY
    listing = Report(
        "downtime list, page 1",
        "/api/v1/downtimes",
        {"facility_code": facility},
        lambda uow, first, last, now: entries.list_downtimes(
            uow, DowntimeFilters(facility_code=facility, date_from=first), PageParams(), None
        ),
    )
    try:
        from services.downtime.reports import service as reports
        from services.downtime.reports.schemas import OeeGroupBy, ReasonLevel, TrendBucket
        from services.downtime.reports.service import ReportQuery
    except Exception as exc:  # written by another helper at the same time
        missing = f"services.downtime.reports not importable: {type(exc).__name__}: {exc}"
        names = [
            ("downtime-summary", {}),
            ("pareto", {}),
            ("trend", {"bucket": "day"}),
            ("reliability", {}),
            ("oee", {"group_by": "line"}),
            ("oee", {"group_by": "shift"}),
            ("oee", {"group_by": "day"}),
        ]
        routes = [
            Report(
                f"{name} {params.get('group_by', '')}".strip(),
                f"/api/v1/reports/{name}",
                {"facility_code": facility} | params,
                None,
            )
            for name, params in names
        ]
        return [*routes, listing], missing

    def query(first: date, last: date) -> Any:
        return ReportQuery(first=first, last=last, facility_code=facility)

    def oee(group: str) -> Callable[[Any, date, date, datetime], Any]:
        return lambda uow, first, last, now: reports.oee_report(
            uow, query(first, last), OeeGroupBy(group), now
        )

    scope = {"facility_code": facility}
    return [
        Report(
            "downtime-summary",
            "/api/v1/reports/downtime-summary",
            scope,
            lambda uow, first, last, now: reports.downtime_summary(
                uow, query(first, last), ReasonLevel.LEAF, now
            ),
        ),
        Report(
            "pareto",
            "/api/v1/reports/pareto",
            scope,
            lambda uow, first, last, now: reports.pareto(
                uow, query(first, last), ReasonLevel.LEAF, now
            ),
        ),
        Report(
            "trend (day)",
            "/api/v1/reports/trend",
            scope | {"bucket": "day"},
            lambda uow, first, last, now: reports.trend(
                uow, query(first, last), TrendBucket.DAY, now
            ),
        ),
        Report(
            "reliability",
            "/api/v1/reports/reliability",
            scope,
            lambda uow, first, last, now: reports.reliability_report(uow, query(first, last), now),
        ),
        *(
            Report(f"oee by {each}", "/api/v1/reports/oee", scope | {"group_by": each}, oee(each))
            for each in ("line", "shift", "day")
        ),
        listing,
    ], None


def explain(runtime: ServiceRuntime, seen: list[tuple[str, Any]]) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of each distinct query of `seen` (the first of each), in one
    transaction that also runs the SET statements the call ran (work_mem, jit)."""
    counts = Counter(statement for statement, _p in seen)
    out: list[str] = []
    done: set[str] = set()
    with runtime.db.engine.connect() as conn, conn.begin():
        for statement, parameters in seen:
            if statement.lstrip().upper().startswith("SET "):
                conn.exec_driver_sql(statement, parameters or {})
                out.append("  " + " ".join(statement.split()))
                continue
            if statement in done or not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            done.add(statement)
            plan = conn.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters or {}
            ).scalars()
            times = f" (run {counts[statement]} times per call)" if counts[statement] > 1 else ""
            out.append(f"  SQL{times}: " + " ".join(statement.split()))
            out.append(f"    parameters: {parameters}")
            out.extend("    " + line for line in plan)
    return out


def profile(call: Callable[[], Any], top: int = 18) -> list[str]:
    profiler = cProfile.Profile()
    profiler.enable()
    call()
    profiler.disable()
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(top)
    return [line for line in buffer.getvalue().splitlines() if line.strip()]


async def time_reports(
    runtime: ServiceRuntime,
    client: httpx.AsyncClient,
    server_pid: int,
    today: date,
    args: argparse.Namespace,
) -> dict[str, Any]:
    reports, missing = reports_to_time()
    out: dict[str, Any] = {"missing": missing, "today": str(today), "cases": []}
    if args.no_reports:
        return out
    sql = SqlClock(runtime.db.engine)
    for days in args.report_days:
        first, last = today - timedelta(days=days - 1), today
        for report in reports:
            if args.report and not any(word in report.name for word in args.report):
                continue
            case: dict[str, Any] = {
                "report": report.name,
                "days": days,
                "date_from": str(first),
                "date_to": str(last),
            }
            label = f"{report.name}, {days} days"
            if report.call is not None:
                use = report.call

                def call(use: Any = use, first: date = first, last: date = last) -> Any:
                    with runtime.uow(read_only=True) as uow:
                        return use(uow, first, last, datetime.now(UTC))

                try:
                    case["service"], result, seen = timed(call, args.runs, args.budget, sql)
                    case["rows"] = _rows_of(result)
                    if args.explain:
                        case["explain"] = explain(runtime, seen)
                    if args.profile:
                        case["profile"] = profile(call)
                except Exception as exc:
                    case["service_error"] = f"{type(exc).__name__}: {exc}"
                    say(f"  {label}: the service function failed: {case['service_error']}")
            params = report.params | {"date_from": str(first)}
            if report.path != "/api/v1/downtimes":
                params["date_to"] = str(last)

            async def get(path: str = report.path, params: dict[str, str] = params) -> Any:
                answer = await client.get(path, params=params)
                if answer.status_code != 200:
                    raise RuntimeError(f"{answer.status_code} {answer.text[:300]}")
                return len(answer.content)

            try:
                case["http"], size = await atimed(get, args.runs, args.budget, server_pid)
                case["http_bytes"] = size
            except (RuntimeError, httpx.HTTPError) as exc:
                case["http_error"] = str(exc)
                say(f"  {label}: GET {report.path} failed: {exc}")
            out["cases"].append(case)
            show_case(case)
    return out


def _rows_of(result: Any) -> dict[str, int]:
    counts = {}
    for name in ("rows", "by_reason", "by_line", "items"):
        value = getattr(result, name, None)
        if isinstance(value, list):
            counts[name] = len(value)
    return counts


def naive(url: str, runs: int, budget: float) -> dict[str, Any]:
    """The naive aggregate over the whole table with psycopg alone, warm."""
    with psycopg.connect(libpq(url)) as conn:
        rows = conn.execute(NAIVE_SQL).fetchall()
        began = time.perf_counter()
        conn.execute(NAIVE_SQL).fetchall()
        n = runs_for(time.perf_counter() - began, runs, budget)
        ms = []
        for _ in range(n):
            began = time.perf_counter()
            conn.execute(NAIVE_SQL).fetchall()
            ms.append((time.perf_counter() - began) * 1000)
        plan = [str(row[0]) for row in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + NAIVE_SQL)]
    return summary(ms) | {"groups": len(rows), "plan": plan}


ROLLUP_BUILD = (
    "CREATE TABLE bench_shift_sums AS SELECT line_code, production_day, shift_code, "
    "count(*) FILTER (WHERE NOT (planned AND reason_code IS NOT NULL)) AS failures, "
    "coalesce(sum(extract(epoch FROM ended_at - started_at)) FILTER (WHERE planned AND "
    "reason_code IS NOT NULL), 0) AS planned_s, coalesce(sum(extract(epoch FROM ended_at - "
    "started_at)) FILTER (WHERE NOT (planned AND reason_code IS NOT NULL)), 0) AS unplanned_s "
    "FROM downtimes WHERE ended_at IS NOT NULL GROUP BY 1, 2, 3"
)
ROLLUP_CELLS = (
    "SELECT line_code, production_day, shift_code, planned_s, unplanned_s, failures FROM "
    "bench_shift_sums WHERE line_code = ANY(%(lines)s) AND production_day BETWEEN %(first)s "
    "AND %(last)s"
)
ROLLUP_LINES = (
    "SELECT line_code, sum(planned_s), sum(unplanned_s), sum(failures) FROM bench_shift_sums "
    "WHERE line_code = ANY(%(lines)s) AND production_day BETWEEN %(first)s AND %(last)s "
    "GROUP BY line_code"
)


def try_rollup(url: str, today: date, runs: int, budget: float) -> dict[str, Any]:
    """What reading kept per-shift sums would cost: a table of one row per line, production
    day and shift (the shape a rollup kept by the entries' writes would have; here simply
    grouped from the stops, not cut at shift changes), and the year's and the month's rows of
    the report's facility read from it, psycopg alone. The change the OEE figures point to,
    measured, not built."""
    out: dict[str, Any] = {}
    lines = line_codes(FACILITIES[0])
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        began = time.perf_counter()
        conn.execute(ROLLUP_BUILD)
        conn.execute(
            "CREATE INDEX ix_bench_shift_sums ON bench_shift_sums (line_code, production_day)"
        )
        conn.execute("VACUUM ANALYZE bench_shift_sums")
        out["build_s"] = time.perf_counter() - began
        row = conn.execute("SELECT count(*) FROM bench_shift_sums").fetchone()
        out["rows"] = row[0] if row else 0
        for days in (30, 365):
            params = {"lines": lines, "first": today - timedelta(days=days - 1), "last": today}
            for name, sql in (("cells", ROLLUP_CELLS), ("lines", ROLLUP_LINES)):
                rows = conn.execute(sql, params).fetchall()
                began = time.perf_counter()
                conn.execute(sql, params).fetchall()
                n = runs_for(time.perf_counter() - began, runs, budget)
                ms = []
                for _ in range(n):
                    began = time.perf_counter()
                    conn.execute(sql, params).fetchall()
                    ms.append((time.perf_counter() - began) * 1000)
                out[f"{name}_{days}"] = summary(ms) | {"rows": len(rows)}
        conn.execute("DROP TABLE bench_shift_sums")
    return out


# -- output --------------------------------------------------------------------------------


def fmt(s: dict[str, Any]) -> str:
    if s.get("only_first_call"):
        return f"n=    1  one call (slower than the budget allows more): {s['max']:10.2f} ms"
    return (
        f"n={s['n']:5}  p50 {s['p50']:8.2f}  p90 {s['p90']:8.2f}  p99 {s['p99']:8.2f}  "
        f"max {s['max']:8.2f} ms"
    )


def show_tablets(t: dict[str, Any], label: str) -> None:
    say(f"{label}: {t['seconds']:.1f} s, {t['requests']:,} requests ({t['requests_per_s']:.0f}/s)")
    for op, s in t["ops"].items():
        if "n" not in s:
            say(f"  {op:16} errors {s['errors']}")
            continue
        statuses = ", ".join(f"{k}: {v}" for k, v in s.get("statuses", {}).items())
        say(
            f"  {op:16} {fmt(s)}  {s['per_s']:6.1f}/s  errors {s['errors']}"
            + (f"  [{statuses}]" if statuses else "")
        )
    cpu = t["cpu"]
    say(
        f"  CPU over {cpu['wall_s']:.1f} s: server {cpu['server_cpu_s']:.1f} s "
        f"({t['server_cpu_ms_per_request']:.2f} ms/request), PostgreSQL backends "
        f"{cpu['postgres_cpu_s']:.1f} s ({t['postgres_cpu_ms_per_request']:.2f} ms/request), "
        f"bench (clients) {cpu['bench_cpu_s']:.1f} s, other processes {cpu['others_cpu_s']:.1f} s "
        f"= {cpu['others_cores']:.2f} cores; machine {cpu['machine_cores']:.2f} of "
        f"{os.cpu_count()} cores busy"
    )
    for example in t.get("error_examples", []):
        say(f"  error: {example}")


def show_case(case: dict[str, Any]) -> None:
    label = f"{case['report']}, {case['days']} days"
    if "service" in case:
        s = case["service"]
        say(
            f"  {label:32} service {fmt(s)}  sql {s['sql_ms_mean']:7.2f} ms in "
            f"{s['statements']:.0f} statements  rows {case.get('rows', {})}"
        )
    if "http" in case:
        h = case["http"]
        say(
            f"  {label:32} HTTP    {fmt(h)}  server CPU {h['server_cpu_mean']:7.2f} ms  "
            f"{case['http_bytes']:,} bytes"
        )


def verdicts(results: dict[str, Any]) -> list[str]:
    lines = []
    entries_p99 = results.get("tablets", {}).get("ops", {}).get("entries", {}).get("p99")
    if entries_p99 is not None:
        lines.append(
            f"{'PASS' if entries_p99 < ENTRY_TARGET_MS else 'MISS'}: entry p99 "
            f"{entries_p99:.1f} ms (line down, back up and after the fact together; target "
            f"< {ENTRY_TARGET_MS:.0f})"
        )
        for op in WRITES:
            s = results["tablets"]["ops"].get(op)
            if s and "p99" in s:
                lines.append(f"      {op}: p99 {s['p99']:.1f} ms")
    for case in results["reports"]["cases"]:
        h = case.get("http")
        if h is None:
            lines.append(f"MISSING: {case['report']}, {case['days']} days (no route answer)")
            continue
        verdict = "PASS" if h["p99"] < REPORT_TARGET_MS else "MISS"
        figure = (
            f"HTTP, one call {h['max']:.1f} ms"
            if h.get("only_first_call")
            else f"HTTP p99 {h['p99']:.1f} ms, p50 {h['p50']:.1f}"
        )
        lines.append(
            f"{verdict}: {case['report']}, {case['days']} days: {figure} "
            f"(target < {REPORT_TARGET_MS:.0f})"
        )
    return lines


def code_version() -> str:
    def git(*words: str) -> str:
        done = subprocess.run(["git", *words], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.rstrip()

    changed = git("status", "--porcelain", "--", "services/downtime", "shared").splitlines()
    return git("rev-parse", "--short", "HEAD") + (
        f" with {len(changed)} files changed: " + ", ".join(c[3:] for c in changed)
        if changed
        else ""
    )


# -- the run -------------------------------------------------------------------------------


async def floor_and_ceilings(
    results: dict[str, Any],
    runtime: ServiceRuntime,
    url: str,
    name: str,
    base: str,
    pid: int,
    reasons: dict[str, Reasons],
    cutoff: datetime,
    began: datetime,
    args: argparse.Namespace,
) -> None:
    """The tablets, the overlap check, and the entry's three ceilings."""
    think = (args.think[0], args.think[1])
    clients = tablet_clients(base, args.tablets, args.seconds)
    try:
        stations = stations_for(reasons, cutoff, began)
        say(
            f"{args.tablets} tablets on {len(stations)} lines for {args.seconds} s, "
            f"think {think[0]}-{think[1]} s"
        )
        results["tablets"] = await run_tablets(
            clients, stations, args.seconds, think, CpuWatch(pid, name)
        )
        show_tablets(results["tablets"], "tablets")
        results["overlap_check"] = overlap_check(url)
        say(f"  check: {results['overlap_check']}")
        ceiling_s = args.ceiling_seconds or max(5.0, args.seconds / 4)
        say(f"ceiling: GET /healthz from the same tablets for {ceiling_s:.0f} s")
        results["healthz"] = await run_healthz(clients, ceiling_s, think, CpuWatch(pid, name))
        say(f"  healthz          {fmt(results['healthz'])}")
    finally:
        for client in clients:
            await client.aclose()
    writes = results["tablets"]["ops"].get("entries", {}).get("n", 0)
    count = max(100, min(writes, args.raw_max))
    say(f"ceiling: {count:,} INSERTs of a downtime row with psycopg alone")
    results["raw_inserts"] = raw_inserts(url, f"{REPORT_FACILITY}-CEIL", count)
    say(
        f"  raw INSERT       {fmt(results['raw_inserts'])}  {results['raw_inserts']['per_s']:.0f}/s"
    )
    pairs = max(20, min(writes // 2, 500))
    say(f"ceiling: {pairs} start_downtime + end_downtime in this process, no HTTP")
    results["in_process"] = in_process_entries(runtime, f"{REPORT_FACILITY}-CEIL", pairs)
    for key in ("start", "end"):
        say(f"  use case {key:7} {fmt(results['in_process'][key])}")


@contextlib.contextmanager
def fresh_database() -> Iterator[tuple[str, str]]:
    name = f"portal_bench_downtime_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq(PG_URL), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False), name
    finally:
        with psycopg.connect(libpq(PG_URL), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def run(args: argparse.Namespace) -> dict[str, Any]:
    configure_logging("WARNING", json=False)
    results: dict[str, Any] = {
        "command": " ".join(sys.argv),
        "code": code_version(),
        "machine": machine(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "options": {k: v for k, v in vars(args).items() if k != "json"},
    }
    say(f"code: {results['code']}")
    say(f"machine: {results['machine']}")
    with fresh_database() as (url, name), tempfile.TemporaryDirectory() as var:
        upgrade(registry.definition("downtime"), url)
        runtime = ServiceRuntime(
            registry.definition("downtime"),
            Settings(var_dir=Path(var), demo_data=False, log_level="WARNING"),
            InProcessBus(),
            db_url=url,
            token_secret=SECRET,
        )
        try:
            began = datetime.now(UTC).replace(microsecond=0)
            cutoff = began - FREE_BEFORE_RUN
            first_day = (began - timedelta(days=HISTORY_DAYS)).date()
            reasons = set_up_plant(runtime, first_day)
            say(f"loading {args.events:,} downtime events over {first_day} .. {cutoff:%F %H:%M}Z")
            load = load_history(url, args.events, first_day, cutoff, reasons)
            load["vacuum_analyze_s"] = vacuum_analyze(url)
            results["load"] = load
            results["database"] = database_figures(url)
            say(
                f"  {load['downtimes']:,} downtimes, {load['floor_runs']:,} runs, "
                f"{load['floor_qc']:,} QC outcomes in {load['seconds']:.0f} s "
                f"({load['rows_per_s']:,.0f} downtimes/s, COPY {load['copy_seconds']:.0f} s); "
                f"VACUUM ANALYZE {load['vacuum_analyze_s']:.0f} s; shift and day of "
                f"{load['shift_checks']} sampled stops agree with plant.domain.shift_at"
            )
            d = results["database"]
            say(
                f"  table downtimes: {d['downtimes']:,} rows, {d['heap_mib']:.0f} MiB heap, "
                f"{d['table_mib_with_indexes']:.0f} MiB with indexes; planned {d['planned']:,}, "
                f"unclassified {d['unclassified']:,}"
            )
            with served(url, Path(var)) as (base, pid):
                results["load_average_before_tablets"] = os.getloadavg()
                if args.seconds > 0:
                    await floor_and_ceilings(
                        results, runtime, url, name, base, pid, reasons, cutoff, began, args
                    )
                with runtime.db.engine.begin() as conn:
                    conn.execute(text("UPDATE lines SET active = false WHERE code LIKE '%-CEIL'"))
                results["load_average_before_reports"] = os.getloadavg()
                today = datetime.now(ZoneInfo(FACILITIES[0].timezone)).date()
                say(f"reports for {REPORT_FACILITY}, today {today} (plant time)")
                token = issue_service_token(
                    SECRET, user="bench-supervisor", roles=["supervisor"], ttl_seconds=7200
                )
                async with httpx.AsyncClient(
                    base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=3600
                ) as client:
                    results["reports"] = await time_reports(runtime, client, pid, today, args)
            if results["reports"]["missing"]:
                say(f"  note: {results['reports']['missing']}")
            if not args.no_reports:
                say("contrast: the naive aggregate over the whole table, psycopg alone")
                results["naive"] = naive(url, args.runs, args.budget)
                groups = results["naive"]["groups"]
                say(f"  naive            {fmt(results['naive'])}  ({groups} groups)")
            if args.try_rollup:
                say("what kept per-shift sums would cost to read (--try-rollup)")
                results["rollup"] = try_rollup(url, today, args.runs, args.budget)
                rollup = results["rollup"]
                say(f"  built in {rollup['build_s']:.1f} s: {rollup['rows']:,} rows")
                for key, value in rollup.items():
                    if isinstance(value, dict):
                        say(f"  {key:16} {fmt(value)}  ({value['rows']:,} rows)")
            results["load_average_end"] = os.getloadavg()
            if args.explain:
                for case in results["reports"]["cases"]:
                    if case.get("explain"):
                        say(f"--- EXPLAIN {case['report']}, {case['days']} days")
                        for line in case["explain"]:
                            say(line)
                for line in ["--- EXPLAIN the naive aggregate"] + [
                    "    " + line for line in results.get("naive", {}).get("plan", [])
                ]:
                    say(line)
            if args.profile:
                for case in results["reports"]["cases"]:
                    if case.get("profile"):
                        say(f"--- profile {case['report']}, {case['days']} days")
                        for line in case["profile"]:
                            say(line)
        finally:
            runtime.db.dispose()
    results["machine_after"] = machine()
    say(
        f"load average: {results['machine']['load_average']} at the start, "
        f"{results['load_average_before_tablets']} before the tablets, "
        f"{results['load_average_before_reports']} before the reports, "
        f"{results['load_average_end']} at the end"
    )
    results["verdicts"] = verdicts(results)
    for line in results["verdicts"]:
        say(line)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--events", type=int, default=1_000_000, help="downtime events loaded")
    parser.add_argument("--tablets", type=int, default=100, help="concurrent tablets")
    parser.add_argument(
        "--seconds", type=float, default=60, help="how long the tablets record (0: no tablets)"
    )
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=[1.0, 3.0],
        metavar=("MIN", "MAX"),
        help="a tablet's pause between turns, seconds (uniform)",
    )
    parser.add_argument("--runs", type=int, default=50, help="calls timed per report")
    parser.add_argument(
        "--budget",
        type=float,
        default=60,
        help="seconds per report and way; slower reports get fewer runs (at least 5)",
    )
    parser.add_argument("--ceiling-seconds", type=float, default=None)
    parser.add_argument("--raw-max", type=int, default=20_000, help="most raw INSERTs")
    parser.add_argument(
        "--report",
        action="append",
        help="time only the reports whose name holds this (repeatable), e.g. oee, pareto",
    )
    parser.add_argument(
        "--report-days", type=int, nargs="+", default=[30, 365], help="report ranges, days"
    )
    parser.add_argument("--no-reports", action="store_true", help="the tablets and ceilings only")
    parser.add_argument("--explain", action="store_true", help="print the reports' plans")
    parser.add_argument("--profile", action="store_true", help="cProfile one call of each report")
    parser.add_argument(
        "--try-rollup",
        action="store_true",
        help="also time reading kept per-shift sums (a table built for the purpose, then dropped)",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    # SIGTERM as Ctrl-C, so the database is dropped and the server stopped (a background job of
    # a non-interactive shell ignores SIGINT).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    results = asyncio.run(run(args))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
