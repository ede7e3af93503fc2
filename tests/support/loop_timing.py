"""How soon a remediation loop must act, from its policy, its traffic and its own cycle.

A loop test used to allow a fixed 5 s from breach to shift. What the loop can do is set by
its windows, by the traffic that fills them and by how often it evaluates. The loop shifts
a backend once its burn rate over BOTH short windows is at least `factor`; the test's
traffic generator has every request's time, backend and outcome, so it can find the first
instant `t*` at which that holds in its own record. The loop's windows are differences of
samples taken at its evaluations, so a window may be up to one cycle longer than nominal
(a longer window holds more of the healthy past, so `t*` is computed with windows one cycle
longer). Then the next evaluation starts within one cycle of `t*` and has applied the shift
(the actuator confirms before it returns) by the end of that cycle. A cycle is the longest
measured time between two evaluations' starts, so a loaded machine widens the bound by what
it really cost, and no rate is assumed steady.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence

from meshwatch.model import RemediationPolicy


def burning_at(
    calls: Sequence[tuple[float, str, bool]],
    backend: str,
    policy: RemediationPolicy,
    error_budget: float,
    since: float,
    slack_s: float = 0.0,
) -> float | None:
    """The first time after `since` at which `backend`'s failed share of its `calls` (time,
    backend, failed) reaches `factor x error_budget` over every short window lengthened by
    `slack_s`, with at least `min_requests` in each; None if it never does."""
    mine = sorted((t, failed) for t, b, failed in calls if b == backend)
    times = [t for t, _ in mine]
    failed = [0, *itertools.accumulate(int(f) for _, f in mine)]
    windows = [w.total_seconds() + slack_s for w in policy.short_windows]
    threshold = policy.factor * error_budget
    for i in range(bisect.bisect_right(times, since), len(times)):
        end = times[i]
        burning = True
        for w in windows:
            first = bisect.bisect_left(times, end - w)
            n = i + 1 - first
            bad = failed[i + 1] - failed[first]
            burning = burning and n >= policy.min_requests and bad >= threshold * n
        if burning:
            return end
    return None


def longest_cycle(starts: Sequence[float]) -> float:
    """The longest time between two consecutive evaluations' starts (seconds)."""
    return max((b - a for a, b in itertools.pairwise(starts)), default=0.0)


def shift_within(
    calls: Sequence[tuple[float, str, bool]],
    backend: str,
    policy: RemediationPolicy,
    error_budget: float,
    broke: float,
    starts: Sequence[float],
) -> float:
    """Seconds from `broke` by which a loop evaluating at `starts` must have shifted."""
    cycle = longest_cycle(starts)
    burning = burning_at(calls, backend, policy, error_budget, broke, cycle)
    assert burning is not None, f"{backend} never burned in the generator's own record"
    return burning - broke + 2 * cycle
