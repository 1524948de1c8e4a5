"""Prometheus metrics of one service (DESIGN §11), in a registry of its own.

In embedded mode every service lives in one process, so nothing here touches prometheus_client's
global registry: each `ServiceMetrics` owns its registry and `/metrics` of a service shows only
its figures. The outbox backlog and consumer lag are read when scraped, from callbacks the
runtime sets once it has a relay or consumer; until then those gauges are not exported at all.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

log = structlog.get_logger(__name__)


class ServiceMetrics:
    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        self.request_duration = Histogram(
            "portal_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.events_published = Counter(
            "portal_events_published",
            "Events the outbox relay published to the bus.",
            ["event_type"],
            registry=self.registry,
        )
        self.events_handled = Counter(
            "portal_events_handled",
            "Events the inbox consumer applied.",
            ["event_type"],
            registry=self.registry,
        )
        self.events_dead_lettered = Counter(
            "portal_events_dead_lettered",
            "Events that failed every attempt and were dead-lettered.",
            ["event_type"],
            registry=self.registry,
        )
        self._outbox_backlog: Gauge | None = None
        self._consumer_lag: Gauge | None = None

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.request_duration.labels(method=method, route=route, status=str(status)).observe(
            seconds
        )

    def set_outbox_backlog_source(self, source: Callable[[], int]) -> None:
        """`source` returns how many outbox rows wait to be published; read on every scrape."""
        if self._outbox_backlog is None:
            self._outbox_backlog = Gauge(
                "portal_outbox_backlog",
                "Outbox events not yet published.",
                registry=self.registry,
            )
        self._outbox_backlog.set_function(self._reading("portal_outbox_backlog", source))

    def set_consumer_lag_source(self, source: Callable[[], int]) -> None:
        """`source` returns how many delivered events wait to be handled; read on every scrape."""
        if self._consumer_lag is None:
            self._consumer_lag = Gauge(
                "portal_consumer_lag",
                "Events waiting for this service's consumer.",
                registry=self.registry,
            )
        self._consumer_lag.set_function(self._reading("portal_consumer_lag", source))

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def _reading(self, metric: str, source: Callable[[], int]) -> Callable[[], float]:
        # A failing source (database down) must not break the whole scrape.
        def read() -> float:
            try:
                return float(source())
            except Exception:
                log.warning(
                    "metrics.source_failed", metric=metric, service=self.service, exc_info=True
                )
                return float("nan")

        return read
