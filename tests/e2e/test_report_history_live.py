"""A report from history against the traffic generator's own count, with real processes.

Real Envoy (v1/v2 behind one route), the closed-loop traffic generator, and `meshwatch
serve` with its embedded scraper (1 s scrape, 1 s evaluation) writing history to SQLite.
The report `POST /api/v1/reports` builds from that history must count the requests Envoy
served once (issue 12 item 4). Tolerance: requests sent in the last two scrape intervals
before the traffic stopped may not be scraped yet, and Envoy's counters move in whole
scrapes; the figures must agree within 2 % plus two scrape intervals of traffic.
(The double counting of the old store shows when history crosses a clock hour; the
store tests in tests/integration/store/test_report_counts.py reproduce that exactly.)
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.closed_loop import Serve, Traffic, running, spec_text, write_spec
from tests.support.envoy import EnvoyHarness, run_envoy
from tests.support.process import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCRAPE_S = 1.0  # closed_loop.Serve: scrape_interval 1 s, evaluate_interval 1 s
RATE = 40.0  # requests/s the generator sends at most


@pytest.fixture(scope="module")
def envoy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EnvoyHarness]:
    with run_envoy(tmp_path_factory.mktemp("report-live-envoy")) as running_envoy:
        yield running_envoy


def test_report_from_history_counts_what_the_generator_sent(
    envoy: EnvoyHarness, tmp_path: Path
) -> None:
    spec = write_spec(tmp_path / "spec", spec_text())
    serve = Serve(tmp_path / "serve", spec, envoy, prometheus_url=None, enabled=False)
    traffic = Traffic(envoy.listener_port, rate=RATE)
    with running(serve):
        serve.start()

        def evaluated() -> bool:
            with serve.client() as client:
                return client.get("/api/v1/slos/shop-availability/status").is_success

        wait_for(evaluated, 30, "a first evaluation (the scraper has its baseline)")
        time.sleep(3 * SCRAPE_S)
        started = time.monotonic()
        with running(traffic):
            traffic.start()
            time.sleep(45)
        stopped = time.monotonic()
        time.sleep(6 * SCRAPE_S)  # the last requests scraped and evaluated
        failed, sent = traffic.errors_between(started - 1, stopped + 1)
        created = serve.post("/api/v1/reports", {"period": "7d", "format": "json"})
        assert created.status_code == 201, created.text
        with serve.client() as client:
            run = client.get(f"/api/v1/reports/{created.json()['id']}").json()
    assert run["status"] == "ok", run["error"]
    report = json.loads(run["content"])
    (slo,) = report["slos"]
    slack = 0.02 * sent + 2 * SCRAPE_S * RATE
    print(f"generator sent {sent} ({failed} failed); report from history: {slo['requests']}")
    assert sent > 500
    assert slo["requests"] == pytest.approx(sent, abs=slack)
    assert slo["errors"] == pytest.approx(failed, abs=0.02 * sent + 2)
    assert report["mesh"]["requests"] == slo["requests"]
    assert slo["low_coverage"] is True  # a minute of data in a 7 d report says so
