"""`protocol: grpc` / `auto` on the mesh presets: what they select, and that `http` (the
default) is the preset as it always was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meshwatch import meshes
from meshwatch.collectors.exposition import Sample
from meshwatch.collectors.scrape_store import ScrapeStore
from meshwatch.meshes import grpc
from meshwatch.meshes.base import PresetError
from meshwatch.model import SLI, SLO, Counts, Matcher, MeshKind, RatioSLI
from meshwatch.render import dashboards_promql as q
from meshwatch.sli.promql import errors_increase
from meshwatch.spec import load_text

SPEC = """\
apiVersion: meshwatch/v1
kind: ServiceLevels
service: greeter
slos:
  - name: grpc
    objective: 99.9
    sli: {{mesh: {{kind: {kind}, {target}, protocol: {protocol}{extra}}}}}
    remediation:
      actuator: noop
      target: greeter
      backends: [{{name: a}}, {{name: b}}]
"""
TARGETS = {"istio": "service: greeter", "envoy": "clusters: [a, b]", "linkerd": "deployment: a"}


def _slo(kind: str, protocol: str, extra: str = "") -> SLO:
    text = SPEC.format(kind=kind, target=TARGETS[kind], protocol=protocol, extra=extra)
    (slo,) = load_text(text, "greeter.yaml").slos
    return slo


def _ratio(sli: SLI) -> RatioSLI:
    assert isinstance(sli, RatioSLI)
    return sli


def _matchers(kind: MeshKind) -> tuple[Matcher, ...]:
    preset = meshes.mesh(kind)
    selected = preset.select(preset.example)
    assert not isinstance(selected, PresetError)
    return selected[0]


@pytest.mark.parametrize("kind", ["istio", "envoy", "linkerd"])
def test_default_protocol_is_the_http_preset(kind: MeshKind) -> None:
    preset = meshes.mesh(kind)
    matchers = _matchers(kind)
    http = preset.sli(matchers, None, "http")
    assert preset.sli(matchers, None) == http
    assert isinstance(http, RatioSLI) and http.bad == http.total.with_matchers(preset.bad)
    assert preset.sli(matchers, 250.0) == preset.sli(matchers, 250.0, "http")


def test_default_server_errors_are_the_issues_six() -> None:
    assert grpc.codes_of(grpc.DEFAULT_SERVER_ERRORS) == (2, 4, 12, 13, 14, 15)


def test_istio_grpc_counts_grpc_calls_by_status() -> None:
    slo = _slo("istio", "grpc", ", grpc_server_errors: [UNAVAILABLE, RESOURCE_EXHAUSTED]")
    sli = _ratio(slo.sli)
    assert sli.total.promql() == (
        'istio_requests_total{reporter="destination",destination_service_name="greeter",'
        'request_protocol="grpc"}'
    )
    assert sli.bad is not None
    assert sli.bad.matchers[-1] == Matcher("grpc_response_status", "=~", "8|14")
    assert slo.mesh is not None and slo.mesh.protocol == "grpc"


def test_istio_auto_good_is_neither_http_5xx_nor_a_server_status() -> None:
    sli = _ratio(_slo("istio", "auto").sli)
    assert sli.bad is None and sli.good is not None
    assert sli.good.matchers[-2:] == (
        Matcher("response_code", "!~", "5.."),
        Matcher("grpc_response_status", "!~", "2|4|12|13|14|15"),
    )
    labels = {"reporter": "destination", "destination_service_name": "greeter"}
    assert sli.good.matches({**labels, "response_code": "200", "grpc_response_status": "5"})
    assert not sli.good.matches({**labels, "response_code": "200", "grpc_response_status": "14"})
    assert not sli.good.matches({**labels, "response_code": "503"})  # HTTP: no gRPC status
    assert sli.good.matches({**labels, "response_code": "404"})


def test_linkerd_auto_spares_the_callers_grpc_errors_from_its_failures() -> None:
    sli = _ratio(_slo("linkerd", "auto").sli)
    assert sli.bad is not None
    base = {"deployment": "a", "direction": "inbound", "classification": "failure"}
    assert sli.bad.matches({**base, "status_code": "503"})
    assert sli.bad.matches({**base, "status_code": "200", "grpc_status": "14"})
    assert not sli.bad.matches({**base, "status_code": "200", "grpc_status": "5"})
    assert not sli.bad.matches({**base, "classification": "success", "grpc_status": "0"})


def test_envoy_grpc_sums_one_counter_per_server_status() -> None:
    sli = _ratio(_slo("envoy", "grpc").sli)
    assert sli.total.metric == "envoy_cluster_grpc_total"
    names = [s.metric for s in sli.bad_selectors]
    assert names == [f"envoy_cluster_grpc_{n}" for n in (2, 4, 12, 13, 14, 15)]
    promql = errors_increase(sli, timedelta(minutes=5))
    assert promql.count("or vector(0)") == 6 and promql.count(" + ") == 5


def test_backend_slis_keep_the_protocol() -> None:
    slo = _slo("envoy", "grpc", ", grpc_server_errors: [INTERNAL]")
    assert slo.remediation is not None
    backends = {b.name: _ratio(b.sli) for b in slo.remediation.backends}
    assert backends["b"].bad is not None
    assert backends["b"].total.promql() == 'envoy_cluster_grpc_total{envoy_cluster_name="b"}'
    assert backends["b"].bad.promql() == 'envoy_cluster_grpc_13{envoy_cluster_name="b"}'
    assert backends["b"].more_bad == ()


def test_the_embedded_engine_sums_the_status_counters() -> None:
    sli = _ratio(_slo("envoy", "grpc").sli)
    store = ScrapeStore()
    store.track_sli(sli)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)

    def scrape(at: datetime, total: float, s14: float, s4: float, s5: float) -> None:
        labels = (("envoy_cluster_name", "a"),)
        store.observe(
            "envoy",
            [
                Sample("envoy_cluster_grpc_total", labels, total, None),
                Sample("envoy_cluster_grpc_14", labels, s14, None),
                Sample("envoy_cluster_grpc_4", labels, s4, None),
                Sample("envoy_cluster_grpc_5", labels, s5, None),  # NOT_FOUND: not counted
            ],
            at,
        )

    scrape(t0, 10, 1, 0, 0)
    scrape(t0 + timedelta(seconds=10), 110, 21, 5, 7)
    window = timedelta(minutes=1)
    got = store.counts(sli, [window], t0 + timedelta(seconds=10))
    assert got == {window: Counts(errors=25.0, total=100.0)}


def test_dashboards_break_grpc_errors_down_by_status() -> None:
    raw = q.raw_series(_slo("istio", "grpc"))
    assert raw.code_label == "grpc_response_status" and raw.code_ok == q.GRPC_OK
    assert raw.requests is not None
    assert 'grpc_response_status!~"0"' in q.code_share(raw.requests, raw.code_label, raw.code_ok)
    linkerd = q.raw_series(_slo("linkerd", "grpc"))
    # response_latency_ms has no grpc_status label: the latency panels must not ask for it
    assert all(m.label != "grpc_status" for m in linkerd.histogram_matchers)
    assert q.raw_series(_slo("envoy", "grpc")).code_label is None  # the status is in the name
    http = q.raw_series(_slo("istio", "http"))
    assert (http.code_label, http.code_ok) == ("response_code", q.HTTP_OK)


def test_dashboards_sum_the_status_counters_per_version() -> None:
    ratio = q.sli_error_ratio_by(_slo("envoy", "grpc"), ("envoy_cluster_name",))
    assert ratio is not None
    for code in (2, 4, 12, 13, 14, 15):
        assert ratio.count(f"envoy_cluster_grpc_{code}{{") == 1, code
