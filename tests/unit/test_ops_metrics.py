"""The ops dashboard's arithmetic: a service's /metrics read into rates and percentiles."""

from __future__ import annotations

import math

import pytest

from services.gateway.ops import (
    Scrape,
    ScrapeHistory,
    bucket_difference,
    event_flow,
    parse_scrape,
    quantile,
    traffic,
)
from shared.web.metrics import ServiceMetrics


def busy_service() -> ServiceMetrics:
    metrics = ServiceMetrics("inventory")
    for seconds in (0.004, 0.004, 0.02, 0.02, 0.02, 0.2, 0.2, 0.2, 0.2, 3.0):
        metrics.observe_request("GET", "/api/v1/items", 200, seconds)
    metrics.observe_request("GET", "/healthz", 200, 0.001)
    metrics.observe_request("GET", "/metrics", 200, 0.001)
    metrics.observe_request("GET", "/api/v1/ops/status", 200, 0.001)
    metrics.events_published.labels(event_type="StockChanged").inc(5)
    metrics.events_published.labels(event_type="ItemUpserted").inc(2)
    metrics.events_handled.labels(event_type="MaterialReceived").inc(4)
    metrics.events_dead_lettered.labels(event_type="MaterialReceived").inc()
    metrics.set_outbox_backlog_source(lambda: 3)
    return metrics


def test_a_scrape_counts_requests_without_probes_and_sums_events_of_every_type() -> None:
    scrape = parse_scrape(busy_service().render()[0].decode(), at=100.0)

    assert scrape.requests == 10
    assert dict(scrape.events) == {"published": 7, "handled": 4, "dead_lettered": 1}
    assert scrape.outbox_backlog == 3
    assert scrape.consumer_lag is None  # not exported until the consumer runs
    assert scrape.buckets[-1] == (math.inf, 10)


def test_a_failing_gauge_source_reads_as_unknown_not_as_a_number() -> None:
    metrics = ServiceMetrics("inventory")

    def broken() -> int:
        raise RuntimeError("database down")

    metrics.set_consumer_lag_source(broken)

    assert parse_scrape(metrics.render()[0].decode(), at=0.0).consumer_lag is None


def test_percentiles_interpolate_within_the_bucket_they_fall_in() -> None:
    buckets = ((0.1, 50.0), (0.2, 90.0), (0.5, 100.0), (math.inf, 100.0))

    assert quantile(0.5, buckets) == pytest.approx(0.1)
    assert quantile(0.7, buckets) == pytest.approx(0.15)  # 20 of the 40 between 0.1 and 0.2
    assert quantile(0.99, buckets) == pytest.approx(0.47)
    assert quantile(0.25, buckets) == pytest.approx(0.05)  # from 0 up to the first bound


def test_a_percentile_beyond_the_last_bound_is_that_bound_and_none_without_requests() -> None:
    assert quantile(0.99, ((1.0, 1.0), (math.inf, 10.0))) == 1.0
    assert quantile(0.5, ((1.0, 0.0), (math.inf, 0.0))) is None
    assert quantile(0.5, ()) is None


def test_the_first_scrape_shows_totals_and_latency_since_start() -> None:
    metrics = busy_service()
    first = traffic(parse_scrape(metrics.render()[0].decode(), at=10.0), None)

    assert first.requests_total == 10
    assert first.requests_per_second is None and first.window_seconds is None
    assert first.latency_basis == "since_start"
    # Cumulative: 2 by 5 ms, 5 by 25 ms, 9 by 250 ms, 10 by 5 s. The 5th of 10 is the last of
    # the three in (10, 25] ms; the 9.9th is 0.9 of the way through the one in (2.5, 5] s.
    assert first.p50_ms == pytest.approx(25.0)
    assert first.p99_ms == pytest.approx(4750.0)


def test_a_later_scrape_gives_the_rate_and_the_latency_of_the_window_only() -> None:
    metrics = busy_service()
    earlier = parse_scrape(metrics.render()[0].decode(), at=10.0)
    for _ in range(20):
        metrics.observe_request("POST", "/api/v1/items", 201, 0.008)
    later = parse_scrape(metrics.render()[0].decode(), at=20.0)

    figures = traffic(later, earlier)

    assert figures.requests_total == 30
    assert figures.window_seconds == 10.0
    assert figures.requests_per_second == 2.0
    assert figures.latency_basis == "window"
    assert 5.0 < (figures.p50_ms or 0) <= 10.0 and 5.0 < (figures.p99_ms or 0) <= 10.0


def test_a_quiet_window_has_no_rate_but_keeps_the_latency_since_start() -> None:
    scrape = parse_scrape(busy_service().render()[0].decode(), at=10.0)
    again = parse_scrape(busy_service().render()[0].decode(), at=15.0)

    figures = traffic(again, scrape)

    assert figures.requests_per_second == 0.0
    assert figures.latency_basis == "since_start"
    assert figures.p50_ms is not None


def test_event_rates_come_from_the_difference_of_two_scrapes() -> None:
    metrics = busy_service()
    earlier = parse_scrape(metrics.render()[0].decode(), at=0.0)
    metrics.events_handled.labels(event_type="MaterialReceived").inc(8)
    later = parse_scrape(metrics.render()[0].decode(), at=4.0)

    flow = event_flow(later, earlier)

    assert (flow.published_total, flow.handled_total, flow.dead_lettered_total) == (7, 12, 1)
    assert flow.handled_per_second == 2.0
    assert flow.published_per_second == 0.0
    assert event_flow(later, None).handled_per_second is None


def test_the_history_compares_with_the_oldest_scrape_of_the_window() -> None:
    metrics = busy_service()
    history = ScrapeHistory(window_seconds=60.0, min_window_seconds=1.0)

    def scrape(at: float) -> Scrape:
        return parse_scrape(metrics.render()[0].decode(), at)

    first = scrape(0.0)
    assert history.baseline_and_add("inventory", first) is None  # the first: totals
    assert history.baseline_and_add("inventory", scrape(0.5)) is None  # too soon to tell
    assert history.baseline_and_add("inventory", scrape(5.0)) is first  # a second viewer...
    assert history.baseline_and_add("inventory", scrape(5.2)) is first  # ...shares the window
    baseline = history.baseline_and_add("inventory", scrape(62.0))
    assert baseline is not None and baseline.at == 5.0  # those of 0 and 0.5 s aged out


def test_a_restarted_service_starts_its_window_again() -> None:
    history = ScrapeHistory()
    busy = parse_scrape(busy_service().render()[0].decode(), at=0.0)
    restarted = parse_scrape(ServiceMetrics("inventory").render()[0].decode(), at=10.0)

    history.baseline_and_add("inventory", busy)

    assert history.baseline_and_add("inventory", restarted) is None


def test_bucket_difference_never_goes_below_zero() -> None:
    assert bucket_difference(((1.0, 3.0), (math.inf, 4.0)), ((1.0, 5.0), (math.inf, 5.0))) == (
        (1.0, 0.0),
        (math.inf, 0.0),
    )
