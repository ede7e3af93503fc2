"""Istio VirtualService (networking.istio.io/v1): weights of one named HTTP route.

Target `namespace/name#route`, where `route` is the `http[].name` (or its index). Backends
are the destinations' `subset`s (their `host` when there is no subset). Retries are the
route's `retries` (`HTTPRetry`); the user's original is kept in an annotation.
"""

from __future__ import annotations

from datetime import timedelta
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


def duration(delta: timedelta) -> str:
    """A protobuf/Go duration, e.g. `0.5s`."""
    return f"{delta.total_seconds():g}s"


class VirtualServiceRoutes:
    group, version, plural = "networking.istio.io", "v1", "virtualservices"

    def _route(self, obj: Obj, selector: str) -> tuple[int, dict[str, Any]]:
        routes = (obj.get("spec") or {}).get("http") or []
        index = pick(routes, selector, "http route")
        return index, routes[index]

    def slots(self, obj: Obj, selector: str) -> list[Slot]:
        index, route = self._route(obj, selector)
        slots = []
        for j, entry in enumerate(route.get("route") or []):
            destination = entry.get("destination") or {}
            name = destination.get("subset") or destination.get("host")
            slots.append(
                Slot(
                    str(name),
                    f"/spec/http/{index}/route/{j}",
                    (("destination", destination),),
                    int(entry.get("weight", 0)),
                )
            )
        return at_least_two(slots, f"http route {selector!r} has fewer than two destinations")

    def has_retries(self, obj: Obj, selector: str) -> bool:
        return saved_annotation(obj, annotation_key("retries", selector)) is not None

    def retry_ops(self, obj: Obj, selector: str, retries: Retries | None) -> list[Op]:
        index, route = self._route(obj, selector)
        wanted = (
            None  # put the user's retries back
            if retries is None
            else {
                "attempts": retries.attempts,
                "perTryTimeout": duration(retries.per_try_timeout),
                "retryOn": ",".join(retries.on),
                "retryIgnorePreviousHosts": True,
            }
        )
        key = annotation_key("retries", selector)
        return field_retry_ops(obj, key, f"/spec/http/{index}/retries", route, "retries", wanted)


def istio_actuator(client: KubeClient) -> KubeRouteActuator:
    return KubeRouteActuator(client, VirtualServiceRoutes())
