"""The Prometheus collector against a real Prometheus holding 30 days of backfilled history.

One Prometheus per test session (tests.support.backfilled, shared with
test_report_prometheus.py): its data directory is pre-populated with 24 h blocks made by
`promtool tsdb create-blocks-from openmetrics --max-block-duration=24h` (retention 40 d), and
it scrapes a live Istio-style exporter every second.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from meshwatch.collectors.base import NO_SERIES, NO_TRAFFIC
from meshwatch.collectors.prometheus import PrometheusCollector
from meshwatch.collectors.prometheus_http import PrometheusQuerier, RetryPolicy, connect
from meshwatch.errors import CollectorError, NoDataError
from meshwatch.model import Counts, LatencySLI, Matcher, RatioSLI, Selector
from tests.support.backfill import (
    CODE_LABEL,
    DURATION,
    REQUESTS,
    SERVICE_LABEL,
)
from tests.support.backfilled import Backfilled
from tests.support.binaries import require_binary
from tests.support.prometheus_run import PrometheusProcess, free_port

pytestmark = pytest.mark.integration


Stack = Backfilled


@pytest.fixture
def stack(backfilled: Backfilled) -> Backfilled:
    """The session's backfilled Prometheus (tests/integration/conftest.py)."""
    return backfilled


def _collector(url: str, **policy: float) -> PrometheusCollector:
    querier = PrometheusQuerier(connect(url), policy=RetryPolicy(**policy))  # type: ignore[arg-type]
    return PrometheusCollector(querier)


def _availability(service: str) -> RatioSLI:
    total = Selector(REQUESTS, (Matcher(SERVICE_LABEL, "=", service),))
    return RatioSLI(total=total, bad=total.with_matchers(Matcher(CODE_LABEL, "=~", "5..")))


def _ratio(counts: object) -> float:
    assert isinstance(counts, Counts), counts
    return counts.errors / counts.total


def test_backfilled_30_days_are_request_weighted(stack: Stack) -> None:
    collector = _collector(stack.prometheus.url)
    window = timedelta(days=30)

    counts = collector.counts(_availability("checkout"), [window], stack.end)[window]

    errors, total = stack.history.counts("checkout", stack.end - window, stack.end)
    assert isinstance(counts, Counts)
    assert counts.total == pytest.approx(total, rel=1e-3)
    assert counts.errors == pytest.approx(errors, rel=1e-3)
    # 0.5 % for 30 days plus 2 h at 10 %: request-weighted, not an average of ratios
    assert _ratio(counts) == pytest.approx(0.005 + 2 / 720 * 0.095, rel=1e-3)


def test_every_window_of_a_call_is_one_query(stack: Stack) -> None:
    collector = _collector(stack.prometheus.url)
    windows = [timedelta(minutes=30), timedelta(hours=1), timedelta(days=1), timedelta(days=30)]

    result = collector.counts(_availability("cart"), windows, stack.end)

    assert collector.querier.queries == 1
    for window in windows:
        assert _ratio(result[window]) == pytest.approx(0.01, rel=1e-3)


def test_past_time_sees_the_incident(stack: Stack) -> None:
    incident = stack.history.traffic[0].incidents[0]
    at = incident.start + incident.duration
    window = timedelta(hours=1)

    counts = _collector(stack.prometheus.url).counts(_availability("checkout"), [window], at)

    assert _ratio(counts[window]) == pytest.approx(0.10, rel=1e-2)


@pytest.mark.parametrize(
    ("service", "reason"),
    [
        pytest.param("idle", NO_TRAFFIC, id="series-without-traffic"),
        pytest.param("nonexistent", NO_SERIES, id="no-series"),
    ],
)
def test_no_data_shapes_are_told_apart(stack: Stack, service: str, reason: str) -> None:
    window = timedelta(days=1)

    value = _collector(stack.prometheus.url).counts(_availability(service), [window], stack.end)

    assert isinstance(value[window], NoDataError)
    assert value[window].reason == reason  # type: ignore[union-attr]


def test_latency_sli_and_buckets_from_the_histogram(stack: Stack) -> None:
    sli = LatencySLI(DURATION, 250.0, (Matcher(SERVICE_LABEL, "=", "checkout"),))
    window = timedelta(days=7)
    collector = _collector(stack.prometheus.url)

    counts = collector.counts(sli, [window], stack.end)[window]
    buckets = collector.buckets(sli, [window], stack.end)[window]

    assert _ratio(counts) == pytest.approx(0.01, rel=1e-2)  # 99 % at or under 250 ms
    assert isinstance(buckets, dict)
    assert buckets[250.0] / buckets[math.inf] == pytest.approx(0.99, rel=1e-3)
    assert sorted(buckets) == [25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, math.inf]


def test_live_exporter_is_scraped(stack: Stack) -> None:
    collector = _collector(stack.prometheus.url)
    window = timedelta(seconds=30)
    deadline = time.monotonic() + 30
    value: object = None
    while time.monotonic() < deadline:
        value = collector.counts(_availability("live"), [window], datetime.now(UTC))[window]
        if isinstance(value, Counts) and value.total > 1000:
            break
        time.sleep(0.5)

    assert _ratio(value) == pytest.approx(0.02, abs=0.005)


def test_prometheus_down_is_a_collector_error_after_retries() -> None:
    sleeps: list[float] = []
    querier = PrometheusQuerier(
        connect(f"http://127.0.0.1:{free_port()}"),
        policy=RetryPolicy(attempts=3, timeout=1.0),
        sleep=sleeps.append,
    )

    with pytest.raises(CollectorError, match="unavailable after 3 attempts"):
        PrometheusCollector(querier).counts(
            _availability("checkout"), [timedelta(hours=1)], datetime.now(UTC)
        )
    assert querier.queries == 3
    assert len(sleeps) == 2


def test_unknown_prometheus_answer_path(tmp_path: Path) -> None:
    """A bad query is rejected at once (HTTP 400), without retrying."""
    prometheus_bin = require_binary("prometheus", "/usr/bin/prometheus")
    with PrometheusProcess(prometheus_bin, tmp_path) as prom:
        querier = PrometheusQuerier(connect(prom.url), sleep=lambda _: None)
        with pytest.raises(CollectorError, match="rejected"):
            querier.instant("sum(rate(x[5m])")
        assert querier.queries == 1
