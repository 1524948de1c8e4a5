"""The ops dashboard's figures: every service's health, traffic and event flow, gathered here.

`gather_summary(state, user)` asks each service, in parallel and with a short timeout, for
`/healthz`, `/readyz`, `/metrics` and its ops status (`/api/v1/ops/status`, shared/web/ops.py)
through `state.upstreams[<service>]`, the same httpx clients the proxy uses (in memory in
embedded mode, HTTP otherwise); the gateway's own figures are read from its runtime directly. A
service that does not answer is shown as down; nothing here raises for a service's sake.

Request rate and latency come from the latency histogram: the rate from the difference between
this scrape and an earlier one kept in memory (`ScrapeHistory`, per gateway process), the p50/p99
from the buckets' difference over the same window. The first scrape of a service has no window:
it shows totals since the service started and latency over all of them. Probes, `/metrics` and
the ops API are left out of the traffic, or the dashboard would mostly measure itself.

Metrics are separable per service in both modes: each `ServiceMetrics` has its own registry, so
even in embedded mode (one process) a service's `/metrics` holds only its own figures.

`GET /api/ops/summary` answers the same model to a signed-in user allowed `ops.dashboard.read`;
the ops page calls `gather_summary` every few seconds for its live view.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

import httpx
import structlog
from fastapi import APIRouter, Depends, Request
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel
from starlette.datastructures import State

from services.gateway.api import same_site_only, user_permitted
from services.gateway.schemas import UserOut
from shared import context
from shared.auth.permissions import Action
from shared.auth.tokens import issue_service_token
from shared.events.envelope import utc_now
from shared.settings import SERVICES, Settings
from shared.web.app import CORRELATION_ID_HEADER, REQUEST_ID_HEADER
from shared.web.ops import OpsStatus, service_status

log = structlog.get_logger(__name__)

router = APIRouter(tags=["ops"], dependencies=[Depends(same_site_only)])

CALL_TIMEOUT_SECONDS = 2.0
WINDOW_SECONDS = 60.0  # rates are over at most the last minute of scrapes
MIN_WINDOW_SECONDS = 1.0  # a window shorter than this says nothing; use an older scrape
REQUEST_HISTOGRAM = "portal_http_request_duration_seconds"
UNCOUNTED_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
UNCOUNTED_PREFIX = "/api/v1/ops/"
EVENT_COUNTERS = {
    "published": "portal_events_published",
    "handled": "portal_events_handled",
    "dead_lettered": "portal_events_dead_lettered",
}


# -- the model the page renders --------------------------------------------------------------


class ServiceState(StrEnum):
    UP = "up"  # alive and ready
    DEGRADED = "degraded"  # alive, but not ready or some figures missing
    DOWN = "down"  # /healthz did not answer 200


class Traffic(BaseModel):
    requests_total: int  # since the service started (probes and ops calls left out)
    window_seconds: float | None  # None on a service's first scrape: figures are totals
    requests_per_second: float | None
    latency_basis: Literal["window", "since_start"]
    p50_ms: float | None  # None when there were no requests to measure
    p99_ms: float | None


class EventFlow(BaseModel):
    published_total: int
    handled_total: int
    dead_lettered_total: int
    published_per_second: float | None
    handled_per_second: float | None
    dead_lettered_per_second: float | None


class ServiceOps(BaseModel):
    service: str
    state: ServiceState
    healthy: bool
    ready: bool | None  # None when /readyz did not answer at all
    readiness_checks: dict[str, bool]
    traffic: Traffic | None
    events: EventFlow | None
    outbox_backlog: int | None
    outbox_oldest_age_seconds: float | None
    consumer_lag: int | None  # the service's queue; None when it consumes nothing or unknown
    dead_letters_open: int | None
    relay_leader: bool | None
    status: OpsStatus | None  # the service's own ops status, as it answered
    errors: list[str]  # what could not be read, for the page to show beside the figures


class OpsSummary(BaseModel):
    checked_at: datetime
    services: list[ServiceOps]


# -- metrics: parse one scrape, compare two ---------------------------------------------------

Buckets = tuple[tuple[float, float], ...]  # (upper bound, cumulative count), by bound


@dataclass(frozen=True)
class Scrape:
    """The figures of one `/metrics` text that the dashboard uses."""

    at: float  # time.monotonic() when it was taken
    buckets: Buckets
    requests: float
    events: Mapping[str, float]
    outbox_backlog: float | None
    consumer_lag: float | None


def parse_scrape(text: str, at: float) -> Scrape:
    """Read a Prometheus text exposition; the latency buckets are summed over every route
    except probes and the ops API."""
    by_bound: dict[float, float] = {}
    events = dict.fromkeys(EVENT_COUNTERS, 0.0)
    gauges: dict[str, float | None] = {}
    counter_names = {name: key for key, name in EVENT_COUNTERS.items()}
    for family in text_string_to_metric_families(text):
        if family.name == REQUEST_HISTOGRAM:
            for sample in family.samples:
                if sample.name.endswith("_bucket") and counted_route(sample.labels.get("route")):
                    bound = float(sample.labels["le"])
                    by_bound[bound] = by_bound.get(bound, 0.0) + sample.value
        elif family.name in counter_names:
            key = counter_names[family.name]
            events[key] += sum(s.value for s in family.samples if s.name.endswith("_total"))
        elif family.name in ("portal_outbox_backlog", "portal_consumer_lag"):
            value = family.samples[0].value if family.samples else math.nan
            gauges[family.name] = None if math.isnan(value) else value
    buckets = tuple(sorted(by_bound.items()))
    return Scrape(
        at=at,
        buckets=buckets,
        requests=buckets[-1][1] if buckets else 0.0,
        events=events,
        outbox_backlog=gauges.get("portal_outbox_backlog"),
        consumer_lag=gauges.get("portal_consumer_lag"),
    )


def counted_route(route: str | None) -> bool:
    return (
        route is not None
        and route not in UNCOUNTED_ROUTES
        and not route.startswith(UNCOUNTED_PREFIX)
    )


def quantile(q: float, buckets: Buckets) -> float | None:
    """The q-quantile of a histogram's cumulative buckets, interpolated linearly within the
    bucket it falls in (as Prometheus' histogram_quantile); None with no observations. One in
    the +Inf bucket is reported as the highest finite bound."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank and count > lower_count:
            if math.isinf(bound):
                return lower_bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return lower_bound


def bucket_difference(current: Buckets, earlier: Buckets) -> Buckets:
    before = dict(earlier)
    return tuple((bound, max(count - before.get(bound, 0.0), 0.0)) for bound, count in current)


def traffic(current: Scrape, baseline: Scrape | None) -> Traffic:
    """Rate and latency over the window since `baseline`, or totals when there is none."""
    window = current.at - baseline.at if baseline is not None else None
    rate = None
    buckets, basis = current.buckets, "since_start"
    if baseline is not None and window:
        rate = max(current.requests - baseline.requests, 0.0) / window
        moved = bucket_difference(current.buckets, baseline.buckets)
        if moved and moved[-1][1] > 0:
            buckets, basis = moved, "window"
    p50, p99 = quantile(0.5, buckets), quantile(0.99, buckets)
    return Traffic(
        requests_total=int(current.requests),
        window_seconds=round(window, 3) if window is not None else None,
        requests_per_second=_rounded(rate),
        latency_basis="window" if basis == "window" else "since_start",
        p50_ms=_rounded(p50 * 1000 if p50 is not None else None),
        p99_ms=_rounded(p99 * 1000 if p99 is not None else None),
    )


def event_flow(current: Scrape, baseline: Scrape | None) -> EventFlow:
    def per_second(key: str) -> float | None:
        if baseline is None or current.at <= baseline.at:
            return None
        moved = max(current.events[key] - baseline.events[key], 0.0)
        return _rounded(moved / (current.at - baseline.at))

    return EventFlow(
        published_total=int(current.events["published"]),
        handled_total=int(current.events["handled"]),
        dead_lettered_total=int(current.events["dead_lettered"]),
        published_per_second=per_second("published"),
        handled_per_second=per_second("handled"),
        dead_lettered_per_second=per_second("dead_lettered"),
    )


@dataclass
class ScrapeHistory:
    """Recent scrapes per service, in memory, so a rate can be worked out from two of them.

    Several open dashboards scrape side by side; each compares with the oldest scrape of the
    last `WINDOW_SECONDS`, so their windows do not shrink to the gap between two viewers.
    """

    window_seconds: float = WINDOW_SECONDS
    min_window_seconds: float = MIN_WINDOW_SECONDS
    scrapes: dict[str, deque[Scrape]] = field(default_factory=dict)

    def baseline_and_add(self, service: str, scrape: Scrape) -> Scrape | None:
        kept = self.scrapes.setdefault(service, deque())
        while kept and scrape.at - kept[0].at > self.window_seconds:
            kept.popleft()
        if kept and kept[-1].requests > scrape.requests:
            kept.clear()  # the service restarted: its counters began again
        baseline = kept[0] if kept and scrape.at - kept[0].at >= self.min_window_seconds else None
        kept.append(scrape)
        return baseline


def scrape_history(state: State) -> ScrapeHistory:
    history = getattr(state, "ops_scrape_history", None)
    if not isinstance(history, ScrapeHistory):
        history = ScrapeHistory()
        state.ops_scrape_history = history
    return history


# -- gathering ---------------------------------------------------------------------------------


@dataclass
class Answers:
    """What one service answered (or why not), before it becomes a `ServiceOps`."""

    healthy: bool = False
    ready: bool | None = None
    checks: dict[str, bool] = field(default_factory=dict)
    metrics_text: str | None = None
    status: OpsStatus | None = None
    errors: list[str] = field(default_factory=list)


async def gather_summary(state: State, user: UserOut) -> OpsSummary:
    """Every service's health and figures, asked in parallel as `user` (whose right to see
    them the caller has checked). Reusable by the page; never raises for a service."""
    history = scrape_history(state)
    headers = _signed_headers(state, user)
    names = [name for name in SERVICES if name != "gateway"]
    upstreams: Mapping[str, httpx.AsyncClient] = getattr(state, "upstreams", {})
    answers = await asyncio.gather(
        *(_ask_service(upstreams.get(name), name, headers) for name in names),
        _ask_gateway(state),
    )
    at = time.monotonic()
    services = [
        service_ops(name, answer, history, at)
        for name, answer in zip([*names, "gateway"], answers, strict=True)
    ]
    return OpsSummary(checked_at=utc_now(), services=services)


OpsReader = Annotated[UserOut, Depends(user_permitted(Action.OPS_READ))]


@router.get("/api/ops/summary", response_model=OpsSummary)
async def ops_summary(request: Request, user: OpsReader) -> OpsSummary:
    return await gather_summary(request.app.state, user)


def service_ops(name: str, answer: Answers, history: ScrapeHistory, at: float) -> ServiceOps:
    errors = list(answer.errors)
    scrape = None
    if answer.metrics_text is not None:
        try:
            scrape = parse_scrape(answer.metrics_text, at)
        except ValueError as exc:
            errors.append(f"metrics: not readable ({exc})")
    baseline = history.baseline_and_add(name, scrape) if scrape is not None else None
    status = answer.status
    lag = None
    if status is not None and status.queues:
        lag = status.queues[0].lag
    if lag is None and scrape is not None and scrape.consumer_lag is not None:
        lag = int(scrape.consumer_lag)
    backlog = status.outbox.backlog if status is not None else None
    if backlog is None and scrape is not None and scrape.outbox_backlog is not None:
        backlog = int(scrape.outbox_backlog)
    if not answer.healthy:
        state = ServiceState.DOWN
    elif answer.ready and not errors:
        state = ServiceState.UP
    else:
        state = ServiceState.DEGRADED
    return ServiceOps(
        service=name,
        state=state,
        healthy=answer.healthy,
        ready=answer.ready,
        readiness_checks=answer.checks,
        traffic=traffic(scrape, baseline) if scrape is not None else None,
        events=event_flow(scrape, baseline) if scrape is not None else None,
        outbox_backlog=backlog,
        outbox_oldest_age_seconds=status.outbox.oldest_age_seconds if status else None,
        consumer_lag=lag,
        dead_letters_open=status.dead_letters.open if status else None,
        relay_leader=status.relay.leader if status else None,
        status=status,
        errors=errors,
    )


async def _ask_service(
    client: httpx.AsyncClient | None, name: str, headers: Mapping[str, str]
) -> Answers:
    answer = Answers()
    if client is None:
        answer.errors.append(f"no address configured (PORTAL_{name.upper()}_URL)")
        return answer
    health, ready, metrics, status = await asyncio.gather(
        _get(client, "/healthz", {}),
        _get(client, "/readyz", {}),
        _get(client, "/metrics", {}),
        _get(client, "/api/v1/ops/status", headers),
    )
    answer.healthy = isinstance(health, httpx.Response) and health.status_code == 200
    if not answer.healthy:
        answer.errors.append(f"healthz: {_why(health)}")
    _read_readiness(answer, ready)
    if isinstance(metrics, httpx.Response) and metrics.status_code == 200:
        answer.metrics_text = metrics.text
    else:
        answer.errors.append(f"metrics: {_why(metrics)}")
    if isinstance(status, httpx.Response) and status.status_code == 200:
        try:
            answer.status = OpsStatus.model_validate_json(status.content)
        except ValueError:
            answer.errors.append("ops status: not readable")
    else:
        answer.errors.append(f"ops status: {_why(status)}")
    if answer.status is not None:
        answer.errors.extend(f"ops status: {error}" for error in answer.status.errors)
    return answer


async def _ask_gateway(state: State) -> Answers:
    """The gateway's own figures, from its runtime: it is the one answering, so it is alive."""
    answer = Answers(healthy=True)
    runtime = getattr(state, "runtime", None)
    if runtime is None:
        answer.errors.append("gateway runtime not available")
        return answer
    checks = await _within(runtime.readiness())
    if isinstance(checks, dict):
        answer.checks, answer.ready = checks, all(checks.values())
    else:
        answer.errors.append(f"readyz: {checks}")
    rendered = await _within(asyncio.to_thread(runtime.metrics.render))
    if isinstance(rendered, tuple):
        answer.metrics_text = rendered[0].decode()
    else:
        answer.errors.append(f"metrics: {rendered}")
    status = await _within(service_status(runtime))
    if isinstance(status, OpsStatus):
        answer.status = status
        answer.errors.extend(f"ops status: {error}" for error in status.errors)
    else:
        answer.errors.append(f"ops status: {status}")
    return answer


def _read_readiness(answer: Answers, ready: httpx.Response | str) -> None:
    if not isinstance(ready, httpx.Response):
        answer.errors.append(f"readyz: {ready}")
        return
    body: Any = None
    with contextlib.suppress(ValueError):
        body = ready.json()
    checks = body.get("checks") if isinstance(body, dict) else None
    if isinstance(checks, dict):
        answer.checks = {str(name): bool(ok) for name, ok in checks.items()}
    answer.ready = ready.status_code == 200
    if ready.status_code not in (200, 503):
        answer.errors.append(f"readyz: {_why(ready)}")


T = TypeVar("T")


async def _within(call: Awaitable[T]) -> T | str:
    """The call's result, or why there is none (timed out, failed): never raises."""
    try:
        return await asyncio.wait_for(call, CALL_TIMEOUT_SECONDS)
    except TimeoutError:
        return f"no answer within {CALL_TIMEOUT_SECONDS:g}s"
    except Exception as exc:  # a service down is the dashboard's news, not an error here
        log.info("ops.read_failed", error=repr(exc))
        return f"failed ({type(exc).__name__})"


async def _get(
    client: httpx.AsyncClient, path: str, headers: Mapping[str, str]
) -> httpx.Response | str:
    # wait_for as well as httpx's timeout: the in-memory ASGI transport ignores the latter.
    return await _within(client.get(path, headers=dict(headers), timeout=CALL_TIMEOUT_SECONDS))


def _why(answer: httpx.Response | str) -> str:
    if isinstance(answer, str):
        return answer
    return f"answered {answer.status_code}"


def _signed_headers(state: State, user: UserOut) -> dict[str, str]:
    settings: Settings = state.settings
    token = issue_service_token(
        state.token_secret,
        user=user.username,
        roles=user.roles,
        name=user.display_name,
        ttl_seconds=settings.service_token_ttl_seconds,
    )
    headers = {"authorization": f"Bearer {token}", "accept": "application/json"}
    if request_id := context.get_request_id():
        headers[REQUEST_ID_HEADER] = request_id
    if correlation_id := context.get_correlation_id():
        headers[CORRELATION_ID_HEADER] = correlation_id
    return headers


def _rounded(value: float | None, digits: int = 3) -> float | None:
    return round(value, digits) if value is not None else None
