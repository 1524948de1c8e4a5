"""The in-process broker: the bus of the embedded mode and of unit tests.

It keeps RabbitMQ's shape (a topic of event types, one queue per consuming service, batches,
dead letters) inside one asyncio loop. `publish` returns when every bound queue's consumer has
handled the envelope and committed, which is the embedded mode's publisher confirm: the relay
marks a row published only when its effects are durable in every consumer's database, so a
crash of the one process never loses an event that the outbox holds as sent.

A queue exists from its service's `subscribe` on, and an event published to a type nobody is
bound to is confirmed at once (dropped), so the embedded mode subscribes every service before
it starts any relay. `publish` parses an `OutboundMessage` back into an envelope only when some
queue is bound to its type.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import structlog

from shared.bus.base import BatchHandler, Listener, Publishable
from shared.events.envelope import Envelope

log = structlog.get_logger(__name__)


@dataclass
class _Delivery:
    envelope: Envelope
    done: asyncio.Future[None]


@dataclass
class _Queue:
    service: str
    handler: BatchHandler
    batch_size: int
    items: asyncio.Queue[_Delivery] = field(default_factory=asyncio.Queue)
    dead: list[Envelope] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


class InProcessBus:
    def __init__(self, *, redelivery_delay: float = 0.5) -> None:
        self.redelivery_delay = redelivery_delay
        self._queues: dict[str, _Queue] = {}
        self._bindings: dict[str, list[str]] = defaultdict(list)
        self._listeners: dict[str, list[Listener]] = defaultdict(list)
        self._started = False

    async def start(self) -> None:
        self._started = True

    async def is_ready(self) -> bool:
        return self._started

    async def publish(self, messages: Sequence[Publishable]) -> None:
        loop = asyncio.get_running_loop()
        waits: list[asyncio.Future[None]] = []
        heard: list[Envelope] = []
        for message in messages:
            services = self._bindings.get(message.type, ())
            listening = message.type in self._listeners
            if not services and not listening:
                continue
            envelope = (
                message if isinstance(message, Envelope) else Envelope.from_bytes(message.body)
            )
            for service in services:
                delivery = _Delivery(envelope, loop.create_future())
                self._queues[service].items.put_nowait(delivery)
                waits.append(delivery.done)
            if listening:
                heard.append(envelope)
        if waits:
            await asyncio.gather(*waits)
        for envelope in heard:  # after the consumers: a notice follows the change it reports
            for listener in self._listeners[envelope.type]:
                try:
                    listener(envelope)
                except Exception:
                    log.exception("bus.listener_failed", event_type=envelope.type)

    async def listen(self, event_types: Iterable[str], listener: Listener) -> None:
        for event_type in dict.fromkeys(event_types):
            self._listeners[event_type].append(listener)

    async def subscribe(
        self,
        service: str,
        event_types: Iterable[str],
        handler: BatchHandler,
        *,
        batch_size: int = 100,
    ) -> None:
        if service in self._queues:
            raise ValueError(f"{service} already subscribed")
        queue = _Queue(service, handler, batch_size)
        self._queues[service] = queue
        for event_type in event_types:
            self._bindings[event_type].append(service)
        queue.task = asyncio.create_task(self._consume(queue), name=f"inprocess-{service}")

    async def queue_depth(self, service: str) -> int | None:
        queue = self._queues.get(service)
        return queue.items.qsize() if queue is not None else None

    def dead_letters(self, service: str) -> list[Envelope]:
        return list(self._queues[service].dead)

    async def _consume(self, queue: _Queue) -> None:
        while True:
            batch = [await queue.items.get()]
            while len(batch) < queue.batch_size and not queue.items.empty():
                batch.append(queue.items.get_nowait())
            await self._deliver(queue, batch)

    async def _deliver(self, queue: _Queue, batch: list[_Delivery]) -> None:
        """Hand the batch over until the handler returns; a raise means redeliver later."""
        while True:
            try:
                dead = await queue.handler([d.envelope for d in batch])
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("inprocess.redeliver", service=queue.service, error=str(exc))
                await asyncio.sleep(self.redelivery_delay)
        for delivery in batch:
            if str(delivery.envelope.id) in dead:
                queue.dead.append(delivery.envelope)
            if not delivery.done.done():
                delivery.done.set_result(None)

    async def close(self) -> None:
        for queue in self._queues.values():
            if queue.task is not None:
                queue.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await queue.task
            while not queue.items.empty():
                pending = queue.items.get_nowait()
                if not pending.done.done():
                    pending.done.cancel()
        self._queues.clear()
        self._bindings.clear()
        self._started = False
