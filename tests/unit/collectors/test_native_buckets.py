"""The embedded engine's native-histogram percentiles: bucket counters decoded, increased
across scrapes and restarts, and merged back into one histogram. Against a real Prometheus:
tests/integration/test_native_histogram.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from meshwatch.collectors.exposition_proto import (
    NATIVE_BUCKET,
    bucket_key,
    message_class,
    native_bucket_name,
    parse_wanted_proto,
    zero_key,
)
from meshwatch.collectors.native_buckets import histogram_of, native_quantiles
from meshwatch.collectors.scrape_store import ScrapeStore
from meshwatch.engine.plan import plan_for
from meshwatch.errors import NoSeriesError, NoTrafficError
from meshwatch.model import SLO, NativeLatencySLI, Window
from meshwatch.slo.native_histogram import NativeHistogram, native_quantile

SLI = NativeLatencySLI("lat", 0.5)
START = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = timedelta(minutes=5)


def _family(counts: list[int], schema: int = 0, first: int = -1) -> Any:
    family = message_class("MetricFamily")(name="lat", type=4)
    metric = family.metric.add()
    metric.label.add(name="route", value="/a")
    h = metric.histogram
    h.sample_count, h.schema, h.zero_threshold = sum(counts), schema, 2.0**-128
    h.positive_span.add(offset=first, length=len(counts))
    previous = 0
    for count in counts:
        h.positive_delta.append(count - previous)
        previous = count
    return family


def _scrape(store: ScrapeStore, seconds: int, family: Any) -> None:
    raw = family.SerializeToString()
    body = bytes([len(raw)]) + raw  # under 128 bytes: a one-byte length prefix
    samples = parse_wanted_proto(body, store.wanted)
    store.observe("t", samples, START + timedelta(seconds=seconds), {"job": "j"})


def test_each_bucket_is_a_counter_keyed_by_schema_and_index() -> None:
    raw = _family([2, 4]).SerializeToString()
    samples = parse_wanted_proto(bytes([len(raw)]) + raw, {native_bucket_name("lat")})
    keys = {dict(s.labels)[NATIVE_BUCKET]: s.value for s in samples if "bucket" in s.name}
    assert keys == {zero_key(2.0**-128): 0.0, bucket_key(0, "+", -1): 2.0, "0+0": 4.0}


def test_percentiles_over_a_window_count_across_a_restart() -> None:
    store = ScrapeStore()
    store.track_sli(SLI)
    _scrape(store, 0, _family([1, 1]))  # baseline
    _scrape(store, 1, _family([3, 5]))  # +2 in (1/4, 1/2], +4 in (1/2, 1]
    _scrape(store, 2, _family([0, 6]))  # a restart: 6 new in (1/2, 1], more than before
    found = native_quantiles(store, SLI, (0.5, 0.9), WINDOW, START + timedelta(seconds=2))
    expected = NativeHistogram(0, 12.0, positive=((-1, 2.0), (0, 10.0)))
    assert found == {q: native_quantile(q, expected) for q in (0.5, 0.9)}


def test_a_lower_resolution_merges_into_the_lowest_schema() -> None:
    histogram = histogram_of({"1+1": 2.0, "1+2": 2.0, "0+1": 4.0, zero_key(0.001): 1.0})
    assert histogram == NativeHistogram(0, 9.0, 0.001, 1.0, ((1, 8.0),))
    with pytest.raises(ValueError, match="not a native bucket key"):
        histogram_of({"x": 1.0})


def test_no_series_and_no_traffic_are_told_apart() -> None:
    store = ScrapeStore()
    store.track_sli(SLI)
    now = START + timedelta(seconds=1)
    assert isinstance(native_quantiles(store, SLI, (0.5,), WINDOW, now)[0.5], NoSeriesError)
    _scrape(store, 0, _family([1]))
    _scrape(store, 1, _family([1]))
    assert isinstance(native_quantiles(store, SLI, (0.5,), WINDOW, now)[0.5], NoTrafficError)


def test_the_store_measures_the_plans_percentiles() -> None:
    slo = SLO("shop", "lat", 99.0, Window.rolling(timedelta(days=30)), SLI)
    store = ScrapeStore()
    store.track_sli(SLI)
    _scrape(store, 0, _family([0, 0]))
    _scrape(store, 1, _family([2, 2]))
    now = START + timedelta(seconds=1)
    plan = plan_for(slo, now)
    assert plan.quantiles == (0.5, 0.9, 0.99)
    measured = store.measure([plan], now)[slo.id]
    assert measured.quantiles[0.5] == pytest.approx(0.5)  # rank 2 of 4: the boundary
