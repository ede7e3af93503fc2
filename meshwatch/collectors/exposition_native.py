"""The synthetic counters the embedded engine follows for native histograms, by name.

A native histogram `h` becomes counters named with a `#` that no metric name can hold:
`native_count_name(h)` (its observations), `native_below_name(h, t)` (observations at or
under `t`, interpolated as Prometheus 2.42's `histogram_fraction`) and, for latency
percentiles, `native_bucket_name(h)`: one counter per bucket, labelled `NATIVE_BUCKET` with
its schema and index (`bucket_key`) or the zero bucket's threshold (`zero_key`). The protobuf
decoder (`exposition_proto`) writes them; the store takes their increases (`native_delta`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

from meshwatch.collectors.exposition import Labels, Sample
from meshwatch.model import NativeLatencySLI, Selector
from meshwatch.slo.native_histogram import NativeHistogram

_NATIVE = "#"


def native_count_name(histogram: str) -> str:
    """The synthetic counter of a native histogram's observations."""
    return f"{histogram}{_NATIVE}count"


def native_below_name(histogram: str, threshold: float) -> str:
    """The synthetic counter of a native histogram's observations at or under `threshold`."""
    return f"{histogram}{_NATIVE}le={threshold!r}"


def native_bucket_name(histogram: str) -> str:
    """The synthetic counters of a native histogram's buckets (one per `NATIVE_BUCKET`)."""
    return f"{histogram}{_NATIVE}bucket"


NATIVE_BUCKET = f"{_NATIVE}bucket"  # a label no exposition can hold: the bucket's key


def bucket_key(schema: int, sign: str, index: int) -> str:
    """`NATIVE_BUCKET` of positive (`+`) or negative (`-`) bucket `index` of `schema`, e.g.
    `3+-15`; the zero bucket is `z` and its threshold (`zero_key`)."""
    return f"{schema}{sign}{index}"


def zero_key(threshold: float) -> str:
    return f"z{threshold!r}"


def native_selectors(sli: NativeLatencySLI) -> tuple[Selector, Selector]:
    """The synthetic counters the store follows for `sli`: (all requests, fast requests)."""
    return (
        Selector(native_count_name(sli.histogram), sli.matchers),
        Selector(native_below_name(sli.histogram, sli.threshold), sli.matchers),
    )


def is_native_name(name: str) -> bool:
    return _NATIVE in name


def native_delta(sample: Sample, previous: float, resets: set[tuple[str, Labels]]) -> float:
    """The increase the store takes for a counter whose value went from `previous` to `sample`.

    A plain counter that fell was reset: its new value is the increase. A native histogram's
    count falls only on a reset (the process restarted); it is noted in `resets`, which the
    caller keeps for one scrape (the count is decoded before the other counters of its
    histogram), and then every bucket counter of that histogram counts its whole new value,
    even one that did not fall. Its fast counter can also fall without a reset, when the target
    lowers the histogram's resolution (fewer, wider buckets; client_golang does past its
    bucket limit) and the bucket holding the threshold widens: then nothing is counted fast
    for that scrape, instead of the whole history (a reset would count it all again).
    """
    fell = sample.value < previous
    delta = sample.value if fell else sample.value - previous
    if _NATIVE not in sample.name:
        return delta
    histogram, what = sample.name.split(_NATIVE, 1)
    if what == "count":
        if fell:
            resets.add((histogram, sample.labels))
        return delta
    if what == "bucket":
        own = tuple(pair for pair in sample.labels if pair[0] != NATIVE_BUCKET)
        return sample.value if (histogram, own) in resets else delta
    if not fell:
        return delta
    return delta if (histogram, sample.labels) in resets else 0.0


def native_wants(wanted: Iterable[str]) -> dict[str, set[float]]:
    """Native histogram name -> thresholds, from the synthetic names in `wanted`."""
    out: dict[str, set[float]] = {}
    for name in wanted:
        if _NATIVE not in name:
            continue
        histogram, what = name.split(_NATIVE, 1)
        thresholds = out.setdefault(histogram, set())
        if what.startswith("le="):
            thresholds.add(float(what[3:]))
        elif what == "bucket":
            thresholds.add(math.nan)  # the buckets themselves are wanted
    return out


def bucket_samples(
    name: str, labels: Labels, histogram: NativeHistogram, ts: float | None
) -> Iterator[Sample]:
    counter, schema = native_bucket_name(name), histogram.schema
    keyed = [(zero_key(histogram.zero_threshold), histogram.zero_count)]
    keyed += [(bucket_key(schema, "+", i), n) for i, n in histogram.positive]
    keyed += [(bucket_key(schema, "-", i), n) for i, n in histogram.negative]
    for key, count in keyed:
        yield Sample(counter, tuple(sorted((*labels, (NATIVE_BUCKET, key)))), count, ts)
