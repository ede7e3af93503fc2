"""The mesh registry: one `Mesh` per `MeshKind`, and the spec's preset fields belong to one."""

from __future__ import annotations

from typing import get_args

import pytest

from meshwatch import meshes
from meshwatch.meshes.base import PresetError
from meshwatch.model import ActuatorName, Matcher, MeshKind, RatioSLI
from meshwatch.spec.native import models as native


def test_every_mesh_kind_has_one_mesh_in_its_order() -> None:
    assert tuple(m.kind for m in meshes.all_meshes()) == get_args(MeshKind)


def test_the_spec_reads_the_kinds_and_actuators_from_the_model() -> None:
    kind = native.MeshSpec.model_fields["kind"].annotation
    actuator = native.RemediationSpec.model_fields["actuator"].annotation
    assert get_args(kind) == get_args(MeshKind)
    assert get_args(actuator) == get_args(ActuatorName)


def test_every_preset_field_is_a_spec_field() -> None:
    spec_fields = set(native.MeshSpec.model_fields)
    for mesh in meshes.all_meshes():
        assert set(mesh.fields) <= spec_fields, mesh.kind
        assert set(mesh.example) <= set(mesh.fields), mesh.kind
        assert set(mesh.backend("v2")) <= set(mesh.fields), mesh.kind


@pytest.mark.parametrize(
    ("kind", "values", "expected"),
    [
        pytest.param(
            "istio",
            {"service": "checkout", "version": "v2"},
            'istio_requests_total{reporter="destination",destination_service_name="checkout",'
            'destination_version="v2",response_code=~"5.."}',
            id="istio-version",
        ),
        pytest.param(
            "envoy",
            {"clusters": ["a.v1", "b"]},
            'envoy_cluster_upstream_rq{envoy_cluster_name=~"a\\\\.v1|b",envoy_response_code=~"5.."}',
            id="envoy-clusters-escaped",
        ),
        pytest.param(
            "linkerd",
            {"deployment": "web", "namespace": "shop"},
            'response_total{deployment="web",namespace="shop",direction="inbound",'
            'classification="failure"}',
            id="linkerd-namespace",
        ),
    ],
)
def test_presets_select_the_mesh_traffic(
    kind: MeshKind, values: dict[str, object], expected: str
) -> None:
    selected = meshes.mesh(kind).select(values)
    assert not isinstance(selected, PresetError)
    sli = meshes.mesh(kind).sli(selected[0], None)
    assert isinstance(sli, RatioSLI) and sli.bad is not None
    assert sli.bad.promql() == expected


@pytest.mark.parametrize(
    ("kind", "values", "field"),
    [
        pytest.param("istio", {}, "service", id="istio-needs-service"),
        pytest.param("envoy", {"cluster": "a", "clusters": ["b"]}, None, id="envoy-both"),
        pytest.param("linkerd", {"namespace": "x"}, "deployment", id="linkerd-needs-deployment"),
    ],
)
def test_presets_say_which_field_is_missing(
    kind: MeshKind, values: dict[str, object], field: str | None
) -> None:
    selected = meshes.mesh(kind).select(values)
    assert isinstance(selected, PresetError) and selected.field == field


def test_actuator_targets() -> None:
    istio = meshes.actuator_target("istio")
    gateway = meshes.actuator_target("gateway")
    envoy = meshes.actuator_target("envoy")
    assert istio is not None and istio is gateway
    assert istio.pattern.match("shop/checkout#primary")
    assert envoy is not None and envoy.pattern.match("local_route/svc/main")
    assert not envoy.pattern.match("shop/checkout")
    assert meshes.actuator_target("noop") is None
    assert meshes.actuator_target("linkerd") is None


def test_dashboard_edges_use_the_mesh_labels() -> None:
    linkerd = meshes.mesh("linkerd")
    assert linkerd.edge == (Matcher("direction", "=", "outbound"),)
    assert linkerd.peers[-1] == "dst_deployment"
