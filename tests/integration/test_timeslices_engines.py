"""Both engines count slices as the traffic generator does: a real Prometheus and the scraper.

A live exporter serves 5-second slices by a fixed pattern (clean, 100 % errors, idle),
switching at wall-clock slice boundaries; the test keeps its own count of what was served in
each slice (`LiveExporter.served`, read at every boundary) and judges each slice itself. A
real Prometheus scrapes the exporter every second and the embedded scraper scrapes it every
second too; `evaluate_all` on each engine must report the generator's bad slices exactly,
and its good share over the last minute.

Tolerances come from the intervals: a slice is judged from samples at most one scrape
interval (1 s) inside its boundaries, plus the driver's lateness at a boundary; with 5 s
slices that moves at most ~30 % of a slice's requests into its neighbour, so the pattern uses
0 % and 100 % error slices and a 50 % slice target - a verdict cannot flip.
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
from meshwatch.engine.evaluate import evaluate_all
from meshwatch.model import (
    SLO,
    Alerting,
    BurnRateWindow,
    Matcher,
    RatioSLI,
    Selector,
    Severity,
    SLOStatus,
    Timeslices,
    Window,
)
from meshwatch.slo.timeslices import last_slice_end
from tests.support.backfill import CODE_LABEL, REQUESTS, SERVICE_LABEL, LiveExporter, Traffic
from tests.support.binaries import require_binary
from tests.support.prometheus_run import PrometheusProcess, prometheus_config

pytestmark = pytest.mark.integration

SLICE = timedelta(seconds=5)
RATE = 200.0
# g clean, b 100 % errors, i idle (no requests; the series stay)
PATTERN = "gbggbbgiigbgbbgg"
MINUTE = timedelta(minutes=1)


def _slo() -> SLO:
    total = Selector(REQUESTS, (Matcher(SERVICE_LABEL, "=", "slices"),))
    windows = (BurnRateWindow(Severity.PAGE, MINUTE, timedelta(seconds=10), 0.02, 14.4),)
    return SLO(
        "slices",
        "fives",
        90.0,
        Window.rolling(timedelta(hours=1)),
        RatioSLI(total=total, bad=total.with_matchers(Matcher(CODE_LABEL, "=~", "5.."))),
        alerting=Alerting(windows=windows),
        timeslices=Timeslices(SLICE, 50.0),
    )


def _sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


def _drive(exporter: LiveExporter, scraper: Scraper) -> dict[datetime, tuple[float, float]]:
    """Play the pattern one slice at a time; (errors, requests) served per slice end."""
    served: dict[datetime, tuple[float, float]] = {}
    # two clean slices first, so that both engines have samples before the pattern starts
    boundary = last_slice_end(datetime.now(UTC), SLICE) + 3 * SLICE
    while datetime.now(UTC) < boundary:
        scraper.scrape_once(datetime.now(UTC))
        _sleep_until(min(boundary, datetime.now(UTC) + timedelta(seconds=1)))
    before = exporter.served("slices")
    for kind in PATTERN:
        exporter.set_error_ratio("slices", 1.0 if kind == "b" else 0.0)
        exporter.set_rate("slices", 0.0 if kind == "i" else RATE)
        end = boundary + SLICE
        while datetime.now(UTC) < end:  # the embedded engine scrapes every second
            scraper.scrape_once(datetime.now(UTC))
            _sleep_until(min(end, datetime.now(UTC) + timedelta(seconds=1)))
        after = exporter.served("slices")
        served[end] = (after[0] - before[0], after[1] - before[1])
        before, boundary = after, end
    exporter.set_error_ratio("slices", 0.0)
    exporter.set_rate("slices", RATE)
    settle = boundary + timedelta(seconds=2.5)  # both have scraped past the last boundary
    while datetime.now(UTC) < settle:
        scraper.scrape_once(datetime.now(UTC))
        time.sleep(0.5)
    return served


def _idle(requests: float) -> bool:
    """Under one request: the exporter exposes whole requests (what it served between two
    of the driver's calls at a boundary is a few microseconds' worth)."""
    return requests < 1


def _bad(errors: float, requests: float) -> bool:
    return not _idle(requests) and errors / requests > 0.5


def _period_bad(status: SLOStatus, period: str) -> float:
    assert status.period_sli is not None, status.reason
    counted = status.requests[period]
    assert counted is not None
    return (1 - status.period_sli) * counted


def test_both_engines_count_the_generators_bad_slices(tmp_path: Path) -> None:
    prometheus_bin = require_binary("prometheus", "/usr/bin/prometheus")
    slo = _slo()
    exporter = LiveExporter([Traffic("slices", rps=RATE, error_ratio=0.0)]).start()
    store = ScrapeStore()
    store.track_sli(slo.sli)
    prom = PrometheusProcess(
        prometheus_bin, tmp_path, config=prometheus_config(scrape_targets=[exporter.target])
    ).start()
    try:
        with httpx.Client() as client:
            scraper = Scraper(store, [ScrapeTarget(f"http://{exporter.target}/metrics")], client)
            served = _drive(exporter, scraper)
        now = max(served) + SLICE / 2  # the slice after the pattern is still in progress
        verdicts = {end: _bad(*counts) for end, counts in served.items()}
        # the generator's own count, slice by slice, matches the pattern it played
        assert [verdicts[e] for e in sorted(verdicts)] == [k == "b" for k in PATTERN]
        assert [_idle(served[e][1]) for e in sorted(served)] == [k == "i" for k in PATTERN]
        last_minute = sorted(verdicts)[-12:]
        good_share = 1 - sum(verdicts[e] for e in last_minute) / 12
        collector = PrometheusCollector(
            PrometheusQuerier(connect(prom.url), policy=RetryPolicy(timeout=10.0))
        )
        for engine in (collector, store):
            (status,) = evaluate_all([slo], engine, now).statuses
            name = type(engine).__name__
            assert status.sli["1m"] == pytest.approx(good_share), name
            assert status.requests["1m"] == 12, name  # idle slices are counted (and good)
            # over the period: exactly the pattern's bad slices; the 2-3 slices before it
            # (the first partly scraped, or not at all) were clean
            assert _period_bad(status, "1h") == pytest.approx(PATTERN.count("b")), name
            counted = status.requests["1h"]
            assert counted is not None and len(PATTERN) + 1 <= counted <= len(PATTERN) + 3, name
            # budget in slices: 10 % of the hour's 720 slices, less the bad ones
            assert status.budget_remaining_requests == pytest.approx(72 - PATTERN.count("b"))
            assert status.throughput is not None and status.throughput > 0, name
    finally:
        prom.stop()
        exporter.stop()
