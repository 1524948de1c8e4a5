"""The inbox consumer: applies incoming events exactly once to a service's database.

The bus hands over a batch; the consumer applies every new envelope in ONE transaction, each
inside a savepoint, recording its id in the inbox table with its effect (DESIGN §4). The bus acks
the batch only after that commit, so a crash at any point leaves either nothing or everything,
and a redelivered id is skipped. An envelope whose handler raises is retried alone, a bounded
number of times with backoff, then recorded in dead_letters with its error and rejected to the
broker's dead-letter route, while the rest of the batch flows on.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from shared import context
from shared.events.envelope import Envelope, utc_now
from shared.uow import UnitOfWork

log = structlog.get_logger(__name__)

Handler = Callable[[Envelope, UnitOfWork], None]


@dataclass
class DeadLetter:
    event_id: str
    event_type: str
    envelope: Envelope
    error: str
    attempts: int
    dead_at: str
    replayed_at: str | None


class InboxConsumer:
    def __init__(
        self,
        service: str,
        handlers: Mapping[str, Handler],
        new_uow: Callable[[], UnitOfWork],
        *,
        max_attempts: int = 4,
        backoff_seconds: float = 0.05,
        on_handled: Callable[[Envelope], None] | None = None,
        on_dead: Callable[[Envelope], None] | None = None,
    ) -> None:
        self.service = service
        self.handlers = dict(handlers)
        self.new_uow = new_uow
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self._on_handled = on_handled
        self._on_dead = on_dead

    @property
    def event_types(self) -> list[str]:
        return sorted(self.handlers)

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> set[str]:
        """The bus callback: apply the batch; returns the ids to dead-letter."""
        failed = await asyncio.to_thread(self.apply_batch, envelopes)
        dead: set[str] = set()
        for envelope, error in failed:
            if not await self._retry(envelope, error):
                dead.add(str(envelope.id))
        return dead

    def apply_batch(self, envelopes: Sequence[Envelope]) -> list[tuple[Envelope, str]]:
        """Apply every new envelope in one transaction; returns those whose handler raised."""
        failed: list[tuple[Envelope, str]] = []
        handled: list[Envelope] = []
        with self.new_uow() as uow:
            seen = uow.already_handled([str(e.id) for e in envelopes])
            for envelope in envelopes:
                event_id = str(envelope.id)
                if event_id in seen:
                    continue
                seen.add(event_id)
                try:
                    with uow.savepoint():
                        self._apply(envelope, uow)
                except Exception:
                    failed.append((envelope, traceback.format_exc(limit=8)))
                    continue
                handled.append(envelope)
            uow.commit()
        for envelope in handled:
            if self._on_handled is not None:
                self._on_handled(envelope)
        return failed

    def _apply(self, envelope: Envelope, uow: UnitOfWork) -> None:
        handler = self.handlers.get(envelope.type)
        with context.event_context(envelope):
            if handler is not None:
                handler(envelope, uow)
        uow.mark_handled(envelope)

    async def _retry(self, envelope: Envelope, first_error: str) -> bool:
        """Retry one envelope alone with backoff; dead-letter it when attempts run out."""
        error = first_error
        for attempt in range(2, self.max_attempts + 1):
            await asyncio.sleep(self.backoff_seconds * 4 ** (attempt - 2))
            failed = await asyncio.to_thread(self.apply_batch, [envelope])
            if not failed:
                return True
            error = failed[0][1]
        await asyncio.to_thread(self._record_dead_letter, envelope, error)
        log.error(
            "event.dead_lettered",
            service=self.service,
            event_id=str(envelope.id),
            event_type=envelope.type,
            error=error.strip().splitlines()[-1],
        )
        if self._on_dead is not None:
            self._on_dead(envelope)
        return False

    def _record_dead_letter(self, envelope: Envelope, error: str) -> None:
        with self.new_uow() as uow:
            table = uow.tables.dead_letters
            dialect = postgresql if uow.db.dialect == "postgresql" else sqlite
            stmt = dialect.insert(table).values(
                event_id=str(envelope.id),
                event_type=envelope.type,
                envelope=envelope.model_dump_json(),
                error=error,
                attempts=self.max_attempts,
                dead_at=utc_now(),
            )
            uow.session.execute(stmt.on_conflict_do_nothing(index_elements=[table.c.event_id]))
            uow.commit()

    def dead_letters(self, *, include_replayed: bool = False) -> list[DeadLetter]:
        with self.new_uow() as uow:
            table = uow.tables.dead_letters
            query = select(table).order_by(table.c.id)
            if not include_replayed:
                query = query.where(table.c.replayed_at.is_(None))
            rows = uow.session.execute(query).mappings().all()
        return [
            DeadLetter(
                event_id=row["event_id"],
                event_type=row["event_type"],
                envelope=Envelope.model_validate_json(row["envelope"]),
                error=row["error"],
                attempts=row["attempts"],
                dead_at=row["dead_at"].isoformat(),
                replayed_at=row["replayed_at"].isoformat() if row["replayed_at"] else None,
            )
            for row in rows
        ]

    def replay_dead_letters(self) -> tuple[int, int]:
        """Apply each dead letter again (after a fix); returns (replayed, still failing)."""
        replayed = still_failing = 0
        for letter in self.dead_letters():
            failed = self.apply_batch([letter.envelope])
            if failed:
                still_failing += 1
                self._update_dead_letter_error(letter.event_id, failed[0][1])
                continue
            replayed += 1
            with self.new_uow() as uow:
                table = uow.tables.dead_letters
                uow.session.execute(
                    update(table)
                    .where(table.c.event_id == letter.event_id)
                    .values(replayed_at=utc_now())
                )
                uow.commit()
        return replayed, still_failing

    def _update_dead_letter_error(self, event_id: str, error: str) -> None:
        with self.new_uow() as uow:
            table = uow.tables.dead_letters
            uow.session.execute(
                update(table)
                .where(table.c.event_id == event_id)
                .values(error=error, attempts=table.c.attempts + 1)
            )
            uow.commit()
