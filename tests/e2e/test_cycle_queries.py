"""One evaluation cycle costs O(1) Prometheus queries, whatever the number of SLOs and kind.

For each SLI kind (ratio, latency, the Istio availability and latency presets, PromQL
events, raw ratio), a real Prometheus scrapes a live Istio-style exporter of 1,000 services
and loads the rules `meshwatch generate rules` writes for 1,000 SLOs of that kind. The data
directory also holds what those rules record, for every window the cycle reads, for the 30 s
before the start (backfilled with promtool, `slo_kinds.backfill_recorded`), so the recorded
series exist from the first instant, as on any Prometheus that has run the rules. The rules
are evaluated only every `EVALUATION` (5 min) here: what a cycle reads is the same series
either way, and 30,000 recording rules every 10 s kept this shared
2-core machine busy enough to miss the test's deadlines. Then `build_service` — the
composition root `serve` runs — builds the evaluation job for specs of 10, 100 and 1,000 of
those SLOs, and the test counts the queries Prometheus itself received during one cycle, from
its own `prometheus_http_requests_total{handler="/api/v1/query"}` on its /metrics, read
before and after.

Expected: every cycle is the recorded-series query, plus one grouped batch for the latency
histograms' buckets (there are no bucket rules) and for any window whose recording is not
there yet (on the loaded test machine the backfilled long windows can leave Prometheus's 5 min
lookback before the long-window groups rewrite them); the batch is one expression per selector
family, so at most `STEADY_MAX` queries whatever the number of SLOs. The first cycle may add
up to three (finding where each SLO's recorded data begins, once).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from meshwatch.collectors.prometheus import PrometheusCollector
from meshwatch.collectors.prometheus_http import PrometheusQuerier, RetryPolicy, connect
from meshwatch.model import RawSLI, State
from meshwatch.service import build_service
from meshwatch.settings import Settings
from meshwatch.spec import load_paths
from tests.support.backfill import LiveExporter, Traffic
from tests.support.binaries import require_binary
from tests.support.prometheus_run import PrometheusProcess, prometheus_config
from tests.support.slo_kinds import KINDS, backfill_recorded, spec_text, write_rules

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SIZES = (10, 100, 1000)
SERVICES = [f"svc{i:04d}" for i in range(max(SIZES))]
EVALUATION = timedelta(minutes=5)  # rule evaluation; the backfill holds the recordings
LOOKBACK = timedelta(minutes=5)  # Prometheus's: how long the backfilled samples are read
STEADY_MAX = 2  # recorded query + one grouped batch


@pytest.fixture(scope="module")
def exporter() -> Iterator[LiveExporter]:
    traffic = [
        Traffic(s, rps=2.0 + i % 5, error_ratio=0.002 * (i % 4)) for i, s in enumerate(SERVICES)
    ]
    live = LiveExporter(traffic).start()
    try:
        yield live
    finally:
        live.stop()


@dataclass
class Counted:
    first: int
    steady: int
    unknown: int
    statuses: int


def _received(client: httpx.Client) -> float:
    """Instant queries Prometheus has answered, from its own /metrics (not a query itself)."""
    total = 0.0
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("prometheus_http_requests_total{") and 'handler="/api/v1/query"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def _count_cycles(spec_dir: Path, prom_url: str, tmp: Path, client: httpx.Client) -> Counted:
    tmp.mkdir(exist_ok=True)
    settings = Settings(
        specs=[spec_dir], prometheus_url=prom_url, database_url=f"sqlite:///{tmp / 'm.db'}"
    )
    service = build_service(settings)
    collector = service.evaluation.source(service.runtime.slos, datetime.now(UTC))
    assert isinstance(collector, PrometheusCollector)
    # serve's 5 s per attempt (3 attempts) is too short for this shared, loaded machine: a
    # retry is one more query Prometheus receives, which would count load, not the plan
    collector.querier.policy = RetryPolicy(attempts=1, timeout=120.0)
    try:
        counts = []
        evaluation = None
        for _ in range(2):
            before = _received(client)
            evaluation = service.evaluation(datetime.now(UTC))
            counts.append(int(_received(client) - before))
        assert evaluation is not None
        unknown = sum(1 for s in evaluation.statuses if s.state is State.UNKNOWN)
        return Counted(counts[0], counts[1], unknown, len(evaluation.statuses))
    finally:
        service.close()


def _wait_until_recorded(prom_url: str, spec: Path) -> None:
    slos = load_paths([spec]).slos
    collector = PrometheusCollector(
        PrometheusQuerier(connect(prom_url), policy=RetryPolicy(timeout=60.0))
    )
    # the backfill is read for LOOKBACK; by then each group has rewritten it at least once
    deadline = time.monotonic() + (LOOKBACK + EVALUATION).total_seconds()
    missing = len(slos)
    while time.monotonic() < deadline:
        raw = [s.name for s in slos if isinstance(s.sli, RawSLI)]
        recorded = collector.recorded(datetime.now(UTC), raw_slos=raw)
        period = slos[0].window.length
        missing = sum(
            1
            for s in slos
            if (
                recorded.lookup_ratio((s.service, s.name), period, period=period)
                if isinstance(s.sli, RawSLI)
                else recorded.lookup((s.service, s.name), period)
            )
            is None
        )
        if missing == 0:
            return
        time.sleep(5.0)
    pytest.fail(f"{missing} SLOs without a recorded period within the deadline")


@pytest.mark.parametrize("kind", KINDS)
def test_cycle_is_constant_queries_for_any_number_of_slos(
    kind: str, exporter: LiveExporter, tmp_path: Path
) -> None:
    prometheus_bin = require_binary("prometheus", "/usr/bin/prometheus")
    promtool = require_binary("promtool", "/usr/bin/promtool")
    specs = {}
    for size in SIZES:
        specs[size] = tmp_path / f"specs-{size}"
        specs[size].mkdir()
        (specs[size] / "slos.yaml").write_text(spec_text([kind], SERVICES[:size]))
    slos = load_paths([specs[max(SIZES)]]).slos
    rules = write_rules(slos, tmp_path / "rules")
    backfill_recorded(slos, tmp_path / "prometheus" / "data", promtool, int(time.time()) - 2)
    prom = PrometheusProcess(
        prometheus_bin,
        tmp_path / "prometheus",
        config=prometheus_config(
            scrape_targets=[exporter.target],
            rule_files=rules,
            scrape_interval="5s",
            evaluation_interval=f"{int(EVALUATION.total_seconds())}s",
        ),
        extra_args=["--query.max-concurrency=1000"],
    ).start(timeout=180)
    try:
        _wait_until_recorded(prom.url, specs[max(SIZES)])
        with httpx.Client(base_url=prom.url, timeout=60.0) as client:
            counted = {
                size: _count_cycles(specs[size], prom.url, tmp_path / str(size), client)
                for size in SIZES
            }
    finally:
        prom.stop()
    report = {size: (c.first, c.steady) for size, c in counted.items()}
    print(f"{kind}: queries per cycle (first, steady) by SLO count: {report}")
    for size, c in counted.items():
        assert c.statuses == size
        # recorded query + grouped batch (latency buckets; windows whose recordings the
        # busy Prometheus has not written yet, grouped per family: one more query at most)
        assert c.steady <= STEADY_MAX, report
        assert c.first <= c.steady + 3, report  # + finding where recorded data begins, once
        assert c.unknown == 0, (size, c)
