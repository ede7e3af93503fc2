"""Latency percentiles of a native histogram in the embedded engine, from its bucket counters.

The protobuf decoder turns every bucket of a followed native histogram into one synthetic
counter (`native_bucket_name`), keyed by `NATIVE_BUCKET` = schema, sign and index (or `z`
and the zero threshold). The store takes their increases like any counter's (a reset counts
the new value), so over a window they are the buckets of the histogram's increase: what
`rate(h[w])` gives PromQL, up to `rate`'s extrapolation, which scales every bucket alike and
so leaves quantiles unchanged. Summing over series (`sum(rate(...))`) is the sum of the keys.

Buckets of several schemas in one window (a target lowered its resolution) are merged into
the lowest one, as Prometheus merges histograms of different schemas. Nothing here does I/O
but the store's read.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from meshwatch.collectors.exposition_proto import NATIVE_BUCKET, native_bucket_name
from meshwatch.errors import CollectorError, NoTrafficError
from meshwatch.model import NativeLatencySLI, Selector
from meshwatch.slo.native_histogram import NativeHistogram, native_quantile, reduce_index

_KEY = re.compile(r"(-?\d+)([+-])(-?\d+)")


class BucketIncreases(Protocol):
    def increase_by(
        self, selector: Selector, label: str | None, window: timedelta, now: datetime
    ) -> dict[str, float]: ...


def bucket_selector(sli: NativeLatencySLI) -> Selector:
    """The synthetic bucket counters of `sli`'s histogram, tracked by `NATIVE_BUCKET`."""
    return Selector(native_bucket_name(sli.histogram), sli.matchers)


def histogram_of(increases: Mapping[str, float]) -> NativeHistogram:
    """The native histogram whose buckets are `increases` (by `NATIVE_BUCKET` key).

    Raises ValueError on a key the decoder does not write."""
    zero_count, zero_threshold = 0.0, 0.0
    signed: list[tuple[int, str, int, float]] = []
    for key, count in increases.items():
        if key.startswith("z"):
            zero_count += count
            zero_threshold = max(zero_threshold, float(key[1:]))
            continue
        found = _KEY.fullmatch(key)
        if found is None:
            raise ValueError(f"not a native bucket key: {key!r}")
        signed.append((int(found[1]), found[2], int(found[3]), count))
    schema = min((s for s, _, _, _ in signed), default=0)
    merged: dict[str, defaultdict[int, float]] = {"+": defaultdict(float), "-": defaultdict(float)}
    for own, sign, index, count in signed:
        merged[sign][reduce_index(index, own - schema)] += count
    positive = tuple(sorted((i, n) for i, n in merged["+"].items() if n > 0))
    negative = tuple(sorted((i, n) for i, n in merged["-"].items() if n > 0))
    total = zero_count + sum(n for _, n in positive) + sum(n for _, n in negative)
    return NativeHistogram(schema, total, zero_threshold, zero_count, positive, negative)


def native_quantiles(
    store: BucketIncreases,
    sli: NativeLatencySLI,
    quantiles: Sequence[float],
    window: timedelta,
    now: datetime,
) -> dict[float, float | CollectorError]:
    """Each quantile of `sli`'s histogram over `window` ending at `now`, or why it is unknown
    (no series, or no request in the window: `NoDataError`s from the store)."""
    try:
        increases = store.increase_by(bucket_selector(sli), NATIVE_BUCKET, window, now)
    except CollectorError as error:
        return dict.fromkeys(quantiles, error)
    histogram = histogram_of(increases)
    out: dict[float, float | CollectorError] = {}
    for q in quantiles:
        value = native_quantile(q, histogram)
        out[q] = NoTrafficError() if value is None else value
    return out
