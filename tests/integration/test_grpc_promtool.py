"""The gRPC presets' generated rules, evaluated by the real `promtool test rules`.

One minute of synthetic traffic per series repeats for 10 minutes; promtool samples every
minute, so a 5m `increase()` at minute 10 spans exactly its window (no extrapolation) and the
recorded counts are the counts written here, by hand, from what each mesh's labels mean:
gRPC calls OK, UNAVAILABLE (server error), NOT_FOUND (the caller's) and DEADLINE_EXCEEDED,
HTTP requests 200 and 503 on the same service.

The mesh dashboard's edge panels are evaluated by the same promtool on the same series: the
gRPC success rate of each gRPC SLO is `1 -` its error share above, and Istio's HTTP success
rate leaves the gRPC calls out (only the HTTP 200 and 503 count, not the gRPC call that got a
504). Values are compared rounded to 1e-6 (promtool compares floats exactly).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from meshwatch.model import SLO
from meshwatch.render import dashboards_overview
from meshwatch.render.dashboards import iter_panels
from meshwatch.spec import load_text
from tests.integration.promtool_run import assert_passes, run_promtool
from tests.support.binaries import require_binary

pytestmark = pytest.mark.integration

SPEC = """\
apiVersion: meshwatch/v1
kind: ServiceLevels
service: greeter
slos:
  - {name: istio-grpc, objective: 99, sli: {mesh: {kind: istio, service: greeter, protocol: grpc}}}
  - {name: istio-auto, objective: 99, sli: {mesh: {kind: istio, service: greeter, protocol: auto}}}
  - name: istio-grpc-unavailable-only
    objective: 99
    sli:
      mesh: {kind: istio, service: greeter, protocol: grpc, grpc_server_errors: [UNAVAILABLE]}
  - {name: linkerd-grpc, objective: 99, sli: {mesh: {kind: linkerd, deployment: web,
    protocol: grpc}}}
  - {name: linkerd-auto, objective: 99, sli: {mesh: {kind: linkerd, deployment: web,
    protocol: auto}}}
  - {name: envoy-grpc, objective: 99, sli: {mesh: {kind: envoy, cluster: greeter, protocol: grpc}}}
  - {name: envoy-http, objective: 99, sli: {mesh: {kind: envoy, cluster: greeter}}}
"""
ISTIO = 'istio_requests_total{reporter="destination",destination_service_name="greeter",'
LINKERD = 'response_total{deployment="web",direction="inbound",'
ENVOY = '{envoy_cluster_name="greeter"}'
# per minute: gRPC OK 10, UNAVAILABLE 3, NOT_FOUND 2, DEADLINE_EXCEEDED 1; HTTP 200 4, 503 1
SERIES = {
    ISTIO + 'request_protocol="grpc",response_code="200",grpc_response_status="0"}': 10,
    ISTIO + 'request_protocol="grpc",response_code="200",grpc_response_status="14"}': 3,
    ISTIO + 'request_protocol="grpc",response_code="200",grpc_response_status="5"}': 2,
    ISTIO + 'request_protocol="grpc",response_code="504",grpc_response_status="4"}': 1,
    ISTIO + 'request_protocol="http",response_code="200"}': 4,
    ISTIO + 'request_protocol="http",response_code="503"}': 1,
    LINKERD + 'classification="success",status_code="200",grpc_status="0"}': 10,
    LINKERD + 'classification="failure",status_code="200",grpc_status="14"}': 3,
    LINKERD + 'classification="failure",status_code="200",grpc_status="5"}': 2,
    LINKERD + 'classification="failure",status_code="200",grpc_status="4"}': 1,
    LINKERD + 'classification="success",status_code="200"}': 4,
    LINKERD + 'classification="failure",status_code="503"}': 1,
    "envoy_cluster_grpc_total" + ENVOY: 16,
    "envoy_cluster_grpc_0" + ENVOY: 10,
    "envoy_cluster_grpc_14" + ENVOY: 3,
    "envoy_cluster_grpc_5" + ENVOY: 2,
    "envoy_cluster_grpc_4" + ENVOY: 1,
    'envoy_cluster_upstream_rq{envoy_cluster_name="greeter",envoy_response_code="200"}': 16,
}
# (requests, errors) in 5 minutes
EXPECTED = {
    "istio-grpc": (16 * 5, (3 + 1) * 5),  # UNAVAILABLE and DEADLINE_EXCEEDED
    "istio-auto": (21 * 5, (3 + 1 + 1) * 5),  # ... and the HTTP 503
    "istio-grpc-unavailable-only": (16 * 5, 3 * 5),
    "linkerd-grpc": (16 * 5, (3 + 1) * 5),
    "linkerd-auto": (21 * 5, (3 + 1 + 1) * 5),  # Linkerd's failures less NOT_FOUND
    "envoy-grpc": (16 * 5, (3 + 1) * 5),
    "envoy-http": (16 * 5, 0),  # every call answered HTTP 200: the HTTP preset sees none
}


def test_grpc_preset_rules_count_what_each_mesh_means(tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    slos = load_text(SPEC, "greeter.yaml").slos
    series = [
        {"series": name, "values": f"0+{per_minute}x10"} for name, per_minute in SERIES.items()
    ]
    samples = []
    for slo, (requests, errors) in EXPECTED.items():
        labels = {"meshwatch_service": "greeter", "meshwatch_slo": slo}
        for rule, value in (
            ("meshwatch:sli_requests:increase5m", requests),
            ("meshwatch:sli_errors:increase5m", errors),
            ("meshwatch:sli_error:ratio_rate5m", errors / requests),
        ):
            samples.append(
                {
                    "expr": f'{rule}{{meshwatch_slo="{slo}"}}',
                    "eval_time": "10m",
                    "exp_samples": [{"labels": _labels(rule, labels), "value": value}],
                }
            )
    samples += _edge_samples(list(slos))
    tests = [{"interval": "1m", "input_series": series, "promql_expr_test": samples}]
    assert_passes(run_promtool(promtool, tmp_path, slos, tests))


def _labels(name: str, labels: dict[str, str]) -> str:
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


# (panel, legend prefix) -> (labels of the edge, success rate)
EDGES = {
    ("gRPC success rate between services", "greeter/istio-grpc:"): (
        '{destination_service_name="greeter"}',
        1 - 4 / 16,
    ),
    ("gRPC success rate between services", "greeter/istio-auto:"): (
        '{destination_service_name="greeter"}',
        1 - 5 / 21,
    ),
    ("gRPC success rate between services", "greeter/istio-grpc-unavailable-only:"): (
        '{destination_service_name="greeter"}',
        1 - 3 / 16,
    ),
    ("gRPC success rate between services", "greeter/linkerd-grpc:"): (
        '{deployment="web"}',
        1 - 4 / 16,
    ),
    ("gRPC success rate between services", "greeter/linkerd-auto:"): (
        '{deployment="web"}',
        1 - 5 / 21,
    ),
    ("gRPC success rate per upstream cluster", "greeter/envoy-grpc:"): (
        '{envoy_cluster_name="greeter"}',
        1 - 4 / 16,
    ),
    # Istio's HTTP panel: 4 x 200 and 1 x 503; the gRPC calls (one answered 504) are left out
    ("HTTP success rate between services", "{{source_workload}}"): (
        '{destination_service_name="greeter"}',
        1 - 1 / 5,
    ),
}


def _edge_samples(slos: list[SLO]) -> list[dict[str, object]]:
    """promtool cases for the mesh dashboard's edge panels, at minute 10 over 5m."""
    board = dashboards_overview.mesh(slos)
    panels: dict[str, list[dict[str, str]]] = {}
    for panel in iter_panels(board.model):
        panels.setdefault(panel["title"], []).extend(panel.get("targets", []))
    cases = []
    for (title, legend), (labels, value) in EDGES.items():
        matching = [t for t in panels[title] if t["legendFormat"].startswith(legend)]
        (target,) = matching
        expr = target["expr"].replace("$__rate_interval", "5m")
        for variable in ("$service", "$deployment", "$cluster"):
            expr = expr.replace(variable, ".+")
        cases.append(
            {
                "expr": f"round(1e6 * ({expr}))",
                "eval_time": "10m",
                "exp_samples": [{"labels": labels, "value": round(1e6 * value)}],
            }
        )
    return cases
