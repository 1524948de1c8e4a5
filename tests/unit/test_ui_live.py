"""Live pages: business events reach open pages as coalesced topics over server-sent events."""

from __future__ import annotations

import asyncio

import pytest

from services.gateway.handlers import LISTENERS
from services.gateway.ui import live
from shared.events.envelope import Envelope


def envelope(event_type: str) -> Envelope:
    return Envelope(type=event_type, producer="inventory", key="X-1", payload={})


async def test_a_burst_of_events_becomes_one_refresh_per_topic() -> None:
    hub = live.LiveHub()
    with hub.subscription() as queue:
        for _ in range(50):
            hub.publish("stock")
        hub.publish("purchase-orders")
        batches = live.topics_of(queue)
        first = await asyncio.wait_for(anext(batches), 2)

    assert first == {"stock", "purchase-orders"}
    assert hub.listeners == 0


async def test_the_gateway_listeners_tell_pages_what_changed() -> None:
    received: list[str] = []
    with live.HUB.subscription() as queue:
        for event_type in ("StockChanged", "JournalPosted", "PurchaseOrderChanged"):
            LISTENERS[event_type](envelope(event_type))
        await asyncio.sleep(0)
        while not queue.empty():
            received.append(queue.get_nowait())

    assert received == ["stock", "journal", "purchase-orders"]


async def test_pages_without_news_get_a_tick_to_refresh_figures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(live, "TICK_SECONDS", 0.05)
    hub = live.LiveHub()
    with hub.subscription() as queue:
        batch = await asyncio.wait_for(anext(live.topics_of(queue)), 2)

    assert batch == {"tick"}


async def test_every_listener_hears_each_event_once_after_its_consumers() -> None:
    from shared.bus.inprocess import InProcessBus

    bus = InProcessBus()
    await bus.start()
    order: list[str] = []

    async def consume(batch: object) -> set[str]:
        order.append("consumer")
        return set()

    await bus.subscribe("inventory", ["StockChanged"], consume)  # type: ignore[arg-type]
    await bus.listen(["StockChanged"], lambda e: order.append("replica-1"))
    await bus.listen(["StockChanged", "JournalPosted"], lambda e: order.append("replica-2"))
    await bus.publish([envelope("StockChanged"), envelope("ItemUpserted")])
    await bus.close()

    assert order == ["consumer", "replica-1", "replica-2"]
