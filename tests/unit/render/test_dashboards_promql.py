"""The PromQL builders behind the dashboard panels (strings only; run for real in
tests/integration/test_dashboard_queries.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from meshwatch import conventions as c
from meshwatch.model import SLO, LatencySLI, Matcher, QuerySLI, RatioSLI, Selector, Window
from meshwatch.render import dashboards_promql as q

TOTAL = Selector("http_requests_total", (Matcher("job", "=", "api"),))
WINDOW = Window.rolling(timedelta(days=30))


def _slo(sli: RatioSLI | LatencySLI | QuerySLI) -> SLO:
    return SLO("api", "availability", 99.9, WINDOW, sli)


@pytest.mark.parametrize(
    ("histogram", "unit"),
    [
        pytest.param("istio_request_duration_milliseconds", "ms", id="milliseconds"),
        pytest.param("response_latency_ms", "ms", id="ms-suffix"),
        pytest.param("http_request_duration_seconds", "s", id="seconds"),
        pytest.param("queue_wait", "none", id="unknown-unit"),
    ],
)
def test_histogram_unit_follows_prometheus_naming(histogram: str, unit: str) -> None:
    assert q.histogram_unit(histogram) == unit


def test_burn_rate_divides_by_the_recorded_budget_per_slo() -> None:
    assert q.burn_rate("1h", 'meshwatch_slo="a"') == (
        'meshwatch:sli_error:ratio_rate1h{meshwatch_slo="a"} / on(meshwatch_service, '
        'meshwatch_slo) (1 - meshwatch:slo_objective:ratio{meshwatch_slo="a"})'
    )


def test_request_rate_is_the_5m_count_per_second() -> None:
    assert q.request_rate("x") == f"{c.RULE_REQUESTS_INCREASE}{{x}} / 300"


@pytest.mark.parametrize(
    ("sli", "expected"),
    [
        pytest.param(
            RatioSLI(total=TOTAL, bad=TOTAL.with_matchers(Matcher("code", "=~", "5.."))),
            '(sum by (v) (rate(http_requests_total{job="api",code=~"5.."}[$__rate_interval]))'
            ' or sum by (v) (rate(http_requests_total{job="api"}[$__rate_interval])) * 0)'
            ' / sum by (v) (rate(http_requests_total{job="api"}[$__rate_interval]))',
            id="bad-selector",
        ),
        pytest.param(
            RatioSLI(total=TOTAL, good=TOTAL.with_matchers(Matcher("code", "=~", "2.."))),
            '1 - (sum by (v) (rate(http_requests_total{job="api",code=~"2.."}[$__rate_interval]))'
            ' or sum by (v) (rate(http_requests_total{job="api"}[$__rate_interval])) * 0)'
            ' / sum by (v) (rate(http_requests_total{job="api"}[$__rate_interval]))',
            id="good-selector",
        ),
        pytest.param(QuerySLI(total="t", bad="b"), None, id="free-promql-cannot-split"),
    ],
)
def test_sli_error_ratio_by_group(sli: RatioSLI | QuerySLI, expected: str | None) -> None:
    assert q.sli_error_ratio_by(_slo(sli), ("v",)) == expected


def test_latency_error_ratio_matches_every_spelling_of_the_bound() -> None:
    sli = LatencySLI("h_seconds", 0.25, (Matcher("job", "=", "api"),))
    expr = q.sli_error_ratio_by(_slo(sli), ("v",))
    assert expr is not None
    assert 'h_seconds_bucket{job="api",le=~"0\\\\.25|0\\\\.250|0\\\\.2500"}' in expr
    assert expr.endswith('/ sum by (v) (rate(h_seconds_count{job="api"}[$__rate_interval]))')


def test_code_share_counts_non_success_codes_against_all_requests() -> None:
    assert q.code_share(TOTAL, "code") == (
        'sum by (code) (rate(http_requests_total{job="api",code!~"[23].."}[$__rate_interval]))'
        ' / scalar(sum (rate(http_requests_total{job="api"}[$__rate_interval])))'
    )


def test_raw_series_of_free_promql_is_empty_and_of_a_mesh_is_complete() -> None:
    assert q.raw_series(_slo(QuerySLI(total="t", bad="b"))).requests is None
    plain = q.raw_series(_slo(RatioSLI(total=TOTAL, bad=TOTAL)))
    assert (plain.requests, plain.histogram, plain.code_label) == (TOTAL, None, None)


def test_slo_state_treats_nan_budgets_as_unknown() -> None:
    expr = q.slo_state("m")
    assert expr.startswith("clamp_max(")
    assert expr.endswith(
        "unless on(meshwatch_service, meshwatch_slo) (max by (meshwatch_service, meshwatch_slo)"
        " (meshwatch:slo_error_budget_remaining:ratio{m}) != max by (meshwatch_service,"
        " meshwatch_slo) (meshwatch:slo_error_budget_remaining:ratio{m}))"
    )
