"""Coverage from a real Prometheus that holds only ~30 minutes of an SLO's recorded data.

The data directory is backfilled (promtool `create-blocks-from openmetrics`) with what
meshwatch's rules would have written during 30 minutes before Prometheus was (re)started:
`meshwatch:sli_{requests,errors}:increase5m` and every other window the cycle reads, one
sample per rule evaluation (`EVALUATION`, 10 s). A 7 d and a 30 d SLO over it must report coverage
30 min / period through the cycle's `measure`, within the resolution the data has: one
evaluation interval (where the first sample falls) plus the 1 s step of the search.
Finding it costs at most three queries on the first cycle and none afterwards.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from meshwatch import conventions as c
from meshwatch.collectors.prometheus import PrometheusCollector
from meshwatch.collectors.prometheus_http import PrometheusQuerier, RetryPolicy, connect
from meshwatch.engine.plan import plan_for
from meshwatch.model import (
    SLO,
    Counts,
    Matcher,
    RatioSLI,
    Selector,
    Window,
    format_duration,
    parse_duration,
)
from tests.support.binaries import require_binary
from tests.support.prometheus_run import PrometheusProcess, prometheus_config

pytestmark = pytest.mark.integration

EVALUATION = timedelta(seconds=10)
SPAN = timedelta(minutes=30)
RPS, ERROR_RATIO = 10.0, 0.01


def _slo(name: str, period: timedelta) -> SLO:
    total = Selector("app_requests_total", (Matcher("job", "=", name),))
    sli = RatioSLI(total=total, bad=total.with_matchers(Matcher("code", "=~", "5..")))
    return SLO("web", name, 99.9, Window.rolling(period), sli)


def _openmetrics(slos: list[SLO], start: int, end: int) -> str:
    lines = []
    step = int(EVALUATION.total_seconds())
    for slo in slos:
        ids = f'{c.LABEL_SERVICE}="{slo.service}",{c.LABEL_SLO}="{slo.name}"'
        at = datetime.fromtimestamp(end, UTC)
        for window in map(format_duration, plan_for(slo, at).count_windows):
            for name, ratio in (
                (c.rule_requests_increase(window), 1.0),
                (c.rule_errors_increase(window), ERROR_RATIO),
            ):
                lines.append(f"# TYPE {name.replace(':', '_')} gauge\n")
                for ts in range(start, end + 1, step):
                    seconds = min(ts - start, parse_seconds(window))
                    lines.append(f"{name}{{{ids}}} {RPS * seconds * ratio} {ts}\n")
    return "".join(lines) + "# EOF\n"


def parse_seconds(window: str) -> int:
    return int(parse_duration(window).total_seconds())


def test_coverage_is_the_share_of_the_period_with_data(tmp_path: Path) -> None:
    prometheus_bin = require_binary("prometheus", "/usr/bin/prometheus")
    promtool = require_binary("promtool", "/usr/bin/promtool")
    slos = [_slo("week", timedelta(days=7)), _slo("month", timedelta(days=30))]
    end = int(datetime.now(UTC).timestamp()) - 120  # blocks must end before the head starts
    start = end - int(SPAN.total_seconds())
    source = tmp_path / "recorded.om"
    source.write_text(_openmetrics(slos, start, end))
    data = tmp_path / "prometheus" / "data"
    data.mkdir(parents=True)
    subprocess.run(
        [
            promtool,
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "--max-block-duration=24h",
            str(source),
            str(data),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    prom = PrometheusProcess(
        prometheus_bin, tmp_path / "prometheus", config=prometheus_config()
    ).start()
    try:
        collector = PrometheusCollector(
            PrometheusQuerier(connect(prom.url), policy=RetryPolicy(timeout=30.0)),
            max_age=EVALUATION * 3,
        )
        at = datetime.fromtimestamp(end + 1, UTC)
        plans = [plan_for(slo, at) for slo in slos]
        found = collector.measure(plans, at)
        first_cycle = collector.querier.queries
        again = collector.measure(plans, at)
    finally:
        prom.stop()

    assert first_cycle <= 1 + 3
    assert collector.querier.queries - first_cycle == 1  # known now: the recorded query only
    tolerance = (EVALUATION + timedelta(seconds=1)) / timedelta(seconds=1)
    for slo in slos:
        period = slo.window.length.total_seconds()
        coverage = found[slo.id].coverage
        assert coverage is not None
        covered = (end + 1 - start) / period
        assert coverage == pytest.approx(covered, abs=tolerance / period), slo.id
        assert again[slo.id].coverage == coverage
        assert 0.0006 < coverage < 0.004  # ~30 min of 7 d (0.30 %) or 30 d (0.07 %), not 100 %
        counts = found[slo.id].counts[slo.window.length]
        assert isinstance(counts, Counts) and counts.total == pytest.approx(
            RPS * SPAN.total_seconds(), rel=0.01
        )
