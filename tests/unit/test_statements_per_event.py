"""Statements per handled event, pinned: a regression on the hot paths shows here first.

Each test counts, with a `before_cursor_execute` listener, the statements one use case sends
while it runs inside an open unit of work: the inbox, outbox, sequence and savepoint statements
of the messaging framework are not part of these figures (docs/performance.md has the figures
of whole batches). Migrated SQLite files; PostgreSQL sends the same statements (plus no BEGIN).

A test here that fails because a path got CHEAPER should be updated with the new count.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from services.accounting import handlers as accounting_handlers
from services.accounting import posting as accounting_posting
from services.accounting.bootstrap import definition as accounting_definition
from services.accounting.models import JournalEntry, JournalLine, JournalSequence
from services.accounting.models import messaging as accounting_messaging
from services.inventory import handlers as inventory_handlers
from services.inventory import service as inventory_service
from services.inventory.bootstrap import definition as inventory_definition
from services.inventory.models import Item, Lot
from services.inventory.models import messaging as inventory_messaging
from services.inventory.schemas import ItemCreate
from services.purchasing import service as purchasing_service
from services.purchasing.bootstrap import definition as purchasing_definition
from services.purchasing.models import KnownItem
from services.purchasing.models import messaging as purchasing_messaging
from services.purchasing.schemas import (
    PoLineCreate,
    PurchaseOrderCreate,
    ReceiptCreate,
    ReceiptLineIn,
    VendorCreate,
)
from shared.db import Database
from shared.events.catalogue import ItemUpserted, MaterialReceived, StockChanged, validate_payload
from shared.events.envelope import Envelope, utc_now
from shared.messaging.tables import MessagingTables
from shared.migrations import upgrade
from shared.service import ServiceDefinition
from shared.settings import Settings
from shared.uow import UnitOfWork

D = Decimal


class Statements:
    """Every statement sent on the engine while `counting()` is open, as 'VERB table'."""

    def __init__(self, db: Database) -> None:
        self.seen: list[str] = []
        self._on = False
        event.listen(db.engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        kind = _kind(statement)
        if self._on and kind != "BEGIN":  # SQLite's lazy BEGIN belongs to the unit of work
            self.seen.append(kind)

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        self.seen = []
        self._on = True
        try:
            yield self.seen
        finally:
            self._on = False


def _kind(statement: str) -> str:
    text = " ".join(statement.split())
    for pattern in (r"^(INSERT) INTO (\w+)", r"^(UPDATE) (\w+)", r"^(SELECT) .*? FROM (\w+)"):
        match = re.match(pattern, text, re.IGNORECASE)
        if match:
            return f"{match.group(1).upper()} {match.group(2)}"
    return text.split(" ")[0].upper()


class Service:
    def __init__(self, definition: ServiceDefinition, tables: MessagingTables, tmp: Path) -> None:
        url = f"sqlite:///{tmp / definition.name}.db"
        upgrade(definition, url)
        self.db = Database(url)
        self.name = definition.name
        self.tables = tables
        self.statements = Statements(self.db)
        if definition.seed is not None:
            with self.uow() as uow:
                definition.seed(uow, Settings())
                uow.commit()

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.db, self.tables, self.name)

    def count(self, what: Any) -> int:
        with self.db.session() as session:
            return int(session.scalar(select(func.count()).select_from(what)) or 0)


def received(sku: str = "RESIN", *, lot: str | None = None, line_no: int = 1) -> Envelope:
    payload = MaterialReceived(
        po_number="PO-2026-00001",
        line_no=line_no,
        receipt_id="RCV-2026-00001",
        sku=sku,
        qty=D(10),
        unit_cost=D("2.5"),
        value=D(25),
        lot=lot,
        to_status="approved",
        vendor_code="ACME",
        received_at=datetime(2026, 3, 4, 10, tzinfo=UTC),
    )
    return Envelope(
        type="MaterialReceived",
        producer="purchasing",
        key=payload.po_number,
        payload=validate_payload("MaterialReceived", payload),
    )


# --------------------------------------------------------------------------------------------
# Inventory: MaterialReceived
# --------------------------------------------------------------------------------------------


@pytest.fixture
def inventory(tmp_path: Path) -> Iterator[Service]:
    service = Service(inventory_definition(), inventory_messaging, tmp_path)
    with service.uow() as uow:
        inventory_service.create_item(uow, ItemCreate(sku="RESIN", name="Resin", uom="L"))
        uow.commit()
    yield service
    service.db.dispose()


def receive(inventory: Service, *envelopes: Envelope) -> tuple[list[list[str]], list[Envelope]]:
    """Apply the envelopes in one unit of work; the statements of each, and the events."""
    per_event: list[list[str]] = []
    with inventory.uow() as uow:
        for envelope in envelopes:
            with inventory.statements.counting() as seen:
                inventory_handlers.on_material_received(envelope, uow)
            per_event.append(list(seen))
        events = uow.pending_events
        uow.commit()
    return per_event, events


# The item's lock, its balances and its open reservations (StockChanged's allocated).
LOCK_AND_READ = ["SELECT items", "SELECT stock_balances", "SELECT reservations"]
WRITE_ITEM_AND_LEDGER = ["UPDATE items", "INSERT stock_transactions"]


def test_a_receipt_into_an_existing_balance_costs_six_statements(inventory: Service) -> None:
    (first, second), events = receive(inventory, received(), received(line_no=2))

    assert first == [*LOCK_AND_READ, "INSERT stock_balances", *WRITE_ITEM_AND_LEDGER]
    assert second == [*LOCK_AND_READ, "UPDATE stock_balances", *WRITE_ITEM_AND_LEDGER]
    stock = StockChanged.model_validate(events[-1].payload)
    assert (stock.on_hand, stock.available, stock.average_cost) == (D(20), D(20), D("2.5"))


def test_a_receipt_into_a_lot_writes_the_lot_once(inventory: Service) -> None:
    (new_lot, same_lot, other_lot), events = receive(
        inventory, received(lot="L1"), received(lot="L1", line_no=2), received(lot="L2")
    )

    assert new_lot == [
        *LOCK_AND_READ,
        "INSERT lots",
        "INSERT stock_balances",
        *WRITE_ITEM_AND_LEDGER,
    ]
    assert same_lot == [*LOCK_AND_READ, "UPDATE stock_balances", *WRITE_ITEM_AND_LEDGER]
    assert len(other_lot) == 7
    assert inventory.count(Lot) == 2
    assert StockChanged.model_validate(events[-1].payload).on_hand == D(30)


def test_a_lot_known_before_its_first_balance_is_no_conflict(inventory: Service) -> None:
    with inventory.db.session() as session:
        item_id = session.scalar(select(Item.id).where(Item.sku == "RESIN"))
        session.add(Lot(item_id=item_id, code="L9", created_at=utc_now()))

    ((statements,), _) = receive(inventory, received(lot="L9"))

    assert "INSERT lots" in statements  # ON CONFLICT DO NOTHING: the row is there already
    assert inventory.count(Lot) == 1


# --------------------------------------------------------------------------------------------
# Accounting: MaterialReceived
# --------------------------------------------------------------------------------------------


@pytest.fixture
def accounting(tmp_path: Path) -> Iterator[Service]:
    service = Service(accounting_definition(), accounting_messaging, tmp_path)
    with service.uow() as uow:  # the resin, bought: its stock is raw material
        resin = ItemUpserted(
            sku="RESIN", name="Resin", uom="kg", item_type="raw", make_or_buy="buy"
        )
        accounting_posting.remember_item(uow, resin, 1)
        uow.commit()
    yield service
    service.db.dispose()


def post(accounting: Service, envelope: Envelope) -> list[str]:
    with accounting.uow() as uow, accounting.statements.counting() as seen:
        accounting_handlers.on_value_moved(envelope, uow)
        statements = list(seen)
        uow.commit()
    return statements


def test_a_posting_costs_seven_statements(accounting: Service) -> None:
    assert post(accounting, received()) == [
        "SELECT posting_accounts",  # roles, time zone and closed periods: one UNION ALL
        "SELECT ledger_items",  # is the resin made or bought (which inventory account)
        "INSERT journal_sequences",
        "SELECT periods",  # still open, read under the year's counter lock (a close takes it)
        "INSERT journal_entries",
        "INSERT journal_lines",  # both lines, one executemany
        "INSERT account_day_balances",  # both accounts' day rows, one executemany upsert
    ]
    assert accounting.count(JournalLine) == 2


def test_a_posting_of_an_event_posted_before_gives_its_number_back(accounting: Service) -> None:
    envelope = received()
    post(accounting, envelope)

    assert post(accounting, envelope) == [
        "SELECT posting_accounts",
        "SELECT ledger_items",
        "INSERT journal_sequences",
        "SELECT periods",
        "INSERT journal_entries",  # ON CONFLICT (source_event_id) DO NOTHING: no row
        "UPDATE journal_sequences",  # the number goes back
    ]
    assert accounting.count(JournalEntry) == 1
    with accounting.db.session() as session:
        assert session.scalar(select(JournalSequence.last_number)) == 1
    with accounting.uow() as uow:
        assert accounting_posting.post_event(uow, envelope) is None


# --------------------------------------------------------------------------------------------
# Purchasing: a receipt of K lines against a PO of L lines
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 10])
def test_a_receipt_costs_seven_statements_whatever_its_size_and_the_po_size(
    tmp_path: Path, k: int
) -> None:
    purchasing = Service(purchasing_definition(), purchasing_messaging, tmp_path)
    lines = 60
    with purchasing.uow() as uow:
        uow.session.add(KnownItem(sku="RESIN", name="Resin", uom="L", active=True, sequence=1))
        purchasing_service.create_vendor(uow, VendorCreate(code="ACME", name="Acme"))
        po = purchasing_service.create_purchase_order(
            uow,
            PurchaseOrderCreate(
                vendor_code="ACME",
                lines=[PoLineCreate(sku="RESIN", qty=D(5), unit_cost=D("2.35"))] * lines,
            ),
            date(2026, 3, 1),
        )
        purchasing_service.submit_purchase_order(uow, po.number)
        uow.commit()
    receipt = ReceiptCreate(lines=[ReceiptLineIn(line_no=n, qty=D(5)) for n in range(1, k + 1)])

    with purchasing.uow() as uow, purchasing.statements.counting() as seen:
        out = purchasing_service.receive_purchase_order(uow, po.number, receipt, "dock", Settings())
        statements = list(seen)
        events = uow.pending_events
        uow.commit()

    assert statements == [
        "SELECT purchase_orders",  # … FOR UPDATE on PostgreSQL
        "SELECT purchase_order_lines",
        "INSERT document_counters",
        "INSERT receipts",
        "INSERT receipt_lines",  # one executemany
        "UPDATE purchase_order_lines",  # one executemany
        "UPDATE purchase_orders",
    ]
    assert [line.value for line in out.lines] == [D("11.75")] * k
    assert [e.type for e in events] == ["MaterialReceived"] * k + ["PurchaseOrderChanged"]
    changed = events[-1].payload
    assert changed["status"] == "partial"
    assert len(changed["lines"]) == lines
    assert [D(line["qty_received"]) for line in changed["lines"][: k + 1]] == [D(5)] * k + [D(0)]
    purchasing.db.dispose()
