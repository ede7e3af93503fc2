"""Real Prometheus -> real Alertmanager 0.25 -> a running `meshwatch serve`, firing then resolved.

The alert rules are the ones `meshwatch generate rules` writes for an SLO whose burn-rate
windows are set short in the native spec (`alerting.windows`: page 1m/10s > 2x, ticket
2m/10s > 1x), so the whole round trip takes seconds instead of hours. A live exporter serves
100 % errors; Prometheus (1 s scrape and evaluation) fires both alerts; Alertmanager (group
wait 1 s, group interval 2 s) delivers the group to meshwatch's webhook with the bearer
token; meshwatch stores both alerts linked to the SLO. The errors stop, the alerts resolve,
and the resolved delivery updates the same stored alerts (idempotent on fingerprint +
startsAt). Alertmanager must not have logged a single failed notification.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.alertmanager import AlertmanagerProcess, alertmanager_config
from tests.support.backfill import LiveExporter, Traffic
from tests.support.binaries import require_binary
from tests.support.prometheus_run import PrometheusProcess, prometheus_config
from tests.support.serve import TOKEN, WEBHOOK_PATH, ServeProcess, live_ratio_spec

pytestmark = pytest.mark.integration

SLO_ID = "live-availability"
FAST_WINDOWS = """\
    alerting:
      windows:
        - {severity: page, long: 1m, short: 10s, factor: 2}
        - {severity: ticket, long: 2m, short: 10s, factor: 1}
"""


def wait_for(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    value = fetch()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; last value: {value}")
        time.sleep(0.25)
        value = fetch()
    return value


def generate_rules(spec: Path, out: Path) -> Path:
    """`meshwatch generate rules` as a user runs it; the one file it writes."""
    subprocess.run(
        [sys.executable, "-m", "meshwatch", "generate", "rules", str(spec), "-o", str(out)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    (rules,) = out.glob("*.yaml")
    return rules


def test_alerts_fire_and_resolve_through_alertmanager_into_meshwatch(tmp_path: Path) -> None:
    prometheus_bin = require_binary("prometheus", "/usr/bin/prometheus")
    alertmanager_bin = require_binary("prometheus-alertmanager", "/usr/bin/prometheus-alertmanager")
    spec = tmp_path / "live.yaml"
    spec.write_text(live_ratio_spec() + FAST_WINDOWS)
    rules = generate_rules(spec, tmp_path / "rules")
    assert "MeshwatchErrorBudgetBurn" in rules.read_text()

    live = LiveExporter([Traffic("live", rps=200.0, error_ratio=1.0)]).start()
    serve = ServeProcess(
        tmp_path / "serve",
        config={
            "database_url": f"sqlite:///{tmp_path / 'meshwatch.db'}",
            "specs": [str(spec)],
            "scrape_targets": [{"name": "live", "url": f"http://{live.target}/metrics"}],
        },
    )
    alertmanager: AlertmanagerProcess | None = None
    prometheus: PrometheusProcess | None = None
    try:
        serve.start()
        alertmanager = AlertmanagerProcess(
            alertmanager_bin,
            tmp_path / "alertmanager",
            alertmanager_config(f"{serve.url}{WEBHOOK_PATH}", token=TOKEN),
        ).start()
        config = json.loads(prometheus_config(scrape_targets=[live.target], rule_files=[rules]))
        config["alerting"] = {
            "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{alertmanager.port}"]}]}]
        }
        prometheus = PrometheusProcess(
            prometheus_bin, tmp_path / "prometheus", config=json.dumps(config), retention="1d"
        ).start()

        def stored(**params: str) -> list[dict[str, Any]]:
            response = httpx.get(
                f"{serve.url}/api/v1/alerts", params={"slo": SLO_ID, **params}, timeout=5
            )
            response.raise_for_status()
            result: list[dict[str, Any]] = response.json()
            return result

        firing = wait_for(lambda: stored(state="firing"), lambda a: len(a) == 2, timeout=45)
        assert {a["labels"]["meshwatch_severity"] for a in firing} == {"page", "ticket"}
        for alert in firing:
            assert alert["alertname"] == "MeshwatchErrorBudgetBurn"
            assert alert["slo_id"] == SLO_ID
            assert alert["ends_at"] is None
            assert alert["annotations"]["burn_windows"]
        in_alertmanager = {a["fingerprint"]: a for a in alertmanager.alerts()}
        assert {a["fingerprint"] for a in firing} <= set(in_alertmanager)

        live.set_error_ratio("live", 0.0)
        resolved = wait_for(lambda: stored(state="resolved"), lambda a: len(a) == 2, timeout=45)
        assert {a["fingerprint"] for a in resolved} == {a["fingerprint"] for a in firing}
        by_fingerprint = {a["fingerprint"]: a for a in firing}
        for alert in resolved:
            assert alert["starts_at"] == by_fingerprint[alert["fingerprint"]]["starts_at"]
            assert alert["ends_at"] is not None
            assert alert["deliveries"] >= 2
        assert len(stored()) == 2  # the resolved delivery updated the same rows
        log = alertmanager.log(100_000)
        assert "Notify success" in log
        assert "Notify for alerts failed" not in log, log
    finally:
        if prometheus is not None:
            prometheus.stop()
        if alertmanager is not None:
            alertmanager.stop()
        serve.stop()
        live.stop()
