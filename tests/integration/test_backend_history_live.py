"""Backend history on the production path counts what the traffic generator sent, per version.

A real Envoy fronts v1 and v2 (v2 answers every 4th request with a 500); a generator sends
requests through Envoy's listener and records each answer's `x-backend` and status; a real
Prometheus scrapes Envoy every `S` with the rules `meshwatch generate rules` writes and
evaluates them every `P`; `meshwatch serve` (a subprocess, remediation switched off so the
route stays 50/50) evaluates every second and stores each backend's counts on the policy's
short windows. The counts `/api/v1/slos/{id}/backends/history` returns for the latest point
must equal the generator's own count of that backend's requests and 5xx in the same window.

Tolerance: the recorded window ends at the rule evaluation before meshwatch's read, up to
`S + P` earlier than the point's time, so the two windows are shifted by at most that much;
at the backend's own rate that is `rate x (S + P)` requests (the slivers at both ends cancel
at a steady rate, so the real difference is far smaller).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.support.closed_loop import (
    Serve,
    Traffic,
    generate_rules,
    running,
    spec_text,
    start_prometheus,
    write_spec,
)
from tests.support.envoy import EnvoyHarness, run_envoy
from tests.support.process import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

S = 1.0  # Prometheus scrape interval (start_prometheus), seconds
P = 1.0  # Prometheus rule evaluation interval, seconds
WINDOW = 30.0  # the longer short window of spec_text()'s policy (10s, 30s)
SLO_ID = "shop-availability"


@pytest.fixture(scope="module")
def envoy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EnvoyHarness]:
    with run_envoy(tmp_path_factory.mktemp("backend-history-envoy")) as running_envoy:
        yield running_envoy


def test_each_backends_counts_match_the_generator(envoy: EnvoyHarness, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec", spec_text())
    prometheus = start_prometheus(
        tmp_path / "prometheus", envoy, generate_rules(spec, tmp_path / "rules")
    )
    envoy.upstreams["v2"].error_every = 4
    traffic = Traffic(envoy.listener_port, rate=100.0).start()
    serve = Serve(tmp_path / "serve", spec, envoy, prometheus.url, enabled=False)
    wall_offset = time.time() - time.monotonic()  # serve stamps wall time, the generator monotonic
    with running(prometheus, traffic, serve):
        serve.start()
        started = time.monotonic()

        def latest() -> dict[str, dict[str, object]]:
            with serve.client() as client:
                body = client.get(f"/api/v1/slos/{SLO_ID}/backends/history").json()
            out = {}
            for series in body["backends"]:
                point = series["points"][-1]
                assert "30s" in point["windows"], point["reason"]
                out[series["backend"]] = point
            return out

        wait_for(
            lambda: time.monotonic() - started > WINDOW + 5 and len(latest()) == 2,
            120,
            "a full 30 s window of both backends",
            every=1.0,
        )
        points = latest()
    for backend, point in sorted(points.items()):
        end = datetime.fromisoformat(str(point["at"])).timestamp() - wall_offset
        sent = [s for t, b, s in list(traffic.seen) if b == backend and end - WINDOW <= t < end]
        errors = sum(1 for s in sent if s >= 500)
        window = point["windows"]["30s"]  # type: ignore[index]
        slack = len(sent) / WINDOW * (S + P) + 2
        print(
            f"{backend}: stored {window['requests']:.1f} requests / {window['errors']:.1f} errors,"
            f" generator {len(sent)} / {errors} (slack {slack:.0f})"
        )
        assert window["requests"] == pytest.approx(len(sent), abs=slack)
        assert window["errors"] == pytest.approx(errors, abs=slack / 4 + 2)  # every 4th
        assert len(sent) > 10 * WINDOW / 2  # real traffic reached this backend
    assert points["v1"]["windows"]["30s"]["errors"] == 0  # type: ignore[index]
    assert points["v2"]["windows"]["30s"]["burn_rate"] > 100  # type: ignore[index]
