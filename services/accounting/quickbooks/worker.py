"""The delivery worker: queue the entries posted since the last round, claim the due deliveries,
POST each one signed, record what came of it; again every `poll_seconds` (at once while there is
more to do).

The runtime starts `run_webhook_worker(runtime)` with the service. The database holds all of its
state, so several replicas may run it at once (they share the work through row locks) and a
restart loses nothing. Database work runs in threads (`asyncio.to_thread`); the POSTs run on
the event loop, a batch at a time.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog

from services.accounting.quickbooks import domain, service
from services.accounting.quickbooks.domain import DeliveryConfig
from services.accounting.quickbooks.service import Claim, Outcome
from shared.events.envelope import utc_now
from shared.settings import Settings

log = structlog.get_logger(__name__)

# Only the start of a receiver's answer is kept (the log shows 500 characters of it).
READ_LIMIT_BYTES = 4096


def config_from_settings(settings: Settings) -> DeliveryConfig:
    """The delivery figures with the settings' receiver timeout and poll interval."""
    return replace(
        DeliveryConfig(),
        timeout_seconds=settings.webhook_timeout_seconds,
        poll_seconds=settings.webhook_poll_seconds,
    )


async def run_webhook_worker(runtime: Any, config: DeliveryConfig | None = None) -> None:
    """Run until cancelled. `runtime` is the service's `ServiceRuntime`."""
    config = config or config_from_settings(runtime.settings)
    async with httpx.AsyncClient(timeout=config.timeout_seconds) as client:
        while True:
            busy = False
            try:
                busy = await run_once(runtime, client, config)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a busy or unreachable database: try again next round
                log.warning("webhooks.round_failed", error=str(exc), exc_info=exc)
            if not busy:
                await asyncio.sleep(config.poll_seconds)


async def run_once(runtime: Any, client: httpx.AsyncClient, config: DeliveryConfig) -> bool:
    """One round: queue, claim, send, record. True when there may be more to do at once."""
    more_to_queue = await asyncio.to_thread(queue_all, runtime, config)
    claims = await asyncio.to_thread(claim, runtime, config)
    sent = await asyncio.gather(
        *(deliver(runtime, client, c, config) for c in claims), return_exceptions=True
    )
    for claimed, result in zip(claims, sent, strict=True):
        if isinstance(result, BaseException):
            # Not recorded (the database was busy): the claim runs out and it is sent again.
            log.warning(
                "webhooks.record_failed", delivery_id=claimed.delivery_id, error=str(result)
            )
    return more_to_queue or len(claims) == config.batch_size


def queue_all(runtime: Any, config: DeliveryConfig) -> bool:
    """Queue new entries for every subscription that has some, each in its own transaction."""
    with runtime.uow(read_only=True) as uow:
        subscriptions = service.subscriptions_to_queue_for(uow, utc_now(), config)
    more = False
    for subscription_id in subscriptions:
        with runtime.uow() as uow:
            more |= service.queue_new_entries(uow, subscription_id, utc_now(), config)
            uow.commit()
    return more


def claim(runtime: Any, config: DeliveryConfig) -> list[Claim]:
    with runtime.uow(read_only=True) as uow:
        if not service.any_delivery_due(uow, utc_now()):
            return []
    with runtime.uow() as uow:
        claims = service.claim_due_deliveries(uow, utc_now(), config)
        uow.commit()
    return claims


async def deliver(
    runtime: Any, client: httpx.AsyncClient, claimed: Claim, config: DeliveryConfig
) -> None:
    outcome = await post(client, claimed, config)
    status = await asyncio.to_thread(record, runtime, claimed, outcome, config)
    log.info(
        "webhooks.attempt",
        delivery_id=claimed.delivery_id,
        webhook_id=claimed.webhook_id,
        attempt=claimed.attempt_no,
        status_code=outcome.status_code,
        error=outcome.error,
        result=status,
    )


def record(runtime: Any, claimed: Claim, outcome: Outcome, config: DeliveryConfig) -> str | None:
    with runtime.uow() as uow:
        status = service.record_attempt(uow, claimed, outcome, config)
        uow.commit()
    return status


async def post(client: httpx.AsyncClient, claimed: Claim, config: DeliveryConfig) -> Outcome:
    """POST the signed body; the whole exchange is bounded by the timeout, not each read."""
    started = utc_now()
    clock = time.monotonic()
    headers = domain.signed_headers(claimed.secret, claimed.webhook_id, started, claimed.body)
    try:
        async with asyncio.timeout(config.timeout_seconds):
            async with client.stream(
                "POST", claimed.url, content=claimed.body.encode(), headers=headers
            ) as response:
                text = await _start_of(response)
    except (TimeoutError, httpx.TimeoutException):
        return _failed(started, clock, f"no answer within {config.timeout_seconds:g} s")
    except httpx.HTTPError as exc:
        return _failed(started, clock, f"{type(exc).__name__}: {exc}".rstrip(": "))
    finished = started + _elapsed(clock)
    return Outcome(started, finished, status_code=response.status_code, response_text=text)


async def _start_of(response: httpx.Response) -> str:
    """The first READ_LIMIT_BYTES of the answer, decoded as far as it goes."""
    kept = b""
    async for chunk in response.aiter_bytes():
        kept += chunk
        if len(kept) >= READ_LIMIT_BYTES:
            break
    return kept[:READ_LIMIT_BYTES].decode(response.encoding or "utf-8", errors="replace")


def _elapsed(clock: float) -> timedelta:
    return timedelta(seconds=time.monotonic() - clock)


def _failed(started: datetime, clock: float, error: str) -> Outcome:
    return Outcome(started, started + _elapsed(clock), error=error)
