"""The routes of the Kubernetes loop tests, as their users wrote them, and the SLOs that
drive them: an Istio VirtualService, a Gateway API HTTPRoute and a Linkerd HTTPRoute, kept
in the FAKE Kubernetes API server of tests/support/fake_kube.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.fake_kube import FakeKube

ROUTES = ("prod/reviews#primary", "shop/web#main", "traffic-shift-demo/bb-route")
INITIAL = {
    ROUTES[0]: {"v1": 50, "v2": 50},
    ROUTES[1]: {"web-v1": 50, "web-v2": 50},
    ROUTES[2]: {"bb": 50, "bb-v2": 50},
}
BROKEN = {ROUTES[0]: "v2", ROUTES[1]: "web-v2", ROUTES[2]: "bb-v2"}
POLICY = """\
      short_windows: [10s, 30s]
      step: 20
      min_healthy_weight: 10
      min_requests: 20
      cooldown: 2s
      recovery_window: 5s
      dry_run: false
"""


def virtual_service() -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "reviews", "namespace": "prod", "annotations": {"owner": "team"}},
        "spec": {
            "hosts": ["reviews.prod.svc.cluster.local"],
            "http": [
                {
                    "name": "primary",
                    "timeout": "5s",
                    "route": [
                        {"destination": {"host": "reviews", "subset": "v1"}, "weight": 50},
                        {"destination": {"host": "reviews", "subset": "v2"}, "weight": 50},
                    ],
                }
            ],
        },
    }


def http_route() -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "parentRefs": [{"name": "public-gateway"}],
            "rules": [
                {
                    "name": "main",
                    "backendRefs": [
                        {"name": "web-v1", "port": 8080, "weight": 50},
                        {"name": "web-v2", "port": 8080, "weight": 50},
                    ],
                }
            ],
        },
    }


def linkerd_route() -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "bb-route", "namespace": "traffic-shift-demo"},
        "spec": {
            "parentRefs": [{"name": "bb", "kind": "Service", "group": "core", "port": 8080}],
            "rules": [
                {
                    "backendRefs": [
                        {"name": "bb", "port": 8080, "weight": 50},
                        {"name": "bb-v2", "port": 8080, "weight": 50},
                    ]
                }
            ],
        },
    }


FIXTURES = {ROUTES[0]: virtual_service, ROUTES[1]: http_route, ROUTES[2]: linkerd_route}


def specs(directory: Path) -> list[Path]:
    """One spec per route: Istio's mesh preset (backends = destination_version), Istio
    metrics per Service behind the HTTPRoute, Linkerd's per deployment."""
    directory.mkdir(parents=True, exist_ok=True)
    istio = f"""\
apiVersion: meshwatch/v1
kind: ServiceLevels
service: reviews
slos:
  - name: availability
    objective: 99.9
    window: 30d
    sli:
      mesh: {{kind: istio, service: reviews, namespace: prod}}
    remediation:
      actuator: istio
      target: {ROUTES[0]}
      backends: [{{name: v1, weight: 50}}, {{name: v2, weight: 50}}]
{POLICY}"""
    web = 'istio_requests_total{reporter="destination",destination_service_name=~"web-v1|web-v2"'
    gateway = f"""\
apiVersion: meshwatch/v1
kind: ServiceLevels
service: web
slos:
  - name: availability
    objective: 99.9
    window: 30d
    sli:
      ratio:
        total: '{web}}}'
        bad: '{web},response_code=~"5.."}}'
    remediation:
      actuator: gateway
      target: {ROUTES[1]}
      backends:
        - {{name: web-v1, weight: 50, sli: {{mesh: {{kind: istio, service: web-v1}}}}}}
        - {{name: web-v2, weight: 50, sli: {{mesh: {{kind: istio, service: web-v2}}}}}}
{POLICY}"""
    bb = 'response_total{deployment=~"bb|bb-v2",direction="inbound"'
    linkerd = f"""\
apiVersion: meshwatch/v1
kind: ServiceLevels
service: bb
slos:
  - name: availability
    objective: 99.9
    window: 30d
    sli:
      ratio:
        total: '{bb}}}'
        bad: '{bb},classification="failure"}}'
    remediation:
      actuator: linkerd
      target: {ROUTES[2]}
      backends:
        - {{name: bb, weight: 50, sli: {{mesh: {{kind: linkerd, deployment: bb}}}}}}
        - {{name: bb-v2, weight: 50, sli: {{mesh: {{kind: linkerd, deployment: bb-v2}}}}}}
{POLICY}"""
    paths = []
    for name, text in (("reviews", istio), ("web", gateway), ("bb", linkerd)):
        path = directory / f"{name}.yaml"
        path.write_text(text)
        paths.append(path)
    return paths


def api_path(route: str) -> str:
    """The object's path on the API server."""
    obj = FIXTURES[route]()
    plural = {"VirtualService": "virtualservices", "HTTPRoute": "httproutes"}[obj["kind"]]
    meta = obj["metadata"]
    return f"/apis/{obj['apiVersion']}/namespaces/{meta['namespace']}/{plural}/{meta['name']}"


def reset(kube: FakeKube) -> None:
    """The fixtures as the users wrote them, no refusal armed, nothing recorded."""
    with kube.lock:
        kube.objects.clear()
        kube.requests.clear()
        kube.denied.clear()
        kube.before_patch.clear()
        for make in FIXTURES.values():
            kube.put(make())


def weights(kube: FakeKube, route: str) -> dict[str, int]:
    """The route's weights as the fake API server stores them."""
    obj = kube.get(FIXTURES[route]())
    if obj["kind"] == "VirtualService":
        entries = obj["spec"]["http"][0]["route"]
        return {e["destination"]["subset"]: int(e["weight"]) for e in entries}
    refs = obj["spec"]["rules"][0]["backendRefs"]
    return {r["name"]: int(r["weight"]) for r in refs}
