"""What the evaluation engine needs from any metrics source (Prometheus or the scraper).

One small Protocol, two methods, both keyed by window so a collector can answer every window
of an SLO in one round trip (Prometheus: one query per SLO set; scraper: one pass over its
in-process history). Windows end at `now` (UTC-aware) and are `timedelta`.

Per-window failures are values, not exceptions, so one bad window (or one SLI kind the
source cannot compute) never hides the others:

* `NoDataError("no series")`   the selector matches no series at all;
* `NoDataError("no traffic")`  series exist but no event happened in the window;
* `CollectorError(...)`        the source cannot compute this SLI (the scraper answers
                               `CollectorError("needs Prometheus")` for QuerySLI/RawSLI)
                               or failed for this SLI.

A collector raises `CollectorError` only when the whole source is unusable (Prometheus down).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from meshwatch.errors import CollectorError
from meshwatch.model import SLI, Counts, LatencySLI

NEEDS_PROMETHEUS = "needs Prometheus"
NO_SERIES = "no series"
NO_TRAFFIC = "no traffic"

WindowCounts = Mapping[timedelta, Counts | CollectorError]
"""Counts of one SLI per window, or why that window is unknown."""

BucketCounts = Mapping[float, float]
"""Increase of a classic histogram's cumulative buckets over a window: upper bound (`le`,
`math.inf` for `+Inf`) -> events at or under it. Input to `histogram_quantile`."""

WindowBuckets = Mapping[timedelta, BucketCounts | CollectorError]


class SLICollector(Protocol):
    """A metrics source the engine can evaluate SLIs against."""

    def counts(self, sli: SLI, windows: Sequence[timedelta], now: datetime) -> WindowCounts:
        """Errors and total events of `sli` over each window ending at `now`.

        RatioSLI: total = increase(total); errors = increase(bad), or total - increase(good).
        LatencySLI: total = increase(_count); errors = total - increase(_bucket{le=threshold}).
        Every window in `windows` is a key of the result.
        """
        ...

    def buckets(
        self, sli: LatencySLI, windows: Sequence[timedelta], now: datetime
    ) -> WindowBuckets:
        """Per-window increase of every bucket of `sli`'s histogram, summed over matching series."""
        ...
