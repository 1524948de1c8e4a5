"""Fault tests (DESIGN §4, §10): kill the relay, a consumer or the broker connection mid-stream,
deliver an event twice, poison one; the books and the stock must still come out exact.

Every test ends on the same check, `assert_exact_books`: one journal entry per receipt line (Dr
1200 / Cr 2000 of the line's value, numbered without gaps), a balanced trial balance with 1200 =
2000 = the sum of the line values, one stock transaction per line, and per SKU the on-hand
quantity and value that were received: not one more, not one less. The expected figures are
computed here from the receipt lines with Decimal, each value rounded half up to the cent as
purchasing does, with unit costs of four decimals chosen so that half-even rounding would differ.

Two harnesses:
- `LocalPortal`: inventory, purchasing and accounting as `ServiceRuntime` objects in this
  process, each on its own PostgreSQL database and its own `RabbitMQBus` (the real broker), so
  a test can stop a relay, fail one of its steps, or wrap a consumer to count deliveries.
- `running_cluster`: `portal serve` processes (inventory, purchasing, accounting, gateway), driven
  through the gateway's API, for SIGKILL and broker-connection faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import random
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Protocol

import aio_pika
import httpx
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool
from yarl import URL

from services import registry
from services.accounting.reports import service as accounting_reports
from services.inventory import service as inventory_service
from services.inventory.schemas import ItemCreate
from services.purchasing import service as purchasing_service
from services.purchasing.schemas import PurchaseOrderCreate, ReceiptCreate, VendorCreate
from shared.bus.rabbitmq import RabbitMQBus
from shared.clock import plant_today
from shared.db import Database, normalise_url
from shared.events.catalogue import MaterialReceived
from shared.events.envelope import Envelope, utc_now
from shared.messaging.relay import OutboxRelay
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from shared.uow import UnitOfWork
from tests.support import servers
from tests.support.cluster import PORTAL, Cluster, sign_in
from tests.support.flow import account_balance, ok
from tests.support.tcp_proxy import TcpProxy

FLOW_SERVICES = ("inventory", "purchasing", "accounting")
CLUSTER_SERVICES = (*FLOW_SERVICES, "gateway")
VENDOR = "ACME"
SECRET = "fault-test-secret-" + "x" * 32

# --------------------------------------------------------------------------------------------
# What is received, and what the books must say about it
# --------------------------------------------------------------------------------------------

CENT = Decimal("0.01")


def money(amount: Decimal) -> Decimal:
    """To the cent, half up: what purchasing's extended_value promises."""
    return amount.quantize(CENT, ROUND_HALF_UP)


# (qty, unit cost, value): each a half cent or close to it; half-even gives a different cent
# for 0.125, 0.025 and 0.005 (and 0.00 for the last, which would post no journal at all).
HALF_CENT_CASES = [
    ("1", "0.1250", "0.13"),
    ("5", "0.0250", "0.13"),
    ("2.5", "0.0100", "0.03"),
    ("3", "0.0050", "0.02"),
    ("7", "1.2345", "8.64"),
    ("0.25", "0.0500", "0.01"),
    ("1", "0.0050", "0.01"),
]


@dataclass(frozen=True)
class Line:
    """One PO line, received in full by one receipt line."""

    sku: str
    qty: Decimal
    unit_cost: Decimal
    to_status: str = "approved"

    @property
    def value(self) -> Decimal:
        return money(self.qty * self.unit_cost)


@dataclass(frozen=True)
class Plan:
    skus: tuple[str, ...]
    orders: list[list[Line]]  # each PO's lines, line_no = index + 1
    receipts: list[tuple[int, list[int]]]  # (PO index, line numbers), interleaved across POs

    @property
    def lines(self) -> list[Line]:
        return [line for order in self.orders for line in order]


def make_plan(
    count: int, *, po_size: int = 100, receipt_size: int = 10, seed: int = 7, skus: int = 6
) -> Plan:
    """`count` receipt lines on POs of up to `po_size` lines, received `receipt_size` at a time.

    The first lines are the half-cent cases; the rest have random quarter quantities and unit
    costs of four decimals (never worth less than a cent, which would post nothing).
    """
    rng = random.Random(seed)
    names = tuple(f"FLT-{n:02d}" for n in range(skus))
    lines = []
    for n in range(count):
        if n < len(HALF_CENT_CASES):
            qty, cost, value = (Decimal(v) for v in HALF_CENT_CASES[n])
        else:
            qty = Decimal(rng.randint(1, 400)) / 4
            cost = Decimal(rng.randint(500, 99_999)) / 10_000
            value = money(qty * cost)
        line = Line(names[n % skus], qty, cost, "pending_qc" if n % 7 == 3 else "approved")
        assert line.value == value > 0
        lines.append(line)
    orders = [lines[i : i + po_size] for i in range(0, count, po_size)]
    per_po = [
        [
            (po, list(range(start + 1, min(start + receipt_size, len(order)) + 1)))
            for start in range(0, len(order), receipt_size)
        ]
        for po, order in enumerate(orders)
    ]
    # Round robin across POs, so that concurrent pushers rarely queue on one PO's row lock.
    receipts = [
        of_po[rank]
        for rank in range(max(len(of_po) for of_po in per_po))
        for of_po in per_po
        if rank < len(of_po)
    ]
    return Plan(skus=names, orders=orders, receipts=receipts)


@dataclass(frozen=True)
class Expected:
    lines: int
    total: Decimal
    values: list[Decimal]
    stock: dict[str, dict[str, Decimal]]


def expected_books(lines: Sequence[Line]) -> Expected:
    stock: dict[str, dict[str, Decimal]] = {}
    for line in lines:
        zero = Decimal(0)
        level = stock.setdefault(
            line.sku, {"on_hand": zero, "available": zero, "pending_qc": zero, "value": zero}
        )
        level["on_hand"] += line.qty
        level["value"] += line.value
        level["pending_qc" if line.to_status == "pending_qc" else "available"] += line.qty
    values = sorted(line.value for line in lines)
    return Expected(lines=len(lines), total=sum(values, Decimal(0)), values=values, stock=stock)


# --------------------------------------------------------------------------------------------
# Reading the databases directly
# --------------------------------------------------------------------------------------------


class Probe:
    """Plain SQL on the services' databases, for what the API does not show (counts, outbox)."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = dict(urls)
        self._engines: dict[str, Engine] = {}

    def engine(self, service: str) -> Engine:
        if service not in self._engines:
            url = normalise_url(self.urls[service])
            self._engines[service] = create_engine(url, poolclass=NullPool)
        return self._engines[service]

    def scalar(self, service: str, sql: str, **params: Any) -> Any:
        with self.engine(service).connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def rows(self, service: str, sql: str, **params: Any) -> list[Any]:
        with self.engine(service).connect() as conn:
            return list(conn.execute(text(sql), params))

    def count(self, service: str, table: str, where: str = "TRUE", **params: Any) -> int:
        return int(self.scalar(service, f"SELECT count(*) FROM {table} WHERE {where}", **params))

    async def acount(self, service: str, table: str, where: str = "TRUE", **params: Any) -> int:
        return await asyncio.to_thread(self.count, service, table, where, **params)

    def journals(self) -> int:
        return self.count("accounting", "journal_entries")

    def stock_transactions(self) -> int:
        return self.count("inventory", "stock_transactions")

    def unpublished(self, service: str, event_type: str | None = None) -> int:
        if event_type is None:
            return self.count(service, "outbox", "published_at IS NULL")
        return self.count(
            service, "outbox", "published_at IS NULL AND event_type = :t", t=event_type
        )

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()


@dataclass
class Books:
    journal_count: int
    journal_sources: int
    entry_numbers: list[str]
    entry_values: list[Decimal]
    malformed_entries: list[str]
    trial_balanced: bool
    trial_debit: Decimal
    trial_credit: Decimal
    balance_1200: Decimal
    balance_2000: Decimal
    stock: dict[str, dict[str, Decimal]]
    stock_txn_count: int
    stock_txn_sources: int
    stock_txn_values: list[Decimal]
    open_dead_letters: dict[str, int]


def _uow(service: str, db: Database) -> UnitOfWork:
    return UnitOfWork(db, registry.definition(service).tables, service)


def read_books(probe: Probe, skus: Iterable[str]) -> Books:
    """The books from the databases: raw rows, plus the trial balance and stock use cases."""
    entries: dict[str, list[tuple[str, Decimal, Decimal]]] = {}
    for number, account, debit, credit in probe.rows(
        "accounting",
        "SELECT e.number, l.account_code, l.debit, l.credit FROM journal_entries e "
        "JOIN journal_lines l ON l.entry_id = e.id ORDER BY e.number, l.line_no",
    ):
        entries.setdefault(number, []).append((account, Decimal(debit), Decimal(credit)))
    values, malformed = [], []
    for number, lines in entries.items():
        amount = lines[0][1]
        if lines != [("1200", amount, Decimal(0)), ("2000", Decimal(0), amount)] or amount <= 0:
            malformed.append(f"{number}: {lines}")
        values.append(amount)

    accounting_db = Database(probe.urls["accounting"], pool_size=1)
    inventory_db = Database(probe.urls["inventory"], pool_size=1)
    try:
        with _uow("accounting", accounting_db) as uow:
            trial = accounting_reports.trial_balance(uow, date(9999, 12, 31))
        balances = {row.code: row.balance for row in trial.rows}
        stock = {}
        with _uow("inventory", inventory_db) as uow:
            for sku in skus:
                level = inventory_service.item_stock(uow, sku)
                stock[sku] = {
                    "on_hand": level.on_hand,
                    "available": level.available,
                    "pending_qc": level.pending_qc,
                    "value": level.value,
                }
    finally:
        accounting_db.dispose()
        inventory_db.dispose()

    return Books(
        journal_count=probe.count("accounting", "journal_entries"),
        journal_sources=int(
            probe.scalar(
                "accounting", "SELECT count(DISTINCT source_event_id) FROM journal_entries"
            )
        ),
        entry_numbers=sorted(entries),
        entry_values=sorted(values),
        malformed_entries=malformed,
        trial_balanced=trial.balanced,
        trial_debit=trial.total_debit,
        trial_credit=trial.total_credit,
        balance_1200=balances.get("1200", Decimal(0)),
        balance_2000=balances.get("2000", Decimal(0)),
        stock=stock,
        stock_txn_count=probe.count("inventory", "stock_transactions"),
        stock_txn_sources=int(
            probe.scalar(
                "inventory", "SELECT count(DISTINCT source_event_id) FROM stock_transactions"
            )
        ),
        stock_txn_values=sorted(
            Decimal(row[0])
            for row in probe.rows("inventory", "SELECT value FROM stock_transactions")
        ),
        open_dead_letters={
            service: probe.count(service, "dead_letters", "replayed_at IS NULL")
            for service in ("inventory", "accounting")
        },
    )


def assert_exact_books(books: Books, expected: Expected) -> None:
    n = expected.lines
    assert books.malformed_entries == []
    assert books.journal_count == n, f"{books.journal_count} journal entries for {n} lines"
    assert books.journal_sources == n
    assert books.entry_values == expected.values
    year = books.entry_numbers[0][3:7]
    assert books.entry_numbers == [f"JE-{year}-{k:05d}" for k in range(1, n + 1)], "gaps"
    assert books.trial_balanced is True
    assert books.trial_debit == books.trial_credit == expected.total
    assert books.balance_1200 == books.balance_2000 == expected.total
    assert books.stock_txn_count == n, f"{books.stock_txn_count} stock transactions for {n} lines"
    assert books.stock_txn_sources == n
    assert books.stock_txn_values == expected.values
    assert books.stock == expected.stock
    assert books.open_dead_letters == {"inventory": 0, "accounting": 0}


async def check_exact_books(probe: Probe, lines: Sequence[Line]) -> Books:
    expected = expected_books(lines)
    books = await asyncio.to_thread(read_books, probe, sorted(expected.stock))
    assert_exact_books(books, expected)
    return books


async def assert_api_agrees(api: httpx.AsyncClient, lines: Sequence[Line]) -> None:
    """What a user sees through the gateway: the same stock and trial balance."""
    expected = expected_books(lines)
    trial = ok(await api.get("/api/accounting/v1/trial-balance"))
    assert trial["balanced"] is True
    assert Decimal(trial["total_debit"]) == Decimal(trial["total_credit"]) == expected.total
    assert account_balance(trial, "1200") == account_balance(trial, "2000") == expected.total
    for sku, level in expected.stock.items():
        body = ok(await api.get(f"/api/inventory/v1/items/{sku}/stock"))
        assert {k: Decimal(body[k]) for k in level} == level, sku
    entries = ok(await api.get("/api/accounting/v1/journal-entries", params={"limit": 1}))
    assert entries["total"] == expected.lines


# --------------------------------------------------------------------------------------------
# Waiting
# --------------------------------------------------------------------------------------------


async def wait_until(
    check: Callable[[], bool | Awaitable[bool]],
    within: float,
    what: str,
    *,
    interval: float = 0.1,
    diagnose: Callable[[], str] | None = None,
) -> None:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            detail = f"\n{diagnose()}" if diagnose is not None else ""
            raise AssertionError(f"timed out after {within}s waiting for {what}{detail}")
        await asyncio.sleep(interval)


async def queue_depth(queue: str) -> int:
    """Ready messages in a queue of the real broker (never through a test's proxy)."""
    connection = await aio_pika.connect(servers.AMQP_URL)
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)
    finally:
        await connection.close()


async def wait_for_books(
    probe: Probe,
    lines: int,
    *,
    prefix: str,
    within: float,
    diagnose: Callable[[], str] | None = None,
) -> None:
    """Wait until every line is in the stock ledger and the journal, the outboxes are drained
    and the consumers' queues are empty, then a little longer to see that nothing more comes."""

    async def counts() -> tuple[int, int]:
        return (
            await asyncio.to_thread(probe.stock_transactions),
            await asyncio.to_thread(probe.journals),
        )

    async def all_there() -> bool:
        return await counts() >= (lines, lines)

    await wait_until(
        all_there, within, f"{lines} stock transactions and journals", diagnose=diagnose
    )

    async def quiet() -> bool:
        if await asyncio.to_thread(probe.unpublished, "purchasing", "MaterialReceived"):
            return False
        for service in ("inventory", "accounting"):
            if await queue_depth(f"{prefix}{service}.events"):
                return False
        return True

    await wait_until(quiet, within, "the outbox and the queues to drain", diagnose=diagnose)
    # Nothing more may arrive: the counts stay put for a while (redeliveries are skipped).
    settled = await counts()
    for _ in range(6):
        await asyncio.sleep(0.25)
        assert await counts() == settled
    assert settled == (lines, lines), f"(stock transactions, journals) = {settled}, not {lines}"


# --------------------------------------------------------------------------------------------
# Driving the flow: through the gateway's API, or through the use cases in this process
# --------------------------------------------------------------------------------------------


class Driver(Protocol):
    async def create_items(self, skus: Sequence[str]) -> None: ...

    async def purchasing_knows(self, skus: Sequence[str]) -> bool: ...

    async def create_vendor(self) -> None: ...

    async def create_submitted_po(self, lines: Sequence[Line]) -> str: ...

    async def receive(self, number: str, lines: Sequence[tuple[int, Line]]) -> list[Decimal]:
        """Post one receipt; returns the values purchasing stored for its lines."""
        ...


def _po_body(lines: Sequence[Line]) -> dict[str, Any]:
    return {
        "vendor_code": VENDOR,
        "lines": [
            {"sku": line.sku, "qty": str(line.qty), "unit_cost": str(line.unit_cost)}
            for line in lines
        ],
    }


def _receipt_body(lines: Sequence[tuple[int, Line]]) -> dict[str, Any]:
    return {
        "lines": [
            {"line_no": line_no, "qty": str(line.qty), "to_status": line.to_status}
            for line_no, line in lines
        ]
    }


class ApiDriver:
    def __init__(self, api: httpx.AsyncClient) -> None:
        self.api = api

    async def create_items(self, skus: Sequence[str]) -> None:
        for sku in skus:
            body = {"sku": sku, "name": f"Fault test item {sku}", "uom": "ea"}
            ok(await self.api.post("/api/inventory/v1/items", json=body), 201)

    async def purchasing_knows(self, skus: Sequence[str]) -> bool:
        known = ok(await self.api.get("/api/purchasing/v1/items", params={"limit": 500}))
        return set(skus) <= {item["sku"] for item in known["items"]}

    async def create_vendor(self) -> None:
        body = {"code": VENDOR, "name": "Acme Supplies"}
        ok(await self.api.post("/api/purchasing/v1/vendors", json=body), 201)

    async def create_submitted_po(self, lines: Sequence[Line]) -> str:
        po = ok(
            await self.api.post("/api/purchasing/v1/purchase-orders", json=_po_body(lines)), 201
        )
        number: str = po["number"]
        ok(await self.api.post(f"/api/purchasing/v1/purchase-orders/{number}/submit"))
        return number

    async def receive(self, number: str, lines: Sequence[tuple[int, Line]]) -> list[Decimal]:
        url = f"/api/purchasing/v1/purchase-orders/{number}/receipts"
        receipt = ok(await self.api.post(url, json=_receipt_body(lines)), 201)
        return [Decimal(line["value"]) for line in receipt["lines"]]


class LocalDriver:
    """The same steps through the use cases, each in its own unit of work (as the API does)."""

    def __init__(self, portal: LocalPortal) -> None:
        self.portal = portal

    async def _run(self, service: str, command: Callable[[UnitOfWork], Any]) -> Any:
        def work() -> Any:
            with self.portal.runtimes[service].uow() as uow:
                result = command(uow)
                uow.commit()
                return result

        return await asyncio.to_thread(work)

    async def create_items(self, skus: Sequence[str]) -> None:
        for sku in skus:
            item = ItemCreate.model_validate({"sku": sku, "name": f"Fault test item {sku}"})

            def create(uow: UnitOfWork, item: ItemCreate = item) -> None:
                inventory_service.create_item(uow, item)

            await self._run("inventory", create)

    async def purchasing_knows(self, skus: Sequence[str]) -> bool:
        probe = self.portal.probe
        known = await probe.acount("purchasing", "known_items", "sku = ANY(:s)", s=list(skus))
        return known == len(set(skus))

    async def create_vendor(self) -> None:
        vendor = VendorCreate.model_validate({"code": VENDOR, "name": "Acme Supplies"})
        await self._run("purchasing", lambda uow: purchasing_service.create_vendor(uow, vendor))

    async def create_submitted_po(self, lines: Sequence[Line]) -> str:
        body = PurchaseOrderCreate.model_validate(_po_body(lines))

        def create(uow: UnitOfWork) -> str:
            number = purchasing_service.create_purchase_order(
                uow, body, plant_today(Settings())
            ).number
            purchasing_service.submit_purchase_order(uow, number)
            return number

        number: str = await self._run("purchasing", create)
        return number

    async def receive(self, number: str, lines: Sequence[tuple[int, Line]]) -> list[Decimal]:
        body = ReceiptCreate.model_validate(_receipt_body(lines))
        receipt = await self._run(
            "purchasing",
            lambda uow: purchasing_service.receive_purchase_order(
                uow, number, body, "fault-test", Settings()
            ),
        )
        return [line.value for line in receipt.lines]


async def prepare(driver: Driver, plan: Plan) -> list[str]:
    """Items, vendor and the plan's POs, submitted; returns the PO numbers."""
    await driver.create_items(plan.skus)
    await driver.create_vendor()
    await wait_until(lambda: driver.purchasing_knows(plan.skus), 60, "purchasing to learn items")
    return [await driver.create_submitted_po(order) for order in plan.orders]


@dataclass
class Progress:
    lines: int = 0
    receipts: int = 0


async def push_receipts(
    driver: Driver,
    plan: Plan,
    numbers: Sequence[str],
    *,
    workers: int = 1,
    progress: Progress | None = None,
    receipts: Sequence[tuple[int, list[int]]] | None = None,
) -> Progress:
    """Post the plan's receipts (or the given ones) with `workers` concurrent clients; checks
    every value answered is the line's value rounded half up to the cent."""
    progress = progress or Progress()
    queue: asyncio.Queue[tuple[int, list[int]]] = asyncio.Queue()
    for receipt in plan.receipts if receipts is None else receipts:
        queue.put_nowait(receipt)

    async def worker_once() -> None:
        po, line_numbers = queue.get_nowait()
        lines = [(n, plan.orders[po][n - 1]) for n in line_numbers]
        values = await driver.receive(numbers[po], lines)
        assert values == [line.value for _, line in lines]
        progress.lines += len(lines)
        progress.receipts += 1

    async def worker() -> None:
        while not queue.empty():
            await worker_once()

    await asyncio.gather(*(worker() for _ in range(workers)))
    return progress


# --------------------------------------------------------------------------------------------
# Harnesses
# --------------------------------------------------------------------------------------------


class LocalPortal:
    """Services as ServiceRuntime objects in this process: own databases, own RabbitMQBus each.

    `handled[service]` counts, per envelope id, how many times the consumer was handed and
    finished it, so a test can see duplicates arrive and be skipped.
    """

    def __init__(
        self,
        postgres: servers.PostgresDatabases,
        *,
        prefix: str,
        tmp_path: Path,
        names: Sequence[str] = FLOW_SERVICES,
    ) -> None:
        self.prefix = prefix
        self.settings = Settings(
            var_dir=tmp_path,
            amqp_url=servers.AMQP_URL,
            bus_prefix=prefix,
            demo_data=False,
            relay_poll_seconds=0.1,
            handler_backoff_seconds=0.02,
        )
        self.runtimes: dict[str, ServiceRuntime] = {}
        self.handled: dict[str, Counter[str]] = {}
        for name in names:
            bus = RabbitMQBus(servers.AMQP_URL, prefix, reconnect_interval=0.2)
            runtime = ServiceRuntime(
                registry.definition(name),
                self.settings,
                bus,
                db_url=postgres.create(name),
                token_secret=SECRET,
            )
            self.runtimes[name] = runtime
            self.handled[name] = self._count_handled(runtime)
        self.probe = Probe({name: rt.db.url for name, rt in self.runtimes.items()})

    @staticmethod
    def _count_handled(runtime: ServiceRuntime) -> Counter[str]:
        counter: Counter[str] = Counter()
        handle = runtime.consumer.handle_batch

        async def counting(envelopes: Sequence[Envelope]) -> set[str]:
            dead = await handle(envelopes)
            counter.update(str(envelope.id) for envelope in envelopes)
            return dead

        runtime.consumer.handle_batch = counting  # type: ignore[method-assign]
        return counter

    def bus(self, service: str) -> RabbitMQBus:
        bus = self.runtimes[service].bus
        assert isinstance(bus, RabbitMQBus)
        return bus

    async def open(self) -> None:
        for runtime in self.runtimes.values():  # one at a time: Alembic's context is global
            await asyncio.to_thread(runtime.migrate)
            await asyncio.to_thread(runtime.seed)
            await runtime.bus.start()

    async def start(self, service: str, *, consume: bool = True, relay: bool = True) -> None:
        await self.runtimes[service].start(consume=consume, relay=relay)

    async def close(self) -> None:
        for runtime in self.runtimes.values():
            with contextlib.suppress(Exception):
                await runtime.stop()
            with contextlib.suppress(Exception):
                await runtime.bus.close()
            runtime.db.dispose()
        self.probe.dispose()


@contextlib.asynccontextmanager
async def local_portal(
    postgres: servers.PostgresDatabases, tmp_path: Path, names: Sequence[str] = FLOW_SERVICES
) -> AsyncIterator[LocalPortal]:
    prefix = servers.new_bus_prefix()
    portal = LocalPortal(postgres, prefix=prefix, tmp_path=tmp_path, names=names)
    try:
        await portal.open()
        yield portal
    finally:
        await portal.close()
        await servers.delete_bus_objects(prefix, names)


@contextlib.asynccontextmanager
async def running_cluster(
    postgres: servers.PostgresDatabases,
    tmp_path: Path,
    *,
    amqp_url: str,
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[Cluster]:
    """The flow's services as `portal serve` processes. Started and stopped in a thread: the
    event loop keeps running meanwhile (a test's TCP proxy lives in it)."""
    prefix = servers.new_bus_prefix()
    cluster = Cluster(
        amqp_url=amqp_url,
        prefix=prefix,
        log_dir=tmp_path,
        db_urls={name: postgres.create(name) for name in CLUSTER_SERVICES},
        extra_env=extra_env,
    )
    try:
        await asyncio.to_thread(cluster.start_all)
        yield cluster
    finally:
        await asyncio.to_thread(cluster.stop_all)
        await servers.delete_bus_objects(prefix, CLUSTER_SERVICES)


def cluster_logs(cluster: Cluster) -> Callable[[], str]:
    return lambda: "\n".join(f"--- {s}:\n{cluster.log(s)}" for s in FLOW_SERVICES)


def cluster_probe(cluster: Cluster) -> Probe:
    return Probe({name: cluster.db_urls[name] for name in FLOW_SERVICES})


# --------------------------------------------------------------------------------------------
# 1. The relay dies between the broker's confirm and marking the rows published
# --------------------------------------------------------------------------------------------


class RelayKilled(Exception):
    pass


@pytest.mark.integration
@pytest.mark.timeout(150)
async def test_relay_killed_between_commit_and_publish_loses_nothing(
    postgres: servers.PostgresDatabases,
    rabbitmq: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan = make_plan(60, po_size=60, receipt_size=10)
    async with local_portal(postgres, tmp_path) as portal:
        purchasing = portal.runtimes["purchasing"]
        await portal.start("inventory")
        await portal.start("accounting")
        await portal.start("purchasing", relay=False)  # its relay runs only when the test says
        driver = LocalDriver(portal)
        numbers = await prepare(driver, plan)
        await push_receipts(driver, plan, numbers)
        probe = portal.probe
        assert await asyncio.to_thread(probe.unpublished, "purchasing", "MaterialReceived") == 60
        received_ids = [
            row[0]
            for row in await asyncio.to_thread(
                probe.rows,
                "purchasing",
                "SELECT event_id FROM outbox WHERE event_type = 'MaterialReceived'",
            )
        ]

        # A relay pass publishes every row, the broker confirms them all, and the relay dies
        # before it marks them published; its database session (and advisory lock) goes with it.
        def killed(ids: list[int]) -> None:
            raise RelayKilled(f"relay killed before marking {len(ids)} rows published")

        monkeypatch.setattr(purchasing.relay, "_mark_published", killed)
        with pytest.raises(RelayKilled):
            await purchasing.relay.publish_pending()
        await asyncio.to_thread(purchasing.relay._release_leadership)

        # Published and applied once, but still unpublished in the outbox.
        def all_handled(times: int) -> Callable[[], bool]:
            return lambda: all(
                portal.handled[s][i] >= times
                for s in ("inventory", "accounting")
                for i in received_ids
            )

        await wait_until(all_handled(1), 60, "the first delivery of every MaterialReceived")
        assert await asyncio.to_thread(probe.journals) == 60
        assert await asyncio.to_thread(probe.unpublished, "purchasing", "MaterialReceived") == 60

        # A fresh relay (a restarted process) publishes them all again: duplicates delivered,
        # every one skipped by the inboxes.
        fresh = OutboxRelay(
            "purchasing",
            purchasing.db,
            purchasing.definition.tables,
            purchasing.bus,
            poll_seconds=0.1,
        )
        relay_task = asyncio.create_task(fresh.run())
        try:
            await wait_until(all_handled(2), 60, "every MaterialReceived delivered again")
            await wait_for_books(probe, 60, prefix=portal.prefix, within=60)
        finally:
            relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay_task
        assert fresh.published_total >= 60
        await check_exact_books(probe, plan.lines)


@pytest.mark.integration
@pytest.mark.timeout(150)
async def test_relay_down_when_receipts_commit_publishes_them_all_later(
    postgres: servers.PostgresDatabases, rabbitmq: str, tmp_path: Path
) -> None:
    plan = make_plan(60, po_size=60, receipt_size=10, seed=11)
    async with local_portal(postgres, tmp_path) as portal:
        await portal.start("inventory")
        await portal.start("accounting")
        await portal.start("purchasing", relay=False)  # the relay died before publishing
        driver = LocalDriver(portal)
        numbers = await prepare(driver, plan)
        await push_receipts(driver, plan, numbers)
        probe = portal.probe
        # Committed with their events, none published: nothing can have reached the books.
        assert await asyncio.to_thread(probe.unpublished, "purchasing", "MaterialReceived") == 60
        assert await asyncio.to_thread(probe.journals) == 0
        assert await asyncio.to_thread(probe.stock_transactions) == 0

        await portal.start("purchasing", consume=False, relay=True)  # the relay comes back
        await wait_for_books(probe, 60, prefix=portal.prefix, within=60)
        await check_exact_books(probe, plan.lines)


# --------------------------------------------------------------------------------------------
# 2. The very same envelope delivered twice (and twice more in one batch)
# --------------------------------------------------------------------------------------------


def material_received(line: Line, *, po_number: str, line_no: int = 1) -> Envelope:
    """A MaterialReceived as purchasing would publish it, with a valid catalogue payload."""
    payload = MaterialReceived(
        po_number=po_number,
        line_no=line_no,
        receipt_id=f"RCV-{po_number}",
        sku=line.sku,
        qty=line.qty,
        unit_cost=line.unit_cost,
        value=line.value,
        lot=None,
        to_status=line.to_status,
        vendor_code=VENDOR,
        received_at=utc_now(),
    )
    return Envelope(
        type="MaterialReceived",
        producer="purchasing",
        key=po_number,
        sequence=line_no,
        correlation_id=f"fault-test-{po_number}",
        payload=payload.model_dump(mode="json"),
    )


@pytest.mark.integration
@pytest.mark.timeout(90)
async def test_same_event_delivered_twice_is_applied_once(
    postgres: servers.PostgresDatabases, rabbitmq: str, tmp_path: Path
) -> None:
    line = Line("FLT-TWICE", Decimal("3"), Decimal("0.0050"))  # 0.015 → 0.02 half up
    async with local_portal(postgres, tmp_path, names=("inventory", "accounting")) as portal:
        await portal.start("inventory")
        await portal.start("accounting")
        await LocalDriver(portal).create_items([line.sku])
        envelope = material_received(line, po_number="PO-TWICE-00001")
        event_id = str(envelope.id)

        publisher = RabbitMQBus(rabbitmq, portal.prefix)
        await publisher.start()
        try:
            await publisher.publish([envelope])

            def handled(times: int) -> Callable[[], bool]:
                return lambda: all(portal.handled[s][event_id] >= times for s in portal.handled)

            await wait_until(handled(1), 30, "the first delivery")
            await publisher.publish([envelope])  # the same envelope again
            await wait_until(handled(2), 30, "the second delivery")
            await publisher.publish([envelope, envelope])  # and twice more, back to back
            await wait_until(handled(4), 30, "the third and fourth deliveries")
        finally:
            await publisher.close()

        probe = portal.probe
        receipt = "event_type = 'MaterialReceived'"  # (accounting's inbox also holds ItemUpserted)
        assert await asyncio.to_thread(probe.count, "inventory", "inbox", receipt) == 1
        assert await asyncio.to_thread(probe.count, "accounting", "inbox", receipt) == 1
        # Applied once: one stock transaction, one journal (and one StockChanged/JournalPosted).
        assert (
            await asyncio.to_thread(
                probe.count, "inventory", "outbox", "event_type = 'StockChanged'"
            )
            == 1
        )
        assert (
            await asyncio.to_thread(
                probe.count, "accounting", "outbox", "event_type = 'JournalPosted'"
            )
            == 1
        )
        books = await check_exact_books(probe, [line])
        assert books.entry_values == [Decimal("0.02")]


# --------------------------------------------------------------------------------------------
# 3. The accounting process SIGKILLed while it works through a backlog
# --------------------------------------------------------------------------------------------


def stop_gracefully(cluster: Cluster, service: str) -> None:
    process = cluster.processes.pop(service)
    process.terminate()
    process.wait(20)


def kill_when_partly_posted(cluster: Cluster, probe: Probe, total: int, within: float) -> int:
    """Poll accounting's journal count; SIGKILL the process once some but not all are posted.
    Returns the count at the kill."""
    deadline = time.monotonic() + within
    process = cluster.processes["accounting"]
    while True:
        posted = probe.journals()
        if 0 < posted < total:
            cluster.kill("accounting")
            return posted
        if posted >= total:
            raise AssertionError("accounting posted the whole backlog before it could be killed")
        if process.poll() is not None:
            raise AssertionError(f"accounting exited by itself: {cluster.log('accounting')}")
        if time.monotonic() > deadline:
            raise AssertionError(f"accounting posted nothing in {within}s")
        time.sleep(0.005)


@pytest.mark.integration
@pytest.mark.timeout(240)
async def test_consumer_killed_mid_handler_redelivers_and_applies_once(
    postgres: servers.PostgresDatabases, rabbitmq: str, tmp_path: Path
) -> None:
    plan = make_plan(300, po_size=100, receipt_size=10, seed=3)
    # Small batches: a backlog of 300 takes a dozen commits, so the kill lands between two.
    env = {"PORTAL_CONSUMER_BATCH_SIZE": "25"}
    async with running_cluster(postgres, tmp_path, amqp_url=rabbitmq, extra_env=env) as cluster:
        probe = cluster_probe(cluster)
        logs = cluster_logs(cluster)
        try:
            async with cluster.gateway_client() as api:
                await sign_in(api)
                driver = ApiDriver(api)
                numbers = await prepare(driver, plan)
                # Accounting is down (its queue stays) while 300 lines are received.
                await asyncio.to_thread(stop_gracefully, cluster, "accounting")
                await push_receipts(driver, plan, numbers, workers=3)

                async def backlog_queued() -> bool:
                    queued = await queue_depth(f"{cluster.prefix}accounting.events")
                    return (
                        queued == 300 and await asyncio.to_thread(probe.stock_transactions) == 300
                    )

                await wait_until(
                    backlog_queued, 90, "300 events queued for accounting", diagnose=logs
                )
                assert await asyncio.to_thread(probe.journals) == 0

                # Accounting comes back and works through the backlog; SIGKILL it half-way.
                await asyncio.to_thread(cluster.start, "accounting", wait=False)
                at_kill = await asyncio.to_thread(kill_when_partly_posted, cluster, probe, 300, 90)
                after_kill = await asyncio.to_thread(probe.journals)
                assert 0 < at_kill <= after_kill < 300, (at_kill, after_kill)
                assert await queue_depth(f"{cluster.prefix}accounting.events") > 0

                await asyncio.to_thread(cluster.start, "accounting")
                await wait_for_books(probe, 300, prefix=cluster.prefix, within=120, diagnose=logs)
                await check_exact_books(probe, plan.lines)
                await assert_api_agrees(api, plan.lines)
        finally:
            probe.dispose()


# --------------------------------------------------------------------------------------------
# 4. Every broker connection cut for 3 s in the middle of 1,000 receipt lines
# --------------------------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.timeout(360)
async def test_broker_connection_cut_mid_1000_receipts(
    postgres: servers.PostgresDatabases, rabbitmq: str, tmp_path: Path
) -> None:
    broker = URL(rabbitmq)
    proxy = TcpProxy(broker.host or "127.0.0.1", broker.port or 5672)
    await proxy.start()
    proxied = str(broker.with_host(proxy.host).with_port(proxy.port))
    plan = make_plan(1000, po_size=100, receipt_size=10, seed=1000)
    try:
        async with running_cluster(postgres, tmp_path, amqp_url=proxied) as cluster:
            probe = cluster_probe(cluster)
            logs = cluster_logs(cluster)
            try:
                async with cluster.gateway_client() as api:
                    await sign_in(api)
                    driver = ApiDriver(api)
                    numbers = await prepare(driver, plan)
                    # 900 lines, cut after 300 of them; the last 100 after the connection is back.
                    before, after = plan.receipts[:-10], plan.receipts[-10:]
                    progress = Progress()
                    pushing = asyncio.create_task(
                        push_receipts(
                            driver, plan, numbers, workers=2, progress=progress, receipts=before
                        )
                    )
                    await wait_until(
                        lambda: progress.lines >= 300 or pushing.done(), 120, "300 lines"
                    )
                    assert not pushing.done(), "all receipts went through before the cut"

                    connections_before = proxy.accepted
                    await proxy.cut()
                    lines_at_cut = progress.lines
                    await asyncio.sleep(3)  # the outage; receipts keep committing meanwhile
                    journals_in_outage = await asyncio.to_thread(probe.journals)
                    lines_in_outage = progress.lines - lines_at_cut
                    proxy.restore()
                    await pushing
                    await push_receipts(driver, plan, numbers, progress=progress, receipts=after)
                    assert progress.lines == 1000
                    assert lines_in_outage > 0, "no receipt committed while the broker was cut"
                    assert journals_in_outage < 1000

                    await wait_for_books(
                        probe, 1000, prefix=cluster.prefix, within=180, diagnose=logs
                    )
                    assert proxy.accepted > connections_before, "nobody reconnected"
                    await check_exact_books(probe, plan.lines)
                    await assert_api_agrees(api, plan.lines)
            finally:
                probe.dispose()
    finally:
        await proxy.close()


# --------------------------------------------------------------------------------------------
# 5. A poison event: dead-lettered (database and broker), the rest flows, replayed after a fix
# --------------------------------------------------------------------------------------------


def run_portal(args: Sequence[str], *, db_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update({"PORTAL_DB_URL": db_url, "PORTAL_LOG_LEVEL": "WARNING"})
    return subprocess.run(
        [PORTAL, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def dead_letters_listed(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert result.returncode == 0, result.stderr
    letters = []
    for line in result.stdout.splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict) and "event_id" in record and "dead_at" in record:
                letters.append(record)
    return letters


async def peek_message_ids(queue: str) -> list[str | None]:
    """The message ids in a queue of the real broker, left in place (never acked)."""
    connection = await aio_pika.connect(servers.AMQP_URL)
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        ids = []
        while (message := await declared.get(no_ack=False, fail=False)) is not None:
            ids.append(message.message_id)
        await channel.close()  # the unacked messages go back to the queue
        return ids
    finally:
        await connection.close()


@pytest.mark.integration
@pytest.mark.timeout(180)
async def test_poison_message_dead_lettered_then_replayed_after_fix(
    postgres: servers.PostgresDatabases, rabbitmq: str, tmp_path: Path
) -> None:
    plan = make_plan(40, po_size=40, receipt_size=10, seed=5)
    ghost = Line("GHOST-01", Decimal("7"), Decimal("1.2345"))  # 8.6415 → 8.64
    async with running_cluster(postgres, tmp_path, amqp_url=rabbitmq) as cluster:
        probe = cluster_probe(cluster)
        logs = cluster_logs(cluster)
        inventory_db = cluster.db_urls["inventory"]
        try:
            async with cluster.gateway_client() as api:
                await sign_in(api)
                driver = ApiDriver(api)
                numbers = await prepare(driver, plan)
                progress = Progress()
                pushing = asyncio.create_task(
                    push_receipts(driver, plan, numbers, progress=progress)
                )
                await wait_until(lambda: progress.lines >= 10 or pushing.done(), 60, "a receipt")

                # In the middle of the flow, a MaterialReceived for a SKU inventory never heard of.
                poison = material_received(ghost, po_number="PO-GHOST-00001")
                publisher = RabbitMQBus(rabbitmq, cluster.prefix)
                await publisher.start()
                try:
                    await publisher.publish([poison])
                finally:
                    await publisher.close()
                await pushing

                # Everything else is applied; inventory and accounting (which must know the item
                # to choose its inventory account) each dead-lettered it after their retries.
                async def flowed() -> bool:
                    return (
                        await asyncio.to_thread(probe.stock_transactions) == 40
                        and await asyncio.to_thread(probe.journals) == 40
                        and await probe.acount("inventory", "dead_letters") == 1
                        and await probe.acount("accounting", "dead_letters") == 1
                    )

                await wait_until(flowed, 90, "the flow around the poison event", diagnose=logs)
                dead_queue = f"{cluster.prefix}inventory.dead"

                async def dead_copy_queued() -> bool:
                    return await queue_depth(dead_queue) >= 1

                await wait_until(dead_copy_queued, 30, "the copy in the dead-letter queue")
                assert await peek_message_ids(dead_queue) == [str(poison.id)]
                expected_normal = expected_books(plan.lines)
                partial = await asyncio.to_thread(read_books, probe, plan.skus)
                assert partial.stock == expected_normal.stock
                assert partial.stock_txn_values == expected_normal.values

                listed = dead_letters_listed(
                    await asyncio.to_thread(
                        run_portal,
                        ["events", "dead", "inventory"],
                        db_url=inventory_db,
                        cwd=tmp_path,
                    )
                )
                assert len(listed) == 1, listed
                assert listed[0]["event_id"] == str(poison.id)
                assert listed[0]["type"] == "MaterialReceived"
                assert ghost.sku in listed[0]["error"], listed[0]["error"]

                # Replaying before the fix changes nothing and says so.
                still = await asyncio.to_thread(
                    run_portal,
                    ["events", "replay-dead", "inventory"],
                    db_url=inventory_db,
                    cwd=tmp_path,
                )
                assert still.returncode == 1, still.stdout + still.stderr
                assert "replayed 0, still failing 1" in still.stdout
                assert await asyncio.to_thread(probe.stock_transactions) == 40

                # The fix: the item is created; then the dead letter is replayed, once.
                body = {"sku": ghost.sku, "name": "The item nobody created", "uom": "ea"}
                ok(await api.post("/api/inventory/v1/items", json=body), 201)
                replay = await asyncio.to_thread(
                    run_portal,
                    ["events", "replay-dead", "inventory"],
                    db_url=inventory_db,
                    cwd=tmp_path,
                )
                assert replay.returncode == 0, replay.stdout + replay.stderr
                assert "replayed 1, still failing 0" in replay.stdout

                # Accounting hears of the item (ItemUpserted), then its dead letter is replayed.
                async def accounting_knows_the_item() -> bool:
                    known = "sku = :sku"
                    return (
                        await probe.acount("accounting", "ledger_items", known, sku=ghost.sku) == 1
                    )

                await wait_until(accounting_knows_the_item, 30, "accounting hearing of the item")
                posted = await asyncio.to_thread(
                    run_portal,
                    ["events", "replay-dead", "accounting"],
                    db_url=cluster.db_urls["accounting"],
                    cwd=tmp_path,
                )
                assert posted.returncode == 0, posted.stdout + posted.stderr
                assert "replayed 1, still failing 0" in posted.stdout
                everything = [*plan.lines, ghost]
                await wait_for_books(probe, 41, prefix=cluster.prefix, within=60, diagnose=logs)
                await check_exact_books(probe, everything)

                again = await asyncio.to_thread(
                    run_portal,
                    ["events", "replay-dead", "inventory"],
                    db_url=inventory_db,
                    cwd=tmp_path,
                )
                assert again.returncode == 0, again.stdout + again.stderr
                assert "replayed 0, still failing 0" in again.stdout
                listed = dead_letters_listed(
                    await asyncio.to_thread(
                        run_portal,
                        ["events", "dead", "inventory"],
                        db_url=inventory_db,
                        cwd=tmp_path,
                    )
                )
                assert listed == []
                await check_exact_books(probe, everything)
                await assert_api_agrees(api, everything)
                ghost_stock = ok(await api.get(f"/api/inventory/v1/items/{ghost.sku}/stock"))
                assert Decimal(ghost_stock["on_hand"]) == Decimal("7")
                assert Decimal(ghost_stock["value"]) == Decimal("8.64")
        finally:
            probe.dispose()
