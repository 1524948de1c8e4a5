"""BOM explosion on PostgreSQL: a 5-level BOM of 2,000 items and 10,000 lines, exploded for
1,000 units, as production orders (`requirements_for`) and the API (`GET /boms/{sku}/explosion`)
do it.

    .venv/bin/python bench/bom.py [--runs 200] [--qty 1000] [--json bench/results/bom.json]

The structure (seeded, so every run builds the same one): one finished product at the top;
sub-assemblies on levels 1 to 4 (20, 80, 200 and 400 of them); 1,299 raw items under them,
2,000 items in all. The product lists every level-1 assembly; each assembly lists 10 to 15
assemblies of the level below and some raw items, and a level-4 assembly lists only raw items,
10,000 BOM lines in all. Every assembly is used by several parents (as real sub-assemblies
are), so exploding the top product reaches every one of the 10,000 lines; some BOMs make more
than one unit (`output_qty` 2 or 4) and most lines lose 1 to 5 % in scrap. Every version is
released; the rows are written in one go with COPY-sized inserts, not through the API.

It times, each `--runs` times after a few warm-up calls, the figures below (p50 / p90 / p99 /
max in ms of wall time, and the mean CPU time per call):

- requirements_for, kept: the call production orders make, in this process, in a fresh unit of
  work each time, with the released BOMs the process already read (one query checks the BOM
  revision; then the explosion in Python): every call but the first after a release;
- requirements_for, read: the same with the BOM revision raised before each call (what any
  release does), so the structure is read from the database again (one recursive query,
  10,000 rows): the first call after a release;
- GET explosion, flat: `GET /api/v1/boms/{sku}/explosion?qty=1000&tree=false` over HTTP to the
  production service served by uvicorn in a process of its own (a keep-alive client, a signed
  token), kept and read as above; the server's CPU per request is read from /proc;
- GET explosion with the tree: the same with the indented tree (cut at 5,000 of its rows: the
  full tree of this structure has one row per path, several hundred thousand);
- ceiling: the raw SELECT of all 10,000 released BOM lines with psycopg alone (no SQLAlchemy,
  no Decimal arithmetic): the least any explosion reading them all from the database could take.

The machine may be shared: the load average at the start and the end is printed, and CPU time
per call is the steadier figure when other processes compete for the cores.

It creates a database of its own on the server PORTAL_TEST_PG_URL names (as the integration
tests do) and drops it at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import socket
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import uvicorn
from sqlalchemy import insert, update
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services import registry  # noqa: E402
from services.production.bom.models import BomLineRow, BomRevision, BomVersion  # noqa: E402
from services.production.bom.service import requirements_for  # noqa: E402
from shared.auth.tokens import issue_service_token  # noqa: E402
from shared.bus.inprocess import InProcessBus  # noqa: E402
from shared.events.envelope import utc_now  # noqa: E402
from shared.logging import configure_logging  # noqa: E402
from shared.runtime import ServiceRuntime  # noqa: E402
from shared.settings import Settings  # noqa: E402

PG_URL = os.environ.get(
    "PORTAL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SECRET = "bench-bom-secret-" + "x" * 40
TOP = "FG-0000"
ASSEMBLIES_PER_LEVEL = (20, 80, 200, 400)
ITEMS = 2000
LINES = 10_000
TARGET_MS = 50.0
TICKS = os.sysconf("SC_CLK_TCK")


def say(text: str) -> None:
    print(text, flush=True)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(ms: list[float]) -> dict[str, float]:
    return {
        "n": len(ms),
        "p50": percentile(ms, 50),
        "p90": percentile(ms, 90),
        "p99": percentile(ms, 99),
        "max": max(ms),
        "mean": statistics.fmean(ms),
    }


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def fresh_database() -> Iterator[str]:
    name = f"portal_bench_bom_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq(PG_URL), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(libpq(PG_URL), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- the structure ----------------------------------------------------------------------------


def structure(seed: int = 6) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """(BOM headers, their lines): the 5-level BOM described in the module docstring."""
    rng = random.Random(seed)
    levels: list[list[str]] = [[TOP]]
    for depth_no, count in enumerate(ASSEMBLIES_PER_LEVEL, start=1):
        levels.append([f"SA{depth_no}-{n:04d}" for n in range(count)])
    raw_count = ITEMS - sum(len(level) for level in levels)
    raws = [f"RAW-{n:04d}" for n in range(raw_count)]
    products = [sku for level in levels for sku in level]
    # Lines per product: the top lists every level-1 assembly; the rest share what is left.
    lines_left = LINES - len(levels[1])
    others = products[1:]
    base, extra = divmod(lines_left, len(others))
    counts = {TOP: len(levels[1])} | {
        sku: base + (1 if i < extra else 0) for i, sku in enumerate(others)
    }
    # Each level's items in a shuffled cycle, so every item is used, and by several parents.
    cycles = {id(level): _cycle(level, rng) for level in [*levels[1:], raws]}
    headers: list[dict[str, Any]] = []
    all_lines: list[list[dict[str, Any]]] = []
    for depth, level in enumerate(levels):
        below = levels[depth + 1] if depth + 1 < len(levels) else None
        for sku in level:
            wanted = counts[sku]
            if sku == TOP:
                components = list(levels[1])
            else:
                from_below = 0 if below is None else max(1, round(wanted * 0.8))
                components = _take(cycles[id(below)], from_below) if below else []
                components += _take(cycles[id(raws)], wanted - len(components), components)
            headers.append(
                {"product_sku": sku, "output_qty": Decimal(rng.choice((1, 1, 1, 1, 2, 4)))}
            )
            all_lines.append(
                [
                    {
                        "line_no": n,
                        "component_sku": component,
                        "qty_per": Decimal(rng.choice(("0.25", "0.5", "1", "1", "2", "3"))),
                        "uom": "kg" if component.startswith("RAW") and n % 3 == 0 else "ea",
                        "scrap_pct": Decimal(rng.choice(("0", "0", "1", "2.5", "5"))),
                    }
                    for n, component in enumerate(components, start=1)
                ]
            )
    assert sum(len(lines) for lines in all_lines) == LINES
    used = {line["component_sku"] for lines in all_lines for line in lines} | {TOP}
    assert len(used) == ITEMS, len(used)
    return headers, all_lines


def _cycle(items: list[str], rng: random.Random) -> Iterator[str]:
    while True:
        shuffled = list(items)
        rng.shuffle(shuffled)
        yield from shuffled


def _take(source: Iterator[str], count: int, already: list[str] | None = None) -> list[str]:
    taken: list[str] = []
    seen = set(already or ())
    while len(taken) < count:
        sku = next(source)
        if sku not in seen:
            seen.add(sku)
            taken.append(sku)
    return taken


def load(runtime: ServiceRuntime) -> None:
    headers, all_lines = structure()
    now = utc_now()
    with runtime.db.engine.begin() as conn:
        ids = conn.execute(
            insert(BomVersion).returning(BomVersion.id, sort_by_parameter_order=True),
            [
                header
                | {
                    "version": 1,
                    "status": "released",
                    "uom": "ea",
                    "created_at": now,
                    "created_by": "bench",
                    "updated_at": now,
                    "updated_by": "bench",
                    "released_at": now,
                    "released_by": "bench",
                }
                for header in headers
            ],
        ).scalars()
        rows = [
            line | {"bom_id": bom_id}
            for bom_id, lines in zip(list(ids), all_lines, strict=True)
            for line in lines
        ]
        conn.execute(insert(BomLineRow), rows)
        conn.execute(insert(BomRevision).values(id=1, revision=1))
        conn.exec_driver_sql("ANALYZE boms")
        conn.exec_driver_sql("ANALYZE bom_lines")


# -- timing -----------------------------------------------------------------------------------


def timed(
    call: Callable[[], Any],
    runs: int,
    warm_up: int = 5,
    before_each: Callable[[], None] | None = None,
) -> tuple[dict[str, float], Any]:
    """Wall-time percentiles of `runs` calls, and their mean CPU time (this process)."""
    result = None
    for _ in range(warm_up):
        if before_each is not None:
            before_each()
        result = call()
    ms = []
    cpu = 0.0
    for _ in range(runs):
        if before_each is not None:
            before_each()
        start, start_cpu = time.perf_counter(), time.process_time()
        result = call()
        ms.append((time.perf_counter() - start) * 1000)
        cpu += time.process_time() - start_cpu
    return summary(ms) | {"cpu_mean": cpu / runs * 1000}, result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(url: str, port: int) -> None:
    """The production service alone in this (child) process, as `portal serve` would run its
    HTTP side (no broker: nothing here publishes or consumes)."""
    configure_logging("WARNING", json=False)
    runtime = ServiceRuntime(
        registry.definition("production"),
        Settings(var_dir=Path("/tmp")),
        InProcessBus(),
        db_url=url,
        token_secret=SECRET,
    )
    uvicorn.run(runtime.app, host="127.0.0.1", port=port, log_level="warning")


@contextmanager
def serving(url: str) -> Iterator[tuple[str, int]]:
    """(base URL, pid) of the production service served by uvicorn in a process of its own, so
    that the client's work is not counted as the server's (nor fights it for the GIL)."""
    port = free_port()
    process = multiprocessing.get_context("spawn").Process(target=_serve, args=(url, port))
    process.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/healthz", timeout=1)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline or not process.is_alive():
                process.terminate()
                raise RuntimeError("the production service did not start") from None
            time.sleep(0.1)
    try:
        assert process.pid is not None
        yield base, process.pid
    finally:
        process.terminate()
        process.join(timeout=10)


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine() -> dict[str, Any]:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "load_average_start": os.getloadavg(),
        "qty": str(args.qty),
        "runs": args.runs,
    }
    with fresh_database() as url:
        runtime = ServiceRuntime(
            registry.definition("production"),
            Settings(var_dir=Path("/tmp")),
            InProcessBus(),
            db_url=url,
            token_secret=SECRET,
        )
        configure_logging("WARNING", json=False)  # no line per request in the figures' output
        try:
            runtime.migrate()
            started = time.perf_counter()
            load(runtime)
            results["load_s"] = time.perf_counter() - started
            qty = Decimal(args.qty)

            def call() -> tuple[int, list[tuple[str, Decimal]]]:
                with runtime.uow(read_only=True) as uow:
                    return requirements_for(uow, TOP, qty)

            def a_release_elsewhere() -> None:
                """What a release does to every process's kept BOMs: the revision moves."""
                with runtime.db.engine.begin() as conn:
                    conn.execute(update(BomRevision).values(revision=BomRevision.revision + 1))

            results["requirements_for_kept"], (version, needs) = timed(call, args.runs)
            results["requirements_for_read"], _ = timed(
                call, args.runs, before_each=a_release_elsewhere
            )
            results["leaf_items"] = len(needs)

            with psycopg.connect(libpq(url)) as conn:

                def ceiling() -> int:
                    rows = conn.execute(
                        "SELECT b.product_sku, b.output_qty, l.component_sku, l.qty_per, "
                        "l.scrap_pct FROM boms b JOIN bom_lines l ON l.bom_id = b.id "
                        "WHERE b.status = 'released'"
                    ).fetchall()
                    return len(rows)

                figures, count = timed(ceiling, args.runs)
                results["ceiling_select_all_lines"] = figures | {"rows": count}

            token = issue_service_token(SECRET, user="bench", roles=["viewer"], ttl_seconds=3600)
            with (
                serving(url) as (base, pid),
                httpx.Client(
                    base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60
                ) as client,
            ):
                path = f"/api/v1/boms/{TOP}/explosion"

                def get(tree: bool) -> dict[str, Any]:
                    params = {"qty": args.qty, "tree": "true" if tree else "false"}
                    answer = client.get(path, params=params)
                    answer.raise_for_status()
                    body: dict[str, Any] = answer.json()
                    return body

                def over_http(
                    key: str, tree: bool, runs: int, before_each: Callable[[], None] | None = None
                ) -> dict[str, Any]:
                    server_before = process_cpu(pid)
                    figures, body = timed(
                        lambda: get(tree), runs, warm_up=0, before_each=before_each
                    )
                    server_cpu = (process_cpu(pid) - server_before) / runs * 1000
                    results[key] = figures | {"server_cpu_mean": server_cpu}
                    return body

                timed(lambda: get(False), 5)  # warm up (and the first read)
                body = over_http("http_flat_kept", False, args.runs)
                assert [(r["sku"], r["qty"]) for r in body["requirements"]] == [
                    (sku, f"{qty:.4f}") for sku, qty in needs
                ]
                over_http("http_flat_read", False, args.runs, before_each=a_release_elsewhere)
                timed(lambda: get(True), 3)
                body = over_http("http_tree_kept", True, max(20, args.runs // 5))
                results["http_tree_kept"] |= {
                    "rows": len(body["tree"]),
                    "truncated": body["tree_truncated"],
                }
            results["version"] = version
        finally:
            runtime.db.engine.dispose()
    results["machine"] = machine()
    return results


def report(results: dict[str, Any]) -> None:
    m = results["machine"]
    say(f"machine: {m['cores']} cores, {m['cpu']}, Python {m['python']}")
    start, end = results["load_average_start"], m["load_average"]
    say(f"load average: {start[0]:.2f} at the start, {end[0]:.2f} at the end")
    say(
        f"structure: {ITEMS} items, {LINES} lines, 5 levels; loaded in {results['load_s']:.1f} s; "
        f"{results['leaf_items']} leaf items for {results['qty']} units"
    )
    for key, label in (
        ("requirements_for_kept", "requirements_for, kept"),
        ("requirements_for_read", "requirements_for, read"),
        ("http_flat_kept", "GET ?tree=false, kept"),
        ("http_flat_read", "GET ?tree=false, read"),
        ("http_tree_kept", "GET with tree, kept"),
        ("ceiling_select_all_lines", "ceiling: SELECT all lines"),
    ):
        s = results[key]
        extra = ""
        if "server_cpu_mean" in s:
            extra += f"  (server cpu {s['server_cpu_mean']:.2f} ms)"
        if "rows" in s:
            extra += f"  ({s['rows']} rows{', truncated' if s.get('truncated') else ''})"
        say(
            f"{label:27} n={s['n']:4}  p50 {s['p50']:7.2f}  p90 {s['p90']:7.2f}  "
            f"p99 {s['p99']:7.2f}  max {s['max']:7.2f}  cpu {s['cpu_mean']:6.2f} ms{extra}"
        )
    for key in ("requirements_for_kept", "requirements_for_read", "http_flat_kept"):
        verdict = "PASS" if results[key]["p99"] < TARGET_MS else "MISS"
        say(f"{verdict}: {key} p99 {results[key]['p99']:.1f} ms (target < {TARGET_MS:.0f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--qty", default="1000")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = run(args)
    report(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
