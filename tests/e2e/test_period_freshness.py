"""The period figure includes the traffic up to the latest evaluation (issue 12 item 2).

A live Istio-style exporter serves one service at `RPS`; it is healthy, then fails every
request (a total outage). `serve`'s own jobs (built by `build_service`) scrape and evaluate it:
the scrape job every `S`, the evaluation job every `E`. At every evaluation during the
outage, the SLO's period requests and errors must equal the exporter's own count of what it
served since the first scrape, within one scrape interval of traffic (`RPS x S`: the
engine counts up to its newest scrape, and the exposition floors counters to integers), and
the budget left must be the one those counts give — so it drops within one evaluation
interval of the outage, instead of minutes later.

Both engines pass. The Prometheus engine reads the period from the recorded windows, which
the rules chain from shorter recordings whose newest term ends at the rule evaluation instant
(`meshwatch.render.rules_chain`), so the period is at most one rule evaluation interval `P`
behind the counters Prometheus scraped. Nominally its tolerance is one scrape plus one rule
evaluation of traffic (`RPS x (S + P)`): the newest scrape is up to `S` old when the rule runs
and the recording up to `P` old when meshwatch reads it. On a busy machine a rule group runs
late and a scrape is missed, so the test reads both back from Prometheus for every evaluation
(tests.support.sampled: when the recording meshwatch read was evaluated, how old its newest
scrape was then, how long that scrape took) and allows that much traffic. `increase()`
extrapolation goes the other way (a series that stops growing, the 2xx one at the outage, is
extended up to 1.1 average scrape intervals past its last sample and half of one toward the
window's start, at its average rate <= RPS), so the tolerance is at least 1.6 measured
intervals of traffic. Measured here on a loaded 2-core machine: errors 43-53 and requests
0-10 short of the exporter's count (bound 82 when it was `S + P`). The generated rules are
loaded as they are (one group per SLO at the global evaluation interval, `P` here).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from meshwatch.collectors.prometheus import PrometheusCollector
from meshwatch.collectors.prometheus_http import PrometheusQuerier, connect
from meshwatch.model import SLOStatus
from meshwatch.service import build_service
from meshwatch.settings import Settings
from meshwatch.spec import load_paths
from tests.support.backfill import LiveExporter, Traffic
from tests.support.binaries import require_binary
from tests.support.prometheus_run import PrometheusProcess, prometheus_config
from tests.support.sampled import edges, evaluated_at
from tests.support.slo_kinds import spec_text, write_rules

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RPS = 40.0
S = timedelta(seconds=1)  # scrape interval (embedded scraper and Prometheus)
E = timedelta(seconds=2)  # evaluation interval
HEALTHY_S, OUTAGE_S = 12.0, 12.0
WEEK = timedelta(days=7)
P = S  # Prometheus's rule evaluation interval
SERVICE = "checkout"


Baseline = Callable[[], tuple[float, float]]
Seen = list[tuple[SLOStatus, float, float, float, float]]


def _run(
    service_settings: Settings, exporter: LiveExporter, scrape: bool, baseline_of: Baseline
) -> Seen:
    """Per evaluation: (status, errors and requests served since the baseline, seconds into
    the outage or -1, the evaluation's instant in Unix seconds)."""
    service = build_service(service_settings)
    jobs = {job.name: job for job in service.jobs}
    seen = []
    baseline = baseline_of()
    started = time.monotonic()
    last_eval = 0.0
    outage_at = None
    try:
        while time.monotonic() - started < HEALTHY_S + OUTAGE_S:
            elapsed = time.monotonic() - started
            if outage_at is None and elapsed >= HEALTHY_S:
                exporter.set_error_ratio(SERVICE, 1.0)
                outage_at = time.monotonic()
            if scrape:
                jobs["scrape"].run(datetime.now(UTC))
            if time.monotonic() - last_eval >= E.total_seconds():
                last_eval = time.monotonic()
                errors, total = exporter.served(SERVICE)
                now = datetime.now(UTC)
                evaluation = service.evaluation(now)
                since = time.monotonic() - outage_at if outage_at is not None else -1.0
                served = (errors - baseline[0], total - baseline[1])
                seen.append((evaluation.statuses[0], *served, since, now.timestamp()))
            time.sleep(S.total_seconds())
    finally:
        service.close()
    return seen


def _check(seen: Seen, lag_of: Callable[[float], float] = lambda _at: S.total_seconds()) -> None:
    """Every evaluation from one interval into the outage counts what the exporter served,
    within `lag_of(at)` seconds of traffic (how far behind the counters the engine read at
    `at`) plus flooring."""
    during = [item for item in seen if item[3] >= E.total_seconds()]
    assert during, "no evaluation during the outage"
    for status, errors, total, since, at in during:
        slack = RPS * lag_of(at) + 2
        requests = status.requests["7d"]
        assert requests is not None and status.period_sli is not None, status.reason
        measured_errors = (1 - status.period_sli) * requests
        assert requests == pytest.approx(total, abs=slack), (since, slack)
        assert measured_errors == pytest.approx(errors, abs=slack), (since, slack)
        expected_budget = 1 - (measured_errors / requests) / 0.01
        assert status.budget_remaining == pytest.approx(expected_budget, abs=1e-9)
        assert status.budget_remaining < 1 - (errors - slack) / total / 0.01 + 1e-9


@pytest.fixture
def exporter() -> LiveExporter:
    live = LiveExporter([Traffic(SERVICE, rps=RPS, error_ratio=0.0)]).start()
    yield live  # type: ignore[misc]
    live.stop()


def _spec(tmp_path: Path) -> Path:
    spec = tmp_path / "specs"
    spec.mkdir()
    (spec / "slos.yaml").write_text(spec_text(["mesh"], [SERVICE]))
    return spec


def test_embedded_period_is_fresh_and_exact(exporter: LiveExporter, tmp_path: Path) -> None:
    settings = Settings(
        specs=[_spec(tmp_path)],
        scrape_targets=[{"name": "istio", "url": f"http://{exporter.target}/metrics"}],
        database_url=f"sqlite:///{tmp_path / 'm.db'}",
    )
    # the scraper counts from its first scrape, which the first cycle makes right away
    _check(_run(settings, exporter, True, lambda: exporter.served(SERVICE)))


def test_prometheus_period_is_fresh_and_exact(exporter: LiveExporter, tmp_path: Path) -> None:
    prometheus_bin = require_binary("prometheus", "/usr/bin/prometheus")
    spec = _spec(tmp_path)
    rules = write_rules(load_paths([spec]).slos, tmp_path / "rules")
    prom = PrometheusProcess(
        prometheus_bin,
        tmp_path / "prometheus",
        config=prometheus_config(
            scrape_targets=[exporter.target],
            rule_files=rules,
            scrape_interval=f"{int(S.total_seconds())}s",
            evaluation_interval=f"{int(P.total_seconds())}s",
        ),
    ).start()
    try:
        _wait_for_recorded_period(prom.url, spec)
        settings = Settings(
            specs=[spec], prometheus_url=prom.url, database_url=f"sqlite:///{tmp_path / 'm.db'}"
        )
        seen = _run(settings, exporter, False, lambda: _first_samples(prom.url))
        _check(seen, lambda at: _prometheus_lag(prom, at))
    finally:
        prom.stop()


def _prometheus_lag(prom: PrometheusProcess, at: float) -> float:
    """How far behind the exporter's counters the period meshwatch read at `at` was: the
    recording's evaluation before `at`, the age of its newest scrape then and that scrape's
    duration; at least the 1.6 intervals `increase()` may extrapolate past the samples."""
    keys = f'meshwatch_service="{SERVICE}",meshwatch_slo="mesh"'
    evaluated = evaluated_at(prom, f"meshwatch:sli_requests:increase7d{{{keys}}}", at)
    raw = f'istio_requests_total{{destination_service_name="{SERVICE}"}}'
    seen = edges(prom, raw, 60.0, evaluated, job="live")
    return max(at - evaluated + seen.end + seen.scrape, 1.6 * seen.interval)


def _first_samples(prom_url: str) -> tuple[float, float]:
    """Prometheus counts from its first scrape of the counters: (errors, total) then."""
    selector = f'istio_requests_total{{destination_service_name="{SERVICE}"}}'
    with httpx.Client(base_url=prom_url, timeout=30.0) as client:
        values = []
        for extra in (',response_code=~"5.."', ""):
            query = f"sum(min_over_time({selector[:-1]}{extra}}}[1h]))"
            answer = client.get("/api/v1/query", params={"query": query}).json()
            values.append(float(answer["data"]["result"][0]["value"][1]))
    return values[0], values[1]


def _wait_for_recorded_period(prom_url: str, spec: Path) -> None:
    """Until the rules have recorded the 7 d period: the chained windows exist from the first
    rule evaluation that sees the SLI's series, so this is a few scrape and rule intervals
    after start (the bound allows for a loaded machine, where Prometheus starts slowly)."""
    (slo,) = load_paths([spec]).slos
    collector = PrometheusCollector(PrometheusQuerier(connect(prom_url)))
    deadline = time.monotonic() + 60 * (S + P).total_seconds()
    while collector.recorded(datetime.now(UTC)).lookup((slo.service, slo.name), WEEK) is None:
        assert time.monotonic() < deadline, "the rules did not record the period in time"
        time.sleep(P.total_seconds())
