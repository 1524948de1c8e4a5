"""RabbitMQBus against the real broker (PORTAL_TEST_AMQP_URL), faults through a TCP proxy.

Every test uses its own name prefix and deletes what it declared. Without a reachable broker the
module is skipped, unless PORTAL_REQUIRE_SERVICES=1, in which case it fails.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any
from uuid import uuid4

import aio_pika
import aiormq
import pytest
from aio_pika.abc import AbstractConnection
from yarl import URL

from shared.bus.base import BatchHandler, Bus, OutboundMessage
from shared.bus.rabbitmq import BusPublishError, RabbitMQBus
from shared.events.envelope import Envelope
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

AMQP_URL = os.environ.get("PORTAL_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def envelopes(n: int, type_: str = "MaterialReceived", key: str = "SKU-1") -> list[Envelope]:
    return [
        Envelope(
            type=type_,
            producer="test",
            key=key,
            sequence=i,
            correlation_id=f"corr-{i}",
            payload={"i": i},
        )
        for i in range(n)
    ]


async def wait_until(
    predicate: Callable[[], bool], within: float, what: str, interval: float = 0.02
) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(interval)


async def wait_ready(bus: RabbitMQBus, within: float) -> None:
    deadline = time.monotonic() + within
    while not await bus.is_ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"bus not ready again within {within}s")
        await asyncio.sleep(0.05)


class Broker:
    """Per-test access to the broker: a unique prefix, bus factory, inspection and cleanup."""

    def __init__(self, admin: AbstractConnection, prefix: str) -> None:
        self.admin = admin
        self.prefix = prefix
        self.services: set[str] = set()
        self.extra_queues: set[str] = set()
        self.buses: list[RabbitMQBus] = []

    async def bus(self, url: str = AMQP_URL, **kwargs: Any) -> RabbitMQBus:
        kwargs.setdefault("reconnect_interval", 0.2)
        bus = RabbitMQBus(url, self.prefix, **kwargs)
        self.buses.append(bus)
        await bus.start()
        return bus

    async def subscribe(
        self,
        bus: RabbitMQBus,
        service: str,
        event_types: Iterable[str],
        handler: BatchHandler,
        batch_size: int = 100,
    ) -> None:
        self.services.add(service)
        await bus.subscribe(service, event_types, handler, batch_size=batch_size)

    async def ready_count(self, queue: str) -> int:
        async with self.admin.channel() as channel:
            declared = await channel.declare_queue(queue, passive=True)
            count = declared.declaration_result.message_count
            return int(count or 0)

    async def drain(self, queue: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
        messages = []
        async with self.admin.channel() as channel:
            declared = await channel.declare_queue(queue, passive=True)
            while (message := await declared.get(no_ack=True, fail=False)) is not None:
                messages.append(message)
        return messages

    async def wait_ready_count(self, queue: str, expected: int, within: float = 10) -> None:
        deadline = time.monotonic() + within
        while (count := await self.ready_count(queue)) != expected:
            if time.monotonic() > deadline:
                raise AssertionError(f"{queue}: {count} ready messages, expected {expected}")
            await asyncio.sleep(0.05)

    async def cleanup(self) -> None:
        for bus in self.buses:
            await bus.close()
        names = [f"{self.prefix}{s}.{kind}" for s in self.services for kind in ("events", "dead")]
        for queue in [*names, *self.extra_queues]:
            async with self.admin.channel() as channel:
                await channel.queue_delete(queue)
        for exchange in ("portal.events", "portal.dead"):
            async with self.admin.channel() as channel:
                await channel.exchange_delete(f"{self.prefix}{exchange}")


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    try:
        admin = await aio_pika.connect(AMQP_URL, timeout=5)
    except Exception as exc:
        reason = f"RabbitMQ unreachable at {AMQP_URL}: {exc!r}"
        if os.environ.get("PORTAL_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    helper = Broker(admin, f"t{uuid4().hex[:8]}.")
    try:
        yield helper
    finally:
        try:
            await helper.cleanup()
        finally:
            await admin.close()


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    target = URL(AMQP_URL)
    tcp = TcpProxy(target.host or "127.0.0.1", target.port or 5672)
    await tcp.start()
    try:
        yield tcp
    finally:
        await tcp.close()


def via(proxy: TcpProxy) -> str:
    return str(URL(AMQP_URL).with_host(proxy.host).with_port(proxy.port))


class Recorder:
    """A batch handler that records what it saw; optional hooks make it fail or dead-letter."""

    def __init__(
        self,
        dead: Callable[[Envelope], bool] = lambda _: False,
        fail_calls: int = 0,
        delay: float = 0.0,
    ) -> None:
        self.batches: list[list[Envelope]] = []
        self.dead = dead
        self.fail_calls = fail_calls
        self.delay = delay
        self.handled_ids: set[str] = set()  # ids of batches that returned normally

    @property
    def seen(self) -> list[str]:
        return [str(e.id) for batch in self.batches for e in batch]

    async def __call__(self, batch: Sequence[Envelope]) -> set[str]:
        self.batches.append(list(batch))
        if self.delay:
            await asyncio.sleep(self.delay)
        if len(self.batches) <= self.fail_calls:
            raise RuntimeError("handler failure (test)")
        self.handled_ids.update(str(e.id) for e in batch)
        return {str(e.id) for e in batch if self.dead(e)}


async def test_satisfies_bus_protocol(broker: Broker) -> None:
    bus: Bus = await broker.bus()
    assert await bus.is_ready()
    await bus.close()
    assert not await bus.is_ready()


async def test_publish_then_consume_500_in_order(broker: Broker) -> None:
    bus = await broker.bus()
    handler = Recorder()
    await broker.subscribe(bus, "inventory", ["MaterialReceived"], handler, batch_size=100)
    sent = envelopes(500)

    started = time.perf_counter()
    await bus.publish(sent)
    await wait_until(lambda: len(handler.seen) >= 500, 30, "500 deliveries")
    elapsed = time.perf_counter() - started

    assert handler.seen == [str(e.id) for e in sent], "order or content differs"
    assert [e.sequence for b in handler.batches for e in b] == list(range(500))
    assert handler.batches[0][0] == sent[0]  # the envelope round-trips intact
    assert max(len(b) for b in handler.batches) <= 100
    assert len(handler.batches) < 500, "deliveries were not batched"
    assert elapsed < 20
    # Everything acked: nothing comes back when the consumer goes away.
    await bus.close()
    assert await broker.ready_count(f"{broker.prefix}inventory.events") == 0
    assert await broker.ready_count(f"{broker.prefix}inventory.dead") == 0


async def test_message_properties_and_routing(broker: Broker) -> None:
    bus = await broker.bus()
    # Declares the topology; a handler that never sees the other type proves the binding.
    handler = Recorder()
    await broker.subscribe(bus, "accounting", ["OrderShipped"], handler)
    probe_name = f"{broker.prefix}probe"
    broker.extra_queues.add(probe_name)
    async with broker.admin.channel() as channel:
        probe = await channel.declare_queue(probe_name, durable=False)
        await probe.bind(f"{broker.prefix}portal.events", routing_key="#")

    shipped, other = envelopes(1, "OrderShipped")[0], envelopes(1, "PaymentReceived")[0]
    await bus.publish([shipped, other])
    await wait_until(lambda: len(handler.seen) == 1, 10, "OrderShipped delivery")
    await asyncio.sleep(0.2)
    assert handler.seen == [str(shipped.id)]

    messages = await broker.drain(probe_name)
    assert [m.message_id for m in messages] == [str(shipped.id), str(other.id)]
    message = messages[0]
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.content_type == "application/json"
    assert message.type == "OrderShipped"
    assert message.routing_key == "OrderShipped"
    assert message.correlation_id == shipped.correlation_id
    assert message.headers == {"key": shipped.key, "sequence": shipped.sequence}
    assert Envelope.from_bytes(message.body) == shipped


async def test_returned_ids_are_dead_lettered_rest_acked(broker: Broker) -> None:
    bus = await broker.bus()
    handler = Recorder(dead=lambda e: e.sequence % 4 == 0)
    await broker.subscribe(bus, "production", ["PrintCompleted"], handler, batch_size=10)
    sent = envelopes(40, "PrintCompleted")
    await bus.publish(sent)
    await wait_until(lambda: len(handler.seen) >= 40, 15, "40 deliveries")

    dead_queue = f"{broker.prefix}production.dead"
    await broker.wait_ready_count(dead_queue, 10)
    await bus.close()
    assert await broker.ready_count(f"{broker.prefix}production.events") == 0
    dead = await broker.drain(dead_queue)
    assert sorted(m.message_id or "" for m in dead) == sorted(
        str(e.id) for e in sent if e.sequence % 4 == 0
    )
    assert {Envelope.from_bytes(m.body).type for m in dead} == {"PrintCompleted"}
    assert len(handler.seen) == 40  # nothing was redelivered


async def test_handler_raising_redelivers_the_batch(broker: Broker) -> None:
    bus = await broker.bus(retry_delay=0.2)
    handler = Recorder(fail_calls=2)
    await broker.subscribe(bus, "mrp", ["StockChanged"], handler, batch_size=50)
    sent = envelopes(30, "StockChanged")
    await bus.publish(sent)

    ids = {str(e.id) for e in sent}
    await wait_until(lambda: handler.handled_ids == ids, 15, "batch handled after two failures")
    assert len(handler.batches) >= 3
    # The failed batches' envelopes all came back.
    failed = {str(e.id) for batch in handler.batches[:2] for e in batch}
    assert failed <= handler.handled_ids
    await bus.close()
    assert await broker.ready_count(f"{broker.prefix}mrp.events") == 0
    assert await broker.ready_count(f"{broker.prefix}mrp.dead") == 0


async def test_unparseable_body_is_rejected_without_blocking(broker: Broker) -> None:
    bus = await broker.bus()
    handler = Recorder()
    await broker.subscribe(bus, "purchasing", ["VendorPaymentMade"], handler, batch_size=20)
    before, after = envelopes(5, "VendorPaymentMade"), envelopes(5, "VendorPaymentMade")
    await bus.publish(before)
    async with broker.admin.channel() as channel:
        exchange = await channel.get_exchange(f"{broker.prefix}portal.events")
        for body in (b"not json at all", b'{"type": "VendorPaymentMade"}'):
            await exchange.publish(
                aio_pika.Message(body, message_id=f"garbage-{len(body)}"),
                routing_key="VendorPaymentMade",
            )
    await bus.publish(after)

    expected = [str(e.id) for e in [*before, *after]]
    await wait_until(lambda: len(handler.seen) >= 10, 15, "the 10 valid deliveries")
    assert handler.seen == expected
    dead_queue = f"{broker.prefix}purchasing.dead"
    await broker.wait_ready_count(dead_queue, 2)
    dead = await broker.drain(dead_queue)
    assert sorted(m.body for m in dead) == [b"not json at all", b'{"type": "VendorPaymentMade"}']
    await bus.close()
    assert await broker.ready_count(f"{broker.prefix}purchasing.events") == 0


async def test_unroutable_publish_raises_when_mandatory(broker: Broker) -> None:
    lenient = await broker.bus()
    await lenient.publish(envelopes(3, "NobodyListens"))  # default: unroutable is fine
    strict = await broker.bus(mandatory=True)
    with pytest.raises(BusPublishError) as info:
        await strict.publish(envelopes(3, "NobodyListens"))
    assert info.value.confirmed == 0
    assert await strict.is_ready()


async def test_publish_while_unreachable_raises_fast(broker: Broker, proxy: TcpProxy) -> None:
    bus = await broker.bus(via(proxy))
    await proxy.cut()
    await asyncio.sleep(0.1)  # let the client notice the EOF
    assert not await bus.is_ready()
    started = time.monotonic()
    with pytest.raises(BusPublishError):
        await bus.publish(envelopes(5))
    assert time.monotonic() - started < 1
    proxy.restore()
    await wait_ready(bus, 10)
    await bus.publish(envelopes(5))


async def test_publish_on_black_holed_connection_times_out(broker: Broker, proxy: TcpProxy) -> None:
    bus = await broker.bus(via(proxy), confirm_timeout=1.0)
    handler = Recorder()
    await broker.subscribe(bus, "downtime", ["MaterialReceived"], handler)
    proxy.stall()
    started = time.monotonic()
    with pytest.raises(BusPublishError) as info:
        await bus.publish(envelopes(20))
    assert 0.9 < time.monotonic() - started < 5
    assert info.value.confirmed == 0
    proxy.restore()
    # The frames held by the stall go through late (at-least-once: the caller republishes).
    retry = envelopes(20)
    await bus.publish(retry)
    await wait_until(
        lambda: {str(e.id) for e in retry} <= set(handler.seen), 10, "republished batch"
    )


async def _relay(
    bus: RabbitMQBus,
    rows: list[Envelope],
    chunk: int,
    errors: list[BaseException],
    pace: float,
) -> None:
    """Publish like the outbox relay: in order, and retry from the first unconfirmed row."""
    position = 0
    while position < len(rows):
        batch = rows[position : position + chunk]
        try:
            await bus.publish(batch)
            position += len(batch)
        except BusPublishError as exc:
            errors.append(exc)
            position += exc.confirmed
            await asyncio.sleep(0.1)
            continue
        await asyncio.sleep(pace)


async def test_connection_cut_mid_stream_loses_nothing(broker: Broker, proxy: TcpProxy) -> None:
    n = 3000
    producer = await broker.bus(via(proxy))
    consumer = await broker.bus(via(proxy), retry_delay=0.2)
    handler = Recorder(delay=0.005)
    await broker.subscribe(consumer, "inventory", ["MaterialReceived"], handler, batch_size=50)
    rows = envelopes(n)
    errors: list[BaseException] = []
    relay = asyncio.create_task(_relay(producer, rows, chunk=50, errors=errors, pace=0.005))

    await wait_until(lambda: len(handler.handled_ids) >= n // 4, 30, "a quarter handled")
    assert not relay.done(), "publisher finished before the cut; raise n"
    connections_before = proxy.accepted
    await proxy.cut()
    await asyncio.sleep(0.1)
    assert not await producer.is_ready()
    assert not await consumer.is_ready()
    await asyncio.sleep(1.0)  # outage: reconnect attempts are refused meanwhile
    proxy.restore()

    await asyncio.wait_for(relay, 60)
    assert errors, "the cut did not hit the publisher"
    await wait_until(lambda: len(handler.handled_ids) >= n, 60, "every row handled")
    assert handler.handled_ids == {str(e.id) for e in rows}
    assert proxy.accepted >= connections_before + 2  # both buses reconnected

    # Publishing and consuming work again after the restore.
    late = envelopes(10)
    await producer.publish(late)
    await wait_until(
        lambda: {str(e.id) for e in late} <= handler.handled_ids, 15, "post-restore rows"
    )
    await consumer.close()
    assert await broker.ready_count(f"{broker.prefix}inventory.events") == 0


async def test_repeated_cuts_consumer_resumes(broker: Broker, proxy: TcpProxy) -> None:
    producer = await broker.bus()  # direct, not through the proxy
    consumer = await broker.bus(via(proxy))
    handler = Recorder()
    await broker.subscribe(consumer, "gateway", ["JournalPosted"], handler, batch_size=20)
    expected: set[str] = set()
    for _ in range(3):
        await proxy.cut()
        rows = envelopes(40, "JournalPosted")
        await producer.publish(rows)  # queued by the broker while the consumer is away
        expected |= {str(e.id) for e in rows}
        await asyncio.sleep(0.3)
        proxy.restore()
        want = frozenset(expected)
        await wait_until(lambda: want <= handler.handled_ids, 20, "rows after reconnect")  # noqa: B023
    await consumer.close()
    assert await broker.ready_count(f"{broker.prefix}gateway.events") == 0


async def test_close_stops_consuming(broker: Broker) -> None:
    bus = await broker.bus()
    handler = Recorder()
    await broker.subscribe(bus, "mrp", ["PaymentReceived"], handler)
    await bus.close()
    other = await broker.bus()
    await other.publish(envelopes(7, "PaymentReceived"))
    await broker.wait_ready_count(f"{broker.prefix}mrp.events", 7)
    assert handler.seen == []


async def test_events_published_before_the_consumer_ever_started_wait_for_it(
    broker: Broker,
) -> None:
    # The producer's process declares the whole routing map when its bus starts ...
    broker.services.update({"purchasing", "accounting"})
    topology = {"purchasing": ("ItemUpserted",), "accounting": ("MaterialReceived",), "mrp": ()}
    producer = await broker.bus(topology=topology)
    early = envelopes(5, "ItemUpserted", key="RESIN")
    await producer.publish([*early, *envelopes(2, "MaterialReceived")])
    await broker.wait_ready_count(f"{broker.prefix}purchasing.events", 5)
    await broker.wait_ready_count(f"{broker.prefix}accounting.events", 2)
    # What waits is the consumer's lag, as the metrics report it.
    assert await producer.queue_depth("purchasing") == 5
    assert await producer.queue_depth("accounting") == 2

    # ... so purchasing, started for the first time afterwards, gets them, in order.
    consumer = await broker.bus()
    handler = Recorder()
    await broker.subscribe(consumer, "purchasing", ["ItemUpserted"], handler)
    await wait_until(lambda: len(handler.seen) >= 5, 10, "the early ItemUpserted")
    assert handler.seen == [str(e.id) for e in early]
    await consumer.close()
    assert await broker.ready_count(f"{broker.prefix}purchasing.events") == 0


async def test_a_stored_envelope_is_published_as_it_is(broker: Broker) -> None:
    bus = await broker.bus()
    handler = Recorder()
    await broker.subscribe(bus, "inventory", ["MaterialReceived"], handler)
    (envelope,) = envelopes(1)
    stored = envelope.model_dump_json()
    message = OutboundMessage(
        id=str(envelope.id),
        type=envelope.type,
        key=envelope.key,
        sequence=envelope.sequence,
        producer="purchasing",
        body=stored.encode(),
    )
    probe_name = f"{broker.prefix}probe-stored"
    broker.extra_queues.add(probe_name)
    async with broker.admin.channel() as channel:
        probe = await channel.declare_queue(probe_name, durable=False)
        await probe.bind(f"{broker.prefix}portal.events", routing_key="#")

    await bus.publish([message])

    await wait_until(lambda: len(handler.seen) == 1, 10, "the stored envelope")
    assert handler.batches[0][0] == envelope
    (wire,) = await broker.drain(probe_name)
    assert wire.body == stored.encode()
    assert (wire.message_id, wire.type, wire.app_id) == (
        str(envelope.id),
        "MaterialReceived",
        "purchasing",
    )
    assert wire.headers == {"key": envelope.key, "sequence": envelope.sequence}


async def test_every_listening_process_hears_each_event_and_leaves_no_queue_behind(
    broker: Broker,
) -> None:
    """Two gateway replicas each hear every event (live pages), beside one durable consumer."""
    publisher = await broker.bus()
    replica_1, replica_2 = await broker.bus(), await broker.bus()
    heard: dict[str, list[str]] = {"1": [], "2": []}
    consumer = Recorder()
    await broker.subscribe(publisher, "inventory", ["MaterialReceived"], consumer)
    await replica_1.listen(["MaterialReceived"], lambda e: heard["1"].append(str(e.id)))
    await replica_2.listen(["MaterialReceived"], lambda e: heard["2"].append(str(e.id)))
    sent = envelopes(20)

    await publisher.publish(sent)
    await wait_until(
        lambda: len(heard["1"]) == len(heard["2"]) == len(consumer.seen) == 20, 10, "20 each"
    )

    ids = [str(e.id) for e in sent]
    assert heard["1"] == heard["2"] == consumer.seen == ids
    queues = [*replica_1.listen_queues, *replica_2.listen_queues]
    assert len(set(queues)) == 2
    with pytest.raises(aiormq.exceptions.ChannelLockedResource):
        await broker.ready_count(queues[0])  # exists, and is its process's own
    await replica_1.close()
    await replica_2.close()
    for queue in queues:  # exclusive: gone with the connection that declared it
        with pytest.raises(aio_pika.exceptions.ChannelNotFoundEntity):
            await broker.ready_count(queue)
