"""The demo mesh: which services and versions run, how Envoy routes them, and their SLOs.

    client ─► Envoy ─┬─ /frontend ─► frontend_v1
                     ├─ /checkout ─► checkout_v1 (70) │ checkout_v2 (30, the canary)
                     └─ /payments ─► payments_v1

The SLOs are written in meshwatch's own spec format, on Envoy's metrics, exactly as a user
would write them; the checkout SLO carries the remediation policy the incident exercises.
Its short windows (15 s and 1 min) suit a demo that lasts minutes; production policies use
the defaults (1 m and 5 m).
"""

from __future__ import annotations

from dataclasses import dataclass

from meshwatch.demo.envoy import ROUTE_CONFIG, VIRTUAL_HOST, Route

SERVICES: dict[str, dict[str, int]] = {
    "frontend": {"v1": 100},
    "checkout": {"v1": 70, "v2": 30},
    "payments": {"v1": 100},
}
RATES: dict[str, float] = {"/frontend": 20.0, "/checkout": 30.0, "/payments": 10.0}
INCIDENT_SERVICE, INCIDENT_VERSION = "checkout", "v2"


def route_target(route: str) -> str:
    """The Envoy actuator's id of a route of the demo mesh."""
    return f"{ROUTE_CONFIG}/{VIRTUAL_HOST}/{route}"


CHECKOUT_ROUTE = route_target("checkout")


def cluster(service: str, version: str) -> str:
    return f"{service}_{version}"


def routes() -> list[Route]:
    return [
        Route(
            name=service,
            prefix=f"/{service}",
            weights={cluster(service, v): weight for v, weight in versions.items()},
        )
        for service, versions in SERVICES.items()
    ]


@dataclass(frozen=True, slots=True)
class SpecParams:
    """Knobs of the generated spec (the demo passes where Envoy's route file lives)."""

    route_target: str = CHECKOUT_ROUTE
    dry_run: bool = False
    short_windows: tuple[str, str] = ("15s", "1m")
    cooldown: str = "8s"
    recovery_window: str = "20s"
    min_requests: int = 10  # per short window, on each backend (v2 at its 5 % floor still has it)


def spec_text(params: SpecParams) -> str:
    """The demo's SLO spec (meshwatch/v1), one YAML document per service."""
    checkout = ", ".join(cluster("checkout", v) for v in SERVICES["checkout"])
    backends = "\n".join(
        f"        - {{name: {cluster('checkout', v)}, weight: {w}}}"
        for v, w in SERVICES["checkout"].items()
    )
    return f"""\
apiVersion: meshwatch/v1
kind: ServiceLevels
service: checkout
labels: {{team: shop}}
slos:
  - name: availability
    description: Checkout requests answered without a 5xx, both versions together.
    objective: 99.5
    window: 30d
    sli:
      mesh: {{kind: envoy, clusters: [{checkout}]}}
    remediation:
      actuator: envoy
      target: {params.route_target}
      backends:
{backends}
      action: shift
      short_windows: [{params.short_windows[0]}, {params.short_windows[1]}]
      factor: 10
      step: 25
      min_healthy_weight: 5
      min_requests: {params.min_requests}
      cooldown: {params.cooldown}
      recovery_window: {params.recovery_window}
      dry_run: {str(params.dry_run).lower()}
---
apiVersion: meshwatch/v1
kind: ServiceLevels
service: frontend
labels: {{team: web}}
slos:
  - name: availability
    description: Pages served without a 5xx.
    objective: 99.5
    window: 30d
    sli:
      mesh: {{kind: envoy, clusters: [{cluster("frontend", "v1")}]}}
---
apiVersion: meshwatch/v1
kind: ServiceLevels
service: payments
labels: {{team: payments}}
slos:
  - name: latency
    description: Payments answered within 50 ms.
    objective: 99
    window: 30d
    sli:
      mesh: {{kind: envoy, clusters: [{cluster("payments", "v1")}], latency_threshold: 50ms}}
"""
