"""The PromQL that specs hand to meshwatch: counter selectors, templates, counters in rates.

Everything goes through the parser's tree (`meshwatch.promql`): `parse_selector` reads
`http_requests_total{job="api",code=~"5.."}` into a model.Selector, `check_template` accepts
a `{{.window}}` template only when it is valid PromQL with every placeholder at a duration,
and `counter_in_rate` recognises `sum(rate(SELECTOR[{{.window}}]))`, which meshwatch can then
compute from the counter itself (both engines) instead of as an opaque query. Errors are
PromQLError with the column where the text goes wrong.
"""

from __future__ import annotations

import functools

from meshwatch.errors import PromQLError
from meshwatch.model import Selector
from meshwatch.promql import expr, template
from meshwatch.promql.template import has_window

__all__ = ["check_template", "counter_in_rate", "has_window", "parse_counter", "parse_selector"]

_COUNTER_RATES = frozenset({"rate", "increase"})


def parse_selector(text: str, *, metric_required: bool = True) -> Selector:
    """`expr.parse_selector`, once per distinct text: the SLOs of a service usually share
    their `total` selector, and a Selector is an immutable value. Errors are not cached.

    `parse_selector.cache_clear()` forgets every selector read, down to the metric names and
    matchers `expr.selector` remembers, so that the next load pays what a first one pays."""
    return _parse_selector(text, metric_required)


@functools.lru_cache(maxsize=4096)
def _parse_selector(text: str, metric_required: bool) -> Selector:
    return expr.parse_selector(text, metric_required=metric_required)


def _cache_clear() -> None:
    _parse_selector.cache_clear()
    expr.clear_caches()


parse_selector.cache_clear = _cache_clear  # type: ignore[attr-defined]


def check_template(query: str, *, window_required: bool = True) -> None:
    """Raise PromQLError unless `query` is a valid PromQL template."""
    template.check(query, window_required=window_required)


def parse_counter(text: str) -> Selector:
    """A counter selector, optionally summed: `metric{...}` or `sum(metric{...})`.

    Both count the same events, so a ratio of two is the same ratio of increases.
    """
    try:
        inner = expr.summed(expr.parse(text))
    except PromQLError:
        inner = None
    found = None if inner is None else expr.selector(inner)
    if found is not None and found.metric:
        return found
    return parse_selector(text)


def counter_in_rate(query: str) -> Selector | None:
    """The counter selector of `sum(rate(SELECTOR[{{.window}}]))` (or `increase`), else None."""
    if template.split(query).windows != 1:
        return None
    try:
        inner = expr.summed(template.probe(query))
        found = None if inner is None else expr.range_of_counter(inner, _COUNTER_RATES)
    except PromQLError:
        return None
    if found is None or not found[0].metric or found[1] != template.PROBE_DURATION:
        return None
    return found[0]
