"""`RabbitMQBus`: the `Bus` protocol on RabbitMQ with aio-pika (DESIGN §4).

Topology, all names carrying the bus prefix:
- `portal.events`: durable topic exchange; routing key = envelope type.
- `<service>.events`: durable quorum queue per consuming service, bound to the types it handles,
  dead-lettering to `portal.dead` with routing key `<service>`.
- `portal.dead`: durable direct exchange; `<service>.dead`: durable quorum queue bound with key
  `<service>`.
`start` declares the queues and bindings of the whole `topology` map it is given (a service
process passes `shared.events.routing.CONSUMERS`), so an event published before its consumer
ever started is queued for it rather than dropped by the exchange; `subscribe` declares its own
queue and bindings again (idempotent) and starts consuming.

Connection: one robust connection (`aio_pika.connect_robust`) that reconnects by itself and
re-declares exchanges, queues, bindings, prefetch and consumers on the new channels. Publishing
uses one confirm-mode channel; each subscription has its own channel (own prefetch and delivery
tags). A publish while the connection is down raises at once; confirms are bounded by a timeout.

Publishing sends an `OutboundMessage` (the relay's stored envelope JSON) as it is; an `Envelope`
is serialised first. The message properties (id, type, producer, key and sequence headers,
timestamp, correlation id when known) only label the message; consumers read the body.

Consuming: deliveries are buffered and handed to the handler in batches (up to `batch_size`, or
whatever arrived when no further message comes within `batch_wait` seconds). After the handler
returns, the deliveries whose envelope id the handler returned are rejected without requeue (so
the broker dead-letters them), then the rest are acked with one `basic.ack multiple` on the
batch's last delivery tag (per channel). A handler that raises gets its batch nacked with
requeue after `retry_delay`. Acks on a channel that died in the meantime are
logged and dropped: the broker redelivers those messages and the inbox skips what it has seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustExchange,
    AbstractRobustQueue,
    ConsumerTag,
)
from pamqp.commands import Basic
from pydantic import ValidationError
from yarl import URL

from shared.bus.base import BatchHandler, Listener, OutboundMessage, Publishable
from shared.events.envelope import Envelope

log = structlog.get_logger(__name__)

QUORUM = {"x-queue-type": "quorum"}
# Notices a listener may fall behind by before the oldest are dropped (`listen`).
LISTEN_QUEUE_LENGTH = 1000


class BusPublishError(Exception):
    """A publish did not complete; `confirmed` leading envelopes were confirmed by the broker."""

    def __init__(self, message: str, *, confirmed: int, total: int) -> None:
        super().__init__(message)
        self.confirmed = confirmed
        self.total = total


class BusNotConnectedError(BusPublishError):
    """The bus has no usable connection right now (not started, closed, or reconnecting)."""


def _safe_url(url: str) -> str:
    parsed = URL(url)
    return str(parsed.with_password("***")) if parsed.password else str(parsed)


def _settled_ok(task: asyncio.Task[Any]) -> bool:
    return (
        task.done()
        and not task.cancelled()
        and task.exception() is None
        and isinstance(task.result(), Basic.Ack)
    )


def _task_error(task: asyncio.Task[Any]) -> str:
    if not task.done():
        return "no confirm within the timeout"
    if task.cancelled():
        return "cancelled (channel closed)"
    exc = task.exception()
    if exc is not None:
        return f"{type(exc).__name__}: {exc}"
    return f"unexpected confirm {task.result()!r}"


class _Subscription:
    """One consumer on `<service>.events`: buffers deliveries and feeds the handler in batches."""

    def __init__(
        self,
        *,
        service: str,
        queue: AbstractRobustQueue,
        channel: AbstractRobustChannel,
        handler: BatchHandler,
        batch_size: int,
        batch_wait: float,
        retry_delay: float,
    ) -> None:
        self.service = service
        self.queue = queue
        self.channel = channel
        self.handler = handler
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self.retry_delay = retry_delay
        self.consumer_tag: ConsumerTag | None = None
        self._buffer: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._busy = False
        self._stopping = False
        self._log = log.bind(service=service, queue=queue.name)

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        # aio-pika schedules one callback task per delivery in arrival order; putting without
        # awaiting keeps that order in the buffer.
        self._buffer.put_nowait(message)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"bus-consumer:{self.queue.name}")

    async def stop(self, grace: float) -> None:
        self._stopping = True
        if self.consumer_tag is not None:
            try:
                await asyncio.wait_for(self.queue.cancel(self.consumer_tag), grace)
            except Exception as exc:
                self._log.warning("bus.consumer_cancel_failed", error=repr(exc))
        task = self._task
        if task is None:
            return
        if self._busy:  # let the batch in hand finish and be acked, within reason
            await asyncio.wait({task}, timeout=grace)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self) -> None:
        while not self._stopping:
            batch = await self._next_batch()
            self._busy = True
            try:
                await self._process(batch)
            except Exception:
                # Never let one bad batch kill the consumer; unsettled deliveries come back
                # when the channel closes.
                self._log.exception("bus.batch_failed_unexpectedly", size=len(batch))
            finally:
                self._busy = False

    async def _next_batch(self) -> list[AbstractIncomingMessage]:
        batch = [await self._buffer.get()]
        while len(batch) < self.batch_size:
            try:
                batch.append(self._buffer.get_nowait())
                continue
            except asyncio.QueueEmpty:
                pass
            try:
                async with asyncio.timeout(self.batch_wait):
                    batch.append(await self._buffer.get())
            except TimeoutError:
                break
        return batch

    async def _process(self, batch: list[AbstractIncomingMessage]) -> None:
        envelopes: list[Envelope] = []
        messages: list[AbstractIncomingMessage] = []
        stale = 0
        for message in batch:
            if _channel_closed(message):
                # Its channel died: the broker has already requeued it and will redeliver it.
                stale += 1
                continue
            try:
                envelope = Envelope.from_bytes(message.body)
            except (ValidationError, ValueError) as exc:
                self._log.error(
                    "bus.unparseable_message_rejected",
                    message_id=message.message_id,
                    routing_key=message.routing_key,
                    error=str(exc)[:500],
                )
                await self._settle_all([(message, "reject")])
                continue
            envelopes.append(envelope)
            messages.append(message)
        if stale:
            self._log.info("bus.stale_deliveries_dropped", count=stale, reason="channel closed")
        if not envelopes:
            return

        try:
            dead_ids = await self.handler(envelopes)
        except Exception:
            self._log.exception(
                "bus.handler_failed_batch_requeued",
                size=len(envelopes),
                retry_in=self.retry_delay,
            )
            await asyncio.sleep(self.retry_delay)
            await self._settle_all([(message, "requeue") for message in messages])
            return

        dead = set(dead_ids or ())
        plan: list[tuple[AbstractIncomingMessage, str]] = []
        for envelope, message in zip(envelopes, messages, strict=True):
            if str(envelope.id) in dead:
                self._log.warning(
                    "bus.message_dead_lettered", envelope_id=str(envelope.id), type=envelope.type
                )
                plan.append((message, "reject"))
            else:
                plan.append((message, "ack"))
        await self._settle_all(plan)

    async def _settle_all(self, plan: list[tuple[AbstractIncomingMessage, str]]) -> None:
        failed = 0
        first_error = ""
        for message, action, multiple in _coalesce_acks(plan):
            error = await self._settle(message, action, multiple=multiple)
            if error is not None:
                failed += multiple or 1
                first_error = first_error or error
        if failed:
            # Typically the channel died after delivery: the broker redelivers these messages
            # and the consumer's inbox dedupes them. Nothing to do here but say so.
            self._log.warning(
                "bus.settle_failed", count=failed, of=len(plan), first_error=first_error
            )

    async def _settle(
        self, message: AbstractIncomingMessage, action: str, *, multiple: int = 0
    ) -> str | None:
        """Ack (with `multiple`, every delivery up to this one on its channel), reject (to the
        dead-letter route) or requeue; the error text if that failed."""
        try:
            if action == "ack":
                await message.ack(multiple=multiple > 0)
            elif action == "reject":
                await message.reject(requeue=False)
            else:
                await message.nack(requeue=True)
        except Exception as exc:
            return f"{action} {message.message_id}: {type(exc).__name__}: {exc}"
        return None


def _coalesce_acks(
    plan: list[tuple[AbstractIncomingMessage, str]],
) -> list[tuple[AbstractIncomingMessage, str, int]]:
    """Rejects and requeues one by one first, then one `ack multiple` per channel on its highest
    delivery tag (with the number of acks it stands for; 0 means a single ack).

    Safe because a subscription hands over its deliveries in delivery order, one batch at a
    time: on a channel, every delivery with a lower tag is in this batch or was settled before.
    A delivery whose channel is gone is acked alone (and that fails, and is logged).
    """
    settles: list[tuple[AbstractIncomingMessage, str, int]] = []
    newest: dict[int, tuple[AbstractIncomingMessage, int]] = {}
    for message, action in plan:
        channel = _channel_id(message) if action == "ack" else None
        if channel is None:
            settles.append((message, action, 0))
            continue
        best, count = newest.get(channel, (message, 0))
        if (message.delivery_tag or 0) > (best.delivery_tag or 0):
            best = message
        newest[channel] = (best, count + 1)
    settles.extend(
        (message, "ack", count if count > 1 else 0) for message, count in newest.values()
    )
    return settles


def _channel_id(message: AbstractIncomingMessage) -> int | None:
    try:
        return id(message.channel)
    except Exception:  # aio-pika raises ChannelInvalidStateError for a closed channel
        return None


def _message_id(item: Publishable) -> str:
    return item.id if isinstance(item, OutboundMessage) else str(item.id)


def _channel_closed(message: AbstractIncomingMessage) -> bool:
    try:
        return bool(message.channel.is_closed)
    except Exception:  # aio-pika raises ChannelInvalidStateError for a closed channel
        return True


class RabbitMQBus:
    """The `Bus` protocol on RabbitMQ (see the module docstring for topology and semantics)."""

    def __init__(
        self,
        url: str,
        prefix: str = "",
        *,
        confirm_timeout: float = 10.0,
        connect_timeout: float = 10.0,
        reconnect_interval: float = 1.0,
        batch_wait: float = 0.005,
        retry_delay: float = 1.0,
        prefetch_factor: int = 2,
        mandatory: bool = False,
        close_timeout: float = 5.0,
        topology: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        """
        :param confirm_timeout: longest a `publish` waits for the broker's confirms.
        :param reconnect_interval: pause between reconnect attempts after a lost connection.
        :param batch_wait: a batch is flushed when no further message arrives within this time.
        :param retry_delay: pause before a batch whose handler raised is requeued.
        :param prefetch_factor: prefetch = batch_size * prefetch_factor (at least batch_size).
        :param mandatory: if True, an event no queue is bound to is returned by the broker and
            `publish` raises. Off by default: on a topic exchange an event type nobody consumes
            (yet) is normal, and raising would stall the outbox relay on it forever.
        :param close_timeout: how long `close` lets a batch in hand finish.
        :param topology: service → event types its queue is bound to; all of it is declared by
            `start` (services with no types get no queue). A service process passes
            `shared.events.routing.CONSUMERS`; None declares queues only on `subscribe`.
        """
        self.url = url
        self.prefix = prefix
        self.events_exchange_name = f"{prefix}portal.events"
        self.dead_exchange_name = f"{prefix}portal.dead"
        self._confirm_timeout = confirm_timeout
        self._connect_timeout = connect_timeout
        self._reconnect_interval = reconnect_interval
        self._batch_wait = batch_wait
        self._retry_delay = retry_delay
        self._prefetch_factor = max(1, prefetch_factor)
        self._mandatory = mandatory
        self._close_timeout = close_timeout
        self._topology = {
            service: tuple(dict.fromkeys(types)) for service, types in (topology or {}).items()
        }
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractRobustChannel | None = None
        self._events_exchange: AbstractRobustExchange | None = None
        self._publish_lock = asyncio.Lock()
        self._subscriptions: list[_Subscription] = []
        self._listening: list[AbstractRobustChannel] = []
        self.listen_queues: list[str] = []  # this process's own, gone with its connection
        self._closed = False
        self._connection_lost = False
        self._log = log.bind(broker=_safe_url(url), prefix=prefix)

    @property
    def topology(self) -> dict[str, tuple[str, ...]]:
        """Service → event types whose queues and bindings `start` declares."""
        return dict(self._topology)

    # -- names -------------------------------------------------------------------------------

    def events_queue_name(self, service: str) -> str:
        return f"{self.prefix}{service}.events"

    def dead_queue_name(self, service: str) -> str:
        return f"{self.prefix}{service}.dead"

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self._connection is not None:
            return
        self._closed = False
        connection = await aio_pika.connect_robust(
            self.url,
            timeout=self._connect_timeout,
            reconnect_interval=self._reconnect_interval,
        )
        connection.close_callbacks.add(self._on_connection_closed)
        connection.reconnect_callbacks.add(self._on_reconnected)
        try:
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            self._events_exchange = await channel.declare_exchange(
                self.events_exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
            )
            for service, types in self._topology.items():
                if types:
                    await self._declare_service_queue(channel, service, types)
        except BaseException:
            await connection.close()
            raise
        self._connection = connection
        self._publish_channel = channel
        self._log.info("bus.connected")

    async def is_ready(self) -> bool:
        """Connected, with the publish channel and every consumer channel open."""
        connection = self._connection
        channel = self._publish_channel
        return (
            not self._closed
            and connection is not None
            and not connection.is_closed
            and connection.connected.is_set()
            and channel is not None
            and not channel.is_closed
            and all(not sub.channel.is_closed for sub in self._subscriptions)
        )

    async def queue_depth(self, service: str) -> int | None:
        """Ready messages in `<service>.events`, by a passive declare; None while disconnected.

        On a channel of its own: a passive declare of a missing queue closes its channel, which
        must never be the publishing one.
        """
        connection = self._connection
        if connection is None or connection.is_closed:
            return None
        try:
            async with connection.channel(publisher_confirms=False) as channel:
                underlay = await channel.get_underlay_channel()
                name = self.events_queue_name(service)
                answer = await underlay.queue_declare(name, passive=True)
        except Exception:
            return None
        count = answer.message_count if answer is not None else None
        return int(count) if count is not None else None

    async def close(self) -> None:
        self._closed = True
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            await subscription.stop(self._close_timeout)
        listening, self._listening = self._listening, []
        for channel in listening:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(channel.close(), self._close_timeout)
        connection, self._connection = self._connection, None
        self._publish_channel = None
        self._events_exchange = None
        if connection is not None:
            try:
                await asyncio.wait_for(connection.close(), self._close_timeout)
            except Exception as exc:
                self._log.warning("bus.close_failed", error=repr(exc))
        self._log.info("bus.closed")

    def _on_connection_closed(self, _: object, exc: BaseException | None = None) -> None:
        if self._closed:
            return
        if self._connection_lost:  # a failed reconnect attempt during the same outage
            self._log.debug("bus.reconnect_attempt_failed", error=repr(exc))
            return
        self._connection_lost = True
        self._log.warning(
            "bus.connection_lost", error=repr(exc), reconnect_every=self._reconnect_interval
        )

    def _on_reconnected(self, _: object) -> None:
        self._connection_lost = False
        self._log.info("bus.reconnected")

    # -- publishing --------------------------------------------------------------------------

    def _message(self, item: Publishable) -> aio_pika.Message:
        outbound = item if isinstance(item, OutboundMessage) else OutboundMessage.of(item)
        return aio_pika.Message(
            body=outbound.body,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=outbound.id,
            type=outbound.type,
            correlation_id=outbound.correlation_id,
            app_id=outbound.producer,
            timestamp=outbound.timestamp,
            headers={"key": outbound.key, "sequence": outbound.sequence},
        )

    async def publish(self, envelopes: Sequence[Publishable]) -> None:
        """Publish in order on one confirm channel; return when the broker confirmed them all.

        All messages are sent back to back, then the confirms are awaited together. Raises
        `BusPublishError` (with `.confirmed`, the length of the confirmed prefix) if any is
        nacked or returned, the connection is down, or confirms do not arrive within
        `confirm_timeout`.
        """
        if not envelopes:
            return
        total = len(envelopes)
        async with self._publish_lock:
            channel = self._publish_channel
            if self._closed or channel is None or not await self.is_ready():
                raise BusNotConnectedError("bus is not connected", confirmed=0, total=total)
            try:
                underlay = await asyncio.wait_for(
                    channel.get_underlay_channel(), self._confirm_timeout
                )
            except Exception as exc:
                raise BusNotConnectedError(
                    f"no publish channel: {exc!r}", confirmed=0, total=total
                ) from exc
            if underlay.is_closed:
                raise BusNotConnectedError("publish channel is closed", confirmed=0, total=total)

            # Each task reaches the channel's (FIFO) send lock in creation order without
            # suspending first, so frames go out in the given order; confirms are then awaited
            # concurrently instead of one round trip per message.
            tasks = [
                asyncio.create_task(
                    underlay.basic_publish(
                        message.body,
                        exchange=self.events_exchange_name,
                        routing_key=envelope.type,
                        properties=message.properties,
                        mandatory=self._mandatory,
                    )
                )
                for envelope, message in ((e, self._message(e)) for e in envelopes)
            ]
            try:
                _, pending = await asyncio.wait(tasks, timeout=self._confirm_timeout)
            except asyncio.CancelledError:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

            confirmed = 0
            for task in tasks:
                if not _settled_ok(task):
                    break
                confirmed += 1
            if confirmed == total:
                return
            failed = next(task for task in tasks if not _settled_ok(task))
            failures = sum(1 for task in tasks if not _settled_ok(task))
            reason = _task_error(failed)
            self._log.warning(
                "bus.publish_failed",
                total=total,
                confirmed=confirmed,
                failures=failures,
                error=reason,
                envelope_id=_message_id(envelopes[confirmed]),
            )
            raise BusPublishError(
                f"{failures} of {total} envelopes not confirmed; first unconfirmed is "
                f"#{confirmed} ({_message_id(envelopes[confirmed])}): {reason}",
                confirmed=confirmed,
                total=total,
            )

    # -- topology ----------------------------------------------------------------------------

    async def _declare_service_queue(
        self, channel: AbstractRobustChannel, service: str, event_types: Sequence[str]
    ) -> AbstractRobustQueue:
        """Declare `<service>.events` bound to `event_types`, and its dead-letter route."""
        events = await channel.declare_exchange(
            self.events_exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        dead = await channel.declare_exchange(
            self.dead_exchange_name, aio_pika.ExchangeType.DIRECT, durable=True
        )
        dead_queue = await channel.declare_queue(
            self.dead_queue_name(service), durable=True, arguments=dict(QUORUM)
        )
        await dead_queue.bind(dead, routing_key=service)
        queue = await channel.declare_queue(
            self.events_queue_name(service),
            durable=True,
            arguments={
                **QUORUM,
                "x-dead-letter-exchange": self.dead_exchange_name,
                "x-dead-letter-routing-key": service,
            },
        )
        for event_type in event_types:
            await queue.bind(events, routing_key=event_type)
        return queue

    # -- listening ---------------------------------------------------------------------------

    def listen_queue_name(self) -> str:
        return f"{self.prefix}listen.{uuid.uuid4().hex[:12]}"

    async def listen(self, event_types: Iterable[str], listener: Listener) -> None:
        """A queue of this process's own (exclusive, deleted with the connection, at most
        LISTEN_QUEUE_LENGTH waiting: the oldest notices go first), bound to `event_types`."""
        connection = self._connection
        if connection is None or self._closed:
            raise RuntimeError("RabbitMQBus.listen() before start() or after close()")
        types = list(dict.fromkeys(event_types))
        channel = await connection.channel(publisher_confirms=False)
        events = await channel.declare_exchange(
            self.events_exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(
            self.listen_queue_name(),
            exclusive=True,
            auto_delete=True,
            arguments={"x-max-length": LISTEN_QUEUE_LENGTH, "x-overflow": "drop-head"},
        )
        for event_type in types:
            await queue.bind(events, routing_key=event_type)

        async def hear(message: AbstractIncomingMessage) -> None:
            try:
                listener(Envelope.from_bytes(message.body))
            except Exception:
                self._log.exception("bus.listener_failed", event_type=message.type)

        await queue.consume(hear, no_ack=True)
        self._listening.append(channel)
        self.listen_queues.append(queue.name)
        self._log.info("bus.listening", queue=queue.name, event_types=types)

    # -- consuming ---------------------------------------------------------------------------

    async def subscribe(
        self,
        service: str,
        event_types: Iterable[str],
        handler: BatchHandler,
        *,
        batch_size: int = 100,
    ) -> None:
        connection = self._connection
        if connection is None or self._closed:
            raise RuntimeError("RabbitMQBus.subscribe() before start() or after close()")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        types = list(dict.fromkeys(event_types))

        channel = await connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=batch_size * self._prefetch_factor)
        queue = await self._declare_service_queue(channel, service, types)

        subscription = _Subscription(
            service=service,
            queue=queue,
            channel=channel,
            handler=handler,
            batch_size=batch_size,
            batch_wait=self._batch_wait,
            retry_delay=self._retry_delay,
        )
        subscription.start()
        try:
            subscription.consumer_tag = await queue.consume(subscription.on_message)
        except BaseException:
            await subscription.stop(0)
            raise
        self._subscriptions.append(subscription)
        self._log.info(
            "bus.subscribed",
            service=service,
            queue=queue.name,
            event_types=types,
            batch_size=batch_size,
        )
