"""PromQL parsed to `promql-parser`'s tree, and what meshwatch reads from it.

Every function here is pure. `parse` turns the parser's ValueError into PromQLError; the
readers return None (or False) for a tree outside what they recognise, so callers decide
whether that is an error and say where through `diagnose`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache

import promql_parser as pp

from meshwatch.errors import PromQLError
from meshwatch.promql import diagnose
from meshwatch.selector import Matcher, MatchOp, Selector

# The parser's MatchOp is not hashable: ours are looked up by its number (pyo3 gives the enum
# `__int__`; the stub does not declare it).
_OPS: tuple[tuple[pp.MatchOp, MatchOp], ...] = (
    (pp.MatchOp.Equal, "="),
    (pp.MatchOp.NotEqual, "!="),
    (pp.MatchOp.Re, "=~"),
    (pp.MatchOp.NotRe, "!~"),
)
_OP_BY_NUMBER: dict[int, MatchOp] = {int(theirs): ours for theirs, ours in _OPS}  # type: ignore[call-overload]
_REGEX_OPS = frozenset(("=~", "!~"))
_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
# A label filter without a metric (`{job="x"}`, or nothing) is read as the matchers of a
# selector of this metric; Prometheus would refuse `{}` or `{code=""}` standing alone.
_FILTER_METRIC = "meshwatch_label_filter"


def parse(text: str) -> pp.Expr:
    """The tree of `text`; PromQLError with the parser's reason when it is not PromQL."""
    try:
        return pp.parse(text)
    except ValueError as exc:
        raise PromQLError(f"invalid PromQL: {exc} in {text!r}") from exc


def selector(node: pp.Expr) -> Selector | None:
    """The counter selector a vector-selector node is, or None for anything else.

    Outside the subset: `offset`/`@`, `or` between matcher sets, UTF-8 (quoted) names, and
    regexes Python cannot run (the embedded engine matches labels with `re`).
    """
    if not isinstance(node, pp.VectorSelector) or node.offset is not None or node.at is not None:
        return None
    matchers = node.matchers  # each attribute read builds a new object: read each once
    if matchers.or_matchers:
        return None
    metric = node.name or ""
    if metric and metric not in _METRICS and not _known_metric(metric):
        return None
    found: list[Matcher] = []
    for m in matchers.matchers:
        key = (m.name, int(m.op), m.value)  # type: ignore[call-overload]
        matcher = _MATCHERS.get(key)
        if matcher is None:
            matcher = _new_matcher(*key)
            if matcher is None:
                return None
        found.append(matcher)
    return Selector(metric, tuple(found))


# What `selector` has read before, so that it is checked once (5.6 -> 2.9 us a selector, 20 of
# 42 ms of loading 10,000 SLOs): a spec repeats its metric names and label matchers (a
# service's `job`, the `code=~"5.."` of every bad selector), and a Matcher is an immutable
# value, so one object serves them all. Both are cleared when full: a long-lived process
# that loads many different specs keeps them bounded.
_METRICS: set[str] = set()
_MATCHERS: dict[tuple[str, int, str], Matcher] = {}
_MAX_KNOWN = 16_384


def _known_metric(metric: str) -> bool:
    """Whether `metric` is a plain metric name (remembered when it is)."""
    if _METRIC.fullmatch(metric) is None:
        return False
    if len(_METRICS) >= _MAX_KNOWN:
        _METRICS.clear()
    _METRICS.add(metric)
    return True


def _new_matcher(name: str, number: int, value: str) -> Matcher | None:
    """The Matcher of a parser matcher not seen before (remembered), or None when its label
    name is outside the subset. A regex Python cannot compile raises PromQLError."""
    if not (name.isascii() and name.isidentifier()):  # [a-zA-Z_][a-zA-Z0-9_]*, cheaper
        return None
    op = _OP_BY_NUMBER[number]
    if op in _REGEX_OPS:
        diagnose.regex(value)
    if len(_MATCHERS) >= _MAX_KNOWN:
        _MATCHERS.clear()
    matcher = _MATCHERS[name, number, value] = Matcher(name, op, value)
    return matcher


def clear_caches() -> None:
    """Forget the metric names and matchers `selector` has read (tests, benchmarks)."""
    _METRICS.clear()
    _MATCHERS.clear()


def parse_selector(text: str, *, metric_required: bool = True) -> Selector:
    """`metric{label op "value", ...}` as a Selector; `{...}` alone when not `metric_required`.

    Raises PromQLError naming the column (see `diagnose`).
    """
    probe = text
    if not metric_required and _METRIC.match(text.lstrip()) is None:
        probe = _FILTER_METRIC + text.lstrip()
    try:
        found = selector(pp.parse(probe))
    except ValueError as exc:  # the parser's ValueError; PromQLError is one too
        if isinstance(exc, PromQLError):
            raise
        diagnose.selector(text, metric_required=metric_required)
        raise PromQLError(f"invalid PromQL: {exc} in {text!r}") from exc
    if found is None or (metric_required and not found.metric):
        diagnose.selector(text, metric_required=metric_required)
        raise PromQLError(f'{text!r} is not a counter selector like metric{{label="value"}}')
    if probe is not text:
        return Selector("", found.matchers)
    return found


def summed(node: pp.Expr) -> pp.Expr | None:
    """`X` of a plain `sum(X)` (no `by`/`without`), else None."""
    if isinstance(node, pp.AggregateExpr) and str(node.op) == "sum" and node.modifier is None:
        return node.expr
    return None


def range_of_counter(node: pp.Expr, functions: frozenset[str]) -> tuple[Selector, timedelta] | None:
    """The selector and range of `f(SELECTOR[range])` for `f` in `functions`, else None."""
    if not isinstance(node, pp.Call) or node.func.name not in functions or len(node.args) != 1:
        return None
    matrix = node.args[0]
    if not isinstance(matrix, pp.MatrixSelector):
        return None
    found = selector(matrix.vector_selector)
    return None if found is None else (found, matrix.range)


def numbers(node: pp.Expr) -> frozenset[float]:
    """The number literals anywhere in the tree."""
    found: set[float] = set()

    def visit(child: pp.Expr) -> None:
        if isinstance(child, pp.NumberLiteral):
            found.add(child.val)

    pp.walk(node, pre_visit=visit)
    return frozenset(found)


def calls(node: pp.Expr) -> frozenset[str]:
    """The names of the functions called anywhere in the tree."""
    found: set[str] = set()

    def visit(child: pp.Expr) -> None:
        if isinstance(child, pp.Call):
            found.add(child.func.name)

    pp.walk(node, pre_visit=visit)
    return frozenset(found)


@lru_cache(maxsize=8192)  # the engine asks for the same SLOs' queries every cycle
def is_operand(text: str) -> bool:
    """Whether `text` is one term that binds tighter than any binary operator.

    A selector, a function call, a parenthesised expression or a plain `sum(...)`; anything
    else (binary and unary expressions, numbers, `sum by (...)`, text the parser refuses) is
    not, so callers parenthesise it.
    """
    try:
        node = pp.parse(text)
    except ValueError:
        return False
    if isinstance(node, pp.AggregateExpr):
        return node.modifier is None
    return isinstance(node, pp.VectorSelector | pp.Call | pp.ParenExpr)
