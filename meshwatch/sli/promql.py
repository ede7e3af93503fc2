"""PromQL for every SLI kind: errors, requests and error ratio over a window.

These builders are shared by the rule generator and the Prometheus collector, so both
engines ask Prometheus the same questions. Every expression aggregates to a single series
without labels (`sum(...)`), so callers can add their own labels and combine results with
plain vector arithmetic.

Conventions, per SLI kind (`W` is the window):

- ratio, bad form:  errors = `sum(increase(bad[W])) or vector(0)` - a service that never
  failed has no error series at all, which means zero errors, not unknown (the rules
  default to zero only while the requests exist, see `rules_sli`).
- ratio, good form: errors = `clamp_min(total - (good or vector(0)), 0)` - a total outage
  may have no success series yet; extrapolation may make good exceed total by a hair.
- latency: errors = `clamp_min(_count - _bucket{le=~"<bound>"}, 0)`; the bucket has no
  `or vector(0)`, so a threshold that is not a bucket bound gives no result (the absent
  alert fires) instead of 100 % errors (a page).
- native latency (a native histogram `H`, `S` = `sum(increase(H[W]))`): requests =
  `histogram_count(S)`, errors = `histogram_count(S) * (1 - histogram_fraction(0, <t>, S))`,
  kept only where it is a number and otherwise `histogram_count(S) * 0`: without traffic the
  fraction is NaN, and a NaN error count in a 5m recording would poison every longer window
  summed from it. No histogram series gives no result (the absent alert fires).
- query (Sloth / OpenSLO templates with `{{.window}}`): summed as written. When both
  templates are rate-based (`rate(` and no `increase(`) they are multiplied by the window in
  seconds, which makes them increases exactly (Prometheus defines `increase` as rate x range);
  otherwise they are taken in their own units - ratios are still right, because errors and
  requests share them.
- raw (an error-ratio template): no counts; only `error_ratio` is defined.

`increase()` handles counter resets, so a restarted proxy never shows up as a spike.
"""

from __future__ import annotations

from datetime import timedelta
from typing import assert_never

from meshwatch.model import (
    SLI,
    LatencySLI,
    NativeLatencySLI,
    QuerySLI,
    RatioSLI,
    RawSLI,
    Selector,
    format_duration,
)
from meshwatch.promql import expr as promql_expr
from meshwatch.promql import template as promql_template
from meshwatch.sli.buckets import le_matcher
from meshwatch.slo.kinds import has_counts as has_counts  # decided in the pure core


def render_template(template: str, window: timedelta) -> str:
    """Substitute `{{.window}}` (spaces allowed) with a Prometheus duration."""
    return promql_template.render(template, format_duration(window))


def _increase(selector: Selector, window: timedelta) -> str:
    return f"sum(increase({selector.promql()}[{format_duration(window)}]))"


def _native_sum(sli: NativeLatencySLI, window: timedelta) -> str:
    return f"sum(increase({sli.selector.promql()}[{format_duration(window)}]))"


def _calls(sli: QuerySLI) -> list[frozenset[str]]:
    """The functions each template calls, read from its syntax tree."""
    return [promql_template.calls(t) for t in (sli.total, sli.good, sli.bad) if t is not None]


def _is_rate_based(sli: QuerySLI) -> bool:
    return all("rate" in f and "increase" not in f for f in _calls(sli))


def counts_are_events(sli: SLI) -> bool:
    """Whether errors/requests are numbers of events (so a minimum request count applies).

    False for raw ratios and for templates that are neither `rate()` nor `increase()` (e.g. a
    sum of recorded rates): their counts are in the template's own units.
    """
    match sli:
        case RawSLI():
            return False
        case QuerySLI():
            return _is_rate_based(sli) or all("increase" in f for f in _calls(sli))
        case RatioSLI() | LatencySLI() | NativeLatencySLI():
            return True
        case _:
            assert_never(sli)


def _query(template: str, sli: QuerySLI, window: timedelta) -> str:
    expr = f"sum({render_template(template, window)})"
    if _is_rate_based(sli):
        return f"({expr} * {int(window.total_seconds())})"
    return expr


def atom(expr: str) -> str:
    """`expr` safe to use as an operand: parenthesised unless it already is one term."""
    expr = expr.strip()
    return expr if promql_expr.is_operand(expr) else f"({expr})"


def requests_increase(sli: SLI, window: timedelta) -> str:
    """Requests (events) in `window`, one series without labels; raise ValueError for raw SLIs."""
    match sli:
        case RatioSLI():
            return _increase(sli.total, window)
        case LatencySLI():
            return _increase(sli.count, window)
        case NativeLatencySLI():
            return f"histogram_count({_native_sum(sli, window)})"
        case QuerySLI():
            return _query(sli.total, sli, window)
        case RawSLI():
            raise ValueError("a raw error-ratio SLI has no request count")
        case _:
            assert_never(sli)


def errors_increase(sli: SLI, window: timedelta, zero: str = "vector(0)") -> str:
    """Bad events in `window`, one series without labels; raise ValueError for raw SLIs.

    `zero` is what a bad counter without series counts as (`vector(0)`: zero errors); the
    rule generator passes `on() (<the requests recording> * 0)` so that the errors exist
    exactly when the requests do (`rules_sli`)."""
    match sli:
        case RatioSLI():
            if sli.bad is not None:
                return " + ".join(f"({_increase(s, window)} or {zero})" for s in sli.bad_selectors)
            if sli.good is None:
                raise ValueError("a ratio SLI needs `good` or `bad`")
            good = f"({_increase(sli.good, window)} or vector(0))"
            return f"clamp_min({_increase(sli.total, window)} - {good}, 0)"
        case LatencySLI():
            fast = _increase(sli.bucket.with_matchers(le_matcher(sli.threshold)), window)
            return f"clamp_min({_increase(sli.count, window)} - {fast}, 0)"
        case NativeLatencySLI():
            hist = _native_sum(sli, window)
            fraction = f"histogram_fraction(0, {sli.threshold!r}, {hist})"
            slow = f"histogram_count({hist}) * (1 - {fraction})"
            return f"({slow} >= 0 or histogram_count({hist}) * 0)"
        case QuerySLI():
            if sli.bad is not None:
                return f"({_query(sli.bad, sli, window)} or vector(0))"
            if sli.good is None:
                raise ValueError("a query SLI needs `good` or `bad`")
            good = f"({_query(sli.good, sli, window)} or vector(0))"
            return f"clamp_min({_query(sli.total, sli, window)} - {good}, 0)"
        case RawSLI():
            raise ValueError("a raw error-ratio SLI has no error count")
        case _:
            assert_never(sli)


def guarded_ratio(errors: str, requests: str) -> str:
    """`errors / requests` that is NaN without traffic, never +Inf, never above 1.

    `x / 0` would be +Inf (and page) when an error counter moved but the request counter did
    not; clamping errors to requests first turns that into 0/0 = NaN, which compares false.
    No errors series (a bucket that does not exist) gives no result, not 100 %.
    """
    errors, requests = atom(errors), atom(requests)
    return f"({errors} <= {requests} or ({requests} and {errors})) / {requests}"


def error_ratio(sli: SLI, window: timedelta) -> str:
    """Error ratio (0..1) over `window`; NaN without traffic, no result without series."""
    match sli:
        case RawSLI():
            return f"({render_template(sli.error_ratio, window)})"
        case RatioSLI() | LatencySLI() | NativeLatencySLI() | QuerySLI():
            return guarded_ratio(errors_increase(sli, window), requests_increase(sli, window))
        case _:
            assert_never(sli)
