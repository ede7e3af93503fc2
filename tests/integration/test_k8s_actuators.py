"""Istio, Gateway API and Linkerd actuators against a FAKE Kubernetes API server.

No kube-apiserver can run on this machine (research/tooling.md §7), so these tests use
`tests/support/fake_kube.py`: a local HTTPS server on 127.0.0.1 (certificate from a test CA
made here) that authenticates bearer tokens and client certificates, applies RBAC, stores
the fixture objects below, applies the JSON patches meshwatch sends the way kube-apiserver
does (409 on a stale resourceVersion, 422 on a failed `test` op, 403 for a verb RBAC does
not grant, `dryRun=All`), and validates every result against hand-written subsets of the
published CRD schemas (`tests/support/crds/*.json`). meshwatch reaches it through lightkube
with a kubeconfig, as in production. What is proven: the patches are well formed, touch
only the owned fields, keep the rest of each object, and are valid for the CRD. What is
not: the behaviour of a real API server beyond these rules, admission webhooks, and the
meshes' data planes actually taking the change.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from meshwatch.errors import ActuatorError
from meshwatch.remediate.base import ApplyState, Retries
from meshwatch.remediate.gateway import gateway_actuator
from meshwatch.remediate.istio import istio_actuator
from meshwatch.remediate.kube_client import KubeClient, ObjectRef, kube_config
from meshwatch.remediate.kubernetes import KubeRouteActuator
from meshwatch.remediate.linkerd import linkerd_actuator
from tests.support.fake_kube import TOKEN, FakeKube, run_fake_kube
from tests.support.tls import TestCA

pytestmark = pytest.mark.integration

VIRTUAL_SERVICE: dict[str, Any] = {
    "apiVersion": "networking.istio.io/v1",
    "kind": "VirtualService",
    "metadata": {
        "name": "reviews",
        "namespace": "prod",
        "labels": {"app": "reviews"},
        "annotations": {"owner": "team-reviews"},
    },
    "spec": {
        "hosts": ["reviews.prod.svc.cluster.local"],
        "gateways": ["mesh"],
        "exportTo": ["."],
        "http": [
            {
                "name": "beta-testers",
                "match": [{"headers": {"end-user": {"exact": "jason"}}}],
                "route": [
                    {"destination": {"host": "reviews.prod.svc.cluster.local", "subset": "v2"}}
                ],
            },
            {
                "name": "primary",
                "timeout": "5s",
                "retries": {"attempts": 3, "perTryTimeout": "2s", "retryOn": "gateway-error"},
                "headers": {"request": {"set": {"x-route": "primary"}}},
                "route": [
                    {
                        "destination": {"host": "reviews.prod.svc.cluster.local", "subset": "v1"},
                        "weight": 75,
                    },
                    {
                        "destination": {"host": "reviews.prod.svc.cluster.local", "subset": "v2"},
                        "weight": 25,
                    },
                ],
            },
        ],
    },
}

HTTP_ROUTE: dict[str, Any] = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "HTTPRoute",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {
        "parentRefs": [{"name": "public-gateway", "sectionName": "https"}],
        "hostnames": ["shop.example.com"],
        "rules": [
            {
                "name": "static",
                "matches": [{"path": {"type": "PathPrefix", "value": "/static"}}],
                "backendRefs": [{"name": "static", "port": 80}],
            },
            {
                "name": "main",
                "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                "filters": [
                    {
                        "type": "RequestHeaderModifier",
                        "requestHeaderModifier": {"set": [{"name": "x-a", "value": "b"}]},
                    }
                ],
                "timeouts": {"request": "10s"},
                "backendRefs": [
                    {"name": "web-v1", "port": 8080, "weight": 70},
                    {"name": "web-v2", "port": 8080, "weight": 30},
                ],
            },
        ],
    },
}

LINKERD_ROUTE: dict[str, Any] = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "HTTPRoute",
    "metadata": {
        "name": "bb-route",
        "namespace": "traffic-shift-demo",
        "annotations": {"retry.linkerd.io/http": "gateway-error"},
    },
    "spec": {
        "parentRefs": [{"name": "bb", "kind": "Service", "group": "core", "port": 8080}],
        "rules": [
            {
                "backendRefs": [
                    {"name": "bb", "port": 8080, "weight": 90},
                    {"name": "bb-v2", "port": 8080, "weight": 10},
                ]
            }
        ],
    },
}

TRAFFIC_SPLIT: dict[str, Any] = {
    "apiVersion": "split.smi-spec.io/v1alpha2",
    "kind": "TrafficSplit",
    "metadata": {"name": "bb-split", "namespace": "traffic-shift-demo"},
    "spec": {
        "service": "bb",
        "backends": [{"service": "bb", "weight": 90}, {"service": "bb-v2", "weight": 10}],
    },
}


@dataclass(frozen=True)
class Case:
    fixture: dict[str, Any]
    target: str
    make: Callable[[KubeClient], KubeRouteActuator]
    weights: dict[str, int]
    shifted: dict[str, int]
    weight_paths: dict[str, tuple[Any, ...]]  # backend -> path of its weight in the object


CASES = [
    pytest.param(
        Case(
            VIRTUAL_SERVICE,
            "prod/reviews#primary",
            istio_actuator,
            {"v1": 75, "v2": 25},
            {"v1": 100, "v2": 0},
            {
                "v1": ("spec", "http", 1, "route", 0, "weight"),
                "v2": ("spec", "http", 1, "route", 1, "weight"),
            },
        ),
        id="istio-virtualservice",
    ),
    pytest.param(
        Case(
            HTTP_ROUTE,
            "shop/web#main",
            gateway_actuator,
            {"web-v1": 70, "web-v2": 30},
            {"web-v1": 95, "web-v2": 5},
            {
                "web-v1": ("spec", "rules", 1, "backendRefs", 0, "weight"),
                "web-v2": ("spec", "rules", 1, "backendRefs", 1, "weight"),
            },
        ),
        id="gateway-httproute",
    ),
    pytest.param(
        Case(
            LINKERD_ROUTE,
            "traffic-shift-demo/bb-route",
            linkerd_actuator,
            {"bb": 90, "bb-v2": 10},
            {"bb": 100, "bb-v2": 0},
            {
                "bb": ("spec", "rules", 0, "backendRefs", 0, "weight"),
                "bb-v2": ("spec", "rules", 0, "backendRefs", 1, "weight"),
            },
        ),
        id="linkerd-httproute",
    ),
    pytest.param(
        Case(
            TRAFFIC_SPLIT,
            "traffic-shift-demo/bb-split",
            lambda client: linkerd_actuator(client, traffic_split=True),
            {"bb": 90, "bb-v2": 10},
            {"bb": 50, "bb-v2": 50},
            {"bb": ("spec", "backends", 0, "weight"), "bb-v2": ("spec", "backends", 1, "weight")},
        ),
        id="linkerd-smi-trafficsplit",
    ),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeKube]:
    with run_fake_kube(TestCA.create(tmp_path_factory.mktemp("ca"))) as fake:
        yield fake


@pytest.fixture
def kube(server: FakeKube) -> Iterator[FakeKube]:
    server.objects.clear()
    server.requests.clear()
    server.denied.clear()
    server.before_patch.clear()
    for fixture in (VIRTUAL_SERVICE, HTTP_ROUTE, LINKERD_ROUTE, TRAFFIC_SPLIT):
        server.put(fixture)
    yield server


@pytest.fixture
def client(kube: FakeKube, tmp_path: Path) -> Iterator[KubeClient]:
    """meshwatch's client through a kubeconfig: the fake's CA, a bearer token."""
    path = kube.kubeconfig(tmp_path / "kubeconfig", {"token": TOKEN})
    client = KubeClient.connect(kube_config(path, "fake"))
    yield client
    client.close()


def at(obj: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        obj = obj[part]
    return obj


def expected_after(kube: FakeKube, case: Case, weights: dict[str, int]) -> dict[str, Any]:
    """The fixture as stored, with only the weights changed."""
    expected = copy.deepcopy(case.fixture)
    for backend, path in case.weight_paths.items():
        at(expected, path[:-1])[path[-1]] = weights[backend]
    expected["metadata"]["resourceVersion"] = kube.get(case.fixture)["metadata"]["resourceVersion"]
    return expected


@pytest.mark.parametrize("case", CASES)
def test_current_reads_weights_and_version(kube: FakeKube, client: KubeClient, case: Case) -> None:
    state = case.make(client).current(case.target)
    assert dict(state.weights) == case.weights
    assert state.version == kube.get(case.fixture)["metadata"]["resourceVersion"]
    assert not state.retries


@pytest.mark.parametrize("case", CASES)
def test_apply_changes_only_the_weights(kube: FakeKube, client: KubeClient, case: Case) -> None:
    actuator = case.make(client)
    before = kube.get(case.fixture)["metadata"]["resourceVersion"]

    result = actuator.apply(case.target, case.shifted, dry_run=False)

    assert result.state is ApplyState.APPLIED, result.detail
    stored = kube.get(case.fixture)
    assert result.version == stored["metadata"]["resourceVersion"] != before
    assert dict(result.before.weights) == case.weights
    assert stored == expected_after(kube, case, case.shifted)
    patch = [r for r in kube.requests if r.method == "PATCH"]
    assert len(patch) == 1 and patch[0].content_type == "application/json-patch+json"
    assert "fieldManager=meshwatch" in patch[0].path  # who changed it, in managedFields
    ops = patch[0].body
    assert ops[0] == {"op": "replace", "path": "/metadata/resourceVersion", "value": before}
    assert {op["op"] for op in ops[1:]} <= {"test", "add"}
    assert all(
        op["path"].endswith("/weight") for op in ops if op["op"] != "test" and op is not ops[0]
    )


@pytest.mark.parametrize("case", CASES)
def test_dry_run_is_validated_but_not_stored(
    kube: FakeKube, client: KubeClient, case: Case
) -> None:
    before = kube.get(case.fixture)
    result = case.make(client).apply(case.target, case.shifted, dry_run=True)
    assert result.state is ApplyState.DRY_RUN, result.detail
    assert kube.get(case.fixture) == before
    assert any("dryRun=All" in r.path for r in kube.requests if r.method == "PATCH")


@pytest.mark.parametrize("case", CASES)
def test_concurrent_change_is_a_retryable_conflict(
    kube: FakeKube, client: KubeClient, case: Case
) -> None:
    """Someone edits the object between meshwatch's read and its patch: 409 Conflict."""

    def label(obj: dict[str, Any]) -> None:
        obj["metadata"].setdefault("labels", {})["edited-by"] = "someone-else"

    kube.on_next_patch(case.fixture, label)
    with pytest.raises(ActuatorError, match="409: changed meanwhile") as caught:
        case.make(client).apply(case.target, case.shifted, dry_run=False)
    assert caught.value.retryable
    assert kube.get(case.fixture)["metadata"]["labels"]["edited-by"] == "someone-else"
    assert at(kube.get(case.fixture), next(iter(case.weight_paths.values()))) == next(
        iter(case.weights.values())
    )


def test_shifted_array_entries_fail_the_identity_test(kube: FakeKube, client: KubeClient) -> None:
    """Even without the resourceVersion guard, a weight never lands on the wrong backend:
    each weighted entry is tested to still name the same destination."""
    actuator = istio_actuator(client)
    obj = kube.get(VIRTUAL_SERVICE)
    ops = actuator._ops(
        obj, "primary", obj["metadata"]["resourceVersion"], {"v1": 0, "v2": 100}, None, False
    )
    reordered = kube.get(VIRTUAL_SERVICE)
    reordered["spec"]["http"][1]["route"].reverse()
    kube.objects[("networking.istio.io", "v1", "virtualservices", "prod", "reviews")] = reordered
    ref = ObjectRef(
        "networking.istio.io", "v1", "VirtualService", "virtualservices", "prod", "reviews"
    )
    with pytest.raises(ActuatorError, match="Testing value") as caught:
        client.patch(ref, ops)
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("case", "weights"),
    [
        pytest.param(CASES[0].values[0], {"v1": 2**31, "v2": 0}, id="istio-weight-beyond-int32"),
        pytest.param(
            CASES[1].values[0], {"web-v1": 2_000_000, "web-v2": 0}, id="httproute-weight-beyond-max"
        ),
    ],
)
def test_schema_violations_are_rejected(
    kube: FakeKube, client: KubeClient, case: Case, weights: dict[str, int]
) -> None:
    before = kube.get(case.fixture)
    result = case.make(client).apply(case.target, weights, dry_run=False)
    assert result.state is ApplyState.REJECTED
    assert "is invalid" in result.detail and "weight" in result.detail
    assert kube.get(case.fixture) == before


@pytest.mark.parametrize(
    ("case", "owned"),
    [
        pytest.param(CASES[0].values[0], ("spec", "http", 1, "retries"), id="istio-httpretry"),
        pytest.param(CASES[1].values[0], ("spec", "rules", 1, "retry"), id="gateway-rule-retry"),
        pytest.param(
            CASES[2].values[0], ("metadata", "annotations"), id="linkerd-retry-annotations"
        ),
    ],
)
def test_retries_tightened_then_the_users_restored(
    kube: FakeKube, client: KubeClient, case: Case, owned: tuple[Any, ...]
) -> None:
    actuator = case.make(client)
    original = kube.get(case.fixture)

    tightened = actuator.apply(case.target, None, retries=Retries(attempts=2), dry_run=False)
    assert tightened.state is ApplyState.APPLIED, tightened.detail
    assert actuator.current(case.target).retries
    changed = kube.get(case.fixture)
    assert (
        at(changed, owned) != at(original, owned) if _has(original, owned) else _has(changed, owned)
    )
    again = actuator.apply(case.target, None, retries=Retries(attempts=3), dry_run=False)
    assert again.state is ApplyState.APPLIED, again.detail

    restored = actuator.apply(case.target, None, restore_retries=True, dry_run=False)

    assert restored.state is ApplyState.APPLIED, restored.detail
    final = kube.get(case.fixture)
    original["metadata"]["resourceVersion"] = final["metadata"]["resourceVersion"]
    assert final == original
    assert not actuator.current(case.target).retries


def _has(obj: Any, path: tuple[Any, ...]) -> bool:
    try:
        at(obj, path)
    except (KeyError, IndexError):
        return False
    return True


def test_istio_retries_shape(kube: FakeKube, client: KubeClient) -> None:
    istio_actuator(client).apply("prod/reviews#primary", None, retries=Retries(), dry_run=False)
    stored = kube.get(VIRTUAL_SERVICE)
    assert stored["spec"]["http"][1]["retries"] == {
        "attempts": 2,
        "perTryTimeout": "0.5s",
        "retryOn": "5xx,reset,connect-failure",
        "retryIgnorePreviousHosts": True,
    }
    saved = stored["metadata"]["annotations"]["meshwatch.io/original-retries-primary"]
    assert saved == '{"attempts": 3, "perTryTimeout": "2s", "retryOn": "gateway-error"}'
    assert stored["metadata"]["annotations"]["owner"] == "team-reviews"


def test_trafficsplit_has_no_retries(client: KubeClient) -> None:
    actuator = linkerd_actuator(client, traffic_split=True)
    with pytest.raises(ActuatorError, match="no retry policy") as caught:
        actuator.apply("traffic-shift-demo/bb-split", None, retries=Retries(), dry_run=False)
    assert not caught.value.retryable


@pytest.mark.parametrize(
    ("target", "message", "retryable"),
    [
        pytest.param("prod/missing#primary", "not found", False, id="object-not-found"),
        pytest.param("prod/reviews#nope", "no http route 'nope'", False, id="route-not-found"),
        pytest.param("prod/reviews", "name one with", False, id="several-routes-need-a-name"),
        pytest.param("reviews", "must be <namespace>/<name>", False, id="bad-target"),
        pytest.param(
            "prod/reviews#beta-testers", "fewer than two", False, id="route-with-one-destination"
        ),
    ],
)
def test_bad_targets(client: KubeClient, target: str, message: str, retryable: bool) -> None:
    with pytest.raises(ActuatorError, match=message) as caught:
        istio_actuator(client).current(target)
    assert caught.value.retryable is retryable


def test_weights_for_other_backends_are_refused_before_sending(
    kube: FakeKube, client: KubeClient
) -> None:
    with pytest.raises(ActuatorError, match="the route has"):
        istio_actuator(client).apply("prod/reviews#primary", {"v1": 50, "v3": 50}, dry_run=False)
    assert not [r for r in kube.requests if r.method == "PATCH"]


@pytest.mark.parametrize("verb", ["get", "patch"])
def test_a_verb_rbac_does_not_grant_is_a_clear_refusal(
    kube: FakeKube, client: KubeClient, verb: str
) -> None:
    """The Role lacks `verb` on virtualservices: 403, and the route is left as it was."""
    kube.denied.add((verb, "virtualservices"))
    before = kube.get(VIRTUAL_SERVICE)
    with pytest.raises(ActuatorError, match=f"403: forbidden.*grant `{verb}`") as caught:
        istio_actuator(client).apply("prod/reviews#primary", {"v1": 100, "v2": 0}, dry_run=False)
    assert not caught.value.retryable
    assert "cannot " + verb in str(caught.value)
    assert kube.get(VIRTUAL_SERVICE) == before


@pytest.mark.parametrize("case", CASES)
def test_nothing_to_change_sends_no_patch(kube: FakeKube, client: KubeClient, case: Case) -> None:
    actuator = case.make(client)
    before = kube.get(case.fixture)
    same = actuator.apply(case.target, case.weights, dry_run=False)
    assert (same.state, same.detail) == (ApplyState.APPLIED, "nothing to change")
    if case.fixture is not TRAFFIC_SPLIT:
        untouched = actuator.apply(case.target, None, restore_retries=True, dry_run=False)
        assert (untouched.state, untouched.detail) == (ApplyState.APPLIED, "nothing to change")
    assert not [r for r in kube.requests if r.method == "PATCH"]
    assert kube.get(case.fixture) == before
