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


def _spec(service: str, sli: str, actuator: str, target: str, backends: str) -> str:
    """A native spec: one availability SLO of `service` whose policy drives `target`."""
    return (
        f"apiVersion: meshwatch/v1\nkind: ServiceLevels\nservice: {service}\nslos:\n"
        f"  - name: availability\n    objective: 99.9\n    window: 30d\n    sli:\n{sli}"
        f"    remediation:\n      actuator: {actuator}\n      target: {target}\n"
        f"      backends:\n{backends}{POLICY}"
    )


def _ratio(total: str, bad: str) -> str:
    return f"      ratio:\n        total: '{total}}}'\n        bad: '{total},{bad}}}'\n"


def _backends(route: str, mesh: str, label: str) -> str:
    """The route's backends at weight 50, each measured by its own `mesh` preset."""
    return "".join(
        f"        - {{name: {n}, weight: 50, sli: {{mesh: {{kind: {mesh}, {label}: {n}}}}}}}\n"
        for n in INITIAL[route]
    )


def specs(directory: Path) -> list[Path]:
    """One spec per route: Istio's mesh preset (backends = destination_version), Istio
    metrics per Service behind the HTTPRoute, Linkerd's per deployment."""
    directory.mkdir(parents=True, exist_ok=True)
    web = 'istio_requests_total{reporter="destination",destination_service_name=~"web-v1|web-v2"'
    bb = 'response_total{deployment=~"bb|bb-v2",direction="inbound"'
    texts = {
        "reviews": _spec(
            "reviews",
            "      mesh: {kind: istio, service: reviews, namespace: prod}\n",
            "istio",
            ROUTES[0],
            "        - {name: v1, weight: 50}\n        - {name: v2, weight: 50}\n",
        ),
        "web": _spec(
            "web",
            _ratio(web, 'response_code=~"5.."'),
            "gateway",
            ROUTES[1],
            _backends(ROUTES[1], "istio", "service"),
        ),
        "bb": _spec(
            "bb",
            _ratio(bb, 'classification="failure"'),
            "linkerd",
            ROUTES[2],
            _backends(ROUTES[2], "linkerd", "deployment"),
        ),
    }
    paths = []
    for name, text in texts.items():
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
