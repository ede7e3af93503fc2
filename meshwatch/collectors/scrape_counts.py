"""SLI counts from the embedded engine's increases: ratio, latency and native-latency SLIs.

Pure over an `Increases` (the `ScrapeStore`): how each SLI kind turns counter increases into
errors and requests, and latency buckets per bound. Missing bad/good series are zero events
(Envoy creates them lazily); a total without increase is "no traffic".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol, assert_never

from meshwatch.collectors.base import NEEDS_PROMETHEUS, BucketCounts, WindowBuckets
from meshwatch.collectors.exposition_proto import native_selectors
from meshwatch.collectors.scrape_tracks import LE, le_key
from meshwatch.errors import CollectorError, NoDataError, NoTrafficError
from meshwatch.model import (
    SLI,
    Counts,
    LatencySLI,
    NativeLatencySLI,
    QuerySLI,
    RatioSLI,
    RawSLI,
    Selector,
)


class Increases(Protocol):
    """The store's two queries (see `ScrapeStore.increase`/`increase_by`)."""

    def increase(self, selector: Selector, window: timedelta, now: datetime) -> float: ...

    def increase_by(
        self, selector: Selector, label: str | None, window: timedelta, now: datetime
    ) -> dict[str, float]: ...


def counts_or_error(
    store: Increases, sli: SLI, window: timedelta, now: datetime
) -> Counts | CollectorError:
    try:
        match sli:
            case RatioSLI():
                return _ratio_counts(store, sli, window, now)
            case LatencySLI():
                return _latency_counts(store, sli, window, now)
            case NativeLatencySLI():  # synthetic counters, see exposition_proto
                count, fast = native_selectors(sli)
                total = _total(store, count, window, now)
                good = _increase_or_zero(store, fast, window, now)
                return Counts(errors=min(max(total - good, 0.0), total), total=total)
            case QuerySLI() | RawSLI():
                return CollectorError(NEEDS_PROMETHEUS)
            case _:
                assert_never(sli)
    except CollectorError as error:
        return error


def _ratio_counts(store: Increases, sli: RatioSLI, window: timedelta, now: datetime) -> Counts:
    total = _total(store, sli.total, window, now)
    if sli.bad is not None:
        errors = sum(_increase_or_zero(store, s, window, now) for s in sli.bad_selectors)
        return Counts(errors=errors, total=total)
    assert sli.good is not None
    good = _increase_or_zero(store, sli.good, window, now)
    return Counts(errors=max(total - good, 0.0), total=total)


def _latency_counts(store: Increases, sli: LatencySLI, window: timedelta, now: datetime) -> Counts:
    total = _total(store, sli.count, window, now)
    buckets = store.increase_by(sli.bucket, LE, window, now)
    good = buckets.get(le_key(sli.threshold) or "")
    if good is None:
        raise CollectorError(f"{sli.histogram} has no bucket le={sli.threshold:g}")
    return Counts(errors=max(total - good, 0.0), total=total)


def _total(store: Increases, selector: Selector, window: timedelta, now: datetime) -> float:
    total = store.increase(selector, window, now)
    if total <= 0:
        raise NoTrafficError()
    return total


def _increase_or_zero(
    store: Increases, selector: Selector, window: timedelta, now: datetime
) -> float:
    """Missing bad/good series mean zero such events (Envoy creates them lazily)."""
    try:
        return store.increase(selector, window, now)
    except NoDataError:
        return 0.0


def window_buckets(
    store: Increases, sli: LatencySLI, windows: Sequence[timedelta], now: datetime
) -> WindowBuckets:
    """`SLICollector.buckets`: bucket increases per bound (`math.inf` for `+Inf`)."""
    result: dict[timedelta, BucketCounts | CollectorError] = {}
    for window in windows:
        try:
            by_le = store.increase_by(sli.bucket, LE, window, now)
        except CollectorError as error:
            result[window] = error
            continue
        result[window] = dict(sorted((float(le), value) for le, value in by_le.items()))
    return result
