"""Native-histogram latency SLIs on a real Prometheus 2.42, and in the embedded engine.

An exporter (tests/support/native_exporter.py) serves one integer native histogram of schema 3
in the protobuf exposition. A real Prometheus started with `--enable-feature=native-histograms`
scrapes it every second and evaluates meshwatch's generated rules; meshwatch's own scraper
scrapes it every second too. The traffic generator keeps every latency it observed, so the
test knows exactly how many requests were at or under each threshold.

Two SLOs on the same histogram:
* `bound`: threshold 0.25 s, a bucket boundary of schema 3 (2^-2): the SLI is exact, so
  Prometheus's rules, meshwatch's Prometheus collector and the embedded engine must all give
  the generator's slow/total (to float rounding; `increase()` extrapolation scales errors and
  requests alike, so the ratio keeps no trace of it);
* `inside`: threshold 0.3 s, inside the bucket (2^(-14/8), 2^(-13/8)] = (0.2973, 0.3242]:
  Prometheus 2.42 interpolates linearly in that bucket. Every engine must give exactly that
  interpolation (recomputed here from the histogram served), and it may differ from the
  generator's count by at most the requests in that one bucket, which the generator counts.

Halfway, the exporter restarts (its histogram starts again from zero) right after both engines
scraped it: a counter reset, which both must count across (the expected figures are the sums
over the two histograms served). No traffic yet: the recorded errors are 0, not NaN (NaN
would poison every longer window). With 58 % of requests slower than 0.25 s against a 1 %
budget, the generated page alert of `bound` fires.

Latency percentiles (p50/p90/p99 over the 5m window, which holds every request): the
Prometheus collector asks `histogram_quantile(q, sum(rate(h[5m])))`, the embedded engine
computes it from the decoded buckets. Both must equal Prometheus 2.42's linear interpolation
recomputed here from the two histograms served, and each must lie in the schema-3 bucket
that holds the generator's own q-quantile (the `ceil(q n)`-th smallest latency): a relative
error under 2^(1/8) - 1 = 9 %, the bucket width.

The service dashboard's queries run on the same Prometheus (with the harness of
tests/integration/test_dashboard_queries.py): all parse and name real series, and the traffic
row of the native SLOs has data: its request rate over 5m is the generator's count over 300 s
(up to `rate()`'s extrapolation, as above) and its percentiles are the ones checked above.
promtool 2.42 cannot write native histograms in test series (`{{schema:...}}` is newer), so
the rules are checked by `promtool check rules` and run here on the real Prometheus.
"""

from __future__ import annotations

import math
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from meshwatch import conventions as c
from meshwatch.collectors.base import NO_TRAFFIC
from meshwatch.collectors.prometheus import PrometheusCollector
from meshwatch.collectors.prometheus_http import PrometheusQuerier, RetryPolicy, connect
from meshwatch.collectors.scrape import Scraper, ScrapeTarget
from meshwatch.collectors.scrape_store import ScrapeStore
from meshwatch.engine.evaluate import evaluate_all
from meshwatch.engine.plan import PERCENTILES
from meshwatch.errors import NoDataError
from meshwatch.model import SLO, Counts, Matcher, NativeLatencySLI, SLOStatus, Window
from meshwatch.render import dashboards
from meshwatch.render.rules import rule_files
from meshwatch.slo.native_histogram import (
    NativeHistogram,
    containing_bucket,
    native_quantile,
    observations_between,
)
from tests.integration.promtool_run import check_rules
from tests.integration.test_dashboard_queries import bind, check, variable_values
from tests.support.binaries import require_binary
from tests.support.native_exporter import SCHEMA, NativeHistogramExporter, latencies
from tests.support.prometheus_run import PrometheusProcess, prometheus_config

pytestmark = pytest.mark.integration

HISTOGRAM = "app_request_duration_seconds"
JOB = "native"
BOUND, INSIDE = 0.25, 0.3
PER_SECOND, SECONDS = 300, 10  # traffic: 3,000 requests over 10 scrapes
WINDOW = timedelta(minutes=5)  # longer than the whole run: every request is in it
SCRAPE_S = 1.0


def _slo(name: str, threshold: float) -> SLO:
    sli = NativeLatencySLI(HISTOGRAM, threshold, (Matcher("job", "=", JOB),))
    return SLO("shop", name, 99.0, Window.rolling(timedelta(days=30)), sli)


SLOS = (_slo("bound", BOUND), _slo("inside", INSIDE))


def _recorded(prom: PrometheusProcess, record: str, slo: SLO) -> float | None:
    found = prom.query(f'{record}{{{c.LABEL_SLO}="{slo.name}"}}')
    return float(found[0]["value"][1]) if found else None


def _wait_recorded(prom: PrometheusProcess, record: str, slo: SLO, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while (value := _recorded(prom, record, slo)) is None:
        assert time.monotonic() < deadline, f"{record} of {slo.name} never recorded"
        time.sleep(0.5)
    return value


def _count_seen(prom: PrometheusProcess) -> float | None:
    found = prom.query(f'histogram_count({HISTOGRAM}{{job="{JOB}"}})')
    return float(found[0]["value"][1]) if found else None


def _wait_count(prom: PrometheusProcess, count: float) -> None:
    deadline = time.monotonic() + 30
    while (seen := _count_seen(prom)) != count:
        assert time.monotonic() < deadline, f"Prometheus saw {seen} requests, not {count}"
        time.sleep(SCRAPE_S / 2)


def _last_scrape(prom: PrometheusProcess) -> float:
    (found,) = prom.query(f'timestamp({HISTOGRAM}{{job="{JOB}"}})')
    return float(found["value"][1])


def _wait_evaluated_after(prom: PrometheusProcess, at: float) -> None:
    """Until every SLO's 5m ratio was evaluated after `at` (one evaluation interval past the
    scrape of the final histogram); 30 s for a loaded machine, 1 s evaluations."""
    deadline = time.monotonic() + 30
    for slo in SLOS:
        query = f'timestamp({c.rule_error_ratio("5m")}{{{c.LABEL_SLO}="{slo.name}"}})'
        while not (found := prom.query(query)) or float(found[0]["value"][1]) <= at:
            assert time.monotonic() < deadline, f"{slo.name} not evaluated after {at}"
            time.sleep(SCRAPE_S / 2)


def _merged(histograms: list[NativeHistogram]) -> NativeHistogram:
    """The sum of the histograms served before and after the restart: what rate() adds up."""
    buckets: dict[int, float] = {}
    for h in histograms:
        for index, count in h.positive:
            buckets[index] = buckets.get(index, 0.0) + count
    positive = tuple(sorted(buckets.items()))
    return NativeHistogram(SCHEMA, sum(n for _, n in positive), 0.0, 0.0, positive)


def _check_percentiles(
    statuses: dict[str, dict[str, SLOStatus]],
    segments: list[NativeHistogram],
    observed: list[float],
) -> dict[str, object]:
    """Each engine's p50/p90/p99 against Prometheus's interpolation and the generator's own
    quantile (its bucket bounds the error); returns the figures for the log."""
    ordered = sorted(observed)
    whole = _merged(segments)
    out: dict[str, object] = {}
    for name, q in PERCENTILES:
        exact = ordered[math.ceil(q * len(ordered)) - 1]
        lower, upper = containing_bucket(exact, SCHEMA)
        interpolated = native_quantile(q, whole)
        assert interpolated is not None
        values = {}
        for engine, by_slo in statuses.items():
            for slo in SLOS:  # the same histogram: the same percentiles for both SLOs
                value = by_slo[slo.name].latency.get(name)
                assert value is not None, (engine, slo.name, name, by_slo[slo.name].reason)
                assert value == pytest.approx(interpolated, rel=1e-9), (engine, name)
                assert lower <= value <= upper, (engine, name, value, exact)
                values[engine] = value
        out[name] = (values, exact, (lower, upper))
    return out


def _check_dashboard(prom: PrometheusProcess, rules: list[Path], whole: NativeHistogram) -> float:
    """The service dashboard of the native SLOs on the real Prometheus; its request rate."""
    board = next(b for b in dashboards.build(SLOS) if b.uid == c.dashboard_uid_service("shop"))
    recorded = {
        line.split("record:", 1)[1].strip()
        for path in rules
        for line in path.read_text().splitlines()
        if "record:" in line
    }
    # meshwatch's own action counter is served by `serve`, which this test does not scrape
    known = set(prom.api("label/__name__/values")) | recorded | {c.METRIC_ACTIONS}
    values = {**variable_values(board.model), "__rate_interval": "5m"}
    found = {where: bind(expr, values) for where, expr in dashboards.queries(board.model)}
    problems = [check(prom, where, expr, known) for where, expr in found.items()]
    # long burn windows and alerts may have no sample yet; everything must parse and exist
    assert not [p for p in problems if p and "no series" not in p], problems
    print("dashboard queries without data yet:", [p.split(":")[0] for p in problems if p])
    (rate,) = prom.query(found["panel 'Request rate' A"])
    for ref, (name, q) in zip("ABC", PERCENTILES, strict=True):
        (value,) = prom.query(found[f"panel 'Latency percentiles' {ref}"])
        expected = native_quantile(q, whole)
        assert float(value["value"][1]) == pytest.approx(expected, rel=1e-9), name
    return float(rate["value"][1])


def test_native_latency_slis_on_prometheus_and_embedded(tmp_path: Path) -> None:
    prometheus_bin = require_binary("prometheus", "/usr/bin/prometheus")
    promtool = require_binary("promtool", "/usr/bin/promtool")
    rules = []
    for name, text in rule_files(SLOS).items():
        rules.append(tmp_path / name)
        rules[-1].write_text(text)
    checked = check_rules(promtool, rules)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "histogram_fraction(0, 0.3," in rules[0].read_text()

    exporter = NativeHistogramExporter(HISTOGRAM).start()
    target = f"127.0.0.1:{exporter.port}"
    store = ScrapeStore()
    for slo in SLOS:
        store.track_sli(slo.sli)
    config = prometheus_config(
        scrape_targets=[target], rule_files=rules, scrape_interval="1s", job_name=JOB
    )
    prom = PrometheusProcess(
        prometheus_bin,
        tmp_path,
        config=config,
        extra_args=("--enable-feature=native-histograms",),
    ).start()
    rng = random.Random(18)
    try:
        with httpx.Client() as client:
            scraper = Scraper(store, [ScrapeTarget(f"http://{target}/metrics", job=JOB)], client)
            # baseline: both engines have seen the empty histogram before any request
            deadline = time.monotonic() + 30
            while _count_seen(prom) is None:
                assert time.monotonic() < deadline, "Prometheus never stored the histogram"
                scraper.scrape_once(datetime.now(UTC))
                time.sleep(SCRAPE_S / 2)
            scraper.scrape_once(datetime.now(UTC))
            idle = _wait_recorded(prom, c.rule_errors_increase("5m"), SLOS[0], 30)
            assert idle == 0.0, "no traffic must record 0 errors, not NaN"
            idle_counts = store.counts(SLOS[0].sli, [WINDOW], datetime.now(UTC))[WINDOW]
            assert isinstance(idle_counts, NoDataError) and str(idle_counts) == NO_TRAFFIC

            segments = []
            for second in range(SECONDS):
                if second == SECONDS // 2:  # a restart, once both engines saw every request
                    _wait_count(prom, exporter.snapshot().count)
                    segments.append(exporter.restart())
                exporter.observe(latencies(rng, PER_SECOND, median=0.27))
                time.sleep(SCRAPE_S)
                scraper.scrape_once(datetime.now(UTC))
            segments.append(exporter.snapshot())
            total = len(exporter.traffic.latencies)
            _wait_count(prom, segments[-1].count)  # Prometheus has scraped the final histogram
            scraper.scrape_once(datetime.now(UTC))
        _wait_evaluated_after(prom, _last_scrape(prom) + SCRAPE_S)
        now = datetime.now(UTC)
        collector = PrometheusCollector(
            PrometheusQuerier(connect(prom.url), policy=RetryPolicy(timeout=10.0))
        )
        # what a user reads: the evaluation cycle of `serve`, on either engine (the Prometheus
        # one reads the recorded 5m series here)
        statuses = {
            engine: {s.slo: s for s in evaluate_all(SLOS, source, now).statuses}
            for engine, source in (("prometheus", collector), ("embedded", store))
        }
        figures = {}
        for slo in SLOS:
            sli = slo.sli
            assert isinstance(sli, NativeLatencySLI)
            exact_slow = total - exporter.traffic.at_or_under(sli.threshold)
            fast = sum(observations_between(h, 0.0, sli.threshold) for h in segments)
            expected = 1.0 - fast / total
            lower, upper = containing_bucket(sli.threshold, SCHEMA)
            ambiguous = exporter.traffic.between(lower, upper)
            rule_ratio = _recorded(prom, c.rule_error_ratio("5m"), slo)
            from_prometheus = collector.counts(sli, [WINDOW], now)[WINDOW]
            from_scraper = store.counts(sli, [WINDOW], now)[WINDOW]
            assert isinstance(from_prometheus, Counts), from_prometheus
            assert isinstance(from_scraper, Counts), from_scraper
            ratios = {
                "rules": rule_ratio,
                "collector": from_prometheus.errors / from_prometheus.total,
                "embedded": from_scraper.errors / from_scraper.total,
            }
            figures[slo.name] = (ratios, exact_slow / total, ambiguous / total)
            for engine, ratio in ratios.items():
                assert ratio == pytest.approx(expected, abs=1e-9), (slo.name, engine, figures)
                # the interpolation is off by at most the requests in the threshold's bucket
                assert abs(ratio - exact_slow / total) <= ambiguous / total + 1e-9, (engine,)
            for engine, by_slo in statuses.items():
                good = by_slo[slo.name].sli["5m"]
                assert good is not None, (engine, by_slo[slo.name].reason)
                assert 1.0 - good == pytest.approx(expected, abs=1e-9), (engine, slo.name)
            assert from_scraper.total == total  # counted between real scrapes: exact
            assert from_scraper.errors == pytest.approx(total * expected, abs=1e-6)
            # increase() extrapolates to the window edges: the series began inside it
            assert total <= from_prometheus.total <= total * 1.25, from_prometheus
        percentiles = _check_percentiles(statuses, segments, exporter.traffic.latencies)
        requests_per_s = _check_dashboard(prom, rules, _merged(segments))
        assert total <= requests_per_s * 300 <= total * 1.25, (requests_per_s, total)
        bound_ratios, bound_exact, _ = figures["bound"]
        for ratio in bound_ratios.values():
            assert ratio == pytest.approx(bound_exact, abs=1e-9)  # a bucket boundary: exact
        # 58 % slow against a 1 % budget: the page alert of the native SLO fires
        page = (
            f'ALERTS{{alertname="{c.ALERT_BURN}",{c.LABEL_SLO}="bound",meshwatch_severity="page"}}'
        )
        assert prom.wait_for(page, timeout=30), "the page alert of a native SLO never fired"
        inside_ambiguous = figures["inside"][2]
        assert inside_ambiguous > 0.02, "the test must put traffic in the interpolated bucket"
        print("native SLIs (engine ratios, exact, ambiguous share):", figures)
        print("native percentiles (engine values, generator's, bucket):", percentiles)
    finally:
        prom.stop()
        exporter.stop()
