"""The unit of work: the one door to a service's database.

`with uow:` opens a transaction; use cases read and write through `uow.session`, record the
events their change implies with `uow.add_event(...)`, and end with `uow.commit()`. The events
go into the outbox table in the same transaction as the change (DESIGN §4), each with the next
sequence number of its key, so a change and its events are committed together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from shared import context
from shared.counters import take_next
from shared.db import Database
from shared.events.catalogue import EventPayload, validate_payload
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
    ) -> None:
        self.db = db
        self.tables = tables
        self.producer = producer
        self._on_commit = on_commit
        self._pending: list[Envelope] = []
        self._committed = False

    def __enter__(self) -> UnitOfWork:
        self.session = self.db.sessions()
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
        rows = []
        now = utc_now()
        for envelope in self._pending:
            sequence = self._next_sequence(envelope.key)
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

    def _next_sequence(self, key: str) -> int:
        table = self.tables.event_sequences
        return take_next(self.session, table, "last_sequence", key=key)

    def already_handled(self, event_ids: list[str]) -> set[str]:
        inbox = self.tables.inbox
        found = self.session.execute(
            select(inbox.c.event_id).where(inbox.c.event_id.in_(event_ids))
        )
        return {row[0] for row in found}

    def mark_handled(self, envelope: Envelope) -> None:
        self.session.execute(
            insert(self.tables.inbox).values(
                event_id=str(envelope.id), event_type=envelope.type, handled_at=utc_now()
            )
        )
