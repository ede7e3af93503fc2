"""What the recording and alert rule builders share: windows, labels, selectors, numbers."""

from __future__ import annotations

import math
from datetime import timedelta

from meshwatch import conventions as c
from meshwatch.model import SLO, BurnRateWindow, Matcher, Selector, format_duration
from meshwatch.render.rule_types import RecordingRule, Rule
from meshwatch.slo.policy import NOISE_FAILURES, alert_windows, condition_windows, failures_factor

__all__ = ["RecordingRule", "Rule"]  # the rule builders' types, re-exported

BASE = c.BASE_INTERVAL


burn_windows = alert_windows  # the enabled conditions; defined once, in slo.policy


def ratio_windows(slo: SLO) -> tuple[timedelta, ...]:
    """Every window an error ratio is recorded for: the base 5m and both windows of each
    condition, shortest first. The SLO period is recorded separately."""
    return tuple(sorted({BASE, *condition_windows(slo)}))


dur = format_duration  # short, for the many rule names built from windows (cached in model)


def num(value: float) -> str:
    """A number for PromQL and YAML: 10 significant digits, so 1 - 0.999 prints as 0.001."""
    return f"{value:.10g}"


def series_labels(slo: SLO) -> dict[str, str]:
    """Labels on every recorded series of the SLO: the spec's labels, then meshwatch's."""
    labels = dict(slo.labels)
    labels[c.LABEL_SERVICE] = slo.service
    labels[c.LABEL_SLO] = slo.name
    return dict(sorted(labels.items()))


def ref(record: str, slo: SLO, backend: str | None = None) -> str:
    """A selector of one of the SLO's recordings, e.g. `meshwatch:x{meshwatch_service="a",...}`."""
    matchers = [
        Matcher(c.LABEL_SERVICE, "=", slo.service),
        Matcher(c.LABEL_SLO, "=", slo.name),
    ]
    if backend is not None:
        matchers.append(Matcher(c.LABEL_BACKEND, "=", backend))
    return Selector(record, tuple(matchers)).promql()


def recorded_ratio(errors: str, requests: str, *, within: bool = False) -> str:
    """`errors / requests` of two recordings of one SLO (one series each, the same labels):
    the values of `sli.guarded_ratio` - NaN without traffic, never +Inf, never above 1, no
    result without an errors series.

    `within`: the errors are counted among the requests (`slo.kinds.errors_within_requests`,
    and the recordings keep it, see `rules_sli`), so there are never errors without
    requests: `clamp_max(errors / requests, 1)`, two series reads (no requests: 0 / 0 = NaN;
    the cap only absorbs a rounding of sums in different orders).

    Otherwise errors can move while the requests do not (separate counters, templates):
    `clamp_max` caps the ratio at 1 (and +Inf, errors without requests, at 1 too);
    `requests / requests` is exactly 1 with traffic and NaN without, so `x * (r / r)` is `x`
    with traffic and NaN without (the +Inf case included, as the guard makes it) - three
    series read four times.
    """
    if within:
        return f"clamp_max({errors} / {requests}, 1)"
    return f"clamp_max({errors} / {requests}, 1) * ({requests} / {requests})"


def record(name: str, expr: str, labels: dict[str, str]) -> RecordingRule:
    return RecordingRule(name, expr, labels)


def min_requests(slo: SLO) -> int | None:
    """The spec's `alerting.min_requests` (a guard on the long window's traffic), or None
    when it is left at 0 and the guard is on failed requests (`min_failures_expr`)."""
    if slo.alerting.min_requests > 0:
        return math.ceil(slo.alerting.min_requests)
    return None


def min_failures_expr(slo: SLO, window: BurnRateWindow, requests_period: str) -> str:
    """PromQL of `policy.min_failures`: `clamp_max(share x budget x period requests, 2)`."""
    factor = failures_factor(window, slo.window.length, slo.target)
    return f"clamp_max({num(factor)} * {requests_period}, {num(NOISE_FAILURES)})"
