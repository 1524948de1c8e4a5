"""The inbox consumer: applies incoming events exactly once to a service's database.

The bus hands over a batch; the consumer records each envelope's id in the inbox table in the
same transaction as its effect (DESIGN §4), and the bus acks the batch only after that commit,
so a crash at any point leaves either nothing or everything, and a redelivered id is skipped.

Fast path: the whole batch in ONE transaction, no savepoints, every handled id marked with one
multi-row INSERT before the commit. If anything raises (a handler, the flush, the inbox insert,
or the commit itself, e.g. a deferred constraint trigger on PostgreSQL), that transaction is
rolled back and the batch is applied carefully instead:

1. one transaction, each envelope in its own savepoint; if that commit fails as well,
2. each envelope in its own transaction.

Either way a failing envelope is isolated: the rest of the batch is applied, and the failing
one is retried alone, a bounded number of times with backoff, then recorded as a dead letter
with its error (`shared.messaging.dead_letters`) and rejected to the broker's dead-letter route.
Order per key: once an envelope of key K fails, the later envelopes of K in the batch are held
back and applied only after it has been retried (or dead-lettered), in their order.

A database that cannot be reached is not an envelope's fault: errors while opening a
transaction or reading the inbox, and lost connections, propagate, and the bus redelivers the
whole batch later instead of dead-lettering it.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import DBAPIError

from shared import context
from shared.events.envelope import Envelope
from shared.messaging.dead_letters import DeadLetters
from shared.uow import UnitOfWork

log = structlog.get_logger(__name__)

Handler = Callable[[Envelope, UnitOfWork], None]


@dataclass(frozen=True)
class Failure:
    """An envelope that could not be applied, why, and the later envelopes of its key in the
    same batch, which were held back so they are not applied before it."""

    envelope: Envelope
    error: str
    held_back: tuple[Envelope, ...] = ()


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
        self.dead_letters = DeadLetters(new_uow, self.apply_batch)
        self._on_handled = on_handled
        self._on_dead = on_dead

    @property
    def event_types(self) -> list[str]:
        return sorted(self.handlers)

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> set[str]:
        """The bus callback: apply the batch; returns the ids to dead-letter."""
        failures = await asyncio.to_thread(self.apply_batch, envelopes)
        dead: set[str] = set()
        for failure in failures:
            if not await self._retry(failure.envelope, failure.error):
                dead.add(str(failure.envelope.id))
            if failure.held_back:
                dead |= await self.handle_batch(failure.held_back)
        return dead

    def apply_batch(self, envelopes: Sequence[Envelope]) -> list[Failure]:
        """Apply every new envelope of the batch; returns those that failed (see the module
        docstring), each with the envelopes of its key that were held back after it."""
        batch = _distinct(envelopes)
        if not batch:
            return []
        if len(batch) == 1:
            handled, failures = self._apply_one_by_one(batch)
        else:
            try:
                handled = self._apply_together(batch)
                failures = []
            except Exception as exc:
                log.warning(
                    "inbox.batch_applied_carefully",
                    service=self.service,
                    size=len(batch),
                    error=_last_line(exc),
                )
                handled, failures = self._apply_carefully(batch)
        if self._on_handled is not None:
            for envelope in handled:
                self._on_handled(envelope)
        return failures

    # -- the three ways of applying a batch --------------------------------------------------

    def _apply_together(self, batch: list[Envelope]) -> list[Envelope]:
        """The fast path: one transaction, no savepoints, one inbox INSERT."""
        with self.new_uow() as uow:
            todo = self._not_handled(uow, batch)
            for envelope in todo:
                self._run_handler(envelope, uow)
            uow.mark_handled(todo)
            uow.commit()
        return todo

    def _apply_carefully(self, batch: list[Envelope]) -> tuple[list[Envelope], list[Failure]]:
        """One transaction, each envelope in a savepoint; if its commit fails, one by one."""
        tracker = _KeyTracker()
        with self.new_uow() as uow:
            todo = self._not_handled(uow, batch)
            handled: list[Envelope] = []
            for envelope in todo:
                if tracker.hold_back(envelope):
                    continue
                try:
                    with uow.savepoint():
                        self._run_handler(envelope, uow)
                except Exception as exc:
                    _raise_if_disconnected(exc)
                    tracker.failed(envelope, traceback.format_exc(limit=8))
                    continue
                handled.append(envelope)
            try:
                uow.mark_handled(handled)
                uow.commit()
                return handled, tracker.failures()
            except Exception as exc:
                _raise_if_disconnected(exc)
                log.warning(
                    "inbox.batch_applied_one_by_one",
                    service=self.service,
                    size=len(todo),
                    error=_last_line(exc),
                )
        return self._apply_one_by_one(batch)

    def _apply_one_by_one(self, batch: list[Envelope]) -> tuple[list[Envelope], list[Failure]]:
        """Each envelope in its own transaction: a commit-time failure is its own."""
        tracker = _KeyTracker()
        handled: list[Envelope] = []
        for envelope in batch:
            if tracker.hold_back(envelope):
                continue
            with self.new_uow() as uow:
                if not self._not_handled(uow, [envelope]):
                    continue
                try:
                    self._run_handler(envelope, uow)
                    uow.mark_handled([envelope])
                    uow.commit()
                except Exception as exc:
                    _raise_if_disconnected(exc)
                    tracker.failed(envelope, traceback.format_exc(limit=8))
                    continue
            handled.append(envelope)
        return handled, tracker.failures()

    # -- helpers -----------------------------------------------------------------------------

    def _not_handled(self, uow: UnitOfWork, batch: list[Envelope]) -> list[Envelope]:
        seen = uow.already_handled([str(envelope.id) for envelope in batch])
        return [envelope for envelope in batch if str(envelope.id) not in seen]

    def _run_handler(self, envelope: Envelope, uow: UnitOfWork) -> None:
        handler = self.handlers.get(envelope.type)
        if handler is None:
            return  # not ours (a binding left over): recorded as handled, nothing to do
        with context.event_context(envelope):
            handler(envelope, uow)

    async def _retry(self, envelope: Envelope, first_error: str) -> bool:
        """Retry one envelope alone with backoff; dead-letter it when attempts run out."""
        error = first_error
        for attempt in range(2, self.max_attempts + 1):
            await asyncio.sleep(self.backoff_seconds * 4 ** (attempt - 2))
            failures = await asyncio.to_thread(self.apply_batch, [envelope])
            if not failures:
                return True
            error = failures[0].error
        await asyncio.to_thread(
            self.dead_letters.record, envelope, error, attempts=self.max_attempts
        )
        log.error(
            "event.dead_lettered",
            service=self.service,
            event_id=str(envelope.id),
            event_type=envelope.type,
            error=error.strip().splitlines()[-1] if error.strip() else "",
        )
        if self._on_dead is not None:
            self._on_dead(envelope)
        return False


class _KeyTracker:
    """Failures of one pass over a batch, and the envelopes held back behind them (per key)."""

    def __init__(self) -> None:
        self._failed: dict[str, tuple[Envelope, str, list[Envelope]]] = {}

    def hold_back(self, envelope: Envelope) -> bool:
        entry = self._failed.get(envelope.key)
        if entry is None:
            return False
        entry[2].append(envelope)
        return True

    def failed(self, envelope: Envelope, error: str) -> None:
        self._failed[envelope.key] = (envelope, error, [])

    def failures(self) -> list[Failure]:
        return [
            Failure(envelope, error, tuple(held)) for envelope, error, held in self._failed.values()
        ]


def _distinct(envelopes: Sequence[Envelope]) -> list[Envelope]:
    """The envelopes with an id not seen before in the batch, in order."""
    seen: set[str] = set()
    batch = []
    for envelope in envelopes:
        event_id = str(envelope.id)
        if event_id not in seen:
            seen.add(event_id)
            batch.append(envelope)
    return batch


def _raise_if_disconnected(exc: Exception) -> None:
    """A lost database connection is not the envelope's fault: let the batch be redelivered."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        raise exc


def _last_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:300]
