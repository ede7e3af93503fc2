"""What a real Prometheus sampled for a window, read back from it, so that tolerances are
measured times instead of assumed intervals.

`increase(x[w])` evaluated at `T` takes the samples in `(T - w, T]` and extrapolates their
increase towards the window's edges; a recording rule's value at `at` is the one of its last
evaluation at or before `at`. With a 1 s scrape and a 1 s (or 5 s) rule interval those are
usually one interval off, but on a busy machine a scrape is missed, a rule group runs late
and a scrape is rendered well after the instant it is stamped with. A test reads all three
back from Prometheus (`evaluated_at`, `edges`) and bounds the traffic they can place
differently by the traffic in those measured slivers.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from tests.support.prometheus_run import PrometheusProcess


def _range(seconds: float) -> str:
    return f"{round(seconds * 1000)}ms"  # Prometheus durations take no fractions


def evaluated_at(prom: PrometheusProcess, series: str, at: float) -> float:
    """When the recording rule behind `series` (one series) was last evaluated at or before
    `at` (Unix seconds): the end of the window its value covers."""
    (sample,) = prom.query(f"timestamp({series})", at)
    return float(sample["value"][1])


@dataclass(frozen=True)
class Edges:
    """The unsampled slivers of a window, in seconds, the worst over the selector's series."""

    start: float  # from the window's start to the first sample in it
    end: float  # from the last sample in it to the window's end
    scrape: float  # the longest scrape: a sample is rendered up to this long after its stamp
    interval: float  # the average time between two samples (what increase() extrapolates by)
    gap: float  # the longest time between two samples (a scrape missed on a busy machine)

    def slivers(self, begin: float, stop: float) -> tuple[tuple[float, float], tuple[float, float]]:
        """The two stretches of `[begin, stop)` whose traffic `increase()` estimates rather
        than counts, each widened by the longest scrape."""
        return (
            (begin - self.scrape, begin + self.start + self.scrape),
            (stop - self.end - self.scrape, stop + self.scrape),
        )

    @property
    def unsampled_s(self) -> float:
        """Seconds of traffic `increase()` estimates rather than counts, both edges together
        (against the true count of a series older than the window)."""
        return self.start + self.end + 2 * self.scrape

    @property
    def estimated_s(self) -> float:
        """Seconds of traffic `increase()` may place differently from the samples, both edges
        together. At the start it extrapolates at most 1.1 average intervals (a series born
        inside the window, whose first sample is far from the start, is not extrapolated
        back to it); a gap at the end is real traffic not yet sampled."""
        return min(self.start, 1.1 * self.interval) + self.end + 2 * self.scrape


def edges(prom: PrometheusProcess, selector: str, window: float, at: float, job: str) -> Edges:
    """The slivers of `increase(selector[window])` evaluated at `at` that no sample covers."""
    series = prom.query(f"{selector}[{_range(window)}]", at)
    assert series, f"no samples of {selector} in the {window:g} s before {at:.3f}"
    times = [[float(t) for t, _ in s["values"]] for s in series]
    firsts, lasts = [t[0] for t in times], [t[-1] for t in times]
    intervals = [(t[-1] - t[0]) / max(len(t) - 1, 1) for t in times]
    gaps = [b - a for t in times for a, b in itertools.pairwise(t)]
    durations = prom.query(
        f'max_over_time(scrape_duration_seconds{{job="{job}"}}[{_range(window)}])', at
    )
    scrape = max((float(d["value"][1]) for d in durations), default=0.0)
    start, end = max(firsts) - (at - window), at - min(lasts)
    return Edges(start, end, scrape, max(intervals), max(gaps, default=0.0))
