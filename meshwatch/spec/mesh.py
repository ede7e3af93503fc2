"""Mesh presets: `sli: {mesh: {kind: istio, service: checkout}}` expanded into PromQL selectors.

Availability: Istio `istio_requests_total{reporter="destination",destination_service_name=S}`
with bad = `response_code=~"5.."`; Envoy `envoy_cluster_upstream_rq{envoy_cluster_name=C}`
(final responses, retries excluded) with bad = `envoy_response_code=~"5.."`; Linkerd
`response_total{deployment=D,direction="inbound"}` with bad = `classification="failure"`.
Latency uses the mesh's millisecond histogram (`istio_request_duration_milliseconds`,
`envoy_cluster_upstream_rq_time`, `response_latency_ms`).
"""

from __future__ import annotations

import re

from meshwatch import conventions as c
from meshwatch.model import SLI, LatencySLI, Matcher, MeshKind, MeshSource, RatioSLI, Selector

# Default bucket bounds (ms) of each mesh's duration histogram.
ENVOY_BUCKETS_MS = (0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000,
                    60000, 300000, 600000, 1800000, 3600000)  # fmt: skip
LINKERD_BUCKETS_MS = (1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000,
                      3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000)  # fmt: skip

_COUNTER = {"istio": c.ISTIO_REQUESTS, "envoy": c.ENVOY_REQUESTS, "linkerd": c.LINKERD_RESPONSES}
_HISTOGRAM = {
    "istio": c.ISTIO_DURATION_MS,
    "envoy": c.ENVOY_DURATION_MS,
    "linkerd": c.LINKERD_LATENCY_MS,
}
_BAD = {
    "istio": Matcher(c.ISTIO_CODE, "=~", "5.."),
    "envoy": Matcher(c.ENVOY_CODE, "=~", "5.."),
    "linkerd": Matcher(c.LINKERD_CLASSIFICATION, "=", "failure"),
}
VERSION_LABEL = {
    "istio": c.ISTIO_VERSION,
    "envoy": c.ENVOY_CLUSTER,
    "linkerd": c.LINKERD_DEPLOYMENT,
}
BUCKETS_MS = {"istio": ENVOY_BUCKETS_MS, "envoy": ENVOY_BUCKETS_MS, "linkerd": LINKERD_BUCKETS_MS}


def istio_matchers(service: str, namespace: str | None, version: str | None) -> tuple[Matcher, ...]:
    matchers = [
        Matcher(c.ISTIO_REPORTER, "=", "destination"),
        Matcher(c.ISTIO_SERVICE, "=", service),
    ]
    if namespace:
        matchers.append(Matcher(c.ISTIO_NAMESPACE, "=", namespace))
    if version:
        matchers.append(Matcher(c.ISTIO_VERSION, "=", version))
    return tuple(matchers)


def envoy_matchers(clusters: tuple[str, ...]) -> tuple[Matcher, ...]:
    if len(clusters) == 1:
        return (Matcher(c.ENVOY_CLUSTER, "=", clusters[0]),)
    return (Matcher(c.ENVOY_CLUSTER, "=~", "|".join(re.escape(n) for n in clusters)),)


def linkerd_matchers(deployment: str, namespace: str | None) -> tuple[Matcher, ...]:
    matchers = [Matcher(c.LINKERD_DEPLOYMENT, "=", deployment)]
    if namespace:
        matchers.append(Matcher(c.LINKERD_NAMESPACE, "=", namespace))
    matchers.append(Matcher(c.LINKERD_DIRECTION, "=", "inbound"))
    return tuple(matchers)


def mesh_sli(kind: MeshKind, matchers: tuple[Matcher, ...], latency_ms: float | None) -> SLI:
    """The availability SLI, or the latency SLI when `latency_ms` is given."""
    if latency_ms is not None:
        return LatencySLI(histogram=_HISTOGRAM[kind], threshold=latency_ms, matchers=matchers)
    total = Selector(_COUNTER[kind], matchers)
    return RatioSLI(total=total, bad=total.with_matchers(_BAD[kind]))


def mesh_source(kind: MeshKind, target: str) -> MeshSource:
    return MeshSource(kind=kind, target=target, version_label=VERSION_LABEL[kind])
