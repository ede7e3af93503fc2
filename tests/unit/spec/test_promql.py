"""The counter-selector parser and the PromQL template checks."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshwatch.errors import PromQLError
from meshwatch.model import Matcher, Selector
from meshwatch.spec.promql import (
    check_template,
    counter_in_rate,
    parse_counter,
    parse_selector,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("up", Selector("up"), id="bare-metric"),
        pytest.param("up{}", Selector("up"), id="empty-braces"),
        pytest.param(
            'http_requests_total{job="api", code=~"5..",}',
            Selector(
                "http_requests_total", (Matcher("job", "=", "api"), Matcher("code", "=~", "5.."))
            ),
            id="trailing-comma-and-spaces",
        ),
        pytest.param(
            "a:b_total{x!='y',z!~`1|2`}",
            Selector("a:b_total", (Matcher("x", "!=", "y"), Matcher("z", "!~", "1|2"))),
            id="single-quotes-and-backticks",
        ),
        pytest.param(
            r'm{path="a\"b\\c\n"}',
            Selector("m", (Matcher("path", "=", 'a"b\\c\n'),)),
            id="escapes",
        ),
    ],
)
def test_parse_selector(text: str, expected: Selector) -> None:
    assert parse_selector(text) == expected


def test_selector_round_trips_through_promql() -> None:
    selector = parse_selector(r'm{path="a\"b\\c",code=~"5.."}')
    assert parse_selector(selector.promql()) == selector


def test_label_matchers_alone_when_metric_is_optional() -> None:
    assert parse_selector('{job="x"}', metric_required=False) == Selector(
        "", (Matcher("job", "=", "x"),)
    )
    assert parse_selector("", metric_required=False) == Selector("")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param('{job="x"}', "expected a metric name at column 1", id="no-metric"),
        pytest.param("m{job=x}", "expected a quoted label value at column 7", id="unquoted"),
        pytest.param('m{job=="x"}', "expected a quoted label value at column 7", id="double-op"),
        pytest.param('m{job~"x"}', "expected '=', '!=', '=~' or '!~' at column 6", id="bad-op"),
        pytest.param('m{job="x"', "expected ',' or '}' at column 10", id="unclosed"),
        pytest.param('m{job="x}', "unterminated string", id="unterminated"),
        pytest.param('m{a=~"("}', "invalid regular expression '('", id="bad-regex"),
        pytest.param('m{a="\\q"}', "invalid escape at column 6", id="bad-escape"),
        pytest.param("rate(m[5m])", "unexpected '(' at column 5", id="a-function"),
        pytest.param('m{job="x"} > 0', "unexpected '>' at column 12", id="an-expression"),
    ],
)
def test_invalid_selectors_say_where(text: str, message: str) -> None:
    with pytest.raises(PromQLError, match=re.escape(message)):
        parse_selector(text)


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("sum(rate(x[{{.window}}]))", id="simple"),
        pytest.param("sum(rate(x[{{ .window }}])) # a ')' in a comment", id="comment"),
        pytest.param('sum(rate(x{a=")"}[{{.window}}]))', id="paren-in-string"),
    ],
)
def test_valid_templates(query: str) -> None:
    check_template(query)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        pytest.param("sum(rate(x[5m]))", "no {{.window}} placeholder", id="no-window"),
        pytest.param("sum(rate(x[{{.window}}])", "unclosed '(' at column 4", id="unclosed"),
        pytest.param("sum(rate(x[{{.window}}))", "unbalanced ')' at column 23", id="mismatched"),
        pytest.param("  ", "query is empty", id="empty"),
        pytest.param('x{a="b}[{{.window}}]', "unterminated string", id="open-quote"),
    ],
)
def test_broken_templates(query: str, message: str) -> None:
    with pytest.raises(PromQLError, match=re.escape(message)):
        check_template(query)


def test_counter_in_rate_recognises_only_sum_of_rate_of_a_counter() -> None:
    assert counter_in_rate('sum(rate(a_total{x="1"}[{{.window}}]))') == Selector(
        "a_total", (Matcher("x", "=", "1"),)
    )
    assert counter_in_rate("sum(increase(a_total[{{.window}}]))") == Selector("a_total")
    assert counter_in_rate("sum by (x) (rate(a_total[{{.window}}]))") is None
    assert counter_in_rate("sum(rate(a_total[5m]))") is None
    assert counter_in_rate("sum(rate(a_total[{{.window}}])) > 0") is None


_label = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,8}", fullmatch=True)
_matcher = st.builds(
    Matcher,
    label=_label,
    op=st.sampled_from(["=", "!="]),
    value=st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
)


@given(
    metric=st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,12}", fullmatch=True),
    matchers=st.lists(_matcher, max_size=4),
)
def test_any_selector_round_trips(metric: str, matchers: list[Matcher]) -> None:
    selector = Selector(metric, tuple(matchers))
    assert parse_selector(selector.promql()) == selector


def test_parse_counter_accepts_a_sum_of_a_selector() -> None:
    assert parse_counter('sum(a_total{x="1"})') == parse_selector('a_total{x="1"}')
    assert parse_counter("a_total") == Selector("a_total")
    with pytest.raises(PromQLError):
        parse_counter("sum(rate(a_total[5m]))")
