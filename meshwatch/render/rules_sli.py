"""Recording rules of one SLO: counts and error ratios per window, and the generic series.

Shapes (`W` a window, `S` the SLO's `meshwatch_service`/`meshwatch_slo` matchers):

    meshwatch:sli_requests:increase5m     sum(increase(total[5m]))            raw counters
    meshwatch:sli_errors:increase5m       sum(increase(bad[5m])) or vector(0)
    meshwatch:sli_{errors,requests}:increaseW
        W <= 1h: from the raw counters over W (exact window edges, no lag)
        W >  1h: sum(sum_over_time(meshwatch:sli_..:increase5m{S}[W-1s:5m]))
    meshwatch:sli_error:ratio_rateW       errors_W / requests_W (NaN without traffic, <= 1)
    meshwatch:slo_objective:ratio         vector(0.999)
    meshwatch:slo_period_error:ratio      errors_period / requests_period
    meshwatch:slo_error_budget_remaining:ratio   1 - period_error / (1 - objective)

Long windows sum non-overlapping 5m increases: a subquery with a 5m step reads the 5m
recording at aligned 5m instants, so each request is counted once and the ratio is
request-weighted (sum of errors over sum of requests), not an average of 5m ratios. The range
is `W-1s` because Prometheus 2 ranges include their start: `[30d:5m]` would read 8,641
tiles, one of them before the window. The outer `sum()` drops labels, so changing an SLO's
labels does not split its history into two series (Sloth #311).

Raw error-ratio SLIs have no counts: their windows run the template, and the period ratio is
the time-weighted average of the 5m ratio (documented; the only choice without counts).
"""

from __future__ import annotations

from datetime import timedelta

from meshwatch import conventions as names
from meshwatch.model import SLI, SLO, Backend
from meshwatch.render.rules_common import (
    BASE,
    DIRECT_MAX,
    Rule,
    dur,
    num,
    ratio_windows,
    record,
    ref,
    series_labels,
)
from meshwatch.sli import (
    error_ratio,
    errors_increase,
    guarded_ratio,
    has_counts,
    requests_increase,
)

_SECOND = timedelta(seconds=1)


def _tiled(record_name: str, slo: SLO, window: timedelta) -> str:
    return f"sum(sum_over_time({ref(record_name, slo)}[{dur(window - _SECOND)}:{dur(BASE)}]))"


def _count_windows(slo: SLO) -> tuple[timedelta, ...]:
    return tuple(sorted({*ratio_windows(slo), slo.window.length}))


def _counts(slo: SLO, window: timedelta, labels: dict[str, str]) -> list[Rule]:
    w = dur(window)
    if window <= DIRECT_MAX:
        requests, errors = requests_increase(slo.sli, window), errors_increase(slo.sli, window)
    else:
        base = dur(BASE)
        requests = _tiled(names.rule_requests_increase(base), slo, window)
        errors = _tiled(names.rule_errors_increase(base), slo, window)
    return [
        record(names.rule_requests_increase(w), requests, labels),
        record(names.rule_errors_increase(w), errors, labels),
    ]


def _ratio(slo: SLO, window: timedelta, labels: dict[str, str]) -> Rule:
    w = dur(window)
    if has_counts(slo.sli):
        expr = guarded_ratio(
            ref(names.rule_errors_increase(w), slo), ref(names.rule_requests_increase(w), slo)
        )
    else:
        expr = error_ratio(slo.sli, window)
    return record(names.rule_error_ratio(w), expr, labels)


def _window_rules(slo: SLO, *, long: bool) -> list[Rule]:
    labels = series_labels(slo)
    ratios = set(ratio_windows(slo))
    rules: list[Rule] = []
    for window in _count_windows(slo):
        if (window > DIRECT_MAX) != long:
            continue
        if has_counts(slo.sli):
            rules.extend(_counts(slo, window, labels))
        if window in ratios:
            rules.append(_ratio(slo, window, labels))
    return rules


def sli_rules(slo: SLO) -> list[Rule]:
    """The fast group: 5m counts, windows up to 1h from raw counters, the objective."""
    rules = _window_rules(slo, long=False)
    rules.append(record(names.RULE_OBJECTIVE, f"vector({num(slo.target)})", series_labels(slo)))
    return rules


def long_rules(slo: SLO) -> list[Rule]:
    """The slow group (5m interval): long windows, the period ratio and the budget left."""
    labels = series_labels(slo)
    rules = _window_rules(slo, long=True)
    period = slo.window.length
    if has_counts(slo.sli):
        p = dur(period)
        ratio = guarded_ratio(
            ref(names.rule_errors_increase(p), slo), ref(names.rule_requests_increase(p), slo)
        )
    else:
        five = ref(names.rule_error_ratio(dur(BASE)), slo)
        ratio = f"avg(avg_over_time({five}[{dur(period - _SECOND)}:{dur(BASE)}]))"
    remaining = f"1 - {ref(names.RULE_PERIOD_ERROR, slo)} / {num(slo.error_budget)}"
    rules.append(record(names.RULE_PERIOD_ERROR, ratio, labels))
    rules.append(record(names.RULE_BUDGET_REMAINING, remaining, labels))
    return rules


def _backend_rules(slo: SLO, backend: Backend, window: timedelta) -> list[Rule]:
    labels = dict(sorted({**series_labels(slo), names.LABEL_BACKEND: backend.name}.items()))
    w = dur(window)
    sli: SLI = backend.sli
    if not has_counts(sli):
        return [record(names.rule_backend_error_ratio(w), error_ratio(sli, window), labels)]
    requests = names.rule_backend_requests_increase(w)
    errors = names.rule_backend_errors_increase(w)
    ratio = guarded_ratio(ref(errors, slo, backend.name), ref(requests, slo, backend.name))
    return [
        record(requests, requests_increase(sli, window), labels),
        record(errors, errors_increase(sli, window), labels),
        record(names.rule_backend_error_ratio(w), ratio, labels),
    ]


def backend_rules(slo: SLO) -> list[Rule]:
    """Per-backend short-window counts and ratios for the remediation loop (fast group)."""
    policy = slo.remediation
    if policy is None:
        return []
    windows = sorted(set(policy.short_windows))
    return [
        rule
        for backend in policy.backends
        for window in windows
        for rule in _backend_rules(slo, backend, window)
    ]
