"""The explicit registry of actuators by the name a policy gives (`RemediationPolicy.actuator`).

Built where the service is put together, from clients it made; no import strings.
"""

from __future__ import annotations

from meshwatch.remediate.base import Actuator
from meshwatch.remediate.envoy import EnvoyActuator
from meshwatch.remediate.kubernetes import KubeRouteActuator
from meshwatch.remediate.noop import NoopActuator


def build_registry(
    *,
    envoy: EnvoyActuator | None = None,
    istio: KubeRouteActuator | None = None,
    gateway: KubeRouteActuator | None = None,
    linkerd: KubeRouteActuator | None = None,
    noop: NoopActuator | None = None,
) -> dict[str, Actuator]:
    """Only the data planes configured; `base.select` names the missing ones in its error."""
    candidates: dict[str, Actuator | None] = {
        "envoy": envoy,
        "istio": istio,
        "gateway": gateway,
        "linkerd": linkerd,
        "noop": noop,
    }
    return {name: actuator for name, actuator in candidates.items() if actuator is not None}
