"""`meshwatch serve` shifts and restores weights on Kubernetes routes, end to end.

The Kubernetes API server is a FAKE (tests/support/fake_kube.py; no kube-apiserver can
run here, research/tooling.md §7): HTTPS with a certificate from a CA made in this module,
a bearer token, RBAC, the JSON-patch and CRD-schema rules of the real one. Everything else
is real: `meshwatch serve` runs as a process and reaches the fake through a kubeconfig
(`kubernetes: {kubeconfig, context}`) with lightkube; its SLIs come from a real Prometheus
(1 s scrape and rule evaluation, the rules `meshwatch generate rules` writes) scraping an
exporter whose Istio and Linkerd request counters the test drives. The routes are an Istio
VirtualService, a Gateway API HTTPRoute and a Linkerd HTTPRoute; each policy uses short
windows of 10 s / 30 s, steps of 20 and a floor of 10 so that a fault and its recovery
fit in a test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.binaries import require_binary
from tests.support.closed_loop import generate_rules, running
from tests.support.exporter import serving_metrics
from tests.support.fake_kube import USER, FakeKube, run_fake_kube
from tests.support.kube_loop import KubeServe, MeshTraffic
from tests.support.kube_routes import (
    BROKEN,
    FIXTURES,
    INITIAL,
    ROUTES,
    api_path,
    reset,
    specs,
    virtual_service,
    weights,
)
from tests.support.process import wait_for
from tests.support.prometheus_run import PrometheusProcess, prometheus_config
from tests.support.tls import TestCA

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EVALUATE, SCRAPE, COOLDOWN, RECOVERY, LONG_WINDOW = 1.0, 1.0, 2.0, 5.0, 30.0
LOAD = 3.0  # the machine is shared: every wait below allows three times the nominal time
# breach -> action: a scrape, a rule evaluation, an evaluation cycle, per step a cooldown
SHIFT_TIMEOUT = LOAD * (2 * SCRAPE + 2 * EVALUATE + 2 * (COOLDOWN + EVALUATE)) + 10
# recovery: the errors leave the long short window, the recovery window, two steps back
RESTORE_TIMEOUT = LOAD * (LONG_WINDOW + RECOVERY + 2 * (COOLDOWN + EVALUATE)) + 10
FLOOR = {route: {a: 90 if a != BROKEN[route] else 10 for a in w} for route, w in INITIAL.items()}
HALF = {route: {a: 70 if a != BROKEN[route] else 30 for a in w} for route, w in INITIAL.items()}


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeKube]:
    with run_fake_kube(TestCA.create(tmp_path_factory.mktemp("kube-ca"))) as fake:
        yield fake


@pytest.fixture(scope="module")
def traffic() -> MeshTraffic:
    return MeshTraffic()


@pytest.fixture(scope="module")
def spec_paths(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return specs(tmp_path_factory.mktemp("kube-specs"))


@pytest.fixture(scope="module")
def prometheus(
    traffic: MeshTraffic, spec_paths: list[Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrometheusProcess]:
    workdir = tmp_path_factory.mktemp("kube-prometheus")
    binary = require_binary("prometheus", "/usr/bin/prometheus")
    rules = generate_rules(spec_paths[0].parent, workdir / "rules")
    assert rules, "meshwatch generated no rule file"
    with serving_metrics(traffic.render) as address:
        config = prometheus_config(scrape_targets=[address], rule_files=rules, job_name="mesh")
        prometheus = PrometheusProcess(binary, workdir, config=config).start()
        try:
            wait_for(lambda: prometheus.query('up{job="mesh"} == 1'), 30, "the exporter scraped")
            yield prometheus
        finally:
            prometheus.stop()


ERRORS = (
    'sum(increase(istio_requests_total{response_code="503"}[40s]))',
    'sum(increase(response_total{classification="failure"}[40s]))',
)


def quiet(kube: FakeKube, traffic: MeshTraffic, prometheus: PrometheusProcess) -> None:
    """Healthy backends, no error left in Prometheus's windows, the routes as written."""
    traffic.heal()
    reset(kube)

    def no_errors() -> bool:
        return all(float(s["value"][1]) == 0 for q in ERRORS for s in prometheus.query(q))

    wait_for(no_errors, RESTORE_TIMEOUT, "no errors in Prometheus's windows", every=1.0)


def first_patch_after(kube: FakeKube, route: str, since: float) -> float:
    return min(r.at for r in kube.patches() if r.path.startswith(api_path(route)) and r.at > since)


def test_a_breach_moves_traffic_on_every_route_kind_and_recovery_restores_it(
    kube: FakeKube, traffic: MeshTraffic, prometheus: PrometheusProcess, spec_paths: list[Path],
    tmp_path: Path,
) -> None:  # fmt: skip
    quiet(kube, traffic, prometheus)
    written = {route: kube.get(fixture) for route, fixture in _fixtures().items()}
    serve = KubeServe(tmp_path / "serve", spec_paths, kube, prometheus.url)
    with running(serve):
        serve.start()
        serve.wait_healthy(SHIFT_TIMEOUT + RESTORE_TIMEOUT)
        assert kube.patches(applied=False) == [], "a healthy start changed a route"
        broke = time.monotonic()
        traffic.fail()
        for route in ROUTES:
            until(kube, route, FLOOR[route], 2 * SHIFT_TIMEOUT)
        to_patch = {route: first_patch_after(kube, route, broke) - broke for route in ROUTES}
        traffic.heal()
        for route in ROUTES:
            until(kube, route, INITIAL[route], RESTORE_TIMEOUT)
        actions = {route: serve.actions(route) for route in ROUTES}
    print(
        "kubernetes loop through serve: fault -> first applied PATCH "
        + ", ".join(f"{route}: {seconds:.2f} s" for route, seconds in to_patch.items())
    )
    for route in ROUTES:
        assert [a["kind"] for a in actions[route]] == ["shift", "shift", "restore", "restore"]
        assert all(a["state"] == "applied" and not a["dry_run"] for a in actions[route])
        assert actions[route][0]["weights_after"] == HALF[route]
        assert actions[route][2]["weights_after"] == HALF[route]  # gradually back
        assert to_patch[route] < 15, to_patch  # the breach-to-action budget
        final = kube.get(_fixtures()[route])
        written[route]["metadata"]["resourceVersion"] = final["metadata"]["resourceVersion"]
        assert final == written[route], "more than the weights changed"
    for patch in kube.patches(applied=False):
        assert patch.content_type == "application/json-patch+json"
        assert patch.body[0]["op"] == "replace" and patch.body[0]["path"].endswith("Version")
        assert [op["path"].rsplit("/", 1)[1] for op in patch.body if op["op"] == "add"] == [
            "weight",
            "weight",
        ]


def _fixtures() -> dict[str, dict[str, Any]]:
    return {route: make() for route, make in FIXTURES.items()}


def until(kube: FakeKube, route: str, expected: dict[str, int], timeout: float) -> float:
    """Seconds until the fake stores `expected` as the route's weights."""
    return wait_for(lambda: weights(kube, route) == expected, timeout, f"{route} at {expected}")


def test_the_loop_rides_out_what_the_api_server_refuses(
    kube: FakeKube, traffic: MeshTraffic, prometheus: PrometheusProcess, spec_paths: list[Path],
    tmp_path: Path,
) -> None:  # fmt: skip
    """v2 of the VirtualService breaks while the fake API server refuses, in turn: the
    `patch` verb (403, RBAC), a patch made stale by someone's edit (409), a shifted
    object that a newer CRD schema refuses (422 Invalid), and a patch whose `test` op
    fails because someone reordered the destinations (422). Each is recorded, none loses
    the route: the shift lands once the refusal is gone, keeping the others' edits."""
    route, vs = ROUTES[0], virtual_service()
    key = ("networking.istio.io", "v1", "virtualservices")
    crd = kube.crds[key]
    quiet(kube, traffic, prometheus)
    serve = KubeServe(tmp_path / "serve", spec_paths, kube, prometheus.url)
    try:
        with running(serve):
            serve.start()
            serve.wait_healthy(SHIFT_TIMEOUT + RESTORE_TIMEOUT)
            kube.denied.add(("patch", "virtualservices"))
            traffic.fail([route])

            def refused(text: str) -> bool:
                return any(text in a["detail"] for a in serve.actions(route))

            wait_for(lambda: refused("403"), SHIFT_TIMEOUT, "the 403 recorded")
            assert weights(kube, route) == INITIAL[route]
            kube.on_next_patch(vs, lambda o: o["metadata"].setdefault("labels", {}).update(by="x"))
            kube.crds[key] = crd.tightened(("spec", "http", "route", "weight"), maximum=80)
            kube.denied.clear()
            until(kube, route, HALF[route], 2 * SHIFT_TIMEOUT)  # after the 409
            wait_for(lambda: refused("is invalid"), 2 * SHIFT_TIMEOUT, "the schema refusal")
            assert weights(kube, route) == HALF[route]
            kube.on_next_patch(vs, lambda obj: obj["spec"]["http"][0]["route"].reverse())
            kube.crds[key] = crd
            until(kube, route, FLOOR[route], 2 * SHIFT_TIMEOUT)  # after the failed test op
            traffic.heal()
            until(kube, route, INITIAL[route], RESTORE_TIMEOUT)
            actions = serve.actions(route)
            others = {r: serve.actions(r) for r in ROUTES[1:]}
    finally:
        kube.crds[key] = crd
    outcomes = [(a["kind"], a["state"], a["detail"]) for a in actions]
    print("kubernetes loop under refusals:", *outcomes, sep="\n  ")
    failed = [detail for _, state, detail in outcomes if state == "failed"]
    assert any("403: forbidden" in d and "grant `patch`" in d for d in failed), outcomes
    assert any("409: changed meanwhile" in d for d in failed), outcomes
    assert any("422: changed meanwhile" in d and "Testing value" in d for d in failed), outcomes
    rejected = [d for _, state, d in outcomes if state == "rejected"]
    assert rejected and all("is invalid" in d and "weight" in d for d in rejected), outcomes
    applied = [a for a in actions if a["state"] == "applied"]
    assert [a["kind"] for a in applied] == ["shift", "shift", "restore", "restore"], outcomes
    final = kube.get(vs)
    assert final["metadata"]["labels"] == {"by": "x"}  # the concurrent edit is kept
    destinations = final["spec"]["http"][0]["route"]
    assert [d["destination"]["subset"] for d in destinations] == ["v2", "v1"]  # so is the order
    assert others == {r: [] for r in ROUTES[1:]}  # the healthy routes were left alone


def test_with_the_master_switch_off_the_api_server_only_validates(
    kube: FakeKube, traffic: MeshTraffic, prometheus: PrometheusProcess, spec_paths: list[Path],
    tmp_path: Path,
) -> None:  # fmt: skip
    """`remediation_enabled: false`: the same patch goes out with `dryRun=All`, the fake
    validates it against the CRD and stores nothing."""
    route = ROUTES[0]
    quiet(kube, traffic, prometheus)
    serve = KubeServe(tmp_path / "serve", spec_paths, kube, prometheus.url, enabled=False)
    with running(serve):
        serve.start()
        serve.wait_healthy(SHIFT_TIMEOUT + RESTORE_TIMEOUT)
        traffic.fail([route])
        # An action is listed as `planned` from the moment it is recorded until the API
        # server's answer completes it: wait for that answer, not for the record.
        wait_for(
            lambda: [a for a in serve.actions(route) if a["state"] != "planned"],
            SHIFT_TIMEOUT,
            "a completed dry-run action",
        )
        (action,) = serve.actions(route)[:1]
        traffic.heal()
    assert (action["state"], action["dry_run"]) == ("dry-run", True), action
    assert "the API server validated the patch" in action["detail"]
    sent = kube.patches(applied=False)
    assert sent and all("dryRun=All" in p.path and p.code == 200 for p in sent), sent
    assert weights(kube, route) == INITIAL[route]


def test_kubernetes_defaults_find_the_kubeconfig_of_the_environment(
    kube: FakeKube,
    traffic: MeshTraffic,
    prometheus: PrometheusProcess,
    spec_paths: list[Path],
    tmp_path: Path,
) -> None:
    """`kubernetes: {}` outside a pod: $KUBECONFIG and its current context."""
    quiet(kube, traffic, prometheus)  # an earlier test's failure must not shift a route here
    serve = KubeServe(tmp_path / "serve", spec_paths, kube, prometheus.url, default_chain=True)
    with running(serve):
        serve.start()
        wait_for(
            lambda: all(t["weights"] for t in serve.targets().values()),
            SHIFT_TIMEOUT,
            "every route read",
        )
        found = serve.targets()
    assert {t: found[t]["weights"] for t in ROUTES} == INITIAL
    assert {r.user for r in kube.requests} == {USER}


@pytest.mark.parametrize(
    ("kubernetes", "message"),
    [
        pytest.param(None, "actuator 'istio' is not configured", id="no-kubernetes-section"),
        pytest.param({"kubeconfig": "absent"}, "absent: no such file", id="kubeconfig-missing"),
        pytest.param({"kubeconfig": "kubeconfig", "context": "nope"}, "Context 'nope' not found",
                     id="unknown-context"),
    ],
)  # fmt: skip
def test_serve_refuses_to_start_with_an_unconfigured_actuator(
    kube: FakeKube,
    spec_paths: list[Path],
    tmp_path: Path,
    kubernetes: dict[str, str] | None,
    message: str,
) -> None:
    """Not left frozen: `serve` exits 1 and says what the settings lack."""
    config: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'meshwatch.db'}",
        "specs": [str(spec_paths[0])],
        "remediation_enabled": True,  # with it off, the policy is only warned about
    }
    if kubernetes is not None:
        kube.kubeconfig(tmp_path / "kubeconfig", {"token": "t"})
        config["kubernetes"] = {
            k: str(tmp_path / v) if k == "kubeconfig" else v for k, v in kubernetes.items()
        }
    (tmp_path / "config.yaml").write_text(json.dumps(config))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "meshwatch",
            "serve",
            "--port",
            "0",
            "--config",
            str(tmp_path / "config.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith("MESHWATCH_")},
    )
    assert done.returncode == 1, done.stderr
    assert message in done.stderr, done.stderr
    if kubernetes is None:
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith(f"{spec_paths[0]}:5: reviews-availability.remediation")
        assert not (tmp_path / "meshwatch.db").exists()  # refused before anything ran
        assert "`kubernetes:` section" in done.stderr
