"""Benchmark `rule_eval_history`: `rule_eval` at steady state, after a whole SLO period of data.

`rule_eval` loads each rule set into a fresh Prometheus, where `rate(x[3d])` and
`sum_over_time(r[30d])` find only the minutes that exist. The cost users pay forever is the one
after the rules have run for the 30 d period, when every range and offset in the rules finds
its data. This benchmark measures that state:

- the same SLOs, traffic, live exporter, Prometheus flags and measurement as `rule_eval`
  (`bench_rule_eval._measure`: Prometheus CPU seconds per 60 s evaluation cycle);
- before each side's Prometheus starts, its data directory receives the history its own
  rules read (`benchmarks/history_backfill.py`): how far back each metric is read comes from
  the rule expressions themselves; raw counters get that much history at the 5 s scrape step
  (both sides get the longer of the two sides' reach, so the raw data is the same), and every
  recorded series read in the past gets its reach at the 60 s evaluation step;
- blocks are cut at 54 h (`--max-block-duration`), the largest that Prometheus's own
  compaction makes with a 40 d retention, so no compaction runs while it is measured
  (`compactions_while_measured` in params says so).

The history ends when it is written, and Prometheus starts only after promtool has run (about
5 min later at 100 SLOs, 16 min at 300): those minutes hold no data. At measurement time the
gap lies 2.5 to 2.5 + gap minutes back, where only meshwatch's 30m window reads single points
(its 5m terms at offsets 5m-20m: up to 8 of its 98 selectors per SLO find nothing there and
fall back to `vector(0)`; how that compares with reading a sample is not measured). Sloth's
ranges span the gap and read around it.

The SLO count defaults to 100 (`MESHWATCH_BENCH_HISTORY_SLOS`): the history for 1,000 would be
about 2.5 x 10^8 samples of OpenMetrics text. The cost per SLO is what the ratio compares.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from benchmarks import bench_rule_eval, history_backfill
from benchmarks.result import Result
from meshwatch.model import SLO
from tests.support.backfill import REQUESTS, LiveExporter, Traffic, create_blocks

BLOCK = "54h"
SCRAPE_S = 5  # bench_rule_eval's scrape interval
SCRAPE_JOB = "live"  # prometheus_config's default job name: the labels the scrape adds


def _prepare(
    traffic: Sequence[Traffic], raw_reach: timedelta, target: str, service_label: str
) -> bench_rule_eval.Prepare:
    """Backfill what a side's rules read in the past into its Prometheus data directory."""

    def prepare(rules: list[dict[str, object]], data_dir: Path) -> dict[str, float]:
        started = time.perf_counter()
        reach = {  # what is read only at the current instant needs no history
            name: back
            for name, back in history_backfill.reach_of_rules(rules).items()
            if back > history_backfill.LOOKBACK and name != REQUESTS  # raw: same for both
        }
        by_service = {t.service: t for t in traffic}
        series = history_backfill.recorded_series(rules, service_label, by_service)
        end = int(time.time()) // bench_rule_eval.EVAL_S * bench_rule_eval.EVAL_S
        source = data_dir.parent.parent / "history.om"
        scrape = (("instance", target), ("job", SCRAPE_JOB))
        with source.open("w", encoding="utf-8") as out:
            raw = history_backfill.write_raw(
                out, traffic, end=end, length=raw_reach, step=SCRAPE_S, scrape_labels=scrape
            )
            recorded = history_backfill.write_recorded(
                out, series, reach, end=end, step=bench_rule_eval.EVAL_S
            )
            history_backfill.eof(out)
        written = time.perf_counter()
        promtool = shutil.which("promtool") or "/usr/bin/promtool"
        create_blocks(promtool, source, data_dir, max_block=BLOCK, timeout=3600)
        source.unlink()
        blocks = sum(1 for p in data_dir.iterdir() if (p / "meta.json").exists())
        return {
            "history_raw_samples": raw,
            "history_recorded_samples": recorded,
            "history_recorded_series": sum(1 for s in series if s.name in reach),
            "history_blocks": blocks,
            "history_write_s": written - started,
            "history_promtool_s": time.perf_counter() - written,
        }

    return prepare


def _raw_reach(items_rules: Sequence[list[dict[str, object]]]) -> timedelta:
    reach = timedelta(0)
    for rules in items_rules:
        reach = max(reach, history_backfill.reach_of_rules(rules).get(REQUESTS, timedelta(0)))
    return reach


def _rules_of(
    write: bench_rule_eval.Writer, items: Sequence[SLO], folder: Path
) -> list[dict[str, object]]:
    folder.mkdir()
    return bench_rule_eval.rules_in(write(items, folder))


def run() -> Result:
    count = int(os.environ.get("MESHWATCH_BENCH_HISTORY_SLOS", "100"))
    items = bench_rule_eval.slos(count)
    traffic = bench_rule_eval.traffic(count)
    exporter = LiveExporter(traffic).start()
    try:
        with tempfile.TemporaryDirectory(prefix="meshwatch-bench-rule-eval-history-") as tmp:
            workdir = Path(tmp)
            sides = {
                "meshwatch": (
                    bench_rule_eval._meshwatch_files,
                    '{__name__=~"meshwatch:.+"}',
                    "meshwatch_service",
                ),
                "sloth": (
                    bench_rule_eval._sloth_files,
                    '{__name__=~"slo:.+|sloth_slo_info"}',
                    "sloth_service",
                ),
            }
            raw_reach = _raw_reach(
                [_rules_of(w, items, workdir / f"reach-{n}") for n, (w, _, _) in sides.items()]
            )
            measured = {
                name: bench_rule_eval._measure(
                    name,
                    items,
                    write,
                    expr,
                    exporter.target,
                    workdir,
                    prepare=_prepare(traffic, raw_reach, exporter.target, label),
                    retention="40d",
                )
                for name, (write, expr, label) in sides.items()
            }
    finally:
        exporter.stop()
    mesh, sloth = measured["meshwatch"], measured["sloth"]
    return Result(
        name="rule_eval_history",
        value=mesh["cpu_s_per_cycle"],
        unit="s",
        baseline_name="rules of Sloth v0.16's shape for the same SLOs, same history",
        baseline_value=sloth["cpu_s_per_cycle"],
        higher_is_better=False,
        params={
            "slos": count,
            "evaluation_interval_s": bench_rule_eval.EVAL_S,
            "samples": bench_rule_eval.SAMPLES,
            "raw_history_h": raw_reach / timedelta(hours=1),
            "meshwatch": {k: round(v, 4) for k, v in mesh.items()},
            "sloth_shape": {k: round(v, 4) for k, v in sloth.items()},
            "prometheus": f"2.42 (Debian), steady state: history as far back as each side's rules "
            f"read, {BLOCK} blocks, {SCRAPE_S} s scrape",
        },
    )


if __name__ == "__main__":
    print(run().json_line())
