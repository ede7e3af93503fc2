"""PromQL builders per SLI kind (pure string building; promtool checks run in integration)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from meshwatch.model import LatencySLI, Matcher, QuerySLI, RatioSLI, RawSLI, Selector
from meshwatch.sli import (
    counts_are_events,
    error_ratio,
    errors_increase,
    guarded_ratio,
    has_counts,
    le_matcher,
    le_spellings,
    requests_increase,
)
from meshwatch.sli.promql import atom

FIVE_MIN = timedelta(minutes=5)
DEST = Matcher("reporter", "=", "destination")
TOTAL = Selector("istio_requests_total", (DEST,))
BAD = TOTAL.with_matchers(Matcher("response_code", "=~", "5.."))
GOOD = TOTAL.with_matchers(Matcher("response_code", "!~", "5.."))


def test_ratio_bad_form_counts_missing_error_series_as_zero() -> None:
    sli = RatioSLI(total=TOTAL, bad=BAD)
    assert requests_increase(sli, FIVE_MIN) == (
        'sum(increase(istio_requests_total{reporter="destination"}[5m]))'
    )
    assert errors_increase(sli, timedelta(hours=1)) == (
        '(sum(increase(istio_requests_total{reporter="destination",response_code=~"5.."}[1h]))'
        " or vector(0))"
    )


def test_ratio_good_form_subtracts_and_clamps() -> None:
    errors = errors_increase(RatioSLI(total=TOTAL, good=GOOD), FIVE_MIN)
    assert errors.startswith("clamp_min(sum(increase(istio_requests_total{")
    assert 'response_code!~"5.."}[5m])) or vector(0)), 0)' in errors


def test_latency_matches_every_le_spelling_and_has_no_default_bucket() -> None:
    sli = LatencySLI("http_request_duration_seconds", 0.3, (Matcher("job", "=", "api"),))
    errors = errors_increase(sli, FIVE_MIN)
    assert 'http_request_duration_seconds_bucket{job="api",le=~"0\\\\.3|0\\\\.30|0\\\\.300"}' in (
        errors
    )
    assert "vector(0)" not in errors
    assert requests_increase(sli, FIVE_MIN) == (
        'sum(increase(http_request_duration_seconds_count{job="api"}[5m]))'
    )


@pytest.mark.parametrize(
    ("threshold", "spellings"),
    [
        pytest.param(0.3, ("0.3", "0.30", "0.300"), id="fraction"),
        pytest.param(250, ("250", "250.0"), id="integer-ms"),
        pytest.param(3_600_000, ("3.6e+06", "3600000", "3600000.0"), id="go-exponent"),
        pytest.param(1e-05, ("0.00001", "0.000010", "0.0000100", "1e-05"), id="tiny"),
    ],
)
def test_le_spellings(threshold: float, spellings: tuple[str, ...]) -> None:
    assert le_spellings(threshold) == spellings
    matcher = le_matcher(threshold)
    assert all(matcher.matches(s) for s in spellings)
    assert not matcher.matches("0.35") and not matcher.matches("25")


def test_rate_templates_become_increases() -> None:
    sli = QuerySLI(
        total="sum(rate(http_requests_total[{{.window}}]))",
        bad='sum(rate(http_requests_total{code=~"5.."}[{{ .window }}]))',
    )
    assert requests_increase(sli, timedelta(hours=1)) == (
        "(sum(sum(rate(http_requests_total[1h]))) * 3600)"
    )
    assert "[5m]" in errors_increase(sli, FIVE_MIN) and "* 300" in errors_increase(sli, FIVE_MIN)


def test_increase_templates_are_taken_as_written() -> None:
    sli = QuerySLI(total="sum(increase(a[{{.window}}]))", good="sum(increase(b[{{.window}}]))")
    assert requests_increase(sli, FIVE_MIN) == "sum(sum(increase(a[5m])))"
    assert "*" not in errors_increase(sli, FIVE_MIN)


def test_raw_sli_has_only_a_ratio() -> None:
    sli = RawSLI("1 - avg_over_time(probe_success[{{.window}}])")
    assert not has_counts(sli)
    assert error_ratio(sli, timedelta(days=1)) == "(1 - avg_over_time(probe_success[1d]))"
    with pytest.raises(ValueError, match="raw"):
        errors_increase(sli, FIVE_MIN)
    with pytest.raises(ValueError, match="raw"):
        requests_increase(sli, FIVE_MIN)


def test_guarded_ratio_parenthesises_compound_operands() -> None:
    ratio = guarded_ratio("a - b", "sum(c) * 300")
    assert ratio == "((a - b) <= (sum(c) * 300) or ((sum(c) * 300) and (a - b))) / (sum(c) * 300)"


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        pytest.param("metric", "metric", id="name"),
        pytest.param('m{a=")"}', 'm{a=")"}', id="selector-with-paren-in-string"),
        pytest.param("sum(x)", "sum(x)", id="call"),
        pytest.param("(a or b)", "(a or b)", id="already-parenthesised"),
        pytest.param("(a) or (b)", "((a) or (b))", id="two-terms"),
        pytest.param("sum(x) * 3", "(sum(x) * 3)", id="arithmetic"),
    ],
)
def test_atom(expr: str, expected: str) -> None:
    assert atom(expr) == expected


def test_every_builder_output_has_balanced_brackets() -> None:
    slis = [
        RatioSLI(total=TOTAL, bad=BAD),
        RatioSLI(total=TOTAL, good=GOOD),
        LatencySLI("h", 0.25),
        QuerySLI(total="sum(rate(a[{{.window}}]))", good="sum(rate(b[{{.window}}]))"),
    ]
    for sli in slis:
        text = re.sub(r'"[^"]*"', '""', error_ratio(sli, FIVE_MIN))
        assert text.count("(") == text.count(")") and text.count("{") == text.count("}")


RATE = QuerySLI(total="sum(rate(a[{{.window}}]))", bad="sum(rate(b[{{.window}}]))")
INCREASE = QuerySLI(total="sum(increase(a[{{.window}}]))", good="sum(increase(b[{{.window}}]))")
RECORDED = QuerySLI(total="sum(job:a:rate5m)", bad="sum(job:b:rate5m)")


@pytest.mark.parametrize(
    ("sli", "events"),
    [
        pytest.param(RatioSLI(total=TOTAL, bad=BAD), True, id="ratio"),
        pytest.param(LatencySLI("h", 0.3), True, id="latency"),
        pytest.param(RATE, True, id="rate-templates"),
        pytest.param(INCREASE, True, id="increase-templates"),
        pytest.param(RECORDED, False, id="recorded-rates"),
        pytest.param(RawSLI("x"), False, id="raw"),
    ],
)
def test_counts_are_events(sli: RatioSLI | LatencySLI | QuerySLI | RawSLI, events: bool) -> None:
    assert counts_are_events(sli) is events


def test_label_values_are_escaped_as_promql_strings() -> None:
    matcher = Matcher("job", "=", 'a"b\\c\nd\te')
    assert matcher.promql() == 'job="a\\"b\\\\c\\nd\\te"'
