"""Baseline runner for bench_evaluate: runs INSIDE slo-generator's own venv, not meshwatch's.

    .venv-slogen/bin/python benchmarks/bench_evaluate_slogen.py JOB.json

JOB.json holds `config` (slo-generator's shared config) and `slos` (its v2 SLO configs).
Every SLO is computed once with `slo_generator.compute.compute` at "now", as its CLI and
API do; the wall-clock time of the whole loop is printed as one JSON line, with the number
of valid reports and each SLO's SLI over the `1h` step (for a cross-check with meshwatch).
"""

from __future__ import annotations

import json
import logging
import sys
import time


def main(path: str) -> int:
    from slo_generator.compute import compute

    logging.disable(logging.CRITICAL)  # it logs every report; printing is not what we measure
    with open(path) as handle:
        job = json.load(handle)
    config, slos = job["config"], job["slos"]
    start = time.perf_counter()
    reports = [compute(slo, config) for slo in slos]
    seconds = time.perf_counter() - start
    valid = sum(1 for slo_reports in reports for r in slo_reports if r.get("valid"))
    sli_1h = {
        r["metadata"]["name"]: r["sli_measurement"]
        for slo_reports in reports
        for r in slo_reports
        if r.get("valid") and r.get("error_budget_policy_step_name") == "1h"
    }
    print(json.dumps({"seconds": seconds, "valid": valid, "sli_1h": sli_1h}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
