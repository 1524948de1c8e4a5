"""The inbox consumer's three ways of applying a batch, on a real SQLite database.

A tiny service of its own: the messaging tables, a `notes` table its handler writes to, and a
`children` table whose foreign key is checked only at COMMIT (DEFERRABLE INITIALLY DEFERRED), so
a handler can make the commit fail the way a deferred constraint trigger does on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    event,
    insert,
    select,
)
from sqlalchemy.exc import DBAPIError

from shared.db import Database
from shared.events.envelope import Envelope
from shared.messaging.inbox import Failure, InboxConsumer
from shared.messaging.tables import MessagingTables, messaging_tables
from shared.uow import UnitOfWork

MAX_ATTEMPTS = 3

metadata = MetaData()
tables: MessagingTables = messaging_tables(metadata)
notes = Table(
    "notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(50), nullable=False),
    Column("n", Integer, nullable=False),
)
parents = Table("parents", metadata, Column("id", Integer, primary_key=True))
children = Table(
    "children",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "parent_id",
        Integer,
        ForeignKey("parents.id", deferrable=True, initially="DEFERRED"),
        nullable=False,
    ),
)


class Plant:
    """The database, the handler's behaviour switches, and the SQL it sees."""

    def __init__(self, tmp_path: Path) -> None:
        self.db = Database(f"sqlite:///{tmp_path / 'inbox.db'}")
        metadata.create_all(self.db.engine)
        self.fail_times: dict[int, int] = {}  # n → how many more times its handler raises
        self.calls: list[int] = []
        self.statements: list[str] = []

        @event.listens_for(self.db.engine, "before_cursor_execute")
        def _seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            self.statements.append(" ".join(statement.split()))

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.db, tables, "test")

    def note(self, envelope: Envelope, uow: UnitOfWork) -> None:
        n = int(envelope.payload["n"])
        self.calls.append(n)
        uow.session.execute(insert(notes).values(key=envelope.key, n=n))
        if self.fail_times.get(n, 0) > 0:
            self.fail_times[n] -= 1
            raise RuntimeError(f"note {n} refused")

    def orphan(self, envelope: Envelope, uow: UnitOfWork) -> None:
        """Writes a child of a parent that does not exist: refused at COMMIT only."""
        self.calls.append(int(envelope.payload["n"]))
        uow.session.execute(insert(children).values(parent_id=999))

    def consumer(self) -> InboxConsumer:
        return InboxConsumer(
            "test",
            {"Note": self.note, "Orphan": self.orphan},
            self.uow,
            max_attempts=MAX_ATTEMPTS,
            backoff_seconds=0,
        )

    def applied(self) -> list[tuple[str, int]]:
        with self.db.reader() as session:
            return [(r.key, r.n) for r in session.execute(select(notes).order_by(notes.c.id))]

    def inbox(self) -> set[str]:
        with self.db.reader() as session:
            return set(session.scalars(select(tables.inbox.c.event_id)))


@pytest.fixture
def plant(tmp_path: Path) -> Iterator[Plant]:
    plant = Plant(tmp_path)
    yield plant
    plant.db.dispose()


def note(n: int, key: str) -> Envelope:
    return Envelope(type="Note", producer="test", key=key, sequence=n, payload={"n": n})


def orphan(n: int, key: str) -> Envelope:
    return Envelope(type="Orphan", producer="test", key=key, sequence=n, payload={"n": n})


def ids(*envelopes: Envelope) -> set[str]:
    return {str(e.id) for e in envelopes}


def test_a_good_batch_is_one_transaction_without_savepoints_and_one_inbox_insert(
    plant: Plant,
) -> None:
    batch = [note(i, f"K{i % 2}") for i in range(1, 6)]

    assert plant.consumer().apply_batch(batch) == []

    sql = list(plant.statements)
    assert plant.applied() == [(e.key, int(e.payload["n"])) for e in batch]
    assert plant.inbox() == ids(*batch)
    assert not [s for s in sql if "SAVEPOINT" in s]
    assert len([s for s in sql if s.startswith("INSERT INTO inbox")]) == 1
    assert len([s for s in sql if s.startswith("SELECT inbox.event_id")]) == 1
    assert [s for s in sql if s.startswith("BEGIN")] == ["BEGIN IMMEDIATE"]  # one transaction


def test_a_failing_handler_is_isolated_and_later_events_of_its_key_are_held_back(
    plant: Plant,
) -> None:
    a1, b2, a3, c4, b5 = note(1, "A"), note(2, "B"), note(3, "A"), note(4, "C"), note(5, "B")
    plant.fail_times[2] = 99

    failures = plant.consumer().apply_batch([a1, b2, a3, c4, b5])

    assert [(f.envelope, f.held_back) for f in failures] == [(b2, (b5,))]
    assert "note 2 refused" in failures[0].error
    # Together (1, 2 raises), then carefully: 1, 2 (raises), 3, 4; 5 waits behind 2.
    assert plant.calls == [1, 2, 1, 2, 3, 4]
    assert plant.applied() == [("A", 1), ("A", 3), ("C", 4)]
    assert plant.inbox() == ids(a1, a3, c4)
    assert any("SAVEPOINT" in s for s in plant.statements)


def test_a_failure_at_commit_is_isolated_by_one_transaction_per_event(plant: Plant) -> None:
    a1, b2, b3, c4 = note(1, "A"), orphan(2, "B"), note(3, "B"), note(4, "C")

    failures = plant.consumer().apply_batch([a1, b2, b3, c4])

    assert [(f.envelope, f.held_back) for f in failures] == [(b2, (b3,))]
    assert "FOREIGN KEY" in failures[0].error
    # Together, carefully (the commit fails both times), then one by one: 1, 2 (its commit
    # fails), 3 held back behind it, 4.
    assert plant.calls == [1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 4]
    assert plant.applied() == [("A", 1), ("C", 4)]
    assert plant.inbox() == ids(a1, c4)


async def test_a_poison_event_is_retried_then_dead_lettered_and_its_key_goes_on_after_it(
    plant: Plant,
) -> None:
    consumer = plant.consumer()
    a1, b2, b3, a4 = note(1, "A"), orphan(2, "B"), note(3, "B"), note(4, "A")

    dead = await consumer.handle_batch([a1, b2, b3, a4])

    assert dead == ids(b2)
    # 3 is applied only after 2 has been given up on, so it comes last.
    assert plant.applied() == [("A", 1), ("A", 4), ("B", 3)]
    assert plant.inbox() == ids(a1, b3, a4)
    (letter,) = consumer.dead_letters.entries()
    assert (letter.envelope, letter.attempts) == (b2, MAX_ATTEMPTS)
    assert "FOREIGN KEY" in letter.error


async def test_an_event_that_fails_once_keeps_its_place_before_the_rest_of_its_key(
    plant: Plant,
) -> None:
    consumer = plant.consumer()
    plant.fail_times[1] = 2  # fails together and carefully, succeeds on its first retry
    k1, k2, k3, other = note(1, "K"), note(2, "K"), note(3, "K"), note(4, "L")

    assert await consumer.handle_batch([k1, k2, k3, other]) == set()

    assert plant.applied() == [("L", 4), ("K", 1), ("K", 2), ("K", 3)]
    assert consumer.dead_letters.entries() == []


def test_duplicates_and_handled_events_are_skipped_on_every_path(plant: Plant) -> None:
    consumer = plant.consumer()
    a1, b2 = note(1, "A"), note(2, "B")
    assert consumer.apply_batch([a1]) == []  # alone: one transaction of its own

    assert consumer.apply_batch([a1, b2, b2, a1]) == []  # together
    plant.fail_times[3] = 2
    c3 = note(3, "C")
    failures = consumer.apply_batch([a1, b2, c3, b2])  # carefully

    assert [f.envelope for f in failures] == [c3]
    assert plant.applied() == [("A", 1), ("B", 2)]
    assert plant.calls == [1, 2, 3, 3]


def test_a_lost_database_connection_redelivers_the_batch_instead_of_failing_an_event(
    plant: Plant,
) -> None:
    def disconnected(envelope: Envelope, uow: UnitOfWork) -> None:
        raise DBAPIError(
            "SELECT 1", {}, Exception("server closed the connection"), connection_invalidated=True
        )

    consumer = InboxConsumer("test", {"Note": disconnected}, plant.uow, backoff_seconds=0)

    with pytest.raises(DBAPIError):
        consumer.apply_batch([note(1, "A"), note(2, "B")])
    with pytest.raises(DBAPIError):
        consumer.apply_batch([note(3, "A")])
    assert plant.inbox() == set()


def test_replay_keeps_the_order_of_a_key(plant: Plant) -> None:
    consumer = plant.consumer()
    first, second = note(1, "K"), note(2, "K")
    for envelope in (first, second):
        consumer.dead_letters.record(envelope, "boom", attempts=MAX_ATTEMPTS)
    plant.fail_times[1] = 1

    assert consumer.dead_letters.replay() == (0, 2)  # 1 fails again; 2 is not tried before it
    assert plant.calls == [1]
    letters = consumer.dead_letters.entries()
    assert [(le.envelope, le.attempts) for le in letters] == [
        (first, MAX_ATTEMPTS + 1),
        (second, MAX_ATTEMPTS),
    ]
    assert "note 1 refused" in letters[0].error

    assert consumer.dead_letters.replay() == (2, 0)
    assert plant.applied() == [("K", 1), ("K", 2)]
    assert consumer.dead_letters.entries() == []
    assert len(consumer.dead_letters.entries(include_replayed=True)) == 2


def test_failure_is_a_plain_value() -> None:
    envelope = note(1, "A")
    assert Failure(envelope, "boom") == Failure(envelope, "boom", ())
