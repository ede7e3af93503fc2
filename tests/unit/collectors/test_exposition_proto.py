"""The delimited protobuf exposition: families -> the samples the text parser would give, and
native histograms -> the synthetic counters the store follows."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from meshwatch.collectors.exposition import ExpositionError, Sample
from meshwatch.collectors.exposition_proto import (
    CONTENT_TYPE,
    message_class,
    native_below_name,
    native_count_name,
    parse_wanted_proto,
    read_delimited,
)
from meshwatch.collectors.scrape import Scraper, ScrapeTarget
from meshwatch.collectors.scrape_store import ScrapeStore
from meshwatch.model import Counts, Matcher, NativeLatencySLI


def _delimited(*families: Any) -> bytes:
    out = b""
    for family in families:
        raw = family.SerializeToString()
        size, prefix = len(raw), bytearray()
        while size >= 0x80:
            prefix.append(size & 0x7F | 0x80)
            size >>= 7
        prefix.append(size)
        out += bytes(prefix) + raw
    return out


def _family(name: str, kind: int) -> Any:
    return message_class("MetricFamily")(name=name, type=kind)


def _native() -> Any:
    family = _family("lat", 4)
    metric = family.metric.add()
    metric.label.add(name="route", value="/a")
    h = metric.histogram
    h.sample_count, h.sample_sum, h.schema, h.zero_threshold = 6, 1.5, 0, 2.0**-128
    h.positive_span.add(offset=-2, length=2)  # (1/8, 1/4]: 2, (1/4, 1/2]: 4
    h.positive_delta.extend([2, 2])
    return family


def test_counters_and_classic_histograms_read_as_the_text_format() -> None:
    counter = _family("req_total", 0)
    metric = counter.metric.add(timestamp_ms=1500)
    metric.label.add(name="code", value="200")
    metric.counter.value = 7.0
    classic = _family("dur", 4)
    h = classic.metric.add().histogram
    h.sample_count, h.sample_sum = 3, 0.9
    h.bucket.add(upper_bound=0.5, cumulative_count=2)
    body = _delimited(counter, classic)
    wanted = {"req_total", "dur_bucket", "dur_count"}
    assert parse_wanted_proto(body, wanted) == [
        Sample("req_total", (("code", "200"),), 7.0, 1.5),
        Sample("dur_bucket", (("le", "0.5"),), 2.0, None),
        Sample("dur_bucket", (("le", "+Inf"),), 3.0, None),
        Sample("dur_count", (), 3.0, None),
    ]


def test_a_native_histogram_becomes_its_count_and_its_interpolated_fast_count() -> None:
    wanted = {
        native_count_name("lat"),
        native_below_name("lat", 0.25),
        native_below_name("lat", 0.375),
    }
    samples = parse_wanted_proto(_delimited(_native()), wanted)
    labels = (("route", "/a"),)
    assert samples == [
        Sample(native_count_name("lat"), labels, 6.0, None),
        Sample(native_below_name("lat", 0.25), labels, 2.0, None),  # a boundary: exact
        Sample(native_below_name("lat", 0.375), labels, 4.0, None),  # 2 + 4 x 0.5
    ]


def test_an_empty_native_histogram_counts_zero_fast_requests_not_nan() -> None:
    family = _family("lat", 4)
    family.metric.add().histogram.zero_threshold = 2.0**-128
    samples = parse_wanted_proto(_delimited(family), {native_below_name("lat", 1.0)})
    assert [(s.name, s.value) for s in samples] == [
        (native_count_name("lat"), 0.0),
        (native_below_name("lat", 1.0), 0.0),
    ]
    assert not any(math.isnan(s.value) for s in samples)


def test_unwanted_families_are_skipped() -> None:
    assert parse_wanted_proto(_delimited(_native()), {"other_total"}) == []


@pytest.mark.parametrize(
    "body",
    [pytest.param(b"\x85", id="truncated-length"), pytest.param(b"\x05ab", id="truncated-message")],
)
def test_a_truncated_stream_is_an_exposition_error(body: bytes) -> None:
    with pytest.raises(ExpositionError, match="truncated"):
        list(read_delimited(body))


def test_the_scraper_asks_for_protobuf_when_an_slo_follows_a_native_histogram() -> None:
    accepts: list[str] = []
    state = {"h": _native()}

    def answer(request: httpx.Request) -> httpx.Response:
        accepts.append(request.headers["accept"])
        return httpx.Response(
            200, content=_delimited(state["h"]), headers={"content-type": CONTENT_TYPE}
        )

    store = ScrapeStore()
    sli = NativeLatencySLI("lat", 0.375, (Matcher("route", "=", "/a"),))
    store.track_sli(sli)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        scraper = Scraper(store, [ScrapeTarget("http://127.0.0.1:9/metrics")], client)
        scraper.scrape_once(start)  # baseline: 6 observations, 4 of them <= 0.375
        grown = _native()
        grown.metric[0].histogram.sample_count = 16
        grown.metric[0].histogram.positive_delta[:] = [2, 12]  # (1/4, 1/2] 4 -> 14
        state["h"] = grown
        health = scraper.scrape_once(start + timedelta(seconds=1))
    assert health["http://127.0.0.1:9/metrics"].up
    assert all(a.startswith("application/vnd.google.protobuf") for a in accepts)
    counts = store.counts(sli, [timedelta(minutes=1)], start + timedelta(seconds=1))
    # 10 new requests, all in (1/4, 1/2]: half of them interpolated at or under 0.375
    assert counts[timedelta(minutes=1)] == Counts(errors=5.0, total=10.0)


def _scrape(store: ScrapeStore, at: datetime, count: int, deltas: list[int], schema: int) -> None:
    """One scrape of `lat` with buckets from index 1 (schema `schema`) and `count` requests."""
    family = _family("lat", 4)
    metric = family.metric.add()
    h = metric.histogram
    h.sample_count, h.schema, h.zero_threshold = count, schema, 2.0**-128
    h.positive_span.add(offset=1, length=len(deltas))
    h.positive_delta.extend(deltas)
    wanted = store.wanted
    store.observe("t", parse_wanted_proto(_delimited(family), wanted), at, {"job": "j"})


def test_a_lower_resolution_is_not_a_reset_but_a_restart_is() -> None:
    store = ScrapeStore()
    sli = NativeLatencySLI("lat", 1.5)
    store.track_sli(sli)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    second = timedelta(seconds=1)
    # schema 1: (1, 1.41]: 8, (1.41, 2]: 0 -> 8 at or under 1.5
    _scrape(store, start, 8, [8, -8], schema=1)
    # schema 0, one bucket (1, 2]: 10 -> fast 5: fell by 3 without a reset
    _scrape(store, start + second, 10, [10], schema=0)
    window = [timedelta(minutes=1)]
    counts = store.counts(sli, window, start + second)[window[0]]
    assert counts == Counts(errors=2.0, total=2.0)  # nothing fast that scrape, not -history
    # a restart: the count falls too, and the new values are the increase
    _scrape(store, start + 2 * second, 4, [4], schema=0)
    counts = store.counts(sli, window, start + 2 * second)[window[0]]
    assert counts == Counts(errors=2.0 + 2.0, total=2.0 + 4.0)
