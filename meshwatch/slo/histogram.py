"""Classic (bucketed) histograms: quantiles and latency-SLI counts, as Prometheus computes them.

Buckets are `(le, cumulative count)` pairs, in any order, as `increase()` or a scrape gives
them; the `+Inf` bucket holds every observation. Used by the embedded scrape engine so that it
reports the same numbers as `histogram_quantile` in Prometheus (2.42 semantics).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from meshwatch.model import Counts

Bucket = tuple[float, float]  # (upper bound `le`, cumulative count)


def _normalise(buckets: Sequence[Bucket]) -> list[list[float]]:
    """Sort by bound, merge equal bounds (`1` and `1.0`), and force cumulative counts up."""
    ordered = sorted(buckets, key=lambda b: b[0])
    merged: list[list[float]] = []
    for bound, count in ordered:
        if merged and merged[-1][0] == bound:
            merged[-1][1] += count
        else:
            merged.append([bound, count])
    highest = merged[0][1] if merged else 0.0
    for item in merged[1:]:  # the envelope: a lower bucket can never hold more than a higher
        highest = max(highest, item[1])
        item[1] = highest
    return merged


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
    if not buckets or max(b[0] for b in buckets) != math.inf:
        raise ValueError("histogram has no +Inf bucket")
    merged = _normalise(buckets)
    return [_quantile(q, merged) for q in qs]


def _quantile(q: float, merged: list[list[float]]) -> float | None:
    if len(merged) < 2:
        return None
    observations = merged[-1][1]
    if observations == 0:
        return None
    rank = q * observations
    # first bucket (the +Inf bucket excluded) whose cumulative count reaches the rank
    index = next((i for i, b in enumerate(merged[:-1]) if b[1] >= rank), len(merged) - 1)
    if index == len(merged) - 1:
        return merged[-2][0]
    if index == 0 and merged[0][0] <= 0:
        return merged[0][0]
    start, end, count = 0.0, merged[index][0], merged[index][1]
    if index > 0:
        start = merged[index - 1][0]
        count -= merged[index - 1][1]
        rank -= merged[index - 1][1]
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
    merged = _normalise(buckets)
    total = merged[-1][1]
    for bound, count in merged:
        if bound == threshold:
            return Counts(errors=max(total - count, 0.0), total=total)
    bounds = ", ".join(f"{b[0]:g}" for b in merged)
    raise ValueError(f"threshold {threshold:g} is not a bucket bound (bounds: {bounds})")
