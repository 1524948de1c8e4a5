"""Live pages: one server-sent event stream per browser tab, carrying "these rows changed".

The gateway's listeners call `HUB.publish(topic)` when a business event passes (stock
moved, a purchase order changed, a journal was posted); every open page that shows such rows has
`hx-trigger="sse:<topic>"` on its table and fetches it again. A burst of events (a receipt of
fifty lines) becomes one refresh per topic per `COALESCE_SECONDS`. A `tick` every
`TICK_SECONDS` drives pages that show figures rather than rows (the ops dashboard).

The hub lives in the gateway process. The gateway hears those events through `Bus.listen`
(services/gateway/handlers.py LISTENERS): every replica hears every event, so a page shows
changes whichever replica serves it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

from fastapi import APIRouter, Request
from sse_starlette.sse import EventSourceResponse

from services.gateway.ui.frame import page_user

COALESCE_SECONDS = 0.5
TICK_SECONDS = 5.0
PING_SECONDS = 15
MAX_QUEUED = 1000

# What each business event changes on the pages, by event type.
TOPICS: dict[str, str] = {
    "ItemUpserted": "items",
    "StockChanged": "stock",
    "MaterialReceived": "purchase-orders",
    "PurchaseOrderChanged": "purchase-orders",
    "ProductionOrderChanged": "production-orders",
    "MaterialIssued": "production-orders",
    "MaterialReturned": "production-orders",
    "FinishedGoodsReceived": "production-orders",
    "FinishedGoodsInspected": "production-orders",
    "BomReleased": "boms",
    "SalesOrderChanged": "sales-orders",
    "OrderShipped": "sales-orders",
    "PaymentReceived": "sales-orders",
    "JournalPosted": "journal",
    "AuditRecorded": "audit",
    "DowntimeRecorded": "downtime",
    # A planner saved a projection cell: open scheduling grids fetch the lines saved since.
    "ScheduleProjectionChanged": "schedule",
}


class LiveHub:
    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[str]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def publish(self, topic: str) -> None:
        """Safe from any thread: event handlers may run in a worker thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed between check and call
            loop.call_soon_threadsafe(self._deliver, topic)

    def _deliver(self, topic: str) -> None:
        for queue in list(self._queues):
            if queue.qsize() < MAX_QUEUED:
                queue.put_nowait(topic)

    @contextlib.contextmanager
    def subscription(self) -> Iterator[asyncio.Queue[str]]:
        self._loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    @property
    def listeners(self) -> int:
        return len(self._queues)


HUB = LiveHub()


def publish_event(event_type: str) -> None:
    topic = TOPICS.get(event_type)
    if topic is not None:
        HUB.publish(topic)


async def topics_of(queue: asyncio.Queue[str]) -> AsyncIterator[set[str]]:
    """Batches of changed topics, at most one per COALESCE_SECONDS, and ticks between."""
    while True:
        try:
            first = await asyncio.wait_for(queue.get(), TICK_SECONDS)
        except TimeoutError:
            yield {"tick"}
            continue
        await asyncio.sleep(COALESCE_SECONDS)
        batch = {first}
        while not queue.empty():
            batch.add(queue.get_nowait())
        yield batch


router = APIRouter(include_in_schema=False)


@router.get("/ui/live")
async def live(request: Request) -> EventSourceResponse:
    await page_user(request)

    async def stream() -> AsyncIterator[dict[str, str]]:
        with HUB.subscription() as queue:
            async for batch in topics_of(queue):
                if await request.is_disconnected():
                    return
                for topic in sorted(batch):
                    yield {"event": topic, "data": topic}

    return EventSourceResponse(stream(), ping=PING_SECONDS)
