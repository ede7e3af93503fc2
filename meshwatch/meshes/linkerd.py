"""Linkerd proxy metrics, inbound side; latency in ms (time to first byte)."""

from __future__ import annotations

from meshwatch.meshes.base import Mesh, PresetError, PresetValues
from meshwatch.model import Matcher

RESPONSES = "response_total"
LATENCY_MS = "response_latency_ms"
DEPLOYMENT = "deployment"
NAMESPACE = "namespace"
DIRECTION = "direction"
CLASSIFICATION = "classification"
DST_DEPLOYMENT = "dst_deployment"  # read by the mesh dashboard only
STATUS_CODE = "status_code"

BUCKETS_MS = (1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000,
              3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000)  # fmt: skip


def matchers(deployment: str, namespace: str | None) -> tuple[Matcher, ...]:
    found = [Matcher(DEPLOYMENT, "=", deployment)]
    if namespace:
        found.append(Matcher(NAMESPACE, "=", namespace))
    found.append(Matcher(DIRECTION, "=", "inbound"))
    return tuple(found)


def _select(values: PresetValues) -> tuple[tuple[Matcher, ...], str] | PresetError:
    deployment, namespace = values.get("deployment"), values.get("namespace")
    if not isinstance(deployment, str) or not deployment:
        return PresetError("deployment", "kind linkerd needs deployment")
    return matchers(deployment, namespace if isinstance(namespace, str) else None), deployment


MESH = Mesh(
    kind="linkerd",
    title="Linkerd",
    requests=RESPONSES,
    duration_ms=LATENCY_MS,
    buckets_ms=BUCKETS_MS,
    bad=Matcher(CLASSIFICATION, "=", "failure"),
    code_label=STATUS_CODE,
    version_label=DEPLOYMENT,
    edge=(Matcher(DIRECTION, "=", "outbound"),),
    peers=(DEPLOYMENT, DST_DEPLOYMENT),
    dashboard_variable="deployment",
    fields=("deployment", "namespace"),
    select=_select,
    backend=lambda name: {"deployment": name},
    example={"deployment": "DEPLOYMENT"},
    actuator="linkerd",
    target_format=None,
)
