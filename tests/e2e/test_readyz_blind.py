"""A `meshwatch serve` that cannot read its source says so: /readyz, log, /metrics, reasons.

Real processes: `meshwatch serve` (subprocess) pointed at a Prometheus URL on a closed port
(a socket bound on 127.0.0.1 but not listening, so the port stays closed and no other test
can take it: every connection is refused), and, in scrape mode, at scrape targets on such a
port. Expected: /readyz answers 503 with the short reason, every SLO is `unknown` with that
same reason (not hundreds of characters of HTTP client text), the evaluation log line
counts the failure as errors, and meshwatch's own /metrics shows the collector down.
Timeouts derive from the evaluation interval (a few cycles, plus a start-up allowance).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.process import wait_for
from tests.support.serve import ServeProcess, live_ratio_spec

pytestmark = pytest.mark.integration

EVALUATE_SECONDS = 1.0
CYCLES = 10  # evaluation cycles allowed before the answer must be there (loaded machine)
SLO_ID = "live-availability"


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections for as long as the test runs."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def _blind_service(tmp_path: Path, source: dict[str, object]) -> ServeProcess:
    (tmp_path / "live.yaml").write_text(live_ratio_spec())
    config = {
        "database_url": f"sqlite:///{tmp_path / 'meshwatch.db'}",
        "specs": [str(tmp_path / "live.yaml")],
        "evaluate_interval": EVALUATE_SECONDS,
        "scrape_interval": EVALUATE_SECONDS,
        **source,
    }
    return ServeProcess(tmp_path / "serve", config=config)


def _check_blind(serve: ServeProcess, reason: str) -> None:
    timeout = EVALUATE_SECONDS * CYCLES + 10

    def not_ready() -> dict[str, object] | None:
        response = httpx.get(f"{serve.url}/readyz", timeout=5)
        body = response.json()
        return body if response.status_code == 503 and reason in body["problems"] else None

    wait_for(not_ready, timeout, f"/readyz 503 with {reason!r}")
    body = not_ready()
    assert body is not None and body["status"] == "not ready", body
    status = httpx.get(f"{serve.url}/api/v1/slos/{SLO_ID}/status", timeout=5).json()
    assert status["state"] == "unknown"
    assert status["reason"] == reason
    metrics = httpx.get(f"{serve.url}/metrics", timeout=5).text
    collector = "prometheus" if reason.startswith("prometheus") else "scrape"
    assert f'meshwatch_collector_up{{collector="{collector}"}} 0.0' in metrics, metrics
    errors = re.search(
        rf'meshwatch_collector_errors_total{{collector="{collector}"}} ([0-9.e+]+)', metrics
    )
    assert errors is not None and float(errors.group(1)) >= 1, metrics
    wait_for(lambda: f"(1 errors: {reason})" in serve.log(200_000), timeout, "the log line")
    assert "(0 errors)" not in serve.log(200_000)


def test_prometheus_on_a_closed_port_is_not_ready(tmp_path: Path, closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    with _blind_service(tmp_path, {"prometheus_url": url}) as serve:
        _check_blind(serve, f"prometheus unreachable: connection refused ({url})")


def test_all_scrape_targets_failing_is_not_ready(tmp_path: Path, closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}/metrics"
    targets = {"scrape_targets": [{"name": "envoy", "url": url}]}
    with _blind_service(tmp_path, targets) as serve:
        _check_blind(serve, f"scrape targets unreachable: envoy: connection refused ({url})")
