"""PromQL of a Timeslices SLO's slices over windows, for the Prometheus engine.

One instant query per SLO, evaluated at the end of the latest complete slice `e` (aligned to
the epoch, as `meshwatch.slo.timeslices.slice_ends`). For each window W of n = W // s slices,
a subquery `[(n - 1) s + 1ms : s]` evaluates the slice's error ratio `E` (`error_ratio` over
the slice) at exactly the n slice ends `e, e - s, ...` - Prometheus aligns subquery steps to
multiples of the step - and three sums come back, told apart by `meshwatch_part`:

    bad      Timeslices: sum_over_time((E > bool (1 - target))[..]) - idle slices are 0;
             RatioTimeslices: sum_over_time((E >= 0)[..]), the summed error ratios
    counted  count_over_time(E[..]) - every slice with series (NaN = idle included);
             RatioTimeslices: only the slices with traffic
    traffic  count_over_time((E >= 0)[..]) - slices that saw a request

It costs n evaluations of `E` per window and part, where the generated `-slices` rules cost
one per slice; the price of measuring the same wall-clock-aligned slices as the embedded
engine and of needing no rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from meshwatch import conventions as c
from meshwatch.model import SLI, Timeslices, format_duration
from meshwatch.sli.promql import error_ratio

PART_LABEL = "meshwatch_part"
PARTS = ("bad", "counted", "traffic")


def subquery_range(slices: int, slice_length: timedelta) -> str:
    """`[(n - 1) s + 1ms : s]` as PromQL: exactly n aligned points ending at the query time."""
    head = (slices - 1) * slice_length
    text = format_duration(head) if head else ""
    return f"{text}1ms:{format_duration(slice_length)}"


def _parts(ratio: str, budgeting: Timeslices, span: str) -> dict[str, str]:
    served = f"count_over_time(({ratio} >= 0)[{span}])"
    if budgeting.ratio:
        return {
            "bad": f"sum_over_time(({ratio} >= 0)[{span}])",
            "counted": served,
            "traffic": served,
        }
    return {
        "bad": f"sum_over_time(({ratio} > bool {budgeting.allowed_error:.10g})[{span}])",
        "counted": f"count_over_time({ratio}[{span}])",
        "traffic": served,
    }


def slices_query(sli: SLI, budgeting: Timeslices, windows: Iterable[timedelta]) -> str:
    """One expression answering every window's parts (windows shorter than a slice are
    left out); labels `meshwatch_part` and `meshwatch_window` (the window in seconds)."""
    ratio = f"({error_ratio(sli, budgeting.slice)})"
    terms = []
    for window in sorted(set(windows)):
        count = window // budgeting.slice
        if count < 1:
            continue
        span = subquery_range(count, budgeting.slice)
        for part, expr in _parts(ratio, budgeting, span).items():
            labelled = f'label_replace(sum({expr}), "{PART_LABEL}", "{part}", "", "")'
            seconds = f"{window.total_seconds():.0f}"
            terms.append(f'label_replace({labelled}, "{c.LABEL_WINDOW}", "{seconds}", "", "")')
    return "\nor\n".join(terms)
