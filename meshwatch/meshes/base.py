"""What one mesh is to meshwatch: its metrics, labels, SLI presets, dashboards and actuator.

A mesh module (`istio`, `envoy`, `linkerd`) builds one `Mesh`; everything that depends on
which mesh an SLO reads (the spec's `sli: {mesh: ...}` presets, the spec reference, the
dashboards' raw mesh panels, the remediation target check) asks the registry in
`meshwatch.meshes` for it instead of keeping its own table. Pure data and pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from meshwatch.meshes.grpc import DEFAULT_SERVER_ERRORS, codes_of
from meshwatch.model import (
    SLI,
    ActuatorName,
    LatencySLI,
    Matcher,
    MeshKind,
    MeshProtocol,
    RatioSLI,
    Selector,
)

GrpcSLI = Callable[[tuple[Matcher, ...], tuple[int, ...]], RatioSLI]
"""An availability SLI of gRPC traffic from the preset's matchers and the numbers of the
server-error statuses (in code order, at least one)."""

PresetValues = Mapping[str, object]
"""The preset's fields as the spec gives them (`service`, `cluster`, ...; None when unset)."""


@dataclass(frozen=True, slots=True)
class PresetError:
    """Why a preset names no traffic; `field` is the spec field to point at (None: the preset)."""

    field: str | None
    message: str


@dataclass(frozen=True, slots=True)
class TargetFormat:
    """The shape of a remediation `target` an actuator understands."""

    pattern: re.Pattern[str]
    shape: str  # how the error message describes it, e.g. "namespace/name or namespace/name#rule"


_K8S_NAME = r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?"
K8S_ROUTE_TARGET = TargetFormat(
    re.compile(rf"^{_K8S_NAME}/{_K8S_NAME}(#[^#/\s]+)?$"), "namespace/name or namespace/name#rule"
)
"""A Kubernetes route object (VirtualService, HTTPRoute), optionally one named rule of it."""


@dataclass(frozen=True, slots=True)
class Mesh:
    """One mesh's names and presets.

    Availability counts `requests` with `bad` added as errors; latency reads the millisecond
    histogram `duration_ms`, whose default bucket bounds are `buckets_ms`. `edge` and `peers`
    select and name service-to-service traffic on the mesh dashboard.
    """

    kind: MeshKind
    title: str  # as dashboards spell it, e.g. "Istio"
    requests: str  # counter of final responses
    duration_ms: str  # latency histogram (milliseconds), without `_bucket`
    buckets_ms: tuple[float, ...]
    bad: Matcher  # added to `requests` to select failed requests
    code_label: str  # response code the dashboards break errors down by
    version_label: str  # label that tells versions/subsets apart
    edge: tuple[Matcher, ...]  # selects one side's view of service-to-service traffic
    peers: tuple[str, ...]  # labels naming the two ends of an edge (or the upstream only)
    dashboard_variable: str  # template variable of the mesh dashboard's rows
    fields: tuple[str, ...]  # preset fields (`sli: {mesh: ...}`) this mesh reads
    select: Callable[[PresetValues], tuple[tuple[Matcher, ...], str] | PresetError]
    """Label matchers of the preset's traffic and the name of its target, or why not."""
    backend: Callable[[str], dict[str, object]]
    """Preset fields that restrict the preset to one backend (version, cluster, deployment)."""
    example: PresetValues  # a preset the spec reference shows
    members_field: str | None  # preset field listing the backends the SLO counts, if any
    actuator: ActuatorName  # the actuator that changes this mesh's routes
    target_format: TargetFormat | None  # remediation targets of that actuator, if checked
    grpc: GrpcSLI  # `protocol: grpc`: gRPC calls only, bad = a server-error status
    auto: GrpcSLI | None  # `protocol: auto`: HTTP 5xx and gRPC server errors; None: cannot
    grpc_latency: tuple[Matcher, ...]  # added to the latency SLI's matchers for `grpc`
    grpc_code_label: str | None  # label of the gRPC status (None: it is in the metric name)

    @property
    def protocols(self) -> tuple[MeshProtocol, ...]:
        """The `protocol` values this mesh's metrics can tell apart."""
        return ("http", "grpc", "auto") if self.auto is not None else ("http", "grpc")

    def sli(
        self,
        matchers: tuple[Matcher, ...],
        latency_ms: float | None,
        protocol: MeshProtocol = "http",
        grpc_errors: tuple[str, ...] = DEFAULT_SERVER_ERRORS,
    ) -> SLI:
        """The availability SLI, or the latency SLI when `latency_ms` is given.

        `protocol` must be one of `protocols`; `grpc_errors` are gRPC status names.
        """
        if latency_ms is not None:
            if protocol == "grpc":
                matchers = (*matchers, *self.grpc_latency)
            return LatencySLI(histogram=self.duration_ms, threshold=latency_ms, matchers=matchers)
        if protocol == "grpc":
            return self.grpc(matchers, codes_of(grpc_errors))
        if protocol == "auto":
            assert self.auto is not None, f"{self.kind} cannot tell HTTP from gRPC"
            return self.auto(matchers, codes_of(grpc_errors))
        total = Selector(self.requests, matchers)
        return RatioSLI(total=total, bad=total.with_matchers(self.bad))
