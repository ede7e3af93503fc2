"""Plain Envoy `/stats/prometheus`: final responses per upstream cluster; durations in ms."""

from __future__ import annotations

import re

from meshwatch.meshes.base import Mesh, PresetError, PresetValues, TargetFormat
from meshwatch.meshes.istio import BUCKETS_MS
from meshwatch.model import Matcher

REQUESTS = "envoy_cluster_upstream_rq"  # final responses, retried attempts excluded
DURATION_MS = "envoy_cluster_upstream_rq_time"
CLUSTER = "envoy_cluster_name"
CODE = "envoy_response_code"

RDS_ROUTE_TARGET = TargetFormat(
    re.compile(r"^[^/\s]+/[^/\s]+/[^/\s]+$"),
    "route_config/virtual_host/route (the names in the RDS file)",
)


def matchers(clusters: tuple[str, ...]) -> tuple[Matcher, ...]:
    if len(clusters) == 1:
        return (Matcher(CLUSTER, "=", clusters[0]),)
    return (Matcher(CLUSTER, "=~", "|".join(re.escape(n) for n in clusters)),)


def _select(values: PresetValues) -> tuple[tuple[Matcher, ...], str] | PresetError:
    cluster, several = values.get("cluster"), values.get("clusters")
    clusters: tuple[str, ...] = (cluster,) if isinstance(cluster, str) and cluster else ()
    if not clusters and isinstance(several, list | tuple):
        clusters = tuple(str(n) for n in several)
    if (cluster and several) or not clusters:
        return PresetError(None, "kind envoy needs exactly one of cluster, clusters")
    return matchers(clusters), "|".join(clusters)


MESH = Mesh(
    kind="envoy",
    title="Envoy",
    requests=REQUESTS,
    duration_ms=DURATION_MS,
    buckets_ms=BUCKETS_MS,
    bad=Matcher(CODE, "=~", "5.."),
    code_label=CODE,
    version_label=CLUSTER,
    edge=(),
    peers=(CLUSTER,),
    dashboard_variable="cluster",
    fields=("cluster", "clusters"),
    select=_select,
    backend=lambda name: {"cluster": name, "clusters": None},
    example={"cluster": "CLUSTER"},
    actuator="envoy",
    target_format=RDS_ROUTE_TARGET,
)
