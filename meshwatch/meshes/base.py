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

from meshwatch.model import SLI, ActuatorName, LatencySLI, Matcher, MeshKind, RatioSLI, Selector

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
    actuator: ActuatorName  # the actuator that changes this mesh's routes
    target_format: TargetFormat | None  # remediation targets of that actuator, if checked

    def sli(self, matchers: tuple[Matcher, ...], latency_ms: float | None) -> SLI:
        """The availability SLI, or the latency SLI when `latency_ms` is given."""
        if latency_ms is not None:
            return LatencySLI(histogram=self.duration_ms, threshold=latency_ms, matchers=matchers)
        total = Selector(self.requests, matchers)
        return RatioSLI(total=total, bad=total.with_matchers(self.bad))
