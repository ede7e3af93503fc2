"""PromQL read through the parser's tree: what the tree decides that text scanning could not."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshwatch.errors import PromQLError
from meshwatch.model import Matcher, QuerySLI, Selector
from meshwatch.promql.template import SLO_GENERATOR_WINDOW, split
from meshwatch.sli import counts_are_events, guarded_ratio, render_template, requests_increase
from meshwatch.spec.promql import check_template, counter_in_rate, has_window, parse_selector


def test_rendering_keeps_the_users_text_byte_for_byte() -> None:
    template = "sum(rate( x{a='b'} [{{ .window }}] ))  # per {{.window}}\n/ 2"
    assert render_template(template, timedelta(hours=1)) == (
        "sum(rate( x{a='b'} [1h] ))  # per 1h\n/ 2"
    )


def test_a_placeholder_inside_a_string_is_replaced_too_as_sloth_does() -> None:
    template = 'sum(rate(x{w="{{.window}}"}[{{.window}}]))'
    check_template(template)
    assert render_template(template, timedelta(minutes=5)) == 'sum(rate(x{w="5m"}[5m]))'


def test_slo_generator_placeholder_is_its_own_template_syntax() -> None:
    parts = split('m{a="1"}[ window ]', SLO_GENERATOR_WINDOW)
    assert parts.windows == 1
    assert parts.render("[{{.window}}]") == 'm{a="1"}[{{.window}}]'
    assert has_window(parts.render("[{{.window}}]"))


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("sum(rate(x[{{.window}}] offset 1h))", id="offset"),
        pytest.param("max_over_time(x[{{.window}}:1m])", id="subquery"),
        pytest.param("sum(x offset {{.window}}) + 0 * sum(rate(x[{{.window}}]))", id="twice"),
        pytest.param("histogram_quantile(0.9, sum by (le) (rate(x[{{.window}}])))", id="quantile"),
        pytest.param("1 - (sum(rate(a[{{.window}}])) / sum(rate(b[{{.window}}])))", id="raw"),
    ],
)
def test_templates_prometheus_accepts(query: str) -> None:
    check_template(query)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        pytest.param("sum(rat(x[{{.window}}]))", "unknown function with name 'rat'", id="typo"),
        pytest.param("sum(x[{{.window}}])", "got matrix", id="range-in-sum"),
        pytest.param("sum(rate(x[5m])) > {{.window}}", "takes a number", id="window-as-number"),
        pytest.param("sum(rate(x[{{.window}}])) +", "invalid PromQL", id="dangling-operator"),
    ],
)
def test_templates_the_parser_refuses(query: str, message: str) -> None:
    with pytest.raises(PromQLError, match=re.escape(message)):
        check_template(query)


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("sum(rate(x[{{.window}}] offset 1h))", id="offset"),
        pytest.param("sum(rate(x[{{.window}}:1m]))", id="subquery"),
        pytest.param("sum(rate(x[5m])) + sum(rate(y[{{.window}}]))", id="binary"),
        pytest.param("sum(irate(x[{{.window}}]))", id="irate"),
        pytest.param("sum((rate(x[{{.window}}])))", id="parenthesised"),
    ],
)
def test_counter_in_rate_is_only_the_plain_form(query: str) -> None:
    assert counter_in_rate(query) is None


def test_counter_in_rate_reads_any_spacing_and_quoting() -> None:
    assert counter_in_rate("sum ( rate ( x{a='1'} [ {{.window}} ] ) )") == Selector(
        "x", (Matcher("a", "=", "1"),)
    )


def test_rate_in_a_label_value_is_not_a_rate() -> None:
    sli = QuerySLI(
        total='sum(increase(x{path="/rate(1)"}[{{.window}}]))',
        bad='sum(increase(x{path="/rate(1)",code="500"}[{{.window}}]))',
    )
    assert counts_are_events(sli)
    assert requests_increase(sli, timedelta(minutes=5)) == (
        'sum(sum(increase(x{path="/rate(1)"}[5m])))'
    )


def test_rate_based_templates_become_increases() -> None:
    sli = QuerySLI(total="sum(rate(x[{{.window}}]))", bad='sum(rate(x{c="5"}[{{.window}}]))')
    assert requests_increase(sli, timedelta(minutes=5)) == "(sum(sum(rate(x[5m]))) * 300)"
    irate = QuerySLI(total="sum(irate(x[{{.window}}]))", bad="sum(irate(y[{{.window}}]))")
    assert not counts_are_events(irate)


@pytest.mark.parametrize(
    ("operand", "as_operand"),
    [
        pytest.param('slo:sli_error:ratio_rate5m{slo="a"}', 'slo:sli_error:ratio_rate5m{slo="a"}'),
        pytest.param("sum(increase(x[5m]))", "sum(increase(x[5m]))", id="sum"),
        pytest.param("clamp_min(a - b, 0)", "clamp_min(a - b, 0)", id="call"),
        pytest.param("(a or vector(0))", "(a or vector(0))", id="parenthesised"),
        pytest.param("(a) + (b)", "((a) + (b))", id="binary-of-parens"),
        pytest.param("sum by (x) (a)", "(sum by (x) (a))", id="grouped-sum"),
        pytest.param("-a", "(-a)", id="unary"),
        pytest.param("2", "(2)", id="number"),
    ],
)
def test_guarded_ratio_parenthesises_what_is_not_one_term(operand: str, as_operand: str) -> None:
    assert guarded_ratio(operand, "r") == f"({as_operand} <= r or (r and {as_operand})) / r"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param('m{a=~"(?=b)"}', "invalid PromQL: illegal regex", id="lookahead-is-not-re2"),
        pytest.param('m{"a.b"="1"}', "expected a label name at column 3", id="utf8-label"),
        pytest.param('m{a="1" or b="2"}', "expected ',' or '}' at column 9", id="or-matchers"),
        pytest.param('m{a="1"} offset 5m', "unexpected 'o' at column 10", id="offset"),
        pytest.param('m{a="1"}[5m]', "unexpected '[' at column 9", id="range"),
    ],
)
def test_selectors_outside_the_subset_say_where(text: str, message: str) -> None:
    with pytest.raises(PromQLError, match=re.escape(message)):
        parse_selector(text)


def test_selector_values_use_prometheus_escapes() -> None:
    assert parse_selector(r'm{a="\u00e9\x41"}') == Selector("m", (Matcher("a", "=", "éA"),))


def test_label_filter_without_metric_may_match_the_empty_value() -> None:
    assert parse_selector('{code=""}', metric_required=False) == Selector(
        "", (Matcher("code", "=", ""),)
    )
    assert parse_selector("  {}", metric_required=False) == Selector("")


_label = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,8}", fullmatch=True)
_selector = st.builds(
    Selector,
    metric=st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,12}", fullmatch=True),
    matchers=st.lists(
        st.builds(
            Matcher,
            label=_label,
            op=st.sampled_from(["=", "!=", "=~", "!~"]),
            value=st.sampled_from(["", "a", '"q"', "5..", "a|b", "\\d+", "x\ny", "{{.window}}"]),
        ),
        max_size=3,
    ).map(tuple),
)


@given(selector=_selector, function=st.sampled_from(["rate", "increase"]))
def test_any_written_counter_in_rate_reads_back(selector: Selector, function: str) -> None:
    query = f"sum({function}({selector.promql()}[{{{{.window}}}}]))"
    if "{{.window}}" in query.replace("[{{.window}}]", ""):  # a value holding the placeholder
        assert counter_in_rate(query) is None
    else:
        assert counter_in_rate(query) == selector
        check_template(query)
