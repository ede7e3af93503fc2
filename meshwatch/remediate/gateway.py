"""Gateway API HTTPRoute (gateway.networking.k8s.io/v1): weights of one rule's backendRefs.

Target `namespace/name#rule`, where `rule` is the rule's `name` (Gateway API >= 1.2) or
its index; with a single rule the selector may be left out. Backends are the backendRefs'
`name`s. Weights are relative (0..1,000,000); meshwatch keeps the route's total. Retries
use the rule's `retry` field (GEP-1731, experimental channel): status codes 500, 502,
503, 504 and `attempts`. Linkerd reads the same object (GAMMA), see `linkerd.py`.
"""

from __future__ import annotations

from typing import Any

from meshwatch.remediate.base import Retries
from meshwatch.remediate.kube_client import KubeClient, Obj
from meshwatch.remediate.kubernetes import KubeRouteActuator, ListedRoutes, Slot, at_least_two

RETRY_CODES = (500, 502, 503, 504)


class HTTPRouteRules(ListedRoutes):
    """Weights of HTTPRoute rules; `group`/`version` name the API the route is served by."""

    kind, plural = "HTTPRoute", "httproutes"
    routes_field, route_what, retry_field = "rules", "rule", "retry"

    def __init__(self, group: str = "gateway.networking.k8s.io", version: str = "v1") -> None:
        self.group, self.version = group, version

    def slots(self, obj: Obj, selector: str) -> list[Slot]:
        pointer, rule = self.route(obj, selector)
        slots = []
        for j, ref in enumerate(rule.get("backendRefs") or []):
            identity: tuple[tuple[str, Any], ...] = (("name", ref.get("name")),)
            if "port" in ref:
                identity += (("port", ref["port"]),)
            # an absent weight means 1 (the API default)
            slots.append(
                Slot(
                    str(ref.get("name")),
                    f"{pointer}/backendRefs/{j}",
                    identity,
                    int(ref.get("weight", 1)),
                )
            )
        return at_least_two(slots, f"rule {selector!r} has fewer than two backendRefs")

    def retry_value(self, retries: Retries) -> dict[str, Any]:
        return {"codes": list(RETRY_CODES), "attempts": retries.attempts}


def gateway_actuator(client: KubeClient) -> KubeRouteActuator:
    return KubeRouteActuator(client, HTTPRouteRules())
