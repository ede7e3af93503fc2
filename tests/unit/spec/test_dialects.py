"""Real-shaped documents of every dialect (tests/testdata/dialects, written for these tests
after the published examples of OpenSLO, Sloth, Pyrra and slo-generator) map as their
users mean them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

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
from meshwatch.spec import LoadOptions, load_paths, load_text

DIALECTS = Path(__file__).resolve().parents[2] / "testdata" / "dialects"


@pytest.fixture(scope="module")
def corpus() -> dict[str, SLO]:
    result = load_paths([DIALECTS / "corpus"])
    assert result.warnings == ()
    return {slo.id: slo for slo in result.slos}


def test_the_corpus_has_every_dialect(corpus: dict[str, SLO]) -> None:
    formats = {slo.source.format for slo in corpus.values() if slo.source is not None}
    assert formats == {"openslo/v1", "sloth", "pyrra", "slo-generator"}


def test_openslo_lte_condition_with_alert_after(corpus: dict[str, SLO]) -> None:
    slo = corpus["my-rad-service-search-availability"]
    assert slo.objective == 99.5
    assert slo.window == Window.calendar(CalendarUnit.MONTH)
    assert slo.labels == (("team", "search,platform"),)
    (window,) = slo.alerting.windows
    assert (window.severity, window.long, window.short) == (
        Severity.PAGE,
        timedelta(hours=1),
        timedelta(minutes=5),
    )
    assert window.factor == 14
    assert window.alert_after == timedelta(minutes=2)
    assert (slo.alerting.page, slo.alerting.ticket) == (True, False)


def test_openslo_list_form_inline_policy_and_empty_lists(corpus: dict[str, SLO]) -> None:
    slo = corpus["api-api-availability"]
    assert isinstance(slo.sli, RatioSLI) and slo.sli.bad is not None
    (window,) = slo.alerting.windows
    assert window.severity is Severity.TICKET and window.alert_after == timedelta(minutes=15)
    raw = corpus["my-rad-service-search-errors-raw"]
    assert isinstance(raw.sli, RawSLI)
    assert len(raw.alerting.windows) == 4  # `alertPolicies: []` -> the Workbook's


def test_sloth_label_scalars_become_text_and_disabled_alerts_are_off(
    corpus: dict[str, SLO],
) -> None:
    slo = corpus["myservice-requests-availability"]
    assert dict(slo.labels)["generated"] == "true"
    assert dict(slo.labels)["actual_le"] == "0.2"
    assert slo.window.length == timedelta(days=30)  # Sloth's default period
    off = corpus["myservice-requests-raw"].alerting
    assert (off.page, off.ticket, off.absent) == (False, False, False)


def test_pyrra_ratio_latency_and_bool_gauge(corpus: dict[str, SLO]) -> None:
    ratio = corpus["monitoring-prometheus-api-query-errors"]
    assert ratio.objective == 99 and ratio.window.length == timedelta(weeks=2)
    assert ratio.labels == (("team", "observability"),)
    latency = corpus["monitoring-prometheus-api-query-latency"]
    assert latency.sli == LatencySLI(
        "prometheus_http_request_duration_seconds",
        1.0,
        latency.sli.matchers if isinstance(latency.sli, LatencySLI) else (),
    )
    assert {m.label for m in latency.sli.matchers} == {"job", "handler"}  # type: ignore[union-attr]
    assert latency.alerting.name == "PrometheusQueryLatencyBudgetBurn"
    assert (latency.alerting.page, latency.alerting.absent) == (True, False)
    gauge = corpus["monitoring-prometheus-up"]
    assert isinstance(gauge.sli, QuerySLI)
    assert gauge.sli.good == 'sum(sum_over_time(up{job="prometheus"}[{{.window}}]))'
    assert (gauge.alerting.page, gauge.alerting.ticket, gauge.alerting.absent) == (
        False,
        False,
        False,
    )


def test_slo_generator_methods(corpus: dict[str, SLO]) -> None:
    query = corpus["prom-prom-metrics-availability-query-sli"]
    assert isinstance(query.sli, RawSLI)
    assert query.sli.error_ratio.startswith("1 - (sum(rate(prometheus_http_requests_total")
    assert "[{{.window}}]" in query.sli.error_ratio and "[window]" not in query.sli.error_ratio
    ratio = corpus["prom-prom-metrics-availability-ratio"]
    assert isinstance(ratio.sli, RatioSLI) and ratio.sli.good is not None
    assert ratio.window.length == timedelta(days=28)
    latency = corpus["prom-prom-metrics-latency"]
    assert isinstance(latency.sli, LatencySLI) and latency.sli.threshold == 0.25
    assert latency.objective == pytest.approx(99.99)


def test_the_same_slo_maps_identically_in_every_dialect() -> None:
    result = load_paths([DIALECTS / "same-slo"], LoadOptions(sloth_period="28d"))
    formats = {slo.source.format for slo in result.slos if slo.source is not None}
    assert formats == {"meshwatch/v1", "sloth", "openslo/v1", "openslo/v1alpha", "pyrra",
                       "slo-generator"}  # fmt: skip
    assert len(result.slos) == 7
    for slo in result.slos:
        assert (slo.objective, slo.window.length) == (99.9, timedelta(days=28)), slo.id
        assert isinstance(slo.sli, RatioSLI), slo.id
        assert slo.sli.total.promql() == 'http_requests_total{job="checkout"}', slo.id
        assert [w.factor for w in slo.alerting.windows or ()] in ([], [13.44, 5.6, 2.8, 0.9333])


@pytest.mark.parametrize("op", ["gt", "gte", "lt", "lte"])
def test_openslo_burn_rate_op_in_every_direction_alerts_above_the_threshold(op: str) -> None:
    text = (DIALECTS / "corpus" / "openslo-readme-shapes.yaml").read_text()
    text = text.replace("    op: lte\n", f"    op: {op}\n")
    (slo,) = [s for s in load_text(text, "ops.yaml").slos if s.name == "search-availability"]
    (window,) = slo.alerting.windows
    assert (window.factor, window.alert_after) == (14, timedelta(minutes=2))
