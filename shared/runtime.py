"""A running service: its database, outbox relay, inbox consumer and HTTP app, wired once.

`ServiceRuntime` is used the same way by `portal serve` (one service in its process, RabbitMQ)
and by the embedded mode (every service in one process, the in-process bus); only the bus and
the database URL differ. A service whose handlers differ from its entry in the routing map
(`shared.events.routing.CONSUMERS`) is refused at construction: its queue would be bound to
other types than it handles.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections import Counter
from collections.abc import AsyncIterator, Sequence

import structlog
from fastapi import FastAPI

from shared.bus.base import Bus, OutboundMessage
from shared.db import Database
from shared.events.envelope import Envelope, utc_now
from shared.events.routing import check_handlers
from shared.messaging.dead_letters import DeadLetters
from shared.messaging.housekeeping import purge_messaging_tables
from shared.messaging.inbox import InboxConsumer
from shared.messaging.relay import OutboxRelay
from shared.migrations import upgrade
from shared.service import ServiceDefinition
from shared.settings import Settings
from shared.uow import UnitOfWork
from shared.web import ops
from shared.web.app import create_app
from shared.web.metrics import ServiceMetrics

log = structlog.get_logger(__name__)
STOP_SECONDS = 10.0


class ServiceRuntime:
    def __init__(
        self,
        definition: ServiceDefinition,
        settings: Settings,
        bus: Bus,
        *,
        db_url: str | None = None,
        token_secret: str,
    ) -> None:
        check_handlers(definition.name, definition.handlers)
        self.definition = definition
        self.name = definition.name
        self.settings = settings
        self.bus = bus
        self.db = Database(db_url or settings.database_url(definition.name))
        self.metrics = ServiceMetrics(definition.name)
        self.relay = OutboxRelay(
            definition.name,
            self.db,
            definition.tables,
            bus,
            batch_size=settings.relay_batch_size,
            poll_seconds=settings.relay_poll_seconds,
            on_published=self._count_published,
        )
        self.consumer = InboxConsumer(
            definition.name,
            definition.handlers,
            self.uow,
            max_attempts=settings.handler_max_attempts,
            backoff_seconds=settings.handler_backoff_seconds,
            on_handled=self._count_handled,
            on_dead=self._count_dead,
        )
        self.metrics.set_outbox_backlog_source(self.relay.backlog)
        self._tasks: list[asyncio.Task[None]] = []
        self._consumer_lag = 0
        self.app: FastAPI = create_app(
            service=definition.name,
            settings=settings,
            routers=[*definition.routers, ops.router],  # every service's ops API
            metrics=self.metrics,
            readiness=self.readiness,
            token_secret=token_secret,
            lifespan=None,
        )
        self.app.state.runtime = self
        if definition.configure_app is not None:
            definition.configure_app(self.app)

    @property
    def dead_letters(self) -> DeadLetters:
        return self.consumer.dead_letters

    def uow(self, *, read_only: bool = False) -> UnitOfWork:
        """A unit of work on the service's database; `read_only=True` for reads (API GETs):
        on SQLite it does not wait for the write lock, and it refuses events and writes."""
        return UnitOfWork(
            self.db,
            self.definition.tables,
            self.name,
            on_commit=self.relay.wake,
            read_only=read_only,
        )

    def migrate(self) -> None:
        with self.db.exclusive("migrate"):
            upgrade(self.definition, self.db.url)

    def seed(self) -> None:
        if self.definition.seed is None:
            return
        with self.db.exclusive("seed"), self.uow() as uow:
            self.definition.seed(uow, self.settings)
            uow.commit()

    async def start(
        self, *, consume: bool = True, relay: bool = True, workers: bool = True
    ) -> None:
        """Subscribe the consumer, start the relay and the service's own workers (each
        optional, for fault tests)."""
        if consume and self.definition.handlers:
            await self.bus.subscribe(
                self.name,
                self.consumer.event_types,
                self.consumer.handle_batch,
                batch_size=self.settings.consumer_batch_size,
            )
        if consume and self.definition.listeners:
            await self.bus.listen(self.definition.listeners, self._hear)
        if relay:
            self._tasks.append(asyncio.create_task(self.relay.run(), name=f"relay-{self.name}"))
        if consume and self.definition.handlers:
            self._tasks.append(asyncio.create_task(self._watch_lag(), name=f"lag-{self.name}"))
        self._tasks.append(asyncio.create_task(self._keep_tidy(), name=f"tidy-{self.name}"))
        if workers:
            for number, worker in enumerate(self.definition.workers):
                self._tasks.append(
                    asyncio.create_task(worker(self), name=f"worker-{self.name}-{number}")
                )

    def _hear(self, envelope: Envelope) -> None:
        self.definition.listeners[envelope.type](envelope)

    async def _keep_tidy(self, every_seconds: float = 3600.0) -> None:
        """Purge old messaging rows once an hour (see shared.messaging.housekeeping)."""
        while True:
            try:
                purged = await asyncio.to_thread(
                    purge_messaging_tables,
                    self.db,
                    self.definition.tables,
                    utc_now(),
                    outbox_days=self.settings.outbox_keep_days,
                    inbox_days=self.settings.inbox_keep_days,
                )
                if purged.outbox or purged.inbox:
                    log.info(
                        "messaging.purged",
                        service=self.name,
                        outbox=purged.outbox,
                        inbox=purged.inbox,
                    )
            except Exception as exc:  # a busy database now is no reason to stop trying
                log.warning("messaging.purge_failed", service=self.name, error=str(exc))
            await asyncio.sleep(every_seconds)

    async def _watch_lag(self, every_seconds: float = 5.0) -> None:
        """Keep the consumer-lag gauge current: a scrape must not wait on the broker."""
        self.metrics.set_consumer_lag_source(lambda: self._consumer_lag)
        while True:
            depth = await self.bus.queue_depth(self.name)
            if depth is not None:
                self._consumer_lag = depth
            await asyncio.sleep(every_seconds)

    async def stop(self) -> None:
        """Cancel the relay and the background tasks; a task that does not end within
        STOP_SECONDS (a worker thread stuck on a lock) is logged and left, not awaited forever."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=STOP_SECONDS)
            if pending:
                log.warning(
                    "runtime.stop_timeout",
                    service=self.name,
                    tasks=sorted(task.get_name() for task in pending),
                )
        self._tasks.clear()

    async def readiness(self) -> dict[str, bool]:
        database = await asyncio.to_thread(self.db.ping)
        return {"database": database, "bus": await self.bus.is_ready()}

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[None]:
        """Lifespan of a stand-alone service process: bus up, consumer and relay running."""
        await self.bus.start()
        await self.start()
        freeze_what_lives_forever()
        try:
            yield
        finally:
            await self.stop()
            await self.bus.close()
            self.db.dispose()

    def _count_published(self, messages: Sequence[OutboundMessage]) -> None:
        for event_type, count in Counter(message.type for message in messages).items():
            self.metrics.events_published.labels(event_type=event_type).inc(count)

    def _count_handled(self, envelope: Envelope) -> None:
        self.metrics.events_handled.labels(event_type=envelope.type).inc()

    def _count_dead(self, envelope: Envelope) -> None:
        self.metrics.events_dead_lettered.labels(event_type=envelope.type).inc()


def freeze_what_lives_forever() -> None:
    """Move what a started process holds for good (modules, the app, table metadata) out of
    the collector's way, so a full collection scans only what requests create
    (bench/ledger.py: the reconciliation's p99 158 -> 33 ms at 1M lines). For a process's
    entry points only: frozen objects are never collected, so a test that starts many
    runtimes in one process must not call it."""
    gc.freeze()
