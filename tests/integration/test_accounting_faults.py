"""Fault tests of the books for inventory's own value-moving events (issue 7, DESIGN §4, §10).

test_faults.py proves the books exact under duplicates, redelivery and a broker cut for
purchasing's MaterialReceived. These do the same for StockAdjusted, which inventory publishes
from its outbox when the store counts or corrects stock: under duplicates, redelivery out of
order, a consumer stopped behind a backlog, its broker connection cut mid-backlog and the
accounting process SIGKILLed mid-backlog, each adjustment has exactly one journal entry, the
entries are numbered without gaps, the trial balance is balanced at the totals worked out here,
and 1200 equals inventory's own valuation of its raw stock.

Expected figures come from what the test did, with Decimal, by the documented rules (services/
inventory/movements): stock found by a count comes in at the item's moving-average cost, stock
lost leaves at its balance's unit cost (the last unit takes the remainder), both to four places
half up; a receipt line's value is its quantity by unit cost to the cent. `Shelf` is that
arithmetic; the first test's series is also worked by hand (`HAND_WORKED`), and `Shelf` must
agree with it before it is trusted with the longer random series.

Harnesses and helpers come from test_faults.py. Where a test needs every broker connection of a
`LocalPortal` through a `TcpProxy`, `servers.AMQP_URL` points at the proxy while the portal is
built (its buses keep that URL) and at the broker again right after, so `queue_depth` and the
clean-up still talk to the broker itself; the machine's RabbitMQ is never stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from yarl import URL

from services import registry
from services.accounting.reports import service as accounting_reports
from services.inventory import service as inventory_service
from services.inventory.movements import service as movements
from services.inventory.movements.schemas import AdjustmentCreate
from services.inventory.valuation import service as valuation_service
from services.inventory.valuation.domain import InventoryClass
from shared.bus.rabbitmq import RabbitMQBus
from shared.clock import plant_today, plant_zone
from shared.db import Database
from shared.events.envelope import Envelope
from shared.settings import Settings
from shared.uow import UnitOfWork
from tests.integration.test_faults import (
    ApiDriver,
    Line,
    LocalDriver,
    LocalPortal,
    Plan,
    Probe,
    cluster_logs,
    cluster_probe,
    kill_when_partly_posted,
    local_portal,
    material_received,
    prepare,
    push_receipts,
    queue_depth,
    running_cluster,
    stop_gracefully,
    wait_until,
)
from tests.support import servers
from tests.support.cluster import Cluster, sign_in
from tests.support.flow import account_balance, ok
from tests.support.tcp_proxy import TcpProxy

ZERO = Decimal(0)
FOUR = Decimal("0.0001")
RAW_ACCOUNT, PAYABLE, ADJUSTMENTS = "1200", "2000", "5500"


def four(amount: Decimal) -> Decimal:
    return amount.quantize(FOUR, ROUND_HALF_UP)


# --------------------------------------------------------------------------------------------
# What was done, and what it is worth
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    """One adjustment of a SKU's approved RAW stock: a known change or a count."""

    sku: str
    reason: str
    qty_delta: Decimal | None = None
    qty_counted: Decimal | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"sku": self.sku, "location": "RAW", "reason_code": self.reason}
        if self.qty_delta is not None:
            body["qty_delta"] = str(self.qty_delta)
        if self.qty_counted is not None:
            body["qty_counted"] = str(self.qty_counted)
        return body


@dataclass
class Shelf:
    """One SKU's stock, all of it approved in RAW (so its on hand is this one balance)."""

    qty: Decimal = ZERO
    value: Decimal = ZERO
    average: Decimal = ZERO

    def receive(self, line: Line) -> None:
        self.qty += line.qty
        self.value += line.value
        self.average = four(self.value / self.qty)

    def adjust(self, count: Count) -> tuple[Decimal, Decimal]:
        """(qty delta, value delta): found at the average, lost at the balance's unit cost."""
        if count.qty_counted is not None:
            delta = count.qty_counted - self.qty
        else:
            assert count.qty_delta is not None
            delta = count.qty_delta
        assert delta != 0 and self.qty + delta >= 0, (count, self)
        if delta > 0:
            value = four(delta * self.average)
        else:
            taken = -delta
            value = -(self.value if taken == self.qty else four(self.value * taken / self.qty))
        self.qty += delta
        self.value += value
        if self.qty > 0:  # with nothing on hand the item keeps its last average
            self.average = four(self.value / self.qty)
        return delta, value


@dataclass
class Ledger:
    """The receipts and adjustments done, as the books must show them."""

    receipts: list[Line] = field(default_factory=list)
    shelves: dict[str, Shelf] = field(default_factory=dict)
    adjustments: dict[str, Decimal] = field(default_factory=dict)  # adjustment id → value delta

    def receive(self, line: Line) -> None:
        self.receipts.append(line)
        self.shelves.setdefault(line.sku, Shelf()).receive(line)

    def plan(self, count: Count) -> Decimal:
        """The value delta `count` must have (and the shelf after it)."""
        _qty, value = self.shelves[count.sku].adjust(count)
        assert value != 0, f"{count} would be worth nothing and post no entry"
        return value

    @property
    def receipts_total(self) -> Decimal:
        return sum((line.value for line in self.receipts), ZERO)

    @property
    def gains(self) -> Decimal:
        return sum((v for v in self.adjustments.values() if v > 0), ZERO)

    @property
    def losses(self) -> Decimal:
        return sum((-v for v in self.adjustments.values() if v < 0), ZERO)

    @property
    def raw(self) -> Decimal:
        return self.receipts_total + self.gains - self.losses


# The first test's series, worked by hand. A: 3 received at 3.3333 = 10.00 (average 3.3333).
# B: 8 at 1.2345 = 9.876 → 9.88 and 5 at 0.5000 = 2.50, so 13 worth 12.38 (average 0.9523).
RECEIPTS_BY_HAND = [
    Line("ADJ-A", Decimal("3"), Decimal("3.3333")),
    Line("ADJ-B", Decimal("8"), Decimal("1.2345")),
    Line("ADJ-B", Decimal("5"), Decimal("0.5000")),
]
HAND_WORKED: list[tuple[Count, Decimal]] = [
    # 1 of 3 worth 10.00 leaves at 10/3 = 3.33333 → 3.3333; left 2 worth 6.6667, average 3.3334
    (Count("ADJ-A", "damaged", qty_delta=Decimal("-1")), Decimal("-3.3333")),
    # 1 found at the average 3.3334; 3 worth 10.0001
    (Count("ADJ-A", "found", qty_delta=Decimal("1")), Decimal("3.3334")),
    # counted 0: the whole balance leaves with its whole value; the average stays 3.3334
    (Count("ADJ-A", "lost", qty_counted=Decimal("0")), Decimal("-10.0001")),
    # 2 found with nothing on hand, at the kept average: 6.6668
    (Count("ADJ-A", "found", qty_delta=Decimal("2")), Decimal("6.6668")),
    # counted 10 of 13: 3 leave at 12.38 x 3 / 13 = 2.856923 → 2.8569; 10 worth 9.5231
    (Count("ADJ-B", "count_correction", qty_counted=Decimal("10")), Decimal("-2.8569")),
    # 0.5 found at 0.9523 = 0.47615 → 0.4762; 10.5 worth 9.9993
    (Count("ADJ-B", "found", qty_delta=Decimal("0.5")), Decimal("0.4762")),
    # 3.25 expire: 9.9993 x 3.25 / 10.5 = 3.0950214 → 3.0950; 7.25 worth 6.9043
    (Count("ADJ-B", "expired", qty_delta=Decimal("-3.25")), Decimal("-3.0950")),
    # counted 8: 0.75 found at 0.9523 = 0.714225 → 0.7142; 8 worth 7.6185
    (Count("ADJ-B", "count_correction", qty_counted=Decimal("8")), Decimal("0.7142")),
]
# Receipts 10.00 + 9.88 + 2.50 = 22.38; gains 3.3334 + 6.6668 + 0.4762 + 0.7142 = 11.1906;
# losses 3.3333 + 10.0001 + 2.8569 + 3.0950 = 19.2853.
BY_HAND = {
    "receipts": Decimal("22.38"),
    "debits": Decimal("52.8559"),  # 22.38 + 11.1906 + 19.2853: every entry's one debit line
    "raw": Decimal("14.2853"),  # 22.38 + 11.1906 - 19.2853 = A 6.6668 + B 7.6185
    "adjustments": Decimal("8.0947"),  # 5500, an expense: losses less gains
}
STOCK_BY_HAND = {
    "ADJ-A": (Decimal("2"), Decimal("6.6668"), Decimal("3.3334")),
    "ADJ-B": (Decimal("8"), Decimal("7.6185"), Decimal("0.9523")),
}


def random_counts(
    skus: Sequence[str], per_sku: int, shelves: dict[str, Shelf], seed: int
) -> dict[str, list[Count]]:
    """Per SKU, `per_sku` gains and losses of quarter units (a count now and then), never more
    than is there nor a change worth nothing, on a copy of `shelves`."""
    rng = random.Random(seed)
    counts: dict[str, list[Count]] = {}
    for sku in skus:
        shelf = Shelf(shelves[sku].qty, shelves[sku].value, shelves[sku].average)
        series: list[Count] = []
        reasons = ("damaged", "lost", "expired", "found", "count_correction")
        while len(series) < per_sku:
            step = Decimal(rng.randint(1, 40)) / 4
            lose = rng.random() < 0.5 and shelf.qty >= step
            delta = -step if lose else step
            if rng.random() < 0.25:
                count = Count(sku, "count_correction", qty_counted=shelf.qty + delta)
            else:
                reason = rng.choice(reasons[:3] if lose else reasons[3:])
                count = Count(sku, reason, qty_delta=delta)
            before = Shelf(shelf.qty, shelf.value, shelf.average)
            _qty, value = shelf.adjust(count)
            if value == 0:  # worth nothing: posts no entry (docs/accounting.md); not this test's
                shelf = before
                continue
            series.append(count)
        counts[sku] = series
    return counts


def shelves_after(counts: dict[str, list[Count]], ledger: Ledger) -> dict[str, Shelf]:
    """Where each SKU's shelf will be once `counts` are done (on copies of the ledger's)."""
    shelves = {}
    for sku, series in counts.items():
        current = ledger.shelves[sku]
        shelf = Shelf(current.qty, current.value, current.average)
        for count in series:
            shelf.adjust(count)
        shelves[sku] = shelf
    return shelves


# --------------------------------------------------------------------------------------------
# Doing it: receipts on the bus, adjustments through inventory's use case
# --------------------------------------------------------------------------------------------


async def publish(rabbitmq: str, prefix: str, envelopes: Sequence[Envelope]) -> None:
    publisher = RabbitMQBus(rabbitmq, prefix)
    await publisher.start()
    try:
        await publisher.publish(envelopes)
    finally:
        await publisher.close()


async def accounting_knows(probe: Probe, skus: Sequence[str]) -> bool:
    known = await probe.acount("accounting", "ledger_items", "sku = ANY(:s)", s=list(skus))
    return known == len(set(skus))


async def receive_on_the_bus(
    portal: LocalPortal, rabbitmq: str, ledger: Ledger, lines: Sequence[Line]
) -> None:
    """The items, then their receipts as MaterialReceived (as purchasing publishes them), until
    inventory holds them and accounting has posted them."""
    skus = sorted({line.sku for line in lines})
    await LocalDriver(portal).create_items(skus)
    await wait_until(lambda: accounting_knows(portal.probe, skus), 30, "accounting's items")
    envelopes = [
        material_received(line, po_number=f"PO-ADJ-{n:05d}") for n, line in enumerate(lines)
    ]
    await publish(rabbitmq, portal.prefix, envelopes)
    for line in lines:
        ledger.receive(line)
    count = len(lines)

    async def received() -> bool:
        return (
            await asyncio.to_thread(portal.probe.stock_transactions) == count
            and await asyncio.to_thread(portal.probe.journals) == count
        )

    await wait_until(received, 30, f"{count} receipts in stock and in the journal")


# What an adjustment answered: its id and its (signed) value.
Adjuster = Callable[[Count], Awaitable[tuple[str, Decimal]]]


def use_case_adjuster(portal: LocalPortal) -> Adjuster:
    """Inventory's use case, in its own unit of work (as the API runs it)."""

    def work(count: Count) -> tuple[str, Decimal]:
        body = AdjustmentCreate.model_validate(count.body())
        with portal.runtimes["inventory"].uow() as uow:
            out = movements.adjust_stock(uow, body)
            uow.commit()
            return out.movement_id, out.value

    return lambda count: asyncio.to_thread(work, count)


def api_adjuster(api: httpx.AsyncClient) -> Adjuster:
    """POST /api/inventory/v1/stock/adjustments through the gateway, as the store's page does."""

    async def adjust(count: Count) -> tuple[str, Decimal]:
        response = await api.post("/api/inventory/v1/stock/adjustments", json=count.body())
        out = ok(response, 201)
        return out["movement_id"], Decimal(out["value"])

    return adjust


async def adjust(adjuster: Adjuster, ledger: Ledger, count: Count) -> str:
    """One adjustment; checks the value inventory answers against the ledger's and returns the
    adjustment id."""
    expected = ledger.plan(count)
    adjustment_id, value = await adjuster(count)
    assert value == expected, (count, value, expected)
    ledger.adjustments[adjustment_id] = expected
    return adjustment_id


async def adjust_all(
    adjuster: Adjuster, ledger: Ledger, counts: dict[str, list[Count]], done: list[str]
) -> None:
    """Each SKU's series in order, the SKUs side by side (one client each)."""

    async def one_sku(series: list[Count]) -> None:
        for count in series:
            done.append(await adjust(adjuster, ledger, count))

    await asyncio.gather(*(one_sku(series) for series in counts.values()))


# --------------------------------------------------------------------------------------------
# Reading the books and checking them
# --------------------------------------------------------------------------------------------

JournalLines = list[tuple[str, Decimal, Decimal]]


@dataclass
class AdjustmentBooks:
    entries: dict[str, tuple[str, str | None, str | None, str | None, JournalLines]]
    adjusted_event_ids: set[str]
    unpublished_adjustments: int
    trial_balanced: bool
    trial_debit: Decimal
    trial_credit: Decimal
    balances: dict[str, Decimal]
    valuation_raw: Decimal
    stock: dict[str, tuple[Decimal, Decimal, Decimal]]
    stock_txn_count: int
    ledger_matches: bool
    open_dead_letters: dict[str, int]


def read_adjustment_books(
    probe: Probe,
    skus: Sequence[str],
    uow_of: Callable[[str], Any],
    today: date,
    zone: Any,
) -> AdjustmentBooks:
    """Journal rows, inventory's outbox, and the trial balance, valuation and stock use cases."""
    entries: dict[str, tuple[str, str | None, str | None, str | None, JournalLines]] = {}
    for number, entry_type, source, source_type, doc_ref, account, debit, credit in probe.rows(
        "accounting",
        "SELECT e.number, e.entry_type, e.source_event_id, e.source_event_type, e.document_ref, "
        "l.account_code, l.debit, l.credit FROM journal_entries e "
        "JOIN journal_lines l ON l.entry_id = e.id ORDER BY e.number, l.line_no",
    ):
        entry = entries.setdefault(number, (entry_type, source, source_type, doc_ref, []))
        entry[4].append((account, Decimal(debit), Decimal(credit)))
    adjusted = {
        row[0]
        for row in probe.rows(
            "inventory", "SELECT event_id FROM outbox WHERE event_type = 'StockAdjusted'"
        )
    }
    with uow_of("accounting") as uow:
        trial = accounting_reports.trial_balance(uow, date(9999, 12, 31))
        ledger_check = accounting_reports.ledger_check(uow)
    with uow_of("inventory") as uow:
        valuation = valuation_service.valuation(uow, today, today, zone)
        stock = {}
        for sku in skus:
            level = inventory_service.item_stock(uow, sku)
            stock[sku] = (level.on_hand, level.value, level.average_cost)
    raw = [c.value for c in valuation.classes if c.inventory_class == InventoryClass.RAW]
    return AdjustmentBooks(
        entries=entries,
        adjusted_event_ids=adjusted,
        unpublished_adjustments=probe.unpublished("inventory", "StockAdjusted"),
        trial_balanced=trial.balanced,
        trial_debit=trial.total_debit,
        trial_credit=trial.total_credit,
        balances={row.code: row.balance for row in trial.rows},
        valuation_raw=raw[0],
        stock=stock,
        stock_txn_count=probe.stock_transactions(),
        ledger_matches=ledger_check.matches,
        open_dead_letters={
            service: probe.count(service, "dead_letters", "replayed_at IS NULL")
            for service in ("inventory", "accounting")
        },
    )


def expected_adjustment_lines(value: Decimal) -> JournalLines:
    """A gain: Dr 1200 / Cr 5500; a loss: Dr 5500 / Cr 1200; of the value's size."""
    amount = abs(value)
    if value > 0:
        return [(RAW_ACCOUNT, amount, ZERO), (ADJUSTMENTS, ZERO, amount)]
    return [(ADJUSTMENTS, amount, ZERO), (RAW_ACCOUNT, ZERO, amount)]


def assert_exact_adjustment_books(books: AdjustmentBooks, ledger: Ledger) -> None:
    receipts = {n: e for n, e in books.entries.items() if e[2] == "MaterialReceived"}
    adjusted = {n: e for n, e in books.entries.items() if e[2] == "StockAdjusted"}
    assert len(receipts) + len(adjusted) == len(books.entries), "an entry of another kind"

    # One entry per receipt line, Dr 1200 / Cr 2000 of its value.
    receipt_sources = {entry[1] for entry in receipts.values()}
    assert len(receipts) == len(receipt_sources) == len(ledger.receipts)
    assert sorted(entry[4][0][1] for entry in receipts.values()) == sorted(
        line.value for line in ledger.receipts
    )
    for number, entry in receipts.items():
        amount = entry[4][0][1]
        assert entry[4] == [(RAW_ACCOUNT, amount, ZERO), (PAYABLE, ZERO, amount)], number

    # One entry per StockAdjusted event inventory wrote, and one per adjustment done, with the
    # lines its value calls for; none left unpublished.
    n = len(ledger.adjustments)
    assert books.unpublished_adjustments == 0
    assert len(books.adjusted_event_ids) == n, f"{len(books.adjusted_event_ids)} events for {n}"
    sources = [entry[1] for entry in adjusted.values()]
    assert len(adjusted) == n, f"{len(adjusted)} adjustment entries for {n} adjustments"
    assert set(sources) == books.adjusted_event_ids and len(set(sources)) == n
    assert {entry[0] for entry in adjusted.values()} == {"stock_adjustment"}
    by_adjustment = {entry[3]: entry[4] for entry in adjusted.values()}
    assert by_adjustment == {
        adjustment_id: expected_adjustment_lines(value)
        for adjustment_id, value in ledger.adjustments.items()
    }

    # Numbered without gaps, in one year.
    numbers = sorted(books.entries)
    year = numbers[0][3:7]
    total = len(ledger.receipts) + n
    assert numbers == [f"JE-{year}-{k:05d}" for k in range(1, total + 1)], "gaps"

    # Balanced at the figures worked out from what was done; 1200 is inventory's raw stock.
    assert books.trial_balanced is True
    debits = ledger.receipts_total + ledger.gains + ledger.losses
    assert books.trial_debit == books.trial_credit == debits
    assert books.balances.get(RAW_ACCOUNT) == ledger.raw
    assert books.balances.get(PAYABLE) == ledger.receipts_total
    assert books.balances.get(ADJUSTMENTS, ZERO) == ledger.losses - ledger.gains
    assert books.valuation_raw == ledger.raw == books.balances.get(RAW_ACCOUNT)
    assert books.ledger_matches is True

    # Inventory's own side: each SKU's stock, and one ledger row per receipt and adjustment.
    assert books.stock == {
        sku: (shelf.qty, shelf.value, shelf.average) for sku, shelf in ledger.shelves.items()
    }
    assert books.stock_txn_count == total
    assert books.open_dead_letters == {"inventory": 0, "accounting": 0}


def read_portal_books(portal: LocalPortal) -> AdjustmentBooks:
    skus = [row[0] for row in portal.probe.rows("inventory", "SELECT sku FROM items ORDER BY sku")]
    return read_adjustment_books(
        portal.probe,
        skus,
        lambda service: portal.runtimes[service].uow(read_only=True),
        plant_today(portal.settings),
        plant_zone(portal.settings),
    )


async def check_portal_books(portal: LocalPortal, ledger: Ledger) -> AdjustmentBooks:
    books = await asyncio.to_thread(read_portal_books, portal)
    assert_exact_adjustment_books(books, ledger)
    return books


async def adjustment_journals(probe: Probe) -> int:
    return await probe.acount("accounting", "journal_entries", "entry_type = 'stock_adjustment'")


async def wait_for_adjustments(
    probe: Probe,
    adjustments: int,
    *,
    prefix: str,
    within: float,
    diagnose: Callable[[], str] | None = None,
) -> None:
    """Every adjustment posted, inventory's outbox drained, accounting's queue empty; then the
    count stays put a while (redeliveries must be skipped, not posted)."""

    async def posted() -> bool:
        return await adjustment_journals(probe) >= adjustments

    await wait_until(posted, within, f"{adjustments} adjustment entries", diagnose=diagnose)

    async def quiet() -> bool:
        return (
            await asyncio.to_thread(probe.unpublished, "inventory", "StockAdjusted") == 0
            and await queue_depth(f"{prefix}accounting.events") == 0
        )

    await wait_until(quiet, within, "inventory's outbox and accounting's queue to drain")
    settled = await adjustment_journals(probe)
    for _ in range(6):
        await asyncio.sleep(0.25)
        assert await adjustment_journals(probe) == settled
    assert settled == adjustments, f"{settled} adjustment entries for {adjustments}"


# --------------------------------------------------------------------------------------------
# 1. StockAdjusted delivered again, twice back to back and out of order
# --------------------------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.timeout(120)
async def test_stock_adjustments_redelivered_twice_post_once_each(
    postgres: servers.PostgresDatabases, rabbitmq: str, tmp_path: Path
) -> None:
    # The arithmetic first: the Shelf must reproduce the hand-worked series.
    check = Ledger()
    for line in RECEIPTS_BY_HAND:
        check.receive(line)
    assert [check.plan(count) for count, _value in HAND_WORKED] == [v for _c, v in HAND_WORKED]

    ledger = Ledger()
    async with local_portal(postgres, tmp_path, names=("inventory", "accounting")) as portal:
        await portal.start("inventory")
        await portal.start("accounting")
        await receive_on_the_bus(portal, rabbitmq, ledger, RECEIPTS_BY_HAND)
        adjuster = use_case_adjuster(portal)
        ids = [await adjust(adjuster, ledger, count) for count, _value in HAND_WORKED]
        assert [ledger.adjustments[i] for i in ids] == [value for _c, value in HAND_WORKED]
        await wait_for_adjustments(portal.probe, len(ids), prefix=portal.prefix, within=30)

        # As a relay that died before marking its rows published would: the StockAdjusted rows
        # of inventory's outbox published again, all of them in reverse order and then every
        # other one twice in one publish, back to back.
        rows = await asyncio.to_thread(
            portal.probe.rows,
            "inventory",
            "SELECT envelope FROM outbox WHERE event_type = 'StockAdjusted' ORDER BY id",
        )
        envelopes = [Envelope.model_validate_json(row[0]) for row in rows]
        assert len(envelopes) == len(ids)
        assert {e.payload["adjustment_id"] for e in envelopes} == set(ids)
        again = envelopes[::2]
        publisher = RabbitMQBus(rabbitmq, portal.prefix)
        await publisher.start()
        try:
            await publisher.publish(envelopes[::-1])
            await publisher.publish([*again, *again])
        finally:
            await publisher.close()

        handled = portal.handled["accounting"]

        def delivered() -> bool:
            return all(handled[str(e.id)] >= (3 if e in again else 2) for e in envelopes)

        await wait_until(delivered, 30, "every StockAdjusted delivered again")
        await wait_for_adjustments(portal.probe, len(ids), prefix=portal.prefix, within=30)

        probe = portal.probe
        adjusted = "event_type = 'StockAdjusted'"
        assert await probe.acount("accounting", "inbox", adjusted) == len(ids)
        journal_posted = "event_type = 'JournalPosted'"
        posted = len(RECEIPTS_BY_HAND) + len(ids)
        assert await probe.acount("accounting", "outbox", journal_posted) == posted
        books = await check_portal_books(portal, ledger)

        # The same totals, as worked by hand.
        assert books.trial_debit == BY_HAND["debits"]
        assert books.balances[RAW_ACCOUNT] == books.valuation_raw == BY_HAND["raw"]
        assert books.balances[PAYABLE] == BY_HAND["receipts"]
        assert books.balances[ADJUSTMENTS] == BY_HAND["adjustments"]
        assert books.stock == STOCK_BY_HAND


# --------------------------------------------------------------------------------------------
# 2. Accounting stopped behind 100 adjustments; its broker connection cut mid-backlog
# --------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def portal_behind_proxy(
    postgres: servers.PostgresDatabases, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[LocalPortal, TcpProxy]]:
    """Inventory and accounting in this process, every broker connection of theirs through a
    TcpProxy to the real broker (see the module docstring)."""
    broker = URL(servers.AMQP_URL)
    proxy = TcpProxy(broker.host or "127.0.0.1", broker.port or 5672)
    await proxy.start()
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(proxy.close)
        with monkeypatch.context() as patch:
            patch.setattr(
                servers, "AMQP_URL", str(broker.with_host(proxy.host).with_port(proxy.port))
            )
            portal = await stack.enter_async_context(
                local_portal(postgres, tmp_path, names=("inventory", "accounting"))
            )
        yield portal, proxy


async def stop_accounting(portal: LocalPortal) -> None:
    """As a service process shut down: relay and workers stopped, consumer and connection
    closed. Its queue stays, and events for it wait there."""
    await portal.runtimes["accounting"].stop()
    await portal.bus("accounting").close()


async def start_accounting(portal: LocalPortal) -> None:
    await portal.bus("accounting").start()
    await portal.start("accounting")


async def cut_when_partly_posted(probe: Probe, proxy: TcpProxy, total: int, within: float) -> int:
    """Cut every connection once accounting has posted some but not all of a backlog of
    `total` adjustments; returns how many it had posted."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        posted = await adjustment_journals(probe)
        if 0 < posted < total:
            await proxy.cut()
            return posted
        assert posted < total, "accounting posted the whole backlog before the cut"
        assert loop.time() < deadline, f"accounting posted nothing in {within}s"
        await asyncio.sleep(0.005)


@pytest.mark.integration
@pytest.mark.timeout(150)
async def test_broker_cut_while_accounting_works_through_100_queued_adjustments(
    postgres: servers.PostgresDatabases,
    rabbitmq: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Small batches: a backlog of 102 takes eleven commits, so the cut lands between two.
    monkeypatch.setenv("PORTAL_CONSUMER_BATCH_SIZE", "10")
    skus = ("ADJ-C", "ADJ-D", "ADJ-E")
    receipts = [
        Line("ADJ-C", Decimal("40"), Decimal("2.1237")),  # 84.948 → 84.95
        Line("ADJ-D", Decimal("25.5"), Decimal("0.3333")),  # 8.49915 → 8.50
        Line("ADJ-E", Decimal("60"), Decimal("7.0005")),  # 420.03
        Line("ADJ-C", Decimal("12.25"), Decimal("1.9999")),  # 24.498775 → 24.50
    ]
    ledger = Ledger()
    async with portal_behind_proxy(postgres, tmp_path, monkeypatch) as (portal, proxy):
        probe = portal.probe
        await portal.start("inventory")
        await portal.start("accounting")
        await receive_on_the_bus(portal, rabbitmq, ledger, receipts)
        backlog = random_counts(skus, 34, ledger.shelves, seed=7)  # 102
        outage = random_counts(skus, 6, shelves_after(backlog, ledger), seed=8)

        # Accounting is down while 102 adjustments are made: they wait in its queue.
        await stop_accounting(portal)
        done: list[str] = []
        await adjust_all(use_case_adjuster(portal), ledger, backlog, done)
        queued = len(done)
        assert queued == 102

        async def backlog_queued() -> bool:
            return (
                await asyncio.to_thread(probe.unpublished, "inventory", "StockAdjusted") == 0
                and await queue_depth(f"{portal.prefix}accounting.events") == queued
            )

        await wait_until(backlog_queued, 30, f"{queued} StockAdjusted queued for accounting")
        assert await adjustment_journals(probe) == 0

        # Accounting comes back; every broker connection is cut while it works through them.
        connections_before = proxy.accepted
        await start_accounting(portal)
        at_cut = await cut_when_partly_posted(probe, proxy, queued, 60)

        # The outage: the store goes on adjusting (inventory commits, cannot publish).
        await adjust_all(use_case_adjuster(portal), ledger, outage, done)
        await asyncio.sleep(1)
        assert await asyncio.to_thread(probe.unpublished, "inventory", "StockAdjusted") > 0
        in_outage = await adjustment_journals(probe)
        assert at_cut <= in_outage <= queued, (at_cut, in_outage)
        proxy.restore()

        await wait_for_adjustments(probe, len(done), prefix=portal.prefix, within=90)
        assert proxy.accepted > connections_before, "nobody reconnected"
        assert len(ledger.adjustments) == len(done) == 120
        await check_portal_books(portal, ledger)


# --------------------------------------------------------------------------------------------
# 3. The accounting process SIGKILLed in the middle of a backlog of receipts and adjustments
# --------------------------------------------------------------------------------------------


def read_cluster_books(cluster: Cluster, probe: Probe, skus: Sequence[str]) -> AdjustmentBooks:
    names = ("inventory", "accounting")
    databases = {name: Database(cluster.db_urls[name], pool_size=1) for name in names}
    settings = Settings()
    try:
        return read_adjustment_books(
            probe,
            skus,
            lambda name: UnitOfWork(databases[name], registry.definition(name).tables, name),
            plant_today(settings),
            plant_zone(settings),
        )
    finally:
        for database in databases.values():
            database.dispose()


@pytest.mark.integration
@pytest.mark.timeout(240)
async def test_accounting_killed_mid_backlog_of_adjustments_made_through_the_gateway(
    postgres: servers.PostgresDatabases, rabbitmq: str, tmp_path: Path
) -> None:
    skus = ("ADJ-F", "ADJ-G")
    lines = [
        Line("ADJ-F", Decimal("30"), Decimal("1.1111")),  # 33.333 → 33.33
        Line("ADJ-G", Decimal("45.5"), Decimal("0.0777")),  # 3.53535 → 3.54
        Line("ADJ-F", Decimal("7.75"), Decimal("2.0050")),  # 15.53875 → 15.54
        Line("ADJ-G", Decimal("50"), Decimal("0.1235")),  # 6.175 → 6.18
    ]
    plan = Plan(skus=skus, orders=[lines], receipts=[(0, [1, 2, 3, 4])])
    ledger = Ledger()
    # Small batches: a backlog of 104 takes a dozen commits, so the kill lands between two.
    env = {"PORTAL_CONSUMER_BATCH_SIZE": "10"}
    async with running_cluster(postgres, tmp_path, amqp_url=rabbitmq, extra_env=env) as cluster:
        probe = cluster_probe(cluster)
        logs = cluster_logs(cluster)
        try:
            async with cluster.gateway_client() as api:
                await sign_in(api)
                numbers = await prepare(ApiDriver(api), plan)
                await wait_until(lambda: accounting_knows(probe, skus), 60, "accounting's items")

                # Accounting is down (its queue stays) while the material is received and the
                # store makes 100 adjustments through the gateway.
                await asyncio.to_thread(stop_gracefully, cluster, "accounting")
                await push_receipts(ApiDriver(api), plan, numbers)
                for line in lines:
                    ledger.receive(line)

                async def in_stock() -> bool:
                    return await asyncio.to_thread(probe.stock_transactions) == len(lines)

                await wait_until(in_stock, 60, "the receipts in stock", diagnose=logs)
                counts = random_counts(skus, 50, ledger.shelves, seed=11)
                done: list[str] = []
                await adjust_all(api_adjuster(api), ledger, counts, done)
                backlog = len(lines) + len(done)
                assert backlog == 104

                async def backlog_queued() -> bool:
                    return (
                        await asyncio.to_thread(probe.unpublished, "inventory", "StockAdjusted")
                        == 0
                        and await queue_depth(f"{cluster.prefix}accounting.events") == backlog
                    )

                await wait_until(backlog_queued, 60, f"{backlog} events queued", diagnose=logs)
                assert await asyncio.to_thread(probe.journals) == 0

                # Accounting comes back and works through the backlog; SIGKILL it half-way.
                await asyncio.to_thread(cluster.start, "accounting", wait=False)
                at_kill = await asyncio.to_thread(
                    kill_when_partly_posted, cluster, probe, backlog, 90
                )
                after_kill = await asyncio.to_thread(probe.journals)
                assert 0 < at_kill <= after_kill < backlog, (at_kill, after_kill)
                assert await queue_depth(f"{cluster.prefix}accounting.events") > 0

                await asyncio.to_thread(cluster.start, "accounting")
                await wait_for_adjustments(
                    probe, len(done), prefix=cluster.prefix, within=90, diagnose=logs
                )
                books = await asyncio.to_thread(read_cluster_books, cluster, probe, skus)
                assert_exact_adjustment_books(books, ledger)

                # What the accountant sees through the gateway: the same trial balance, and a
                # reconciliation of 1200 against inventory's valuation with no difference.
                trial = ok(await api.get("/api/accounting/v1/trial-balance"))
                debits = ledger.receipts_total + ledger.gains + ledger.losses
                assert trial["balanced"] is True
                assert Decimal(trial["total_debit"]) == Decimal(trial["total_credit"]) == debits
                assert account_balance(trial, RAW_ACCOUNT) == ledger.raw
                recon = ok(await api.get("/api/accounting/v1/reports/reconciliation"))
                assert recon["flagged"] is False
                raw = next(a for a in recon["accounts"] if a["code"] == RAW_ACCOUNT)
                assert Decimal(raw["gl_balance"]) == Decimal(raw["inventory_value"]) == ledger.raw
                assert Decimal(raw["difference"]) == 0
        finally:
            probe.dispose()
