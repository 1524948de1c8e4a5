"""Live pages: business events reach open pages as coalesced topics over server-sent events."""

from __future__ import annotations

import asyncio

import pytest

from services.gateway.handlers import HANDLERS
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


async def test_the_gateway_handlers_tell_pages_what_changed() -> None:
    received: list[str] = []
    with live.HUB.subscription() as queue:
        for event_type in ("StockChanged", "JournalPosted", "PurchaseOrderChanged"):
            HANDLERS[event_type](envelope(event_type), None)  # type: ignore[arg-type]
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
