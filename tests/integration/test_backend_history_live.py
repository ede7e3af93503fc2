"""Backend history on the production path counts what the traffic generator sent, per version.

A real Envoy fronts v1 and v2 (v2 answers every 4th request with a 500); a generator sends
requests through Envoy's listener and records each answer's `x-backend` and status; a real
Prometheus scrapes Envoy every `S` with the rules `meshwatch generate rules` writes and
evaluates them every `P`; `meshwatch serve` (a subprocess, remediation switched off so the
route stays 50/50) evaluates every second and stores each backend's counts on the policy's
short windows. The counts `/api/v1/slos/{id}/backends/history` returns for the latest point
must equal the generator's own count of that backend's requests and 5xx in the same window.

Tolerance, measured rather than assumed. The point's time `at` is the instant meshwatch
evaluated; its query asks Prometheus for the recorded series at `at`, whose value is the
backend rule group's last evaluation at or before `at` (that group runs every 5 s, and later
on a busy machine). So the test reads that evaluation's time back (`timestamp()`) and counts
the generator over the same 30 s ending there. What is left is `increase()`'s estimate of
the slivers at both edges no scrape covers (measured from the samples themselves), each
widened by the longest scrape (a sample is rendered after the instant it is stamped with):
the stored count may differ from the generator's by the larger of the traffic the
generator sent in those slivers and the window's average rate times their length. The
generator's rate is not steady under load, which is why a fixed rate x interval was not.
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
from tests.support.prometheus_run import PrometheusProcess
from tests.support.sampled import Edges, edges, evaluated_at

pytestmark = [pytest.mark.integration, pytest.mark.slow]

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
        measured = {
            backend: _window_of(prometheus, backend, str(point["at"]))
            for backend, point in points.items()
        }
    for backend, point in sorted(points.items()):
        evaluated, seen = measured[backend]
        at = datetime.fromisoformat(str(point["at"])).timestamp()
        end = evaluated - wall_offset
        sent = [(t, s) for t, b, s in list(traffic.seen) if b == backend]
        requests = [t for t, _ in sent if end - WINDOW <= t < end]
        errors = [t for t, s in sent if s >= 500 and end - WINDOW <= t < end]
        window = point["windows"]["30s"]  # type: ignore[index]
        slack = _slack(seen, [t for t, _ in sent], end, len(requests))
        error_slack = _slack(seen, [t for t, s in sent if s >= 500], end, len(errors))
        print(
            f"{backend}: stored {window['requests']:.1f} requests / {window['errors']:.1f} errors,"
            f" generator {len(requests)} / {len(errors)} in the 30 s to the rule evaluation"
            f" {at - evaluated:.2f} s before the point, edges {seen}"
            f" (slack {slack:.0f} / {error_slack:.0f})"
        )
        assert window["requests"] == pytest.approx(len(requests), abs=slack)
        assert window["errors"] == pytest.approx(len(errors), abs=error_slack)
        assert len(requests) > 10 * WINDOW / 2  # real traffic reached this backend
    assert points["v1"]["windows"]["30s"]["errors"] == 0  # type: ignore[index]
    assert points["v2"]["windows"]["30s"]["burn_rate"] > 100  # type: ignore[index]


def _window_of(prometheus: PrometheusProcess, backend: str, at: str) -> tuple[float, Edges]:
    """The evaluation behind the point stored at `at` (Unix seconds) and its unsampled edges."""
    recorded = f'meshwatch:backend_requests:increase30s{{meshwatch_backend="{backend}"}}'
    evaluated = evaluated_at(prometheus, recorded, datetime.fromisoformat(at).timestamp())
    raw = f'envoy_cluster_upstream_rq{{envoy_cluster_name="{backend}"}}'
    return evaluated, edges(prometheus, raw, WINDOW, evaluated, job="envoy")


def _slack(seen: Edges, times: list[float], end: float, counted: int) -> float:
    """How far `increase()` may be from the generator's count of `times` in the window."""
    in_slivers = sum(1 for a, b in seen.slivers(end - WINDOW, end) for t in times if a <= t < b)
    return max(in_slivers, counted / WINDOW * seen.unsampled_s) + 2  # + whole-number counters
