"""The closed loop on Kubernetes routes, with `meshwatch serve` as a real process.

Parts: a FAKE Kubernetes API server (tests/support/fake_kube.py, HTTPS, test CA, bearer
token) holding a VirtualService, a Gateway API HTTPRoute and a Linkerd HTTPRoute; an
exporter (tests/support/exporter.py) whose Istio and Linkerd request counters the test
drives (`MeshTraffic`: steady traffic per backend, 100 % errors on a failing one); a real
Prometheus scraping it every second with the rules `meshwatch generate rules` writes for
the specs; and `meshwatch serve` (tests/support/serve.py) reading that Prometheus and
patching the routes through a kubeconfig that points at the fake.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.fake_kube import TOKEN, FakeKube
from tests.support.process import wait_for
from tests.support.serve import ServeProcess

API_TOKEN = "kube-loop-token"
RATE = 40.0  # requests per second and backend
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


def istio_series(service: str, namespace: str, version: str) -> dict[str, str]:
    return {
        "reporter": "destination",
        "destination_service_name": service,
        "destination_service_namespace": namespace,
        "destination_version": version,
    }


@dataclass
class Backend:
    """One backend's request counter: `labels`, and how its good/bad answers are labelled."""

    metric: str
    labels: dict[str, str]
    good: dict[str, str]
    bad: dict[str, str]
    total: float = 0.0
    errors: float = 0.0
    failing: bool = False


def _istio(service: str, namespace: str, version: str) -> Backend:
    return Backend(
        "istio_requests_total",
        istio_series(service, namespace, version),
        {"response_code": "200"},
        {"response_code": "503"},
    )


def _linkerd(deployment: str, namespace: str) -> Backend:
    return Backend(
        "response_total",
        {"deployment": deployment, "namespace": namespace, "direction": "inbound"},
        {"classification": "success", "status_code": "200"},
        {"classification": "failure", "status_code": "503"},
    )


@dataclass
class MeshTraffic:
    """The metrics the test controls, by route and backend name (as the routes spell them)."""

    backends: dict[str, dict[str, Backend]] = field(
        default_factory=lambda: {
            ROUTES[0]: {
                "v1": _istio("reviews", "prod", "v1"),
                "v2": _istio("reviews", "prod", "v2"),
            },
            ROUTES[1]: {
                "web-v1": _istio("web-v1", "shop", "v1"),
                "web-v2": _istio("web-v2", "shop", "v2"),
            },
            ROUTES[2]: {
                "bb": _linkerd("bb", "traffic-shift-demo"),
                "bb-v2": _linkerd("bb-v2", "traffic-shift-demo"),
            },
        }
    )
    last: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, routes: Sequence[str] = ROUTES, *, failing: bool = True) -> None:
        """The second backend of each of `routes` answers only errors (or heals)."""
        with self.lock:
            for route in routes:
                self.backends[route][BROKEN[route]].failing = failing

    def heal(self) -> None:
        self.fail(ROUTES, failing=False)

    def render(self, elapsed: float) -> str:
        """The exposition at `elapsed` seconds: counters grown by RATE per second since the
        previous scrape, all of it errors for a failing backend."""
        with self.lock:
            step = 0.0 if self.last is None else elapsed - self.last
            self.last = elapsed
            lines = []
            for backends in self.backends.values():
                for b in backends.values():
                    b.total += RATE * step
                    b.errors += RATE * step if b.failing else 0.0
                    lines.append(_sample(b.metric, {**b.labels, **b.good}, b.total - b.errors))
                    lines.append(_sample(b.metric, {**b.labels, **b.bad}, b.errors))
            return "\n".join(lines) + "\n"


def _sample(metric: str, labels: dict[str, str], value: float) -> str:
    text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{metric}{{{text}}} {value:.1f}"


# --- the routes (kept in the fake) and the SLOs that drive them ---------------------------


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


# --- meshwatch serve -------------------------------------------------------------------


class KubeServe(ServeProcess):
    """`meshwatch serve` with `kubernetes: {kubeconfig, context}` pointing at the fake."""

    def __init__(
        self,
        workdir: Path,
        spec_paths: list[Path],
        kube: FakeKube,
        prometheus: str,
        *,
        enabled: bool = True,
        default_chain: bool = False,
    ) -> None:
        """`default_chain`: settings `kubernetes: {}`, the kubeconfig found through
        $KUBECONFIG (whose current context is then the fake's)."""
        workdir.mkdir(parents=True, exist_ok=True)
        kubeconfig = kube.kubeconfig(workdir / "kubeconfig", {"token": TOKEN})
        env: dict[str, str] = {}
        settings: dict[str, str] = {"kubeconfig": str(kubeconfig), "context": "fake"}
        if default_chain:
            text = kubeconfig.read_text().replace(
                "current-context: elsewhere", "current-context: fake"
            )
            kubeconfig.write_text(text)
            # not in a pod, whatever machine the tests run on
            env = {"KUBECONFIG": str(kubeconfig), "KUBERNETES_SERVICE_HOST": ""}
            settings = {}
        config = {
            "database_url": f"sqlite:///{workdir / 'meshwatch.db'}",
            "api_token": API_TOKEN,
            "specs": [str(p) for p in spec_paths],
            "prometheus_url": prometheus,
            "evaluate_interval": 1,
            "remediation_enabled": enabled,
            "kubernetes": settings,
        }
        super().__init__(workdir, config=config, token=API_TOKEN, env=env)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers(), timeout=10.0)

    def targets(self) -> dict[str, dict[str, Any]]:
        with self.client() as client:
            return {t["target"]: t for t in client.get("/api/v1/targets").raise_for_status().json()}

    def actions(self, target: str | None = None) -> list[dict[str, Any]]:
        """The audit log (of `target`), oldest first."""
        params = {"target": target} if target else {}
        with self.client() as client:
            found = client.get("/api/v1/actions", params=params).raise_for_status().json()
        return list(reversed(found))

    def wait_healthy(self, timeout: float) -> float:
        """Until every route has been read and decided `none` (data on both backends)."""
        return wait_for(
            lambda: (
                all(
                    t["weights"] is not None and t["decision"] == "none"
                    for t in self.targets().values()
                )
                and len(self.targets()) == len(ROUTES)
            ),
            timeout,
            "every route read and healthy",
            every=0.25,
        )
