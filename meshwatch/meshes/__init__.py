"""The mesh registry: one module per mesh, and the lookups everything else goes through.

Adding a mesh is one module building a `Mesh`, its word in `model.MeshKind`, and its case
in `mesh()` (mypy's exhaustiveness check fails until it is there); the spec, its reference,
the rules and the dashboards follow from the registry. A mesh with an actuator of its own
adds `remediate/<mesh>.py`, its word in `model.ActuatorName` and its line in
`remediate.registry.KUBE_ACTUATORS` (settings check and wiring follow from that table).
"""

from __future__ import annotations

from typing import assert_never, get_args

from meshwatch.meshes import envoy, istio, linkerd
from meshwatch.meshes.base import K8S_ROUTE_TARGET, Mesh, TargetFormat
from meshwatch.model import ActuatorName, MeshKind

__all__ = ["Mesh", "actuator_target", "all_meshes", "mesh"]


def mesh(kind: MeshKind) -> Mesh:
    """The mesh of a `MeshKind`."""
    match kind:
        case "istio":
            return istio.MESH
        case "envoy":
            return envoy.MESH
        case "linkerd":
            return linkerd.MESH
        case _:
            assert_never(kind)


def all_meshes() -> tuple[Mesh, ...]:
    """Every mesh, in `MeshKind`'s order (the order docs and tables list them in)."""
    kinds: tuple[MeshKind, ...] = get_args(MeshKind)
    return tuple(mesh(kind) for kind in kinds)


def actuator_target(actuator: ActuatorName) -> TargetFormat | None:
    """The remediation target format `actuator` understands; None when it is not checked.

    The Gateway API actuator is mesh-neutral and patches HTTPRoutes, Kubernetes objects.
    """
    if actuator == "gateway":
        return K8S_ROUTE_TARGET
    for known in all_meshes():
        if known.actuator == actuator:
            return known.target_format
    return None
