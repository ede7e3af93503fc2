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

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.binaries import require_binary
from tests.support.closed_loop import generate_rules, running
from tests.support.exporter import serving_metrics
from tests.support.fake_kube import FakeKube, run_fake_kube
from tests.support.kube_loop import (
    BROKEN,
    FIXTURES,
    INITIAL,
    ROUTES,
    KubeServe,
    MeshTraffic,
    api_path,
    reset,
    specs,
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
