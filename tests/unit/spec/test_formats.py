"""The three formats map into the same domain objects; mesh presets expand to exact PromQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from meshwatch.errors import SpecError
from meshwatch.model import (
    SLO,
    CalendarUnit,
    LatencySLI,
    QuerySLI,
    RatioSLI,
    RawSLI,
    Severity,
    Window,
)
from meshwatch.slo.windows import default_burn_windows
from meshwatch.spec import load_text

NATIVE_RATIO = """
apiVersion: meshwatch/v1
kind: ServiceLevels
service: checkout
slos:
  - name: availability
    objective: 99.9
    window: 30d
    sli:
      ratio:
        total: 'http_requests_total{job="checkout"}'
        bad: 'http_requests_total{job="checkout",code=~"5.."}'
"""

SLOTH_RATIO = """
version: prometheus/v1
service: checkout
slos:
  - name: availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="checkout",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="checkout"}[{{.window}}]))
"""

OPENSLO_RATIO = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: availability}
spec:
  service: checkout
  indicatorRef: checkout-errors
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.999}]
---
apiVersion: openslo/v1
kind: SLI
metadata: {name: checkout-errors}
spec:
  ratioMetric:
    counter: true
    bad:
      metricSource:
        type: Prometheus
        spec: {query: 'http_requests_total{job="checkout",code=~"5.."}'}
    total: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total{job="checkout"}'}}}
"""

QUERY_TOTAL = 'sum(rate(http_requests_total{job="checkout"}[{{.window}}])) > 0'
QUERY_BAD = 'sum(rate(http_requests_total{job="checkout",code=~"5.."}[{{.window}}]))'

NATIVE_QUERY = f"""
apiVersion: meshwatch/v1
kind: ServiceLevels
service: checkout
slos:
  - name: availability
    objective: 99.9
    sli:
      events:
        total_query: '{QUERY_TOTAL}'
        bad_query: '{QUERY_BAD}'
"""

SLOTH_QUERY = f"""
apiVersion: sloth.slok.dev/v1
kind: PrometheusServiceLevel
metadata: {{name: checkout}}
spec:
  service: checkout
  slos:
    - name: availability
      objective: 99.9
      sli:
        events:
          errorQuery: '{QUERY_BAD}'
          totalQuery: '{QUERY_TOTAL}'
"""

OPENSLO_QUERY = f"""
apiVersion: openslo/v1
kind: SLO
metadata: {{name: availability}}
spec:
  service: checkout
  indicator:
    metadata: {{name: checkout-errors}}
    spec:
      ratioMetric:
        counter: true
        bad: {{metricSource: {{type: Prometheus, spec: {{query: '{QUERY_BAD}'}}}}}}
        total: {{metricSource: {{type: Prometheus, spec: {{query: '{QUERY_TOTAL}'}}}}}}
  timeWindow: [{{duration: 30d, isRolling: true}}]
  budgetingMethod: Occurrences
  objectives: [{{targetPercent: 99.9}}]
"""


def _one(text: str) -> SLO:
    result = load_text(text, "spec.yaml")
    assert len(result.slos) == 1
    return result.slos[0]


def _same_slo(slos: list[SLO]) -> None:
    first = slos[0]
    for other in slos[1:]:
        assert (other.id, other.sli, other.objective, other.window) == (
            first.id,
            first.sli,
            first.objective,
            first.window,
        )


def test_counter_ratio_is_the_same_in_all_three_formats() -> None:
    slos = [_one(NATIVE_RATIO), _one(SLOTH_RATIO), _one(OPENSLO_RATIO)]
    _same_slo(slos)
    sli = slos[0].sli
    assert isinstance(sli, RatioSLI)
    assert sli.total.promql() == 'http_requests_total{job="checkout"}'
    assert sli.bad is not None
    assert sli.bad.promql() == 'http_requests_total{job="checkout",code=~"5.."}'
    assert slos[0].window == Window.rolling(timedelta(days=30))
    assert [s.source.format for s in slos if s.source] == ["meshwatch/v1", "sloth", "openslo/v1"]


def test_query_templates_are_the_same_in_all_three_formats() -> None:
    slos = [_one(NATIVE_QUERY), _one(SLOTH_QUERY), _one(OPENSLO_QUERY)]
    _same_slo(slos)
    assert slos[0].sli == QuerySLI(total=QUERY_TOTAL, bad=QUERY_BAD)


@pytest.mark.parametrize(
    ("mesh", "total", "bad"),
    [
        pytest.param(
            "{kind: istio, service: checkout, namespace: shop, version: v2}",
            'istio_requests_total{reporter="destination",destination_service_name="checkout",'
            'destination_service_namespace="shop",destination_version="v2"}',
            'response_code=~"5.."',
            id="istio",
        ),
        pytest.param(
            "{kind: envoy, cluster: svc_v2}",
            'envoy_cluster_upstream_rq{envoy_cluster_name="svc_v2"}',
            'envoy_response_code=~"5.."',
            id="envoy",
        ),
        pytest.param(
            "{kind: envoy, clusters: [svc_v1, svc.v2]}",
            'envoy_cluster_upstream_rq{envoy_cluster_name=~"svc_v1|svc\\\\.v2"}',
            'envoy_response_code=~"5.."',
            id="envoy-several-clusters",
        ),
        pytest.param(
            "{kind: linkerd, deployment: web, namespace: emojivoto}",
            'response_total{deployment="web",namespace="emojivoto",direction="inbound"}',
            'classification="failure"',
            id="linkerd",
        ),
    ],
)
def test_mesh_presets_expand_to_the_mesh_metrics(mesh: str, total: str, bad: str) -> None:
    slo = _one(
        NATIVE_RATIO.replace("      ratio:", f"      mesh: {mesh}\n      x:").split("      x:")[0]
    )
    assert isinstance(slo.sli, RatioSLI)
    assert slo.sli.total.promql() == total
    assert slo.sli.bad is not None
    assert slo.sli.bad.promql() == total[:-1] + "," + bad + "}"
    assert slo.mesh is not None


@pytest.mark.parametrize(
    ("mesh", "histogram", "threshold"),
    [
        pytest.param("{kind: istio, service: a, latency_threshold: 250ms}",
                     "istio_request_duration_milliseconds", 250.0, id="istio"),
        pytest.param("{kind: envoy, cluster: a, latency_threshold: 1s}",
                     "envoy_cluster_upstream_rq_time", 1000.0, id="envoy"),
        pytest.param("{kind: linkerd, deployment: a, latency_threshold: 300ms}",
                     "response_latency_ms", 300.0, id="linkerd"),
    ],
)  # fmt: skip
def test_mesh_latency_threshold_makes_a_latency_sli(
    mesh: str, histogram: str, threshold: float
) -> None:
    text = NATIVE_RATIO.split("      ratio:")[0] + f"      mesh: {mesh}\n"
    result = load_text(text, "spec.yaml")
    sli = result.slos[0].sli
    assert isinstance(sli, LatencySLI)
    assert (sli.histogram, sli.threshold) == (histogram, threshold)
    assert result.warnings == ()


def test_native_latency_sli() -> None:
    text = NATIVE_RATIO.split("      ratio:")[0] + (
        "      latency: {histogram: http_request_duration_seconds, threshold: 0.3,"
        " selector: '{job=\"search\"}'}\n"
    )
    sli = _one(text).sli
    assert isinstance(sli, LatencySLI)
    assert sli.bucket.promql() == 'http_request_duration_seconds_bucket{job="search"}'
    assert sli.count.promql() == 'http_request_duration_seconds_count{job="search"}'
    assert sli.threshold == 0.3


REMEDIATED = """
apiVersion: meshwatch/v1
kind: ServiceLevels
service: payments
labels: {team: payments}
slos:
  - name: availability
    objective: 99.95
    window: calendar-month
    labels: {tier: "1"}
    sli: {mesh: {kind: istio, service: payments}}
    remediation:
      actuator: istio
      target: shop/payments#primary
      backends: [{name: v1, weight: 90}, {name: v2, weight: 10}]
      short_windows: [30s, 2m]
      cooldown: 1m
      dry_run: false
"""


def test_remediation_backends_get_the_mesh_sli_of_their_version() -> None:
    slo = _one(REMEDIATED)
    assert slo.window == Window.calendar(CalendarUnit.MONTH)
    assert slo.labels == (("team", "payments"), ("tier", "1"))
    policy = slo.remediation
    assert policy is not None
    assert (policy.actuator, policy.target, policy.dry_run) == (
        "istio",
        "shop/payments#primary",
        False,
    )
    assert policy.short_windows == (timedelta(seconds=30), timedelta(minutes=2))
    assert policy.cooldown == timedelta(minutes=1)
    assert [(b.name, b.initial_weight) for b in policy.backends] == [("v1", 90), ("v2", 10)]
    v2 = policy.backends[1].sli
    assert isinstance(v2, RatioSLI)
    assert v2.total.promql() == (
        'istio_requests_total{reporter="destination",destination_service_name="payments",'
        'destination_version="v2"}'
    )


def test_envoy_backends_are_their_clusters() -> None:
    text = REMEDIATED.replace(
        "{kind: istio, service: payments}", "{kind: envoy, clusters: [p_v1, p_v2]}"
    )
    text = text.replace("name: v1", "name: p_v1").replace("name: v2", "name: p_v2")
    text = text.replace("actuator: istio", "actuator: envoy")
    policy = _one(text.replace("shop/payments#primary", "local_route/svc/payments")).remediation
    assert policy is not None
    sli = policy.backends[0].sli
    assert isinstance(sli, RatioSLI)
    assert sli.total.promql() == 'envoy_cluster_upstream_rq{envoy_cluster_name="p_v1"}'


def test_default_alert_windows_follow_the_slo_window() -> None:
    slo = _one(OPENSLO_RATIO.replace("duration: 30d", "duration: 28d"))
    assert slo.alerting.windows == default_burn_windows(timedelta(days=28))
    assert [w.factor for w in slo.alerting.windows] == [13.44, 5.6, 2.8, 0.9333]


def test_sloth_alerting_maps_names_labels_and_disabled_alerts() -> None:
    text = SLOTH_RATIO + (
        "    labels: {tier: gold}\n"
        "    alerting:\n"
        "      name: CheckoutErrors\n"
        "      labels: {category: availability}\n"
        "      annotations: {summary: burning}\n"
        "      page_alert: {labels: {severity: pageteam}, annotations: {runbook: r}}\n"
        "      ticket_alert: {disable: true}\n"
    )
    slo = _one(text)
    alerting = slo.alerting
    assert (alerting.name, alerting.page, alerting.ticket) == ("CheckoutErrors", True, False)
    assert alerting.labels == (("category", "availability"),)
    assert alerting.annotations == (("summary", "burning"),)
    assert alerting.page_labels == (("severity", "pageteam"),)
    assert alerting.page_annotations == (("runbook", "r"),)
    assert slo.labels == (("tier", "gold"),)


def test_sloth_raw_sli() -> None:
    text = (
        SLOTH_RATIO.split("      events:")[0] + "      raw: {error_ratio_query: 'x[{{.window}}]'}\n"
    )
    assert _one(text).sli == RawSLI(error_ratio="x[{{.window}}]")


def test_openslo_alert_policy_conditions_become_burn_windows() -> None:
    text = (
        OPENSLO_RATIO
        + """
---
apiVersion: openslo/v1
kind: AlertCondition
metadata: {name: fast}
spec:
  severity: critical
  condition: {kind: burnrate, op: gt, threshold: 14.4, lookbackWindow: 1h}
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata: {name: burn}
spec:
  conditions: [{conditionRef: fast}]
  notificationTargets: [{targetRef: oncall}]
---
apiVersion: openslo/v1
kind: AlertNotificationTarget
metadata: {name: oncall}
spec: {target: alertmanager}
"""
    )
    text = text.replace(
        "objectives: [{target: 0.999}]",
        "objectives: [{target: 0.999}]\n  alertPolicies: [{alertPolicyRef: burn}]",
    )
    alerting = _one(text).alerting
    assert (alerting.page, alerting.ticket) == (True, False)
    (window,) = alerting.windows
    assert window.severity is Severity.PAGE
    assert (window.long, window.short, window.factor) == (
        timedelta(hours=1),
        timedelta(minutes=5),
        14.4,
    )
    assert window.budget_share == pytest.approx(0.02)


def test_openslo_calendar_window_and_raw_success_ratio() -> None:
    text = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: availability}
spec:
  service: checkout
  indicator:
    metadata: {name: ok}
    spec:
      ratioMetric:
        rawType: success
        raw: {metricSource: {type: prometheus, spec: {query: 'avg_over_time(up[{{.window}}])'}}}
  timeWindow:
    - duration: 1w
      isRolling: false
      calendar: {startTime: "2024-01-01 00:00:00", timeZone: UTC}
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
"""
    result = load_text(text, "spec.yaml")
    slo = result.slos[0]
    assert slo.window == Window.calendar(CalendarUnit.WEEK)
    assert slo.sli == RawSLI(error_ratio="1 - (avg_over_time(up[{{.window}}]))")
    assert result.warnings == ()  # 2024-01-01 is a Monday


def test_custom_alert_windows_from_budget_percent_or_factor() -> None:
    text = NATIVE_RATIO + (
        "    alerting:\n"
        "      windows:\n"
        "        - {severity: page, long: 1h, budget_percent: 2}\n"
        "        - {severity: ticket, long: 1d, short: 1h, factor: 3}\n"
    )
    first, second = _one(text).alerting.windows
    assert (first.long, first.short, first.factor, first.budget_share) == (
        timedelta(hours=1), timedelta(minutes=5), 14.4, 0.02,
    )  # fmt: skip
    assert (second.severity, second.short, second.budget_share) == (
        Severity.TICKET, timedelta(hours=1), 0.1,
    )  # fmt: skip


def test_multi_document_stream_and_source_lines() -> None:
    text = NATIVE_RATIO + "---\n" + SLOTH_RATIO.replace("service: checkout", "service: orders")
    result = load_text(text, "two.yaml")
    assert [s.id for s in result.slos] == ["checkout-availability", "orders-availability"]
    lines = [s.source.line for s in result.slos if s.source]
    assert lines == [6, 18]  # the "- name" lines; the second document starts at line 14


def test_every_problem_of_a_stream_is_reported_at_once() -> None:
    text = (
        NATIVE_RATIO.replace("objective: 99.9", "objective: 120").replace(
            "window: 30d", "window: forever"
        )
        + "---\n"
        + SLOTH_RATIO.replace("[{{.window}}]))\n        total", "[5m]))\n        total")
    )
    with pytest.raises(SpecError) as caught:
        load_text(text, "all.yaml")
    assert [(p.line, p.field) for p in caught.value.problems] == [
        (7, "slos[0].objective"),
        (8, "slos[0].window"),
        (22, "slos[0].sli.events.error_query"),
    ]


def test_sloth_crd_as_exported_by_kubectl() -> None:
    text = (
        SLOTH_QUERY.replace(
            "metadata: {name: checkout}",
            "metadata:\n  name: checkout\n  uid: 1b2c\n  resourceVersion: '42'\n"
            "  creationTimestamp: '2024-01-01T00:00:00Z'",
        )
        + "status: {processedSLOs: 1, promOpRulesGenerated: true}\n"
    )
    assert _one(text).sli == QuerySLI(total=QUERY_TOTAL, bad=QUERY_BAD)


def test_openslo_readme_style_summed_counters() -> None:
    """The OpenSLO README's ratioMetric example sums a counter without a window."""
    text = OPENSLO_RATIO.replace(
        "query: 'http_requests_total{job=\"checkout\"}'",
        "query: 'sum(http_requests_total{job=\"checkout\"})'",
    )
    assert _one(text).sli == _one(OPENSLO_RATIO).sli
