"""Classic (bucketed) histograms: quantiles and latency-SLI counts, as Prometheus computes them.

Buckets are `(le, cumulative count)` pairs, in any order, as `increase()` or a scrape gives
them; the `+Inf` bucket holds every observation. Used by the embedded scrape engine so that it
reports the same numbers as `histogram_quantile` in Prometheus (2.42 semantics).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from operator import itemgetter

from meshwatch.model import Counts

Bucket = tuple[float, float]  # (upper bound `le`, cumulative count)


def _normalise(buckets: Sequence[Bucket]) -> tuple[list[float], list[float]]:
    """Sort by bound, merge equal bounds (`1` and `1.0`), and force cumulative counts up:
    the bounds, and the counts they hold."""
    bounds: list[float] = []
    counts: list[float] = []
    for bound, count in sorted(buckets, key=itemgetter(0)):
        if bounds and bounds[-1] == bound:
            counts[-1] += count
        else:
            bounds.append(bound)
            counts.append(count)
    highest = counts[0] if counts else 0.0
    for i in range(1, len(counts)):  # the envelope: a lower bucket never holds more
        highest = max(highest, counts[i])
        counts[i] = highest
    return bounds, counts


def histogram_quantile(q: float, buckets: Sequence[Bucket]) -> float | None:
    """The `q`-quantile (0..1), interpolated linearly within its bucket, like PromQL's.

    Same rules as Prometheus: the lowest bucket starts at 0 unless its bound is <= 0 (then
    that bound is returned); a quantile in the `+Inf` bucket returns the highest finite bound;
    buckets are sorted, equal bounds merged and counts made monotonic first.

    Returns None where Prometheus returns NaN: no observations, no finite bucket, or a
    quantile that falls on an empty lowest bucket. Raises ValueError for `q` outside [0, 1]
    (Prometheus returns +-Inf) or without a `+Inf` bucket (NaN in Prometheus, but that is a
    malformed histogram, not missing data).
    """
    return histogram_quantiles((q,), buckets)[0]


def histogram_quantiles(qs: Sequence[float], buckets: Sequence[Bucket]) -> list[float | None]:
    """`histogram_quantile` of each of `qs` on the same buckets, normalised once."""
    for q in qs:
        if math.isnan(q) or not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile must be between 0 and 1, got {q!r}")
    if not buckets or max(buckets, key=itemgetter(0))[0] != math.inf:
        raise ValueError("histogram has no +Inf bucket")
    bounds, counts = _normalise(buckets)
    return [_quantile(q, bounds, counts) for q in qs]


def _quantile(q: float, bounds: list[float], counts: list[float]) -> float | None:
    last = len(counts) - 1
    if last < 1:
        return None
    observations = counts[last]
    if observations == 0:
        return None
    rank = q * observations
    # the first bucket (the +Inf bucket excluded) whose cumulative count reaches the rank:
    # the counts never go down, so a binary search finds it (as Prometheus's does); a NaN
    # rank (NaN or infinite counts) reaches none, as there
    index = last if rank != rank else bisect_left(counts, rank, 0, last)
    if index == last:
        return bounds[last - 1]
    if index == 0 and bounds[0] <= 0:
        return bounds[0]
    start, end, count = 0.0, bounds[index], counts[index]
    if index > 0:
        start = bounds[index - 1]
        count -= counts[index - 1]
        rank -= counts[index - 1]
    if count == 0:
        return None  # 0/0 in Prometheus: an empty bucket with rank 0
    return start + (end - start) * (rank / count)


def latency_counts(threshold: float, buckets: Sequence[Bucket]) -> Counts:
    """A latency SLI's counts: errors are observations above `threshold`, total is all of them.

    `threshold` must be one of the bucket bounds (interpolating inside a bucket would invent
    data); raise ValueError otherwise, or without a `+Inf` bucket.
    """
    if not buckets or max(b[0] for b in buckets) != math.inf:
        raise ValueError("histogram has no +Inf bucket")
    bounds, counts = _normalise(buckets)
    total = counts[-1]
    for bound, count in zip(bounds, counts, strict=True):
        if bound == threshold:
            return Counts(errors=max(total - count, 0.0), total=total)
    shown = ", ".join(f"{b:g}" for b in bounds)
    raise ValueError(f"threshold {threshold:g} is not a bucket bound (bounds: {shown})")
