"""Pure edits of an Envoy RDS document (a DiscoveryResponse as Envoy reads it from a file).

meshwatch owns two things in one named route: the `weighted_clusters` weights and, when it
tightens retries, the route's `retry_policy`. The user's retry policy is saved in the
route's `metadata.filter_metadata.meshwatch` so it can be put back, and survives restarts
because it lives in the file itself. Everything else in the document is kept as it was.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from meshwatch.conventions import ENVOY_METADATA_KEY
from meshwatch.errors import ActuatorError
from meshwatch.remediate.base import Retries

ROUTE_CONFIG_TYPE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
METADATA_KEY = ENVOY_METADATA_KEY
PREVIOUS_HOSTS = {
    "name": "envoy.retry_host_predicates.previous_hosts",
    "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3"
        ".PreviousHostsPredicate"
    },
}

Doc = dict[str, Any]


@dataclass(frozen=True, slots=True)
class RouteRef:
    """`<route_config>/<virtual_host>/<route>`: a route is named by its `name` field."""

    config: str
    virtual_host: str
    route: str

    @staticmethod
    def parse(target: str) -> RouteRef:
        parts = target.split("/")
        if len(parts) != 3 or not all(parts):
            raise ActuatorError(
                f"envoy target {target!r} must be <route_config>/<virtual_host>/<route name>",
                retryable=False,
            )
        return RouteRef(*parts)

    def __str__(self) -> str:
        return f"{self.config}/{self.virtual_host}/{self.route}"


def find_route_config(resources: list[Any], ref: RouteRef) -> Doc:
    """The RouteConfiguration named by `ref` among DiscoveryResponse resources."""
    for resource in resources:
        if isinstance(resource, dict) and resource.get("name") == ref.config:
            return resource
    raise ActuatorError(f"{ref}: no route configuration {ref.config!r}", retryable=False)


def find_route(route_config: Doc, ref: RouteRef) -> Doc:
    """The route entry (the `Route` message) named by `ref` in a RouteConfiguration."""
    for vhost in route_config.get("virtual_hosts") or []:
        if vhost.get("name") != ref.virtual_host:
            continue
        for route in vhost.get("routes") or []:
            if route.get("name") == ref.route:
                if not isinstance(route.get("route", {}).get("weighted_clusters"), dict):
                    raise ActuatorError(
                        f"{ref}: route has no weighted_clusters to shift", retryable=False
                    )
                return dict(route)
        raise ActuatorError(f"{ref}: no route named {ref.route!r}", retryable=False)
    raise ActuatorError(f"{ref}: no virtual host {ref.virtual_host!r}", retryable=False)


def route_weights(route: Doc) -> dict[str, int]:
    """Weights by cluster name; a missing weight is 0 (protobuf default)."""
    clusters = route["route"]["weighted_clusters"].get("clusters") or []
    return {str(c["name"]): int(c.get("weight", 0)) for c in clusters}


def has_meshwatch_retries(route: Doc) -> bool:
    filter_metadata = (route.get("metadata") or {}).get("filter_metadata") or {}
    return METADATA_KEY in filter_metadata


def edit(
    doc: Doc,
    ref: RouteRef,
    *,
    weights: Mapping[str, int] | None,
    retries: Retries | None,
    restore_retries: bool,
) -> Doc:
    """A copy of `doc` with the route's owned fields changed and `version_info` bumped."""
    new = copy.deepcopy(doc)
    route = _route_in(new, ref)
    if weights is not None:
        for cluster in route["route"]["weighted_clusters"].get("clusters") or []:
            cluster["weight"] = int(weights[cluster["name"]])
    if retries is not None:
        _tighten(route, retries)
    elif restore_retries:
        _restore(route)
    old_version = doc.get("version_info", "")
    new["version_info"] = _same_kind(old_version, next_version(str(old_version)))
    return new


def _same_kind(old: object, new: str) -> str:
    """`new` as the same str subclass as `old`: a round-tripped file keeps its quoting."""
    if isinstance(old, str) and type(old) is not str:
        return type(old)(new)
    return new


def next_version(version: str) -> str:
    """`7` -> `8`, `v12` -> `v13`, `abc` -> `abc-1`, `` -> `1`."""
    match = re.fullmatch(r"(.*?)(\d+)", version)
    if match:
        return f"{match.group(1)}{int(match.group(2)) + 1}"
    return f"{version}-1" if version else "1"


def _route_in(doc: Doc, ref: RouteRef) -> Doc:
    """The route dict inside `doc` itself (not a copy), for in-place edits."""
    config = find_route_config(doc.get("resources") or [], ref)
    for vhost in config.get("virtual_hosts") or []:
        if vhost.get("name") == ref.virtual_host:
            for route in vhost.get("routes") or []:
                if route.get("name") == ref.route:
                    return route  # type: ignore[no-any-return]
    find_route(config, ref)  # raises the precise error
    raise AssertionError("unreachable")


def _tighten(route: Doc, retries: Retries) -> None:
    action = route["route"]
    filter_metadata = route.setdefault("metadata", {}).setdefault("filter_metadata", {})
    if METADATA_KEY not in filter_metadata:  # keep the user's policy from before the first change
        original = action.get("retry_policy")
        filter_metadata[METADATA_KEY] = {
            "had_retry_policy": original is not None,
            "original_retry_policy": copy.deepcopy(original) if original is not None else {},
        }
    action["retry_policy"] = {
        "retry_on": ",".join(retries.on),
        "num_retries": retries.attempts,
        "per_try_timeout": f"{retries.per_try_timeout.total_seconds():g}s",
        # without this a retry stays on the weighted cluster picked first (traffic-anchors §4.1)
        "refresh_cluster_on_retry": True,
        "retry_host_predicate": [copy.deepcopy(PREVIOUS_HOSTS)],
        "host_selection_retry_max_attempts": 3,
        "retry_back_off": {"base_interval": "0.005s", "max_interval": "0.05s"},
    }


def _restore(route: Doc) -> None:
    metadata = route.get("metadata") or {}
    filter_metadata = metadata.get("filter_metadata") or {}
    saved = filter_metadata.pop(METADATA_KEY, None)
    if saved is None:
        return
    if saved.get("had_retry_policy"):
        route["route"]["retry_policy"] = saved["original_retry_policy"]
    else:
        route["route"].pop("retry_policy", None)
    if not filter_metadata:
        metadata.pop("filter_metadata", None)
    if not metadata:
        route.pop("metadata", None)
