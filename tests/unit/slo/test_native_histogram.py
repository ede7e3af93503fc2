"""Native-histogram bounds and Prometheus 2.42's `histogram_fraction` arithmetic, by hand.

The same arithmetic is held against a real Prometheus in
tests/integration/test_native_histogram.py; these cases pin the corners."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshwatch.slo.native_histogram import (
    NativeHistogram,
    bucket_index,
    containing_bucket,
    deltas_to_counts,
    native_quantile,
    observations_between,
    reduce_index,
    spans_to_buckets,
    upper_bound,
)


@pytest.mark.parametrize(
    ("index", "schema", "bound"),
    [
        pytest.param(-16, 3, 0.25, id="schema3-quarter-exact"),
        pytest.param(0, 3, 1.0, id="schema3-one"),
        pytest.param(1, 0, 2.0, id="schema0-two"),
        pytest.param(-1, -1, 0.25, id="schema-1-four-per-step"),
        pytest.param(8, 3, 2.0, id="schema3-octave"),
    ],
)
def test_upper_bounds_are_exact_powers_of_two(index: int, schema: int, bound: float) -> None:
    assert upper_bound(index, schema) == bound


def test_upper_bound_inside_an_octave_is_the_root_of_two() -> None:
    assert upper_bound(1, 3) == pytest.approx(2 ** (1 / 8), rel=1e-15)
    assert upper_bound(-13, 3) == pytest.approx(2 ** (-13 / 8), rel=1e-15)


@pytest.mark.parametrize("schema", [-2, 0, 1, 3, 8])
@pytest.mark.parametrize("value", [1e-6, 0.001, 0.25, 0.3, 1.0, 7.5, 1234.5])
def test_bucket_index_puts_a_value_in_lower_exclusive_upper_inclusive(
    schema: int, value: float
) -> None:
    index = bucket_index(value, schema)
    assert upper_bound(index - 1, schema) < value <= upper_bound(index, schema)


def test_spans_and_deltas_give_absolute_indexed_counts() -> None:
    counts = deltas_to_counts((2, -1, 3))  # 2, 1, 4
    assert counts == (2.0, 1.0, 4.0)
    assert spans_to_buckets(((-3, 2), (4, 1)), counts) == ((-3, 2.0), (-2, 1.0), (3, 4.0))


def test_spans_that_do_not_cover_the_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="spans cover 2 buckets, 1 counts"):
        spans_to_buckets(((0, 2),), (1.0,))


H = NativeHistogram(schema=0, count=10.0, positive=((1, 4.0), (2, 6.0)))  # (1,2]: 4, (2,4]: 6


@pytest.mark.parametrize(
    ("upper", "expected"),
    [
        pytest.param(2.0, 4.0, id="a-bucket-boundary-is-exact"),
        pytest.param(3.0, 4.0 + 6.0 * 0.5, id="linear-inside-the-bucket"),
        pytest.param(1.5, 2.0, id="inside-the-lowest-bucket"),
        pytest.param(0.5, 0.0, id="below-every-bucket"),
        pytest.param(100.0, 10.0, id="above-every-bucket"),
    ],
)
def test_observations_between_zero_and_a_bound(upper: float, expected: float) -> None:
    assert observations_between(H, 0.0, upper) == pytest.approx(expected)


def test_the_zero_bucket_starts_at_zero_when_only_positive_buckets_exist() -> None:
    h = NativeHistogram(0, 6.0, zero_threshold=0.5, zero_count=2.0, positive=((0, 4.0),))
    assert observations_between(h, 0.0, 0.25) == pytest.approx(1.0)  # half of [0, 0.5]
    assert observations_between(h, 0.0, 0.75) == pytest.approx(4.0)  # 2 + half of (0.5, 1]


def test_an_empty_histogram_is_no_traffic_not_zero() -> None:
    assert math.isnan(observations_between(NativeHistogram(3, 0.0), 0.0, 1.0))


def test_the_containing_bucket_bounds_the_misclassified_latency() -> None:
    lower, upper = containing_bucket(0.3, 3)
    assert lower < 0.3 <= upper
    assert upper / lower == pytest.approx(2 ** (1 / 8))


_bucket_counts = st.dictionaries(
    st.integers(min_value=-40, max_value=40), st.integers(min_value=0, max_value=1000), max_size=12
)


def _hist(schema: int, counts: dict[int, int]) -> NativeHistogram:
    positive = tuple(sorted((i, float(c)) for i, c in counts.items()))
    return NativeHistogram(schema, sum(c for _, c in positive), 2.0**-128, 0.0, positive)


@settings(deadline=None)  # a loaded machine must not fail a timing-free property
@given(
    schema=st.integers(min_value=0, max_value=4),
    before=_bucket_counts,
    added=_bucket_counts,
    threshold=st.floats(min_value=1e-3, max_value=1e3),
)
def test_the_estimate_of_an_increase_is_the_increase_of_the_estimates(
    schema: int, before: dict[int, int], added: dict[int, int], threshold: float
) -> None:
    """Why the embedded engine may estimate per scrape: what it sums between two scrapes is
    what Prometheus estimates on `increase()` of the histogram (same schema, no reset)."""
    after = {i: before.get(i, 0) + added.get(i, 0) for i in before.keys() | added.keys()}
    h0, h1, delta = _hist(schema, before), _hist(schema, after), _hist(schema, added)
    if delta.count == 0:
        return
    first = observations_between(h0, 0.0, threshold) if h0.count else 0.0
    increase = observations_between(h1, 0.0, threshold) - first
    assert increase == pytest.approx(observations_between(delta, 0.0, threshold), abs=1e-6)


# --- histogram_quantile (2.42: linear inside the bucket) -------------------------------------

_TWO_BUCKETS = NativeHistogram(0, 6.0, positive=((-1, 2.0), (0, 4.0)))  # (1/4,1/2]: 2, (1/2,1]: 4


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        pytest.param(0.5, 0.5 + 0.5 * (1.0 / 4.0), id="rank-3-one-into-the-second-bucket"),
        pytest.param(1.0 / 3.0, 0.5, id="rank-on-a-boundary"),
        pytest.param(1.0, 1.0, id="the-top"),
        pytest.param(0.25, 0.25 + 0.25 * 0.75, id="inside-the-first"),
    ],
)
def test_native_quantile_interpolates_linearly_in_its_bucket(q: float, expected: float) -> None:
    assert native_quantile(q, _TWO_BUCKETS) == pytest.approx(expected, rel=1e-15)


def test_a_quantile_in_the_zero_bucket_of_a_positive_histogram_starts_at_zero() -> None:
    h = NativeHistogram(0, 4.0, zero_threshold=0.001, zero_count=2.0, positive=((0, 2.0),))
    assert native_quantile(0.25, h) == pytest.approx(0.0005)


def test_an_empty_histogram_has_no_quantile_and_q_is_checked() -> None:
    assert native_quantile(0.5, NativeHistogram(3, 0.0)) is None
    with pytest.raises(ValueError, match="between 0 and 1"):
        native_quantile(1.5, _TWO_BUCKETS)


def test_reduce_index_merges_buckets_as_a_lower_schema_bounds_them() -> None:
    # schema 1 buckets 1, 2 are (1, 1.41], (1.41, 2]: both in schema 0 bucket 1, (1, 2]
    assert [reduce_index(i, 1) for i in (-1, 0, 1, 2, 3)] == [0, 0, 1, 1, 2]
    for index in range(-20, 20):
        assert upper_bound(index, 3) <= upper_bound(reduce_index(index, 2), 1)
        assert upper_bound(index - 1, 3) >= upper_bound(reduce_index(index, 2) - 1, 1)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.001, 100.0), min_size=1, max_size=200), st.floats(0.01, 1.0))
def test_the_quantile_lies_in_the_bucket_of_the_exact_one(values: list[float], q: float) -> None:
    counts: dict[int, float] = {}
    for value in values:
        counts[bucket_index(value, 3)] = counts.get(bucket_index(value, 3), 0.0) + 1.0
    h = NativeHistogram(3, float(len(values)), positive=tuple(sorted(counts.items())))
    exact = sorted(values)[math.ceil(q * len(values)) - 1]  # the rank Prometheus takes
    lower, upper = containing_bucket(exact, 3)
    found = native_quantile(q, h)
    assert found is not None and lower <= found <= upper
