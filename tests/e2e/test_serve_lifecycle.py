"""`meshwatch serve` as a real process: defaults, readiness, graceful shutdown, scrape mode.

- With no config file and no MESHWATCH_* variable it starts in an empty directory on SQLite
  (the database file appears there), answers, and refuses writes (no token configured).
- With SLOs, /readyz is 503 until the first evaluation has completed, then 200.
- SIGTERM while an evaluation is in flight (a real Prometheus behind a proxy that holds
  each query for a while) lets the evaluation finish and be stored before the process exits.
- Embedded scrape collector: a live exporter with 25 % errors, 1 s scrape and evaluation ->
  the SLO's status has numbers and a state, and /metrics exports the generic series.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from meshwatch.settings import WEBHOOK_MAX_BODY_BYTES
from meshwatch.store import Store, make_engine
from tests.support.backfill import LiveExporter, Traffic
from tests.support.binaries import require_binary
from tests.support.prometheus_run import PrometheusProcess, prometheus_config
from tests.support.serve import ServeProcess, am_alert, am_payload, live_ratio_spec
from tests.support.slow_proxy import SlowProxy

pytestmark = pytest.mark.integration

SLO_ID = "live-availability"


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_starts_on_embedded_defaults_without_config_or_env(tmp_path: Path) -> None:
    with ServeProcess(tmp_path, config=None, token=None) as serve:
        assert httpx.get(f"{serve.url}/healthz").json() == {"status": "ok"}
        ready = httpx.get(f"{serve.url}/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {
            "status": "ready",
            "slos": 0,
            "leader": True,
        }  # SQLite: always leads
        assert httpx.get(f"{serve.url}/api/v1/slos").json() == []
        assert httpx.get(f"{serve.url}/api/v1/alerts").json() == []
        assert "meshwatch_" in httpx.get(f"{serve.url}/metrics").text
        body = am_payload([am_alert()])
        url = f"{serve.url}/api/v1/alerts/alertmanager"
        assert httpx.post(url, json=body).status_code == 401
        forbidden = httpx.post(url, json=body, headers={"Authorization": "Bearer x"})
        assert forbidden.status_code == 403
        assert "MESHWATCH_API_TOKEN" in forbidden.json()["detail"]
        # The webhook's body limit (default 32 MiB: a whole 10,000-alert group) holds
        # through uvicorn, declared or streamed.
        big = b"x" * (WEBHOOK_MAX_BODY_BYTES + 1024 * 1024)
        assert httpx.post(url, content=big).status_code == 413
        chunks = (big[i : i + 65536] for i in range(0, len(big), 65536))
        assert httpx.post(url, content=chunks).status_code == 413
        assert httpx.get(f"{serve.url}/healthz").status_code == 200
    assert (tmp_path / "meshwatch.db").exists()  # sqlite:///./meshwatch.db in the cwd
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".yaml") == []


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusProcess]:
    binary = require_binary("prometheus", "/usr/bin/prometheus")
    live = LiveExporter([Traffic("live", rps=100.0, error_ratio=0.5)]).start()
    workdir = tmp_path_factory.mktemp("prometheus")
    prom = PrometheusProcess(
        binary, workdir, config=prometheus_config(scrape_targets=[live.target])
    )
    with prom:
        yield prom
    live.stop()


def test_readyz_then_sigterm_during_an_evaluation_finishes_it(
    tmp_path: Path, prometheus: PrometheusProcess
) -> None:
    proxy = SlowProxy(prometheus.url, delay=1.5).start()
    (tmp_path / "live.yaml").write_text(live_ratio_spec())
    url = f"sqlite:///{tmp_path / 'meshwatch.db'}"
    config = {
        "database_url": url,
        "specs": [str(tmp_path / "live.yaml")],
        "prometheus_url": proxy.url,
        "evaluate_interval": 6,
    }
    serve = ServeProcess(tmp_path / "serve", config=config)
    try:
        serve.start()
        # The first evaluation starts at once and waits on the slow Prometheus.
        wait_until(lambda: proxy.in_flight() > 0, 20, "the first evaluation's query")
        not_ready = httpx.get(f"{serve.url}/readyz")
        assert not_ready.status_code == 503
        assert "no evaluation has completed yet" in not_ready.json()["problems"]
        wait_until(
            lambda: httpx.get(f"{serve.url}/readyz").status_code == 200, 30, "ready after one"
        )
        assert httpx.get(f"{serve.url}/api/v1/slos/{SLO_ID}/status").status_code == 200
        first_done = time.monotonic()
        # The second evaluation: SIGTERM while its query is held by the proxy.
        wait_until(
            lambda: proxy.in_flight() > 0 and proxy.started[-1] > first_done + 1,
            20,
            "the second evaluation's query",
        )
        signalled = datetime.now(UTC)
        serve.terminate()
        serve.wait(30)
    finally:
        serve.stop()
        proxy.stop()
    log = serve.log(20000)
    assert "Application shutdown complete" in log, log
    assert log.count("evaluated 1 SLOs") == 2, log
    store = Store(make_engine(url))
    try:
        points = store.history.history(SLO_ID, signalled - timedelta(minutes=5), datetime.now(UTC))
    finally:
        store.close()
    assert len(points) == 2, points
    assert points[-1].at > signalled - timedelta(seconds=5)  # the cycle cut by SIGTERM
    assert points[-1].status.burn_rate, points[-1].status  # with numbers from Prometheus


def test_scrape_collector_end_to_end(tmp_path: Path) -> None:
    live = LiveExporter([Traffic("live", rps=200.0, error_ratio=0.25)]).start()
    (tmp_path / "live.yaml").write_text(live_ratio_spec())
    config = {
        "database_url": f"sqlite:///{tmp_path / 'meshwatch.db'}",
        "specs": [str(tmp_path / "live.yaml")],
        "scrape_targets": [{"name": "live", "url": f"http://{live.target}/metrics"}],
        "evaluate_interval": 1,
        "scrape_interval": 1,
    }
    try:
        with ServeProcess(tmp_path / "serve", config=config) as serve:
            status_url = f"{serve.url}/api/v1/slos/{SLO_ID}/status"

            def measured() -> bool:
                response = httpx.get(status_url)
                return response.status_code == 200 and response.json()["sli"].get("5m") is not None

            wait_until(measured, 30, "a measured status")
            time.sleep(2)  # a few more scrapes: the ratio settles on the exporter's
            status = httpx.get(status_url).json()
            metrics = httpx.get(f"{serve.url}/metrics").text
            slos = httpx.get(f"{serve.url}/api/v1/slos").json()
    finally:
        live.stop()
    assert status["state"] == "breached"
    assert status["objective"] == pytest.approx(0.99)
    assert status["sli"]["5m"] == pytest.approx(0.75, abs=0.05)
    assert status["burn_rate"]["5m"] == pytest.approx(25.0, rel=0.2)
    assert status["requests"]["5m"] > 100
    assert status["budget_remaining"] < 0
    assert [s["id"] for s in slos] == [SLO_ID]
    labels = 'meshwatch_service="live",meshwatch_slo="availability"'
    assert f"meshwatch_slo_objective_ratio{{{labels}}} 0.99" in metrics
    assert f'meshwatch_slo_sli_ratio{{{labels},window="5m"}}' in metrics
    assert f'meshwatch_slo_burn_rate{{{labels},window="5m"}}' in metrics
    assert f'meshwatch_slo_status{{{labels},state="breached"}} 1.0' in metrics
    assert "meshwatch_slo_error_budget_remaining_ratio" in metrics
