"""Benchmark `rule_eval`: what meshwatch's generated rules cost the Prometheus evaluating them.

Setup (127.0.0.1, stopped by pid): one live Istio-style exporter for 1,000 services (their
counters grow with wall-clock time, 0.1 % to 0.6 % errors, one service in seven at 100 %),
scraped every 5 s. The same 1,000 ratio SLOs (99.9 % over 30 d, Workbook alert windows) are
loaded, one side after the other, into a fresh Prometheus 2.42 with evaluation every 60 s:

- meshwatch: `rule_files(slos)`, unchanged (every window chained from the 5m recordings);
- baseline: rules of the shape Sloth v0.16 generates for the same SLOs
  (`benchmarks/sloth_rules.py`, written from its documented shapes: one `rate()` over the raw
  counters per window, the 30d "optimized" average, 7 metadata recordings, 2 alerts).

After a warm-up of WARMUP_S, Prometheus's own `/metrics` is read SAMPLES times one evaluation
interval apart: value = Prometheus's CPU seconds per evaluation cycle
(`process_cpu_seconds_total` over the samples, scraping included - the same on both sides),
the same for the baseline; ratio = baseline / value (> 1: meshwatch is cheaper). The sum over
all rule groups of `prometheus_rule_group_last_duration_seconds` is in params (median of
the samples) but is not the value: it is wall time, and on 2 cores shared with other work the
groups' rule queries wait for CPU and for the query gate, which inflates it by orders of
magnitude. params also give recording rules, alert rules and recorded series per SLO and
missed iterations (evaluations skipped because a group ran over its interval).

Live data only (no 30 d history): the baseline's `rate(x[3d])` reads only the minutes that
exist, so its cost here is a lower bound; meshwatch's raw reads stay 5 minutes long whatever
the history. `rule_eval_history` measures both sides again after a whole period of history
(the steady state users live in). `MESHWATCH_BENCH_SLOS` changes the SLO count (default 1000).
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

import httpx
import yaml

from benchmarks import sloth_rules
from benchmarks.result import Result
from meshwatch.model import SLO, Matcher, RatioSLI, Selector, Window
from meshwatch.render.rules import rule_files
from tests.support.backfill import CODE_LABEL, REQUESTS, SERVICE_LABEL, LiveExporter, Traffic
from tests.support.prometheus_run import PrometheusProcess, prometheus_config

EVAL_S = 60  # long enough that neither side misses an iteration on 2 shared cores
WARMUP_S = float(os.environ.get("MESHWATCH_BENCH_WARMUP_S", "150"))
SAMPLES = 3
DURATION = "prometheus_rule_group_last_duration_seconds"
COMPACTIONS = "prometheus_tsdb_compactions_total"


def slos(count: int) -> list[SLO]:
    out = []
    for i in range(count):
        total = Selector(REQUESTS, (Matcher(SERVICE_LABEL, "=", f"svc{i:04d}"),))
        bad = total.with_matchers(Matcher(CODE_LABEL, "=~", "5.."))
        sli = RatioSLI(total=total, bad=bad)
        out.append(
            SLO(f"svc{i:04d}", "availability", 99.9, Window.rolling(timedelta(days=30)), sli)
        )
    return out


def traffic(count: int) -> list[Traffic]:
    return [
        Traffic(
            f"svc{i:04d}", rps=2.0 + i % 5, error_ratio=1.0 if i % 7 == 0 else 0.001 * (1 + i % 6)
        )
        for i in range(count)
    ]


def _meshwatch_files(items: Sequence[SLO], folder: Path) -> list[Path]:
    paths = []
    for name, text in rule_files(items).items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def _sloth_files(items: Sequence[SLO], folder: Path) -> list[Path]:
    path = folder / "sloth.yaml"
    groups = [g for slo in items for g in sloth_rules.groups(slo)]
    text = yaml.dump({"groups": groups}, Dumper=yaml.CSafeDumper, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return [path]


def _metric_lines(url: str, name: str) -> list[tuple[str, float]]:
    text = httpx.get(f"{url}/metrics", timeout=30).text
    found = []
    for line in text.splitlines():
        if line.startswith((name + "{", name + " ")):
            labels, _, value = line.rpartition(" ")
            found.append((labels, float(value)))
    return found


def _count(prom: PrometheusProcess, expr: str) -> int:
    result = prom.query(f"count({expr})")
    return int(float(result[0]["value"][1])) if result else 0


def _series_since(prom: PrometheusProcess, expr: str, seconds: float) -> int:
    """How many series matching `expr` hold a sample in the last `seconds`, live or stale:
    more than `_count` finds live means a series changed its labels in that time."""
    now = time.time()
    params = {"match[]": expr, "start": f"{now - seconds:.0f}", "end": f"{now:.0f}"}
    return len(prom.api("series", params))


def rules_in(files: Sequence[Path]) -> list[dict[str, object]]:
    """Every rule of the rule files `files`, in order."""
    return [
        rule
        for path in files
        for group in yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)["groups"]
        for rule in group["rules"]
    ]


Writer = Callable[[Sequence[SLO], Path], list[Path]]
Prepare = Callable[[list[dict[str, object]], Path], dict[str, float]]


def _measure(
    name: str,
    items: Sequence[SLO],
    write: Writer,
    series_expr: str,
    target: str,
    workdir: Path,
    *,
    prepare: Prepare | None = None,
    retention: str = "1d",
) -> dict[str, float]:
    """Load `write`'s rules into a fresh Prometheus scraping `target` and measure a cycle.

    `prepare(rules, data_dir)`, when given, fills the data directory before Prometheus starts
    (the steady-state history) and returns figures that join the result."""
    folder = workdir / name
    folder.mkdir()
    files = write(items, folder)
    rules = rules_in(files)
    prepared = prepare(rules, folder / "prometheus" / "data") if prepare is not None else {}
    prom = PrometheusProcess(
        shutil.which("prometheus") or "/usr/bin/prometheus",
        folder / "prometheus",
        config=prometheus_config(
            scrape_targets=[target],
            rule_files=files,
            scrape_interval="5s",
            evaluation_interval=f"{EVAL_S}s",
        ),
        retention=retention,
        extra_args=["--query.max-concurrency=100"],
    )
    try:
        prom.start(timeout=180)
        time.sleep(WARMUP_S)
        totals = []
        compactions = _metric_lines(prom.url, COMPACTIONS)[0][1]
        cpu = _metric_lines(prom.url, "process_cpu_seconds_total")[0][1]
        for _ in range(SAMPLES):
            time.sleep(EVAL_S)
            totals.append(sum(v for _, v in _metric_lines(prom.url, DURATION)))
        cpu = _metric_lines(prom.url, "process_cpu_seconds_total")[0][1] - cpu
        compactions = _metric_lines(prom.url, COMPACTIONS)[0][1] - compactions
        missed = sum(
            v for _, v in _metric_lines(prom.url, "prometheus_rule_group_iterations_missed_total")
        )
        series = _count(prom, series_expr)
        recent = _series_since(prom, series_expr, 1800)
        raw = _series_since(prom, REQUESTS, 1800)
    finally:
        prom.stop()
    n = len(items)
    return prepared | {
        "cpu_s_per_cycle": cpu / SAMPLES,
        "group_duration_sum_s": statistics.median(totals),
        "recording_rules_per_slo": sum(1 for r in rules if "record" in r) / n,
        "alert_rules_per_slo": sum(1 for r in rules if "alert" in r) / n,
        "series_per_slo": series / n,
        "series_in_last_30m_per_slo": recent / n,
        "raw_series_in_last_30m_per_slo": raw / n,
        "missed_iterations": missed,
        "compactions_while_measured": compactions,
    }


def run() -> Result:
    count = int(os.environ.get("MESHWATCH_BENCH_SLOS", "1000"))
    items = slos(count)
    exporter = LiveExporter(traffic(count)).start()
    try:
        with tempfile.TemporaryDirectory(prefix="meshwatch-bench-rule-eval-") as tmp:
            workdir = Path(tmp)
            mesh = _measure(
                "meshwatch",
                items,
                _meshwatch_files,
                '{__name__=~"meshwatch:.+"}',
                exporter.target,
                workdir,
            )
            sloth = _measure(
                "sloth",
                items,
                _sloth_files,
                '{__name__=~"slo:.+|sloth_slo_info"}',
                exporter.target,
                workdir,
            )
    finally:
        exporter.stop()
    return Result(
        name="rule_eval",
        value=mesh["cpu_s_per_cycle"],
        unit="s",
        baseline_name="rules of Sloth v0.16's shape for the same SLOs",
        baseline_value=sloth["cpu_s_per_cycle"],
        higher_is_better=False,
        params={
            "slos": count,
            "evaluation_interval_s": EVAL_S,
            "samples": SAMPLES,
            "meshwatch": {k: round(v, 4) for k, v in mesh.items()},
            "sloth_shape": {k: round(v, 4) for k, v in sloth.items()},
            "prometheus": "2.42 (Debian), live data only, 5 s scrape",
        },
    )


if __name__ == "__main__":
    print(run().json_line())
