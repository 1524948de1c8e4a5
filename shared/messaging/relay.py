"""The outbox relay: publishes committed outbox rows, in order, and marks them published.

It wakes when a unit of work commits events (`wake`, safe from any thread) and otherwise polls.
A crash after publishing but before marking re-publishes those rows on restart: delivery is
at-least-once and consumers dedupe through their inbox. On PostgreSQL one relay per service
database holds an advisory lock, so replicas of a service never publish the same rows side by
side and the order per key is kept. The lock's session is checked at most every
`leader_check_seconds`, and again after any failed pass, not on every pass.

Rows are published as they are stored (`OutboundMessage`: the envelope's JSON and its routing
columns), without parsing and serialising each envelope again. Reads go through the database's
reader engine, so on SQLite they do not wait for the write lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import zlib
from collections.abc import Callable, Sequence
from datetime import datetime

import structlog
from sqlalchemy import Connection, func, select, text, update

from shared.bus.base import Bus, OutboundMessage
from shared.db import Database
from shared.events.envelope import utc_now
from shared.messaging.tables import MessagingTables

log = structlog.get_logger(__name__)

# An outbox row's id and the message it publishes.
Row = tuple[int, OutboundMessage]


class OutboxRelay:
    def __init__(
        self,
        service: str,
        db: Database,
        tables: MessagingTables,
        bus: Bus,
        *,
        batch_size: int = 500,
        poll_seconds: float = 0.5,
        leader_check_seconds: float = 5.0,
        on_published: Callable[[Sequence[OutboundMessage]], None] | None = None,
    ) -> None:
        self.service = service
        self.db = db
        self.tables = tables
        self.bus = bus
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.leader_check_seconds = leader_check_seconds
        self.published_total = 0
        self._on_published = on_published
        self._wakeup = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._leader: Connection | None = None
        self._leader_checked_at = -math.inf
        self._lock_id = zlib.crc32(f"portal.outbox.{service}".encode())

    def wake(self) -> None:
        """Ask the relay to publish now; callable from request threads as well as the loop."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wakeup.set()
        else:
            loop.call_soon_threadsafe(self._wakeup.set)

    async def run(self) -> None:
        """Publish until cancelled; errors (broker down) are logged and retried with backoff."""
        self._loop = asyncio.get_running_loop()
        backoff = self.poll_seconds
        try:
            while True:
                try:
                    published = await self.publish_pending()
                    backoff = self.poll_seconds
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("outbox.publish_failed", service=self.service, error=str(exc))
                    published = 0
                    backoff = min(backoff * 2, 10.0)
                    await asyncio.sleep(backoff)
                    continue
                if published >= self.batch_size:
                    continue
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=self.poll_seconds)
        finally:
            await asyncio.to_thread(self._release_leadership)

    async def publish_pending(self) -> int:
        """One pass: publish up to a batch of unpublished rows; returns how many were published."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        if not await asyncio.to_thread(self._hold_leadership):
            return 0
        try:
            rows = await asyncio.to_thread(self._fetch_batch)
            if not rows:
                return 0
            try:
                await self.bus.publish([message for _, message in rows])
            except Exception as exc:
                # The broker may have confirmed a leading part: mark it, so only the rest goes
                # again.
                confirmed = int(getattr(exc, "confirmed", 0))
                if confirmed:
                    await self._mark(rows[:confirmed])
                raise
            await self._mark(rows)
        except BaseException:
            self._leader_checked_at = -math.inf  # whatever failed, check the lock next pass
            raise
        return len(rows)

    async def _mark(self, rows: Sequence[Row]) -> None:
        await asyncio.to_thread(self._mark_published, [row_id for row_id, _ in rows])
        self.published_total += len(rows)
        if self._on_published is not None:
            self._on_published([message for _, message in rows])

    def backlog(self) -> int:
        outbox = self.tables.outbox
        with self.db.reader_engine.connect() as conn:
            query = select(func.count()).where(outbox.c.published_at.is_(None))
            return int(conn.execute(query).scalar_one())

    def backlog_with_oldest(self) -> tuple[int, datetime | None]:
        """Unpublished rows and when the oldest of them was written (None when there are none)."""
        outbox = self.tables.outbox
        with self.db.reader_engine.connect() as conn:
            query = select(func.count(), func.min(outbox.c.created_at)).where(
                outbox.c.published_at.is_(None)
            )
            count, oldest = conn.execute(query).one()
        return int(count), oldest

    @property
    def is_leader(self) -> bool:
        """Whether this relay is the one publishing its database's outbox: always on SQLite (one
        process per file), on PostgreSQL while it holds the advisory lock."""
        return self.db.dialect != "postgresql" or self._leader is not None

    def _fetch_batch(self) -> list[Row]:
        outbox = self.tables.outbox
        query = (
            select(
                outbox.c.id,
                outbox.c.event_id,
                outbox.c.event_type,
                outbox.c.key,
                outbox.c.sequence,
                outbox.c.envelope,
                outbox.c.created_at,
            )
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.id)
            .limit(self.batch_size)
        )
        producer = self.service
        with self.db.reader_engine.connect() as conn:
            return [
                (
                    int(row_id),
                    OutboundMessage(
                        id=event_id,
                        type=event_type,
                        key=key,
                        sequence=int(sequence),
                        producer=producer,
                        body=envelope.encode(),
                        timestamp=created_at,
                    ),
                )
                for row_id, event_id, event_type, key, sequence, envelope, created_at in (
                    conn.execute(query)
                )
            ]

    def _mark_published(self, ids: list[int]) -> None:
        outbox = self.tables.outbox
        with self.db.engine.begin() as conn:
            conn.execute(update(outbox).where(outbox.c.id.in_(ids)).values(published_at=utc_now()))

    def _hold_leadership(self) -> bool:
        """On PostgreSQL, keep a session advisory lock so one relay per database publishes.

        A held lock is taken on trust for `leader_check_seconds` (a failed pass resets that), then
        its session is checked with one round trip; a lost session means trying for it again.
        """
        if self.db.dialect != "postgresql":
            return True
        now = time.monotonic()
        if self._leader is not None:
            if now - self._leader_checked_at < self.leader_check_seconds:
                return True
            try:
                self._leader.execute(text("SELECT 1"))
                self._leader.commit()
                self._leader_checked_at = now
                return True
            except Exception:
                self._release_leadership()
        conn = self.db.engine.connect()
        try:
            got = bool(
                conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._lock_id}).scalar()
            )
            conn.commit()
        except BaseException:
            conn.close()
            raise
        if got:
            self._leader = conn
            self._leader_checked_at = now
            log.info("outbox.relay_leader", service=self.service)
            return True
        conn.close()
        return False

    def _release_leadership(self) -> None:
        """Give the lock up by ending its database session: a session-level advisory lock
        outlives a pooled connection's return to the pool, so the connection is discarded."""
        if self._leader is None:
            return
        with contextlib.suppress(Exception):
            self._leader.invalidate()
        with contextlib.suppress(Exception):
            self._leader.close()
        self._leader = None
