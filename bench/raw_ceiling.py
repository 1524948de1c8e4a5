"""The raw ceiling of the bus on this machine: aio-pika alone, no database, no service code.

Persistent messages the size of a real `MaterialReceived` envelope (same body and properties the
bus sends) are published with publisher confirms, in windows like the outbox relay's batches,
through a durable topic exchange into one quorum queue, and consumed at the same time on a second
connection with manual acks, one ack per message (as the bus does) and the bus's prefetch. The
figure is messages per second from the first publish to the last ack; each message is one publish
and one delivery.

    .venv/bin/python bench/raw_ceiling.py [--messages 20000] [--window 500] [--prefetch 200]

Everything is declared under a prefix of its own and deleted afterwards (the broker is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from shared.bus.rabbitmq import QUORUM, RabbitMQBus
from shared.events.catalogue import MaterialReceived, validate_payload
from shared.events.envelope import Envelope

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


@dataclass
class CeilingResult:
    messages: int
    body_bytes: int
    seconds: float
    publish_seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    @property
    def publish_rate(self) -> float:
        return self.messages / self.publish_seconds


def sample_envelope() -> Envelope:
    """A MaterialReceived envelope as purchasing writes it (realistic field lengths)."""
    now = datetime.now(UTC)
    payload = MaterialReceived(
        po_number="PO-2026-00017",
        line_no=137,
        receipt_id="RCV-2026-00342",
        sku="BENCH-0042",
        qty=Decimal("5"),
        unit_cost=Decimal("1.2500"),
        value=Decimal("6.25"),
        lot=None,
        to_status="approved",
        vendor_code="BENCHVEND",
        received_at=now,
    )
    return Envelope(
        type="MaterialReceived",
        occurred_at=now,
        producer="purchasing",
        correlation_id=uuid.uuid4().hex,
        key="PO-2026-00017",
        sequence=123,
        payload=validate_payload("MaterialReceived", payload),
    )


def sample_message() -> aio_pika.Message:
    """The message the bus would send for the sample envelope (body, properties, headers)."""
    return RabbitMQBus(DEFAULT_AMQP_URL)._message(sample_envelope())


async def measure(
    amqp_url: str,
    prefix: str,
    *,
    messages: int = 20000,
    window: int = 500,
    prefetch: int = 200,
) -> CeilingResult:
    template = sample_message()
    exchange_name = f"{prefix}ceiling.events"
    queue_name = f"{prefix}ceiling.queue"
    publisher = await aio_pika.connect(amqp_url)
    consumer = await aio_pika.connect(amqp_url)
    try:
        pub_channel = await publisher.channel(publisher_confirms=True)
        exchange = await pub_channel.declare_exchange(
            exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue_setup = await pub_channel.declare_queue(
            queue_name, durable=True, arguments=dict(QUORUM)
        )
        await queue_setup.bind(exchange, routing_key="MaterialReceived")

        sub_channel = await consumer.channel()
        await sub_channel.set_qos(prefetch_count=prefetch)
        queue = await sub_channel.declare_queue(queue_name, durable=True, arguments=dict(QUORUM))
        received = 0
        done = asyncio.Event()
        finished_at = 0.0

        async def on_message(message: AbstractIncomingMessage) -> None:
            nonlocal received, finished_at
            await message.ack()
            received += 1
            if received >= messages:
                finished_at = time.perf_counter()
                done.set()

        tag = await queue.consume(on_message, no_ack=False)

        def message(n: int) -> aio_pika.Message:
            return aio_pika.Message(
                body=template.body,
                content_type=template.content_type,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=f"{n:08d}-{uuid.uuid4().hex[:27]}",
                type=template.type,
                correlation_id=template.correlation_id,
                app_id=template.app_id,
                timestamp=template.timestamp,
                headers=template.headers,
            )

        started = time.perf_counter()
        sent = 0
        while sent < messages:
            size = min(window, messages - sent)
            confirms = await asyncio.gather(
                *(exchange.publish(message(sent + i), "MaterialReceived") for i in range(size))
            )
            if len(confirms) != size:
                raise RuntimeError("missing publisher confirms")
            sent += size
        published_at = time.perf_counter()
        await asyncio.wait_for(done.wait(), timeout=120)
        await queue.cancel(tag)
        return CeilingResult(
            messages=messages,
            body_bytes=len(template.body),
            seconds=finished_at - started,
            publish_seconds=published_at - started,
        )
    finally:
        try:
            cleanup = await publisher.channel()
            await cleanup.queue_delete(queue_name)
            await cleanup.exchange_delete(exchange_name)
        finally:
            await consumer.close()
            await publisher.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--amqp-url", default=DEFAULT_AMQP_URL)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--window", type=int, default=500, help="publishes per confirm wait")
    parser.add_argument("--prefetch", type=int, default=200)
    args = parser.parse_args()
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    result = asyncio.run(
        measure(
            args.amqp_url,
            prefix,
            messages=args.messages,
            window=args.window,
            prefetch=args.prefetch,
        )
    )
    print(
        f"raw ceiling: {result.rate:,.0f} msg/s ({result.messages} persistent messages of "
        f"{result.body_bytes} B, confirms every {args.window}, quorum queue, manual acks; "
        f"publishing alone {result.publish_rate:,.0f} msg/s)"
    )


if __name__ == "__main__":
    main()
