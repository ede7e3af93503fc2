"""The explicit registry of actuators by the name a policy gives (`RemediationPolicy.actuator`).

Built where the service is put together, from clients it made; no import strings. A
policy whose actuator the settings do not configure is refused before anything runs
(`unconfigured`), rather than left frozen with "no actuator configured".
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

from meshwatch.errors import Problem
from meshwatch.model import SLO
from meshwatch.remediate.base import Actuator
from meshwatch.remediate.envoy import EnvoyActuator
from meshwatch.remediate.gateway import gateway_actuator
from meshwatch.remediate.istio import istio_actuator
from meshwatch.remediate.kube_client import KubeClient
from meshwatch.remediate.kubernetes import KubeRouteActuator
from meshwatch.remediate.linkerd import linkerd_actuator
from meshwatch.remediate.noop import NoopActuator

KUBE_ACTUATORS: dict[str, Callable[[KubeClient], KubeRouteActuator]] = {
    "istio": istio_actuator,
    "gateway": gateway_actuator,
    "linkerd": linkerd_actuator,
}
"""The actuators that patch route objects through the Kubernetes API."""

_SETTING = {
    "envoy": "an `envoy:` section (rds_path, admin_url)",
    "kubernetes": "a `kubernetes:` section (`kubernetes: {}` for the in-cluster service "
    "account, or `kubeconfig:` / `context:`)",
}


def build_registry(
    *,
    envoy: EnvoyActuator | None = None,
    kube: Mapping[str, KubeRouteActuator] | None = None,
    noop: NoopActuator | None = None,
) -> dict[str, Actuator]:
    """Only the data planes configured; `base.select` names the missing ones in its error.

    `kube` holds the Kubernetes route actuators by name (see `kube_actuators`).
    """
    kube = kube or {}
    candidates: dict[str, Actuator | None] = {
        "envoy": envoy,
        **{name: kube.get(name) for name in KUBE_ACTUATORS},
        "noop": noop,
    }
    return {name: actuator for name, actuator in candidates.items() if actuator is not None}


def named_actuators(slos: Sequence[SLO]) -> set[str]:
    """The actuators the SLOs' remediation policies name."""
    return {slo.remediation.actuator for slo in slos if slo.remediation is not None}


def kube_actuators(client: KubeClient, names: Collection[str]) -> dict[str, KubeRouteActuator]:
    """One actuator per Kubernetes route kind in `names`, all over `client`."""
    return {name: make(client) for name, make in KUBE_ACTUATORS.items() if name in names}


def unconfigured(slos: Sequence[SLO], *, envoy: bool, kubernetes: bool) -> list[Problem]:
    """One problem (at the SLO's spec line) per policy whose actuator is not configured:
    `envoy` / `kubernetes` say whether the settings have those sections."""
    problems = []
    for slo in slos:
        if slo.remediation is None:
            continue
        name = slo.remediation.actuator
        section = "kubernetes" if name in KUBE_ACTUATORS else name
        if {"envoy": envoy, "kubernetes": kubernetes}.get(section, True):
            continue
        problems.append(
            Problem(
                slo.source.file if slo.source else "<settings>",
                slo.source.line if slo.source else 1,
                f"{slo.id}.remediation.actuator",
                f"actuator {name!r} is not configured: the settings need {_SETTING[section]}",
            )
        )
    return problems
