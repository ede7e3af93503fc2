"""Grafana dashboards for 10,000 SLOs (1,000 services x 10), build + JSON text, in seconds.

The SLOs are the ten shapes of `bench_load`'s spec (ratio, Istio, latency, Envoy) loaded
through `meshwatch.spec`, so every panel kind is built. Baseline: the same dashboards built
the same way, but written with the standard library encoder and grafanalib's own settings
(`grafanalib._gen.write_dashboard`: `json.dump(..., sort_keys=True, indent=2)`), which is
what a grafanalib-based generator does by default. Both produce byte-identical files; the
ratio is what the orjson writer saves. `build` (grafanalib objects -> dicts) is timed once
and counted in both.
"""

from __future__ import annotations

import json
import time

from benchmarks.bench_load import spec_text
from benchmarks.result import Result
from meshwatch.render.dashboards import build
from meshwatch.spec import load_text

SLOS = 10_000


def run() -> Result:
    slos = load_text(spec_text(SLOS), "bench.yaml").slos
    start = time.perf_counter()
    boards = build(slos)
    built = time.perf_counter() - start
    start = time.perf_counter()
    ours = [board.text() for board in boards]
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    stdlib = [
        json.dumps(board.model, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        for board in boards
    ]
    stdlib_s = time.perf_counter() - start
    if ours != stdlib:
        raise AssertionError("orjson and json wrote different dashboards")
    return Result(
        name="dashboards_10k_slos",
        value=built + ours_s,
        unit="s",
        baseline_name="same build, stdlib json writer (grafanalib write_dashboard settings)",
        baseline_value=built + stdlib_s,
        higher_is_better=False,
        params={
            "slos": len(slos),
            "dashboards": len(boards),
            "build_s": round(built, 3),
            "write_s": round(ours_s, 3),
            "megabytes": round(sum(len(t) for t in ours) / 1e6, 1),
        },
    )
