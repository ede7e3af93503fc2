"""Plain Envoy `/stats/prometheus`: final responses per upstream cluster; durations in ms."""

from __future__ import annotations

import re

from meshwatch.meshes.base import Mesh, PresetError, PresetValues, TargetFormat
from meshwatch.meshes.istio import BUCKETS_MS
from meshwatch.model import Matcher, RatioSLI, Selector

REQUESTS = "envoy_cluster_upstream_rq"  # final responses, retried attempts excluded
DURATION_MS = "envoy_cluster_upstream_rq_time"
CLUSTER = "envoy_cluster_name"
CODE = "envoy_response_code"
# The grpc_stats HTTP filter (envoy.filters.http.grpc_stats, default config) counts gRPC calls
# per upstream cluster as `cluster.<c>.grpc.total` and one counter per status number,
# `cluster.<c>.grpc.<n>`: in Prometheus `envoy_cluster_grpc_total`, `envoy_cluster_grpc_14`.
# (With `stats_for_all_methods` the method is in the name instead and these are not written.)
GRPC_TOTAL = "envoy_cluster_grpc_total"


def grpc_status_counter(code: int) -> str:
    """The grpc_stats filter's counter of calls answered with status `code`."""
    return f"envoy_cluster_grpc_{code}"


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


def _grpc(base: tuple[Matcher, ...], codes: tuple[int, ...]) -> RatioSLI:
    """Bad: the sum of the server errors' status counters, one metric name per status (one
    selector over several names would not do: `increase()` drops the name, and Prometheus
    refuses a result with two series of the same labels)."""
    first, *more = (Selector(grpc_status_counter(code), base) for code in codes)
    return RatioSLI(total=Selector(GRPC_TOTAL, base), bad=first, more_bad=tuple(more))


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
    members_field="clusters",
    actuator="envoy",
    target_format=RDS_ROUTE_TARGET,
    grpc=_grpc,
    auto=None,  # the HTTP and the gRPC counters are separate families
    grpc_latency=(),  # envoy_cluster_upstream_rq_time times every request of the cluster
    grpc_code_label=None,
)
