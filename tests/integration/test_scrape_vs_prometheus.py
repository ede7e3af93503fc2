"""Same traffic, two engines: the embedded scraper agrees with a real Prometheus.

A local exporter serves a request counter (by code) and a latency histogram whose rates
change in phases, with a process restart (all counters back to zero) in the middle. A real
Prometheus (1 s scrape) and meshwatch's Scraper (1 s) scrape it at the same time; then, at
several evaluation times, every SLI the scraper computes is compared with the PromQL the
Prometheus engine runs: `sum(increase(...[w]))`, error ratios and latency ratios.

Tolerance, and why it is not zero. The engines sample at different instants and treat
window edges differently: Prometheus takes the samples inside (T-w, T] and extrapolates
their increase to the window edges assuming a steady rate; the scraper counts between its
own scrapes (evaluated, as the engine does, right after a scrape) and interpolates only the
window start. When the rate changes within one scrape interval of an edge, or a restart
drops the events since the last scrape, each engine can place up to one interval of traffic
differently per edge. With 1 s scrapes, 10 s/20 s windows and the phases below (error ratio
2 % -> 10 % -> 5 %, requests steady at RATE = 200/s). On a busy machine one more thing
moves counts: a scrape is stamped when it starts, but the exporter renders its counters
(from the wall clock) when the request reaches it, up to the longest `scrape_once` measured
in the test (`lag`) later; that places up to RATE * lag requests differently at each edge.
So the tolerances are in requests (and in ratios, that share of a window's requests times
the largest bad share of a phase, MAX_BAD), from the intervals:

* against Prometheus: request and per-bucket increases (what percentiles are computed from)
  within RATE * (Prometheus's unsampled edges + the scraper's longest gap + 2 lag), plus the
  longer of the two engines' gaps when the window holds the restart. Prometheus's edges (how
  far its first and last samples in the window are from the edges, its longest scrape, its
  longest gap between samples) are read back from it (tests.support.sampled.edges) and the
  scraper's gaps from its own scrape times: one S each when idle (this was `3 S`), more when
  a busy machine missed a scrape. Error ratios and latency error ratios within that share
  of the window times MAX_BAD (measured on an idle machine: <= 3 % of the requests,
  <= 0.004);
* against the exact traffic the exporter served (minus the events a restart hides from any
  scraper): counts within RATE * 2 lag plus one request per counter for the exporter's whole
  numbers, ratios within 0.002 plus the lag's share times MAX_BAD (measured idle: < 0.1 %
  and < 0.0003);
* "no series" on both sides for a selector that matches nothing.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from meshwatch.collectors.base import NO_SERIES
from meshwatch.collectors.scrape import Scraper, ScrapeTarget
from meshwatch.collectors.scrape_store import ScrapeStore
from meshwatch.errors import NoDataError
from meshwatch.model import Counts, LatencySLI, Matcher, RatioSLI, Selector
from tests.support.binaries import require_binary
from tests.support.exporter import serving_metrics
from tests.support.prometheus_run import PrometheusProcess
from tests.support.sampled import edges

RATE = 200.0  # requests/s
S = 1.0  # scrape interval of both engines (seconds)
# (start second, error fraction, fraction <= 0.3 s): rates change between phases
PHASES = ((0.0, 0.02, 0.95), (8.0, 0.10, 0.85), (16.0, 0.05, 0.90))
RESTART_AT = 13.5  # the exporter "restarts": every counter starts again from zero
RUN_S = 25  # seconds of traffic; windows are evaluated where both engines have data
WINDOWS = (timedelta(seconds=10), timedelta(seconds=20))
MAX_BAD = max(max(bad, 1 - fast) for _, bad, fast in PHASES)  # largest bad share of a phase
COUNTERS = 4  # whole-number counters a count is read from (2 codes; bucket, count; restart)

TOTAL = Selector("app_requests_total")
BAD = Selector("app_requests_total", (Matcher("code", "=~", "5.."),))
RATIO = RatioSLI(total=TOTAL, bad=BAD)
LATENCY = LatencySLI("app_latency_seconds", threshold=0.3)
NOTHING = Selector("app_requests_total", (Matcher("code", "=", "418"),))


def _integral(t: float, index: int) -> float:
    """Events since 0 of a rate RATE * PHASES[i][index] that changes at phase starts."""
    total = 0.0
    for i, phase in enumerate(PHASES):
        start = phase[0]
        end = PHASES[i + 1][0] if i + 1 < len(PHASES) else math.inf
        if t > start:
            fraction = phase[index] if index else 1.0
            total += RATE * fraction * (min(t, end) - start)
    return total


def _counter(t: float, index: int) -> int:
    since = RESTART_AT if t >= RESTART_AT else 0.0
    return math.floor(_integral(t, index)) - math.floor(_integral(since, index))


def exposition(t: float) -> str:
    """The exporter's text `t` seconds after traffic started (all zero before)."""
    t = max(t, 0.0)
    total, errors, fast = _counter(t, 0), _counter(t, 1), _counter(t, 2)
    faster = fast // 2
    return (
        "# HELP app_requests_total Requests.\n# TYPE app_requests_total counter\n"
        f'app_requests_total{{code="200"}} {total - errors}\n'
        f'app_requests_total{{code="500"}} {errors}\n'
        "# TYPE app_latency_seconds histogram\n"
        f'app_latency_seconds_bucket{{le="0.1"}} {faster}\n'
        f'app_latency_seconds_bucket{{le="0.3"}} {fast}\n'
        f'app_latency_seconds_bucket{{le="1.0"}} {total}\n'
        f'app_latency_seconds_bucket{{le="+Inf"}} {total}\n'
        f"app_latency_seconds_sum {total * 0.2}\n"
        f"app_latency_seconds_count {total}\n"
    )


def exporter(origin: list[float]) -> contextlib.AbstractContextManager[str]:
    """Serve `exposition(now - origin[0])`; traffic starts when the test sets `origin`."""
    return serving_metrics(lambda _elapsed: exposition(time.time() - origin[0]))


def _value(result: list[dict[str, object]]) -> float:
    assert len(result) == 1, result
    value = result[0]["value"]
    assert isinstance(value, list)
    return float(value[1])


@pytest.mark.integration
@pytest.mark.slow
def test_scraper_and_prometheus_agree_on_every_sli(tmp_path: Path) -> None:
    origin = [math.inf]
    with exporter(origin) as address:
        config = (
            f"global: {{scrape_interval: {S:g}s, evaluation_interval: {S:g}s}}\n"
            "scrape_configs:\n"
            f"  - job_name: app\n    static_configs: [{{targets: ['{address}']}}]\n"
        )
        binary = require_binary("prometheus", "/usr/bin/prometheus")
        prometheus = PrometheusProcess(
            binary,
            tmp_path,
            config=config,
            retention="45d",
            extra_args=("--web.enable-admin-api",),
        )
        with prometheus as prom, httpx.Client() as client:
            store = ScrapeStore()
            for sli in (RATIO, LATENCY):
                store.track_sli(sli)
            store.track(NOTHING)
            scraper = Scraper(store, [ScrapeTarget(f"http://{address}/metrics", job="app")], client)
            _wait_for_first_scrape(prom)  # Prometheus's scrape manager starts ~5 s late
            origin[0] = time.time()
            scraped: list[float] = []
            lag = 0.0
            while time.time() - origin[0] < RUN_S:
                scraped.append(time.time())
                health = scraper.scrape_once(datetime.fromtimestamp(scraped[-1], UTC))
                lag = max(lag, time.time() - scraped[-1])
                assert all(h.up for h in health.values()), health
                time.sleep(max(0.0, S - (time.time() - scraped[-1])))
            time.sleep(1.5)  # let Prometheus ingest its scrapes up to the last one
            # Evaluate as the engine does: right after a scrape, at that scrape's time.
            at = [scraped[-1], scraped[-3], scraped[-5]]
            rows = _compare(prom, store, at, origin[0], scraped)
    for row in rows:
        print(row)
    print(f"longest scrape_once: {lag:.3f} s")
    ours_gap = max(b - a for a, b in itertools.pairwise(scraped))  # the scraper's own gaps
    to_exact_s = 2 * lag  # traffic placed differently
    for at, window, what, ours, theirs, exact, prometheus_s in rows:
        to_prometheus_s = prometheus_s + ours_gap + 2 * lag
        if not what.endswith("ratio"):  # requests and bucket counts
            assert ours == pytest.approx(exact, abs=RATE * to_exact_s + COUNTERS), (at, what)
            assert ours == pytest.approx(theirs, abs=RATE * to_prometheus_s), (at, window, what)
        else:
            exact_tol = 0.002 + to_exact_s / window * MAX_BAD
            assert ours == pytest.approx(exact, abs=exact_tol), (at, window, what)
            theirs_tol = to_prometheus_s / window * MAX_BAD
            assert ours == pytest.approx(theirs, abs=theirs_tol), (at, window, what)


def _wait_for_first_scrape(prom: PrometheusProcess) -> None:
    deadline = time.monotonic() + 15
    while not prom.query("app_requests_total", time.time()):
        assert time.monotonic() < deadline, "Prometheus did not scrape the exporter"
        time.sleep(0.2)


def _compare(
    prom: PrometheusProcess,
    store: ScrapeStore,
    times: list[float],
    origin: float,
    scraped: list[float],
) -> list[tuple[float, int, str, float, float, float, float]]:
    """Rows (at, window s, what, ours, prometheus, exact expectation for ours, seconds of
    traffic Prometheus's increase() estimated: its unsampled edges, and the longer of the two
    engines' gaps between samples when the window holds the restart)."""
    rows = []
    for at in times:
        now = datetime.fromtimestamp(at, UTC)
        ratio = store.counts(RATIO, WINDOWS, now)
        latency = store.counts(LATENCY, WINDOWS, now)
        for window in WINDOWS:
            w = f"{int(window.total_seconds())}s"
            req = _value(prom.query(f"sum(increase(app_requests_total[{w}]))", at))
            bad = _value(prom.query(f'sum(increase(app_requests_total{{code=~"5.."}}[{w}]))', at))
            fast = _value(
                prom.query(f'sum(increase(app_latency_seconds_bucket{{le="0.3"}}[{w}]))', at)
            )
            count = _value(prom.query(f"sum(increase(app_latency_seconds_count[{w}]))", at))
            ours, lat = ratio[window], latency[window]
            assert isinstance(ours, Counts) and isinstance(lat, Counts), (ours, lat)
            seconds = window.total_seconds()
            exact = [_expected(i, at - origin, seconds, scraped, origin) for i in (0, 1, 2)]
            seen = edges(prom, "app_requests_total", seconds, at, job="app")
            # the restart hides the events since each engine's last scrape before it
            ours_gap = max(b - a for a, b in itertools.pairwise(scraped))
            restart = max(seen.gap, ours_gap) if at - seconds < origin + RESTART_AT <= at else 0.0
            prometheus_s = seen.unsampled_s + restart
            found = [
                (at, int(seconds), "requests", ours.total, req, exact[0]),
                (
                    at,
                    int(seconds),
                    "error_ratio",
                    ours.errors / ours.total,
                    bad / req,
                    exact[1] / exact[0],
                ),
                (
                    at,
                    int(seconds),
                    "latency_error_ratio",
                    lat.errors / lat.total,
                    1 - fast / count,
                    1 - exact[2] / exact[0],
                ),
            ]
            # Percentiles come from bucket increases: compare those, bucket by bucket.
            theirs_by_le = {
                float(row["metric"]["le"]): float(row["value"][1])
                for row in prom.query(
                    f"sum by (le) (increase(app_latency_seconds_bucket[{w}]))", at
                )
            }
            ours_by_le = store.buckets(LATENCY, [window], now)[window]
            assert isinstance(ours_by_le, dict) and set(ours_by_le) == set(theirs_by_le)
            exact_by_le = {0.1: exact[2] / 2, 0.3: exact[2], 1.0: exact[0], math.inf: exact[0]}
            found += [
                (
                    at,
                    int(seconds),
                    f"bucket_le_{le}",
                    ours_by_le[le],
                    theirs_by_le[le],
                    exact_by_le[le],
                )
                for le in sorted(ours_by_le)
            ]
            rows += [(*row, prometheus_s) for row in found]
            assert prom.query(f'sum(increase(app_requests_total{{code="418"}}[{w}]))', at) == []
            with pytest.raises(NoDataError, match=NO_SERIES):
                store.increase(NOTHING, window, now)
    return rows


def _expected(index: int, end: float, window: float, scraped: list[float], origin: float) -> float:
    """Events in (end - window, end] that a scraper at `scraped` times can see.

    The events between its last scrape before the restart and the restart are gone with the
    old process: no scraper sees them (Prometheus neither).
    """
    seen = _integral(end, index) - _integral(max(end - window, 0.0), index)
    before = max((t - origin for t in scraped if t - origin < RESTART_AT), default=0.0)
    if end - window < RESTART_AT <= end:
        lost_from = max(before, end - window)
        seen -= _integral(RESTART_AT, index) - _integral(lost_from, index)
    return seen
