"""Native (exponential) histograms: bucket bounds and the observations under a bound.

A native histogram of schema `s` has buckets `(2^((i-1)/2^s), 2^(i/2^s)]` for integer
indexes `i` (upper bound inclusive), a zero bucket `[-zero_threshold, zero_threshold]`, and
no fixed layout: an exporter sends only the buckets that hold observations. The embedded
engine computes a latency SLI from them the way Prometheus 2.42 does:
`histogram_fraction(0, t, h) * histogram_count(h)`, which interpolates *linearly* inside the
bucket that holds `t` (later Prometheus versions interpolate exponentially; 2.42 does not).

That estimate is a non-negative combination of bucket counts, so it grows with them: computed
on each scrape of the cumulative histogram, its increase between two scrapes equals the
estimate computed on the increase of the histogram, which is what `increase()` gives PromQL.
Nothing here does I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NativeHistogram:
    """One native histogram sample, with absolute (not delta-encoded) bucket counts."""

    schema: int
    count: float
    zero_threshold: float = 0.0
    zero_count: float = 0.0
    positive: tuple[tuple[int, float], ...] = ()  # (bucket index, observations), ascending
    negative: tuple[tuple[int, float], ...] = ()  # (bucket index, observations), ascending


def upper_bound(index: int, schema: int) -> float:
    """The upper bound of positive bucket `index`: `2 ** (index / 2 ** schema)`, computed as
    Prometheus does (a power of two times a fraction), so boundaries such as 0.25 are exact."""
    if schema <= 0:
        exponent = index << -schema
        return math.inf if exponent >= 1024 else math.ldexp(1.0, exponent)
    per_octave = 1 << schema
    octave, step = index >> schema, index & (per_octave - 1)
    if octave >= 1024:
        return math.inf
    return math.ldexp(2.0 ** (step / per_octave), octave)


def bucket_index(value: float, schema: int) -> int:
    """The index of the positive bucket holding `value` (> 0): smallest `i` with
    `upper_bound(i) >= value`."""
    if value <= 0 or math.isnan(value):
        raise ValueError(f"not a positive observation: {value!r}")
    index = math.ceil(math.log2(value) * 2.0**schema)
    while upper_bound(index, schema) < value:  # log2 rounding, one step at most
        index += 1
    while upper_bound(index - 1, schema) >= value:
        index -= 1
    return index


def spans_to_buckets(
    spans: tuple[tuple[int, int], ...], counts: tuple[float, ...]
) -> tuple[tuple[int, float], ...]:
    """`(offset, length)` spans (the first offset absolute, the others gaps after the previous
    span) and one count per bucket -> `(index, count)` pairs. Raises ValueError on a mismatch."""
    if sum(length for _, length in spans) != len(counts):
        raise ValueError(f"spans cover {sum(n for _, n in spans)} buckets, {len(counts)} counts")
    out: list[tuple[int, float]] = []
    index, at = 0, 0
    for number, (offset, length) in enumerate(spans):
        index = offset if number == 0 else index + offset
        for _ in range(length):
            out.append((index, counts[at]))
            index, at = index + 1, at + 1
    return tuple(out)


def deltas_to_counts(deltas: tuple[int, ...]) -> tuple[float, ...]:
    """Integer histograms send each bucket's count as a delta to the previous bucket's."""
    counts, current = [], 0
    for delta in deltas:
        current += delta
        counts.append(float(current))
    return tuple(counts)


def _buckets(h: NativeHistogram) -> Iterator[tuple[float, float, float]]:
    """(lower, upper, count) of every bucket, lowest first: negative, zero, positive."""
    for index, count in reversed(h.negative):
        yield -upper_bound(index, h.schema), -upper_bound(index - 1, h.schema), count
    if h.zero_count > 0:
        lower, upper = -h.zero_threshold, h.zero_threshold
        if not h.negative and h.positive:
            lower = 0.0  # only positive buckets: the zero bucket starts at 0
        elif h.negative and not h.positive:
            upper = 0.0
        yield lower, upper, h.zero_count
    for index, count in h.positive:
        yield upper_bound(index - 1, h.schema), upper_bound(index, h.schema), count


def _rank(h: NativeHistogram, bound: float) -> float:
    """Observations below `bound`, interpolating linearly inside the bucket holding it."""
    rank = 0.0
    for lower, upper, count in _buckets(h):
        if lower >= bound:
            return min(rank, h.count)
        if lower < bound < upper:
            return min(rank + count * (bound - lower) / (upper - lower), h.count)
        rank += count
    return h.count


def observations_between(h: NativeHistogram, lower: float, upper: float) -> float:
    """`histogram_fraction(lower, upper, h) * histogram_count(h)` of Prometheus 2.42.

    0 when `lower >= upper`; NaN when the histogram is empty (no traffic, as in PromQL).
    """
    if h.count == 0 or math.isnan(lower) or math.isnan(upper):
        return math.nan
    if lower >= upper:
        return 0.0
    return max(_rank(h, upper) - _rank(h, lower), 0.0)


def containing_bucket(threshold: float, schema: int) -> tuple[float, float]:
    """(lower, upper) of the positive bucket holding `threshold`: the observations the SLI
    can misclassify lie in it, so a good request took at most `upper` and a bad one at least
    `lower`; `upper / lower` is `2 ** (2 ** -schema)` (1.09 for schema 3)."""
    index = bucket_index(threshold, schema)
    return upper_bound(index - 1, schema), upper_bound(index, schema)


def native_quantile(q: float, h: NativeHistogram) -> float | None:
    """`histogram_quantile(q, h)` of Prometheus 2.42 on a native histogram; None when empty.

    The bucket where the running count first reaches `q x count` holds the quantile, which is
    interpolated *linearly* between its bounds (2.42; later versions interpolate
    exponentially). A zero bucket of a histogram with only positive buckets starts at 0. If
    the buckets never reach the rank (observations of NaN), the highest upper bound is given.
    Raises ValueError for `q` outside [0, 1].
    """
    if not 0.0 <= q <= 1.0 or math.isnan(q):
        raise ValueError(f"quantile must be between 0 and 1, got {q!r}")
    if h.count <= 0:
        return None
    rank, seen = q * h.count, 0.0
    bucket: tuple[float, float, float] | None = None
    for bucket in _buckets(h):
        seen += bucket[2]
        if seen >= rank:
            break
    if bucket is None:
        return None
    lower, upper, count = bucket
    seen = min(seen, h.count)
    if seen < rank or count <= 0:
        return upper
    return lower + (upper - lower) * ((rank - (seen - count)) / count)


def reduce_index(index: int, by: int) -> int:
    """The index of the bucket holding positive bucket `index` once the schema is lowered by
    `by` (each bucket merges with its `2 ** by - 1` neighbours), as Prometheus merges them."""
    return ((index - 1) >> by) + 1
