"""An independent model of what the generated rules must compute, minute by minute.

Synthetic traffic is a list of per-minute request and error counts. The oracle is the
exact-window ideal: every window (and the period) is the exact count of requests and errors
in the W minutes before the latest evaluation, however the rules compute it. It evaluates
the alerts on that grid (`step`, the evaluation interval), with the guard on failed requests
(`min_failures`) or, for the no-guard ideal that Sloth's shape follows, without it; promtool
is asked about every minute of a scenario and must agree exactly. The scenarios then assert
the oracle's timings against the SRE Workbook's numbers in plain Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

MINUTE = 1
PERIOD_30D = 30 * 1440
NOISE_FAILURES = 1.5  # "two failed requests", independent of meshwatch.slo.policy


@dataclass(frozen=True)
class Pair:
    severity: str
    long: int  # minutes
    short: int
    factor: float


WORKBOOK_30D = (
    Pair("page", 60, 5, 14.4),
    Pair("page", 360, 30, 6),
    Pair("ticket", 1440, 120, 3),
    Pair("ticket", 4320, 360, 1),
)


@dataclass
class Traffic:
    """Per-minute increments; counters start at 0 at minute 0 (`None` = no sample)."""

    requests: list[int] = field(default_factory=list)
    errors: list[int] = field(default_factory=list)

    def add(self, minutes: int, requests: int, errors: int) -> Traffic:
        self.requests.extend([requests] * minutes)
        self.errors.extend([errors] * minutes)
        return self

    @property
    def minutes(self) -> int:
        return len(self.requests)

    def counters(self) -> tuple[list[int], list[int]]:
        """Cumulative (good, bad) counters, one value per minute 0..minutes."""
        good, bad = [0], [0]
        for req, err in zip(self.requests, self.errors, strict=True):
            good.append(good[-1] + req - err)
            bad.append(bad[-1] + err)
        return good, bad


def series_values(counter: list[int]) -> str:
    """promtool's expanding notation: runs of equal steps become `a+bxn`."""
    items: list[str] = []
    i = 0
    while i < len(counter):
        j = i
        step = counter[i + 1] - counter[i] if i + 1 < len(counter) else 0
        while j + 1 < len(counter) and counter[j + 1] - counter[j] == step:
            j += 1
        items.append(f"{counter[i]}+{step}x{j - i}" if j > i else str(counter[i]))
        i = j + 1
    return " ".join(items)


class Oracle:
    """`guard`: "failures" (meshwatch's default), "none" (the exact-window ideal without a
    guard, which is what Sloth's shape computes) or an int (an explicit `min_requests`)."""

    def __init__(
        self,
        traffic: Traffic,
        budget: float = 0.001,
        pairs: tuple[Pair, ...] = WORKBOOK_30D,
        *,
        step: int = 1,
        period: int = PERIOD_30D,
        guard: str | int = "failures",
        sloth: bool = False,
    ) -> None:
        good, bad = traffic.counters()
        self.req = [g + b for g, b in zip(good, bad, strict=True)]
        self.err = bad
        self.budget = budget
        self.pairs = pairs
        self.step = step
        self.period = period
        self.guard = guard
        self.sloth = sloth  # compare as Sloth's rules do: ratio > factor x (100 - objective) / 100

    def _last(self, counter: list[int], t: int) -> int:
        return counter[min(t, len(counter) - 1)] if t >= 0 else 0

    def counts(self, t: int, w: int) -> tuple[int, int]:
        """(errors, requests) in the `w` minutes before the latest evaluation at or before `t`."""
        t -= t % self.step
        start = max(0, t - w)
        errors = self._last(self.err, t) - self._last(self.err, start)
        return errors, self._last(self.req, t) - self._last(self.req, start)

    def ratio(self, t: int, w: int) -> float:
        errors, requests = self.counts(t, w)
        if requests == 0:
            return math.nan
        return min(errors, requests) / requests

    def burn(self, t: int, w: int) -> float:
        return self.ratio(t, w) / self.budget

    def guard_passes(self, t: int, pair: Pair) -> bool:
        errors, requests = self.counts(t, pair.long)
        if isinstance(self.guard, int):
            return requests >= self.guard
        if self.guard == "none":
            return True
        _, period_requests = self.counts(t, self.period)
        share = pair.factor * pair.long / self.period
        return min(errors, requests) >= min(NOISE_FAILURES, share * self.budget * period_requests)

    def firing(self, t: int, severity: str) -> float | None:
        """Burn rate reported by the alert of `severity` at minute `t`, or None."""
        for pair in self.pairs:
            if pair.severity != severity:
                continue
            long, short = self.burn(t, pair.long), self.burn(t, pair.short)
            if self.sloth:
                limit = pair.factor * self.budget
                above = self.ratio(t, pair.long) > limit and self.ratio(t, pair.short) > limit
            else:
                above = long > pair.factor and short > pair.factor
            if above and self.guard_passes(t, pair):
                return long
        return None

    def first(self, severity: str, start: int, stop: int, firing: bool = True) -> int | None:
        """First minute in [start, stop) at which the alert is (or is not) firing."""
        for t in range(start, stop):
            if (self.firing(t, severity) is not None) == firing:
                return t
        return None

    def spans(self, severity: str, start: int, stop: int) -> list[tuple[int, int]]:
        """The [first, last] minutes of each run of firing in [start, stop): one run per
        incident means no flapping."""
        runs: list[tuple[int, int]] = []
        for t in range(start, stop):
            if self.firing(t, severity) is None:
                continue
            if runs and runs[-1][1] == t - 1:
                runs[-1] = (runs[-1][0], t)
            else:
                runs.append((t, t))
        return runs
