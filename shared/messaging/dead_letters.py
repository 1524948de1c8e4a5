"""Dead letters: envelopes whose handler kept failing, kept in the service's own database.

The inbox consumer records an envelope here (with its last error and the attempts it took) when
its retries run out, before the bus rejects it to the broker's dead-letter route. The ops view
and `portal events dead <service>` list them; `portal events replay-dead <service>` applies them
again after a fix, through the consumer's own apply path (`InboxConsumer.apply_batch`), so a
replay is deduplicated by the inbox like any delivery. Replays keep the order per key: once a
letter of key K still fails, the later letters of K are left for the next replay.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from shared.db import dialect_insert
from shared.events.envelope import Envelope, utc_now
from shared.uow import UnitOfWork

if TYPE_CHECKING:
    from shared.messaging.inbox import Failure

# Applies envelopes with the consumer's rules; returns those that failed.
Apply = Callable[[Sequence[Envelope]], Sequence["Failure"]]


@dataclass
class DeadLetter:
    event_id: str
    event_type: str
    envelope: Envelope
    error: str
    attempts: int
    dead_at: str
    replayed_at: str | None


class DeadLetters:
    """A service's dead letters: record, list, replay."""

    def __init__(self, new_uow: Callable[[], UnitOfWork], apply: Apply) -> None:
        self.new_uow = new_uow
        self.apply = apply

    def record(self, envelope: Envelope, error: str, *, attempts: int) -> None:
        """Store a dead letter (once per event id: a second one for the same id is ignored)."""
        with self.new_uow() as uow:
            table = uow.tables.dead_letters
            stmt = dialect_insert(uow.session, table).values(
                event_id=str(envelope.id),
                event_type=envelope.type,
                envelope=envelope.model_dump_json(),
                error=error,
                attempts=attempts,
                dead_at=utc_now(),
            )
            uow.session.execute(stmt.on_conflict_do_nothing(index_elements=[table.c.event_id]))
            uow.commit()

    def entries(self, *, include_replayed: bool = False) -> list[DeadLetter]:
        """The dead letters in the order they died (by default only those not yet replayed)."""
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

    def replay(self) -> tuple[int, int]:
        """Apply each open dead letter again (after a fix); returns (replayed, still failing).

        A letter that fails again keeps its place with the new error and one more attempt; the
        later letters of its key are not tried this time (and count as still failing).
        """
        replayed = still_failing = 0
        failed_keys: set[str] = set()
        for letter in self.entries():
            key = letter.envelope.key
            if key in failed_keys:
                still_failing += 1
                continue
            failures = self.apply([letter.envelope])
            if failures:
                still_failing += 1
                failed_keys.add(key)
                self._failed_again(letter.event_id, failures[0].error)
                continue
            replayed += 1
            self._replayed(letter.event_id)
        return replayed, still_failing

    def _replayed(self, event_id: str) -> None:
        with self.new_uow() as uow:
            table = uow.tables.dead_letters
            uow.session.execute(
                update(table).where(table.c.event_id == event_id).values(replayed_at=utc_now())
            )
            uow.commit()

    def _failed_again(self, event_id: str, error: str) -> None:
        with self.new_uow() as uow:
            table = uow.tables.dead_letters
            uow.session.execute(
                update(table)
                .where(table.c.event_id == event_id)
                .values(error=error, attempts=table.c.attempts + 1)
            )
            uow.commit()
