"""The in-process broker: RabbitMQ's shape (topic, a queue per service, batches, dead letters)
inside one asyncio loop, with publish as the publisher confirm."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from shared.bus.inprocess import InProcessBus
from shared.events.envelope import Envelope

# Bound every wait, so a broken bus fails the test instead of hanging it.
WITHIN = 2.0


def event(event_type: str, key: str = "RESIN-GRY", n: int = 0) -> Envelope:
    return Envelope(type=event_type, producer="inventory", key=key, sequence=n, payload={"n": n})


class Recorder:
    """A consuming service that writes down every batch it is handed."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.batches: list[list[Envelope]] = []
        self.delay = delay

    async def __call__(self, batch: Sequence[Envelope]) -> set[str]:
        if self.delay:
            await asyncio.sleep(self.delay)
        self.batches.append(list(batch))
        return set()

    @property
    def received(self) -> list[Envelope]:
        return [envelope for batch in self.batches for envelope in batch]


@pytest.fixture
async def bus() -> AsyncIterator[InProcessBus]:
    bus = InProcessBus(redelivery_delay=0.01)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.close()


async def publish(bus: InProcessBus, *envelopes: Envelope) -> None:
    await asyncio.wait_for(bus.publish(list(envelopes)), WITHIN)


async def test_publish_returns_only_after_the_consumer_has_handled_the_event(
    bus: InProcessBus,
) -> None:
    mrp = Recorder(delay=0.05)
    await bus.subscribe("mrp", ["StockChanged"], mrp)
    changed = event("StockChanged")

    await publish(bus, changed)

    assert mrp.received == [changed]


async def test_events_arrive_in_the_order_they_were_published(bus: InProcessBus) -> None:
    mrp = Recorder()
    await bus.subscribe("mrp", ["StockChanged"], mrp, batch_size=3)
    first = [event("StockChanged", n=n) for n in range(1, 8)]
    second = [event("StockChanged", n=n) for n in range(8, 11)]

    await publish(bus, *first)
    await publish(bus, *second)

    assert [e.sequence for e in mrp.received] == list(range(1, 11))
    assert mrp.received == first + second


async def test_each_event_type_reaches_every_service_bound_to_it_and_no_other(
    bus: InProcessBus,
) -> None:
    purchasing, mrp, production = Recorder(), Recorder(), Recorder()
    await bus.subscribe("purchasing", ["ItemUpserted"], purchasing)
    await bus.subscribe("mrp", ["ItemUpserted", "StockChanged"], mrp)
    await bus.subscribe("production", ["BomReleased"], production)
    item, stock, journal = event("ItemUpserted"), event("StockChanged"), event("JournalPosted")

    await publish(bus, item, stock, journal)

    assert purchasing.received == [item]
    assert mrp.received == [item, stock]
    assert production.received == []


async def test_an_event_nobody_subscribed_to_is_confirmed_at_once(bus: InProcessBus) -> None:
    await publish(bus, event("DowntimeRecorded"))


async def test_a_handler_that_raises_gets_the_whole_batch_again(bus: InProcessBus) -> None:
    deliveries: list[list[Envelope]] = []

    async def flaky_inventory(batch: Sequence[Envelope]) -> set[str]:
        deliveries.append(list(batch))
        if len(deliveries) == 1:
            raise RuntimeError("database is locked")
        return set()

    await bus.subscribe("inventory", ["MaterialReceived"], flaky_inventory)
    receipts = [event("MaterialReceived", key="PO-2025-00001", n=n) for n in (1, 2)]

    await publish(bus, *receipts)

    assert deliveries == [receipts, receipts]
    assert bus.dead_letters("inventory") == []


async def test_returned_ids_are_dead_lettered_and_the_rest_delivered(bus: InProcessBus) -> None:
    good, poison, also_good = (event("MaterialReceived", n=n) for n in (1, 2, 3))
    handled: list[Envelope] = []

    async def inventory(batch: Sequence[Envelope]) -> set[str]:
        handled.extend(e for e in batch if e.id != poison.id)
        return {str(poison.id)}

    await bus.subscribe("inventory", ["MaterialReceived"], inventory)

    await publish(bus, good, poison, also_good)

    assert bus.dead_letters("inventory") == [poison]
    assert handled == [good, also_good]


async def test_batches_are_filled_up_to_the_batch_size(bus: InProcessBus) -> None:
    accounting = Recorder()
    await bus.subscribe("accounting", ["MaterialReceived"], accounting, batch_size=2)

    await publish(bus, *[event("MaterialReceived", n=n) for n in range(5)])

    assert [len(batch) for batch in accounting.batches] == [2, 2, 1]


async def test_a_service_subscribes_once(bus: InProcessBus) -> None:
    await bus.subscribe("mrp", ["StockChanged"], Recorder())

    with pytest.raises(ValueError, match="mrp already subscribed"):
        await bus.subscribe("mrp", ["ItemUpserted"], Recorder())


async def test_the_bus_is_ready_from_start_until_close() -> None:
    bus = InProcessBus()
    assert await bus.is_ready() is False

    await bus.start()
    assert await bus.is_ready() is True

    await bus.close()
    assert await bus.is_ready() is False


async def test_queue_depth_counts_what_waits_for_a_consumer() -> None:
    bus = InProcessBus()
    await bus.start()
    release = asyncio.Event()

    async def slow(batch: Sequence[Envelope]) -> set[str]:
        await release.wait()
        return set()

    await bus.subscribe("inventory", ["MaterialReceived"], slow, batch_size=1)
    envelopes = [
        Envelope(type="MaterialReceived", producer="purchasing", key="PO-1", payload={"n": n})
        for n in range(3)
    ]
    publishing = asyncio.create_task(bus.publish(envelopes))
    await asyncio.sleep(0.05)
    # one batch of one is being handled; two wait
    assert await bus.queue_depth("inventory") == 2
    assert await bus.queue_depth("nobody") is None
    release.set()
    await publishing
    assert await bus.queue_depth("inventory") == 0
    await bus.close()
