"""The unit of work's messaging costs and SQLite's readers, on a real SQLite database.

- Sequences: one upsert per commit for all keys, consecutive numbers per key.
- Readers: `read_only` units of work, the readiness ping and the relay's reads do not wait for
  SQLite's write lock (BEGIN IMMEDIATE) held by a writer; read-only work refuses to write.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, event, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.bus.inprocess import InProcessBus
from shared.db import Database, dialect_insert
from shared.events.catalogue import MaterialReceived
from shared.events.envelope import Envelope, utc_now
from shared.messaging.relay import OutboxRelay
from shared.messaging.tables import MessagingTables, messaging_tables
from shared.uow import UnitOfWork


class Base(DeclarativeBase):
    pass


class Thing(Base):
    __tablename__ = "things"
    id: Mapped[int] = mapped_column(primary_key=True)


tables: MessagingTables = messaging_tables(Base.metadata)


class Plant:
    def __init__(self, tmp_path: Path) -> None:
        self.db = Database(f"sqlite:///{tmp_path / 'uow.db'}")
        Base.metadata.create_all(self.db.engine)
        self.statements: list[str] = []

        @event.listens_for(self.db.engine, "before_cursor_execute")
        def _seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            self.statements.append(" ".join(statement.split()))

    def uow(self, *, read_only: bool = False) -> UnitOfWork:
        return UnitOfWork(self.db, tables, "test", read_only=read_only)

    def outbox(self) -> list[tuple[str, int, int]]:
        """(key, sequence, the sequence inside the stored envelope) in outbox order."""
        with self.db.reader() as session:
            rows = session.execute(select(tables.outbox).order_by(tables.outbox.c.id)).all()
        return [
            (r.key, r.sequence, Envelope.model_validate_json(r.envelope).sequence) for r in rows
        ]


@pytest.fixture
def plant(tmp_path: Path) -> Iterator[Plant]:
    plant = Plant(tmp_path)
    yield plant
    plant.db.dispose()


def item(sku: str) -> dict[str, Any]:
    return {
        "sku": sku,
        "name": f"Item {sku}",
        "uom": "ea",
        "item_type": "raw",
        "make_or_buy": "buy",
    }


def add_events(uow: UnitOfWork, keys: list[str]) -> None:
    """Facts (receipts), not states: every one of them is published, in order, per key."""
    for key in keys:
        uow.add_event(receipt(key), key=key)


def receipt(po_number: str) -> MaterialReceived:
    return MaterialReceived(
        po_number=po_number,
        line_no=1,
        receipt_id="RCV-1",
        sku="RESIN",
        qty=Decimal(1),
        unit_cost=Decimal(1),
        value=Decimal(1),
        to_status="approved",
        vendor_code="ACME",
        received_at=utc_now(),
    )


def test_sequences_are_taken_with_one_upsert_per_commit_and_count_up_per_key(
    plant: Plant,
) -> None:
    with plant.uow() as uow:
        add_events(uow, ["B", "A", "B", "C", "B"])
        uow.commit()
    upserts = [s for s in plant.statements if s.startswith("INSERT INTO event_sequences")]
    outbox_writes = [s for s in plant.statements if s.startswith("INSERT INTO outbox")]
    assert (len(upserts), len(outbox_writes)) == (1, 1)

    with plant.uow() as uow:
        add_events(uow, ["A", "B"])
        uow.commit()

    assert plant.outbox() == [
        ("B", 1, 1),
        ("A", 1, 1),
        ("B", 2, 2),
        ("C", 1, 1),
        ("B", 3, 3),
        ("A", 2, 2),
        ("B", 4, 4),
    ]


def test_a_rolled_back_commit_gives_its_sequences_back(plant: Plant) -> None:
    with plant.uow() as uow:
        add_events(uow, ["A", "A"])
        uow.session.add(Thing(id=1))
        uow.commit()
    with pytest.raises(Exception, match="UNIQUE"), plant.uow() as uow:
        add_events(uow, ["A"])
        uow.session.add(Thing(id=1))  # the commit's flush fails
        uow.commit()
    with plant.uow() as uow:
        add_events(uow, ["A"])
        uow.commit()

    assert [seq for key, seq, _ in plant.outbox()] == [1, 2, 3]


def hold_the_write_lock(db: Database) -> Any:
    """A writer that has begun (BEGIN IMMEDIATE) and written, and not committed."""
    writer = db.engine.connect()
    writer.execute(text("INSERT INTO things (id) VALUES (42)"))
    return writer


def test_readers_do_not_wait_for_a_writer(plant: Plant) -> None:
    relay = OutboxRelay("test", plant.db, tables, InProcessBus())
    with plant.uow() as uow:
        add_events(uow, ["A"])
        uow.commit()
    writer = hold_the_write_lock(plant.db)
    try:
        started = time.monotonic()
        with plant.uow(read_only=True) as uow:
            assert uow.session.scalars(select(Thing.id)).all() == []  # the committed snapshot
            uow.commit()
        assert plant.db.ping()
        assert relay.backlog() == 1
        assert [row_id for row_id, _ in relay._fetch_batch()] == [1]
        assert time.monotonic() - started < 2  # a writer's lock would hold them for 30 s
    finally:
        writer.rollback()
        writer.close()


def test_a_read_only_unit_of_work_refuses_events_and_writes(plant: Plant) -> None:
    with plant.uow(read_only=True) as uow, pytest.raises(RuntimeError, match="read-only"):
        add_events(uow, ["A"])
    with plant.uow(read_only=True) as uow, pytest.raises(RuntimeError, match="read-only"):
        uow.session.add(Thing(id=7))
        uow.commit()
    with plant.db.reader() as session:
        assert session.scalars(select(Thing.id)).all() == []


def test_dialect_insert_follows_the_session_or_the_name(plant: Plant) -> None:
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True))
    assert isinstance(dialect_insert("postgresql", table), postgresql.Insert)
    assert isinstance(dialect_insert("sqlite", table), sqlite.Insert)
    with plant.db.sessions() as session:
        assert isinstance(dialect_insert(session, table), sqlite.Insert)


def test_only_the_newest_state_of_a_key_leaves_a_unit_of_work() -> None:
    from shared.uow import newest_state_only

    def event(event_type: str, key: str, n: int) -> Envelope:
        return Envelope(type=event_type, producer="inventory", key=key, payload={"n": n})

    first = event("StockChanged", "RESIN", 1)
    receipt = event("MaterialReceived", "PO-1", 2)
    other = event("StockChanged", "BOX", 3)
    last = event("StockChanged", "RESIN", 4)
    # MaterialReceived is a fact, not a state: every one goes out.
    second_receipt = event("MaterialReceived", "PO-1", 5)
    kept = newest_state_only([first, receipt, other, last, second_receipt])
    assert kept == [receipt, other, last, second_receipt]
