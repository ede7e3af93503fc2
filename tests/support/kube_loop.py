"""The closed loop on Kubernetes routes, with `meshwatch serve` as a real process.

Parts: a FAKE Kubernetes API server (tests/support/fake_kube.py, HTTPS, test CA, bearer
token) holding the routes of tests/support/kube_routes.py (a VirtualService, a Gateway API
HTTPRoute, a Linkerd HTTPRoute); an exporter (tests/support/exporter.py) whose Istio and
Linkerd request counters the test drives (`MeshTraffic`: steady traffic per backend, 100 %
errors on a failing one); a real Prometheus scraping it every second with the rules
`meshwatch generate rules` writes for the specs; and `meshwatch serve`
(tests/support/serve.py) reading that Prometheus and patching the routes through a
kubeconfig that points at the fake.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.fake_kube import TOKEN, FakeKube
from tests.support.kube_routes import BROKEN, ROUTES
from tests.support.process import wait_for
from tests.support.serve import ServeProcess

API_TOKEN = "kube-loop-token"
RATE = 40.0  # requests per second and backend


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
