"""The messaging framework on real PostgreSQL (and RabbitMQ where it says so).

- A failure at COMMIT (a deferred constraint, as accounting's balance trigger is) is isolated to
  its event, which is retried and dead-lettered, while the rest of the batch is applied.
- Sequence numbers of several keys taken by concurrent commits: no deadlock, no gap, no repeat.
- The relay checks its advisory lock every few seconds, not on every pass, and gives it up.
- An event published before its consumer's service ever started is delivered when it starts
  (the wiring `portal serve` uses: `make_bus` declares the routing map).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, event, insert, select, text

from services.inventory import service as inventory_service
from services.inventory.schemas import ItemCreate
from services.purchasing.models import KnownItem
from services.registry import definition
from services.standalone import make_bus
from shared.bus.base import Publishable
from shared.bus.inprocess import InProcessBus
from shared.db import Database
from shared.events.envelope import Envelope
from shared.messaging.inbox import InboxConsumer
from shared.messaging.relay import OutboxRelay
from shared.messaging.tables import MessagingTables, messaging_tables
from shared.runtime import ServiceRuntime
from shared.settings import SERVICES, Settings
from shared.uow import UnitOfWork
from tests.support import servers

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
SECRET = "messaging-test-secret-" + "x" * 30

metadata = MetaData()
tables: MessagingTables = messaging_tables(metadata)
notes = Table(
    "notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(50), nullable=False),
    Column("ticket", Integer, nullable=False),
)


@pytest.fixture
def db(postgres: servers.PostgresDatabases) -> Iterator[Database]:
    database = Database(postgres.create("messaging"))
    metadata.create_all(database.engine)
    with database.engine.begin() as conn:
        # Checked at COMMIT only, like a deferred constraint trigger.
        conn.execute(
            text(
                "ALTER TABLE notes ADD CONSTRAINT one_per_ticket UNIQUE (ticket) "
                "DEFERRABLE INITIALLY DEFERRED"
            )
        )
    yield database
    database.dispose()


def new_uow(db: Database) -> UnitOfWork:
    return UnitOfWork(db, tables, "test")


def ticket(n: int, key: str) -> Envelope:
    return Envelope(type="Ticket", producer="test", key=key, payload={"ticket": n})


def item(sku: str) -> dict[str, Any]:
    return {"sku": sku, "name": sku, "uom": "ea", "item_type": "raw", "make_or_buy": "buy"}


def take_ticket(envelope: Envelope, uow: UnitOfWork) -> None:
    uow.session.execute(insert(notes).values(key=envelope.key, ticket=envelope.payload["ticket"]))


async def test_a_failure_at_commit_is_isolated_retried_and_dead_lettered(db: Database) -> None:
    consumer = InboxConsumer(
        "test", {"Ticket": take_ticket}, lambda: new_uow(db), max_attempts=2, backoff_seconds=0
    )
    a, clash, b_after, c = ticket(1, "A"), ticket(1, "B"), ticket(2, "B"), ticket(3, "C")

    dead = await consumer.handle_batch([a, clash, b_after, c])

    assert dead == {str(clash.id)}
    with db.reader() as session:
        applied = session.execute(select(notes.c.key, notes.c.ticket).order_by(notes.c.id))
        assert [tuple(row) for row in applied] == [("A", 1), ("C", 3), ("B", 2)]
        handled = set(session.scalars(select(tables.inbox.c.event_id)))
    assert handled == {str(a.id), str(b_after.id), str(c.id)}
    (letter,) = consumer.dead_letters.entries()
    assert letter.envelope == clash
    assert "one_per_ticket" in letter.error


def test_concurrent_commits_take_sequences_of_many_keys_without_deadlock_or_gap(
    db: Database,
) -> None:
    keys = [f"K{i}" for i in range(8)]
    errors: list[BaseException] = []

    def commit_many(order: list[str]) -> None:
        try:
            for _ in range(15):
                with new_uow(db) as uow:
                    for key in order:
                        uow.add_event(item(key), key=key, event_type="ItemUpserted")
                    uow.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    orders = [keys, list(reversed(keys)), keys[3:] + keys[:3], keys[::2] + keys[1::2]]
    threads = [threading.Thread(target=commit_many, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    with db.reader() as session:
        rows = session.execute(select(tables.outbox.c.key, tables.outbox.c.sequence)).all()
    for key in keys:
        assert sorted(seq for k, seq in rows if k == key) == list(range(1, 61))


class FlakyBus(InProcessBus):
    def __init__(self) -> None:
        super().__init__()
        self.fail_next = False

    async def publish(self, messages: Sequence[Publishable]) -> None:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("broker away")
        await super().publish(messages)


async def test_the_relay_checks_its_lock_every_few_seconds_and_gives_it_up(db: Database) -> None:
    bus = FlakyBus()
    relay = OutboxRelay("test", db, tables, bus, leader_check_seconds=3600)
    statements: list[str] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def _seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    assert [await relay.publish_pending() for _ in range(3)] == [0, 0, 0]
    assert sum("pg_try_advisory_lock" in s for s in statements) == 1
    assert not any(s == "SELECT 1" for s in statements)

    relay._leader_checked_at -= 7200  # the interval has passed: one check on the next pass
    await relay.publish_pending()
    assert sum(s == "SELECT 1" for s in statements) == 1

    with new_uow(db) as uow:
        uow.add_event(item("A"), key="A", event_type="ItemUpserted")
        uow.commit()
    bus.fail_next = True
    with pytest.raises(RuntimeError, match="broker away"):
        await relay.publish_pending()
    assert await relay.publish_pending() == 1  # after a failed pass the lock is checked first
    assert sum(s == "SELECT 1" for s in statements) == 2

    other = OutboxRelay("test", db, tables, bus)
    assert not await asyncio.to_thread(other._hold_leadership)  # the lock is held
    await asyncio.to_thread(relay._release_leadership)
    assert await asyncio.to_thread(other._hold_leadership)  # given up, so another can take it
    await asyncio.to_thread(other._release_leadership)


async def test_an_event_published_before_its_consumer_ever_started_is_delivered(
    postgres: servers.PostgresDatabases, rabbitmq: str, tmp_path: Path
) -> None:
    prefix = servers.new_bus_prefix()
    settings = Settings(
        var_dir=tmp_path, amqp_url=rabbitmq, bus_prefix=prefix, relay_poll_seconds=0.1
    )
    runtimes: list[ServiceRuntime] = []

    def runtime(service: str) -> ServiceRuntime:
        rt = ServiceRuntime(
            definition(service),
            settings,
            make_bus(settings),
            db_url=postgres.create(service),
            token_secret=SECRET,
        )
        rt.migrate()
        rt.seed()
        runtimes.append(rt)
        return rt

    try:
        inventory = runtime("inventory")
        await inventory.bus.start()
        await inventory.start()
        with inventory.uow() as uow:
            inventory_service.create_item(uow, ItemCreate(sku="EARLY-1", name="Early", uom="ea"))
            uow.commit()
        for _ in range(100):  # published (confirmed by the broker) before purchasing exists
            if await asyncio.to_thread(inventory.relay.backlog) == 0:
                break
            await asyncio.sleep(0.05)
        assert inventory.relay.published_total == 1

        purchasing = runtime("purchasing")  # its first start, ever
        await purchasing.bus.start()
        await purchasing.start()

        def known() -> list[str]:
            with purchasing.db.reader() as session:
                return list(session.scalars(select(KnownItem.sku)))

        for _ in range(200):
            if await asyncio.to_thread(known):
                break
            await asyncio.sleep(0.05)
        assert await asyncio.to_thread(known) == ["EARLY-1"]
    finally:
        for rt in runtimes:
            await rt.stop()
            await rt.bus.close()
            rt.db.dispose()
        await servers.delete_bus_objects(prefix, SERVICES)
