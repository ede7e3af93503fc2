"""histogram_quantile against Prometheus 2.42 itself.

Expected values were produced by `promtool test rules` (Prometheus 2.42.0, Debian) on the same
buckets, evaluating `histogram_quantile(q, x)`; NaN is None here.
"""

from __future__ import annotations

import math

import pytest

from meshwatch.model import Counts
from meshwatch.slo.histogram import Bucket, histogram_quantile, histogram_quantiles, latency_counts

INF = math.inf
H1: list[Bucket] = [(0.1, 10), (0.5, 30), (1, 45), (INF, 50)]
H2: list[Bucket] = [(-1, 5), (0, 10), (1, 20), (INF, 20)]  # bounds at or below zero
H3: list[Bucket] = [(0.1, 10), (0.5, 8), (1, 20), (INF, 20)]  # not monotonic
H7: list[Bucket] = [(0.1, 0), (1, 0), (INF, 10)]  # everything above the highest bound
# Istio-style milliseconds, given out of order
H8: list[Bucket] = [
    (INF, 100), (5, 0), (10, 2), (25, 40), (50, 70), (100, 90), (250, 97), (500, 99), (1000, 100),
]  # fmt: skip
H9: list[Bucket] = [(1, 10), (1.0, 5), (2, 20), (INF, 20)]  # le="1" and le="1.0" merge

PROMETHEUS = {
    # name: (buckets, {q: value from promtool})
    "h1": (H1, {0: 0.0, 0.25: 0.15000000000000002, 0.5: 0.4, 0.9: 1.0, 0.99: 1.0, 1: 1.0}),
    "h2": (H2, {0: -1.0, 0.25: -1.0, 0.5: 0.0, 0.9: 0.8, 0.95: 0.9, 0.99: 0.9800000000000001}),
    "h3": (H3, {0: 0.0, 0.25: 0.05, 0.5: 0.1, 0.9: 0.9, 0.95: 0.95, 0.99: 0.99}),
    "h7": (H7, {0.25: 1.0, 0.5: 1.0, 1: 1.0}),
    "h8": (
        H8,
        {
            0: None,
            0.25: 19.078947368421055,
            0.5: 33.33333333333333,
            0.9: 100.0,
            0.95: 207.14285714285714,
            0.99: 500.0,
            1: 1000.0,
        },
    ),
    "h9": (H9, {0: 0.0, 0.25: 0.3333333333333333, 0.5: 0.6666666666666666, 0.9: 1.6}),
}


@pytest.mark.parametrize(
    ("buckets", "q", "expected"),
    [
        pytest.param(buckets, q, value, id=f"{name}-q{q}")
        for name, (buckets, values) in PROMETHEUS.items()
        for q, value in values.items()
    ],
)
def test_matches_prometheus(buckets: list[Bucket], q: float, expected: float | None) -> None:
    assert histogram_quantile(q, buckets) == expected


@pytest.mark.parametrize(
    "buckets",
    [
        pytest.param([(0.1, 0), (1, 0), (INF, 0)], id="no-observations"),
        pytest.param([(INF, 10)], id="only-the-inf-bucket"),
    ],
)
def test_nan_in_prometheus_is_none(buckets: list[Bucket]) -> None:
    assert histogram_quantile(0.5, buckets) is None


@pytest.mark.parametrize(
    ("q", "buckets", "message"),
    [
        pytest.param(0.5, [(0.1, 3), (1, 10)], "no \\+Inf bucket", id="no-inf-bucket"),
        pytest.param(0.5, [], "no \\+Inf bucket", id="empty"),
        pytest.param(1.5, H1, "between 0 and 1", id="q-above-1"),
        pytest.param(-0.1, H1, "between 0 and 1", id="q-below-0"),
        pytest.param(math.nan, H1, "between 0 and 1", id="q-nan"),
    ],
)
def test_malformed_input_raises(q: float, buckets: list[Bucket], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        histogram_quantile(q, buckets)


def test_latency_counts_from_the_threshold_bucket() -> None:
    assert latency_counts(100, H8) == Counts(errors=10, total=100)
    assert latency_counts(1000, H8) == Counts(errors=0, total=100)
    assert latency_counts(1.0, H9) == Counts(errors=5, total=20)


def test_latency_threshold_must_be_a_bucket_bound() -> None:
    with pytest.raises(ValueError, match="not a bucket bound"):
        latency_counts(200, H8)


@pytest.mark.parametrize("name", sorted(PROMETHEUS))
def test_several_quantiles_at_once_match_one_at_a_time(name: str) -> None:
    """`histogram_quantiles` normalises once (the engine asks p50, p90 and p99 together)."""
    buckets, values = PROMETHEUS[name]
    qs = list(values)
    assert histogram_quantiles(qs, buckets) == [values[q] for q in qs]
    assert histogram_quantiles(qs, buckets) == [histogram_quantile(q, buckets) for q in qs]


def test_several_quantiles_refuse_a_bad_one() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        histogram_quantiles([0.5, 1.5], H1)


def test_counts_that_are_not_numbers_reach_no_bucket_as_in_prometheus() -> None:
    """A NaN rank (NaN or infinite observations) satisfies no bucket in Prometheus's search,
    which then answers the highest finite bound; a binary search must not answer the lowest."""
    nan, inf = float("nan"), float("inf")
    assert histogram_quantile(0.5, [(0.1, nan), (1.0, nan), (inf, nan)]) == 1.0
    assert histogram_quantile(0.0, [(0.1, 1.0), (1.0, 2.0), (inf, inf)]) == 1.0
    assert histogram_quantile(0.5, [(0.1, 1.0), (1.0, 2.0), (inf, inf)]) == 1.0
