"""The scrape store: increases across resets and restarts, counts per SLI kind, no-data cases."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshwatch.collectors.base import NEEDS_PROMETHEUS, NO_SERIES, NO_TRAFFIC
from meshwatch.collectors.exposition import Sample
from meshwatch.collectors.scrape_history import max_points
from meshwatch.collectors.scrape_store import ScrapeStore
from meshwatch.errors import CollectorError, NoDataError
from meshwatch.model import Counts, LatencySLI, Matcher, QuerySLI, RatioSLI, RawSLI, Selector

T0 = datetime(2026, 11, 1, tzinfo=UTC)
REQ = Selector("req_total")
ERR = Selector("req_total", (Matcher("code", "=~", "5.."),))
OK = Selector("req_total", (Matcher("code", "!~", "5.."),))
MIN = timedelta(minutes=1)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def req(code: str, value: float, **labels: str) -> Sample:
    return Sample("req_total", tuple(sorted({"code": code, **labels}.items())), value, None)


def feed(store: ScrapeStore, scrapes: list[tuple[float, list[Sample]]], target: str = "t") -> None:
    for seconds, samples in scrapes:
        store.observe(target, samples, at(seconds))


def store_with(*selectors: Selector) -> ScrapeStore:
    store = ScrapeStore()
    for selector in selectors:
        store.track(selector)
    return store


def test_increase_sums_series_and_handles_a_counter_reset() -> None:
    store = store_with(REQ)
    values = [(0, 100, 1), (10, 110, 2), (20, 120, 3), (30, 5, 0), (40, 15, 1)]  # reset at 30
    feed(store, [(t, [req("200", ok), req("500", err)]) for t, ok, err in values])
    # 200: +10 +10 +5 +10 = 35; 500: +1 +1 +0 +1 = 3 (0 after 3 is a reset to 0)
    assert store.increase(REQ, MIN, at(40)) == 38.0
    assert store.increase(REQ, timedelta(seconds=10), at(40)) == 10 + 1
    # A window starting between scrapes takes the share of that interval's events in it.
    assert store.increase(REQ, timedelta(seconds=15), at(40)) == (5 + 0) / 2 + (10 + 1)


def test_first_scrape_is_a_baseline_and_yields_no_traffic() -> None:
    store = store_with(REQ)
    store.track_sli(RatioSLI(total=REQ, bad=ERR))
    feed(store, [(0, [req("200", 1000)])])
    assert store.increase(REQ, MIN, at(0)) == 0.0
    (result,) = store.counts(RatioSLI(total=REQ, bad=ERR), [MIN], at(0)).values()
    assert isinstance(result, NoDataError)
    assert result.reason == NO_TRAFFIC


def test_a_series_born_after_the_first_scrape_counts_from_zero() -> None:
    sli = RatioSLI(total=REQ, bad=ERR)
    store = ScrapeStore()
    store.track_sli(sli)
    feed(store, [(0, [req("200", 50)]), (1, [req("200", 60), req("503", 4)])])  # first 503s
    assert store.counts(sli, [MIN], at(1)) == {MIN: Counts(errors=4.0, total=14.0)}


def test_target_restart_series_vanish_then_return_lower() -> None:
    store = store_with(REQ)
    feed(store, [(0, [req("200", 500)]), (1, [req("200", 510)]), (2, []), (3, [req("200", 7)])])
    assert store.increase(REQ, MIN, at(3)) == 10 + 7


def test_no_series_versus_no_traffic() -> None:
    sli = RatioSLI(total=REQ, bad=ERR)
    store = ScrapeStore()
    store.track_sli(sli)
    result = store.counts(sli, [MIN], at(0))[MIN]
    assert isinstance(result, NoDataError) and result.reason == NO_SERIES
    feed(store, [(0, [req("200", 5)]), (1, [req("200", 5)])])
    result = store.counts(sli, [MIN], at(1))[MIN]
    assert isinstance(result, NoDataError) and result.reason == NO_TRAFFIC
    # The series stopped being scraped two minutes ago: the 1 m window has no series.
    result = store.counts(sli, [MIN], at(121))[MIN]
    assert isinstance(result, NoDataError) and result.reason == NO_SERIES
    with pytest.raises(NoDataError, match=NO_SERIES):
        store.increase(REQ, MIN, at(121))


def test_good_selector_gives_errors_as_total_minus_good() -> None:
    sli = RatioSLI(total=REQ, good=OK)
    store = ScrapeStore()
    store.track_sli(sli)
    feed(store, [(0, [req("200", 0), req("503", 0)]), (5, [req("200", 97), req("503", 3)])])
    assert store.counts(sli, [MIN], at(5)) == {MIN: Counts(errors=3.0, total=100.0)}


def test_windows_only_count_their_own_events() -> None:
    sli = RatioSLI(total=REQ, bad=ERR)
    store = ScrapeStore()
    store.track_sli(sli)
    # 10 requests/s; errors only during the first 5 minutes.
    scrapes = [
        (s, [req("200", s * 10 - min(s, 300)), req("500", min(s, 300))]) for s in range(0, 3601, 1)
    ]
    feed(store, scrapes)
    counts = store.counts(sli, [timedelta(minutes=5), timedelta(hours=1)], at(3600))
    assert counts[timedelta(minutes=5)] == Counts(errors=0.0, total=3000.0)
    assert counts[timedelta(hours=1)] == Counts(errors=300.0, total=36000.0)


def test_target_labels_are_matchable_and_override_exposed_ones() -> None:
    job = Selector("req_total", (Matcher("job", "=", "envoy"),))
    store = store_with(job)
    labels = {"job": "envoy", "instance": "127.0.0.1:1"}
    for seconds, value in ((0, 0), (1, 10)):
        store.observe("a", [req("200", value, job="app")], at(seconds), labels)
        store.observe("b", [req("200", value)], at(seconds), {"job": "other"})
    assert store.increase(job, MIN, at(1)) == 10.0


def test_grouping_by_a_label_gives_per_version_increases() -> None:
    store = ScrapeStore()
    store.track(REQ, group_by="version")
    feed(
        store,
        [
            (0, [req("200", 0, version="v1"), req("200", 0, version="v2")]),
            (1, [req("200", 30, version="v1"), req("200", 70, version="v2")]),
        ],
    )
    assert store.increase_by(REQ, "version", MIN, at(1)) == {"v1": 30.0, "v2": 70.0}
    with pytest.raises(CollectorError, match="not tracked"):
        store.increase_by(REQ, "code", MIN, at(1))


def _hist(le: str, value: float) -> Sample:
    return Sample("lat_bucket", (("le", le), ("svc", "a")), value, None)


def _lat(bounds: dict[str, tuple[float, float]], count: tuple[float, float]) -> list[list[Sample]]:
    return [
        [
            *(_hist(le, v[i]) for le, v in bounds.items()),
            Sample("lat_count", (("svc", "a"),), count[i], None),
        ]
        for i in (0, 1)
    ]


@pytest.mark.parametrize(
    "spelling", [pytest.param("0.3", id="0.3"), pytest.param("0.30", id="0.30")]
)
def test_latency_counts_use_the_threshold_bucket_whatever_its_spelling(spelling: str) -> None:
    sli = LatencySLI("lat", threshold=0.3)
    store = ScrapeStore()
    store.track_sli(sli)
    first, second = _lat({"0.1": (0, 50), spelling: (0, 90), "+Inf": (0, 100)}, (0, 100))
    feed(store, [(0, first), (1, second)])
    assert store.counts(sli, [MIN], at(1)) == {MIN: Counts(errors=10.0, total=100.0)}
    assert store.buckets(sli, [MIN], at(1)) == {MIN: {0.1: 50.0, 0.3: 90.0, math.inf: 100.0}}


def test_latency_threshold_that_is_not_a_bucket_bound_is_an_error() -> None:
    sli = LatencySLI("lat", threshold=0.25)
    store = ScrapeStore()
    store.track_sli(sli)
    first, second = _lat({"0.1": (0, 50), "+Inf": (0, 100)}, (0, 100))
    feed(store, [(0, first), (1, second)])
    result = store.counts(sli, [MIN], at(1))[MIN]
    assert isinstance(result, CollectorError) and "no bucket le=0.25" in str(result)


@pytest.mark.parametrize(
    "sli",
    [
        pytest.param(QuerySLI(total="sum(rate(x[{{.window}}]))", bad="y"), id="query"),
        pytest.param(RawSLI(error_ratio="1 - avg_over_time(up[{{.window}}])"), id="raw"),
    ],
)
def test_promql_slis_need_prometheus(sli: QuerySLI | RawSLI) -> None:
    store = ScrapeStore()
    store.track_sli(sli)
    assert store.wanted == frozenset()
    (result,) = store.counts(sli, [MIN], at(0)).values()
    assert type(result) is CollectorError and str(result) == NEEDS_PROMETHEUS


def test_nan_samples_and_untracked_metrics_are_ignored() -> None:
    store = store_with(REQ)
    other = Sample("other_total", (), 5.0, None)
    feed(store, [(0, [req("200", 1), other]), (1, [req("200", math.nan)]), (2, [req("200", 4)])])
    assert store.increase(REQ, MIN, at(2)) == 3.0
    assert store.footprint()[1] == 1


def test_series_unseen_for_the_ttl_are_forgotten() -> None:
    store = ScrapeStore(series_ttl=timedelta(minutes=5))
    store.track(REQ)
    feed(store, [(0, [req("200", 1), req("500", 1)]), (400, [req("200", 2)])])
    assert store.footprint()[1] == 1


def test_memory_stays_bounded_over_forty_days() -> None:
    sli = RatioSLI(total=REQ, bad=ERR)
    store = ScrapeStore()
    store.track_sli(sli)
    day = 86400
    for minute in range(40 * day // 60):
        t = minute * 60
        store.observe("t", [req("200", t), req("500", t // 100)], at(t))
    points, series = store.footprint()
    assert series == 2
    assert points <= 2 * max_points()  # two tracks, one group each
    counts = store.counts(sli, [timedelta(days=30)], at(40 * day - 60))[timedelta(days=30)]
    assert isinstance(counts, Counts)
    assert counts.total == pytest.approx(30 * day * 1.01, rel=0.001)


def test_tracks_indexed_on_different_labels_all_see_a_series() -> None:
    by_cluster = Selector("req_total", (Matcher("cluster", "=", "a"),))
    by_code = Selector("req_total", (Matcher("code", "=", "500"), Matcher("cluster", "!=", "b")))
    other = Selector("req_total", (Matcher("cluster", "=", "b"),))
    store = store_with(by_cluster, by_code, other, REQ)
    feed(store, [(0, [req("500", 1, cluster="a")]), (1, [req("500", 4, cluster="a")])])
    assert [store.increase(s, MIN, at(1)) for s in (by_cluster, by_code, REQ)] == [3.0, 3.0, 3.0]
    with pytest.raises(NoDataError):
        store.increase(other, MIN, at(1))


# --- property: the store equals a naive replay of the raw scrapes ---------------------

_series_values = st.lists(
    st.one_of(st.none(), st.integers(min_value=0, max_value=1000)), min_size=2, max_size=40
)


@given(
    codes=st.lists(_series_values, min_size=1, max_size=4),
    window=st.integers(min_value=1, max_value=45),
    end=st.integers(min_value=0, max_value=45),
)
def test_increase_equals_a_naive_replay_of_the_scrapes(
    codes: list[list[int | None]], window: int, end: int
) -> None:
    """Scrape k happens at second k; None means the series is absent from that scrape.

    When a window edge falls between two points of a track (its series were absent from the
    scrapes in between), the store spreads the next increase over the gap; the naive model
    cannot say where those events fell, so only windows whose edges are on a point, before
    the first or after the last are compared exactly.
    """
    store = store_with(REQ, ERR)
    steps = max(len(values) for values in codes)
    for k in range(steps):
        samples = [
            req(f"50{i}" if i % 2 else f"20{i}", float(values[k]))
            for i, values in enumerate(codes)
            if k < len(values) and values[k] is not None
        ]
        store.observe("t", samples, at(k))
    expected = {REQ: 0.0, ERR: 0.0}
    present: dict[Selector, set[int]] = {REQ: set(), ERR: set()}
    for i, values in enumerate(codes):
        last: int | None = None
        for k, value in enumerate(values):
            if value is None:
                continue
            if last is None:
                delta = float(value) if k > 0 else 0.0  # born after the first scrape
            else:
                delta = float(value - last) if value >= last else float(value)
            last = value
            for selector in (REQ, ERR) if i % 2 else (REQ,):
                present[selector].add(k)
                if end - window < k <= end:
                    expected[selector] += delta
    start = end - window
    for selector in (REQ, ERR):
        points = present[selector]
        if not any(start < k <= end for k in points):
            with pytest.raises(NoDataError):
                store.increase(selector, timedelta(seconds=window), at(end))
        elif all(t in points or t < min(points) or t >= max(points) for t in (start, end)):
            got = store.increase(selector, timedelta(seconds=window), at(end))
            assert got == expected[selector]


def _comparable(counts: Mapping[timedelta, Counts | CollectorError]) -> dict[timedelta, object]:
    return {w: c if isinstance(c, Counts) else (type(c), str(c)) for w, c in counts.items()}


def test_snapshot_restores_history_into_a_new_store() -> None:
    sli = RatioSLI(total=REQ, bad=ERR)
    latency = LatencySLI("lat", threshold=0.3)
    old = ScrapeStore()
    for s in (sli, latency):
        old.track_sli(s)
    old.track(Selector("gone_total"))
    first, second = _lat({"0.3": (0, 90), "+Inf": (0, 100)}, (0, 100))
    feed(old, [(0, first), (1, second)])
    feed(old, [(t, [req("200", t * 9), req("500", t)]) for t in range(0, 7200, 10)])
    windows = [timedelta(minutes=5), timedelta(hours=1), timedelta(hours=2)]
    now = at(7190)

    new = ScrapeStore()
    for s in (sli, latency):
        new.track_sli(s)
    assert new.restore(old.snapshot()) == 4  # not `gone_total`: no longer followed
    for s in (sli, latency):
        assert _comparable(new.counts(s, windows, now)) == _comparable(old.counts(s, windows, now))
    assert isinstance(new.counts(latency, windows, at(1))[windows[0]], Counts)
    # After the restart the first scrape is a baseline (+0); counting then carries on:
    # (7180, 7210] = 100 before the restart, 0 at the baseline, 10 after.
    feed(new, [(7200, [req("200", 5), req("500", 1)]), (7210, [req("200", 14), req("500", 2)])])
    assert new.increase(REQ, timedelta(seconds=30), at(7210)) == 100.0 + 0.0 + 10.0
    with pytest.raises(ValueError, match="snapshot"):
        new.restore(b'{"format": "other"}')
