"""The machine signal worker: subscribe to every line's state topic on the MQTT broker and apply
each message (`signals.service.apply_signal`), for as long as the service runs.

The runtime starts `run_machine_signals(runtime)` with the downtime service when
PORTAL_MQTT_URL is set; unset, it returns at once. It subscribes to
`<PORTAL_MQTT_TOPIC_PREFIX>/+/+/state` with QoS 1 and, when the broker goes away or cannot be
reached, logs it and connects again after a pause that doubles up to `RETRY_MAX_SECONDS`.
A message that cannot be read (topic, payload, naive time) or names a line that is not there is
logged as a warning with its topic and dropped; nothing a machine sends stops the worker. Should
handling one message fail some other way (a bug), that is logged as an error with its topic,
counted (`failed`) and the message dropped: the loop goes on, since leaving it would drop the
connection and, with it, the messages the broker has already handed over.

Messages are applied one at a time, in the order they arrive, each in its own transaction in a
thread (`asyncio.to_thread`: the unit of work is synchronous SQLAlchemy). A database that fails
is tried `DB_ATTEMPTS` times, then the message is logged as an error and dropped: the broker has
had its acknowledgement already (paho acknowledges on receipt), and the line's next message
puts its state right.

Several replicas of the service each subscribe and each hear every message. That is safe:
`apply_signal` takes the line's row lock and compares with the last message applied, so the
second replica to apply a message finds it already applied (`ignored_repeat`) and changes
nothing. The work is done twice, which a plant's few state changes a minute do not notice.
"""

from __future__ import annotations

import asyncio
import ssl
import uuid
import weakref
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomqtt
import structlog
from prometheus_client import Counter, Gauge

from services.downtime.signals.schemas import (
    BadSignal,
    MachineSignal,
    SignalTopic,
    parse_signal,
    parse_topic,
    topic_filter,
)
from services.downtime.signals.service import DROPPED, Outcome, apply_signal
from shared import context

log = structlog.get_logger(__name__)

RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 30.0
# How long connecting (and subscribing) may take: a broker that takes the connection but never
# answers it would otherwise hold the worker.
CONNECT_TIMEOUT_SECONDS = 10.0
DB_ATTEMPTS = 4
DB_RETRY_SECONDS = 0.5
# Seconds between pings: a broker that stops answering is noticed within one and a half.
KEEPALIVE_SECONDS = 30
# How much of a bad payload the warning shows.
EXCERPT_CHARS = 200


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool

    @property
    def address(self) -> str:
        """Where it is, for the logs (never the password)."""
        return f"{self.host}:{self.port}"


def broker_of(url: str) -> Broker:
    """mqtt://user:password@host:1883 or mqtts://… (TLS, port 8883 unless given)."""
    parts = urlsplit(url)
    tls = parts.scheme.lower() == "mqtts"
    return Broker(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


async def run_machine_signals(
    runtime: Any,
    *,
    retry_first_seconds: float = RETRY_FIRST_SECONDS,
    retry_max_seconds: float = RETRY_MAX_SECONDS,
    connect_timeout_seconds: float = CONNECT_TIMEOUT_SECONDS,
) -> None:
    """Run until cancelled. `runtime` is the downtime service's `ServiceRuntime`."""
    settings = runtime.settings
    if settings.mqtt_url is None:
        return
    broker = broker_of(settings.mqtt_url)
    prefix: str = settings.mqtt_topic_prefix
    figures = _figures(runtime)
    delay = retry_first_seconds
    while True:
        try:
            client = _client(broker, settings.mqtt_client_id, connect_timeout_seconds)
            async with client:
                await client.subscribe(topic_filter(prefix), qos=1)
                figures.connected.set(1)
                log.info(
                    "machine_signals.listening", broker=broker.address, topic=topic_filter(prefix)
                )
                delay = retry_first_seconds
                async for message in client.messages:
                    await take(runtime, message, prefix)
        except aiomqtt.MqttError as exc:
            log.warning(
                "machine_signals.broker_lost",
                broker=broker.address,
                error=str(exc),
                retry_in_seconds=delay,
            )
        except Exception as exc:  # whatever it was, the plant's stops still need recording
            log.error(
                "machine_signals.failed",
                broker=broker.address,
                error=str(exc),
                retry_in_seconds=delay,
                exc_info=exc,
            )
        finally:
            figures.connected.set(0)
        await asyncio.sleep(delay)
        delay = min(delay * 2, retry_max_seconds)


def _client(broker: Broker, client_id: str | None, timeout: float) -> aiomqtt.Client:
    return aiomqtt.Client(
        broker.host,
        broker.port,
        username=broker.username,
        password=broker.password,
        identifier=client_id,
        # A client id of our own: the broker keeps the session (and QoS 1 messages) across
        # reconnects; without one, every connection starts clean under a random id.
        clean_session=client_id is None,
        keepalive=KEEPALIVE_SECONDS,
        timeout=timeout,
        tls_context=ssl.create_default_context() if broker.tls else None,
    )


async def take(runtime: Any, message: aiomqtt.Message, prefix: str) -> Outcome | None:
    """Read and apply one message; what came of it (None: not read, not recorded, or failed).
    Never raises (but for cancellation): one message cannot end the worker's loop."""
    try:
        return await _take(runtime, message, prefix)
    except Exception as exc:  # a bug: this message is lost, the next ones are not
        topic = getattr(getattr(message, "topic", None), "value", None)
        log.error("machine_signals.message_failed", topic=topic, error=str(exc), exc_info=exc)
        _figures(runtime).messages.labels(outcome="failed").inc()
        return None


async def _take(runtime: Any, message: aiomqtt.Message, prefix: str) -> Outcome | None:
    figures = _figures(runtime)
    topic = message.topic.value
    payload = _payload_bytes(message.payload)
    try:
        where = parse_topic(topic, prefix)
        signal = parse_signal(payload)
    except BadSignal as exc:
        figures.messages.labels(outcome="bad_message").inc()
        log.warning(
            "machine_signals.bad_message",
            topic=topic,
            error=str(exc),
            payload=payload[:EXCERPT_CHARS].decode("utf-8", errors="replace"),
        )
        return None
    # Each message starts a chain of its own: its DowntimeRecorded carries this correlation id,
    # and so does every log line about it.
    request = f"mqtt-{uuid.uuid4()}"
    with context.request_scope(request, request):
        outcome = await _apply(runtime, topic, where, signal)
        figures.messages.labels(outcome=outcome or "not_recorded").inc()
        if outcome is not None:
            report = log.warning if outcome in DROPPED else log.info
            report(
                "machine_signals.message",
                topic=topic,
                state=signal.state,
                at=signal.at.isoformat(),
                outcome=outcome,
            )
    return outcome


async def _apply(
    runtime: Any, topic: str, where: SignalTopic, signal: MachineSignal
) -> Outcome | None:
    for attempt in range(1, DB_ATTEMPTS + 1):
        try:
            return await asyncio.to_thread(record_signal, runtime, where, signal)
        except Exception as exc:  # a busy or unreachable database: again, a few times
            if attempt == DB_ATTEMPTS:
                log.error(
                    "machine_signals.not_recorded",
                    topic=topic,
                    state=signal.state,
                    at=signal.at.isoformat(),
                    attempts=attempt,
                    error=str(exc),
                    exc_info=exc,
                )
                return None
            log.warning("machine_signals.retry", topic=topic, attempt=attempt, error=str(exc))
            await asyncio.sleep(DB_RETRY_SECONDS * 2 ** (attempt - 1))
    return None


def record_signal(runtime: Any, where: SignalTopic, signal: MachineSignal) -> Outcome:
    """One message in one transaction."""
    with runtime.uow() as uow:
        outcome = apply_signal(uow, where.facility_code, where.line_code, signal.state, signal.at)
        uow.commit()
    return outcome


def _payload_bytes(payload: Any) -> bytes:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    return b"" if payload is None else str(payload).encode()


# --- figures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    messages: Counter
    connected: Gauge


_FIGURES: weakref.WeakKeyDictionary[Any, Figures] = weakref.WeakKeyDictionary()


def _figures(runtime: Any) -> Figures:
    """The worker's metrics in the service's registry (made once per runtime): messages by
    outcome, and whether the broker is connected."""
    metrics = runtime.metrics
    if metrics not in _FIGURES:
        _FIGURES[metrics] = Figures(
            messages=Counter(
                "portal_machine_signals",
                "MQTT machine state messages, by what came of them.",
                ["outcome"],
                registry=metrics.registry,
            ),
            connected=Gauge(
                "portal_machine_signals_connected",
                "1 while the machine signal worker is connected to the MQTT broker.",
                registry=metrics.registry,
            ),
        )
    return _FIGURES[metrics]
