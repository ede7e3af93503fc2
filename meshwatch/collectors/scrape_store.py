"""In-process counter history for the embedded engine: increases and SLI counts per window.

The store follows only the selectors the SLOs need ("tracks"). Every scrape of a target is
fed to `observe`; for each sample of a followed metric it computes the increase since the
previous scrape of that series, Prometheus-style:

* a value lower than the previous one is a counter reset (the process restarted): the new
  value is the increase since the reset, exactly like PromQL's `increase()`;
* a series seen for the first time on a target that was already scraped is new since the
  previous scrape (Envoy creates `envoy_cluster_upstream_rq{code="503"}` on the first 503;
  Istio re-creates series after idling), so its whole value is increase; series present at
  a target's first scrape only set the baseline;
* a series that vanished and came back (target restart, idle expiry) is compared with its
  last value, so the reset rule above applies; series unseen for `series_ttl` are forgotten.

Each track sums the increases of all matching series (optionally per value of one label,
e.g. `le` for histogram buckets or the version label for per-backend SLIs) into one
accumulated counter with a bounded, thinned `CounterHistory`. So memory is bounded by
(tracks x groups x `max_points()`) + (live followed series), independent of uptime.

Windows end at `now` and are `(now - window, now]`. The increase over a window is
`acc(now) - acc(now - window)`, where `acc(t)` is the accumulated count at the scrapes around
`t`, interpolated linearly between them and never extrapolated past the newest scrape:
events are counted between real scrapes. Prometheus instead extrapolates `increase()` to
both window edges; tests/integration/test_scrape_vs_prometheus.py states what that means
numerically. `snapshot`/`restore` carry the history over a restart of meshwatch.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, assert_never

from meshwatch.collectors.base import (
    Measurements,
    SLICollector,
    SLOPlan,
    WindowBuckets,
    WindowCounts,
    measure_each,
)
from meshwatch.collectors.exposition import Labels, Sample
from meshwatch.collectors.exposition_proto import (
    NATIVE_BUCKET,
    is_native_name,
    native_delta,
    native_selectors,
)
from meshwatch.collectors.native_buckets import bucket_selector, native_quantiles
from meshwatch.collectors.scrape_counts import counts_or_error, window_buckets
from meshwatch.collectors.scrape_history import DEFAULT_TIERS, Tier
from meshwatch.collectors.scrape_snapshot import encode, load_into
from meshwatch.collectors.scrape_tracks import (
    LE,
    MetricTracks,
    SeriesState,
    TargetState,
    Track,
)
from meshwatch.collectors.slices import SliceLedger
from meshwatch.errors import CollectorError, NoSeriesError
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
from meshwatch.slo.kinds import native_latency

log = logging.getLogger(__name__)


class ScrapeStore:
    """Follows SLI selectors across scrapes and answers increases and counts per window.

    Pure data structure: time comes in as arguments (`at`, `now`, UTC-aware datetimes).
    Implements `meshwatch.collectors.base.SLICollector`. Thread-safe: the scrape job and
    the evaluation job may call it from different scheduler threads.
    """

    def __init__(
        self,
        tiers: tuple[Tier, ...] = DEFAULT_TIERS,
        series_ttl: timedelta = timedelta(minutes=10),
    ) -> None:
        self._tiers = tiers
        self._series_ttl = series_ttl.total_seconds()
        self._tracks: dict[tuple[Selector, str | None], Track] = {}
        self._by_metric: dict[str, MetricTracks] = {}
        self._targets: dict[str, TargetState] = {}
        self._generation = 0
        self._native = False  # whether a native histogram is followed (see native_delta)
        self._lock = threading.RLock()
        self._slices = SliceLedger()

    # --- what to follow -------------------------------------------------------------

    def track(self, selector: Selector, group_by: str | None = None) -> None:
        """Follow `selector` (summed over matching series, or per value of `group_by`)."""
        key = (selector, group_by)
        with self._lock:
            if key in self._tracks:
                return
            track = Track(selector, group_by, self._tiers)
            self._tracks[key] = track
            self._by_metric.setdefault(selector.metric, MetricTracks()).add(track)
            self._native = self._native or is_native_name(selector.metric)
            self._generation += 1  # known series recompute which tracks they feed

    def track_sli(self, sli: SLI) -> None:
        """Follow what `counts`/`buckets` need for `sli` (nothing for PromQL-only SLIs)."""
        match sli:
            case RatioSLI():
                for selector in (sli.total, sli.good, *sli.bad_selectors):
                    if selector is not None:
                        self.track(selector)
            case LatencySLI():
                self.track(sli.count)
                self.track(sli.bucket, group_by=LE)
            case NativeLatencySLI():
                for selector in native_selectors(sli):
                    self.track(selector)
                self.track(bucket_selector(sli), group_by=NATIVE_BUCKET)  # for percentiles
            case QuerySLI() | RawSLI():
                pass  # measured by Prometheus only
            case _:
                assert_never(sli)

    @property
    def wanted(self) -> frozenset[str]:
        """Metric (sample) names to parse out of expositions."""
        with self._lock:
            return frozenset(self._by_metric)

    # --- ingest ---------------------------------------------------------------------

    def observe(
        self,
        target: str,
        samples: Iterable[Sample],
        at: datetime,
        target_labels: Mapping[str, str] | None = None,
    ) -> None:
        """Take one successful scrape of `target` made at `at`.

        `target_labels` (e.g. `job`, `instance`) are added to every series, overriding
        exposed labels of the same name as Prometheus does with `honor_labels: false`.
        """
        with self._lock:
            self._observe(target, samples, at.timestamp(), target_labels)

    def _observe(
        self,
        target: str,
        samples: Iterable[Sample],
        t: float,
        target_labels: Mapping[str, str] | None,
    ) -> None:
        state = self._targets.setdefault(target, TargetState())
        resets: set[tuple[str, Labels]] | None = set() if self._native else None
        touched: set[tuple[int, str]] = set()
        present: list[tuple[Track, str]] = []
        for sample in samples:
            if sample.name not in self._by_metric or math.isnan(sample.value):
                continue
            key = (sample.name, sample.labels)
            series = state.series.get(key)
            if series is None:
                sinks = self._sinks(sample, target_labels)
                delta = sample.value if state.scraped and sample.value > 0 else 0.0
                series = SeriesState(sample.value, t, self._generation, sinks)
                state.series[key] = series
            else:
                if series.generation != self._generation:
                    series.sinks = self._sinks(sample, target_labels)
                    series.generation = self._generation
                previous = series.value
                if resets is None:  # a counter that fell was reset
                    delta = sample.value - previous if sample.value >= previous else sample.value
                else:  # a reset, or a native histogram's counters (see native_delta)
                    delta = native_delta(sample, previous, resets)
                series.value = sample.value
                series.last_seen = t
            for track, group in series.sinks:
                if delta:
                    track.add(group, delta)
                mark = (id(track), group)
                if mark not in touched:
                    touched.add(mark)
                    present.append((track, group))
        for track, group in present:
            track.record(group, t)
        state.scraped = True
        self._forget_stale(state, t)

    def _sinks(
        self, sample: Sample, target_labels: Mapping[str, str] | None
    ) -> list[tuple[Track, str]]:
        labels = dict(sample.labels)
        if target_labels:
            labels.update(target_labels)
        sinks = []
        for track in self._by_metric[sample.name].candidates(labels):
            if track.selector.matches(labels):
                group = track.group_of(labels)
                if group is not None:
                    sinks.append((track, group))
        return sinks

    def _forget_stale(self, state: TargetState, now: float) -> None:
        horizon = now - self._series_ttl
        stale = [key for key, s in state.series.items() if s.last_seen < horizon]
        for key in stale:
            del state.series[key]

    # --- queries --------------------------------------------------------------------

    def increase(self, selector: Selector, window: timedelta, now: datetime) -> float:
        """Sum over matching series of their increase in (now - window, now].

        Raises NoSeriesError when no matching series was scraped in the window.
        """
        return sum(self.increase_by(selector, None, window, now).values())

    def increase_by(
        self, selector: Selector, label: str | None, window: timedelta, now: datetime
    ) -> dict[str, float]:
        """Increase per value of `label` (`le` values canonical, see `le_key`).

        The selector must have been tracked with `group_by=label`; groups without a series
        in the window are left out. Raises NoSeriesError when none is left.
        """
        end = now.timestamp()
        start = end - window.total_seconds()
        with self._lock:
            track = self._tracks.get((selector, label))
            if track is None:
                raise CollectorError(f"{selector.promql()} by {label} is not tracked")
            result = {
                group: history.at(end) - history.at(start)
                for group, history in track.history.items()
                if history.any_between(start, end)
            }
        if not result:
            raise NoSeriesError()
        return result

    def counts(self, sli: SLI, windows: Sequence[timedelta], now: datetime) -> WindowCounts:
        """`SLICollector.counts`: errors and total of `sli` over each window ending at `now`."""
        with self._lock:
            return {window: self._counts_or_error(sli, window, now) for window in windows}

    def _counts_or_error(
        self, sli: SLI, window: timedelta, now: datetime
    ) -> Counts | CollectorError:
        return counts_or_error(self, sli, window, now)

    def buckets(
        self, sli: LatencySLI, windows: Sequence[timedelta], now: datetime
    ) -> WindowBuckets:
        """`SLICollector.buckets`: bucket increases per bound (`math.inf` for `+Inf`)."""
        return window_buckets(self, sli, windows, now)

    def measure(self, plans: Sequence[SLOPlan], now: datetime) -> Measurements:
        """`SLICollector.measure`: every plan from the in-process history, with coverage."""
        with self._lock:
            found = measure_each(self, plans, now)
            return {
                plan.slo.id: replace(
                    found[plan.slo.id],
                    coverage=self.coverage(plan.slo.sli, plan.period, now),
                    slices=self._measure_slices(plan, now),
                    quantiles=self._quantiles(plan, now),
                )
                for plan in plans
            }

    def _quantiles(self, plan: SLOPlan, now: datetime) -> dict[float, float | CollectorError]:
        sli = native_latency(plan.slo.sli)
        if sli is None or not plan.quantiles or not plan.bucket_windows:
            return {}
        return native_quantiles(self, sli, plan.quantiles, plan.bucket_windows[0], now)

    def _measure_slices(self, plan: SLOPlan, now: datetime) -> WindowCounts:
        budgeting = plan.slo.timeslices
        if budgeting is None:
            return {}
        return self._slices.measure(self, plan.slo.sli, budgeting, plan.count_windows, now)

    def coverage(self, sli: SLI, period: timedelta, now: datetime) -> float | None:
        """Share of (now - period, now] since this store began following `sli`'s requests.

        The history begins at the first scrape that had a matching series (its baseline);
        a history thinned past its last tier covers any period. None for PromQL-only SLIs.
        """
        match sli:
            case RatioSLI():
                selector = sli.total
            case LatencySLI():
                selector = sli.count
            case NativeLatencySLI():
                selector = native_selectors(sli)[0]
            case QuerySLI() | RawSLI():
                return None
            case _:
                assert_never(sli)
        end = now.timestamp()
        length = period.total_seconds()
        with self._lock:
            track = self._tracks.get((selector, None))
            starts = [h.oldest_time() for h in track.history.values()] if track else []
        known = [t for t in starts if t is not None]
        if not known or length <= 0:
            return 0.0
        begin = max(min(known), end - length)
        return min(max((end - begin) / length, 0.0), 1.0)

    # --- persistence -------------------------------------------------------------------

    def snapshot(self) -> bytes:
        """Every track's history, for `restore` after a restart (see `scrape_snapshot`)."""
        with self._lock:
            return encode(self._tracks.values())

    def restore(self, data: bytes) -> int:
        """Load a `snapshot` into the tracks followed now (how many); ValueError if foreign."""
        with self._lock:
            return load_into(self._tracks, data, self._tiers)

    # --- health -------------------------------------------------------------------------

    def footprint(self) -> tuple[int, int]:
        """(history points held, followed series held), for the memory bound and /metrics."""
        with self._lock:
            points = sum(len(h) for t in self._tracks.values() for h in t.history.values())
            series = sum(len(t.series) for t in self._targets.values())
            return points, series


if TYPE_CHECKING:  # the store is an SLICollector (checked by mypy, nothing runs)
    _IS_A_COLLECTOR: SLICollector = ScrapeStore()
