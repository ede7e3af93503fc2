"""Both engines against the same live target: Prometheus (ad-hoc and recorded) and the scraper.

One live Istio-style exporter; a real Prometheus scrapes it every second with meshwatch's
generated rules, and meshwatch's embedded scraper scrapes it every second too. Over the same
windows, the two engines must give the same error ratio and (within scrape jitter and
`increase()` extrapolation) the same request counts — "same numbers, two engines".

Tolerances are in requests, from the intervals, at the exporter's steady RATE (its counters
grow with wall-clock time, so RATE * window is the independent count):

- Prometheus scrapes every S and extrapolates `increase()` from its first and last samples
  in the window to the window's edges. How far those samples are from the edges, and how long
  after its stamp a scrape was rendered, is read back from Prometheus
  (tests.support.sampled.edges: one S per edge when idle, more when a busy machine missed a
  scrape; this assumed two, which is a guess): RATE times those seconds.
- The embedded scraper interpolates between its own scrapes, which is exact for a steady
  rate, except that a scrape is stamped before the exporter renders: each edge may be off by
  the longest `scrape_once` measured in the test (`lag`), plus one request per series for
  the exporter's whole-number counters.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from meshwatch.collectors.prometheus import PrometheusCollector
from meshwatch.collectors.prometheus_http import PrometheusQuerier, RetryPolicy, connect
from meshwatch.collectors.scrape import Scraper, ScrapeTarget
from meshwatch.collectors.scrape_store import ScrapeStore
from meshwatch.model import SLO, Counts, LatencySLI, Matcher, RatioSLI, Selector, Window
from meshwatch.render.rules import rule_files
from tests.support.backfill import (
    CODE_LABEL,
    DURATION,
    REQUESTS,
    SERVICE_LABEL,
    LiveExporter,
    Traffic,
)
from tests.support.binaries import require_binary
from tests.support.prometheus_run import PrometheusProcess, prometheus_config
from tests.support.sampled import edges

pytestmark = pytest.mark.integration

WINDOW = timedelta(seconds=20)
RATE = 400.0
S = 1.0  # Prometheus' scrape interval, and the pause between the embedded scraper's scrapes


def _slos() -> tuple[SLO, SLO]:
    total = Selector(REQUESTS, (Matcher(SERVICE_LABEL, "=", "both"),))
    availability = SLO(
        "both",
        "availability",
        99.0,
        Window.rolling(timedelta(days=30)),
        RatioSLI(total=total, bad=total.with_matchers(Matcher(CODE_LABEL, "=~", "5.."))),
    )
    latency = SLO(
        "both",
        "latency",
        99.0,
        Window.rolling(timedelta(days=30)),
        LatencySLI(DURATION, 100.0, (Matcher(SERVICE_LABEL, "=", "both"),)),
    )
    return availability, latency


def _ratio(value: object) -> float:
    assert isinstance(value, Counts), value
    return value.errors / value.total


def test_prometheus_and_scraper_agree_on_a_live_target(tmp_path: Path) -> None:
    prometheus_bin = require_binary("prometheus", "/usr/bin/prometheus")
    slos = _slos()
    rules = []
    for name, text in rule_files(slos).items():
        rules.append(tmp_path / name)
        rules[-1].write_text(text)
    exporter = LiveExporter([Traffic("both", rps=RATE, error_ratio=0.04)]).start()
    store = ScrapeStore()
    for slo in slos:
        store.track_sli(slo.sli)
    prom = PrometheusProcess(
        prometheus_bin,
        tmp_path,
        config=prometheus_config(
            scrape_targets=[exporter.target], rule_files=rules, scrape_interval=f"{S:g}s"
        ),
    ).start()
    try:
        with httpx.Client() as client:
            scraper = Scraper(store, [ScrapeTarget(f"http://{exporter.target}/metrics")], client)
            deadline = time.monotonic() + WINDOW.total_seconds() + 8
            lag = 0.0
            while time.monotonic() < deadline:
                started = time.monotonic()
                scraper.scrape_once(datetime.now(UTC))
                lag = max(lag, time.monotonic() - started)
                time.sleep(S)
        now = datetime.now(UTC) - timedelta(seconds=2)  # both have scraped past `now`
        collector = PrometheusCollector(
            PrometheusQuerier(connect(prom.url), policy=RetryPolicy(timeout=10.0))
        )
        raw = f'{{__name__=~"{REQUESTS}|{DURATION}_count",{SERVICE_LABEL}="both"}}'
        seen = edges(prom, raw, WINDOW.total_seconds(), now.timestamp(), job="live")
        for slo in slos:
            from_prometheus = collector.counts(slo.sli, [WINDOW], now)[WINDOW]
            from_scraper = store.counts(slo.sli, [WINDOW], now)[WINDOW]
            assert isinstance(from_prometheus, Counts) and isinstance(from_scraper, Counts)
            expected = 0.04 if isinstance(slo.sli, RatioSLI) else 0.05  # 95 % under 100 ms
            assert _ratio(from_prometheus) == pytest.approx(expected, abs=0.01), slo.id
            assert _ratio(from_scraper) == pytest.approx(expected, abs=0.01), slo.id
            served = RATE * WINDOW.total_seconds()
            prometheus_slack = RATE * seen.unsampled_s + 2  # two series, whole numbers
            scraper_slack = RATE * 2 * lag + 2  # two series: 2xx and 5xx (or _count)
            assert from_scraper.total == pytest.approx(served, abs=scraper_slack), slo.id
            assert from_prometheus.total == pytest.approx(served, abs=prometheus_slack), slo.id
            assert from_prometheus.total == pytest.approx(
                from_scraper.total, abs=prometheus_slack + scraper_slack
            ), slo.id
    finally:
        prom.stop()
        exporter.stop()
