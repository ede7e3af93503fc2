"""Benchmark `evaluate`: one evaluation cycle of 10,000 SLOs of mixed kinds, as `serve` runs it.

Setup (all on 127.0.0.1, stopped by pid at the end): a live Istio-style exporter of
`count / 4` services; for each service four SLOs, one of each kind — ratio (counter
selectors), latency (histogram), the Istio availability preset and the Istio latency
preset — written as a native spec and loaded with `meshwatch.spec` as `serve` does. A
Prometheus scrapes the exporter every 5 s, with `--query.max-concurrency=1000`. Where the
recorded series come from (`MESHWATCH_BENCH_RECORDED`):

* `rules` — the rules `meshwatch generate rules` writes, unchanged (fast groups every 30 s,
  long windows every 5 m); the benchmark waits until every SLO has recorded counts for its
  whole period (5 to 10 minutes at 1,000 SLOs; on the shared 2-core machine the long groups
  of 1,000 SLOs took ~240 s per evaluation, so 10,000 cannot be evaluated live there);
* `backfill` (default) — the same series, with the same names and labels, for every window
  each SLO's cycle reads, written as blocks with promtool for the 30 s before Prometheus
  starts (what a Prometheus running the rules holds; their cost is the `rule_eval`
  benchmark's subject). The cycle then runs at once, while they are fresh (< 3 min old).

meshwatch's cycle: `build_service(settings)` — the composition root of `serve` — and its
evaluation job, called as the scheduler calls it: the engine's plan, ONE `measure` call
(the recorded-series query plus one grouped batch for the latency histograms' buckets),
`evaluate` per SLO, the statuses written to the store (SQLite), notifications queued. The
first cycle also finds where each SLO's recorded data begins (at most three more queries,
once). Value: meshwatch's own time in a steady cycle (wall time minus the HTTP round trips,
which end with the answer's last byte: decoding Prometheus's JSON is meshwatch's time), best
of 5; the Prometheus wait, the process CPU time of the cycle and query counts are in params.

Baseline: google's slo-generator 2.6 (`compute()` of its Python API, prometheus backend,
`good_bad_ratio` with the same selectors) over the same 8 windows at "now" for a sample of
the ratio-kind SLOs (it asks 2 queries per SLO and window, so all 10,000 would take hours);
its time is scaled linearly to `count` SLOs and the sample size is in params. It runs in its
own venv, `.venv-slogen/` at the repository root, which the FIRST run creates with
`pip install 'slo-generator[prometheus]' 'setuptools<81'`.

`MESHWATCH_BENCH_SLOS` changes the SLO count (default 10000, a multiple of 4);
`MESHWATCH_BENCH_SLOGEN_SAMPLE` the baseline's sample (default 200).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.result import Result
from meshwatch.collectors.prometheus import PrometheusCollector
from meshwatch.collectors.prometheus_http import PrometheusQuerier, RetryPolicy, connect
from meshwatch.errors import CollectorError
from meshwatch.model import SLO, Matcher, RatioSLI, State, format_duration
from meshwatch.service import build_service
from meshwatch.settings import Settings
from meshwatch.spec import load_paths
from tests.support.backfill import CODE_LABEL, LiveExporter, Traffic
from tests.support.prometheus_run import PrometheusProcess, prometheus_config
from tests.support.slo_kinds import backfill_recorded, spec_text, write_rules

ROOT = Path(__file__).resolve().parent.parent
SLOGEN_VENV = ROOT / ".venv-slogen"
SLOGEN_RUNNER = Path(__file__).resolve().parent / "bench_evaluate_slogen.py"
KINDS = ("ratio", "latency", "mesh", "mesh-latency")
PERIOD = timedelta(days=30)
# the 30 d SLO's burn-rate windows (SRE Workbook) and its period: what one cycle evaluates
WINDOWS = tuple(
    timedelta(seconds=s) for s in (300, 1800, 3600, 7200, 21600, 86400, 259200, 2592000)
)
READY_TIMEOUT = 1800.0


def _traffic(services: list[str]) -> list[Traffic]:
    return [
        Traffic(s, rps=5.0 + i % 10, error_ratio=(i % 7) * 0.001) for i, s in enumerate(services)
    ]


def _wait_recorded(collector: PrometheusCollector, slos: list[SLO]) -> float:
    """Until every SLO has recorded counts for its period; seconds waited."""
    start = time.monotonic()
    deadline = start + READY_TIMEOUT
    missing = len(slos)
    while time.monotonic() < deadline:
        recorded = collector.recorded(datetime.now(UTC))
        missing = sum(1 for slo in slos if recorded.lookup((slo.service, slo.name), PERIOD) is None)
        if missing == 0:
            return time.monotonic() - start
        time.sleep(10)
    raise RuntimeError(f"{missing} SLOs still without recorded counts after {READY_TIMEOUT}s")


class _Timed:
    """Adds up the time spent waiting for Prometheus: each HTTP round trip of the querier's
    session, up to the last byte of the answer. Decoding the JSON and turning it into
    samples happen after that and are meshwatch's own time."""

    def __init__(self, querier: PrometheusQuerier) -> None:
        self.seconds = 0.0
        session = querier._client._session  # type: ignore[attr-defined]
        original: Callable[..., Any] = session.request

        def request(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)  # not streamed: the body is read here
            finally:
                self.seconds += time.perf_counter() - started

        session.request = request


def _cycles(spec_dir: Path, prom_url: str, workdir: Path) -> dict[str, Any]:
    """The service's evaluation job: one first cycle, then 5 steady ones (keep the best)."""
    settings = Settings(
        specs=[spec_dir], prometheus_url=prom_url, database_url=f"sqlite:///{workdir / 'm.db'}"
    )
    service = build_service(settings)
    try:
        collector = service.evaluation.source(service.runtime.slos, datetime.now(UTC))
        assert isinstance(collector, PrometheusCollector)
        querier = collector.querier
        # serve's default is 5 s per query; 10,000 SLOs' recorded series (~170,000 series,
        # 25 MB of JSON) took Prometheus ~30 s to answer on the loaded 2-core machine
        querier.policy = RetryPolicy(attempts=1, timeout=300.0)
        timed = _Timed(querier)
        runs = []
        for _ in range(6):
            before_q, before_s = querier.queries, timed.seconds
            started, started_cpu = time.perf_counter(), time.process_time()
            evaluation = service.evaluation(datetime.now(UTC))
            wall = time.perf_counter() - started
            cpu = time.process_time() - started_cpu
            waited = timed.seconds - before_s
            runs.append(
                {
                    "wall_s": wall,
                    "prometheus_s": waited,
                    "meshwatch_s": wall - waited,
                    "meshwatch_cpu_s": cpu,
                    "queries": querier.queries - before_q,
                    "unknown": sum(1 for s in evaluation.statuses if s.state is State.UNKNOWN),
                    "statuses": len(evaluation.statuses),
                }
            )
        return {"first": runs[0], "best": min(runs[1:], key=lambda r: r["meshwatch_s"])}
    finally:
        service.close()


def _slogen_config(prometheus_url: str) -> dict[str, object]:
    steps = [
        {
            "name": format_duration(w),
            "window": int(w.total_seconds()),
            "burn_rate_threshold": 1,
            "alert": False,
            "message_alert": "burning",
            "message_ok": "ok",
        }
        for w in WINDOWS
    ]
    return {
        "default_exporters": [],
        "backends": {"prometheus": {"url": prometheus_url}},
        "exporters": {},
        "error_budget_policies": {"default": {"steps": steps}},
    }


def _slogen_slo(slo: SLO) -> dict[str, object]:
    assert isinstance(slo.sli, RatioSLI) and slo.sli.bad is not None
    # good_bad_ratio needs filter_good; bad = valid - good, the same errors as meshwatch's
    good = slo.sli.total.with_matchers(Matcher(CODE_LABEL, "!~", "5.."))
    return {
        "apiVersion": "sre.google.com/v2",
        "kind": "ServiceLevelObjective",
        "metadata": {
            "name": slo.id,
            "labels": {"service_name": slo.service, "feature_name": "api", "slo_name": slo.name},
        },
        "spec": {
            "description": f"{slo.objective}% of {slo.service} requests are not 5xx",
            "backend": "prometheus",
            "method": "good_bad_ratio",
            "exporters": [],
            "service_level_indicator": {
                "filter_good": good.promql(),
                "filter_valid": slo.sli.total.promql(),
            },
            "goal": slo.target,
        },
    }


def _ensure_slogen() -> Path:
    python = SLOGEN_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(SLOGEN_VENV)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "slo-generator[prometheus]",
                "setuptools<81",
            ],
            check=True,
        )
    return python


def _run_slogen(slos: list[SLO], prometheus_url: str, workdir: Path) -> dict[str, object]:
    python = _ensure_slogen()
    job = workdir / "slogen.json"
    job.write_text(
        json.dumps(
            {"config": _slogen_config(prometheus_url), "slos": [_slogen_slo(s) for s in slos]}
        )
    )
    proc = subprocess.run(
        [str(python), str(SLOGEN_RUNNER), str(job)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"slo-generator runner failed: {proc.stderr[-3000:]}")
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def run() -> Result:
    count = int(os.environ.get("MESHWATCH_BENCH_SLOS", "10000"))
    sample = int(os.environ.get("MESHWATCH_BENCH_SLOGEN_SAMPLE", "200"))
    prometheus_bin = shutil.which("prometheus") or "/usr/bin/prometheus"
    services = [f"svc{i:05d}" for i in range(count // len(KINDS))]
    with tempfile.TemporaryDirectory(prefix="meshwatch-bench-evaluate-") as tmp:
        workdir = Path(tmp)
        spec_dir = workdir / "specs"
        spec_dir.mkdir()
        (spec_dir / "slos.yaml").write_text(spec_text(KINDS, services, window="30d"))
        slos = list(load_paths([spec_dir]).slos)
        mode = os.environ.get("MESHWATCH_BENCH_RECORDED", "backfill")
        rules = write_rules(slos, workdir / "rules") if mode == "rules" else []
        if mode == "backfill":
            promtool = shutil.which("promtool") or "/usr/bin/promtool"
            backfill_recorded(slos, workdir / "prometheus" / "data", promtool, int(time.time()))
        exporter = LiveExporter(_traffic(services)).start()
        prom = PrometheusProcess(
            prometheus_bin,
            workdir / "prometheus",
            config=prometheus_config(
                scrape_targets=[exporter.target],
                rule_files=rules,
                scrape_interval="5s",
                evaluation_interval="30s",
            ),
            retention="2d",
            extra_args=["--query.max-concurrency=1000"],
        )
        try:
            prom.start(timeout=300)
            policy = RetryPolicy(attempts=3, timeout=120.0)
            collector = PrometheusCollector(PrometheusQuerier(connect(prom.url), policy=policy))
            waited = _wait_recorded(collector, slos)
            time.sleep(10 if mode == "backfill" else 0)  # a few scrapes for the buckets
            found = _cycles(spec_dir, prom.url, workdir)
            ratio_slos = [s for s in slos if isinstance(s.sli, RatioSLI)][:sample]
            slogen = _run_slogen(ratio_slos, prom.url, workdir)
        except CollectorError as exc:
            raise RuntimeError(f"Prometheus failed during the benchmark: {exc}") from exc
        finally:
            prom.stop()
            exporter.stop()
    best, first = found["best"], found["first"]
    scaled = float(slogen["seconds"]) * count / max(len(ratio_slos), 1)  # type: ignore[arg-type]
    return Result(
        name="evaluate",
        value=best["meshwatch_s"],
        unit="s",
        baseline_name=f"slo-generator 2.6 compute (prometheus backend), {len(ratio_slos)} "
        f"SLOs timed, scaled to {count}",
        baseline_value=scaled,
        higher_is_better=False,
        params={
            "slos": count,
            "kinds": list(KINDS),
            "windows": [format_duration(w) for w in WINDOWS],
            "meshwatch_queries_per_cycle": best["queries"],
            "meshwatch_queries_first_cycle": first["queries"],
            "meshwatch_cycle_wall_s": round(best["wall_s"], 4),
            "meshwatch_prometheus_wait_s": round(best["prometheus_s"], 4),
            "meshwatch_cpu_s": round(best["meshwatch_cpu_s"], 4),
            "meshwatch_first_cycle_wall_s": round(first["wall_s"], 4),
            "unknown_statuses": best["unknown"],
            "statuses": best["statuses"],
            "slo_generator_sample_slos": len(ratio_slos),
            "slo_generator_sample_s": round(float(slogen["seconds"]), 3),  # type: ignore[arg-type]
            "slo_generator_queries_for_all": count * len(WINDOWS) * 2,
            "slo_generator_valid_reports": slogen.get("valid"),
            "recorded_series": mode,
            "prometheus": "2.42 (Debian), live exporter, 5 s scrape"
            + (", rules every 30 s / 5 m" if mode == "rules" else ", recorded series backfilled"),
            "waited_for_rules_s": round(waited, 1),
        },
    )


if __name__ == "__main__":
    print(run().json_line())
