"""Dead letters: envelopes whose handler kept failing, kept in the service's own database.

The inbox consumer records an envelope here (with its last error and the attempts it took) when
its retries run out, before the bus rejects it to the broker's dead-letter route. The ops view
and `portal events dead <service>` list them; `portal events replay-dead <service>` applies them
again after a fix, through the consumer's own apply path (`InboxConsumer.apply_batch`), so a
replay is deduplicated by the inbox like any delivery. Replays keep the order per key: once a
letter of key K still fails, the later letters of K are left for the next replay.

The ops API (`shared/web/ops.py`) pages through them (`page`) and replays one letter at a time
(`replay_one`) by the same path, refusing a letter while an earlier open letter of its key waits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, func, select, update

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
    id: int | None = None  # the row's id, the handle the ops API replays it by


class ReplayOutcome(StrEnum):
    REPLAYED = "replayed"  # applied now, and marked replayed
    ALREADY_REPLAYED = "already_replayed"  # marked replayed before: nothing done
    ALREADY_HANDLED = "already_handled"  # the inbox holds its id (a redelivery won): marked only
    STILL_FAILING = "still_failing"  # applied again and failed: new error, one more attempt
    WAITING_FOR_EARLIER = "waiting_for_earlier"  # an earlier open letter of its key goes first


@dataclass(frozen=True)
class ReplayResult:
    outcome: ReplayOutcome
    letter: DeadLetter
    # The open letter of the same key that must be replayed first (WAITING_FOR_EARLIER).
    blocked_by: int | None = None


# Which letters a page lists.
LetterStatus = str  # "open" | "replayed" | "all"


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
        return [_letter(row) for row in rows]

    def page(
        self, *, status: LetterStatus = "open", limit: int = 50, offset: int = 0
    ) -> tuple[list[DeadLetter], int]:
        """One page of letters, newest first, and how many there are in all."""
        with self._reader() as uow:
            table = uow.tables.dead_letters
            query = select(table)
            if status == "open":
                query = query.where(table.c.replayed_at.is_(None))
            elif status == "replayed":
                query = query.where(table.c.replayed_at.is_not(None))
            total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = (
                uow.session.execute(query.order_by(table.c.id.desc()).limit(limit).offset(offset))
                .mappings()
                .all()
            )
        return [_letter(row) for row in rows], int(total)

    def get(self, letter_id: int) -> DeadLetter | None:
        with self._reader() as uow:
            table = uow.tables.dead_letters
            row = uow.session.execute(select(table).where(table.c.id == letter_id)).mappings()
            found = row.one_or_none()
        return _letter(found) if found is not None else None

    def counts(self) -> tuple[int, int]:
        """(open, replayed) letters."""
        with self._reader() as uow:
            table = uow.tables.dead_letters
            query = select(
                func.count().filter(table.c.replayed_at.is_(None)),
                func.count().filter(table.c.replayed_at.is_not(None)),
            )
            open_, replayed = uow.session.execute(query).one()
        return int(open_ or 0), int(replayed or 0)

    def replay_one(self, letter_id: int) -> ReplayResult | None:
        """Apply one letter again (None when there is no such letter); see `ReplayOutcome`.

        Safe to call twice: a replayed letter is not applied again, and the inbox dedupes an
        envelope whose id it already holds, so the effect happens at most once.
        """
        letter = self.get(letter_id)
        if letter is None:
            return None
        if letter.replayed_at is not None:
            return ReplayResult(ReplayOutcome.ALREADY_REPLAYED, letter)
        earlier = self._earlier_open_of_key(letter)
        if earlier is not None:
            return ReplayResult(ReplayOutcome.WAITING_FOR_EARLIER, letter, blocked_by=earlier)
        was_handled = self._handled(letter.event_id)
        failures = [] if was_handled else self.apply([letter.envelope])
        if failures and not self._handled(letter.event_id):
            self._failed_again(letter.event_id, failures[0].error)
            return ReplayResult(ReplayOutcome.STILL_FAILING, self.get(letter_id) or letter)
        if not self._replayed(letter.event_id):  # another replay marked it in the meantime
            return ReplayResult(ReplayOutcome.ALREADY_REPLAYED, self.get(letter_id) or letter)
        outcome = (
            ReplayOutcome.ALREADY_HANDLED if was_handled or failures else ReplayOutcome.REPLAYED
        )
        return ReplayResult(outcome, self.get(letter_id) or letter)

    def _earlier_open_of_key(self, letter: DeadLetter) -> int | None:
        with self._reader() as uow:
            table = uow.tables.dead_letters
            query = (
                select(table.c.id, table.c.envelope)
                .where(table.c.replayed_at.is_(None), table.c.id < letter.id)
                .order_by(table.c.id)
            )
            rows = uow.session.execute(query).all()
        for row_id, envelope in rows:
            if Envelope.model_validate_json(envelope).key == letter.envelope.key:
                return int(row_id)
        return None

    def _reader(self) -> UnitOfWork:
        # A read-only unit of work: on SQLite it does not queue for the write lock.
        uow = self.new_uow()
        uow.read_only = True
        return uow

    def _handled(self, event_id: str) -> bool:
        with self._reader() as uow:
            return bool(uow.already_handled([event_id]))

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

    def _replayed(self, event_id: str) -> bool:
        """Mark the letter replayed; False when it already was."""
        with self.new_uow() as uow:
            table = uow.tables.dead_letters
            marked = cast(
                "CursorResult[Any]",
                uow.session.execute(
                    update(table)
                    .where(table.c.event_id == event_id, table.c.replayed_at.is_(None))
                    .values(replayed_at=utc_now())
                ),
            )
            uow.commit()
        return bool(marked.rowcount)

    def _failed_again(self, event_id: str, error: str) -> None:
        with self.new_uow() as uow:
            table = uow.tables.dead_letters
            uow.session.execute(
                update(table)
                .where(table.c.event_id == event_id)
                .values(error=error, attempts=table.c.attempts + 1)
            )
            uow.commit()


def _letter(row: Any) -> DeadLetter:
    return DeadLetter(
        event_id=row["event_id"],
        event_type=row["event_type"],
        envelope=Envelope.model_validate_json(row["envelope"]),
        error=row["error"],
        attempts=row["attempts"],
        dead_at=row["dead_at"].isoformat(),
        replayed_at=row["replayed_at"].isoformat() if row["replayed_at"] else None,
        id=int(row["id"]),
    )
