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
from meshwatch.remediate.kubernetes import (
    KubeClient,
    KubeRouteActuator,
    Obj,
    Op,
    Slot,
    annotation_key,
    at_least_two,
    field_retry_ops,
    pick,
    saved_annotation,
)

RETRY_CODES = (500, 502, 503, 504)


class HTTPRouteRules:
    """Weights of HTTPRoute rules; `group`/`version` name the API the route is served by."""

    plural = "httproutes"

    def __init__(self, group: str = "gateway.networking.k8s.io", version: str = "v1") -> None:
        self.group, self.version = group, version

    def _rule(self, obj: Obj, selector: str) -> tuple[int, dict[str, Any]]:
        rules = (obj.get("spec") or {}).get("rules") or []
        index = pick(rules, selector, "rule")
        return index, rules[index]

    def slots(self, obj: Obj, selector: str) -> list[Slot]:
        index, rule = self._rule(obj, selector)
        slots = []
        for j, ref in enumerate(rule.get("backendRefs") or []):
            identity: tuple[tuple[str, Any], ...] = (("name", ref.get("name")),)
            if "port" in ref:
                identity += (("port", ref["port"]),)
            # an absent weight means 1 (the API default)
            slots.append(
                Slot(
                    str(ref.get("name")),
                    f"/spec/rules/{index}/backendRefs/{j}",
                    identity,
                    int(ref.get("weight", 1)),
                )
            )
        return at_least_two(slots, f"rule {selector!r} has fewer than two backendRefs")

    def has_retries(self, obj: Obj, selector: str) -> bool:
        return saved_annotation(obj, annotation_key("retry", selector)) is not None

    def retry_ops(self, obj: Obj, selector: str, retries: Retries | None) -> list[Op]:
        index, rule = self._rule(obj, selector)
        wanted = (
            None if retries is None else {"codes": list(RETRY_CODES), "attempts": retries.attempts}
        )
        key = annotation_key("retry", selector)
        return field_retry_ops(obj, key, f"/spec/rules/{index}/retry", rule, "retry", wanted)


def gateway_actuator(client: KubeClient) -> KubeRouteActuator:
    return KubeRouteActuator(client, HTTPRouteRules())
