"""The gateway's own cost: a forwarded GET against the same GET sent straight to the service,
and sign-in latency.

    .venv/bin/python bench/gateway.py [--clients 50] [--rounds 6] [--requests 1500]
        [--users 200] [--login-passes 2] [--json bench/results/gateway.json]
        [--also-clients 4,8] [--log-level WARNING] [--py-spy /tmp/spy/bin/py-spy]

It starts inventory and the gateway as separate `portal serve` processes (as
tests/support/cluster.py does: its own PostgreSQL database each, a bus prefix of its own, the
cluster's service-token secret; the gateway finds inventory through PORTAL_INVENTORY_URL), seeds
a few items, and writes --users local users (role viewer, one argon2 hash made here with the
gateway's own hasher, so the same parameters) into the gateway's database. Then:

1. forwarding: --clients concurrent clients, each its own keep-alive httpx.AsyncClient, GET
   --path (an inventory list by default) either directly from inventory with a signed service
   token for the same user (the ceiling: what the service costs by itself) or through the
   gateway as /api/inventory/v1/... with a session cookie (each client signed in as its own
   user first). Rounds alternate direct/through (D T T D D T ...), so the machine's noise falls
   on both alike; latency percentiles and requests/s pool the rounds of each kind, and the
   overhead is through - direct at p50 and p99. CPU of each process per request is read from
   /proc. The same is done with one client (no queueing), which shows the added time of one
   call on an idle machine. --also-clients repeats it at other concurrencies (e.g. 4 and 8,
   which 2 cores carry without much queueing, so the overhead there is the gateway's own cost
   rather than its CPU multiplied by the queue).
2. sign-in: --login-passes passes over the users, POST /api/auth/login, by --clients clients;
   p50/p99 and sign-ins/s, with the argon2 parameters of the gateway's hasher.

With --py-spy, a further through-the-gateway run is profiled (py-spy record on the gateway
process) and the top frames are printed; its figures are not the benchmark's.

The services log at --log-level (WARNING by default, as tests/support/cluster.py, so the
per-request `http.request` line at INFO is not written; --log-level INFO, the deployed default,
measures it too).

Everything it creates (the databases, exchanges, queues) is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import functools
import importlib.util
import inspect
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.gateway import api as gateway_api  # noqa: E402
from services.gateway import domain as gateway_domain  # noqa: E402
from shared.auth.tokens import issue_service_token  # noqa: E402
from shared.settings import SERVICES as ALL_SERVICES  # noqa: E402
from tests.support import servers  # noqa: E402
from tests.support.cluster import SECRET, Cluster  # noqa: E402

SERVICES = ("inventory", "gateway")
PASSWORD = "bench-user-pw"
TARGET_OVERHEAD_P99_MS = 3.0
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


# -- CPU accounting --------------------------------------------------------------------------


def proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def postgres_cpu() -> float:
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "postgres":
                    total += proc_cpu(int(entry.name))
    return total


def machine_jiffies() -> tuple[int, int]:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(values[:8]), values[3] + values[4]


class Cpu:
    """CPU seconds of the two services, PostgreSQL and this bench; the machine's busy cores."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def snapshot(self) -> dict[str, Any]:
        groups = {name: proc_cpu(p.pid) for name, p in self.cluster.processes.items()}
        groups["postgres"] = postgres_cpu()
        groups["bench client"] = proc_cpu(os.getpid())
        return {"groups": groups, "machine": machine_jiffies()}

    @staticmethod
    def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        total = after["machine"][0] - before["machine"][0]
        idle = after["machine"][1] - before["machine"][1]
        cores = os.cpu_count() or 1
        return {
            "machine_busy_cores": (total - idle) / total * cores if total else 0.0,
            "cpu_seconds": {
                name: after["groups"][name] - before["groups"].get(name, 0.0)
                for name in after["groups"]
            },
        }


# -- the bench -------------------------------------------------------------------------------


def ok(response: httpx.Response, status: int = 200) -> Any:
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.request.url} -> {response.status_code}: "
            f"{response.text[:500]}"
        )
    return response.json() if response.content else None


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.run_id = uuid.uuid4().hex[:8]
        self.prefix = f"benchgw{self.run_id}."
        self.log_dir = Path(tempfile.mkdtemp(prefix=f"portal-bench-gateway-{self.run_id}-"))
        self.databases = servers.PostgresDatabases()
        self.db_urls: dict[str, str] = {}
        self.cluster: Cluster | None = None
        self.usernames = [f"bench{i:04d}" for i in range(1, args.users + 1)]

    # -- cluster ----------------------------------------------------------------------------

    def start(self) -> Cluster:
        say(f"starting inventory and gateway (logs in {self.log_dir}) ...")
        self.db_urls = {name: self.databases.create(name) for name in SERVICES}
        cluster = Cluster(
            amqp_url=servers.AMQP_URL,
            prefix=self.prefix,
            db_urls=self.db_urls,
            log_dir=self.log_dir,
            extra_env={"PORTAL_LOG_LEVEL": self.args.log_level},
        )
        self.cluster = cluster
        cluster.start_all()
        return cluster

    async def stop(self) -> None:
        if self.cluster is not None:
            await asyncio.to_thread(self.cluster.stop_all)
            self.cluster = None
        try:
            # Each service declares every consumer's queue (shared/events/routing.py).
            await servers.delete_bus_objects(self.prefix, ALL_SERVICES)
        except Exception as exc:
            say(f"could not delete the bus objects under {self.prefix!r}: {exc!r}")
        try:
            await asyncio.to_thread(self.databases.drop_all)
        except Exception as exc:
            say(f"could not drop the databases {self.databases.created}: {exc!r}")
        if not self.args.keep_logs:
            shutil.rmtree(self.log_dir, ignore_errors=True)

    def url(self, service: str) -> str:
        assert self.cluster is not None
        return self.cluster.url(service)

    def client(self, service: str, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
        """One client of the load: one keep-alive connection of its own."""
        return httpx.AsyncClient(
            base_url=self.url(service),
            headers=headers,
            timeout=60,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )

    # -- data -------------------------------------------------------------------------------

    async def seed(self) -> None:
        token = issue_service_token(SECRET, user="bench-admin", roles=["admin"], ttl_seconds=3600)
        async with self.client("inventory", {"Authorization": f"Bearer {token}"}) as inventory:
            for i in range(1, self.args.items + 1):
                sku = f"GW-{i:04d}"
                ok(
                    await inventory.post(
                        "/api/v1/items",
                        json={"sku": sku, "name": f"Gateway bench item {sku}", "uom": "ea"},
                    ),
                    201,
                )
        # Local users straight into the gateway's table, all with one hash made by the
        # gateway's hasher (same parameters; verifying costs the same for every user).
        password_hash = gateway_domain.hash_password(PASSWORD)
        now = datetime.now(UTC)
        with (
            psycopg.connect(libpq(self.db_urls["gateway"]), autocommit=True) as conn,
            conn.cursor() as cursor,
        ):
            cursor.executemany(
                "INSERT INTO users (username, display_name, password_hash, source, roles, "
                "language, active, created_at) VALUES (%s, %s, %s, 'local', %s, 'en', true, %s)",
                [
                    (name, f"Bench user {name}", password_hash, json.dumps(["viewer"]), now)
                    for name in self.usernames
                ],
            )
        say(f"seeded {self.args.items} items and {len(self.usernames)} users")

    async def sign_in(self, client: httpx.AsyncClient, username: str) -> None:
        ok(await client.post("/api/auth/login", json={"username": username, "password": PASSWORD}))

    # -- forwarding -------------------------------------------------------------------------

    async def clients(self, count: int) -> tuple[list[httpx.AsyncClient], list[httpx.AsyncClient]]:
        """`count` direct clients (service token) and `count` gateway clients (signed in), the
        i-th of each acting as the same user."""
        direct, through = [], []
        for username in self.usernames[:count]:
            token = issue_service_token(
                SECRET, user=username, roles=["viewer"], name=f"Bench user {username}",
                ttl_seconds=7200,
            )  # fmt: skip
            direct.append(self.client("inventory", {"Authorization": f"Bearer {token}"}))
            gateway = self.client("gateway")
            await self.sign_in(gateway, username)
            through.append(gateway)
        return direct, through

    async def round(
        self, clients: list[httpx.AsyncClient], path: str, requests: int
    ) -> tuple[list[float], float]:
        """`requests` GETs shared out over the clients, each client one after another."""
        latencies: list[float] = []
        share, extra = divmod(requests, len(clients))

        async def worker(client: httpx.AsyncClient, n: int) -> None:
            for _ in range(n):
                started = time.perf_counter()
                response = await client.get(path)
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"GET {client.base_url}{path} -> {response.status_code}")

        started = time.perf_counter()
        await asyncio.gather(
            *(worker(c, share + (1 if i < extra else 0)) for i, c in enumerate(clients))
        )
        return latencies, time.perf_counter() - started

    async def forwarding(self, concurrency: int, rounds: int, requests: int) -> dict[str, Any]:
        assert self.cluster is not None
        direct_path = "/api/v1/" + self.args.path
        through_path = "/api/inventory/v1/" + self.args.path
        direct, through = await self.clients(concurrency)
        cpu = Cpu(self.cluster)
        kinds = {"direct": (direct, direct_path), "through": (through, through_path)}
        latencies: dict[str, list[float]] = {"direct": [], "through": []}
        seconds = {"direct": 0.0, "through": 0.0}
        cpu_seconds: dict[str, collections.Counter[str]] = {
            "direct": collections.Counter(),
            "through": collections.Counter(),
        }
        busy: dict[str, list[float]] = {"direct": [], "through": []}
        per_round: list[dict[str, Any]] = []
        try:
            for clients, path in kinds.values():  # warm-up, not counted
                await self.round(clients, path, max(len(clients) * 4, requests // 4))
            order = []
            for i in range(rounds):
                pair = ["direct", "through"] if i % 2 == 0 else ["through", "direct"]
                order.extend(pair)
            for kind in order:
                clients, path = kinds[kind]
                before = cpu.snapshot()
                lat, wall = await self.round(clients, path, requests)
                used = Cpu.diff(before, cpu.snapshot())
                latencies[kind].extend(lat)
                seconds[kind] += wall
                cpu_seconds[kind].update(used["cpu_seconds"])
                busy[kind].append(used["machine_busy_cores"])
                per_round.append(
                    {
                        "kind": kind,
                        "p50": percentile(lat, 50),
                        "p99": percentile(lat, 99),
                        "rps": len(lat) / wall,
                    }
                )
        finally:
            for c in direct + through:
                await c.aclose()
        out: dict[str, Any] = {
            "clients": concurrency,
            "rounds_each": rounds,
            "requests_per_round": requests,
            "path": self.args.path,
            "per_round": per_round,
        }
        for kind in kinds:
            n = len(latencies[kind])
            out[kind] = {
                **summary(latencies[kind]),
                "rps": n / seconds[kind],
                "cpu_ms_per_request": {
                    name: s * 1000 / n for name, s in sorted(cpu_seconds[kind].items())
                },
                "machine_busy_cores": statistics.fmean(busy[kind]),
            }
        out["overhead_ms"] = {
            p: out["through"][p] - out["direct"][p] for p in ("p50", "p90", "p99", "mean")
        }
        return out

    # -- sign-in ----------------------------------------------------------------------------

    async def logins(self, concurrency: int, passes: int) -> dict[str, Any]:
        assert self.cluster is not None
        queue: asyncio.Queue[str] = asyncio.Queue()
        for _ in range(passes):
            for name in self.usernames:
                queue.put_nowait(name)
        total = queue.qsize()
        latencies: list[float] = []
        failures: collections.Counter[str] = collections.Counter()
        clients = [self.client("gateway") for _ in range(concurrency)]

        async def worker(client: httpx.AsyncClient) -> None:
            while True:
                try:
                    username = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                client.cookies.clear()
                started = time.perf_counter()
                response = await client.post(
                    "/api/auth/login", json={"username": username, "password": PASSWORD}
                )
                if response.status_code == 200:
                    latencies.append((time.perf_counter() - started) * 1000)
                else:  # counted and reported, not fatal: a 500 here is a finding
                    failures[f"{response.status_code} {response.text[:160]}"] += 1

        cpu = Cpu(self.cluster)
        try:
            # One sign-in per client first, so connections are open and nothing is cold.
            for c in clients[:2]:
                await self.sign_in(c, self.usernames[-1])
            before = cpu.snapshot()
            started = time.perf_counter()
            await asyncio.gather(*(worker(c) for c in clients))
            wall = time.perf_counter() - started
            used = Cpu.diff(before, cpu.snapshot())
        finally:
            for c in clients:
                await c.aclose()
        return {
            "clients": concurrency,
            "sign_ins": total,
            "distinct_users": len(self.usernames),
            "failed": sum(failures.values()),
            "failures": dict(failures),
            **(summary(latencies) if latencies else {}),
            "per_second": len(latencies) / wall,
            "cpu_ms_per_sign_in": {
                name: s * 1000 / total for name, s in sorted(used["cpu_seconds"].items())
            },
            "machine_busy_cores": used["machine_busy_cores"],
        }

    # -- profile ----------------------------------------------------------------------------

    async def profile(self, py_spy: str, requests: int) -> dict[str, Any]:
        assert self.cluster is not None
        out = self.log_dir / "gateway.pyspy.txt"
        pid = self.cluster.processes["gateway"].pid
        direct, through = await self.clients(self.args.clients)  # signed in before recording
        profiler = subprocess.Popen(  # noqa: ASYNC220 - starts at once, nothing to await
            [py_spy, "record", "--pid", str(pid), "--rate", "250", "--format", "raw",
             "--output", str(out), "--nonblocking"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        await asyncio.sleep(1.5)
        try:
            await self.round(through, "/api/inventory/v1/" + self.args.path, requests)
        finally:
            for c in direct + through:
                await c.aclose()
        profiler.send_signal(2)  # SIGINT: py-spy writes its output and stops
        await asyncio.to_thread(profiler.wait, 30)
        return collapse(out) if out.exists() else {"error": "py-spy wrote nothing"}


def collapse(path: Path, top: int = 60) -> dict[str, Any]:
    """Self and inclusive sample shares by frame from py-spy's raw (collapsed) output."""
    inclusive: collections.Counter[str] = collections.Counter()
    self_: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if frames and frames[0].startswith(("thread", "process")):
            frames = frames[1:]
        total += count
        for frame in set(frames):
            inclusive[short(frame)] += count
        if frames:
            self_[short(frames[-1])] += count
    return {
        "samples": total,
        "inclusive": [(f, c / total) for f, c in inclusive.most_common(top)] if total else [],
        "self": [(f, c / total) for f, c in self_.most_common(top)] if total else [],
        "file": str(path),
    }


def short(frame: str) -> str:
    # "name (path/to/file.py:123)" -> "name (file.py)"
    name, _, where = frame.partition(" (")
    file = where.rstrip(")").rsplit(":", 1)[0]
    return f"{name} ({'/'.join(Path(file).parts[-2:])})" if file else name


# -- reporting -------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        for line in subprocess.run(
            ["lscpu"], capture_output=True, text=True, check=True
        ).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "loadavg_at_start": os.getloadavg(),
    }


def argon2_facts() -> dict[str, Any]:
    """The gateway hasher's parameters, and what one verification costs here (wall and CPU)."""
    hasher = gateway_domain._hasher
    stored = hasher.hash(PASSWORD)
    walls, cpus = [], []
    for _ in range(10):
        wall, cpu = time.perf_counter(), time.process_time()
        hasher.verify(stored, PASSWORD)
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return {
        "type": hasher.type.name,
        "time_cost": hasher.time_cost,
        "memory_cost_kib": hasher.memory_cost,
        "parallelism": hasher.parallelism,
        "verify_ms_alone": statistics.median(walls),
        "verify_cpu_ms_alone": statistics.median(cpus),
        "login_route_is_sync": not inspect.iscoroutinefunction(gateway_api.login),
        "session_check_is_sync": not inspect.iscoroutinefunction(gateway_api.signed_in_user),
    }


def cpu_line(cpu: dict[str, float]) -> str:
    return ", ".join(f"{name} {ms:.2f}" for name, ms in cpu.items() if ms >= 0.005)


def report(results: dict[str, Any]) -> None:
    m = results["machine"]
    say("")
    say("=" * 78)
    say(f"machine: {m['nproc']} cores, {m['cpu']}; Python {m['python']}")
    for key in [k for k in results if k.startswith("forwarding")]:
        f = results[key]
        say(
            f"GET {f['path']}: {f['clients']} client(s), {f['rounds_each']} rounds of "
            f"{f['requests_per_round']} each way, alternating"
        )
        say(f"  {'':<9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'req/s':>8}")
        for kind in ("direct", "through"):
            k = f[kind]
            say(
                f"  {kind:<9} {k['p50']:8.2f} {k['p90']:8.2f} {k['p99']:8.2f} {k['max']:8.1f} "
                f"{k['rps']:8.0f}"
            )
        o = f["overhead_ms"]
        say(f"  {'overhead':<9} {o['p50']:8.2f} {o['p90']:8.2f} {o['p99']:8.2f}")
        for kind in ("direct", "through"):
            say(f"  CPU ms/request ({kind}): {cpu_line(f[kind]['cpu_ms_per_request'])}")
    s = results.get("sign_in")
    a = results["argon2"]
    say(
        f"argon2 ({a['type']}): time_cost {a['time_cost']}, memory_cost {a['memory_cost_kib']} "
        f"KiB, parallelism {a['parallelism']}; one verify alone {a['verify_ms_alone']:.1f} ms "
        f"wall, {a['verify_cpu_ms_alone']:.1f} ms CPU; login route sync (threadpool): "
        f"{a['login_route_is_sync']}"
    )
    if s and "p50" in s:
        say(
            f"sign-in: {s['sign_ins']} over {s['distinct_users']} users, {s['clients']} clients "
            f"({s['failed']} failed): p50 {s['p50']:.0f} ms, p90 {s['p90']:.0f} ms, "
            f"p99 {s['p99']:.0f} ms, max {s['max']:.0f} ms; {s['per_second']:.1f} sign-ins/s; "
            f"machine busy {s['machine_busy_cores']:.2f} cores"
        )
        say(f"  CPU ms/sign-in: {cpu_line(s['cpu_ms_per_sign_in'])}")
    if s:
        for failure, count in s["failures"].items():
            say(f"  FAILED {count}x: {failure}")
    prof = results.get("profile")
    if prof and prof.get("samples"):
        say(f"py-spy, gateway, {prof['samples']} samples ({prof['file']}); inclusive:")
        for frame, share in prof["inclusive"]:
            say(f"  {share:6.1%}  {frame}")
        say("  self:")
        for frame, share in prof["self"][:15]:
            say(f"  {share:6.1%}  {frame}")
    say("-" * 78)
    f = results.get("forwarding")
    if f:
        p99 = f["overhead_ms"]["p99"]
        say(
            f"{'PASS' if p99 < TARGET_OVERHEAD_P99_MS else 'MISS'}  gateway overhead at p99 "
            f"{p99:.2f} ms with {f['clients']} clients (target < {TARGET_OVERHEAD_P99_MS:.0f} ms)"
        )
    say("=" * 78)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    bench = Bench(args)
    results: dict[str, Any] = {"run_id": bench.run_id, "args": vars(args)}
    results["machine"] = machine()
    results["started_at"] = datetime.now(UTC).isoformat()
    results["argon2"] = argon2_facts()
    results["sniffio_installed"] = importlib.util.find_spec("sniffio") is not None
    say(
        f"machine: {results['machine']['nproc']} cores, load average "
        f"{', '.join(f'{v:.2f}' for v in results['machine']['loadavg_at_start'])}; sniffio "
        f"installed: {results['sniffio_installed']} (httpcore re-imports it on every lock "
        "when it is missing)"
    )
    steps: list[tuple[str, Callable[[], Awaitable[dict[str, Any]]]]] = []
    if args.rounds:
        steps.append(
            ("forwarding", lambda: bench.forwarding(args.clients, args.rounds, args.requests))
        )
        if args.single_requests:
            steps.append(
                ("forwarding_1", lambda: bench.forwarding(1, args.rounds, args.single_requests))
            )
        for extra in args.also_clients:
            steps.append(
                (
                    f"forwarding_{extra}",
                    functools.partial(bench.forwarding, extra, args.rounds, args.requests),
                )
            )
    if args.py_spy:
        steps.append(("profile", lambda: bench.profile(args.py_spy, args.requests * 2)))
    if args.login_passes:
        steps.append(("sign_in", lambda: bench.logins(args.clients, args.login_passes)))
    try:
        bench.start()
        await bench.seed()
        for name, step in steps:
            say(f"{name} ...")
            results[name] = await step()
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--rounds", type=int, default=6, help="rounds of each kind; 0 skips")
    parser.add_argument("--requests", type=int, default=1500, help="requests per round")
    parser.add_argument(
        "--single-requests", type=int, default=300, help="requests per one-client round; 0 skips"
    )
    parser.add_argument("--path", default="items?limit=20", help="inventory path after /api/v1/")
    parser.add_argument("--items", type=int, default=20, help="items seeded")
    parser.add_argument("--users", type=int, default=200, help="local users (distinct sign-ins)")
    parser.add_argument("--login-passes", type=int, default=2, help="passes over the users")
    parser.add_argument(
        "--also-clients",
        type=lambda text: [int(n) for n in text.split(",") if n.strip()],
        default=[],
        metavar="N,N",
        help="also measure forwarding with these numbers of clients (e.g. 4,8)",
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        help="PORTAL_LOG_LEVEL of the services (INFO: as deployed)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    parser.add_argument("--keep-logs", action="store_true")
    parser.add_argument("--py-spy", metavar="PATH", help="profile the gateway in an extra run")
    args = parser.parse_args()
    if min([args.clients, *args.also_clients]) < 1 or args.users < max(
        [args.clients, *args.also_clients]
    ):
        parser.error("--clients must be at least 1 and at most --users")
    if args.py_spy:
        args.keep_logs = True
    results = asyncio.run(run(args))
    report(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))
        say(f"wrote {args.json}")


if __name__ == "__main__":
    main()
