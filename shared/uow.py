"""The unit of work: the one door to a service's database.

`with uow:` opens a transaction; use cases read and write through `uow.session`, record the
events their change implies with `uow.add_event(...)`, and end with `uow.commit()`. The events
go into the outbox table in the same transaction as the change (DESIGN §4), each with the next
sequence number of its key, so a change and its events are committed together or not at all.

At commit the sequence numbers are taken with one upsert for all the keys of the transaction
(`last_sequence + n RETURNING`, keys in sorted order so two transactions lock them in the same
order), and the outbox rows are written with one executemany.

`UnitOfWork(read_only=True)` (`ServiceRuntime.uow(read_only=True)`) is for reads: on SQLite it
does not take the write lock, so it never waits behind a writer; it refuses events and writes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from shared import context
from shared.db import Database, dialect_insert
from shared.events.catalogue import EventPayload, payload_model, validate_payload
from shared.events.envelope import Envelope, utc_now
from shared.messaging.tables import MessagingTables


class UnitOfWork:
    """One transaction on one service's database, collecting the events it will publish."""

    session: Session

    def __init__(
        self,
        db: Database,
        tables: MessagingTables,
        producer: str,
        *,
        on_commit: Callable[[], None] | None = None,
        read_only: bool = False,
    ) -> None:
        self.db = db
        self.tables = tables
        self.producer = producer
        self.read_only = read_only
        self._on_commit = on_commit
        self._pending: list[Envelope] = []
        self._committed = False

    def __enter__(self) -> UnitOfWork:
        self.session = self.db.readers() if self.read_only else self.db.sessions()
        self.session.begin()
        self._pending = []
        self._committed = False
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self._committed:
                self.session.rollback()
        finally:
            self.session.close()

    def add_event(
        self,
        payload: EventPayload | Mapping[str, Any],
        *,
        key: str,
        event_type: str | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope:
        """Record an event to publish when this unit of work commits; returns its envelope."""
        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot record events")
        type_name = event_type or getattr(payload, "event_type", None)
        if type_name is None:
            raise ValueError("event_type is required for a plain mapping payload")
        body = validate_payload(type_name, payload)
        envelope = Envelope(
            type=type_name,
            version=getattr(payload, "version", 1),
            occurred_at=occurred_at or utc_now(),
            producer=self.producer,
            correlation_id=context.get_correlation_id(),
            causation_id=context.get_causation_id(),
            key=key,
            payload=body,
        )
        self._pending.append(envelope)
        return envelope

    @property
    def pending_events(self) -> list[Envelope]:
        return list(self._pending)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: if the block raises, its writes and its events are undone."""
        mark = len(self._pending)
        try:
            with self.session.begin_nested():
                yield
        except BaseException:
            del self._pending[mark:]
            raise

    def commit(self) -> None:
        self._write_outbox()
        self.session.commit()
        self._committed = True
        had_events = bool(self._pending)
        self._pending = []
        if had_events and self._on_commit is not None:
            self._on_commit()

    def rollback(self) -> None:
        self.session.rollback()
        self._pending = []

    def _write_outbox(self) -> None:
        if not self._pending:
            return
        outgoing = newest_state_only(self._pending)
        last = self._take_sequences(Counter(envelope.key for envelope in outgoing))
        rows = []
        now = utc_now()
        for envelope in outgoing:
            sequence = last[envelope.key] + 1
            last[envelope.key] = sequence
            stamped = envelope.model_copy(update={"sequence": sequence})
            rows.append(
                {
                    "event_id": str(stamped.id),
                    "event_type": stamped.type,
                    "key": stamped.key,
                    "sequence": sequence,
                    "envelope": stamped.model_dump_json(),
                    "created_at": now,
                    "published_at": None,
                }
            )
        self.session.execute(insert(self.tables.outbox), rows)

    def _take_sequences(self, counts: Mapping[str, int]) -> dict[str, int]:
        """Reserve `counts[key]` numbers for each key in one statement; returns, per key, the
        number before the first one reserved. The rows stay locked until the transaction ends,
        so concurrent committers queue per key and a rollback gives the numbers back."""
        table = self.tables.event_sequences
        insert_rows = dialect_insert(self.session, table).values(
            [{"key": key, "last_sequence": counts[key]} for key in sorted(counts)]
        )
        stmt = insert_rows.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={"last_sequence": table.c.last_sequence + insert_rows.excluded.last_sequence},
        ).returning(table.c.key, table.c.last_sequence)
        reserved = {key: int(last) for key, last in self.session.execute(stmt)}
        return {key: reserved[key] - count for key, count in counts.items()}

    def already_handled(self, event_ids: list[str]) -> set[str]:
        inbox = self.tables.inbox
        found = self.session.execute(
            select(inbox.c.event_id).where(inbox.c.event_id.in_(event_ids))
        )
        return {row[0] for row in found}

    def mark_handled(self, envelopes: Sequence[Envelope]) -> None:
        """Record envelopes as handled (the inbox), with one multi-row INSERT."""
        now = utc_now()
        rows = [
            {"event_id": str(envelope.id), "event_type": envelope.type, "handled_at": now}
            for envelope in envelopes
        ]
        if rows:
            self.session.execute(insert(self.tables.inbox).values(rows))


def newest_state_only(envelopes: list[Envelope]) -> list[Envelope]:
    """Drop every state event that a later one of the same type and key supersedes.

    A batch of receipts for one item changes its stock many times in one transaction; its
    consumers need only the state at commit, so one StockChanged per item goes out, not fifty.
    Done at commit rather than when the event is added, so a savepoint that rolls back the
    later change leaves the earlier event in place.
    """
    last_index = {
        (envelope.type, envelope.key): index
        for index, envelope in enumerate(envelopes)
        if payload_model(envelope.type).carries_state
    }
    return [
        envelope
        for index, envelope in enumerate(envelopes)
        if last_index.get((envelope.type, envelope.key), index) == index
    ]
