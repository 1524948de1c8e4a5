"""The bus interface: the one seam between services and a message broker.

Two implementations sit behind it: `InProcessBus` (embedded mode and unit tests) and
`RabbitMQBus` (aio-pika). The outbox relay and the inbox consumer (`shared.messaging.relay`,
`shared.messaging.inbox`) talk only to this interface, so the embedded mode runs the same
delivery code as a deployment.

Contract:
- `publish` takes envelopes, or `OutboundMessage`s: envelopes already serialised (the relay's
  outbox rows), which a broker sends as they are instead of parsing and serialising them again.
  It returns only when the broker has confirmed every message (publisher confirms on RabbitMQ;
  for the in-process bus, when every bound consumer has handled it). Messages are published in
  the order given. If it raises, a prefix may have been published; the relay republishes from
  the first unconfirmed one (at-least-once).
- `subscribe` binds a queue named `<service>.events` to the given event types and starts
  delivering batches to `handler`. The bus acks the batch after `handler` returns; envelope ids
  the handler returns are rejected to the dead-letter route instead of acked. If the handler
  raises, the whole batch is redelivered later.
- `listen` is for notices, not for work: every process that listens hears every event of the
  given types as it passes (each gateway replica tells its own open pages), once, with
  nothing stored, acked or retried; a listener that is disconnected misses what passed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.events.envelope import Envelope

# Receives a batch, commits its effects, returns the ids of envelopes to dead-letter.
BatchHandler = Callable[[Sequence[Envelope]], Awaitable[set[str]]]
# Hears one event as it passes (`Bus.listen`); must be quick and must not raise.
Listener = Callable[[Envelope], None]


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """An envelope ready for the wire: its JSON `body` and the fields a broker routes and
    labels it by. The body is the envelope; the other fields only repeat parts of it."""

    id: str
    type: str
    key: str
    sequence: int
    producer: str
    body: bytes
    correlation_id: str | None = None
    timestamp: datetime | None = None

    @classmethod
    def of(cls, envelope: Envelope) -> OutboundMessage:
        return cls(
            id=str(envelope.id),
            type=envelope.type,
            key=envelope.key,
            sequence=envelope.sequence,
            producer=envelope.producer,
            body=envelope.to_bytes(),
            correlation_id=envelope.correlation_id,
            timestamp=envelope.occurred_at,
        )


Publishable = Envelope | OutboundMessage


class Bus(Protocol):
    async def start(self) -> None: ...

    async def publish(self, messages: Sequence[Publishable]) -> None: ...

    async def subscribe(
        self,
        service: str,
        event_types: Iterable[str],
        handler: BatchHandler,
        *,
        batch_size: int = 100,
    ) -> None: ...

    async def listen(self, event_types: Iterable[str], listener: Listener) -> None: ...

    async def is_ready(self) -> bool: ...

    async def queue_depth(self, service: str) -> int | None:
        """Events waiting in the service's queue (its consumer lag); None if unknown now."""
        ...

    async def close(self) -> None: ...
