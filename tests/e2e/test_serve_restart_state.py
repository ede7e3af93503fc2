"""A restart of `meshwatch serve` keeps what it knew: scrape windows and firing alerts.

Real processes: an Istio-style exporter (tests.support.backfill.LiveExporter, counters
growing with wall-clock time) scraped every second by the embedded engine of a real
`meshwatch serve` (subprocess, SQLite store), which is then stopped (SIGTERM, graceful) or
killed (SIGKILL) and started again on the same database.

- Windows: before the stop the 5m window holds at least MIN_REQUESTS requests (>= 10 s
  of traffic). The first evaluation after the restart must report at least that many: the
  windows were resumed from the store (the final snapshot of a graceful stop, or the last
  periodic one before a kill). Without the snapshot the first scrape after a start is only
  a baseline, so that evaluation would count about one scrape interval of traffic.
- Alerts: Alertmanager deliveries (webhook v4 bodies) mark backend v2 burning (a firing
  page alert), and v1 firing then resolved, plus a firing ticket for v1 (not a page). After
  the restart, before any new delivery, the loop's firing set (`alerting` in
  /api/v1/targets) is exactly {v2}.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from meshwatch.store import Store, make_engine
from tests.support.backfill import LiveExporter, Traffic
from tests.support.process import wait_for
from tests.support.serve import WEBHOOK_PATH, ServeProcess, am_alert, am_payload

pytestmark = pytest.mark.integration

SLO_ID = "live-availability"
TARGET = "live-route"
RPS = 100.0
SCRAPE_SECONDS = 1.0
SNAPSHOT_SECONDS = 2.0
MIN_REQUESTS = RPS * 10  # ten seconds of traffic in the 5m window before the stop
STARTUP_SECONDS = 30.0  # interpreter start + migrations on a loaded machine

SPEC = f"""\
apiVersion: meshwatch/v1
kind: ServiceLevels
service: live
slos:
  - name: availability
    objective: 99.0
    window: 7d
    sli:
      mesh: {{kind: istio, service: live}}
    remediation:
      actuator: noop
      target: {TARGET}
      backends:
        - {{name: v1, weight: 50}}
        - {{name: v2, weight: 50}}
"""


@pytest.fixture
def exporter() -> Iterator[LiveExporter]:
    live = LiveExporter([Traffic("live", rps=RPS, error_ratio=0.1, version="v1")]).start()
    yield live
    live.stop()


def _config(tmp_path: Path, exporter: LiveExporter, periodic: bool) -> dict[str, Any]:
    (tmp_path / "live.yaml").write_text(SPEC)
    config: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'meshwatch.db'}",
        "specs": [str(tmp_path / "live.yaml")],
        "scrape_targets": [{"name": "live", "url": f"http://{exporter.target}/metrics"}],
        "scrape_interval": SCRAPE_SECONDS,
        "evaluate_interval": SCRAPE_SECONDS,
    }
    if periodic:
        config["snapshot_interval"] = SNAPSHOT_SECONDS
    return config


def _status(serve: ServeProcess) -> dict[str, Any]:
    response = httpx.get(f"{serve.url}/api/v1/slos/{SLO_ID}/status", timeout=5)
    response.raise_for_status()
    return dict(response.json())


def _requests_5m(status: dict[str, Any]) -> float:
    return float(status["requests"].get("5m") or 0.0)


def _alerting(serve: ServeProcess) -> list[str]:
    response = httpx.get(f"{serve.url}/api/v1/targets", timeout=5)
    response.raise_for_status()
    [target] = [t for t in response.json() if t["target"] == TARGET]
    return list(target["alerting"])


def _deliver(serve: ServeProcess, alerts: list[dict[str, Any]]) -> None:
    response = httpx.post(
        f"{serve.url}{WEBHOOK_PATH}", json=am_payload(alerts), headers=serve.headers(), timeout=10
    )
    assert response.status_code == 200, response.text


def _labels(backend: str, severity: str) -> dict[str, str]:
    return {
        "meshwatch_service": "live",
        "meshwatch_slo": "availability",
        "meshwatch_backend": backend,
        "meshwatch_severity": severity,
        "severity": severity,
    }


def _alerts_fire(serve: ServeProcess) -> None:
    started = datetime.now(UTC) - timedelta(minutes=1)
    _deliver(serve, [am_alert("fp-v2-page", labels=_labels("v2", "page"), starts_at=started)])
    resolved = am_alert("fp-v1-page", labels=_labels("v1", "page"), starts_at=started)
    _deliver(serve, [resolved])
    resolved = {**resolved, "status": "resolved", "endsAt": datetime.now(UTC).isoformat()}
    _deliver(serve, [resolved])
    _deliver(serve, [am_alert("fp-v1-ticket", labels=_labels("v1", "ticket"))])
    assert _alerting(serve) == ["v2"]


def _snapshot_time(database_url: str) -> datetime | None:
    store = Store(make_engine(database_url))
    try:
        snapshot = store.snapshots.load("scrape")
    finally:
        store.close()
    return None if snapshot is None else snapshot.saved_at


@pytest.mark.parametrize("stop", ["sigterm", "kill9"])
def test_restart_resumes_windows_and_firing_alerts(
    tmp_path: Path, exporter: LiveExporter, stop: str
) -> None:
    config = _config(tmp_path, exporter, periodic=stop == "kill9")
    first = ServeProcess(tmp_path / "serve-1", config=config).start(STARTUP_SECONDS)
    try:
        wait_for(
            lambda: _requests_5m(_status(first)) >= MIN_REQUESTS,
            MIN_REQUESTS / RPS * 3 + STARTUP_SECONDS,
            f"{MIN_REQUESTS:.0f} requests in the 5m window",
            every=SCRAPE_SECONDS / 4,
        )
        _alerts_fire(first)
        before = _requests_5m(_status(first))
        measured_at = datetime.now(UTC)
        if stop == "kill9":
            wait_for(
                lambda: (_snapshot_time(config["database_url"]) or measured_at) > measured_at,
                SNAPSHOT_SECONDS * 5,
                "a periodic snapshot after the measurement",
                every=SNAPSHOT_SECONDS / 4,
            )
            first.kill9()
        else:
            first.terminate()
            first.wait(30)  # uvicorn re-raises SIGTERM after its graceful shutdown
            assert "Application shutdown complete" in first.log(20_000)
            assert "saved the scrape snapshot on stop" in first.log(20_000)
    finally:
        first.stop()
    restarted_at = datetime.now(UTC)
    with ServeProcess(tmp_path / "serve-2", config=config) as second:
        assert _alerting(second) == ["v2"]  # from the store, before any new delivery

        def first_evaluation() -> dict[str, Any] | None:
            status = _status(second)
            at = datetime.fromisoformat(status["at"])
            return status if at > restarted_at and status["requests"].get("5m") else None

        wait_for(first_evaluation, SCRAPE_SECONDS * 10 + 10, "the first evaluation after restart")
        status = first_evaluation()
        assert status is not None
        log = second.log(50_000)
    after = _requests_5m(status)
    assert after >= before, (before, after, status)
    assert "resumed" in log and "scrape windows" in log, log
    # and no invented traffic: at most what the exporter served until the new evaluation
    elapsed = (datetime.fromisoformat(status["at"]) - measured_at).total_seconds()
    assert after <= before + RPS * (elapsed + 2 * SCRAPE_SECONDS), (before, after, elapsed)
