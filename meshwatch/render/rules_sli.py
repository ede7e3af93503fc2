"""Recording rules of one SLO: counts and error ratios per window, and the generic series.

Shapes (`W` a window, `S` the SLO's `meshwatch_service`/`meshwatch_slo` matchers):

    meshwatch:sli_requests:increase5m     sum(increase(total[5m]))            raw counters
    meshwatch:sli_errors:increase5m       sum(increase(bad[5m])) or vector(0)
        (errors within requests: `or on() (requests_5m{S} * 0)`, see below)
    meshwatch:sli_{errors,requests}:increaseW     (W > 5m, see `rules_chain`)
        x:increaseV{S} + on() (x:increaseV{S} offset V or on() vector(0)) + ...
    meshwatch:sli_error:ratio_rateW       errors_W / requests_W (NaN without traffic, <= 1):
        clamp_max(errors_W / requests_W, 1)                          errors within requests
        clamp_max(errors_W / requests_W, 1) * (requests_W / requests_W)    otherwise
    meshwatch:slo_objective:ratio         vector(0.999)
    meshwatch:slo_period_error:ratio      errors_period / requests_period
    meshwatch:slo_error_budget_remaining:ratio   1 - period_error / (1 - objective)

All of them are in one group, in this order, so each rule reads the ones before it at the same
evaluation instant: every window and the period end at the latest evaluation (nothing lags),
and each sums the same requests' errors over the same requests (request-weighted). The outer
`on()` ignores labels, so changing an SLO's labels does not split its history (Sloth #311).

Errors within requests (`slo.kinds.errors_within_requests`: latency, native histograms, the
good form, a bad counter that narrows the total one) can never outnumber the requests in a
5m recording. The errors are recorded exactly when the requests are (a bad counter without
series is zero only while the requests exist; `vector(0)` alone would record errors while
the requests are missing, and a later window summed from that older term would count them
without their requests), so every window and the period keep errors <= requests, and the
ratio needs no guard against errors without requests: two series reads instead of four
(the `rule_eval` benchmark: 13.4 -> 12.3 s of Prometheus CPU per cycle for 1,000 SLOs).

Raw error-ratio SLIs have no counts: their windows run the template, and the period ratio is
the time-weighted average of the 5m ratio over the period (the only choice without counts).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from meshwatch import conventions as c
from meshwatch.model import SLI, SLO, Backend
from meshwatch.render.rules_calendar import calendar_rules
from meshwatch.render.rules_chain import Term, chained_windows
from meshwatch.render.rules_common import (
    BASE,
    RecordingRule,
    dur,
    num,
    ratio_windows,
    record,
    recorded_ratio,
    ref,
    series_labels,
)
from meshwatch.sli import (
    error_ratio,
    errors_increase,
    has_counts,
    requests_increase,
)
from meshwatch.slo.kinds import errors_within_requests


def _chained(name: Callable[[str], str], slo: SLO, terms: tuple[Term, ...]) -> str:
    """`newest + on() (older offset o or on() vector(0)) + ...`: a missing older term is 0.

    `on()` matches the terms whatever their labels (an SLO whose spec labels changed keeps
    its history, Sloth #311) without the `sum()` per term that an aggregation would cost
    Prometheus at every evaluation; the result has no labels, the rule sets them.
    """
    parts = []
    for term in terms:
        selector = ref(name(dur(term.window)), slo)
        if term.offset:
            parts.append(f"({selector} offset {dur(term.offset)} or on() vector(0))")
        else:
            parts.append(selector)
    return " + on() ".join(parts)


def _counts(
    slo: SLO, window: timedelta, terms: tuple[Term, ...] | None, labels: dict[str, str]
) -> list[RecordingRule]:
    w = dur(window)
    if terms is None:
        requests = requests_increase(slo.sli, window)
        # errors within requests: a bad counter without series is 0 only while the
        # requests exist, so the errors are recorded exactly when the requests are, and
        # every window summed from them keeps errors <= requests (`recorded_ratio`)
        zero = "vector(0)"
        if errors_within_requests(slo.sli):
            zero = f"on() ({ref(c.rule_requests_increase(w), slo)} * 0)"
        errors = errors_increase(slo.sli, window, zero)
    else:
        requests = _chained(c.rule_requests_increase, slo, terms)
        errors = _chained(c.rule_errors_increase, slo, terms)
    return [
        record(c.rule_requests_increase(w), requests, labels),
        record(c.rule_errors_increase(w), errors, labels),
    ]


def _ratio_of(slo: SLO, suffix: str) -> str:
    """The error ratio of the SLO's recorded counts `increase<suffix>`."""
    return recorded_ratio(
        ref(c.rule_errors_increase(suffix), slo),
        ref(c.rule_requests_increase(suffix), slo),
        within=errors_within_requests(slo.sli),
    )


def _ratio(slo: SLO, window: timedelta, labels: dict[str, str]) -> RecordingRule:
    w = dur(window)
    expr = _ratio_of(slo, w) if has_counts(slo.sli) else error_ratio(slo.sli, window)
    return record(c.rule_error_ratio(w), expr, labels)


def _period_rules(slo: SLO, labels: dict[str, str]) -> list[RecordingRule]:
    period = slo.window.length
    rules: list[RecordingRule] = []
    if has_counts(slo.sli):
        calendar = slo.window.unit is not None
        rules = calendar_rules(slo, labels) if calendar else []
        ratio = _ratio_of(slo, c.PERIOD_SUFFIX if calendar else dur(period))
    else:
        five = ref(c.rule_error_ratio(dur(BASE)), slo)
        ratio = f"avg(avg_over_time({five}[{dur(period)}]))"
    remaining = f"1 - {ref(c.RULE_PERIOD_ERROR, slo)} / {num(slo.error_budget)}"
    return [
        *rules,
        record(c.RULE_PERIOD_ERROR, ratio, labels),
        record(c.RULE_BUDGET_REMAINING, remaining, labels),
    ]


def sli_rules(slo: SLO) -> list[RecordingRule]:
    """Every window's counts and ratio (shortest first), the objective, the period ratio and
    the budget left - one group, so that each rule reads fresh results of the ones before."""
    labels = series_labels(slo)
    ratios = set(ratio_windows(slo))
    # a calendar period is accumulated (`rules_calendar`), not a rolling window
    rolling = {slo.window.length} if slo.window.unit is None or not has_counts(slo.sli) else set()
    windows = tuple(sorted({*ratios, *rolling}))
    plans = chained_windows(windows) if has_counts(slo.sli) else {}
    rules: list[RecordingRule] = []
    for window in windows:
        if has_counts(slo.sli):
            rules.extend(_counts(slo, window, plans[window], labels))
        if window in ratios:
            rules.append(_ratio(slo, window, labels))
    rules.append(record(c.RULE_OBJECTIVE, f"vector({num(slo.target)})", labels))
    if slo.timeslices is None:  # in slices, the period's series come from `rules_slices`
        rules.extend(_period_rules(slo, labels))
    return rules


def _backend_rules(slo: SLO, backend: Backend, window: timedelta) -> list[RecordingRule]:
    labels = dict(sorted({**series_labels(slo), c.LABEL_BACKEND: backend.name}.items()))
    w = dur(window)
    sli: SLI = backend.sli
    if not has_counts(sli):
        return [record(c.rule_backend_error_ratio(w), error_ratio(sli, window), labels)]
    requests = c.rule_backend_requests_increase(w)
    errors = c.rule_backend_errors_increase(w)
    ratio = recorded_ratio(
        ref(errors, slo, backend.name),
        ref(requests, slo, backend.name),
        within=errors_within_requests(sli),  # both read the raw counters over one window
    )
    return [
        record(requests, requests_increase(sli, window), labels),
        record(errors, errors_increase(sli, window), labels),
        record(c.rule_backend_error_ratio(w), ratio, labels),
    ]


def backend_rules(slo: SLO) -> list[RecordingRule]:
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
