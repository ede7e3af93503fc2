"""Dashboards of gRPC mesh SLOs (the mesh dashboard's edges) and native-histogram SLOs (the
service dashboard's traffic row). Their queries run on real Prometheus servers in
tests/integration/test_grpc_envoy.py and tests/integration/test_native_histogram.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from meshwatch import conventions as c
from meshwatch.model import SLO, Matcher, NativeLatencySLI, Window
from meshwatch.render import dashboards, dashboards_overview
from meshwatch.render.dashboards import iter_panels
from meshwatch.spec import load_text
from tests.support.grafana_model import check_dashboard
from tests.unit.render.test_dashboards import _assert_tiled

SPEC = """\
apiVersion: meshwatch/v1
kind: ServiceLevels
service: greeter
slos:
  - name: calls
    objective: 99.9
    sli: {{mesh: {{kind: {kind}, {target}, protocol: {protocol}}}}}
  - name: web
    objective: 99.9
    sli: {{mesh: {{kind: {kind}, {target}}}}}
"""
TARGETS = {"istio": "service: greeter", "envoy": "clusters: [a, b]", "linkerd": "deployment: a"}


def _mesh_queries(kind: str, protocol: str) -> dict[str, str]:
    slos = load_text(SPEC.format(kind=kind, target=TARGETS[kind], protocol=protocol), "g.yaml")
    board = dashboards_overview.mesh(list(slos.slos))
    assert check_dashboard(board.model) == []
    _assert_tiled(board.model["panels"])
    return dict(dashboards.queries(board.model))


@pytest.mark.parametrize(
    ("kind", "protocol", "status"),
    [
        pytest.param("istio", "grpc", 'grpc_response_status=~"2|4|12|13|14|15"', id="istio"),
        pytest.param("istio", "auto", 'grpc_response_status!~"2|4|12|13|14|15"', id="istio-auto"),
        pytest.param("linkerd", "grpc", 'grpc_status=~"2|4|12|13|14|15"', id="linkerd"),
        pytest.param("envoy", "grpc", "envoy_cluster_grpc_14", id="envoy"),
    ],
)
def test_grpc_slos_get_a_grpc_success_rate_per_edge(kind: str, protocol: str, status: str) -> None:
    found = _mesh_queries(kind, protocol)
    (grpc,) = [e for w, e in found.items() if "'gRPC success rate" in w]
    assert status in grpc and grpc.startswith("1 - (") and grpc.endswith(")")
    (http,) = [e for w, e in found.items() if "'HTTP success rate" in w]
    label = {"istio": "grpc_response_status", "linkerd": "grpc_status"}.get(kind)
    # the HTTP panel leaves gRPC calls out where the mesh labels them
    assert (f'{label}=""' in http) if label else ("grpc" not in http)


def test_http_only_meshes_keep_their_edge_rows() -> None:
    found = _mesh_queries("istio", "http")
    assert not [w for w in found if "gRPC" in w or "HTTP success" in w]
    assert any("'Success rate between services'" in w for w in found)


def test_native_slos_get_a_request_rate_and_percentiles_from_the_histogram() -> None:
    sli = NativeLatencySLI("app_request_duration_seconds", 0.3, (Matcher("job", "=", "app"),))
    slo = SLO("shop", "fast", 99.0, Window.rolling(timedelta(days=30)), sli)
    (board,) = [b for b in dashboards.build([slo]) if b.uid == c.dashboard_uid_service("shop")]
    assert check_dashboard(board.model) == []
    panels = {p["title"]: p for p in iter_panels(board.model)}
    selector = 'app_request_duration_seconds{job="app"}'
    (rate,) = panels["Request rate"]["targets"]
    assert rate["expr"] == f"histogram_count(sum (rate({selector}[$__rate_interval])))"
    quantiles = [t["expr"] for t in panels["Latency percentiles"]["targets"]]
    assert quantiles == [
        f"histogram_quantile({q}, sum (rate({selector}[$__rate_interval])))"
        for q in (0.5, 0.9, 0.99)
    ]
    assert panels["Latency percentiles"]["fieldConfig"]["defaults"]["unit"] == "s"
