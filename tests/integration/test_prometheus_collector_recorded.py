"""Recorded mode against a real Prometheus running the rules meshwatch generates.

A live Istio-style exporter, scraped every second; the rules of three SLOs from
`meshwatch.render.rules` evaluated every second. One recorded query (plus one grouped batch
for what rules do not record: latency buckets, windows of SLOs without rules) must give the
same counts as the ad-hoc PromQL for the same windows, tell "no traffic" apart, and fall back
to PromQL for an SLO whose rules are not loaded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from meshwatch.collectors.base import NO_SERIES, NO_TRAFFIC, Measured
from meshwatch.collectors.prometheus import PrometheusCollector
from meshwatch.collectors.prometheus_http import PrometheusQuerier, RetryPolicy, connect
from meshwatch.engine.plan import plan_for
from meshwatch.errors import NoDataError
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
from tests.support.sampled import edges, evaluated_at

pytestmark = pytest.mark.integration

FIVE, THIRTY = timedelta(minutes=5), timedelta(minutes=30)
SCRAPE_S = 1.0  # Prometheus' scrape interval of the exporter
EVAL_S = 1.0  # its rule evaluation interval
WEB_RPS = 300.0  # the `web` service's traffic (its counters grow with wall-clock time)


def _availability(service: str) -> SLO:
    total = Selector(REQUESTS, (Matcher(SERVICE_LABEL, "=", service),))
    sli = RatioSLI(total=total, bad=total.with_matchers(Matcher(CODE_LABEL, "=~", "5..")))
    return SLO(service, "availability", 99.0, Window.rolling(timedelta(days=30)), sli)


def _latency(service: str) -> SLO:
    sli = LatencySLI(DURATION, 250.0, (Matcher(SERVICE_LABEL, "=", service),))
    return SLO(service, "latency", 99.0, Window.rolling(timedelta(days=30)), sli)


@dataclass(frozen=True)
class Recorded:
    collector: PrometheusCollector
    live: SLO
    idle: SLO
    latency: SLO
    unruled: SLO
    prom: PrometheusProcess


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    prometheus_bin = require_binary("prometheus", "/usr/bin/prometheus")
    workdir = tmp_path_factory.mktemp("prometheus-recorded")
    live, idle, latency = _availability("web"), _availability("idle"), _latency("web")
    unruled = _availability("api")  # traffic, but its rules are not loaded
    paths = []
    for name, text in rule_files([live, idle, latency]).items():
        paths.append(workdir / name)
        paths[-1].write_text(text)
    exporter = LiveExporter(
        [
            Traffic("web", rps=WEB_RPS, error_ratio=0.03),
            Traffic("idle", rps=0.0, error_ratio=0.0),
            Traffic("api", rps=100.0, error_ratio=0.1),
        ]
    ).start()
    prom = PrometheusProcess(
        prometheus_bin,
        workdir,
        config=prometheus_config(
            scrape_targets=[exporter.target],
            rule_files=paths,
            scrape_interval=f"{SCRAPE_S:g}s",
            evaluation_interval=f"{EVAL_S:g}s",
        ),
    ).start()
    querier = PrometheusQuerier(connect(prom.url), policy=RetryPolicy(timeout=10.0))
    collector = PrometheusCollector(querier, max_age=timedelta(seconds=30))
    try:
        _wait_for_traffic(collector, live)
        yield Recorded(collector, live, idle, latency, unruled, prom)
    finally:
        prom.stop()
        exporter.stop()


def _wait_for_traffic(collector: PrometheusCollector, slo: SLO) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        key = (slo.service, slo.name)
        value = collector.recorded(datetime.now(UTC)).lookup(key, FIVE)
        if isinstance(value, Counts) and value.total > 3000:
            return
        time.sleep(0.5)
    pytest.fail("recorded series did not appear within 60 s")


def _measure(rec: Recorded, *slos: SLO) -> tuple[datetime, dict[str, Measured]]:
    now = datetime.now(UTC)
    slos = slos or (rec.live, rec.idle, rec.latency, rec.unruled)
    return now, dict(rec.collector.measure([plan_for(slo, now) for slo in slos], now))


def test_recorded_slos_cost_one_query_latency_buckets_one_more(recorded: Recorded) -> None:
    _measure(recorded)  # the first cycle also finds where each SLO's recorded data begins
    before = recorded.collector.querier.queries

    _, found = _measure(recorded, recorded.live, recorded.idle, recorded.latency)

    # the long windows (2h..30d) are recorded every 5 m, so during the first minutes they
    # come in the same grouped batch as the latency buckets: 2 queries either way
    assert recorded.collector.querier.queries - before <= 2
    live = found[recorded.live.id].counts[FIVE]
    assert isinstance(live, Counts)
    assert live.errors / live.total == pytest.approx(0.03, abs=0.01)
    latency = found[recorded.latency.id].counts[FIVE]
    assert isinstance(latency, Counts)
    assert latency.errors / latency.total == pytest.approx(0.01, abs=0.005)
    buckets = found[recorded.latency.id].buckets[FIVE]
    assert isinstance(buckets, dict) and buckets[250.0] / buckets[float("inf")] == pytest.approx(
        0.99, abs=0.005
    )
    assert {"5m", "30m"} <= recorded.collector.recorded(datetime.now(UTC)).windows()


def test_recorded_counts_match_ad_hoc_promql(recorded: Recorded) -> None:
    now, found = _measure(recorded, recorded.live)
    adhoc = recorded.collector.counts(recorded.live.sli, [FIVE], now)[FIVE]
    from_rules = found[recorded.live.id].counts[FIVE]

    assert isinstance(adhoc, Counts) and isinstance(from_rules, Counts)
    # How far the two may be apart, in requests, is a matter of time, not of a share of the
    # total (the series began seconds ago, so a 5 m increase() is young and small), and the
    # times are read back from Prometheus rather than assumed (one EVAL_S, one SCRAPE_S; a
    # busy Prometheus misses evaluations and scrapes, and this failed at two of each):
    # - the recording is the rule's last evaluation at or before `now` (`lag` earlier),
    #   while the ad-hoc query ends at `now`;
    # - each increase() estimates the slivers at its window's edges that no sample covers
    #   (tests.support.sampled.edges, a scrape's render time included).
    # The exporter's counters grow with wall-clock time at WEB_RPS, so that is WEB_RPS times
    # those seconds.
    at = now.timestamp()
    keys = f'meshwatch_service="{recorded.live.service}",meshwatch_slo="{recorded.live.name}"'
    evaluated = evaluated_at(recorded.prom, f"meshwatch:sli_requests:increase5m{{{keys}}}", at)
    raw = f'{REQUESTS}{{{SERVICE_LABEL}="{recorded.live.service}"}}'
    window = FIVE.total_seconds()
    by_rule, ad_hoc = (edges(recorded.prom, raw, window, t, "live") for t in (evaluated, at))
    apart_s = at - evaluated + by_rule.estimated_s + ad_hoc.estimated_s
    tolerance = WEB_RPS * apart_s
    assert from_rules.total == pytest.approx(adhoc.total, abs=tolerance), (
        f"{(adhoc.total - from_rules.total) / WEB_RPS:+.2f} s apart, allowed {apart_s:.2f} s: "
        f"evaluated {at - evaluated:.2f} s before, edges {by_rule} / {ad_hoc}"
    )
    assert from_rules.errors / from_rules.total == pytest.approx(
        adhoc.errors / adhoc.total, abs=0.01
    )


def test_no_traffic_from_recorded_series(recorded: Recorded) -> None:
    value = _measure(recorded)[1][recorded.idle.id].counts[FIVE]

    assert isinstance(value, NoDataError)
    assert value.reason == NO_TRAFFIC


def test_slo_without_rules_falls_back_to_promql(recorded: Recorded) -> None:
    value = _measure(recorded)[1][recorded.unruled.id].counts[FIVE]

    assert isinstance(value, Counts)
    assert value.errors / value.total == pytest.approx(0.1, abs=0.02)


def test_unknown_service_is_no_series(recorded: Recorded) -> None:
    ghost = _availability("ghost")
    value = _measure(recorded, ghost)[1][ghost.id].counts[FIVE]

    assert isinstance(value, NoDataError)
    assert value.reason == NO_SERIES
