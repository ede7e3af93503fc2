"""An independent model of what the generated rules must compute, minute by minute.

Synthetic traffic is a list of per-minute request and error counts. The oracle computes the
windows the way the rules are documented to (raw increases up to 6h, non-overlapping 5m
tiles beyond), the burn rates, and which alerts fire, so promtool can be asked about every
minute of a scenario and must agree exactly. The scenarios then assert the oracle's timings
against the SRE Workbook's numbers in plain Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

MINUTE = 1
TILE = 5
DIRECT_MAX = 60  # minutes (1h)


@dataclass(frozen=True)
class Pair:
    severity: str
    long: int  # minutes
    short: int
    factor: float
    min_requests: int


WORKBOOK_30D = (
    Pair("page", 60, 5, 14.4, 70),
    Pair("page", 360, 30, 6, 167),
    Pair("ticket", 1440, 120, 3, 334),
    Pair("ticket", 4320, 360, 1, 1000),
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
    def __init__(self, traffic: Traffic, budget: float = 0.001, pairs=WORKBOOK_30D) -> None:
        good, bad = traffic.counters()
        self.req = [g + b for g, b in zip(good, bad, strict=True)]
        self.err = bad
        self.budget = budget
        self.pairs = pairs

    def _direct(self, counter: list[int], t: int, w: int) -> int:
        return counter[t] - counter[max(0, t - w)]

    def _tiled(self, counter: list[int], t: int, w: int) -> int:
        return sum(counter[e] - counter[e - TILE] for e in range(TILE, t + 1, TILE) if e > t - w)

    def counts(self, t: int, w: int) -> tuple[int, int]:
        """(errors, requests) in the window of `w` minutes ending at minute `t`."""
        count = self._direct if w <= DIRECT_MAX else self._tiled
        return count(self.err, t, w), count(self.req, t, w)

    def ratio(self, t: int, w: int) -> float:
        errors, requests = self.counts(t, w)
        if requests == 0:
            return math.nan
        return min(errors, requests) / requests

    def burn(self, t: int, w: int) -> float:
        return self.ratio(t, w) / self.budget

    def firing(self, t: int, severity: str) -> float | None:
        """Burn rate reported by the alert of `severity` at minute `t`, or None."""
        for pair in self.pairs:
            if pair.severity != severity:
                continue
            long, short = self.burn(t, pair.long), self.burn(t, pair.short)
            _, requests = self.counts(t, pair.long)
            if long > pair.factor and short > pair.factor and requests >= pair.min_requests:
                return long
        return None

    def first(self, severity: str, start: int, stop: int, firing: bool = True) -> int | None:
        """First minute in [start, stop) at which the alert is (or is not) firing."""
        for t in range(start, stop):
            if (self.firing(t, severity) is not None) == firing:
                return t
        return None
