"""Istio standard metrics (`istio_requests_total`, destination reporter); durations in ms."""

from __future__ import annotations

from meshwatch.meshes.base import K8S_ROUTE_TARGET, Mesh, PresetError, PresetValues
from meshwatch.model import Matcher

REQUESTS = "istio_requests_total"
DURATION_MS = "istio_request_duration_milliseconds"
REPORTER = "reporter"
SERVICE = "destination_service_name"
NAMESPACE = "destination_service_namespace"
VERSION = "destination_version"
CODE = "response_code"
SOURCE_WORKLOAD = "source_workload"  # read by the mesh dashboard only

# Envoy's default bucket bounds (ms), which Istio's duration histogram uses.
BUCKETS_MS = (0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000,
              60000, 300000, 600000, 1800000, 3600000)  # fmt: skip


def matchers(service: str, namespace: str | None, version: str | None) -> tuple[Matcher, ...]:
    found = [Matcher(REPORTER, "=", "destination"), Matcher(SERVICE, "=", service)]
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


MESH = Mesh(
    kind="istio",
    title="Istio",
    requests=REQUESTS,
    duration_ms=DURATION_MS,
    buckets_ms=BUCKETS_MS,
    bad=Matcher(CODE, "=~", "5.."),
    code_label=CODE,
    version_label=VERSION,
    edge=(Matcher(REPORTER, "=", "destination"),),
    peers=(SOURCE_WORKLOAD, SERVICE),
    dashboard_variable="service",
    fields=("service", "version", "namespace"),
    select=_select,
    backend=lambda name: {"version": name},
    example={"service": "SERVICE"},
    actuator="istio",
    target_format=K8S_ROUTE_TARGET,
)
