"""Recording rules of a Timeslices / RatioTimeslices SLO (`meshwatch.slo.timeslices`).

They live in the SLO's own group `<svc>-<slo>-slices` whose `interval` is the slice, so each
evaluation writes exactly one sample per slice and the samples of a series partition time
into consecutive slices (`S` the SLO's matchers, `s` the slice, `W` a window):

    meshwatch:slice_error:ratio<s>     error ratio over the slice (NaN when idle)
    meshwatch:slice_traffic:bool<s>    1 when the slice had requests, else 0 (Timeslices)
    meshwatch:slice_bad:ratio<s>       Timeslices: error ratio > bool (1 - slice target),
                                       an idle slice is 0 (NaN > bool x is 0: not bad);
                                       RatioTimeslices: the error ratio, idle slices dropped
    meshwatch:slice_bad:shareW         avg_over_time(slice_bad[W - 1ms]): the bad share of the
                                       W / s latest slices; absent when none had traffic
    meshwatch:slo_period_error:ratio   the bad share over the period (generic series)
    meshwatch:slo_error_budget_remaining:ratio   1 - that / (1 - objective)

The range is `W - 1ms` because the samples sit exactly one slice apart: `[W]` would hold
W / s + 1 of them (both ends are inclusive in Prometheus 2.x), `[W - 1ms]` holds W / s. The
slices start at the group's evaluation phase (Prometheus gives each group a fixed offset
within its interval), not at wall-clock minutes; both engines align them to the epoch.
"""

from __future__ import annotations

from datetime import timedelta

from meshwatch import conventions as c
from meshwatch.model import SLO
from meshwatch.render.rules_common import (
    RecordingRule,
    dur,
    num,
    ratio_windows,
    record,
    ref,
    series_labels,
)
from meshwatch.sli import error_ratio

_ONE_MS = timedelta(milliseconds=1)


def range_below(window: timedelta) -> str:
    """A PromQL range 1 ms short of `window`: `59m59s999ms` for 1h."""
    whole = window - _ONE_MS
    millis = whole // _ONE_MS
    seconds, ms = divmod(millis, 1000)
    text = dur(timedelta(seconds=seconds)) if seconds else ""
    return f"{text}{ms}ms" if ms else text


def share_windows(slo: SLO) -> tuple[timedelta, ...]:
    """Windows whose bad-slice share is recorded: the burn-rate windows and the period."""
    return tuple(sorted({*ratio_windows(slo), slo.window.length}))


def slice_rules(slo: SLO) -> list[RecordingRule]:
    """The `-slices` group's rules; empty unless the SLO budgets in slices."""
    budgeting = slo.timeslices
    if budgeting is None:
        return []
    labels = series_labels(slo)
    s = dur(budgeting.slice)
    ratio = ref(c.rule_slice_error_ratio(s), slo)
    rules = [record(c.rule_slice_error_ratio(s), error_ratio(slo.sli, budgeting.slice), labels)]
    if budgeting.ratio:
        rules.append(record(c.rule_slice_bad(s), f"{ratio} >= 0", labels))
    else:
        rules.append(record(c.rule_slice_traffic(s), f"{ratio} >= bool 0", labels))
        rules.append(
            record(c.rule_slice_bad(s), f"{ratio} > bool {num(budgeting.allowed_error)}", labels)
        )
    bad = ref(c.rule_slice_bad(s), slo)
    traffic = ref(c.rule_slice_traffic(s), slo)
    for window in share_windows(slo):
        span = range_below(window)
        expr = f"avg_over_time({bad}[{span}])"
        if not budgeting.ratio:
            expr = f"{expr}\nand\nmax_over_time({traffic}[{span}]) > 0"
        rules.append(record(c.rule_slice_bad_share(dur(window)), expr, labels))
    period = ref(c.rule_slice_bad_share(dur(slo.window.length)), slo)
    rules.append(record(c.RULE_PERIOD_ERROR, period, labels))
    remaining = f"1 - {ref(c.RULE_PERIOD_ERROR, slo)} / {num(slo.error_budget)}"
    rules.append(record(c.RULE_BUDGET_REMAINING, remaining, labels))
    return rules
