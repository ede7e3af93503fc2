"""Istio standard metrics (`istio_requests_total`, destination reporter); durations in ms."""

from __future__ import annotations

from meshwatch.meshes.base import K8S_ROUTE_TARGET, Mesh, PresetError, PresetValues
from meshwatch.meshes.grpc import codes_regex
from meshwatch.model import Matcher, RatioSLI, Selector

REQUESTS = "istio_requests_total"
DURATION_MS = "istio_request_duration_milliseconds"
REPORTER = "reporter"
SERVICE = "destination_service_name"
NAMESPACE = "destination_service_namespace"
VERSION = "destination_version"
CODE = "response_code"
PROTOCOL = "request_protocol"  # `http` or `grpc`
GRPC_STATUS = "grpc_response_status"  # the gRPC status number; empty on HTTP requests
SOURCE_WORKLOAD = "source_workload"  # read by the mesh dashboard only

# Envoy's default bucket bounds (ms), which Istio's duration histogram uses.
BUCKETS_MS = (0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000,
              60000, 300000, 600000, 1800000, 3600000)  # fmt: skip


_DESTINATION = Matcher(REPORTER, "=", "destination")


def matchers(service: str, namespace: str | None, version: str | None) -> tuple[Matcher, ...]:
    found = [_DESTINATION, Matcher(SERVICE, "=", service)]
    if namespace:
        found.append(Matcher(NAMESPACE, "=", namespace))
    if version:
        found.append(Matcher(VERSION, "=", version))
    return tuple(found)


def _select(values: PresetValues) -> tuple[tuple[Matcher, ...], str] | PresetError:
    service = values.get("service")
    if not isinstance(service, str) or not service:
        return PresetError("service", "kind istio needs service")
    namespace, version = values.get("namespace"), values.get("version")
    return matchers(
        service,
        namespace if isinstance(namespace, str) else None,
        version if isinstance(version, str) else None,
    ), service


_GRPC = Matcher(PROTOCOL, "=", "grpc")


def _grpc(base: tuple[Matcher, ...], codes: tuple[int, ...]) -> RatioSLI:
    total = Selector(REQUESTS, (*base, _GRPC))
    bad = Matcher(GRPC_STATUS, "=~", codes_regex(codes))
    return RatioSLI(total=total, bad=total.with_matchers(bad))


def _auto(base: tuple[Matcher, ...], codes: tuple[int, ...]) -> RatioSLI:
    """Good: neither an HTTP 5xx nor a server-error gRPC status (HTTP requests have none)."""
    total = Selector(REQUESTS, base)
    server = Matcher(GRPC_STATUS, "!~", codes_regex(codes))
    good = total.with_matchers(Matcher(CODE, "!~", "5.."), server)
    return RatioSLI(total=total, good=good)


MESH = Mesh(
    kind="istio",
    title="Istio",
    requests=REQUESTS,
    duration_ms=DURATION_MS,
    buckets_ms=BUCKETS_MS,
    bad=Matcher(CODE, "=~", "5.."),
    code_label=CODE,
    version_label=VERSION,
    edge=(_DESTINATION,),
    peers=(SOURCE_WORKLOAD, SERVICE),
    dashboard_variable="service",
    fields=("service", "version", "namespace"),
    select=_select,
    backend=lambda name: {"version": name},
    example={"service": "SERVICE"},
    members_field=None,
    actuator="istio",
    target_format=K8S_ROUTE_TARGET,
    grpc=_grpc,
    auto=_auto,
    grpc_latency=(_GRPC,),
    grpc_code_label=GRPC_STATUS,
)
