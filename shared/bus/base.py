"""The bus interface: the one seam between services and a message broker.

Two implementations sit behind it: `InProcessBus` (embedded mode and unit tests) and
`RabbitMQBus` (aio-pika). Outbox relay and inbox consumer (`shared.outbox`, `shared.inbox`) talk
only to this interface, so the embedded mode runs the same delivery code as a deployment.

Contract:
- `publish` returns only when the broker has confirmed every envelope (publisher confirms on
  RabbitMQ; for the in-process bus, when every bound consumer has handled it). Envelopes are
  published in the order given. If it raises, a prefix may have been published; the relay
  republishes from the first unconfirmed one (at-least-once).
- `subscribe` binds a queue named `<service>.events` to the given event types and starts
  delivering batches to `handler`. The bus acks the batch after `handler` returns; envelope ids
  the handler returns are rejected to the dead-letter route instead of acked. If the handler
  raises, the whole batch is redelivered later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol

from shared.events.envelope import Envelope

# Receives a batch, commits its effects, returns the ids of envelopes to dead-letter.
BatchHandler = Callable[[Sequence[Envelope]], Awaitable[set[str]]]


class Bus(Protocol):
    async def start(self) -> None: ...

    async def publish(self, envelopes: Sequence[Envelope]) -> None: ...

    async def subscribe(
        self,
        service: str,
        event_types: Iterable[str],
        handler: BatchHandler,
        *,
        batch_size: int = 100,
    ) -> None: ...

    async def is_ready(self) -> bool: ...

    async def close(self) -> None: ...
