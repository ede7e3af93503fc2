"""The closed loop end to end, with real processes only.

A real Envoy fronts two versions (v1, v2) of a service; a traffic generator sends ~200
requests/s through it; a real Prometheus scrapes Envoy's `/stats/prometheus` every 1 s with
the rules `meshwatch generate rules` writes for the spec; `meshwatch serve` (a subprocess)
evaluates every 1 s with the Envoy actuator enabled and `dry_run: false`. The policy uses
short windows of 10 s and 30 s (instead of the default 1m/5m) so that recovery fits in a test.

Scenarios: a fault in v2 through the Prometheus path (shift to the floor in steps, gradual
restore after repair, audit log); a noisy but healthy soak (no action); a page alert from the
Alertmanager (a real one) alone; a manual hold, resume and rollback; the scrape collector (no
Prometheus).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.closed_loop import (
    Serve,
    Traffic,
    generate_rules,
    live_weights,
    page_alertmanager,
    running,
    spec_text,
    start_prometheus,
    wait_for,
    write_spec,
)
from tests.support.envoy import TARGET, EnvoyHarness, run_envoy
from tests.support.prometheus_run import PrometheusProcess
from tests.support.stats import assert_share

pytestmark = [pytest.mark.integration, pytest.mark.slow]

INITIAL = {"v1": 50, "v2": 50}
FLOOR = {"v1": 90, "v2": 10}
STEP = 20  # two steps from 50/50 to the floor and two back: "gradually"
V2_ERRORS = (
    "sum(increase(envoy_cluster_upstream_rq"
    '{envoy_cluster_name="v2",envoy_response_code=~"5.."}[40s]))'
)


@pytest.fixture(scope="module")
def envoy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EnvoyHarness]:
    with run_envoy(tmp_path_factory.mktemp("closed-loop-envoy")) as running_envoy:
        yield running_envoy


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_spec(tmp_path_factory.mktemp("closed-loop-spec"), spec_text(step=STEP))


@pytest.fixture(scope="module")
def prometheus(
    envoy: EnvoyHarness, spec: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrometheusProcess]:
    workdir = tmp_path_factory.mktemp("closed-loop-prometheus")
    rules = generate_rules(spec, workdir / "rules")
    assert rules, "meshwatch generated no rule file"
    prometheus = start_prometheus(workdir, envoy, rules)
    try:
        wait_for(lambda: prometheus.query('up{job="envoy"} == 1'), 30, "Envoy scraped")
        yield prometheus
    finally:
        prometheus.stop()


def quiet(envoy: EnvoyHarness, prometheus: PrometheusProcess | None) -> None:
    """Back to the initial route, healthy upstreams, and no v2 error left in the windows."""
    envoy.reset()
    if prometheus is not None:
        wait_for(
            lambda: all(float(s["value"][1]) == 0 for s in prometheus.query(V2_ERRORS)),  # type: ignore[index]
            60,
            "v2's errors out of Prometheus's windows",
            every=1.0,
        )


def healthy(serve: Serve) -> float:
    """Wait until the loop has data on both backends and decides nothing."""
    return wait_for(lambda: serve.target()["decision"] == "none", 30, "a healthy decision")


def test_fault_in_v2_moves_its_traffic_and_it_comes_back(
    envoy: EnvoyHarness, prometheus: PrometheusProcess, spec: Path, tmp_path: Path
) -> None:
    quiet(envoy, prometheus)
    traffic = Traffic(envoy.listener_port).start()
    serve = Serve(tmp_path / "serve", spec, envoy, prometheus.url)
    with running(traffic, serve):
        serve.start()
        healthy(serve)
        broke = time.monotonic()
        envoy.upstreams["v2"].failing = True
        to_first = wait_for(lambda: live_weights(envoy)["v2"] < 50, 30, "the first shift", 0.02)
        to_floor = to_first + wait_for(lambda: live_weights(envoy) == FLOOR, 30, "floor", 0.02)
        at_floor = time.monotonic()
        time.sleep(3)
        split = traffic.split(at_floor + 0.5, time.monotonic())
        assert_share(split["v2"], sum(split.values()), FLOOR["v2"] / 100, f"v2 {split}")
        errors_before, total_before = traffic.errors_between(broke, broke + to_first)

        envoy.upstreams["v2"].failing = False
        repaired = time.monotonic()
        seen: list[dict[str, int]] = []

        def restored() -> bool:
            weights = live_weights(envoy)
            if not seen or seen[-1] != weights:
                seen.append(weights)
            return weights == INITIAL

        to_restore = wait_for(restored, 70, "weights back to 50/50", 0.05)
        actions = serve.actions()
    print(
        f"closed loop (prometheus): fault->first shift {to_first:.2f} s, ->floor "
        f"{to_floor:.2f} s, errors before the shift {errors_before}/{total_before}, "
        f"repair->restored {to_restore:.2f} s, weights seen while restoring {seen}"
    )
    assert to_first < 15
    assert [a["kind"] for a in actions] == ["shift", "shift", "restore", "restore"], actions
    assert all(a["state"] == "applied" and not a["dry_run"] for a in actions), actions
    assert all(a["created_at"] <= a["completed_at"] for a in actions)
    assert actions[0]["weights_after"] == {"v1": 70, "v2": 30}
    assert actions[2]["weights_after"] == {"v1": 70, "v2": 30}  # gradually back
    assert {"v1": 70, "v2": 30} in seen
    assert time.monotonic() - repaired >= 5  # the recovery window


def test_noisy_but_healthy_soak_takes_no_action(
    envoy: EnvoyHarness, prometheus: PrometheusProcess, spec: Path, tmp_path: Path
) -> None:
    quiet(envoy, prometheus)
    for upstream in envoy.upstreams.values():
        upstream.error_every = 1500  # 0.067 % errors: two thirds of the 99.9 % budget
    traffic = Traffic(envoy.listener_port).start()
    serve = Serve(tmp_path / "serve", spec, envoy, prometheus.url)
    with running(traffic, serve):
        serve.start()
        healthy(serve)
        start = time.monotonic()
        # At least 40 s, and until the noise has shown: on a loaded machine the sequential
        # traffic can fall below one request in `error_every` per upstream in 40 s.
        while True:
            time.sleep(1)
            errors, total = traffic.errors_between(start, time.monotonic())
            soaked = time.monotonic() - start
            if soaked >= 40 and (errors >= 1 or soaked >= 240):
                break
        actions = serve.actions()
        target = serve.target()
    envoy.reset()
    print(f"healthy soak: {errors}/{total} errors in {soaked:.0f} s, {len(actions)} actions")
    assert errors >= 1, "the soak had no noise"
    assert actions == []
    assert live_weights(envoy) == INITIAL
    assert target["decision"] == "none", target


PAGE = {
    "alertname": "MeshwatchBackendBurn",
    "meshwatch_service": "shop",
    "meshwatch_slo": "availability",
    "meshwatch_backend": "v2",
    "meshwatch_severity": "page",
}


def test_page_alert_through_a_real_alertmanager_on_a_healthy_version_moves_nothing(
    envoy: EnvoyHarness, prometheus: PrometheusProcess, spec: Path, tmp_path: Path
) -> None:
    """No fault at all: a page alert (Alertmanager -> webhook) naming v2 reaches the loop, but
    v2's own measurements are clearly healthy, so no traffic moves (issue 17 item 11: an
    alert-driven shift must be confirmed by measurements); resolving it clears the mark.
    The API tests show the alert driving the loop where measurements cannot judge."""
    quiet(envoy, prometheus)
    traffic = Traffic(envoy.listener_port).start()
    serve = Serve(tmp_path / "serve", spec, envoy, prometheus.url)
    with running(traffic, serve):
        serve.start()
        alertmanager = page_alertmanager(
            tmp_path / "alertmanager", f"{serve.url}/api/v1/alerts/alertmanager"
        )
        with running(alertmanager):
            alertmanager.start()
            healthy(serve)
            alertmanager.post_alert(PAGE)
            wait_for(lambda: serve.target()["alerting"] == ["v2"], 30, "v2 marked alerting")
            time.sleep(10 * serve.evaluate_seconds)  # ten evaluations with the alert firing
            weights_while_firing = live_weights(envoy)
            now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            alertmanager.post_alert(PAGE, ends_at=now)
            wait_for(lambda: serve.target()["alerting"] == [], 30, "the alert resolved")
            actions = serve.actions()
            with serve.client() as client:
                stored = client.get("/api/v1/alerts").json()
    assert weights_while_firing == INITIAL
    assert [a for a in actions if a["kind"] in ("shift", "restore")] == [], actions
    assert {a["status"] for a in stored} >= {"resolved"}, stored


def test_hold_resume_and_rollback(
    envoy: EnvoyHarness, prometheus: PrometheusProcess, spec: Path, tmp_path: Path
) -> None:
    quiet(envoy, prometheus)
    traffic = Traffic(envoy.listener_port).start()
    serve = Serve(tmp_path / "serve", spec, envoy, prometheus.url)
    path = f"/api/v1/targets/{TARGET}"
    with running(traffic, serve):
        serve.start()
        healthy(serve)
        held = serve.post(f"{path}/hold", {"by": "test", "reason": "change freeze"})
        assert held.status_code == 200 and held.json()["held"], held.text
        envoy.upstreams["v2"].failing = True
        time.sleep(8)  # the loop sees v2 burning and does nothing while held
        assert live_weights(envoy) == INITIAL
        assert serve.target()["decision"] == "hold"
        assert serve.post(f"{path}/resume").json()["held"] is False
        wait_for(lambda: live_weights(envoy) == FLOOR, 20, "v2 at its floor after resume")
        assert serve.post(f"{path}/hold").status_code == 200
        rolled = serve.post(f"{path}/rollback", {"by": "test"})
        assert rolled.status_code == 200, rolled.text
        assert rolled.json()["state"] == "applied"
        assert live_weights(envoy) == INITIAL
        time.sleep(4)  # held: the still-failing v2 keeps its weight
        assert live_weights(envoy) == INITIAL
        envoy.upstreams["v2"].failing = False
        actions = serve.actions()
    envoy.reset()
    assert [a["kind"] for a in actions] == ["shift", "shift", "rollback"]
    assert actions[-1]["weights_after"] == INITIAL


def test_scrape_collector_without_prometheus(
    envoy: EnvoyHarness, spec: Path, tmp_path: Path
) -> None:
    quiet(envoy, None)
    traffic = Traffic(envoy.listener_port).start()
    serve = Serve(tmp_path / "serve", spec, envoy, prometheus_url=None)
    with running(traffic, serve):
        serve.start()
        healthy(serve)
        envoy.upstreams["v2"].failing = True
        to_first = wait_for(lambda: live_weights(envoy)["v2"] < 50, 30, "the first shift", 0.02)
        to_floor = to_first + wait_for(lambda: live_weights(envoy) == FLOOR, 30, "floor")
        actions = serve.actions()
    envoy.reset()
    print(f"scrape collector: fault->first shift {to_first:.2f} s, ->floor {to_floor:.2f} s")
    assert to_first < 15
    assert [a["kind"] for a in actions] == ["shift", "shift"]
