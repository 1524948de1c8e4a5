"""Starting production orders at the API on PostgreSQL: 1,000 orders, one after the other, each
exploding its released BOM, reserving every component through inventory (an HTTP call to the
inventory service) and recording ProductionStarted; inventory issues the material to WIP from
the event meanwhile, as it does in a plant.

    .venv/bin/python bench/starts.py [--orders 1000] [--components 8] [--json out.json]

Production and inventory each run on a fresh PostgreSQL database of their own, served by
uvicorn in this process on real sockets; production reaches inventory over HTTP, as in a
deployment; the bus is the in-process one (RabbitMQ's cost is bench/events.py's subject). The
product's BOM has `--components` raw components, each with ample stock.

Figures (ms of wall time, p50 / p90 / p99 / max): POST /production-orders/{code}/start for each
order; beside it, measured in the same run on the same servers as the ceiling, a bare
GET /api/v1/items/{sku} on production (the HTTP, token and database round trip every call
pays) and the reservation call alone on inventory (POST /api/v1/reservations, half of a start).
The load average at the start and the end is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bom import free_port, fresh_database, machine, say, summary
from services import registry
from shared.auth.tokens import issue_service_token
from shared.bus.inprocess import InProcessBus
from shared.logging import configure_logging
from shared.runtime import ServiceRuntime
from shared.settings import Settings

SECRET = "bench-starts-secret-" + "x" * 32
PRODUCT = "BENCH-PRODUCT"


@contextmanager
def serving(runtime: ServiceRuntime) -> Iterator[str]:
    """The service's app on a real socket, served by uvicorn in a thread of this process (the
    start calls inventory through it, as a deployment does)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(runtime.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def two_services(var_dir: Path) -> Iterator[tuple[ServiceRuntime, ServiceRuntime, InProcessBus]]:
    settings = Settings(var_dir=var_dir, demo_data=False, log_level="WARNING")
    bus = InProcessBus()
    with ExitStack() as stack:
        runtimes = [
            ServiceRuntime(
                registry.definition(name),
                settings,
                bus,
                db_url=stack.enter_context(fresh_database()),
                token_secret=SECRET,
            )
            for name in ("inventory", "production")
        ]
        for runtime in runtimes:
            runtime.migrate()
            runtime.seed()
        yield runtimes[0], runtimes[1], bus


async def set_up(api: dict[str, httpx.AsyncClient], components: int, orders: int) -> list[str]:
    inventory, production = api["inventory"], api["production"]
    skus = [f"BENCH-RAW-{n:03d}" for n in range(components)]
    for sku in skus:
        await expect(inventory.post("/api/v1/items", json={"sku": sku, "name": sku}), 201)
        adjustment = {"sku": sku, "location": "RAW", "qty_delta": "1000000", "reason_code": "found"}
        await expect(inventory.post("/api/v1/stock/adjustments", json=adjustment), 201)
    product = {
        "sku": PRODUCT,
        "name": "Bench product",
        "item_type": "finished",
        "make_or_buy": "make",
    }
    await expect(inventory.post("/api/v1/items", json=product), 201)
    lines = [
        {"line_no": n + 1, "component_sku": sku, "qty_per": "0.25", "scrap_pct": "2"}
        for n, sku in enumerate(skus)
    ]
    for _ in range(200):  # production learns the items from ItemUpserted
        draft = await production.post("/api/v1/boms", json={"sku": PRODUCT, "lines": lines})
        if draft.status_code == 201:
            break
        await asyncio.sleep(0.05)
    else:
        raise RuntimeError(f"production never learned the items: {draft.text}")
    version = draft.json()["version"]
    await expect(production.post(f"/api/v1/boms/{PRODUCT}/versions/{version}/release"), 200)
    codes = []
    for _ in range(orders):
        body = {"sku": PRODUCT, "qty_ordered": "4"}
        codes.append(
            (await expect(production.post("/api/v1/production-orders", json=body), 201))["code"]
        )
    return codes


async def expect(call: Any, status: int) -> Any:
    response: httpx.Response = await call
    if response.status_code != status:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text[:300]}")
    return response.json()


async def timed(call: Any, status: int) -> float:
    began = time.perf_counter()
    await expect(call, status)
    return (time.perf_counter() - began) * 1000


async def measure(api: dict[str, httpx.AsyncClient], codes: list[str]) -> dict[str, Any]:
    inventory, production = api["inventory"], api["production"]
    starts, gets, reserves = [], [], []
    for n, code in enumerate(codes):
        starts.append(
            await timed(production.post(f"/api/v1/production-orders/{code}/start", json={}), 200)
        )
        gets.append(await timed(production.get(f"/api/v1/items/{PRODUCT}"), 200))
        reservation = {
            "reference_type": "sales_order",
            "reference": f"BENCH-SO-{n}",
            "lines": [{"sku": "BENCH-RAW-000", "qty": "1", "line_no": 1}],
        }
        reserves.append(await timed(inventory.post("/api/v1/reservations", json=reservation), 200))
    return {
        "start": summary(starts),
        "ceiling_get_item": summary(gets),
        "reservation_one_line": summary(reserves),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    load_before = machine()["load_average"]
    configure_logging("WARNING", json=False)  # no line per request in the figures' output
    with two_services(Path(args.var_dir)) as (inventory, production, bus):
        await bus.start()
        for runtime in (inventory, production):
            await runtime.start(relay=False)
        for runtime in (inventory, production):
            await runtime.start(consume=False, workers=False)
        token = issue_service_token(SECRET, user="bench", roles=["admin"], ttl_seconds=3600)
        headers = {"Authorization": f"Bearer {token}"}
        with serving(inventory) as inventory_url, serving(production) as production_url:
            production.app.state.upstreams = {
                "inventory": httpx.AsyncClient(base_url=inventory_url, timeout=30)
            }
            api = {
                "inventory": httpx.AsyncClient(base_url=inventory_url, headers=headers, timeout=30),
                "production": httpx.AsyncClient(
                    base_url=production_url, headers=headers, timeout=30
                ),
            }
            try:
                say(f"setting up {args.orders} orders of a {args.components}-component product")
                codes = await set_up(api, args.components, args.orders)
                say("starting them one after the other")
                figures = await measure(api, codes)
            finally:
                for client in (*api.values(), *production.app.state.upstreams.values()):
                    await client.aclose()
        for runtime in (inventory, production):
            await runtime.stop()
        await bus.close()
        for runtime in (inventory, production):
            runtime.db.dispose()
    return {
        "orders": args.orders,
        "components": args.components,
        "machine": {**machine(), "load_average_before": load_before},
        "ms": figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--components", type=int, default=8)
    parser.add_argument("--var-dir", default="var/bench-starts")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    Path(args.var_dir).mkdir(parents=True, exist_ok=True)
    results = asyncio.run(run(args))
    for name, figures in results["ms"].items():
        say(f"{name:24} " + "  ".join(f"{k} {v:.1f}" for k, v in figures.items()))
    say(f"machine: {results['machine']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
