"""The general ledger at 1,000,000 and 10,000,000 journal lines on PostgreSQL: posting, the
trial balance, one account's general-ledger detail for a month and the reconciliation with
inventory, beside the naive query (one aggregate scan of every line) as the contrast (issue 7).

    .venv/bin/python bench/ledger.py [--lines 1000000 10000000] [--runs 200] [--post 2000]
        [--naive-runs 50] [--slow-runs 5] [--days 900] [--explain] [--try-line-dates]
        [--json bench/results/ledger.json]

The books (seeded, so every run writes the same ones): a plant of 1,600 bought and 400 made
items, simulated day by day over `--days` days ending yesterday (~2.5 years; weekdays busy,
Saturdays light, Sundays quiet). Each entry is what a posting rule of docs/accounting.md would
write for its event, with its dimensions (item, location, production, sales and purchase
order), its document, its source event and its memo: receipts (Dr 1200 / Cr 2000), issues to
production orders (Dr 1210 / Cr 1200), output (Dr 1220, Dr 5400 for scrap / Cr 1210), QC
scrap, count adjustments, shipments (Dr 5000 / Cr 1220, Dr 1100 / Cr 4000), customer and
vendor payments, and manual entries of 2 to 6 lines; about 2.5 lines per entry. The simulation
never takes more out of an item's stock, an order's WIP or a payable than went in, so every
inventory balance stays positive and the inventory service can hold the same stock.

Loading. Entries are written with COPY in transactions of about 100,000 lines, and each such
transaction also adds its lines to `account_day_balances` with the posting engine's own upsert
(`services.accounting.posting._add_to_day_balance`: debit + excluded.debit, credit +
excluded.credit per account and day) and moves `journal_sequences` to the last number given,
so at every commit the kept balances, the numbering and the lines agree, as `post_draft`
leaves them. The database's own checks stay on (the CHECK constraints, the foreign keys and
the deferred trigger that proves each entry's lines balance at commit). A second thread builds
the next batch while PostgreSQL takes the current one. After the load: VACUUM ANALYZE (what
autovacuum reaches on its own in a live system).

Posting itself: `--post` entries (dated today, from the same simulation) go through the real
`post_draft`, each in its own unit of work and transaction, one after the other; entries/s and
the p50/p99 per entry (from the draft to the commit) are printed beside the bulk rate.

Then, warm, `--runs` times each (p50 / p90 / p99 / max in ms of wall time, the mean CPU time of
this process and the mean time in its garbage collector per call; a fresh read-only unit of
work per call, as the API makes one):

- trial balance as of today: `reports.service.trial_balance(uow, today)`;
- GL detail: `reports.service.general_ledger(uow, code, first, last, PageParams())` for last
  month, for the busiest account (1200) and a quiet one (1000), first page of 50 lines;
- reconciliation as of today, three ways: the GL side alone (`ledger_side`); inventory's
  `GET /api/v1/valuation` alone (the inventory service's app in this process, through httpx's
  ASGI transport as the embedded mode reaches its peers, with a signed token; inventory holds
  the simulation's stock of the 2,000 items as stock balances); and the whole report,
  `GET /api/v1/reports/reconciliation` on the accounting app through the same transport, with
  `app.state.upstreams = {"inventory": <that client>}`: auth, the GL side, the peer call
  through `shared.web.peers.call_peer`, the comparison and the JSON (beside them, the floor of
  any call to inventory: `GET /api/v1/items/{sku}` through the same client). The books agree, so
  nothing is flagged and no document is listed. The whole report is timed again after
  `gc.freeze()` of everything alive (what freezing at a service's start-up would do);
- the GL side of a flagged reconciliation's explanation (`ledger_by_document`, every
  inventory-account line up to the day by document and item, and from the first of last
  month: `documents_from`), fewer times (`--slow-runs`);
- the ceiling/contrast, in the same run: the naive query `SELECT account_code, sum(debit),
  sum(credit) FROM journal_lines GROUP BY account_code` with psycopg alone (`--naive-runs`).

At each size it runs the ledger check (`reports.service.ledger_check`: every kept account-day
against a sum of the lines) and compares the trial balance with the naive scan account by
account, and prints both. `--lines` takes one size or several; with several, the database
grows from one to the next (the extra lines spread over the same days: a busier plant).
`--explain` prints EXPLAIN (ANALYZE, BUFFERS) of every statement each report runs.
`--try-line-dates` also copies the lines with their entry's date on each (indexed by account,
date, entry, line) and times the GL page's and the explanation's SQL on the copy beside the
same SQL on the lines as they are: the change these figures point to, measured, not built.

It creates databases of its own on the server PORTAL_TEST_PG_URL names and drops them at the
end, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import queue
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bom import libpq, machine, say, summary  # noqa: E402
from services.accounting.bootstrap import definition as accounting_definition  # noqa: E402
from services.accounting.domain import Dimensions, DraftLine, JournalDraft  # noqa: E402
from services.accounting.models import LedgerItem  # noqa: E402
from services.accounting.posting import Provenance, _add_to_day_balance, post_draft  # noqa: E402
from services.accounting.reports import service as reports  # noqa: E402
from services.accounting.reports.schemas import PeerValuation  # noqa: E402
from services.accounting.service import seed_chart_of_accounts  # noqa: E402
from services.inventory.bootstrap import definition as inventory_definition  # noqa: E402
from shared.auth.tokens import issue_service_token  # noqa: E402
from shared.bus.inprocess import InProcessBus  # noqa: E402
from shared.clock import plant_today  # noqa: E402
from shared.events.envelope import Envelope  # noqa: E402
from shared.logging import configure_logging  # noqa: E402
from shared.migrations import upgrade  # noqa: E402
from shared.runtime import ServiceRuntime  # noqa: E402
from shared.settings import Settings  # noqa: E402
from shared.web.pagination import PageParams  # noqa: E402

PG_URL = os.environ.get(
    "PORTAL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SECRET = "bench-ledger-secret-" + "x" * 40
RAW_ITEMS, MADE_ITEMS = 1600, 400
BATCH_LINES = 100_000
LINES_PER_ENTRY = 2.47  # what the mix below averages (printed exactly after each load)
TARGETS_MS = {"trial_balance": 20.0, "gl_detail_1200": 20.0, "reconciliation": 100.0}
NAIVE_SQL = "SELECT account_code, sum(debit), sum(credit) FROM journal_lines GROUP BY account_code"
WEEKDAY_WEIGHT = (1.0, 1.0, 1.0, 1.0, 1.0, 0.3, 0.1)


# -- the plant: entries as a posting rule would write them, amounts in integer cents ---------


# account, debit, credit (cents), item, location, production order, sales order, PO, memo
Line = tuple[str, int, int, str | None, str | None, str | None, str | None, str | None, str | None]


@dataclass
class Entry:
    day: date
    entry_type: str
    document_type: str | None
    document_ref: str | None
    memo: str
    source_type: str | None  # the event it posts; None for a manual entry
    lines: list[Line]


@dataclass
class Order:
    code: str
    product: int
    issued: dict[int, int] = field(default_factory=dict)  # raw item -> cents at WIP

    @property
    def wip(self) -> int:
        return sum(self.issued.values())


def plain(code: str, debit: int, credit: int, memo: str | None = None) -> Line:
    """A line without dimensions."""
    return (code, debit, credit, None, None, None, None, None, memo)


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def raw_sku(n: int) -> str:
    return f"RM-{n:05d}"


def made_sku(n: int) -> str:
    return f"FG-{n:04d}"


class Plant:
    """One stream of business: its own orders and documents, the items all streams share. Its
    stock per item, WIP per order and open payables and receivables never go below zero."""

    # The mix by entries (cumulative weights), before the fall-backs when stock is short.
    MIX = (
        (0.22, "receipt"),
        (0.47, "issue"),
        (0.55, "output"),
        (0.57, "qc_scrap"),
        (0.60, "adjustment"),
        (0.76, "shipment"),
        (0.88, "customer_payment"),
        (0.94, "vendor_payment"),
        (1.00, "manual"),
    )

    def __init__(self, stream: int, seed: int = 7) -> None:
        self.rng = random.Random(seed * 1_000 + stream)
        self.tag = f"B{stream}"
        self.raw = [0] * RAW_ITEMS
        self.made = [0] * MADE_ITEMS
        self.orders: dict[str, Order] = {}
        self.last_order_of: dict[int, str] = {}
        self.payables: deque[tuple[str, int]] = deque()
        self.receivables: deque[tuple[str, int]] = deque()
        self.counters: dict[str, int] = defaultdict(int)
        self.po: tuple[str, int, int] | None = None  # number, amount, lines so far
        self.po_size = 0
        self.started = False

    def next(self, kind: str) -> int:
        self.counters[kind] += 1
        return self.counters[kind]

    def days(self, first: date, last: date, entries: int) -> Iterator[Entry]:
        """About `entries` entries over the days first..last, busier on weekdays."""
        days = [first + timedelta(n) for n in range((last - first).days + 1)]
        weight = sum(WEEKDAY_WEIGHT[day.weekday()] for day in days)
        owed = 0.0
        for day in days:
            owed += entries * WEEKDAY_WEIGHT[day.weekday()] / weight
            count = int(owed)
            owed -= count
            for _ in range(count):
                yield self.entry(day)

    def entry(self, day: date) -> Entry:
        if not self.started:
            self.started = True
            return self.manual(day, opening=True)
        r = self.rng.random()
        kind = next(name for limit, name in self.MIX if r < limit)
        method: Callable[[date], Entry] = getattr(self, kind)
        return method(day)

    # -- one method per kind of entry ----------------------------------------------------------

    def pick_raw(self) -> int:
        return int(RAW_ITEMS * self.rng.random() ** 2)  # some items much busier than others

    def pick_made(self) -> int:
        return int(MADE_ITEMS * self.rng.random() ** 2)

    def receipt(self, day: date) -> Entry:
        rng = self.rng
        if self.po is None or self.po[2] >= self.po_size:
            if self.po is not None:
                self.payables.append((self.po[0], self.po[1]))
            self.po = (f"PO-{self.tag}-{self.next('po'):06d}", 0, 0)
            self.po_size = rng.randint(1, 8)
        number, amount, lines = self.po
        item, cents, qty = self.pick_raw(), rng.randint(5_000, 500_000), rng.randint(1, 500)
        self.po = (number, amount + cents, lines + 1)
        self.raw[item] += cents
        sku = raw_sku(item)
        location = "QC" if rng.random() < 0.2 else "RAW"
        cost = cents * 100 // qty
        memo = (
            f"Receipt {number} line {lines + 1}: {qty} {sku} @ {cost // 10000}.{cost % 10000:04d}"
        )
        return Entry(
            day,
            "material_receipt",
            "purchase_order",
            number,
            memo,
            "MaterialReceived",
            [
                ("1200", cents, 0, sku, location, None, None, number, None),
                ("2000", 0, cents, sku, location, None, None, number, None),
            ],
        )

    def open_order(self) -> Order:
        rng = self.rng
        if len(self.orders) < 40 or rng.random() < 0.05:
            product = self.pick_made()
            code = f"WO-{self.tag}-{self.next('wo'):06d}"
            self.orders[code] = Order(code, product)
            self.last_order_of[product] = code
            return self.orders[code]
        return self.orders[rng.choice(list(self.orders))]

    def issue(self, day: date) -> Entry:
        item = next((n for n in (self.pick_raw() for _ in range(4)) if self.raw[n] > 0), None)
        if item is None:
            return self.receipt(day)
        order = self.open_order()
        cents = max(1, int(self.raw[item] * self.rng.uniform(0.05, 0.4)))
        self.raw[item] -= cents
        order.issued[item] = order.issued.get(item, 0) + cents
        sku, code = raw_sku(item), order.code
        qty = self.rng.randint(1, 200)
        return Entry(
            day,
            "material_issue",
            "production_order",
            code,
            f"Issue to {code}: {qty} {sku}",
            "MaterialIssued",
            [
                ("1210", cents, 0, sku, "RAW", code, None, None, None),
                ("1200", 0, cents, sku, "RAW", code, None, None, None),
            ],
        )

    def output(self, day: date) -> Entry:
        ready = [order for order in self.orders.values() if len(order.issued) >= 3]
        if not ready:
            return self.issue(day)
        order = self.rng.choice(ready)
        del self.orders[order.code]
        total = order.wip
        bad = int(total * self.rng.uniform(0.01, 0.05)) if self.rng.random() < 0.4 else 0
        good = total - bad
        self.made[order.product] += good
        sku, code = made_sku(order.product), order.code
        qty = self.rng.randint(10, 2_000)
        lines: list[Line] = [
            ("1220", good, 0, sku, "FG", code, None, None, f"{qty} good"),
        ]
        if bad:
            lines.append(("5400", bad, 0, sku, "SCRAP", code, None, None, "scrapped at the run"))
        lines.append(("1210", 0, total, sku, "WIP", code, None, None, None))
        return Entry(
            day,
            "production_output",
            "production_order",
            code,
            f"Output of {code}: {qty} good {sku}",
            "FinishedGoodsReceived",
            lines,
        )

    def stocked_product(self) -> int | None:
        return next((n for n in (self.pick_made() for _ in range(4)) if self.made[n] > 0), None)

    def qc_scrap(self, day: date) -> Entry:
        product = self.stocked_product()
        if product is None or product not in self.last_order_of:
            return self.output(day)
        cents = max(1, int(self.made[product] * self.rng.uniform(0.01, 0.1)))
        self.made[product] -= cents
        sku, code = made_sku(product), self.last_order_of[product]
        return Entry(
            day,
            "qc_scrap",
            "production_order",
            code,
            f"QC of {code}: {sku} failed (visual)",
            "FinishedGoodsInspected",
            [
                ("5400", cents, 0, sku, "QC", code, None, None, None),
                ("1220", 0, cents, sku, "QC", code, None, None, None),
            ],
        )

    def adjustment(self, day: date) -> Entry:
        rng = self.rng
        made = rng.random() < 0.3
        item = self.pick_made() if made else self.pick_raw()
        stock = self.made if made else self.raw
        account, sku, location = (
            ("1220", made_sku(item), "FG") if made else ("1200", raw_sku(item), "RAW")
        )
        cents = rng.randint(100, 20_000)
        gain = rng.random() < 0.5 or stock[item] < cents
        stock[item] += cents if gain else -cents
        ref = f"ADJ-{self.tag}-{self.next('adj'):06d}"
        debit, credit = (account, "5500") if gain else ("5500", account)
        return Entry(
            day,
            "stock_adjustment",
            "adjustment",
            ref,
            f"Adjustment {ref} {sku} at {location} (cycle_count)",
            "StockAdjusted",
            [
                (debit, cents, 0, sku, location, None, None, None, None),
                (credit, 0, cents, sku, location, None, None, None, None),
            ],
        )

    def shipment(self, day: date) -> Entry:
        product = self.stocked_product()
        if product is None:
            return self.output(day)
        rng = self.rng
        cost = max(1, int(self.made[product] * rng.uniform(0.1, 0.5)))
        sales = int(cost * rng.uniform(1.2, 1.8)) + 1
        self.made[product] -= cost
        so = f"SO-{self.tag}-{self.next('so'):06d}"
        self.receivables.append((so, sales))
        sku, qty = made_sku(product), rng.randint(1, 500)
        memo = f"line 1: {qty} {sku}"
        return Entry(
            day,
            "shipment",
            "sales_order",
            so,
            f"Shipment SHP-{so[3:]} of {so} to C-{rng.randint(1, 300):04d}",
            "OrderShipped",
            [
                ("5000", cost, 0, sku, "FG", None, so, None, memo),
                ("1220", 0, cost, sku, "FG", None, so, None, memo),
                ("1100", sales, 0, sku, None, None, so, None, memo),
                ("4000", 0, sales, sku, None, None, so, None, memo),
            ],
        )

    def customer_payment(self, day: date) -> Entry:
        if len(self.receivables) < 20:
            return self.shipment(day)
        so, cents = self.receivables.popleft()
        return Entry(
            day,
            "customer_payment",
            "sales_order",
            so,
            f"Payment PAY-{self.tag}-{self.next('pay'):06d} for {so}",
            "PaymentReceived",
            [
                ("1000", cents, 0, None, None, None, so, None, None),
                ("1100", 0, cents, None, None, None, so, None, None),
            ],
        )

    def vendor_payment(self, day: date) -> Entry:
        if len(self.payables) < 10:
            return self.receipt(day)
        po, cents = self.payables.popleft()
        bill = f"BILL-{po}"
        return Entry(
            day,
            "vendor_payment",
            "vendor_bill",
            bill,
            f"Payment VP-{self.tag}-{self.next('vp'):06d} for {bill}",
            "VendorPaymentMade",
            [
                ("2000", cents, 0, None, None, None, None, None, None),
                ("1000", 0, cents, None, None, None, None, None, None),
            ],
        )

    def manual(self, day: date, opening: bool = False) -> Entry:
        """2 to 6 lines on cash, equity and expense accounts (never an inventory account: a
        manual entry there is a difference the reconciliation would show)."""
        rng = self.rng
        if opening:
            cents = 500_000_000
            lines = [plain("1000", cents, 0, "capital"), plain("3000", 0, cents, "capital")]
            return Entry(day, "manual", None, None, "Opening capital", None, lines)
        count = rng.randint(2, 6)
        debits = rng.randint(1, count - 1)
        amounts = [rng.randint(1_000, 200_000) for _ in range(debits)]
        total = sum(amounts)
        credits = count - debits
        cuts = sorted(rng.sample(range(1, total), credits - 1)) if credits > 1 else []
        parts = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
        debit_codes, credit_codes = ("5500", "5400", "3100", "1000"), ("1000", "3000", "5500")
        lines = [plain(rng.choice(debit_codes), amount, 0) for amount in amounts]
        lines += [plain(rng.choice(credit_codes), 0, part) for part in parts]
        number = self.next("manual")
        return Entry(day, "manual", None, None, f"Accrual {self.tag}-{number}", None, lines)

    # -- what inventory holds when the books agree ---------------------------------------------

    def stock(self) -> dict[tuple[str, str, str], int]:
        """Cents per (sku, make_or_buy, location) of this stream's stock."""
        held: dict[tuple[str, str, str], int] = defaultdict(int)
        for n, cents in enumerate(self.raw):
            if cents:
                held[(raw_sku(n), "buy", "RAW")] += cents
        for n, cents in enumerate(self.made):
            if cents:
                held[(made_sku(n), "make", "FG")] += cents
        for order in self.orders.values():
            for n, cents in order.issued.items():
                held[(raw_sku(n), "buy", "WIP")] += cents
        return held


# -- loading with COPY ---------------------------------------------------------------------


ENTRY_COLUMNS = (
    "id, number, entry_date, entry_type, source_event_id, source_event_type, document_type, "
    "document_ref, memo, total_debit, total_credit, created_at, posted_by"
)
LINE_COLUMNS = (
    "entry_id, line_no, account_code, debit, credit, item_sku, location, production_order, "
    "sales_order, purchase_order, memo"
)


def nul(value: str | None) -> str:
    return "\\N" if value is None else value


@dataclass
class Batch:
    """About BATCH_LINES lines of entries, ready to COPY, and what they add to the day
    balances and the numbering."""

    entries: int
    lines: int
    entries_text: str
    lines_text: str
    day_rows: list[dict[str, object]]
    last_id: int
    numbers: dict[int, int]  # year -> last number given, after this batch


def batch_entries(plant: Plant, first: date, last: date, entries: int) -> Iterator[list[Entry]]:
    current: list[Entry] = []
    lines = 0
    for entry in plant.days(first, last, entries):
        current.append(entry)
        lines += len(entry.lines)
        if lines >= BATCH_LINES:
            yield current
            current, lines = [], 0
    if current:
        yield current


@dataclass
class Loader:
    """Writes entries as the posting engine would leave them, a batch per transaction: entries
    and lines by COPY, the day balances by the engine's own upsert, the year's last number.

    Nothing else writes the ledger meanwhile, so the loader gives the entry ids itself (and
    moves the id sequence past them) and keeps the numbering counters."""

    engine: Engine
    rng: random.Random
    numbers: dict[int, int] = field(default_factory=dict)  # year -> last number given
    next_id: int = 1

    def start(self) -> None:
        with self.engine.connect() as conn:
            self.numbers = dict(
                conn.execute(text("SELECT year, last_number FROM journal_sequences")).all()
            )
            last = conn.execute(text("SELECT coalesce(max(id), 0) FROM journal_entries"))
            self.next_id = int(last.scalar_one()) + 1

    def prepare(self, entries: list[Entry]) -> Batch:
        """The COPY text of the entries and lines, and the day-balance rows they add."""
        rng = self.rng
        entry_rows: list[str] = []
        line_rows: list[str] = []
        days: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0])
        first_id = self.next_id
        for entry_id, entry in enumerate(entries, start=first_id):
            year = entry.day.year
            self.numbers[year] = number = self.numbers.get(year, 0) + 1
            total = sum(line[1] for line in entry.lines)
            source = (
                str(uuid.UUID(int=rng.getrandbits(128), version=4)) if entry.source_type else None
            )
            moment = f"{entry.day} {rng.randint(6, 21):02d}:{rng.randint(0, 59):02d}:00+00"
            entry_rows.append(
                f"{entry_id}\tJE-{year:04d}-{number:05d}\t{entry.day}\t{entry.entry_type}\t"
                f"{nul(source)}\t{nul(entry.source_type)}\t{nul(entry.document_type)}\t"
                f"{nul(entry.document_ref)}\t{entry.memo}\t{money(total)}\t{money(total)}\t"
                f"{moment}\t{nul(None if entry.source_type else 'bench-accountant')}\n"
            )
            for line_no, (code, debit, credit, *dims, memo) in enumerate(entry.lines, start=1):
                line_rows.append(
                    f"{entry_id}\t{line_no}\t{code}\t{money(debit)}\t{money(credit)}\t"
                    + "\t".join(nul(value) for value in (*dims, memo))
                    + "\n"
                )
                kept = days[(code, entry.day)]
                kept[0] += debit
                kept[1] += credit
        self.next_id = first_id + len(entries)
        day_rows: list[dict[str, object]] = [
            {
                "account_code": code,
                "day": day,
                "debit": Decimal(debit).scaleb(-2),
                "credit": Decimal(credit).scaleb(-2),
            }
            for (code, day), (debit, credit) in sorted(days.items())
        ]
        return Batch(
            len(entries),
            len(line_rows),
            "".join(entry_rows),
            "".join(line_rows),
            day_rows,
            self.next_id - 1,
            dict(self.numbers),
        )

    def write(self, batch: Batch) -> None:
        with self.engine.begin() as conn:
            driver = conn.connection.driver_connection
            assert isinstance(driver, psycopg.Connection)
            with driver.cursor() as cur:
                cur.execute(
                    "SELECT setval(pg_get_serial_sequence('journal_entries', 'id'), %s)",
                    (batch.last_id,),
                )
                with cur.copy(f"COPY journal_entries ({ENTRY_COLUMNS}) FROM STDIN") as copy:
                    copy.write(batch.entries_text)
                with cur.copy(f"COPY journal_lines ({LINE_COLUMNS}) FROM STDIN") as copy:
                    copy.write(batch.lines_text)
            conn.execute(_add_to_day_balance("postgresql"), batch.day_rows)
            conn.execute(
                text(
                    "INSERT INTO journal_sequences (year, last_number) VALUES (:year, :last) "
                    "ON CONFLICT (year) DO UPDATE SET last_number = EXCLUDED.last_number"
                ),
                [{"year": year, "last": last} for year, last in sorted(batch.numbers.items())],
            )


def bulk_load(
    engine: Engine, plant: Plant, first: date, last: date, lines: int
) -> dict[str, float]:
    """About `lines` lines of `plant` over first..last; a thread simulates and prepares the
    next batches while this one writes."""
    loader = Loader(engine, random.Random(plant.rng.random()))
    loader.start()
    ready: queue.Queue[Batch | BaseException | None] = queue.Queue(maxsize=3)

    def produce() -> None:
        try:
            for entries in batch_entries(plant, first, last, round(lines / LINES_PER_ENTRY)):
                ready.put(loader.prepare(entries))
            ready.put(None)
        except BaseException as exc:  # handed to the writer, which raises it
            ready.put(exc)

    producer = threading.Thread(target=produce, daemon=True)
    started = time.perf_counter()
    producer.start()
    written_lines = written_entries = 0
    next_report = 1_000_000
    waited = 0.0  # the writer waiting for the simulation: the load is bound by Python then
    while True:
        began = time.perf_counter()
        batch = ready.get()
        waited += time.perf_counter() - began
        if batch is None:
            break
        if isinstance(batch, BaseException):
            raise batch
        loader.write(batch)
        written_lines += batch.lines
        written_entries += batch.entries
        if written_lines >= next_report:
            elapsed = time.perf_counter() - started
            say(
                f"  loaded {written_lines:,} lines in {elapsed:.0f} s "
                f"({written_lines / elapsed:,.0f} lines/s)"
            )
            next_report += 1_000_000
    producer.join()
    elapsed = time.perf_counter() - started
    return {
        "lines": written_lines,
        "entries": written_entries,
        "seconds": elapsed,
        "lines_per_s": written_lines / elapsed,
        "entries_per_s": written_entries / elapsed,
        "writer_waited_s": waited,
    }


def vacuum_analyze(url: str) -> float:
    started = time.perf_counter()
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        for table in ("journal_entries", "journal_lines", "account_day_balances"):
            conn.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started


# -- posting through the engine ------------------------------------------------------------


def as_draft(entry: Entry) -> tuple[JournalDraft, Provenance]:
    lines = tuple(
        DraftLine(
            code,
            debit=Decimal(debit).scaleb(-2) if debit else Decimal(0),
            credit=Decimal(credit).scaleb(-2) if credit else Decimal(0),
            dimensions=Dimensions(item, location, order, sales_order, purchase_order),
            memo=memo,
        )
        for code, debit, credit, item, location, order, sales_order, purchase_order, memo in (
            entry.lines
        )
    )
    draft = JournalDraft(
        entry_date=entry.day,
        entry_type=entry.entry_type,
        lines=lines,
        memo=entry.memo,
        document_type=entry.document_type,
        document_ref=entry.document_ref,
    )
    if entry.source_type is None:
        return draft, Provenance(posted_by="bench-accountant")
    source = Envelope(
        type=entry.source_type, producer="bench", key=entry.document_ref or "", payload={}
    )
    return draft, Provenance(source=source)


def post_sample(runtime: ServiceRuntime, plant: Plant, day: date, count: int) -> dict[str, Any]:
    """`count` entries through `post_draft`, each in its own transaction, one after another."""
    drafts = [as_draft(plant.entry(day)) for _ in range(count)]
    ms: list[float] = []
    started = time.perf_counter()
    for draft, posted in drafts:
        began = time.perf_counter()
        with runtime.uow() as uow:
            assert post_draft(uow, draft, posted) is not None
            uow.commit()
        ms.append((time.perf_counter() - began) * 1000)
    elapsed = time.perf_counter() - started
    lines = sum(len(draft.lines) for draft, _posted in drafts)
    return summary(ms) | {
        "entries": count,
        "lines": lines,
        "seconds": elapsed,
        "entries_per_s": count / elapsed,
        "lines_per_s": lines / elapsed,
    }


# -- inventory holding the same stock --------------------------------------------------------


def stock_inventory(runtime: ServiceRuntime, plants: list[Plant]) -> dict[str, int]:
    """Replace inventory's items and stock balances with the plants' stock (one row per item
    and location, approved, no lot); returns the cents per class."""
    held: dict[tuple[str, str, str], int] = defaultdict(int)
    for plant in plants:
        for key, cents in plant.stock().items():
            held[key] += cents
    classes = {"raw": 0, "wip": 0, "finished": 0}
    with runtime.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM stock_balances"))
        known: dict[str, int] = dict(conn.execute(text("SELECT sku, id FROM items")).all())
        skus = {(raw_sku(n), "buy") for n in range(RAW_ITEMS)} | {
            (made_sku(n), "make") for n in range(MADE_ITEMS)
        }
        new = [
            {
                "sku": sku,
                "name": f"Bench item {sku}",
                "item_type": "finished" if make_or_buy == "make" else "raw",
                "make_or_buy": make_or_buy,
            }
            for sku, make_or_buy in sorted(skus)
            if sku not in known
        ]
        if new:
            conn.execute(
                text(
                    "INSERT INTO items (sku, name, uom, item_type, make_or_buy, "
                    "customer_supplied, reorder_point, reorder_qty, average_cost, active, "
                    "requires_qc, created_at, updated_at) VALUES (:sku, :name, 'ea', "
                    ":item_type, :make_or_buy, false, 0, 0, 0, true, false, now(), now())"
                ),
                new,
            )
            known = dict(conn.execute(text("SELECT sku, id FROM items")).all())
        rows = []
        for (sku, make_or_buy, location), cents in sorted(held.items()):
            kind = "wip" if location == "WIP" else "finished" if make_or_buy == "make" else "raw"
            classes[kind] += cents
            value = Decimal(cents).scaleb(-2)
            rows.append(
                {
                    "item_id": known[sku],
                    "location": location,
                    "qty": (value / Decimal("2.5")).quantize(Decimal("0.0001")),
                    "value": value,
                }
            )
        conn.execute(
            text(
                "INSERT INTO stock_balances (item_id, location_code, lot, status, qty, value, "
                "updated_at) VALUES (:item_id, :location, '', 'approved', :qty, :value, now())"
            ),
            rows,
        )
        conn.execute(text("ANALYZE items"))
        conn.execute(text("ANALYZE stock_balances"))
    return classes


def remember_items(runtime: ServiceRuntime) -> None:
    """Accounting's read model of the items (what ItemUpserted would have left)."""
    with runtime.uow() as uow:
        for n in range(RAW_ITEMS):
            uow.session.add(
                LedgerItem(sku=raw_sku(n), make_or_buy="buy", item_type="raw", sequence=1)
            )
        for n in range(MADE_ITEMS):
            uow.session.add(
                LedgerItem(sku=made_sku(n), make_or_buy="make", item_type="finished", sequence=1)
            )
        uow.commit()


# -- timing --------------------------------------------------------------------------------


class Collections:
    """Time this process spends in the cyclic garbage collector, and its full collections."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.full = 0
        self._began = 0.0
        gc.callbacks.append(self.observe)

    def observe(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._began
            self.full += info["generation"] == 2

    def since(self, mark: tuple[float, int], runs: int) -> dict[str, float]:
        return {
            "gc_ms_mean": (self.seconds - mark[0]) / runs * 1000,
            "gc_full": self.full - mark[1],
        }

    def mark(self) -> tuple[float, int]:
        return self.seconds, self.full


COLLECTIONS = Collections()


def timed(call: Callable[[], Any], runs: int, warm_up: int = 3) -> tuple[dict[str, float], Any]:
    result = None
    for _ in range(warm_up):
        result = call()
    ms = []
    cpu, collected = time.process_time(), COLLECTIONS.mark()
    for _ in range(runs):
        began = time.perf_counter()
        result = call()
        ms.append((time.perf_counter() - began) * 1000)
    cpu_mean = (time.process_time() - cpu) / runs * 1000
    return summary(ms) | {"cpu_mean": cpu_mean} | COLLECTIONS.since(collected, runs), result


async def atimed(
    call: Callable[[], Awaitable[Any]], runs: int, warm_up: int = 3
) -> tuple[dict[str, float], Any]:
    result = None
    for _ in range(warm_up):
        result = await call()
    ms = []
    cpu, collected = time.process_time(), COLLECTIONS.mark()
    for _ in range(runs):
        began = time.perf_counter()
        result = await call()
        ms.append((time.perf_counter() - began) * 1000)
    cpu_mean = (time.process_time() - cpu) / runs * 1000
    return summary(ms) | {"cpu_mean": cpu_mean} | COLLECTIONS.since(collected, runs), result


@contextmanager
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements (and parameters) run on `engine` inside the block."""
    seen: list[tuple[str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def explain(runtime: ServiceRuntime, name: str, call: Callable[[], Any]) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of every SELECT `call` runs, each with its own time."""
    with statements(runtime.db.engine) as seen:
        call()
    out = [f"--- {name}: {len(seen)} statements"]
    with runtime.db.engine.connect() as conn:
        for statement, parameters in seen:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            plan = conn.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters or {}
            ).scalars()
            out.append(statement.replace("\n", " "))
            out.extend("    " + line for line in plan)
    return out


# -- one size ------------------------------------------------------------------------------


@dataclass
class Books:
    url: str
    accounting: ServiceRuntime
    inventory: ServiceRuntime
    accounting_client: httpx.AsyncClient
    inventory_client: httpx.AsyncClient
    today: date


async def measure(books: Books, args: argparse.Namespace) -> dict[str, Any]:
    acc = books.accounting
    today = books.today
    month_last = today.replace(day=1) - timedelta(days=1)
    month_first = month_last.replace(day=1)
    out: dict[str, Any] = {"load_average_before": os.getloadavg()}

    def read(use: Callable[[Any], Any]) -> Callable[[], Any]:
        def call() -> Any:
            with acc.uow(read_only=True) as uow:
                return use(uow)

        return call

    trial = read(lambda uow: reports.trial_balance(uow, today))
    out["trial_balance"], balance = timed(trial, args.runs)

    def detail(code: str) -> Callable[[], Any]:
        return read(
            lambda uow: reports.general_ledger(uow, code, month_first, month_last, PageParams())
        )

    gl = {code: detail(code) for code in ("1200", "1000")}
    for code, call in gl.items():
        out[f"gl_detail_{code}"], _ledger = timed(call, args.runs)
    side = read(lambda uow: reports.ledger_side(uow, today))
    out["reconciliation_gl_side"], ledger_side = timed(side, args.runs)

    async def valuation() -> dict[str, Any]:
        answer = await books.inventory_client.get(
            "/api/v1/valuation", params={"as_of": today.isoformat()}
        )
        answer.raise_for_status()
        body: dict[str, Any] = answer.json()
        PeerValuation.model_validate(body)  # what the report reads of it
        return body

    out["reconciliation_inventory_call"], peer = await atimed(valuation, args.runs)

    async def bare() -> None:
        answer = await books.inventory_client.get(f"/api/v1/items/{raw_sku(0)}")
        answer.raise_for_status()

    # The floor of any call to inventory here: auth, one row read, a small JSON.
    out["inventory_bare_get"], _item = await atimed(bare, args.runs)

    async def whole() -> dict[str, Any]:
        answer = await books.accounting_client.get(
            "/api/v1/reports/reconciliation", params={"as_of": today.isoformat()}
        )
        answer.raise_for_status()
        body: dict[str, Any] = answer.json()
        return body

    out["reconciliation"], report = await atimed(whole, args.runs)
    out["reconciliation"]["flagged"] = report["flagged"]
    out["reconciliation"]["total_gl"] = report["total_gl"]
    out["reconciliation"]["total_inventory"] = report["total_inventory"]
    out["reconciliation"]["inventory_items"] = len(peer.get("items", ()))
    # The same with what was alive before frozen out of the collector's reach, as
    # `gc.freeze()` once a service has started would do (docs/performance.md, BOM section).
    gc.collect()
    gc.freeze()
    try:
        out["reconciliation_frozen"], _report = await atimed(whole, args.runs)
    finally:
        gc.unfreeze()
    by_document = read(lambda uow: reports.ledger_by_document(uow, ledger_side))
    out["explain_gl_side"], documents = timed(by_document, args.slow_runs, warm_up=1)
    out["explain_gl_side"]["keys"] = len(documents)
    by_month = read(lambda uow: reports.ledger_by_document(uow, ledger_side, month_first))
    out["explain_gl_side_month"], documents = timed(by_month, args.slow_runs, warm_up=1)
    out["explain_gl_side_month"]["keys"] = len(documents)

    with psycopg.connect(libpq(books.url)) as conn:
        for code in gl:
            row = conn.execute(
                "SELECT count(*) FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id"
                " WHERE l.account_code = %s AND e.entry_date BETWEEN %s AND %s",
                (code, month_first, month_last),
            ).fetchone()
            out[f"gl_detail_{code}"]["month_lines"] = row[0] if row else 0
        naive_rows: list[tuple[Any, ...]] = []

        def naive() -> None:
            naive_rows[:] = conn.execute(NAIVE_SQL).fetchall()

        out["naive_scan"], _ = timed(naive, args.naive_runs)
    out["load_average_after"] = os.getloadavg()

    # The proofs: the kept balances against the lines, two ways.
    began = time.perf_counter()
    with acc.uow(read_only=True) as uow:
        check = reports.ledger_check(uow)
    out["ledger_check"] = {
        "seconds": time.perf_counter() - began,
        "matches": check.matches,
        "accounts": check.accounts_checked,
        "account_days": check.days_checked,
        "mismatches": len(check.mismatches),
    }
    naive_by_code = {code: (debit, credit) for code, debit, credit in naive_rows}
    trial_by_code = {
        row.code: (row.total_debit, row.total_credit)
        for row in balance.rows
        if (row.total_debit, row.total_credit) != (0, 0)
    }
    out["trial_balance_equals_naive_scan"] = trial_by_code == naive_by_code
    out["trial_balance_balanced"] = balance.balanced
    out["trial_balance_total"] = str(balance.total_debit)

    if args.explain:
        lines: list[str] = []
        lines += explain(acc, "trial balance", trial)
        lines += explain(acc, "GL detail 1200", gl["1200"])
        lines += explain(acc, "GL detail 1000", gl["1000"])
        lines += explain(acc, "reconciliation GL side", side)
        lines += explain(acc, "explanation's GL side, all the books", by_document)
        lines += explain(acc, "explanation's GL side, from last month", by_month)
        out["explain"] = lines
    return out


# The GL page and the explanation's month as the reports run them today, and as they would
# run with the entry's date on each line (the change this bench's figures point to).
GL_PAGE = (
    "SELECT e.number, e.entry_date, e.entry_type, e.document_type, e.document_ref, "
    "coalesce(l.memo, e.memo), l.debit, l.credit, l.item_sku, l.location, l.production_order, "
    "l.sales_order, l.purchase_order FROM {lines} l JOIN journal_entries e ON e.id = l.entry_id "
    "WHERE l.account_code = %(code)s AND {dated}.entry_date BETWEEN %(first)s AND %(last)s "
    "ORDER BY {dated}.entry_date, {dated}.{id}, l.line_no LIMIT 51"
)
BY_DOCUMENT = (
    "SELECT e.document_type, e.document_ref, CASE WHEN e.document_type IS NULL THEN e.number "
    "END, l.account_code, l.item_sku, sum(l.debit), sum(l.credit) FROM {lines} l "
    "JOIN journal_entries e ON e.id = l.entry_id WHERE l.account_code IN ('1200', '1210', "
    "'1220') AND {dated}.entry_date BETWEEN %(first)s AND %(last)s "
    "AND e.entry_date BETWEEN %(first)s AND %(last)s GROUP BY 1, 2, 3, 4, 5"
)


def fetch_all(conn: psycopg.Connection[Any], sql: str, params: dict[str, Any]) -> list[Any]:
    return conn.execute(sql, params).fetchall()


def try_line_dates(
    url: str, first: date, last: date, today: date, args: argparse.Namespace
) -> dict[str, Any]:
    """Copy journal_lines with each entry's date on its lines, index it by (account_code,
    entry_date, entry_id, line_no), and time the GL page and the explanation's month on it
    beside the same SQL on the lines as they are (psycopg alone, SQL only)."""
    out: dict[str, Any] = {}
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        began = time.perf_counter()
        conn.execute(
            "CREATE TABLE journal_lines_dated AS SELECT l.*, e.entry_date FROM journal_lines l "
            "JOIN journal_entries e ON e.id = l.entry_id"
        )
        conn.execute(
            "CREATE INDEX ix_dated_account_date ON journal_lines_dated "
            "(account_code, entry_date, entry_id, line_no)"
        )
        conn.execute("VACUUM ANALYZE journal_lines_dated")
        out["build_s"] = time.perf_counter() - began
        now = {"lines": "journal_lines", "dated": "e", "id": "id"}
        dated = {"lines": "journal_lines_dated", "dated": "l", "id": "entry_id"}
        cases = [
            (f"gl_page_{code}_{name}", GL_PAGE.format(**shape), {"code": code}, args.runs)
            for code in ("1200", "1000")
            for name, shape in (("now", now), ("dated", dated))
        ] + [
            (f"by_document_month_{name}", BY_DOCUMENT.format(**shape), {}, args.slow_runs)
            for name, shape in (("now", now), ("dated", dated))
        ]
        plans: list[str] = []
        for key, sql, params, runs in cases:
            bound = params | {"first": first, "last": last}
            if key.startswith("by_document"):
                bound = {"first": first, "last": today}
            out[key], _rows = timed(partial(fetch_all, conn, sql, bound), runs)
            if args.explain:
                plans.append(f"--- {key}")
                plans.extend(
                    "    " + str(row[0])
                    for row in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, bound)
                )
        out["explain"] = plans
        conn.execute("DROP TABLE journal_lines_dated")
    return out


def database_size(url: str) -> dict[str, int]:
    with psycopg.connect(libpq(url)) as conn:
        rows = conn.execute(
            "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relname IN "
            "('journal_entries', 'journal_lines', 'account_day_balances')"
        ).fetchall()
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM journal_lines), (SELECT count(*) FROM journal_entries),"
            " (SELECT count(*) FROM account_day_balances)"
        ).fetchone()
    assert counts is not None
    return {name: int(size) for name, size in rows} | {
        "lines": counts[0],
        "entries": counts[1],
        "day_balance_rows": counts[2],
    }


@contextmanager
def fresh_database(kind: str) -> Iterator[str]:
    name = f"portal_bench_ledger_{kind}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq(PG_URL), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(libpq(PG_URL), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def code_version() -> str:
    """The commit measured, and the files under services/ and shared/ changed since it."""

    def git(*words: str) -> str:
        done = subprocess.run(["git", *words], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.rstrip()

    changed = git("status", "--porcelain", "--", "services", "shared").splitlines()
    return git("rev-parse", "--short", "HEAD") + (
        f" with {len(changed)} files changed: " + ", ".join(c[3:] for c in changed)
        if changed
        else ""
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    configure_logging("WARNING", json=False)
    settings = Settings(demo_data=False, log_level="WARNING")
    today = plant_today(settings)
    first = today - timedelta(days=args.days)
    results: dict[str, Any] = {
        "code": code_version(),
        "machine": machine(),
        "days": f"{first} .. {today - timedelta(days=1)} (bulk), {today} (posted)",
        "sizes": {},
    }
    say(f"code: {results['code']}; machine: {results['machine']}")
    bus = InProcessBus()
    with fresh_database("acc") as acc_url, fresh_database("inv") as inv_url:
        upgrade(accounting_definition(), acc_url)
        upgrade(inventory_definition(), inv_url)
        accounting = ServiceRuntime(
            accounting_definition(), settings, bus, db_url=acc_url, token_secret=SECRET
        )
        inventory = ServiceRuntime(
            inventory_definition(), settings, bus, db_url=inv_url, token_secret=SECRET
        )
        with accounting.uow() as uow:
            seed_chart_of_accounts(uow, Settings())
            uow.commit()
        inventory.seed()
        remember_items(accounting)
        token = issue_service_token(SECRET, user="bench", roles=["admin"], ttl_seconds=86_400)
        auth = {"Authorization": f"Bearer {token}"}
        inventory_peer = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=inventory.app), base_url="http://inventory"
        )
        accounting.app.state.upstreams = {"inventory": inventory_peer}
        books = Books(
            acc_url,
            accounting,
            inventory,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=accounting.app),
                base_url="http://accounting",
                headers=auth,
            ),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=inventory.app),
                base_url="http://inventory",
                headers=auth,
            ),
            today,
        )
        plants: list[Plant] = []
        lines_so_far = 0
        try:
            for size in sorted(args.lines):
                plant = Plant(stream=len(plants))
                plants.append(plant)
                wanted = size - lines_so_far - round(args.post * LINES_PER_ENTRY)
                say(f"loading {wanted:,} lines over {first} .. {today - timedelta(days=1)}")
                load = bulk_load(accounting.db.engine, plant, first, today - timedelta(1), wanted)
                say(
                    f"  {load['lines']:,} lines, {load['entries']:,} entries in "
                    f"{load['seconds']:.0f} s ({load['lines_per_s']:,.0f} lines/s)"
                )
                load["vacuum_analyze_s"] = vacuum_analyze(acc_url)
                say(f"posting {args.post} entries through post_draft, dated {today}")
                posting = post_sample(accounting, plant, today, args.post)
                say(
                    f"  {posting['entries_per_s']:.0f} entries/s, p50 {posting['p50']:.1f} ms, "
                    f"p99 {posting['p99']:.1f} ms"
                )
                classes = stock_inventory(inventory, plants)
                size_info = database_size(acc_url)
                lines_so_far = size_info["lines"]
                say(f"timing the reports at {lines_so_far:,} lines")
                figures = await measure(books, args)
                results["sizes"][str(size)] = {
                    "load": load,
                    "posting": posting,
                    "database": size_info,
                    "inventory_cents": classes,
                    **figures,
                }
                report(str(size), results["sizes"][str(size)])
                if args.try_line_dates:
                    say("timing the GL page and the explanation with entry_date on the lines")
                    month_last = today.replace(day=1) - timedelta(days=1)
                    tried = try_line_dates(
                        acc_url, month_last.replace(day=1), month_last, today, args
                    )
                    results["sizes"][str(size)]["line_dates"] = tried
                    report_line_dates(tried)
        finally:
            for client in (books.accounting_client, books.inventory_client, inventory_peer):
                await client.aclose()
            accounting.db.dispose()
            inventory.db.dispose()
    results["machine_after"] = machine()
    say(f"machine at the end: {results['machine_after']}")
    return results


def report(size: str, r: dict[str, Any]) -> None:
    d, load, posting = r["database"], r["load"], r["posting"]
    say(f"=== {d['lines']:,} journal lines ({d['entries']:,} entries, {size} asked)")
    say(
        f"tables: lines {d['journal_lines'] / 2**20:,.0f} MiB, entries "
        f"{d['journal_entries'] / 2**20:,.0f} MiB, day balances {d['day_balance_rows']:,} rows"
    )
    say(
        f"bulk load: {load['lines']:,} lines in {load['seconds']:.0f} s = "
        f"{load['lines_per_s']:,.0f} lines/s ({load['entries_per_s']:,.0f} entries/s); "
        f"VACUUM ANALYZE {load['vacuum_analyze_s']:.0f} s"
    )
    say(
        f"post_draft: {posting['entries']} entries ({posting['lines']} lines) in "
        f"{posting['seconds']:.1f} s = {posting['entries_per_s']:.0f} entries/s; per entry p50 "
        f"{posting['p50']:.2f} p90 {posting['p90']:.2f} p99 {posting['p99']:.2f} "
        f"max {posting['max']:.2f} ms"
    )
    say(
        f"load average {r['load_average_before'][0]:.2f} before the timings, "
        f"{r['load_average_after'][0]:.2f} after"
    )
    for key, label in (
        ("trial_balance", "trial balance as of today"),
        ("gl_detail_1200", "GL detail 1200, last month"),
        ("gl_detail_1000", "GL detail 1000, last month"),
        ("reconciliation_gl_side", "reconciliation: GL side"),
        ("reconciliation_inventory_call", "reconciliation: inventory"),
        ("inventory_bare_get", "floor: inventory GET one item"),
        ("reconciliation", "reconciliation (endpoint)"),
        ("reconciliation_frozen", "reconciliation, gc.freeze()"),
        ("explain_gl_side", "explain: GL by document, all"),
        ("explain_gl_side_month", "explain: GL by document, month+"),
        ("naive_scan", "naive: scan all lines"),
    ):
        s = r[key]
        extra = f"  ({s['month_lines']:,} lines in the month)" if "month_lines" in s else ""
        extra += f"  ({s['keys']:,} document keys)" if "keys" in s else ""
        say(
            f"  {label:34} n={s['n']:3}  p50 {s['p50']:8.2f}  p90 {s['p90']:8.2f}  "
            f"p99 {s['p99']:8.2f}  max {s['max']:8.2f}  cpu {s['cpu_mean']:7.2f}  "
            f"gc {s['gc_ms_mean']:6.2f} ms ({s['gc_full']} full){extra}"
        )
    rec = r["reconciliation"]
    say(
        f"reconciliation: flagged {rec['flagged']}, GL {rec['total_gl']} = inventory "
        f"{rec['total_inventory']} ({rec['inventory_items']} items)"
    )
    check = r["ledger_check"]
    say(
        f"ledger check: matches={check['matches']} ({check['accounts']} accounts, "
        f"{check['account_days']:,} account-days, {check['mismatches']} mismatches) in "
        f"{check['seconds']:.1f} s; trial balance = naive scan per account: "
        f"{r['trial_balance_equals_naive_scan']}; balanced {r['trial_balance_balanced']} "
        f"(total {r['trial_balance_total']})"
    )
    for key, target in TARGETS_MS.items():
        p99 = r[key]["p99"]
        say(
            f"  {'PASS' if p99 < target else 'MISS'}: {key} p99 {p99:.1f} ms "
            f"(target < {target:.0f})"
        )
    for line in r.get("explain", []):
        say(line)


def report_line_dates(r: dict[str, Any]) -> None:
    say(f"with entry_date on the lines (a copy of journal_lines built in {r['build_s']:.0f} s):")
    for key, s in r.items():
        if isinstance(s, dict):
            say(
                f"  {key:28} n={s['n']:3}  p50 {s['p50']:8.2f}  p90 {s['p90']:8.2f}  "
                f"p99 {s['p99']:8.2f}  max {s['max']:8.2f} ms"
            )
    for line in r["explain"]:
        say(line)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument(
        "--lines", type=int, nargs="+", default=[1_000_000, 10_000_000], help="sizes to time"
    )
    parser.add_argument("--runs", type=int, default=200, help="calls timed per report")
    parser.add_argument("--naive-runs", type=int, default=50, help="naive scans timed")
    parser.add_argument("--slow-runs", type=int, default=5)
    parser.add_argument("--post", type=int, default=2000, help="entries through post_draft")
    parser.add_argument("--days", type=int, default=900)
    parser.add_argument("--explain", action="store_true", help="print the reports' plans")
    parser.add_argument(
        "--try-line-dates",
        action="store_true",
        help="also time the GL page and the explanation on a copy of the lines with their date",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = asyncio.run(run(args))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
