"""Linkerd proxy metrics, inbound side; latency in ms (time to first byte)."""

from __future__ import annotations

from meshwatch.meshes import grpc
from meshwatch.meshes.base import Mesh, PresetError, PresetValues
from meshwatch.model import Matcher, RatioSLI, Selector

RESPONSES = "response_total"
LATENCY_MS = "response_latency_ms"
DEPLOYMENT = "deployment"
NAMESPACE = "namespace"
DIRECTION = "direction"
CLASSIFICATION = "classification"
DST_DEPLOYMENT = "dst_deployment"  # read by the mesh dashboard only
STATUS_CODE = "status_code"
# The gRPC status number (proxies since edge-23.10.3; older ones wrote its description).
GRPC_STATUS = "grpc_status"

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


_FAILURE = Matcher(CLASSIFICATION, "=", "failure")


def _grpc(base: tuple[Matcher, ...], codes: tuple[int, ...]) -> RatioSLI:
    total = Selector(RESPONSES, (*base, Matcher(GRPC_STATUS, "!=", "")))
    bad = Selector(RESPONSES, (*base, Matcher(GRPC_STATUS, "=~", grpc.codes_regex(codes))))
    return RatioSLI(total=total, bad=bad)


def _auto(base: tuple[Matcher, ...], codes: tuple[int, ...]) -> RatioSLI:
    """Linkerd's own failures (HTTP 5xx, stream errors, every non-OK gRPC status), less the
    gRPC statuses outside the server-error set."""
    total = Selector(RESPONSES, base)
    others = [n for n in sorted(grpc.CODES.values()) if n and n not in codes]
    if not others:
        return RatioSLI(total=total, bad=total.with_matchers(_FAILURE))
    spared = Matcher(GRPC_STATUS, "!~", grpc.codes_regex(others))
    return RatioSLI(total=total, bad=total.with_matchers(_FAILURE, spared))


MESH = Mesh(
    kind="linkerd",
    title="Linkerd",
    requests=RESPONSES,
    duration_ms=LATENCY_MS,
    buckets_ms=BUCKETS_MS,
    bad=_FAILURE,
    code_label=STATUS_CODE,
    version_label=DEPLOYMENT,
    edge=(Matcher(DIRECTION, "=", "outbound"),),
    peers=(DEPLOYMENT, DST_DEPLOYMENT),
    dashboard_variable="deployment",
    fields=("deployment", "namespace"),
    select=_select,
    backend=lambda name: {"deployment": name},
    example={"deployment": "DEPLOYMENT"},
    members_field=None,
    actuator="linkerd",
    target_format=None,
    grpc=_grpc,
    auto=_auto,
    grpc_latency=(),  # response_latency_ms is recorded before the status is known
    grpc_code_label=GRPC_STATUS,
)
