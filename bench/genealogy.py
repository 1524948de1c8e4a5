"""Lot genealogy on a big ledger: how long a recall takes to answer.

    .venv/bin/python bench/genealogy.py [--orders 10000] [--runs 20] [--pg]

A synthetic plant's ledger written straight into inventory's tables (no handlers: the point is
the reads): 1,000 purchased lots of 50 raw items from 20 vendors; `--orders` production orders
of sub-assemblies, each consuming 4 lots picked at random (a few popular lots feed hundreds of
orders), each producing its lot (= the order code); a tenth as many assembly orders, each
consuming 3 sub-assembly lots and 1 purchased lot; every assembly lot shipped to one of 50
customers. Rows follow the handlers' conventions: `issue` legs (RAW negative, WIP positive),
`consume`, `production_receipt`, `shipment` with the shipment's sales order and customer in
`shipments`.

It times, `--runs` times each in a fresh unit of work, the two calls a recall makes (p50 / max
in ms): the sources of an assembly lot (down two levels to the vendors), and the uses of the
most used purchased lot (up two levels to every shipment and customer). SQLite in a temporary
directory by default; `--pg` uses a database of its own on PORTAL_TEST_PG_URL, dropped at the
end.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import insert, select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services import registry  # noqa: E402
from services.inventory.genealogy.service import lot_sources, lot_uses  # noqa: E402
from services.inventory.models import Item, Lot, StockTransaction  # noqa: E402
from services.inventory.shipping.models import Shipment  # noqa: E402
from shared.bus.inprocess import InProcessBus  # noqa: E402
from shared.runtime import ServiceRuntime  # noqa: E402
from shared.settings import Settings  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
ONE = Decimal(1)


def ledger_row(
    kind: str, item: int, location: str, lot: str, qty: int, ref_type: str, ref: str
) -> dict[str, Any]:
    return {
        "txn_type": kind,
        "item_id": item,
        "location_code": location,
        "lot": lot,
        "status": "approved",
        "qty": Decimal(qty),
        "unit_cost": ONE,
        "value": Decimal(qty),
        "reference_type": ref_type,
        "reference": ref,
        "created_at": T0,
    }


def build(runtime: ServiceRuntime, orders: int, seed: int = 6) -> tuple[str, str, str, str]:
    """Write the plant; returns (assembly sku, its lot, the most used raw sku, its lot)."""
    rng = random.Random(seed)
    now = T0
    with runtime.uow() as uow:
        s = uow.session
        items = [
            {"sku": f"RAW-{i:03d}", "item_type": "raw", "make_or_buy": "buy"} for i in range(50)
        ]
        items += [
            {"sku": f"SUB-{i:02d}", "item_type": "component", "make_or_buy": "make"}
            for i in range(20)
        ]
        items += [
            {"sku": f"ASM-{i:02d}", "item_type": "finished", "make_or_buy": "make"}
            for i in range(5)
        ]
        s.execute(
            insert(Item),
            [
                {**i, "name": i["sku"], "uom": "ea", "created_at": now, "updated_at": now}
                for i in items
            ],
        )
        ids = dict(s.execute(select(Item.sku, Item.id)).all())
        raw_lots = [(ids[f"RAW-{i % 50:03d}"], f"V-{i:05d}") for i in range(1000)]
        s.execute(
            insert(Lot),
            [
                {
                    "item_id": item,
                    "code": code,
                    "created_at": now,
                    "vendor_code": f"VEND-{n % 20:02d}",
                    "po_number": f"PO-2026-{n:05d}",
                    "receipt_id": f"RCV-{n}",
                }
                for n, (item, code) in enumerate(raw_lots)
            ],
        )
        rows = [
            ledger_row("receipt", item, "RAW", code, 10_000, "purchase_order", f"PO-2026-{n:05d}/1")
            for n, (item, code) in enumerate(raw_lots)
        ]
        # A few popular lots (the first ten) feed many orders: a skewed pick.
        weights = [50 if n < 10 else 1 for n in range(len(raw_lots))]
        sub_lots = []
        for n in range(orders):
            code = f"PRD-2026-{n:06d}"
            sub = ids[f"SUB-{n % 20:02d}"]
            for item, lot in set(rng.choices(raw_lots, weights, k=4)):
                rows.append(ledger_row("issue", item, "RAW", lot, -2, "production_order", code))
                rows.append(ledger_row("issue", item, "WIP", lot, 2, "production_order", code))
                rows.append(ledger_row("consume", item, "WIP", lot, -2, "production_order", code))
            rows.append(
                ledger_row("production_receipt", sub, "FG", code, 2, "production_order", code)
            )
            sub_lots.append((sub, code))
        shipments = []
        for n in range(orders // 10):
            code = f"PRD-2027-{n:06d}"
            asm = ids[f"ASM-{n % 5:02d}"]
            parts = [*rng.sample(sub_lots, 3), rng.choice(raw_lots)]
            for item, lot in parts:
                rows.append(
                    ledger_row(
                        "issue",
                        item,
                        "FG" if lot.startswith("PRD") else "RAW",
                        lot,
                        -1,
                        "production_order",
                        code,
                    )
                )
                rows.append(ledger_row("issue", item, "WIP", lot, 1, "production_order", code))
                rows.append(ledger_row("consume", item, "WIP", lot, -1, "production_order", code))
            rows.append(
                ledger_row("production_receipt", asm, "FG", code, 1, "production_order", code)
            )
            shipment = f"SHP-2027-{n:06d}"
            rows.append(ledger_row("shipment", asm, "FG", code, -1, "shipment", shipment))
            shipments.append(
                {
                    "shipment_id": shipment,
                    "so_number": f"SO-2027-{n:06d}",
                    "customer_code": f"CUST-{n % 50:02d}",
                    "shipped_at": now,
                    "ship_date": date(2027, 1, 1) + timedelta(days=n % 300),
                    "shipped_by": "bench",
                }
            )
        for start in range(0, len(rows), 5000):
            s.execute(insert(StockTransaction), rows[start : start + 5000])
        s.execute(insert(Shipment), shipments)
        uow.commit()
    print(f"ledger: {len(rows):,} rows; {orders:,} + {orders // 10:,} orders")
    popular = raw_lots[0]
    raw_sku = next(sku for sku, item_id in ids.items() if item_id == popular[0])
    return "ASM-00", "PRD-2027-000000", raw_sku, popular[1]


def timed(
    runtime: ServiceRuntime, call: Any, sku: str, lot: str, runs: int
) -> tuple[Any, list[float]]:
    times = []
    answer = None
    for _ in range(runs):
        start = time.perf_counter()
        with runtime.uow(read_only=True) as uow:
            answer = call(uow, sku, lot)
        times.append((time.perf_counter() - start) * 1000)
    return answer, times


@contextmanager
def database(use_pg: bool) -> Iterator[str | None]:
    if not use_pg:
        yield None
        return
    import os

    url = make_url(os.environ.get("PORTAL_TEST_PG_URL", PG_URL))
    name = f"bench_genealogy_{uuid.uuid4().hex[:8]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pg", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var, database(args.pg) as url:
        runtime = ServiceRuntime(
            registry.definition("inventory"),
            Settings(var_dir=Path(var)),
            InProcessBus(),
            db_url=url,
            token_secret="bench-genealogy-" + "x" * 40,
        )
        runtime.migrate()
        runtime.seed()
        started = time.perf_counter()
        asm, asm_lot, raw, raw_lot = build(runtime, args.orders)
        print(f"built in {time.perf_counter() - started:.1f} s on {runtime.db.engine.dialect.name}")
        sources, times = timed(runtime, lot_sources, asm, asm_lot, args.runs)
        print(
            f"sources of {asm} {asm_lot}: {len(sources.orders)} orders, "
            f"{len(sources.component_lots)} lots, {len(sources.vendors)} vendors: "
            f"p50 {statistics.median(times):.1f} ms, max {max(times):.1f} ms"
        )
        uses, times = timed(runtime, lot_uses, raw, raw_lot, args.runs)
        print(
            f"uses of {raw} {raw_lot}: {len(uses.orders)} orders, {len(uses.finished_lots)} "
            f"lots, {len(uses.shipments)} shipments, {len(uses.customers)} customers: "
            f"p50 {statistics.median(times):.1f} ms, max {max(times):.1f} ms"
        )
        runtime.db.dispose()


if __name__ == "__main__":
    main()
