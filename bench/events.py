"""End-to-end event benchmark: receipt lines → outbox → RabbitMQ → inventory and accounting.

    .venv/bin/python bench/events.py [--lines N] [--rate R] [--receipt-lines K]
    .venv/bin/python bench/events.py --embedded-startup

The distributed run starts every service as its own `portal serve` process (the way
tests/support/cluster.py does, with the cluster's token secret) on PostgreSQL databases and a bus
prefix of its own, so inventory, purchasing, accounting, gateway, production, mrp and downtime
all run. Receipts are POSTed straight to purchasing's port with a service token
(`shared.auth.tokens.issue_service_token`), not through the gateway, by several concurrent HTTP
clients, against purchase orders created and submitted beforehand. Then:

1. throughput: N lines as receipts of K lines, as fast as the clients go; lines/s from the first
   request to the last journal posted and the last stock transaction written (rows counted in
   the services' databases); publishes and deliveries per line from each service's /metrics;
   the flow's message rate against the raw ceiling;
2. latency: a paced, open-loop run at R lines/s for --latency-seconds; for each line, from
   purchasing's outbox row (the receipt's commit) to accounting's journal entry whose
   source_event_id is that event;
3. ceiling: bench/raw_ceiling.py (aio-pika alone, same message) measured in the same run.

Everything it creates (databases, exchanges, queues) is removed at the end; PostgreSQL and
RabbitMQ are shared and never touched otherwise. Servers are found as the integration tests find
them: PORTAL_TEST_PG_URL and PORTAL_TEST_AMQP_URL (local defaults).

`--embedded-startup` instead measures `portal run` on a fresh PORTAL_VAR_DIR: seconds from
process start to GET / answering 200 (demo data is loaded before the server listens), and the
RSS of the process (and any children) at that moment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import raw_ceiling
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shared.auth.tokens import issue_service_token  # noqa: E402
from tests.support import servers  # noqa: E402
from tests.support.cluster import PORTAL, SECRET, Cluster, free_port  # noqa: E402

SERVICES = ("inventory", "purchasing", "accounting", "gateway", "production", "mrp", "downtime")
VENDOR = "BENCHVEND"

TARGET_LINES_PER_SECOND = 400.0
TARGET_CEILING_SHARE = 0.40
TARGET_P99_MS = 250.0
TARGET_STARTUP_SECONDS = 15.0
TARGET_RSS_MB = 600.0


# -- small helpers ---------------------------------------------------------------------------


def say(text: str) -> None:
    print(text, flush=True)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def utc_from_wall(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# -- CPU accounting --------------------------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def _proc_cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _pids_named(name: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == name:
                    pids.append(int(entry.name))
    return pids


def _machine_jiffies() -> tuple[int, int]:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values[:8]), idle


@dataclass
class CpuSnapshot:
    at: float
    machine: tuple[int, int]
    groups: dict[str, float]


class CpuMeter:
    """CPU seconds per service process, PostgreSQL, RabbitMQ and this bench, between snapshots.

    PostgreSQL and RabbitMQ are shared with whatever else runs on the machine, so their figures
    (and the machine's busy share) include other users' work.
    """

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def snapshot(self) -> CpuSnapshot:
        groups: dict[str, float] = {}
        for name, process in self.cluster.processes.items():
            groups[name] = _proc_cpu_seconds(process.pid) or 0.0
        groups["postgres (all)"] = sum(_proc_cpu_seconds(p) or 0.0 for p in _pids_named("postgres"))
        groups["rabbitmq (beam.smp)"] = sum(
            _proc_cpu_seconds(p) or 0.0 for p in _pids_named("beam.smp")
        )
        groups["bench client"] = _proc_cpu_seconds(os.getpid()) or 0.0
        return CpuSnapshot(time.monotonic(), _machine_jiffies(), groups)

    @staticmethod
    def report(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, Any]:
        wall = after.at - before.at
        total = after.machine[0] - before.machine[0]
        idle = after.machine[1] - before.machine[1]
        cores = os.cpu_count() or 1
        return {
            "wall_seconds": wall,
            "machine_busy_cores": (total - idle) / total * cores if total else 0.0,
            "cores": cores,
            "cpu_seconds": {
                name: after.groups.get(name, 0.0) - before.groups.get(name, 0.0)
                for name in after.groups
            },
        }


# -- the workload ----------------------------------------------------------------------------


@dataclass
class Receipt:
    po: str
    lines: list[int]

    def body(self) -> dict[str, Any]:
        return {"lines": [{"line_no": n, "qty": "5"} for n in self.lines]}


@dataclass
class PhasePlan:
    """Purchase orders of up to `po_lines` lines whose lines are received K at a time."""

    name: str
    lines: int
    po_lines: int
    receipt_lines: int
    numbers: list[str] = field(default_factory=list)

    def po_sizes(self) -> list[int]:
        full, rest = divmod(self.lines, self.po_lines)
        return [self.po_lines] * full + ([rest] if rest else [])

    def receipts(self) -> list[Receipt]:
        """Receipts interleaved across POs, so concurrent clients mostly lock different POs."""
        per_po = []
        for number, size in zip(self.numbers, self.po_sizes(), strict=True):
            line_nos = list(range(1, size + 1))
            per_po.append(
                [
                    Receipt(number, line_nos[i : i + self.receipt_lines])
                    for i in range(0, size, self.receipt_lines)
                ]
            )
        out: list[Receipt] = []
        for round_ in range(max((len(r) for r in per_po), default=0)):
            out.extend(receipts[round_] for receipts in per_po if round_ < len(receipts))
        return out


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.run_id = uuid.uuid4().hex[:8]
        self.prefix = f"bench{self.run_id}."
        self.log_dir = Path(tempfile.mkdtemp(prefix=f"portal-bench-{self.run_id}-"))
        self.databases = servers.PostgresDatabases()
        self.db_urls: dict[str, str] = {}
        self.cluster: Cluster | None = None
        self.token = issue_service_token(SECRET, user="bench", roles=["admin"], ttl_seconds=7200)
        self.headers = {"Authorization": f"Bearer {self.token}"}
        self.results: dict[str, Any] = {"run_id": self.run_id, "args": vars(args)}

    # -- cluster ----------------------------------------------------------------------------

    def start(self) -> Cluster:
        say(f"starting {len(SERVICES)} services (logs in {self.log_dir}) ...")
        self.db_urls = {name: self.databases.create(name) for name in SERVICES}
        cluster = Cluster(
            amqp_url=servers.AMQP_URL,
            prefix=self.prefix,
            db_urls=self.db_urls,
            log_dir=self.log_dir,
        )
        self.cluster = cluster
        cluster.start_all()
        return cluster

    async def stop(self) -> None:
        if self.cluster is not None:
            await asyncio.to_thread(self.cluster.stop_all)
            self.cluster = None
        try:
            await servers.delete_bus_objects(self.prefix, SERVICES)
        except Exception as exc:
            say(f"could not delete the bus objects under {self.prefix!r}: {exc!r}")
        try:
            await asyncio.to_thread(self.databases.drop_all)
        except Exception as exc:
            say(f"could not drop the databases {self.databases.created}: {exc!r}")
        if not self.args.keep_logs:
            shutil.rmtree(self.log_dir, ignore_errors=True)

    def client(self, service: str, connections: int = 8) -> httpx.AsyncClient:
        assert self.cluster is not None
        return httpx.AsyncClient(
            base_url=self.cluster.url(service),
            headers=self.headers,
            timeout=120,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    def connect(self, service: str) -> psycopg.Connection[Any]:
        return psycopg.connect(libpq(self.db_urls[service]), autocommit=True)

    def scalar(self, service: str, sql: str, *params: Any) -> Any:
        with self.connect(service) as conn:
            row = conn.execute(sql, params).fetchone()
            return row[0] if row else None

    # -- setup ------------------------------------------------------------------------------

    async def setup(self, plans: list[PhasePlan]) -> None:
        items = [f"BENCH-{i:04d}" for i in range(1, self.args.items + 1)]
        async with self.client("inventory") as inventory, self.client("purchasing") as purchasing:
            for sku in items:
                ok(
                    await inventory.post(
                        "/api/v1/items", json={"sku": sku, "name": f"Bench item {sku}", "uom": "ea"}
                    ),
                    201,
                )
            ok(
                await purchasing.post("/api/v1/vendors", json={"code": VENDOR, "name": "Bench"}),
                201,
            )

            async def known() -> bool:
                body = ok(await purchasing.get("/api/v1/items", params={"limit": 1}))
                return int(body["total"]) >= len(items)

            await until(known, 60, "purchasing to learn the items")

            serial = 0
            for plan in plans:
                for size in plan.po_sizes():
                    lines = [
                        {
                            "sku": items[(serial + i) % len(items)],
                            "qty": "5",
                            "unit_cost": f"{1 + (serial + i) % 97 / 4:.2f}",
                        }
                        for i in range(size)
                    ]
                    serial += size
                    po = ok(
                        await purchasing.post(
                            "/api/v1/purchase-orders", json={"vendor_code": VENDOR, "lines": lines}
                        ),
                        201,
                    )
                    ok(await purchasing.post(f"/api/v1/purchase-orders/{po['number']}/submit"))
                    plan.numbers.append(po["number"])
                say(f"  {plan.name}: {len(plan.numbers)} POs, {plan.lines} lines")
        await self.drained(60)

    # -- progress in the databases -----------------------------------------------------------

    def journals(self) -> int:
        return int(
            self.scalar(
                "accounting",
                "SELECT count(*) FROM journal_entries WHERE source_event_type = 'MaterialReceived'",
            )
        )

    def stock_receipts(self) -> int:
        return int(
            self.scalar(
                "inventory", "SELECT count(*) FROM stock_transactions WHERE txn_type = 'receipt'"
            )
        )

    def unpublished(self) -> int:
        return sum(
            int(self.scalar(s, "SELECT count(*) FROM outbox WHERE published_at IS NULL"))
            for s in SERVICES
        )

    async def wait_applied(self, journals: int, stock: int, within: float) -> None:
        async def done() -> bool:
            return self.journals() >= journals and self.stock_receipts() >= stock

        await until(done, within, f"{journals} journals and {stock} stock receipts", every=0.1)

    async def drained(self, within: float) -> None:
        """Every outbox published, and nothing more arriving for a moment."""

        async def empty() -> bool:
            return self.unpublished() == 0

        await until(empty, within, "every outbox to be published")
        await asyncio.sleep(0.5)
        await until(empty, within, "every outbox to be published")

    async def metrics(self) -> dict[str, dict[str, dict[str, float]]]:
        """{service: {"published"|"handled": {event_type: count}}} from each /metrics."""
        assert self.cluster is not None
        pattern = re.compile(
            r'^portal_events_(published|handled)_total\{event_type="([^"]+)"\} (\S+)$', re.M
        )
        out: dict[str, dict[str, dict[str, float]]] = {}
        async with httpx.AsyncClient(timeout=30) as http:
            for service in SERVICES:
                text = (await http.get(f"{self.cluster.url(service)}/metrics")).text
                counts: dict[str, dict[str, float]] = {"published": {}, "handled": {}}
                for kind, event_type, value in pattern.findall(text):
                    counts[kind][event_type] = float(value)
                out[service] = counts
        return out

    # -- profiling (optional) ---------------------------------------------------------------

    def start_profilers(self) -> list[subprocess.Popen[bytes]]:
        """py-spy on the busy services during the throughput run (it costs CPU: figures from
        a profiled run are not the benchmark's figures)."""
        if not self.args.py_spy or self.cluster is None:
            return []
        started = []
        for service in ("purchasing", "inventory", "accounting"):
            pid = self.cluster.processes[service].pid
            out = self.log_dir / f"{service}.pyspy.txt"
            command = [self.args.py_spy, "record", "-p", str(pid), "-r", "97", "-f", "raw", "--gil"]
            started.append(
                subprocess.Popen(
                    [*command, "-o", str(out)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        time.sleep(1.0)  # let py-spy attach before the load starts
        return started

    def stop_profilers(self, profilers: list[subprocess.Popen[bytes]]) -> None:
        for profiler in profilers:
            profiler.send_signal(signal.SIGINT)
        for profiler in profilers:
            try:
                profiler.wait(30)
            except subprocess.TimeoutExpired:
                profiler.kill()
        if profilers:
            say(f"  py-spy profiles (collapsed stacks) in {self.log_dir}")

    # -- the phases -------------------------------------------------------------------------

    async def send(self, http: httpx.AsyncClient, receipt: Receipt) -> None:
        response = await http.post(
            f"/api/v1/purchase-orders/{receipt.po}/receipts", json=receipt.body()
        )
        ok(response, 201)

    async def warm_up(self, plan: PhasePlan) -> None:
        say(f"warm-up: {plan.lines} lines ...")
        journals, stock = self.journals(), self.stock_receipts()
        async with self.client("purchasing", self.args.clients) as http:
            for receipt in plan.receipts():
                await self.send(http, receipt)
        await self.wait_applied(journals + plan.lines, stock + plan.lines, 120)
        await self.drained(60)

    async def throughput(self, plan: PhasePlan) -> dict[str, Any]:
        assert self.cluster is not None
        n = plan.lines
        say(f"throughput: {n} lines, receipts of {plan.receipt_lines}, {self.args.clients} clients")
        journals, stock = self.journals(), self.stock_receipts()
        before = await self.metrics()
        meter = CpuMeter(self.cluster)
        profilers = self.start_profilers()
        cpu_before = meter.snapshot()
        queue = iter(plan.receipts())

        async with self.client("purchasing", self.args.clients) as http:

            async def worker() -> None:
                for receipt in queue:
                    await self.send(http, receipt)

            started_wall = time.time()
            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(self.args.clients)))
            http_seconds = time.perf_counter() - started
        say(f"  receipts accepted in {http_seconds:.2f} s ({n / http_seconds:,.0f} lines/s)")
        await self.wait_applied(journals + n, stock + n, 120 + n / 20)
        cpu_applied = meter.snapshot()
        self.stop_profilers(profilers)
        await self.drained(120)
        after = await self.metrics()
        since = utc_from_wall(started_wall - 1)
        last_journal = self.scalar(
            "accounting",
            "SELECT max(created_at) FROM journal_entries WHERE created_at >= %s",
            since,
        )
        last_stock = self.scalar(
            "inventory",
            "SELECT max(created_at) FROM stock_transactions WHERE created_at >= %s",
            since,
        )
        last_published = max(
            self.scalar(s, "SELECT max(published_at) FROM outbox WHERE created_at >= %s", since)
            or utc_from_wall(started_wall)
            for s in SERVICES
        )
        start = utc_from_wall(started_wall)
        seconds = (max(last_journal, last_stock) - start).total_seconds()
        flow_seconds = (max(last_journal, last_stock, last_published) - start).total_seconds()

        published: dict[str, float] = defaultdict(float)
        handled: dict[str, float] = defaultdict(float)
        for service in SERVICES:
            for kind, into in (("published", published), ("handled", handled)):
                for event_type, value in after[service][kind].items():
                    into[f"{service}:{event_type}"] += value - before[service][kind].get(
                        event_type, 0.0
                    )
        publishes = sum(published.values())
        deliveries = sum(handled.values())
        return {
            "lines": n,
            "receipt_lines": plan.receipt_lines,
            "clients": self.args.clients,
            "http_seconds": http_seconds,
            "api_lines_per_second": n / http_seconds,
            "seconds": seconds,
            "lines_per_second": n / seconds,
            "flow_seconds": flow_seconds,
            "publishes": publishes,
            "deliveries": deliveries,
            "publishes_per_line": publishes / n,
            "deliveries_per_line": deliveries / n,
            "published_by_type": {k: v for k, v in sorted(published.items()) if v},
            "handled_by_type": {k: v for k, v in sorted(handled.items()) if v},
            "message_rate": (publishes + deliveries) / flow_seconds,
            "publish_rate": publishes / flow_seconds,
            "cpu": CpuMeter.report(cpu_before, cpu_applied),
        }

    async def latency(self, plan: PhasePlan) -> dict[str, Any]:
        assert self.cluster is not None
        rate = self.args.rate
        receipts = plan.receipts()
        interval = plan.receipt_lines / rate
        say(
            f"latency: {plan.lines} lines at {rate:g} lines/s "
            f"({1 / interval:,.1f} receipts/s of {plan.receipt_lines}) ..."
        )
        journals, stock = self.journals(), self.stock_receipts()
        meter = CpuMeter(self.cluster)
        cpu_before = meter.snapshot()
        http_ms: list[float] = []
        late: list[float] = []

        async with self.client("purchasing", 64) as http:

            async def timed(receipt: Receipt) -> None:
                begun = time.perf_counter()
                await self.send(http, receipt)
                http_ms.append((time.perf_counter() - begun) * 1000)

            started = time.perf_counter()
            tasks = []
            for i, receipt in enumerate(receipts):
                due = started + i * interval
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                else:
                    late.append(-delay)
                tasks.append(asyncio.create_task(timed(receipt)))
            await asyncio.gather(*tasks)
            sent_seconds = time.perf_counter() - started
        await self.wait_applied(journals + plan.lines, stock + plan.lines, 120)
        cpu = CpuMeter.report(cpu_before, meter.snapshot())
        await self.drained(60)

        with self.connect("purchasing") as conn:
            outbox = {
                event_id: (created, published)
                for event_id, created, published in conn.execute(
                    "SELECT event_id, created_at, published_at FROM outbox "
                    "WHERE event_type = 'MaterialReceived' AND key = ANY(%s)",
                    (plan.numbers,),
                )
            }
        ids = list(outbox)
        with self.connect("accounting") as conn:
            posted = dict(
                conn.execute(
                    "SELECT source_event_id, created_at FROM journal_entries "
                    "WHERE source_event_id = ANY(%s)",
                    (ids,),
                ).fetchall()
            )
        with self.connect("inventory") as conn:
            stocked = dict(
                conn.execute(
                    "SELECT source_event_id, created_at FROM stock_transactions "
                    "WHERE source_event_id = ANY(%s)",
                    (ids,),
                ).fetchall()
            )
        if len(outbox) != plan.lines:
            raise RuntimeError(f"expected {plan.lines} MaterialReceived rows, found {len(outbox)}")

        def ms(pairs: Iterator[float]) -> dict[str, float]:
            values = list(pairs)
            return {
                "p50": percentile(values, 50),
                "p90": percentile(values, 90),
                "p99": percentile(values, 99),
                "max": max(values),
            }

        journal = ms(
            (posted[e] - c).total_seconds() * 1000 for e, (c, _) in outbox.items() if e in posted
        )
        return {
            "lines": plan.lines,
            "rate": rate,
            "receipts": len(receipts),
            "sent_seconds": sent_seconds,
            "achieved_lines_per_second": plan.lines / sent_seconds,
            "late_sends": len(late),
            "worst_send_lateness_ms": max(late, default=0.0) * 1000,
            "matched": sum(1 for e in outbox if e in posted),
            "commit_to_journal_ms": journal,
            "commit_to_stock_ms": ms(
                (stocked[e] - c).total_seconds() * 1000
                for e, (c, _) in outbox.items()
                if e in stocked
            ),
            "commit_to_published_ms": ms(
                (p - c).total_seconds() * 1000 for c, p in outbox.values() if p is not None
            ),
            "http_ms": ms(iter(http_ms)),
            "cpu": cpu,
        }

    async def isolated(self, plan: PhasePlan) -> dict[str, Any]:
        """Each stage alone: receipts with inventory and accounting stopped (SIGSTOP), then
        inventory alone draining its queue, then accounting alone. Shows each stage's capacity
        when it has the machine to itself."""
        assert self.cluster is not None
        n = plan.lines
        say(f"isolated stages: {n} lines ...")
        processes = self.cluster.processes
        journals, stock = self.journals(), self.stock_receipts()
        meter = CpuMeter(self.cluster)
        out: dict[str, Any] = {"lines": n}
        for service in ("inventory", "accounting"):
            processes[service].send_signal(signal.SIGSTOP)
        try:
            before = meter.snapshot()
            queue = iter(plan.receipts())
            async with self.client("purchasing", self.args.clients) as http:

                async def worker() -> None:
                    for receipt in queue:
                        await self.send(http, receipt)

                started = time.perf_counter()
                await asyncio.gather(*(worker() for _ in range(self.args.clients)))
                http_seconds = time.perf_counter() - started

            async def published() -> bool:
                return self.unpublished() == 0

            await until(published, 120, "purchasing's outbox to be published")
            out["api"] = {
                "seconds": http_seconds,
                "lines_per_second": n / http_seconds,
                "cpu": CpuMeter.report(before, meter.snapshot()),
            }
            say(f"  purchasing alone: {n / http_seconds:,.0f} lines/s accepted")
            for service, target, count in (
                ("inventory", stock + n, self.stock_receipts),
                ("accounting", journals + n, self.journals),
            ):
                before = meter.snapshot()
                started = time.perf_counter()
                processes[service].send_signal(signal.SIGCONT)

                async def applied(target: int = target, count: Callable[[], int] = count) -> bool:
                    return count() >= target

                await until(applied, 300, f"{service} to apply {n} events", every=0.05)
                seconds = time.perf_counter() - started
                out[service] = {
                    "seconds": seconds,
                    "lines_per_second": n / seconds,
                    "cpu": CpuMeter.report(before, meter.snapshot()),
                }
                say(f"  {service} alone: {n / seconds:,.0f} events/s")
        finally:
            for service in ("inventory", "accounting"):
                processes[service].send_signal(signal.SIGCONT)
        await self.drained(120)
        return out


def ok(response: httpx.Response, status: int = 200) -> Any:
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.request.url} -> {response.status_code}: "
            f"{response.text[:500]}"
        )
    return response.json()


async def until(check: Callable[[], Any], within: float, what: str, *, every: float = 0.2) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {within:.0f} s waiting for {what}")
        await asyncio.sleep(every)


async def ceiling(runs: int, messages: int) -> dict[str, Any]:
    rates = []
    body = 0
    for i in range(runs):
        result = await raw_ceiling.measure(
            servers.AMQP_URL, f"bench{uuid.uuid4().hex[:8]}.", messages=messages
        )
        body = result.body_bytes
        rates.append(result.rate)
        say(f"  ceiling run {i + 1}: {result.rate:,.0f} msg/s")
    return {"runs": rates, "rate": max(rates), "median": statistics.median(rates), "body": body}


# -- reporting -------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    try:
        with psycopg.connect(libpq(servers.PG_URL), autocommit=True) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            pg = row[0] if row else "?"
    except Exception as exc:
        pg = f"unreachable ({exc})"
    return {
        "nproc": os.cpu_count(),
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "postgresql": pg,
        "loadavg_at_start": os.getloadavg(),
    }


def print_cpu(cpu: dict[str, Any], lines: int) -> None:
    say(
        f"  CPU while applying: machine busy {cpu['machine_busy_cores']:.2f} of {cpu['cores']} "
        f"cores over {cpu['wall_seconds']:.1f} s; CPU ms per line by process:"
    )
    for name, seconds in sorted(cpu["cpu_seconds"].items(), key=lambda kv: -kv[1]):
        if seconds > 0.005:
            say(f"    {name:<22} {seconds:7.2f} s  {seconds * 1000 / lines:6.2f} ms/line")
    counted = sum(cpu["cpu_seconds"].values())
    say(
        f"    {'all of the above':<22} {counted:7.2f} s  {counted * 1000 / lines:6.2f} ms/line"
        f"  (so at most {cpu['cores'] * 1000 / (counted * 1000 / lines):,.0f} lines/s on "
        f"{cpu['cores']} cores); other processes used "
        f"{max(0.0, cpu['machine_busy_cores'] - counted / cpu['wall_seconds']):.2f} cores"
    )


def report(results: dict[str, Any]) -> None:
    m = results["machine"]
    say("")
    say("=" * 78)
    say(
        f"machine: {m['nproc']} cores, {m['ram_gib']} GiB, {m['cpu']}; "
        f"PostgreSQL {m['postgresql']}; Python {m['python']}"
    )
    t = results.get("throughput")
    c = results.get("ceiling")
    lat = results.get("latency")
    if t:
        say(
            f"throughput: {t['lines_per_second']:,.0f} receipt lines/s end to end "
            f"({t['lines']} lines in {t['seconds']:.2f} s, receipts of {t['receipt_lines']}, "
            f"{t['clients']} clients; purchasing's API accepted {t['api_lines_per_second']:,.0f} "
            "lines/s while the consumers ran)"
        )
        say(
            f"messages per line: {t['publishes_per_line']:.2f} publishes, "
            f"{t['deliveries_per_line']:.2f} deliveries"
        )
        for event, count in t["published_by_type"].items():
            say(f"    published {event:<36} {count / t['lines']:.3f}/line")
        for event, count in t["handled_by_type"].items():
            say(f"    delivered {event:<36} {count / t['lines']:.3f}/line")
        say(
            f"flow message rate: {t['message_rate']:,.0f} msg/s (publishes+deliveries over "
            f"{t['flow_seconds']:.2f} s, until the last event was published)"
        )
        print_cpu(t["cpu"], t["lines"])
    if c:
        runs = ", ".join(f"{r:,.0f}" for r in c["runs"])
        say(
            f"raw ceiling: {c['rate']:,.0f} msg/s (best of {len(c['runs'])}: {runs}; "
            f"{c['body']} B persistent, confirms, quorum queue, manual acks)"
        )
    if lat:
        j = lat["commit_to_journal_ms"]
        say(
            f"latency at {lat['rate']:g} lines/s ({lat['lines']} lines, achieved "
            f"{lat['achieved_lines_per_second']:,.0f}/s): commit → journal p50 {j['p50']:.0f} ms, "
            f"p90 {j['p90']:.0f} ms, p99 {j['p99']:.0f} ms, max {j['max']:.0f} ms"
        )
        s, p, h = lat["commit_to_stock_ms"], lat["commit_to_published_ms"], lat["http_ms"]
        say(
            f"  commit → stock p50 {s['p50']:.0f} / p99 {s['p99']:.0f} ms; commit → published "
            f"p50 {p['p50']:.0f} / p99 {p['p99']:.0f} ms; receipt HTTP p50 {h['p50']:.0f} / "
            f"p99 {h['p99']:.0f} ms"
        )
        print_cpu(lat["cpu"], lat["lines"])
    iso = results.get("isolated")
    if iso:
        say(f"each stage alone ({iso['lines']} lines, the others stopped):")
        for stage, unit in (
            ("api", "lines/s accepted"),
            ("inventory", "events/s"),
            ("accounting", "events/s"),
        ):
            cpu = iso[stage]["cpu"]
            mine = cpu["cpu_seconds"]
            name = "purchasing" if stage == "api" else stage
            say(
                f"  {name:<11} {iso[stage]['lines_per_second']:7,.0f} {unit}; CPU ms/line: "
                f"{name} {mine.get(name, 0.0) * 1000 / iso['lines']:.2f}, postgres "
                f"{mine['postgres (all)'] * 1000 / iso['lines']:.2f}, rabbitmq "
                f"{mine['rabbitmq (beam.smp)'] * 1000 / iso['lines']:.2f}; machine busy "
                f"{cpu['machine_busy_cores']:.2f} cores"
            )
    say("-" * 78)
    if t:
        lps = t["lines_per_second"]
        say(
            f"{verdict(lps >= TARGET_LINES_PER_SECOND)}  throughput {lps:,.0f} lines/s "
            f"(target >= {TARGET_LINES_PER_SECOND:.0f})"
        )
    if t and c:
        share = t["message_rate"] / c["rate"]
        strict = t["publish_rate"] / c["rate"]
        say(
            f"{verdict(share >= TARGET_CEILING_SHARE)}  flow message rate {share:.0%} of the raw "
            f"ceiling (target >= {TARGET_CEILING_SHARE:.0%}; publishes alone, like for like with "
            f"the ceiling's publish+delivery per message: {strict:.0%})"
        )
    if lat:
        p99 = lat["commit_to_journal_ms"]["p99"]
        say(
            f"{verdict(p99 < TARGET_P99_MS)}  p99 commit → journal {p99:.0f} ms at "
            f"{lat['rate']:g} lines/s (target < {TARGET_P99_MS:.0f} ms)"
        )
    say("=" * 78)


# -- embedded start-up -----------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    """VmRSS of the process and all its descendants."""
    total = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                stack.extend(int(child) for child in children)
    return total


def embedded_startup_once(within: float = 120.0) -> dict[str, Any]:
    var_dir = Path(tempfile.mkdtemp(prefix="portal-bench-embedded-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(
        {
            "PORTAL_VAR_DIR": str(var_dir),
            "PORTAL_PORT": str(port),
            "PORTAL_ADMIN_PASSWORD": "bench-admin-pw",
        }
    )
    log = open(var_dir / "portal.log", "wb")  # noqa: SIM115 - lives with the process
    started = time.perf_counter()
    process = subprocess.Popen([PORTAL, "run"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        seconds = None
        while time.perf_counter() - started < within:
            if process.poll() is not None:
                raise RuntimeError(
                    f"portal run exited with {process.returncode}: "
                    f"{(var_dir / 'portal.log').read_text()[-2000:]}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                    seconds = time.perf_counter() - started
                    break
            time.sleep(0.05)
        if seconds is None:
            raise TimeoutError(f"GET / did not answer 200 within {within:.0f} s")
        demo = (var_dir / ".demo-loaded").exists()
        rss = rss_kib(process.pid)
        return {"seconds": seconds, "rss_mib": rss / 1024, "demo_loaded": demo}
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()
        shutil.rmtree(var_dir, ignore_errors=True)


def embedded_startup(runs: int) -> None:
    m = machine()
    say(f"machine: {m['nproc']} cores, {m['ram_gib']} GiB, {m['cpu']}")
    say(f"portal run on a fresh PORTAL_VAR_DIR, {runs} runs:")
    results = []
    for i in range(runs):
        result = embedded_startup_once()
        results.append(result)
        say(
            f"  run {i + 1}: first page after {result['seconds']:.2f} s, RSS "
            f"{result['rss_mib']:.0f} MiB, demo data loaded: {result['demo_loaded']}"
        )
    seconds = statistics.median(r["seconds"] for r in results)
    rss = statistics.median(r["rss_mib"] for r in results)
    worst_s = max(r["seconds"] for r in results)
    worst_rss = max(r["rss_mib"] for r in results)
    say("-" * 78)
    say(
        f"{verdict(seconds < TARGET_STARTUP_SECONDS)}  start to first page {seconds:.2f} s "
        f"median, {worst_s:.2f} s worst (target < {TARGET_STARTUP_SECONDS:.0f} s)"
    )
    say(
        f"{verdict(rss < TARGET_RSS_MB)}  RSS after demo data {rss:.0f} MiB median, "
        f"{worst_rss:.0f} MiB worst (target < {TARGET_RSS_MB:.0f} MB)"
    )


# -- main ------------------------------------------------------------------------------------


async def distributed(args: argparse.Namespace) -> dict[str, Any]:
    bench = Bench(args)
    results = bench.results
    results["machine"] = machine()
    say(
        f"machine: {results['machine']['nproc']} cores, load average at start "
        f"{', '.join(f'{v:.2f}' for v in results['machine']['loadavg_at_start'])}"
    )
    try:
        if args.ceiling_runs:
            say(f"raw ceiling ({args.ceiling_runs} runs of {args.ceiling_messages} messages) ...")
            results["ceiling"] = await ceiling(args.ceiling_runs, args.ceiling_messages)
        bench.start()
        k = args.receipt_lines
        plans = [PhasePlan("warm-up", args.warmup_lines, args.po_lines, k)]
        if args.lines:
            plans.append(PhasePlan("throughput", args.lines, args.po_lines, k))
        if args.isolated_lines:
            plans.append(PhasePlan("isolated", args.isolated_lines, args.po_lines, k))
        if args.latency_seconds:
            plans.append(
                PhasePlan("latency", round(args.rate * args.latency_seconds), args.po_lines, k)
            )
        await bench.setup(plans)
        plans_by_name = {p.name: p for p in plans}
        await bench.warm_up(plans_by_name["warm-up"])
        if "throughput" in plans_by_name:
            results["throughput"] = await bench.throughput(plans_by_name["throughput"])
            await asyncio.sleep(2)
        if "latency" in plans_by_name:
            results["latency"] = await bench.latency(plans_by_name["latency"])
        if "isolated" in plans_by_name:
            await asyncio.sleep(2)
            results["isolated"] = await bench.isolated(plans_by_name["isolated"])
        results["loadavg_at_end"] = os.getloadavg()
    except BaseException:
        if bench.cluster is not None:
            for service in SERVICES:
                log = bench.cluster.log(service).strip()
                if log:
                    say(f"--- {service} log (tail) ---\n{log[-1500:]}")
        raise
    finally:
        await bench.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Receipt lines through outbox, RabbitMQ, inventory and accounting."
    )
    parser.add_argument("--lines", type=int, default=5000, help="lines in the throughput run")
    parser.add_argument("--rate", type=float, default=200.0, help="lines/s in the latency run")
    parser.add_argument("--receipt-lines", type=int, default=10, help="lines per receipt (K)")
    parser.add_argument("--po-lines", type=int, default=200, help="lines per purchase order")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument("--items", type=int, default=50, help="distinct SKUs")
    parser.add_argument("--warmup-lines", type=int, default=200)
    parser.add_argument("--latency-seconds", type=float, default=15.0, help="0 skips it")
    parser.add_argument("--ceiling-runs", type=int, default=3, help="0 skips the ceiling")
    parser.add_argument("--ceiling-messages", type=int, default=20000)
    parser.add_argument(
        "--isolated-lines",
        type=int,
        default=0,
        help="also time each stage alone (purchasing, then inventory, then accounting) on this "
        "many lines",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    parser.add_argument("--keep-logs", action="store_true", help="keep the services' logs")
    parser.add_argument(
        "--py-spy",
        metavar="PATH",
        help="py-spy binary: profile purchasing, inventory and accounting in the throughput run "
        "(implies --keep-logs; the run's figures are then not the benchmark's)",
    )
    parser.add_argument("--embedded-startup", action="store_true")
    parser.add_argument("--startup-runs", type=int, default=3)
    args = parser.parse_args()

    if args.py_spy:
        args.keep_logs = True
    if args.embedded_startup:
        embedded_startup(args.startup_runs)
        return
    if args.receipt_lines < 1 or args.po_lines < 1 or args.clients < 1:
        parser.error("--receipt-lines, --po-lines and --clients must be at least 1")
    results = asyncio.run(distributed(args))
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
