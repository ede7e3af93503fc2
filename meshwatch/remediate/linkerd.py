"""Linkerd: weights of an HTTPRoute (preferred) or of a legacy SMI TrafficSplit.

Linkerd shifts traffic with HTTPRoute `backendRefs` weights (gateway.networking.k8s.io/v1,
or Linkerd's own policy.linkerd.io HTTPRoute, same shape); retries are annotations on the
route (`retry.linkerd.io/http`, `/limit`, `/timeout`), and a Linkerd retry may go to a
different backend. The legacy linkerd-smi extension reads `TrafficSplit`
(split.smi-spec.io/v1alpha2) `spec.backends[{service, weight}]`; it has no retry field.
"""

from __future__ import annotations

import json
from typing import Any

from meshwatch.errors import ActuatorError
from meshwatch.remediate.base import Retries
from meshwatch.remediate.gateway import HTTPRouteRules
from meshwatch.remediate.kube_client import KubeClient, Obj, Op
from meshwatch.remediate.kubernetes import (
    KubeRouteActuator,
    Slot,
    annotation_key,
    at_least_two,
    escape,
    saved_annotation,
)

RETRY_ANNOTATIONS = ("retry.linkerd.io/http", "retry.linkerd.io/limit", "retry.linkerd.io/timeout")


class LinkerdHTTPRouteRules(HTTPRouteRules):
    """HTTPRoute weights, with retries as Linkerd's annotations on the route."""

    def retry_ops(self, obj: Obj, selector: str, retries: Retries | None) -> list[Op]:
        annotations: dict[str, Any] = (obj.get("metadata") or {}).get("annotations") or {}
        key = annotation_key("retry-annotations", "")
        saved = saved_annotation(obj, key)
        if retries is None:
            if saved is None:
                return []
            original: dict[str, str] = json.loads(saved)
            final = {
                n: v for n, v in annotations.items() if n != key and n not in RETRY_ANNOTATIONS
            }
            final.update(original)
            if not final:
                return [{"op": "remove", "path": "/metadata/annotations"}]
            return [{"op": "add", "path": "/metadata/annotations", "value": final}]
        timeout_ms = round(retries.per_try_timeout.total_seconds() * 1000)
        wanted = {
            "retry.linkerd.io/http": "5xx",
            "retry.linkerd.io/limit": str(retries.attempts),
            "retry.linkerd.io/timeout": f"{timeout_ms}ms",
        }
        if saved is None:
            original = {n: annotations[n] for n in RETRY_ANNOTATIONS if n in annotations}
            wanted[key] = json.dumps(original, sort_keys=True)
        if not annotations:
            return [{"op": "add", "path": "/metadata/annotations", "value": wanted}]
        return [
            {"op": "add", "path": f"/metadata/annotations/{escape(n)}", "value": v}
            for n, v in wanted.items()
        ]

    def has_retries(self, obj: Obj, selector: str) -> bool:
        return saved_annotation(obj, annotation_key("retry-annotations", "")) is not None


class TrafficSplitBackends:
    """SMI TrafficSplit: one split per object, so the target has no `#selector`."""

    group, version = "split.smi-spec.io", "v1alpha2"
    kind, plural = "TrafficSplit", "trafficsplits"

    def slots(self, obj: Obj, selector: str) -> list[Slot]:
        backends = (obj.get("spec") or {}).get("backends") or []
        slots = [
            Slot(
                str(b.get("service")),
                f"/spec/backends/{j}",
                (("service", b.get("service")),),
                int(b.get("weight", 0)),
            )
            for j, b in enumerate(backends)
        ]
        return at_least_two(slots, "TrafficSplit has fewer than two backends")

    def has_retries(self, obj: Obj, selector: str) -> bool:
        return False

    def retry_ops(self, obj: Obj, selector: str, retries: Retries | None) -> list[Op]:
        raise ActuatorError(
            "SMI TrafficSplit has no retry policy; use an HTTPRoute to let meshwatch set retries",
            retryable=False,
        )


def linkerd_actuator(client: KubeClient, *, traffic_split: bool = False) -> KubeRouteActuator:
    kind = TrafficSplitBackends() if traffic_split else LinkerdHTTPRouteRules()
    return KubeRouteActuator(client, kind)
