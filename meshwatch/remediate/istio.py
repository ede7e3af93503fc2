"""Istio VirtualService (networking.istio.io/v1): weights of one named HTTP route.

Target `namespace/name#route`, where `route` is the `http[].name` (or its index). Backends
are the destinations' `subset`s (their `host` when there is no subset). Retries are the
route's `retries` (`HTTPRetry`); the user's original is kept in an annotation.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from meshwatch.remediate.base import Retries
from meshwatch.remediate.kube_client import KubeClient, Obj
from meshwatch.remediate.kubernetes import KubeRouteActuator, ListedRoutes, Slot, at_least_two


def duration(delta: timedelta) -> str:
    """A protobuf/Go duration, e.g. `0.5s`."""
    return f"{delta.total_seconds():g}s"


class VirtualServiceRoutes(ListedRoutes):
    group, version, kind, plural = "networking.istio.io", "v1", "VirtualService", "virtualservices"
    routes_field, route_what, retry_field = "http", "http route", "retries"

    def slots(self, obj: Obj, selector: str) -> list[Slot]:
        pointer, route = self.route(obj, selector)
        slots = []
        for j, entry in enumerate(route.get("route") or []):
            destination = entry.get("destination") or {}
            name = destination.get("subset") or destination.get("host")
            slots.append(
                Slot(
                    str(name),
                    f"{pointer}/route/{j}",
                    (("destination", destination),),
                    int(entry.get("weight", 0)),
                )
            )
        return at_least_two(slots, f"http route {selector!r} has fewer than two destinations")

    def retry_value(self, retries: Retries) -> dict[str, Any]:
        return {
            "attempts": retries.attempts,
            "perTryTimeout": duration(retries.per_try_timeout),
            "retryOn": ",".join(retries.on),
            "retryIgnorePreviousHosts": True,
        }


def istio_actuator(client: KubeClient) -> KubeRouteActuator:
    return KubeRouteActuator(client, VirtualServiceRoutes())
