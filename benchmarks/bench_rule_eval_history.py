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

Writing the history takes minutes (promtool: about 4 min at 100 SLOs, 14 at 300), so the
minutes it took are written too, in up to `GAP_FILLS` short rounds, until less than one
evaluation interval is left: the raw counters go on from where the history left them and the
recorded series keep their step, so Prometheus starts at most a minute after the newest
backfilled sample (`history_gap_at_start_s` in params) and every window its rules read, the
short ones included, finds data. The live exporter's counters start from their own values,
so each raw series shows one counter reset where the live samples begin, on both sides.

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
GAP_FILLS = 3  # rounds of history written for the minutes the previous round took


def _prepare(
    traffic: Sequence[Traffic], raw_reach: timedelta, target: str, service_label: str
) -> bench_rule_eval.Prepare:
    """Backfill what a side's rules read in the past into its Prometheus data directory."""

    def prepare(rules: list[dict[str, object]], data_dir: Path) -> dict[str, float]:
        reach = {  # what is read only at the current instant needs no history
            name: back
            for name, back in history_backfill.reach_of_rules(rules).items()
            if back > history_backfill.LOOKBACK and name != REQUESTS  # raw: same for both
        }
        by_service = {t.service: t for t in traffic}
        series = history_backfill.recorded_series(rules, service_label, by_service)
        end = _minute()
        origin = end - int(raw_reach.total_seconds())  # where every raw counter starts at 0
        source = data_dir.parent.parent / "history.om"
        scrape = (("instance", target), ("job", SCRAPE_JOB))
        promtool = shutil.which("promtool") or "/usr/bin/promtool"

        def history(until: int, after: int | None) -> tuple[int, int, float, float]:
            """The history up to `until` (after `after` only) as blocks: samples written,
            seconds writing their text and seconds of promtool."""
            began = time.perf_counter()
            with source.open("w", encoding="utf-8") as out:
                raw = history_backfill.write_raw(
                    out,
                    traffic,
                    end=until,
                    length=timedelta(seconds=until - origin),
                    step=SCRAPE_S,
                    scrape_labels=scrape,
                    after=after,
                )
                recorded = history_backfill.write_recorded(
                    out, series, reach, end=until, step=bench_rule_eval.EVAL_S, after=after
                )
                history_backfill.eof(out)
            written = time.perf_counter()
            create_blocks(promtool, source, data_dir, max_block=BLOCK, timeout=3600)
            source.unlink()
            return raw, recorded, written - began, time.perf_counter() - written

        raw, recorded, write_s, promtool_s = history(end, None)
        # promtool took minutes: the history since `end` is written too, until what is left
        # is less than one evaluation interval (each round is minutes of data, seconds long)
        filled, fills = end, 0
        while fills < GAP_FILLS and (now := _minute()) > filled:
            more_raw, more_recorded, _, _ = history(now, filled)
            raw, recorded, filled, fills = raw + more_raw, recorded + more_recorded, now, fills + 1
        blocks = sum(1 for p in data_dir.iterdir() if (p / "meta.json").exists())
        return {
            "history_raw_samples": raw,
            "history_recorded_samples": recorded,
            "history_recorded_series": sum(1 for s in series if s.name in reach),
            "history_blocks": blocks,
            "history_write_s": write_s,
            "history_promtool_s": promtool_s,
            "history_gap_fills": fills,
            "history_gap_at_start_s": time.time() - filled,  # Prometheus starts next
        }

    return prepare


def _minute() -> int:
    """Now, down to a whole evaluation interval (the recorded history's step)."""
    return int(time.time()) // bench_rule_eval.EVAL_S * bench_rule_eval.EVAL_S


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
