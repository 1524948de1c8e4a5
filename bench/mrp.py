"""MRP on PostgreSQL and SQLite (issue 9): a full MRP run over 1,000, 5,000 and 20,000 open
sales-order lines of a plant of 2,000 items with BOMs five levels deep, and the dashboard's first
page, each part beside a ceiling measured in the same run.

    .venv/bin/python bench/mrp.py [--lines 1000 5000 20000] [--reps 5] [--page-calls 20]
        [--backend pg --backend sqlite] [--no-event-check] [--profile]
        [--json bench/results/mrp.json]

    # 1,000 lines only (under a minute):
    .venv/bin/python bench/mrp.py --quick

The plant (seeded, so every run builds the same one; `build_plant`): 2,000 items: 300 finished
goods in 5 families, 500 sub-assemblies on levels 2, 3 and 4 (200, 175, 125), 1,200 bought parts
(860 raw, a third in KG; 300 packaging, a fifth of it supplied by the customer, as are some raw
parts; 40 spare parts sold as they are). Every made item has a released BOM of 2-4 components:
a finished good takes one or two level-2 assemblies, perhaps a raw part and its packaging; levels
2 and 3 take one or two assemblies of the level below and raw parts; level 4 raw parts only, some
made in batches of ten; scrap 0-5 %. Each level's items are dealt out in shuffled rounds, so
every item is used and most by several parents. Six lines with capacities by family, for any
product, for single products, and one rate that starts next year; 2-3 shifts on weekdays.

The orders: 200 customers (priority 1-5), sales orders of 1-9 lines until there are `--lines`
open lines (plus 3 % draft orders, not planned), popular products ordered more often, due from
ten days overdue to three months ahead (2 % without a date); 6 % of the lines partly shipped, 6 %
with a reservation, 4 % with a job for the line (three in four still open, some printed), and 40
make-to-stock jobs on the lines. Stock is sized on what the orders need, level by level (each
level covers some of what the level above leaves, exploded through the BOMs), so every size has
the same mix of statuses: ready, partial ship, pending QC, in production, full and partial
production, awaiting customer material or a purchase order, critical shortage; open purchase
orders (submitted, partly received; drafts and received ones are not counted) bring more of a
third of the bought parts, due from five days overdue to six weeks ahead (a third of them in two
deliveries with two dates, one line in ten without a date; `--undated-pos`: none has a date, the
plant of the figures before material dates). Line capacity scales with the lines too.

Loading: straight into mrp's tables (`bulk_load`: one executemany per table, the rows its event
handlers would leave; customers and sales orders are mrp's own), then the snapshot the planner
reads is compared with the plant itself. Unless `--no-event-check`, the first size is also fed
as events (ItemUpserted, StockChanged, BomReleased, PurchaseOrderChanged, LineUpserted,
CapacityChanged, ProductionOrderChanged) through the inbox on SQLite and compared the same way:
the bulk load gives the planner what the events give it.

For each size, on a PostgreSQL database of the bench's own (dropped at the end, whatever
happens) and on a SQLite file (the embedded mode's database), after one warm run, `--reps`
times each (p50 and max, ms of wall time):

- the engine alone: `plan(PlanInput)` on the inputs in memory (once per size: the same inputs on
  both databases);
- the snapshot: `snapshot.open_order_lines`, the order by due date and `snapshot.plan_input` in
  a read-only unit of work;
- saving: the run's row, its line results and takes, pruning older runs, commit (as run_mrp);
- `run_mrp` whole, in its unit of work with its commit (with the time inside SQL and the
  statements counted beside);
- the dashboard's first page, `--page-calls` times: `GET /api/v1/mrp/lines?limit=50&offset=0`
  through the service's ASGI app (httpx ASGITransport, in this process, a planner's token), or,
  when the route is not there, the statements that page runs, on mrp_line_results.

Ceilings, in the same run: the snapshot's statements as plain SQL with the driver alone
(psycopg, sqlite3: rows fetched, nothing built); the run's result rows (prepared beforehand)
written with COPY (PostgreSQL) or executemany (SQLite) in one transaction; and a pure-Python
loop over the lines in order visiting every component of each line's whole BOM tree with one
dict lookup and nothing else. Time per 1,000 lines is printed for each size, and the growth of
run_mrp per line from the smallest size to the largest. `--profile` adds cProfile's top entries
of the engine and of one whole run near 5,000 lines.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import io
import json
import os
import pstats
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import Connection, Engine, event, func, insert, select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bom import libpq, machine, process_cpu, say  # noqa: E402
from services import registry  # noqa: E402
from services.mrp.planning import snapshot  # noqa: E402
from services.mrp.planning.domain import (  # noqa: E402
    ZERO,
    Capacity,
    Item,
    Line,
    OpenJob,
    OrderLine,
    Plan,
    PlanInput,
    Stock,
    bom_component,
    per_unit,
    plan,
)
from services.mrp.planning.models import (  # noqa: E402
    OpenPurchaseLine,
    OpenPurchaseOrder,
    PlannedBom,
    PlannedBomLine,
    PlannedCapacity,
    PlannedLine,
    StockLevel,
)
from services.mrp.planning.ordering import Scored, by_due_date  # noqa: E402
from services.mrp.planning.service import OPEN_PO_STATUSES  # noqa: E402
from services.mrp.planning.snapshot import OPEN_JOB_STATUSES, PLANNED_SO_STATUSES  # noqa: E402
from services.mrp.runs import service as runs_service  # noqa: E402
from services.mrp.runs.models import (  # noqa: E402
    MrpAction,
    MrpComponentTake,
    MrpLineResult,
    MrpRun,
)
from services.mrp.runs.service import run_mrp  # noqa: E402
from services.mrp.sales.models import (  # noqa: E402
    Customer,
    KnownItem,
    LinkedProductionOrder,
    SalesOrder,
    SalesOrderLine,
)
from shared.auth.tokens import issue_service_token  # noqa: E402
from shared.bus.inprocess import InProcessBus  # noqa: E402
from shared.events.catalogue import (  # noqa: E402
    BomLine,
    BomReleased,
    CapacityChanged,
    EventPayload,
    ItemUpserted,
    LineCapacity,
    LineUpserted,
    ProductionOrderChanged,
    PurchaseOrderChanged,
    PurchaseOrderLine,
    StockChanged,
)
from shared.events.envelope import Envelope, utc_now  # noqa: E402
from shared.logging import configure_logging  # noqa: E402
from shared.runtime import ServiceRuntime  # noqa: E402
from shared.settings import Settings  # noqa: E402
from shared.types import DecimalType  # noqa: E402
from shared.uow import UnitOfWork  # noqa: E402

PG_URL = os.environ.get(
    "PORTAL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SECRET = "bench-mrp-secret-" + "x" * 40
TARGET_MS = 1000.0
D = Decimal
PLAN_DATE = date(2026, 11, 23)  # a Monday
FAMILIES = ("BRACKETS", "HOUSINGS", "PANELS", "CASES", "MOUNTS")
FINISHED = 300
SUB_ASSEMBLIES = (200, 175, 125)  # levels 2, 3 and 4
ITEMS = 2000
PACKAGING = 300  # bought, EA; a fifth of them printed for the customer and supplied by it
RESALE = 40  # bought parts also sold as they are (spare parts): their supply is open POs
CUSTOMERS = 200
# The plant's stock, open POs and line capacity are sized for this many open lines and scaled
# with --lines, so 1,000 and 20,000 lines give a plan of the same shape.
REFERENCE_LINES = 5000


# -- the plant ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemSpec:
    sku: str
    item_type: str  # raw, component, finished, packaging
    make: bool
    uom: str
    customer_supplied: bool = False
    family: str | None = None


@dataclass(frozen=True)
class BomSpec:
    sku: str
    output_qty: Decimal
    lines: tuple[tuple[str, Decimal, Decimal], ...]  # (component, qty per output, scrap %)


@dataclass(frozen=True)
class StockSpec:
    sku: str
    available: Decimal
    pending_qc: Decimal
    wip: Decimal


@dataclass(frozen=True)
class PoSpec:
    number: str
    status: str  # draft, submitted, partial, received
    lines: tuple[tuple[str, Decimal, Decimal, date | None], ...]  # (sku, ordered, received, due)


@dataclass(frozen=True)
class LineSpec:
    code: str
    speed: Decimal
    shifts: tuple[int, ...]
    capacities: tuple[tuple[str | None, str | None, Decimal, date], ...]  # sku, family, units


@dataclass(frozen=True)
class JobSpec:
    code: str
    sku: str
    status: str
    qty_to_make: Decimal
    qty_good: Decimal
    line_code: str | None
    so_number: str | None = None
    so_line_no: int | None = None
    qty_passed: Decimal = ZERO  # through QC, in stock as the line's own until it ships


@dataclass(frozen=True)
class SoLineSpec:
    line_no: int
    sku: str
    qty_ordered: Decimal
    qty_shipped: Decimal
    qty_allocated: Decimal
    unit_price: Decimal
    due_date: date | None
    business_unit: str | None


@dataclass(frozen=True)
class SoSpec:
    number: str
    customer: str
    status: str
    business_unit: str
    penalty: bool
    lines: tuple[SoLineSpec, ...]


@dataclass
class Plant:
    items: list[ItemSpec]
    boms: dict[str, BomSpec]
    customers: list[tuple[str, str, int]]  # code, name, priority
    orders: list[SoSpec]
    stock: list[StockSpec] = field(default_factory=list)
    purchase_orders: list[PoSpec] = field(default_factory=list)
    lines: list[LineSpec] = field(default_factory=list)
    jobs: list[JobSpec] = field(default_factory=list)

    @property
    def open_lines(self) -> int:
        return sum(len(so.lines) for so in self.orders if so.status != "draft")


def _cycle(items: list[str], rng: random.Random) -> Any:
    """Each item in turn, in a fresh shuffle every round: every item is used, most by several
    parents."""
    while True:
        shuffled = list(items)
        rng.shuffle(shuffled)
        yield from shuffled


def _pick(source: Any, count: int, taken: set[str]) -> list[str]:
    picked: list[str] = []
    while len(picked) < count:
        sku = next(source)
        if sku not in taken:
            taken.add(sku)
            picked.append(sku)
    return picked


def build_plant(n_lines: int, seed: int = 9, *, po_dates: bool = True) -> Plant:
    """The plant described in the module docstring, for `n_lines` open order lines; purchase
    order lines without due dates unless `po_dates`."""
    rng = random.Random(seed)
    scale = D(n_lines) / D(REFERENCE_LINES)
    items, boms = _items_and_boms(rng)
    customers = [
        (f"C{n:03d}", f"Customer {n:03d}", rng.choices((1, 2, 3, 4, 5), (1, 2, 4, 2, 1))[0])
        for n in range(CUSTOMERS)
    ]
    finished = [i.sku for i in items if i.item_type == "finished"]
    resale = [i.sku for i in items if i.sku.startswith("SPR-")]
    orders = _orders(rng, n_lines, customers, finished, resale)
    plant = Plant(items=items, boms=boms, customers=customers, orders=orders)
    plant.jobs = _jobs(rng, plant)
    plant.lines = _lines(rng, finished, scale)
    plant.stock, plant.purchase_orders = _stock_and_pos(rng, plant)
    if po_dates:
        plant.purchase_orders = _dated(random.Random(seed + 1), plant.purchase_orders)
    return plant


def _dated(rng: random.Random, pos: list[PoSpec]) -> list[PoSpec]:
    """The same orders, the same quantities, with due dates: from five days overdue to six weeks
    ahead; a third of the lines in two deliveries of two dates, one in ten with no date. A
    random source of its own, so the rest of the plant is the one without dates."""
    dated = []
    for po in pos:
        lines: list[tuple[str, Decimal, Decimal, date | None]] = []
        for sku, ordered, received, _ in po.lines:
            roll = rng.random()
            if roll < 0.1:
                lines.append((sku, ordered, received, None))
                continue
            due = PLAN_DATE + timedelta(days=rng.randint(-5, 42))
            first = (ordered * D("0.5")).to_integral_value()
            if roll < 0.43 and received == 0 and ZERO < first < ordered:
                later = due + timedelta(days=rng.randint(7, 21))
                lines += [(sku, first, ZERO, due), (sku, ordered - first, ZERO, later)]
            else:
                lines.append((sku, ordered, received, due))
        dated.append(PoSpec(po.number, po.status, tuple(lines)))
    return dated


def _items_and_boms(rng: random.Random) -> tuple[list[ItemSpec], dict[str, BomSpec]]:
    finished = [
        ItemSpec(f"FG-{n:04d}", "finished", True, "EA", family=FAMILIES[n % len(FAMILIES)])
        for n in range(FINISHED)
    ]
    levels = [
        [ItemSpec(f"SA{level}-{n:04d}", "component", True, "EA") for n in range(count)]
        for level, count in enumerate(SUB_ASSEMBLIES, start=2)
    ]
    raw_count = ITEMS - FINISHED - sum(SUB_ASSEMBLIES) - PACKAGING - RESALE
    raws = [
        ItemSpec(
            f"RAW-{n:04d}",
            "raw",
            False,
            "KG" if n % 3 == 0 else "EA",
            customer_supplied=n % 40 == 7,
        )
        for n in range(raw_count)
    ]
    packaging = [
        ItemSpec(f"PKG-{n:04d}", "packaging", False, "EA", customer_supplied=n % 5 == 0)
        for n in range(PACKAGING)
    ]
    resale = [ItemSpec(f"SPR-{n:04d}", "component", False, "EA") for n in range(RESALE)]
    items = finished + [i for level in levels for i in level] + raws + packaging + resale
    assert len(items) == ITEMS
    uom = {i.sku: i.uom for i in items}

    raw_cycle = _cycle([i.sku for i in raws], rng)
    pkg_cycle = _cycle([i.sku for i in packaging], rng)
    level_cycles = [_cycle([i.sku for i in level], rng) for level in levels]

    def qty_for(component: str) -> Decimal:
        if uom[component] == "KG":
            return D(rng.choice(("0.05", "0.125", "0.2", "0.35", "0.5")))
        return D(rng.choice((1, 1, 1, 2, 2, 4)))

    def bom(sku: str, components: list[str], output: Decimal = D(1)) -> BomSpec:
        return BomSpec(
            sku,
            output,
            tuple(
                (c, qty_for(c) * output, D(rng.choice(("0", "0", "1", "2.5", "5"))))
                for c in components
            ),
        )

    boms: dict[str, BomSpec] = {}
    # Finished goods: one or two level-2 assemblies, perhaps a raw part, and their packaging.
    for item in finished:
        taken: set[str] = set()
        components = _pick(level_cycles[0], rng.choice((1, 1, 2)), taken)
        if rng.random() < 0.5:
            components += _pick(raw_cycle, 1, taken)
        components += _pick(pkg_cycle, 1, taken)
        boms[item.sku] = bom(item.sku, components)
    # Levels 2 and 3: one or two assemblies of the level below and raw parts (2-4 in all).
    for depth in (0, 1):
        for item in levels[depth]:
            taken = set()
            total = rng.choice((2, 3, 3, 4))
            components = _pick(level_cycles[depth + 1], rng.choice((1, 1, 2)), taken)
            components += _pick(raw_cycle, total - len(components), taken)
            boms[item.sku] = bom(item.sku, components)
    # Level 4: raw parts only, some made in batches of ten.
    for item in levels[2]:
        output = D(rng.choice((1, 1, 1, 10)))
        boms[item.sku] = bom(item.sku, _pick(raw_cycle, rng.choice((2, 3, 3, 4)), set()), output)
    return items, boms


def _orders(
    rng: random.Random,
    n_lines: int,
    customers: list[tuple[str, str, int]],
    finished: list[str],
    resale: list[str],
) -> list[SoSpec]:
    """Sales orders of 1-9 lines until `n_lines` open lines; popular products are ordered more
    often (a Zipf-like weight), due dates from ten days overdue to three months ahead, and a few
    draft orders (never planned) on top."""
    weights = [1 / (rank + 1) ** 0.6 for rank in range(len(finished))]
    orders: list[SoSpec] = []
    made = 0
    number = 0
    while made < n_lines:
        number += 1
        draft = rng.random() < 0.03
        count = min(rng.randint(1, 9), n_lines - made) if not draft else rng.randint(1, 4)
        so_lines = []
        for line_no in range(1, count + 1):
            if rng.random() < 0.04:
                sku, qty = rng.choice(resale), D(rng.randint(10, 200))
            else:
                sku = rng.choices(finished, weights)[0]
                qty = D(max(5, min(2000, round(rng.lognormvariate(4.2, 0.9)))))
            shipped = ZERO
            if rng.random() < 0.06:
                shipped = (qty * D(rng.choice(("0.25", "0.5", "0.75")))).to_integral_value()
            allocated = ZERO
            if rng.random() < 0.06:
                allocated = ((qty - shipped) * D(rng.choice(("0.5", "1")))).to_integral_value()
            due = None if rng.random() < 0.02 else PLAN_DATE + timedelta(days=rng.randint(-10, 90))
            so_lines.append(
                SoLineSpec(
                    line_no,
                    sku,
                    qty,
                    shipped,
                    allocated,
                    D(rng.choice(("2.5", "7.25", "12", "18.9", "35", "64", "120"))),
                    due,
                    "BU2" if rng.random() < 0.05 else None,
                )
            )
        status = (
            "draft" if draft else ("partial" if any(s.qty_shipped for s in so_lines) else "open")
        )
        orders.append(
            SoSpec(
                f"SO-{number:06d}",
                rng.choice(customers)[0],
                status,
                rng.choice(("BU1", "BU1", "BU3")),
                rng.random() < 0.1,
                tuple(so_lines),
            )
        )
        if not draft:
            made += count
    return orders


def _lines(rng: random.Random, finished: list[str], scale: Decimal) -> list[LineSpec]:
    """Six lines: by family, one for any product, one with its own rates for some products and
    a rate that only starts next year."""
    since, later = date(2026, 1, 1), date(2027, 1, 1)
    Rates = list[tuple[str | None, str | None, int]]
    specs: list[tuple[str, str, tuple[int, ...], Rates]] = [
        ("L-01", "1", (2, 2, 2, 2, 2, 0, 0), [(None, "BRACKETS", 400)]),
        ("L-02", "1.2", (2, 2, 2, 2, 2, 0, 0), [(None, "BRACKETS", 300), (None, "HOUSINGS", 250)]),
        ("L-03", "0.9", (3, 3, 3, 3, 3, 1, 0), [(None, "PANELS", 350)]),
        ("L-04", "1", (2, 2, 2, 2, 2, 0, 0), [(None, "CASES", 300), (None, "MOUNTS", 300)]),
        ("L-05", "0.8", (1, 1, 1, 1, 1, 0, 0), [(None, None, 150)]),
        (
            "L-06",
            "1.1",
            (2, 2, 2, 2, 2, 1, 0),
            [(sku, None, 500) for sku in rng.sample(finished, 12)] + [(None, "HOUSINGS", 200)],
        ),
    ]
    lines = []
    for code, speed, shifts, rows in specs:
        capacities = [(sku, family, _scaled(units, scale), since) for sku, family, units in rows]
        if code == "L-03":
            capacities.append((None, "PANELS", _scaled(500, scale), later))
        lines.append(LineSpec(code, D(speed), shifts, tuple(capacities)))
    return lines


def _scaled(units: int, scale: Decimal) -> Decimal:
    return max((D(units) * scale).quantize(D("0.0001")), D(1))


def _jobs(rng: random.Random, plant: Plant) -> list[JobSpec]:
    """Jobs for 4 % of the open lines (part of the line): three in four still open (some of it
    printed), the rest completed with their output passed QC and not shipped yet (the line's
    own stock); and make-to-stock jobs on the lines."""
    jobs: list[JobSpec] = []
    line_codes = ("L-01", "L-02", "L-03", "L-04", "L-05", "L-06")
    for so in plant.orders:
        if so.status == "draft":
            continue
        for line in so.lines:
            if line.sku.startswith("SPR-") or rng.random() >= 0.04:
                continue
            open_ = rng.random() < 0.75
            to_make = max(
                (line.qty_ordered * D(rng.choice(("0.3", "0.6", "1")))).to_integral_value(), D(1)
            )
            good = (to_make * D(rng.choice(("0", "0", "0.4")))).to_integral_value()
            jobs.append(
                JobSpec(
                    f"PO-{len(jobs) + 1:06d}",
                    line.sku,
                    rng.choice(("scheduled", "in_progress")) if open_ else "completed",
                    to_make,
                    good if open_ else to_make,
                    rng.choice(line_codes),
                    so.number,
                    line.line_no,
                    ZERO if open_ else to_make,
                )
            )
    finished = [i.sku for i in plant.items if i.item_type == "finished"]
    for _ in range(40):
        jobs.append(
            JobSpec(
                f"PO-{len(jobs) + 1:06d}",
                rng.choice(finished),
                rng.choice(("draft", "scheduled", "in_progress")),
                D(rng.randint(50, 800)),
                ZERO,
                rng.choice(line_codes),
            )
        )
    return jobs


def _stock_and_pos(rng: random.Random, plant: Plant) -> tuple[list[StockSpec], list[PoSpec]]:
    """Stock sized on what the orders need, level by level: each finished good covers some of
    its demand (a quarter of them all of it), what is left is exploded to the next level, which
    covers some of that, and so on to the raw parts, of which half are plentiful, a third run
    short and the rest nearly out. Open purchase orders bring a third of the raw parts more."""
    demand: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for so in plant.orders:
        if so.status == "draft":
            continue
        for line in so.lines:
            demand[line.sku] += line.qty_ordered - line.qty_shipped
    stock: dict[str, StockSpec] = {}
    levels = [
        [i.sku for i in plant.items if i.item_type == "finished"],
        *[[i.sku for i in plant.items if i.sku.startswith(f"SA{level}-")] for level in (2, 3, 4)],
    ]

    def cover(sku: str, share: Decimal, qc: Decimal = ZERO) -> Decimal:
        need = demand[sku]
        available = (need * share).to_integral_value()
        pending = (need * qc).to_integral_value()
        wip = D(rng.randint(0, 50)) if rng.random() < 0.2 else ZERO
        stock[sku] = StockSpec(sku, available, pending, wip)
        return max(need - available - pending, ZERO)

    for level in levels:
        for sku in level:
            roll = rng.random()
            if level is levels[0]:
                share = (
                    D("1.2")
                    if roll < 0.12
                    else D(rng.choice(("0.3", "0.5", "0.7")))
                    if roll < 0.45
                    else D(rng.choice(("0", "0.05", "0.1")))
                )
                qc = D("0.05") if rng.random() < 0.1 else ZERO
            else:
                share, qc = D(rng.choice(("0", "0.1", "0.2", "0.3"))), ZERO
            rest = cover(sku, share, qc)
            bom = plant.boms[sku]
            for component, qty_per, scrap in bom.lines:
                demand[component] += rest * per_unit(qty_per, bom.output_qty, scrap)
    purchase_lines: list[tuple[str, Decimal]] = []
    for item in plant.items:
        if item.make:
            continue
        roll = rng.random()
        if item.sku.startswith("SPR-"):
            share, on_order = D(rng.choice(("0", "0.2"))), D(rng.choice(("1.2", "1.5", "0.5")))
        elif item.customer_supplied:
            share, on_order = D(rng.choice(("0.2", "0.4", "0.6"))), ZERO
        elif roll < 0.75:
            share, on_order = D(rng.choice(("1.2", "1.5", "2"))), ZERO
        elif roll < 0.97:
            share = D(rng.choice(("0.5", "0.7", "0.9")))
            on_order = D(rng.choice(("0", "0.3", "0.6")))
        else:
            share, on_order = D(rng.choice(("0", "0.05", "0.1"))), ZERO
        need = demand[item.sku].to_integral_value() if item.uom == "EA" else demand[item.sku]
        stock[item.sku] = StockSpec(item.sku, (need * share).quantize(D("0.0001")), ZERO, ZERO)
        if on_order > 0 and need > 0:
            purchase_lines.append((item.sku, (need * on_order).to_integral_value() + 1))
    pos: list[PoSpec] = []
    rng.shuffle(purchase_lines)
    while purchase_lines:
        count = rng.randint(1, 6)
        chunk, purchase_lines = purchase_lines[:count], purchase_lines[count:]
        status = rng.choices(("submitted", "partial", "draft", "received"), (70, 20, 7, 3))[0]
        lines = []
        for sku, qty in chunk:
            received = ZERO
            if status == "partial":
                received = (qty * D("0.3")).to_integral_value()
                qty += received  # so what is still to come is the planned quantity
            elif status == "received":
                received = qty
            lines.append((sku, qty, received, None))
        pos.append(PoSpec(f"PUR-{len(pos) + 1:05d}", status, tuple(lines)))
    return [stock[i.sku] for i in plant.items if i.sku in stock], pos


def expected_input(plant: Plant) -> PlanInput:
    """The planner's inputs as the read models should give them (orders unsorted)."""
    open_statuses = ("draft", "scheduled", "in_progress")
    in_production: dict[tuple[str, int], Decimal] = defaultdict(lambda: ZERO)
    passed: dict[tuple[str, int], Decimal] = defaultdict(lambda: ZERO)
    for job in plant.jobs:
        if job.so_number and job.so_line_no:
            passed[(job.so_number, job.so_line_no)] += job.qty_passed
            if job.status in open_statuses:
                in_production[(job.so_number, job.so_line_no)] += max(
                    job.qty_to_make - job.qty_good, ZERO
                )
    # A line's own finished goods: its reservation and what its jobs passed and it has not
    # shipped, never more than it still needs; the passed part leaves the shared pool.
    held: dict[str, Decimal] = defaultdict(lambda: ZERO)
    reserved: dict[tuple[str, int], Decimal] = {}
    for so in plant.orders:
        for line in so.lines:
            key = (so.number, line.line_no)
            own = max(passed.get(key, ZERO) - line.qty_shipped, ZERO)
            reserved[key] = min(line.qty_ordered - line.qty_shipped, line.qty_allocated + own)
            if so.status != "draft" and line.qty_ordered > line.qty_shipped:
                held[line.sku] += reserved[key] - min(line.qty_allocated, reserved[key])
    names = {code: (name, priority) for code, name, priority in plant.customers}
    orders = [
        OrderLine(
            so_number=so.number,
            line_no=line.line_no,
            sku=line.sku,
            customer_code=so.customer,
            customer_name=names[so.customer][0],
            customer_priority=names[so.customer][1],
            business_unit=line.business_unit or so.business_unit,
            due_date=line.due_date,
            qty_open=line.qty_ordered - line.qty_shipped,
            unit_price=line.unit_price,
            contractual_penalty=so.penalty,
            qty_reserved=reserved[(so.number, line.line_no)],
            qty_in_production=in_production.get((so.number, line.line_no), ZERO),
        )
        for so in plant.orders
        if so.status != "draft"
        for line in so.lines
        if line.qty_ordered > line.qty_shipped
    ]
    on_order: dict[str, Decimal] = defaultdict(lambda: ZERO)
    by_due: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for po in plant.purchase_orders:
        if po.status in ("submitted", "partial"):
            for sku, ordered, received, due in po.lines:
                if ordered > received:
                    on_order[sku] += ordered - received
                    if due is not None:
                        by_due[sku][due] += ordered - received

    def lots(sku: str) -> tuple[tuple[date, Decimal], ...]:
        return tuple(sorted(by_due[sku].items())) if sku in by_due else ()

    stock = {
        s.sku: Stock(s.available, s.pending_qc, on_order.pop(s.sku, ZERO), lots(s.sku))
        for s in plant.stock
    }
    stock |= {sku: Stock(on_order=qty, on_order_lots=lots(sku)) for sku, qty in on_order.items()}
    for sku, qty in held.items():
        if qty > 0 and sku in stock:
            free = stock[sku]
            stock[sku] = replace(free, available=max(free.available - qty, ZERO))
    return PlanInput(
        plan_date=PLAN_DATE,
        orders=orders,
        items={
            i.sku: Item(i.sku, i.uom, "make" if i.make else "buy", i.customer_supplied, i.family)
            for i in plant.items
        },
        stock=stock,
        boms={
            sku: [bom_component(c, q, bom.output_qty, s) for c, q, s in bom.lines]
            for sku, bom in plant.boms.items()
        },
        lines=[Line(line.code, line.speed, line.shifts) for line in plant.lines],
        capacities=[
            Capacity(line.code, units, since, sku, family)
            for line in plant.lines
            for sku, family, units, since in line.capacities
        ],
        open_jobs=[
            OpenJob(job.line_code, job.sku, max(job.qty_to_make - job.qty_good, ZERO))
            for job in plant.jobs
            if job.status in open_statuses and job.line_code
        ],
    )


def sorted_input(plan_input: PlanInput) -> PlanInput:
    """The same inputs in a fixed order, to compare two readings of them."""
    return PlanInput(
        plan_date=plan_input.plan_date,
        orders=sorted(plan_input.orders, key=lambda o: o.key),
        items=dict(plan_input.items),
        stock=dict(plan_input.stock),
        boms={sku: list(c) for sku, c in plan_input.boms.items()},
        lines=sorted(plan_input.lines, key=lambda line: line.code),
        capacities=sorted(
            plan_input.capacities,
            key=lambda c: (c.line_code, c.sku or "", c.family or "", c.effective_from),
        ),
        open_jobs=sorted(plan_input.open_jobs, key=lambda j: (j.line_code, j.sku, j.qty_remaining)),
    )


def differences(got: PlanInput, want: PlanInput) -> list[str]:
    got, want = sorted_input(got), sorted_input(want)
    found = []
    for name in ("plan_date", "orders", "items", "stock", "boms", "lines", "capacities"):
        if getattr(got, name) != getattr(want, name):
            found.append(name)
    if got.open_jobs != want.open_jobs:
        found.append("open_jobs")
    return found


# -- loading -----------------------------------------------------------------------------------


def bulk_load(runtime: ServiceRuntime, plant: Plant) -> None:
    """Every row written straight into mrp's tables (one executemany per table, one
    transaction): the read models as their handlers would leave them, and mrp's own customers
    and sales orders. `event_load` does the same through the inbox, for the check."""
    now = utc_now()
    with runtime.db.engine.begin() as conn:
        conn.execute(
            insert(KnownItem),
            [
                {
                    "sku": i.sku,
                    "name": i.sku,
                    "uom": i.uom,
                    "item_type": i.item_type,
                    "active": True,
                    "sequence": 1,
                    "make_or_buy": "make" if i.make else "buy",
                    "customer_supplied": i.customer_supplied,
                    "family": i.family,
                    "average_cost": D(1),
                }
                for i in plant.items
            ],
        )
        conn.execute(
            insert(StockLevel),
            [
                {
                    "sku": s.sku,
                    "on_hand": s.available + s.pending_qc,
                    "available": s.available,
                    "allocated": ZERO,
                    "pending_qc": s.pending_qc,
                    "wip": s.wip,
                    "average_cost": D(1),
                    "sequence": 1,
                }
                for s in plant.stock
            ],
        )
        conn.execute(
            insert(PlannedBom),
            [
                {"sku": b.sku, "bom_version": 1, "output_qty": b.output_qty, "sequence": 1}
                for b in plant.boms.values()
            ],
        )
        conn.execute(
            insert(PlannedBomLine),
            [
                {
                    "sku": b.sku,
                    "line_no": n,
                    "component_sku": component,
                    "qty_per": qty,
                    "scrap_pct": scrap,
                }
                for b in plant.boms.values()
                for n, (component, qty, scrap) in enumerate(b.lines, start=1)
            ],
        )
        conn.execute(
            insert(OpenPurchaseOrder),
            [
                {"po_number": po.number, "vendor_code": "V1", "status": po.status, "sequence": 1}
                for po in plant.purchase_orders
            ],
        )
        open_po_lines = [
            {
                "po_number": po.number,
                "line_no": n,
                "sku": sku,
                "qty_open": ordered - received,
                "due_date": due,
            }
            for po in plant.purchase_orders
            if po.status in OPEN_PO_STATUSES
            for n, (sku, ordered, received, due) in enumerate(po.lines, start=1)
            if ordered > received
        ]
        if open_po_lines:
            conn.execute(insert(OpenPurchaseLine), open_po_lines)
        conn.execute(
            insert(PlannedLine),
            [
                {
                    "line_code": line.code,
                    "name": line.code,
                    "facility_code": "PLANT-1",
                    "timezone": "UTC",
                    "tooling_type": None,
                    "allergen_status": "handles_allergens",
                    "speed_modifier": line.speed,
                    "active": True,
                    "sequence": 1,
                    "shifts_by_weekday": ",".join(str(n) for n in line.shifts),
                    "capacity_sequence": 2,
                }
                for line in plant.lines
            ],
        )
        conn.execute(
            insert(PlannedCapacity),
            [
                {
                    "line_code": line.code,
                    "sku": sku,
                    "family": family,
                    "units_per_shift": units,
                    "effective_from": since,
                }
                for line in plant.lines
                for sku, family, units, since in line.capacities
            ],
        )
        conn.execute(
            insert(LinkedProductionOrder),
            [
                {
                    "order_code": job.code,
                    "so_number": job.so_number,
                    "so_line_no": job.so_line_no,
                    "root_order_code": None,
                    "reprint_of": None,
                    "sku": job.sku,
                    "status": job.status,
                    "qty_ordered": job.qty_to_make,
                    "qty_passed": job.qty_passed,
                    "qty_failed": ZERO,
                    "sequence": 1,
                    "qty_to_make": job.qty_to_make,
                    "qty_good": job.qty_good,
                    "line_code": job.line_code,
                }
                for job in plant.jobs
            ],
        )
        _load_sales(conn, plant, now)
        if runtime.db.dialect == "postgresql":
            conn.exec_driver_sql("ANALYZE")


def _load_sales(conn: Connection, plant: Plant, now: datetime) -> None:
    """mrp's own customers and sales orders (no event brings them: the sales API writes them)."""
    rows = conn.execute(
        insert(Customer).returning(Customer.code, Customer.id, sort_by_parameter_order=True),
        [
            {
                "code": code,
                "name": name,
                "priority": priority,
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
            for code, name, priority in plant.customers
        ],
    )
    ids = {code: customer_id for code, customer_id in rows}
    so_ids = conn.execute(
        insert(SalesOrder).returning(SalesOrder.id, sort_by_parameter_order=True),
        [
            {
                "number": so.number,
                "customer_id": ids[so.customer],
                "status": so.status,
                "order_date": PLAN_DATE - timedelta(days=30),
                "business_unit": so.business_unit,
                "contractual_penalty": so.penalty,
                "created_at": now,
                "updated_at": now,
            }
            for so in plant.orders
        ],
    ).scalars()
    conn.execute(
        insert(SalesOrderLine),
        [
            {
                "so_id": so_id,
                "line_no": line.line_no,
                "sku": line.sku,
                "qty_ordered": line.qty_ordered,
                "qty_shipped": line.qty_shipped,
                "qty_allocated": line.qty_allocated,
                "unit_price": line.unit_price,
                "due_date": line.due_date,
                "business_unit": line.business_unit,
            }
            for so_id, so in zip(list(so_ids), plant.orders, strict=True)
            for line in so.lines
        ],
    )


def event_load(runtime: ServiceRuntime, plant: Plant) -> int:
    """The read models fed as the other services' events, through the inbox and mrp's
    handlers (mrp's own customers and orders written as the sales API leaves them, before the
    production orders that settle them). Returns how many events were applied."""
    sequence = count(1)
    released = utc_now()

    def envelope(payload: EventPayload, key: str) -> Envelope:
        return Envelope(
            type=payload.event_type,
            version=payload.version,
            producer="bench",
            key=key,
            sequence=next(sequence),
            payload=payload.model_dump(mode="json"),
        )

    before: list[Envelope] = []
    for i in plant.items:
        before.append(
            envelope(
                ItemUpserted(
                    sku=i.sku,
                    name=i.sku,
                    uom=i.uom,
                    item_type=i.item_type,
                    make_or_buy="make" if i.make else "buy",
                    customer_supplied=i.customer_supplied,
                    family=i.family,
                    average_cost=D(1),
                ),
                i.sku,
            )
        )
    for s in plant.stock:
        before.append(
            envelope(
                StockChanged(
                    sku=s.sku,
                    on_hand=s.available + s.pending_qc,
                    available=s.available,
                    allocated=ZERO,
                    pending_qc=s.pending_qc,
                    wip=s.wip,
                    open_reservations=ZERO,
                    average_cost=D(1),
                ),
                s.sku,
            )
        )
    for b in plant.boms.values():
        before.append(
            envelope(
                BomReleased(
                    sku=b.sku,
                    bom_version=1,
                    output_qty=b.output_qty,
                    lines=tuple(
                        BomLine(line_no=n, component_sku=c, qty_per=q, scrap_pct=s)
                        for n, (c, q, s) in enumerate(b.lines, start=1)
                    ),
                    released_at=released,
                ),
                b.sku,
            )
        )
    for po in plant.purchase_orders:
        before.append(
            envelope(
                PurchaseOrderChanged(
                    po_number=po.number,
                    vendor_code="V1",
                    status=po.status,
                    order_date=PLAN_DATE - timedelta(days=7),
                    lines=tuple(
                        PurchaseOrderLine(
                            line_no=n,
                            sku=sku,
                            qty_ordered=q,
                            qty_received=r,
                            unit_cost=D(1),
                            due_date=due,
                        )
                        for n, (sku, q, r, due) in enumerate(po.lines, start=1)
                    ),
                ),
                po.number,
            )
        )
    for line in plant.lines:
        before.append(
            envelope(
                LineUpserted(
                    line_code=line.code,
                    name=line.code,
                    facility_code="PLANT-1",
                    speed_modifier=line.speed,
                ),
                line.code,
            )
        )
        before.append(
            envelope(
                CapacityChanged(
                    line_code=line.code,
                    facility_code="PLANT-1",
                    capacities=tuple(
                        LineCapacity(sku=sku, family=family, units_per_shift=u, effective_from=f)
                        for sku, family, u, f in line.capacities
                    ),
                    shifts_by_weekday=line.shifts,
                ),
                f"capacity:{line.code}",
            )
        )
    jobs = [
        envelope(
            ProductionOrderChanged(
                order_code=job.code,
                sku=job.sku,
                order_type="mto" if job.so_number else "mts",
                status=job.status,
                qty_ordered=job.qty_to_make,
                qty_to_make=job.qty_to_make,
                qty_good=job.qty_good,
                qty_passed=job.qty_passed,
                so_number=job.so_number,
                so_line_no=job.so_line_no,
                line_code=job.line_code,
            ),
            job.code,
        )
        for job in plant.jobs
    ]
    _apply(runtime, before)
    with runtime.db.engine.begin() as conn:
        _load_sales(conn, plant, utc_now())
    _apply(runtime, jobs)
    return len(before) + len(jobs)


def _apply(runtime: ServiceRuntime, envelopes: list[Envelope], batch: int = 200) -> None:
    for start in range(0, len(envelopes), batch):
        failures = runtime.consumer.apply_batch(envelopes[start : start + batch])
        if failures:
            raise SystemExit(f"the inbox refused events: {failures[:3]}")


# -- timing ------------------------------------------------------------------------------------


def figures(ms: list[float], cpu: list[float] | None = None) -> dict[str, float]:
    """p50 and max of wall times in ms; with this process's CPU time per call (p50), the
    steadier figure when other work shares the cores."""
    found = {"n": len(ms), "p50": statistics.median(ms), "max": max(ms), "min": min(ms)}
    if cpu:
        found["cpu_p50"] = statistics.median(cpu)
    return found


def timed(call: Callable[[], Any], reps: int) -> tuple[dict[str, float], Any]:
    ms, cpu, result = [], [], None
    for _ in range(reps):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = call()
        ms.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return figures(ms, cpu), result


class SqlClock:
    """Time spent inside cursor.execute and the number of statements, while on."""

    def __init__(self, engine: Engine) -> None:
        self.on = False
        self.seconds = 0.0
        self.statements = 0
        self._started = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *_: Any) -> None:
        self._started = time.perf_counter()

    def _after(self, *_: Any) -> None:
        if self.on:
            self.seconds += time.perf_counter() - self._started
            self.statements += 1

    @contextlib.contextmanager
    def counting(self) -> Iterator[None]:
        self.on, self.seconds, self.statements = True, 0.0, 0
        try:
            yield
        finally:
            self.on = False


class BackendCpu:
    """CPU seconds used so far by PostgreSQL's backends serving the bench's database (read
    from /proc: the server runs on this machine), so a run's cost on the server is counted
    beside this process's."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        self.database = make_url(runtime.db.url).database
        self.conn = psycopg.connect(libpq(runtime.db.url), autocommit=True)

    def seconds(self) -> float:
        total = 0.0
        for (pid,) in self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (self.database,),
        ):
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                total += process_cpu(pid)
        return total

    def close(self) -> None:
        self.conn.close()


def ranked_input(plan_input: PlanInput) -> tuple[list[Scored], PlanInput]:
    """The inputs with the lines in the default order (by due date), as run_mrp puts them."""
    ranked = by_due_date(plan_input.orders)
    return ranked, replace(plan_input, orders=[s.order for s in ranked])


def read_snapshot(uow: UnitOfWork) -> tuple[list[Scored], PlanInput]:
    """run_mrp's reading half: the open lines, their order, the rest of the inputs."""
    orders = snapshot.open_order_lines(uow.session)
    ranked = by_due_date(orders)
    return ranked, snapshot.plan_input(uow.session, PLAN_DATE, [s.order for s in ranked])


def save_result(uow: UnitOfWork, ranked: list[Scored], result: Plan) -> None:
    """run_mrp's writing half: the run's row, its lines and takes, older runs pruned."""
    now = utc_now()
    run = MrpRun(
        plan_date=PLAN_DATE,
        started_at=now,
        finished_at=now,
        requested_by="bench",
        ordering="due_date",
        settings="{}",
        order_lines=len(result.lines),
        engine_ms=0,
        total_ms=0,
    )
    uow.session.add(run)
    uow.session.flush()
    runs_service._save(uow, run.id, ranked, result)
    runs_service._prune(uow, run.id)
    uow.commit()


def lookup_walk(plan_input: PlanInput) -> int:
    """The pure-Python floor: every line in order, and every component of its whole BOM tree,
    each visited once with one dict lookup and nothing else. Returns the lookups made."""
    boms, stock = plan_input.boms, plan_input.stock
    lookups = 0
    for order in plan_input.orders:
        stock.get(order.sku)
        lookups += 1
        stack = [order.sku]
        while stack:
            for component in boms.get(stack.pop(), ()):
                stock.get(component.sku)
                lookups += 1
                stack.append(component.sku)
    return lookups


def engine_figures(plant: Plant, reps: int, profile: bool) -> dict[str, Any]:
    """The engine alone on the inputs in memory (what the snapshot reads: checked equal on each
    database), its floor, and the plan's shape."""
    _, plan_input = ranked_input(expected_input(plant))
    engine, result = timed(lambda: plan(plan_input), reps)
    walk, lookups = timed(lambda: lookup_walk(plan_input), reps)
    statuses = Counter(line.status.value for line in result.lines)
    out = {
        "engine": engine,
        "ceiling_lookup_walk": walk | {"lookups": lookups},
        "statuses": dict(statuses.most_common()),
        "material_dates": sum(line.material_date is not None for line in result.lines),
        "material_undated": sum(line.material_undated for line in result.lines),
        "takes": len(result.takes),
        "component_rows": sum(len(line.components) for line in result.lines),
        "lines_planned": len(result.lines),
    }
    if profile:
        out["profile"] = profiled(lambda: plan(plan_input))
    return out


def profiled(call: Callable[[], Any], top: int = 22) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    call()
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("tottime").print_stats(top)
    return text.getvalue()


# -- the ceilings of reading and writing -------------------------------------------------------

# The snapshot's statements as plain SQL (the same joins, filters and columns).
RAW_READS = (
    "SELECT so.number, l.line_no, l.sku, c.code, c.name, c.priority, "
    "coalesce(l.business_unit, so.business_unit), l.due_date, l.qty_ordered, l.qty_shipped, "
    "l.qty_allocated, l.unit_price, so.contractual_penalty FROM sales_order_lines l "
    "JOIN sales_orders so ON so.id = l.so_id JOIN customers c ON c.id = so.customer_id "
    "WHERE so.status IN ({so_statuses}) AND l.qty_ordered > l.qty_shipped",
    "SELECT order_code, so_number, so_line_no, root_order_code, reprint_of, status, qty_to_make, "
    "qty_good, qty_passed FROM linked_production_orders",
    "SELECT so.number, l.line_no, l.qty_allocated FROM sales_order_lines l "
    "JOIN sales_orders so ON so.id = l.so_id "
    "WHERE so.status IN ({so_statuses}) AND l.qty_allocated > 0",
    "SELECT sku, due_date, sum(qty_open) FROM open_purchase_lines GROUP BY sku, due_date "
    "ORDER BY sku, due_date",
    "SELECT sku, available, pending_qc FROM stock_levels",
    "SELECT sku, uom, make_or_buy, customer_supplied, family FROM known_items",
    "SELECT sku, output_qty FROM planned_boms",
    "SELECT sku, component_sku, qty_per, scrap_pct FROM planned_bom_lines ORDER BY sku, line_no",
    "SELECT line_code, speed_modifier, shifts_by_weekday FROM planned_lines WHERE active",
    "SELECT line_code, units_per_shift, effective_from, sku, family FROM planned_capacities",
    "SELECT line_code, sku, qty_to_make, qty_good FROM linked_production_orders "
    "WHERE status IN ({job_statuses}) AND line_code IS NOT NULL",
)


def raw_reads() -> list[str]:
    so_statuses = ", ".join(f"'{s.value}'" for s in PLANNED_SO_STATUSES)
    job_statuses = ", ".join(f"'{s}'" for s in OPEN_JOB_STATUSES)
    return [sql.format(so_statuses=so_statuses, job_statuses=job_statuses) for sql in RAW_READS]


class RawDriver:
    """The database with its driver alone: psycopg (NUMERIC as Decimal, COPY) or sqlite3
    (amounts as the integers SQLAlchemy stores there, executemany)."""

    RUN_COLUMNS = (
        "id, plan_date, started_at, finished_at, requested_by, ordering, settings, "
        "order_lines, engine_ms, total_ms"
    )

    def __init__(self, runtime: ServiceRuntime) -> None:
        self.postgresql = runtime.db.dialect == "postgresql"
        self.url = runtime.db.url
        self.pg: psycopg.Connection[Any] | None = None
        self.lite: sqlite3.Connection | None = None

    def __enter__(self) -> RawDriver:
        if self.postgresql:
            self.pg = psycopg.connect(libpq(self.url))
        else:
            self.lite = sqlite3.connect(make_url(self.url).database or "", isolation_level=None)
        return self

    def __exit__(self, *_: object) -> None:
        if self.pg is not None:
            self.pg.close()
        if self.lite is not None:
            self.lite.close()

    def read(self, statements: list[str]) -> int:
        if self.pg is not None:
            rows = sum(len(self.pg.execute(sql).fetchall()) for sql in statements)
            self.pg.rollback()
            return rows
        assert self.lite is not None
        return sum(len(self.lite.execute(sql).fetchall()) for sql in statements)

    def write(self, run_id: int, lines: list[tuple[Any, ...]], takes: list[tuple[Any, ...]]) -> int:
        """A run's row, then its lines and takes, in one transaction."""
        now = utc_now()
        line_columns = ", ".join(c.name for c in MrpLineResult.__table__.columns)
        take_columns = ", ".join(c.name for c in MrpComponentTake.__table__.columns)
        if self.pg is not None:
            self.pg.execute(
                f"INSERT INTO mrp_runs ({self.RUN_COLUMNS}) VALUES "
                "(%s, %s, %s, %s, 'bench', 'due_date', '{}', %s, 0, 0)",
                (run_id, PLAN_DATE, now, now, len(lines)),
            )
            with self.pg.cursor() as cursor:
                with cursor.copy(f"COPY mrp_line_results ({line_columns}) FROM STDIN") as copy:
                    for row in lines:
                        copy.write_row(row)
                with cursor.copy(f"COPY mrp_component_takes ({take_columns}) FROM STDIN") as copy:
                    for row in takes:
                        copy.write_row(row)
            self.pg.commit()
        else:
            assert self.lite is not None
            self.lite.execute("BEGIN IMMEDIATE")
            self.lite.execute(
                f"INSERT INTO mrp_runs ({self.RUN_COLUMNS}) VALUES "
                "(?, ?, ?, ?, 'bench', 'due_date', '{}', ?, 0, 0)",
                (run_id, PLAN_DATE.isoformat(), now.isoformat(), now.isoformat(), len(lines)),
            )
            self.lite.executemany(
                f"INSERT INTO mrp_line_results ({line_columns}) "
                f"VALUES ({', '.join('?' * len(lines[0]))})",
                lines,
            )
            self.lite.executemany(
                f"INSERT INTO mrp_component_takes ({take_columns}) "
                f"VALUES ({', '.join('?' * len(takes[0]))})",
                takes,
            )
            self.lite.execute("COMMIT")
        return len(lines) + len(takes)

    def clean(self, run_id: int) -> None:
        statements = [
            "DELETE FROM mrp_component_takes WHERE run_id = {}",
            "DELETE FROM mrp_line_results WHERE run_id = {}",
            "DELETE FROM mrp_runs WHERE id = {}",
        ]
        if self.pg is not None:
            for sql in statements:
                self.pg.execute(sql.format("%s"), (run_id,))
            self.pg.commit()
        else:
            assert self.lite is not None
            self.lite.execute("BEGIN IMMEDIATE")
            for sql in statements:
                self.lite.execute(sql.format("?"), (run_id,))
            self.lite.execute("COMMIT")


def raw_read_ceiling(runtime: ServiceRuntime, reps: int) -> dict[str, Any]:
    """The snapshot's rows read with the driver alone: fetched, nothing built."""
    statements = raw_reads()
    with RawDriver(runtime) as driver:
        driver.read(statements)
        found, rows = timed(lambda: driver.read(statements), reps)
    return found | {"rows": rows, "statements": len(statements)}


def result_rows(
    ranked: list[Scored], result: Plan, run_id: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows run_mrp keeps for this plan (its own functions)."""
    lines = [
        runs_service._line_row(run_id, scored, line)
        for scored, line in zip(ranked, result.lines, strict=True)
    ]
    return lines, runs_service._take_rows(run_id, result.takes)


def raw_write_ceiling(
    runtime: ServiceRuntime, ranked: list[Scored], result: Plan, reps: int
) -> dict[str, Any]:
    """The run's result rows (prepared beforehand: no JSON or rounding timed) written with the
    driver alone in one transaction with a run row: COPY on PostgreSQL, executemany on
    SQLite; deleted again after each repetition (not timed)."""
    run_id = 900_000
    lines, takes = result_rows(ranked, result, run_id)
    sqlite = runtime.db.dialect == "sqlite"
    line_values = [_driver_row(MrpLineResult.__table__, row, sqlite) for row in lines]
    take_values = [_driver_row(MrpComponentTake.__table__, row, sqlite) for row in takes]
    ms, rows = [], 0
    with RawDriver(runtime) as driver:
        for _ in range(reps):
            started = time.perf_counter()
            rows = driver.write(run_id, line_values, take_values)
            ms.append((time.perf_counter() - started) * 1000)
            driver.clean(run_id)
    return figures(ms) | {"rows": rows}


def _driver_row(table: Any, row: dict[str, Any], sqlite: bool) -> tuple[Any, ...]:
    """A row's values in column order; on SQLite as SQLAlchemy stores them there (amounts in
    ten-thousandths, ISO dates)."""
    values = []
    for column in table.columns:
        value = row[column.name]
        if sqlite and value is not None and isinstance(column.type, DecimalType):
            value = int(value * 10_000)
        elif sqlite and isinstance(value, date):
            value = value.isoformat()
        values.append(value)
    return tuple(values)


# -- the dashboard's first page ----------------------------------------------------------------

PAGE_PATH = "/api/v1/mrp/lines"
PAGE_PARAMS = {"limit": "50", "offset": "0"}


def first_page(runtime: ServiceRuntime, calls: int, expected_total: int) -> dict[str, Any]:
    """GET /api/v1/mrp/lines (the first page, 50 lines) through the service's ASGI app with
    httpx's ASGITransport, as a planner; if the route is not there (404), the statements the
    dashboard's first page runs, on mrp_line_results, in a read-only unit of work."""
    token = issue_service_token(SECRET, user="bench", roles=["planner"], ttl_seconds=3600)

    async def over_asgi() -> dict[str, Any] | None:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=runtime.app),
            base_url="http://mrp",
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        ) as client:
            answer = await client.get(PAGE_PATH, params=PAGE_PARAMS)
            if answer.status_code == 404 and "problem" not in answer.headers.get(
                "content-type", ""
            ):
                return None
            answer.raise_for_status()
            body = answer.json()
            assert body["total"] == expected_total, (body["total"], expected_total)
            assert len(body["items"]) == min(50, expected_total)
            ms = []
            size = len(answer.content)
            for _ in range(calls):
                started = time.perf_counter()
                answer = await client.get(PAGE_PATH, params=PAGE_PARAMS)
                answer.raise_for_status()
                ms.append((time.perf_counter() - started) * 1000)
            return figures(ms) | {"how": "route", "bytes": size}

    found = asyncio.run(over_asgi())
    if found is not None:
        return found

    def query() -> int:
        with runtime.uow(read_only=True) as uow:
            return equivalent_first_page(uow)

    total = query()
    assert total == expected_total, (total, expected_total)
    return timed(query, calls)[0] | {"how": "query"}


def equivalent_first_page(uow: UnitOfWork) -> int:
    """What the first page reads: the latest run, its first 50 lines by rank and their total,
    the counts per status, the filter bar's choices and the actions of the page's lines."""
    session = uow.session
    run_id = session.scalar(select(MrpRun.id).order_by(MrpRun.id.desc()).limit(1))
    of_run = MrpLineResult.run_id == run_id
    rows = session.scalars(
        select(MrpLineResult).where(of_run).order_by(MrpLineResult.rank).limit(50)
    ).all()
    total = session.scalar(select(func.count()).select_from(MrpLineResult).where(of_run))
    session.execute(
        select(MrpLineResult.status, func.count()).where(of_run).group_by(MrpLineResult.status)
    ).all()
    session.execute(
        select(MrpLineResult.status, func.count()).where(of_run).group_by(MrpLineResult.status)
    ).all()
    session.execute(select(MrpLineResult.business_unit).where(of_run).distinct()).all()
    session.execute(
        select(MrpLineResult.customer_code, MrpLineResult.customer_name).where(of_run).distinct()
    ).all()
    session.execute(select(MrpLineResult.due_date).where(of_run).distinct()).all()
    session.execute(
        select(MrpAction).where(MrpAction.so_number.in_([r.so_number for r in rows]))
    ).all()
    for row in rows:
        json.loads(row.components)
    return int(total or 0)


# -- one database ------------------------------------------------------------------------------


@contextlib.contextmanager
def database(kind: str, var: Path) -> Iterator[ServiceRuntime]:
    """The mrp service on a PostgreSQL database of the bench's own (dropped at the end,
    whatever happens) or on a SQLite file under `var` (the embedded mode's database)."""
    url: str | None = None
    name = f"portal_bench_mrp_{uuid.uuid4().hex[:8]}"
    if kind == "pg":
        with psycopg.connect(libpq(PG_URL), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    runtime = ServiceRuntime(
        registry.definition("mrp"),
        Settings(var_dir=var, demo_data=False, log_level="WARNING"),
        InProcessBus(),
        db_url=url,
        token_secret=SECRET,
    )
    try:
        runtime.migrate()
        yield runtime
    finally:
        runtime.db.engine.dispose()
        if kind == "pg":
            with psycopg.connect(libpq(PG_URL), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def measure(runtime: ServiceRuntime, plant: Plant, args: argparse.Namespace) -> dict[str, Any]:
    """Load, check, then each part of a run `--reps` times, the whole run, the first page and
    the ceilings of reading and writing the same rows."""
    out: dict[str, Any] = {}
    started = time.perf_counter()
    bulk_load(runtime, plant)
    out["load_s"] = time.perf_counter() - started
    with runtime.uow(read_only=True) as uow:
        ranked, plan_input = read_snapshot(uow)
    wrong = differences(plan_input, expected_input(plant))
    if wrong:
        raise SystemExit(f"the bulk load does not give the planner the plant's {wrong}")
    result = plan(plan_input)
    clock = SqlClock(runtime.db.engine)

    def full_run() -> MrpRun:
        with runtime.uow() as uow:
            run = run_mrp(uow, requested_by="bench", plan_date=PLAN_DATE)
            uow.commit()
            return run

    full_run()  # warm: the first run also fills the metadata and statement caches

    def read() -> tuple[list[Scored], PlanInput]:
        with runtime.uow(read_only=True) as uow:
            return read_snapshot(uow)

    def save() -> None:
        with runtime.uow() as uow:
            save_result(uow, ranked, result)

    out["snapshot"], _ = timed(read, args.reps)
    out["save"], _ = timed(save, args.reps)
    ms, cpu, sql_ms, statements, engine_ms, total_ms = [], [], [], 0, [], []
    server = BackendCpu(runtime) if runtime.db.dialect == "postgresql" else None
    server_ms: list[float] = []
    out["load_average"] = os.getloadavg()[0]
    for _ in range(args.reps):
        server_before = server.seconds() if server else 0.0
        with clock.counting():
            started, started_cpu = time.perf_counter(), time.process_time()
            run = full_run()
            ms.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        if server:
            server_ms.append((server.seconds() - server_before) * 1000)
        sql_ms.append(clock.seconds * 1000)
        statements = clock.statements
        engine_ms.append(run.engine_ms)
        total_ms.append(run.total_ms)
    out["run_mrp"] = figures(ms, cpu) | {
        "sql_p50": statistics.median(sql_ms),
        "statements": statements,
        "engine_ms_p50": statistics.median(engine_ms),
        "run_total_ms_p50": statistics.median(total_ms),
    }
    if server:
        out["run_mrp"]["server_cpu_p50"] = statistics.median(server_ms)
        server.close()
    check_stored(runtime, ranked, result)
    out["first_page"] = first_page(runtime, args.page_calls, len(plan_input.orders))
    out["ceiling_read"] = raw_read_ceiling(runtime, args.reps)
    out["ceiling_write"] = raw_write_ceiling(runtime, ranked, result, args.reps)
    if args.profile and abs(len(plan_input.orders) - 5000) == min(
        abs(n - 5000) for n in args.lines
    ):
        out["profile_run"] = profiled(full_run)
    return out


def check_stored(runtime: ServiceRuntime, ranked: list[Scored], result: Plan) -> None:
    """The latest run kept exactly the rows its plan gives (whatever way they were written)."""
    with runtime.db.engine.connect() as conn:
        run_id = conn.scalar(select(func.max(MrpRun.id)))
        assert run_id is not None
        want_lines, want_takes = result_rows(ranked, result, run_id)
        checks: list[tuple[Any, list[dict[str, Any]], tuple[str, ...]]] = [
            (MrpLineResult.__table__, want_lines, ("rank",)),
            (MrpComponentTake.__table__, want_takes, ("rank", "sku")),
        ]
        for table, want, key in checks:
            got = [
                dict(row._mapping)
                for row in conn.execute(select(table).where(table.c.run_id == run_id))
            ]
            if _in_order(got, key) != _in_order(want, key):
                raise SystemExit(f"{table.name} of run {run_id} is not what the plan gives")


def _in_order(rows: list[dict[str, Any]], key: tuple[str, ...]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: tuple(row[k] for k in key))


def event_check(plant: Plant, var: Path) -> dict[str, Any]:
    """The same plant loaded through the inbox on SQLite gives the planner the same inputs as
    the bulk load (both are compared with the plant itself), and the same plan."""
    with database("sqlite", var / "events") as runtime:
        started = time.perf_counter()
        events = event_load(runtime, plant)
        seconds = time.perf_counter() - started
        with runtime.uow(read_only=True) as uow:
            _, plan_input = read_snapshot(uow)
        wrong = differences(plan_input, expected_input(plant))
        if wrong:
            raise SystemExit(f"the events do not give the planner the plant's {wrong}")
    return {"events": events, "seconds": seconds}


# -- the run -----------------------------------------------------------------------------------


def machine_text() -> dict[str, Any]:
    found = machine()
    found["memory_gib"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    with psycopg.connect(libpq(PG_URL), autocommit=True) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    found["postgresql"] = row[0] if row else "?"
    found["sqlite"] = sqlite3.sqlite_version
    return found


def code_version() -> str:
    def git(*words: str) -> str:
        done = subprocess.run(["git", *words], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.rstrip()

    changed = git("status", "--porcelain", "--", "services/mrp", "shared").splitlines()
    return git("rev-parse", "--short", "HEAD") + (
        f" with {len(changed)} files changed under services/mrp and shared" if changed else ""
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    configure_logging("WARNING", json=False)
    results: dict[str, Any] = {
        "command": " ".join(["bench/mrp.py", *sys.argv[1:]]),
        "code": code_version(),
        "machine": machine_text(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "sizes": {},
    }
    m = results["machine"]
    say(f"code: {results['code']}")
    say(
        f"machine: {m['cores']} cores, {m['cpu']}, {m['memory_gib']} GiB, "
        f"Python {m['python']}, PostgreSQL {m['postgresql']}, SQLite {m['sqlite']}; "
        f"load average {m['load_average'][0]:.2f}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-mrp-") as var:
        if args.event_check:
            plant = build_plant(args.lines[0], po_dates=args.po_dates)
            found = event_check(plant, Path(var))
            results["event_check"] = found
            say(
                f"check: {found['events']:,} events through the inbox (SQLite, "
                f"{found['seconds']:.1f} s) give the planner the same inputs as the bulk load"
            )
        for n in args.lines:
            plant = build_plant(n, po_dates=args.po_dates)
            # A served process has frozen what it holds for good (shared/runtime.py); the
            # plant is the bench's own and would not be there: out of the collector's way too.
            gc.collect()
            gc.freeze()
            size: dict[str, Any] = {"engine": engine_figures(plant, args.reps, args.profile)}
            results["sizes"][str(n)] = size
            report_engine(n, size["engine"])
            for kind in args.backend:
                with database(kind, Path(var) / f"{kind}-{n}") as runtime:
                    size[kind] = measure(runtime, plant, args)
                report_backend(n, kind, size[kind])
            gc.unfreeze()
    results["load_average_end"] = os.getloadavg()
    report(results, args)
    return results


# -- printing ----------------------------------------------------------------------------------

BACKENDS = {"pg": "PostgreSQL", "sqlite": "SQLite"}


def fmt(f: dict[str, float]) -> str:
    cpu = f"  cpu {f['cpu_p50']:7.1f}" if "cpu_p50" in f else " " * 13
    return f"p50 {f['p50']:8.1f}  max {f['max']:8.1f}{cpu} ms"


def report_engine(n: int, e: dict[str, Any]) -> None:
    say(f"\n{n:,} open lines: " + ", ".join(f"{k} {v}" for k, v in e["statuses"].items()))
    say(
        f"  {e['component_rows']:,} component rows, {e['takes']:,} takes; "
        f"{e['material_dates']:,} lines wait for a PO's due date, "
        f"{e['material_undated']:,} take PO quantity without one"
    )
    say(f"  engine alone (plan, in memory)        {fmt(e['engine'])}")
    w = e["ceiling_lookup_walk"]
    say(f"  ceiling: a dict lookup per component  {fmt(w)}  ({w['lookups']:,} lookups)")
    if "profile" in e:
        say("  cProfile of the engine:\n" + e["profile"])


def report_backend(n: int, kind: str, b: dict[str, Any]) -> None:
    say(f"  {BACKENDS[kind]} (loaded in {b['load_s']:.1f} s):")
    r = b["run_mrp"]
    server = f"; PostgreSQL's CPU {r['server_cpu_p50']:.0f} ms" if "server_cpu_p50" in r else ""
    say(
        f"    run_mrp, whole transaction         {fmt(r)}  (SQL {r['sql_p50']:.0f} ms in "
        f"{r['statements']} statements but COPY; engine {r['engine_ms_p50']:.0f} ms by the run "
        f"itself{server}; load average {b['load_average']:.1f})"
    )
    say(f"    snapshot (read the inputs)         {fmt(b['snapshot'])}")
    say(f"    save (run, lines, takes, prune)    {fmt(b['save'])}")
    c = b["ceiling_read"]
    say(f"    ceiling: raw SELECTs, driver alone {fmt(c)}  ({c['rows']:,} rows)")
    c = b["ceiling_write"]
    how = "COPY" if kind == "pg" else "executemany"
    say(f"    ceiling: result rows by {how:11} {fmt(c)}  ({c['rows']:,} rows)")
    p = b["first_page"]
    what = "GET /api/v1/mrp/lines (ASGI)" if p["how"] == "route" else "first page, its SQL"
    say(f"    {what:34} {fmt(p)}  (n={p['n']})")
    if "profile_run" in b:
        say("    cProfile of one run_mrp:\n" + b["profile_run"])


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    sizes = results["sizes"]
    say("\nper 1,000 lines, ms (p50 wall / p50 CPU of this process):")
    header = f"  {'lines':>7}  {'engine':>13}"
    for kind in args.backend:
        for part in ("snapshot", "save", "run_mrp"):
            header += f"  {BACKENDS[kind][:6] + ' ' + part:>17}"
    say(header)
    for n, size in sizes.items():
        per = 1000 / int(n)
        engine = size["engine"]["engine"]
        row = f"  {int(n):>7,}  {engine['p50'] * per:6.1f} /{engine['cpu_p50'] * per:6.1f}"
        for kind in args.backend:
            for key in ("snapshot", "save", "run_mrp"):
                f = size[kind][key]
                row += f"  {f['p50'] * per:8.1f} /{f['cpu_p50'] * per:7.1f}"
        say(row)
    if "5000" in sizes:
        for kind in args.backend:
            p50 = sizes["5000"][kind]["run_mrp"]["p50"]
            verdict = "PASS" if p50 < TARGET_MS else "MISS"
            say(
                f"{verdict}: run_mrp at 5,000 lines on {BACKENDS[kind]}: p50 {p50:.0f} ms "
                f"(target < {TARGET_MS:.0f} ms)"
            )
    if len(sizes) > 1:
        first, last = min(sizes, key=int), max(sizes, key=int)

        for kind in args.backend:
            a, b = sizes[first][kind]["run_mrp"], sizes[last][kind]["run_mrp"]
            say(
                f"growth on {BACKENDS[kind]}: run_mrp per line at {int(last):,} lines is "
                f"{b['p50'] / a['p50'] * int(first) / int(last):.2f}x its wall time and "
                f"{b['cpu_p50'] / a['cpu_p50'] * int(first) / int(last):.2f}x its CPU per line "
                f"at {int(first):,} (1.00 = linear)"
            )
        a, b = sizes[first]["engine"]["engine"], sizes[last]["engine"]["engine"]
        ratio = b["cpu_p50"] / a["cpu_p50"] * int(first) / int(last)
        say(f"growth of the engine alone: {ratio:.2f}x its CPU per line")
    end = results["load_average_end"]
    say(f"load average at the end: {end[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--lines", type=int, nargs="+", default=[1000, 5000, 20_000], help="open order lines"
    )
    parser.add_argument("--quick", action="store_true", help="1,000 lines only")
    parser.add_argument("--reps", type=int, default=5, help="repetitions of each figure")
    parser.add_argument("--page-calls", type=int, default=20, help="first-page calls timed")
    parser.add_argument(
        "--backend", choices=("pg", "sqlite"), action="append", help="default: both"
    )
    parser.add_argument(
        "--no-event-check",
        dest="event_check",
        action="store_false",
        help="skip loading the first size through the inbox as well",
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the engine and one run near 5,000 lines"
    )
    parser.add_argument(
        "--undated-pos",
        dest="po_dates",
        action="store_false",
        help="purchase-order lines without due dates (the plant before material dates)",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.quick:
        args.lines = [1000]
    args.backend = args.backend or ["pg", "sqlite"]
    # SIGTERM as Ctrl-C, so the database is dropped (a background job ignores SIGINT).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    results = run(args)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
