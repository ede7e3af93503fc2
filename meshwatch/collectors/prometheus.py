"""The Prometheus collector: recorded series when meshwatch's rules are loaded, PromQL otherwise.

Two ways to use it, both `SLICollector`s:

* `PrometheusCollector.counts/buckets(sli, windows, now)` — ad-hoc: PromQL built from the
  model, every window of the call in ONE query. Works for any window and any past `now`
  (reports), for SLIs that have no rules (remediation backends), without any rules at all.
* `PrometheusCollector.snapshot(slos, now)` — recorded: ONE query reads every SLO's recorded
  `meshwatch:sli_errors:increase<w>` and `meshwatch:sli_requests:increase<w>` series (all
  windows) plus their freshness, whatever the number of SLOs; the `RecordedSnapshot` it
  returns answers `counts()` from memory and falls back to ad-hoc PromQL only for what is
  not recorded. Unrecorded `windows`, latency buckets (`bucket_windows`) and remediation
  backends are prefetched together in batched queries of `chunk` probes each, so a cycle
  whose SLIs are all recorded is exactly 1 query, whatever the number of SLOs.

Recorded counts are request-weighted already (the rules sum 5m increases for long windows).
0 requests is "no traffic"; no recorded series at all falls back to ad-hoc PromQL, which
tells "no series" from "no traffic". A recorded series older than `max_age` (rules stopped
evaluating) makes the window `CollectorError("stale ...")`: stale data is unknown, never good.
Prometheus down or too slow after retries raises `CollectorError` for the whole call.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from meshwatch import conventions as c
from meshwatch.collectors import prometheus_adhoc as adhoc
from meshwatch.collectors.base import (
    NO_TRAFFIC,
    BucketCounts,
    SLICollector,
    WindowBuckets,
    WindowCounts,
)
from meshwatch.collectors.prometheus_batch import DEFAULT_CHUNK, Probe, run_probes
from meshwatch.collectors.prometheus_http import PrometheusQuerier, Sample
from meshwatch.errors import CollectorError, NoDataError
from meshwatch.model import SLI, SLO, Counts, LatencySLI, format_duration, parse_duration

logger = logging.getLogger(__name__)

_BASE = format_duration(c.BASE_INTERVAL)
_ERRORS_PREFIX = c.RULE_ERRORS_INCREASE.removesuffix(_BASE)  # meshwatch:sli_errors:increase
_REQUESTS_PREFIX = c.RULE_REQUESTS_INCREASE.removesuffix(_BASE)
_FRESHNESS = "freshness"
DEFAULT_MAX_AGE = timedelta(minutes=3)

SLOKey = tuple[str, str]  # (meshwatch_service, meshwatch_slo)


def recorded_query() -> str:
    """The one query of a recorded snapshot: every SLO's counts per window, and freshness.

    Freshness is the sample time of the 5m requests series, which the fast rule group
    writes every evaluation; it goes old when the rules stop being evaluated.
    """
    names = f"{_ERRORS_PREFIX}.+|{_REQUESTS_PREFIX}.+"
    fresh = (
        f"max by ({c.LABEL_SERVICE}, {c.LABEL_SLO}) "
        f'(timestamp({c.RULE_REQUESTS_INCREASE}{{{c.LABEL_SLO}!=""}}))'
    )
    # no `meshwatch_slo!=""` matcher on the big selector: the names are meshwatch's own, and
    # that matcher makes Prometheus union the postings of every SLO (3x slower at 1,000 SLOs)
    return (
        f'{{__name__=~"{names}"}} or '
        f'label_replace({fresh}, "{c.LABEL_WINDOW}", "{_FRESHNESS}", "", "")'
    )


@dataclass(slots=True)
class _Recorded:
    errors: dict[str, float] = field(default_factory=dict)  # window name -> bad events
    requests: dict[str, float] = field(default_factory=dict)  # window name -> events
    updated: float | None = None  # Unix seconds of the newest 5m requests sample


class PrometheusCollector:
    """Reads SLIs from Prometheus through a `PrometheusQuerier` (retries, timeouts)."""

    def __init__(
        self,
        querier: PrometheusQuerier,
        *,
        max_age: timedelta = DEFAULT_MAX_AGE,
        chunk: int = DEFAULT_CHUNK,
    ) -> None:
        self.querier = querier
        self.max_age = max_age
        self.chunk = chunk

    # --- ad-hoc -------------------------------------------------------------------------

    def counts(self, sli: SLI, windows: Sequence[timedelta], now: datetime) -> WindowCounts:
        return self.fetch([(sli, w) for w in windows], (), now).counts[sli]

    def buckets(
        self, sli: LatencySLI, windows: Sequence[timedelta], now: datetime
    ) -> WindowBuckets:
        return self.fetch((), [(sli, w) for w in windows], now).buckets[sli]

    def fetch(
        self,
        count_pairs: Sequence[tuple[SLI, timedelta]],
        bucket_pairs: Sequence[tuple[LatencySLI, timedelta]],
        now: datetime,
    ) -> Fetched:
        """Counts and buckets of many (SLI, window) pairs, ceil(probes/chunk) queries in all."""
        probes: list[Probe] = []
        keyed: list[tuple[SLI, timedelta, str | CollectorError]] = []
        for i, (sli, window) in enumerate(count_pairs):
            try:
                probes.extend(adhoc.count_probes(f"c{i}", sli, window))
            except CollectorError as exc:
                keyed.append((sli, window, exc))
            else:
                keyed.append((sli, window, f"c{i}"))
        probes.extend(
            adhoc.bucket_probe(f"h{i}", sli, w) for i, (sli, w) in enumerate(bucket_pairs)
        )
        found = run_probes(self.querier, probes, now, chunk=self.chunk) if probes else {}
        fetched = Fetched()
        for sli, window, tag in keyed:
            value: Counts | CollectorError
            if isinstance(tag, CollectorError):
                value = tag
            else:
                try:
                    value = adhoc.counts_from(tag, found)
                except CollectorError as exc:
                    value = exc
            fetched.counts.setdefault(sli, {})[window] = value
        for i, (latency, window) in enumerate(bucket_pairs):
            buckets: BucketCounts | CollectorError
            try:
                buckets = adhoc.buckets_from(found[f"h{i}"])
            except CollectorError as exc:
                buckets = exc
            fetched.buckets.setdefault(latency, {})[window] = buckets
        return fetched

    # --- recorded -----------------------------------------------------------------------

    def snapshot(
        self,
        slos: Iterable[SLO],
        now: datetime,
        *,
        windows: Callable[[SLO], Sequence[timedelta]] | Sequence[timedelta] = (),
        bucket_windows: Sequence[timedelta] = (),
        backends: bool = True,
    ) -> RecordedSnapshot:
        """Read every SLO's recorded series at `now` in one query, then prefetch the rest.

        Prefetched in the same batched queries (none when everything is recorded):
        `windows` (per SLO or for all) that are not recorded; the histogram buckets of every
        latency SLO over `bucket_windows` (there are no bucket rules); and, with `backends`,
        every remediation backend's SLI over its policy's short windows.
        """
        slos = list(slos)
        samples = self.querier.instant(recorded_query(), now)
        snapshot = RecordedSnapshot(self, now, slos, _index(samples))
        count_pairs = [
            (slo.sli, w)
            for slo in slos
            for w in (windows(slo) if callable(windows) else windows)
            if snapshot.lookup(slo.sli, w) is None
        ]
        if backends:
            count_pairs += [
                (backend.sli, w)
                for slo in slos
                if slo.remediation is not None
                for backend in slo.remediation.backends
                for w in slo.remediation.short_windows
            ]
        bucket_pairs = [
            (slo.sli, w) for slo in slos if isinstance(slo.sli, LatencySLI) for w in bucket_windows
        ]
        if count_pairs or bucket_pairs:
            logger.info(
                "prefetching %s unrecorded counts and %s bucket sets ad hoc",
                len(count_pairs),
                len(bucket_pairs),
            )
            snapshot.prefetched = self.fetch(
                list(dict.fromkeys(count_pairs)), list(dict.fromkeys(bucket_pairs)), now
            )
        return snapshot


@dataclass(slots=True)
class Fetched:
    """Answers of one batched ad-hoc fetch, by SLI and window."""

    counts: dict[SLI, dict[timedelta, Counts | CollectorError]] = field(default_factory=dict)
    buckets: dict[LatencySLI, dict[timedelta, BucketCounts | CollectorError]] = field(
        default_factory=dict
    )


@functools.lru_cache(maxsize=256)
def _window_name(window: timedelta) -> str:
    return format_duration(window)


def _index(samples: Sequence[Sample]) -> dict[SLOKey, _Recorded]:
    index: dict[SLOKey, _Recorded] = {}
    for sample in samples:
        key = (sample.labels.get(c.LABEL_SERVICE, ""), sample.labels.get(c.LABEL_SLO, ""))
        entry = index.setdefault(key, _Recorded())
        name = sample.labels.get("__name__", "")
        if not name and sample.labels.get(c.LABEL_WINDOW) == _FRESHNESS:
            entry.updated = sample.value
        elif name.startswith(_ERRORS_PREFIX):
            entry.errors[name.removeprefix(_ERRORS_PREFIX)] = sample.value
        elif name.startswith(_REQUESTS_PREFIX):
            entry.requests[name.removeprefix(_REQUESTS_PREFIX)] = sample.value
    return index


class RecordedSnapshot:
    """One cycle's view of Prometheus: recorded series in memory, ad-hoc PromQL for the rest."""

    def __init__(
        self,
        collector: PrometheusCollector,
        at: datetime,
        slos: Sequence[SLO],
        recorded: Mapping[SLOKey, _Recorded],
    ) -> None:
        self.collector = collector
        self.at = at
        self.recorded = recorded
        self._by_sli: dict[SLI, SLOKey] = {slo.sli: (slo.service, slo.name) for slo in slos}
        self.prefetched = Fetched()
        self._at_seconds = at.timestamp()
        self._max_age_seconds = collector.max_age.total_seconds()

    def lookup(self, sli: SLI, window: timedelta) -> Counts | CollectorError | None:
        """The recorded answer for one window, or None when it is not recorded."""
        entry = self._entry(sli)
        return None if entry is None else self._from_entry(entry, window)

    def _entry(self, sli: SLI) -> _Recorded | None:
        key = self._by_sli.get(sli)
        return self.recorded.get(key) if key else None

    def _from_entry(self, entry: _Recorded, window: timedelta) -> Counts | CollectorError | None:
        name = _window_name(window)
        total = entry.requests.get(name)
        if total is None:
            return None
        age = self._at_seconds - entry.updated if entry.updated is not None else math.inf
        if age > self._max_age_seconds:
            return CollectorError(f"stale: recorded series last evaluated {age:.0f}s ago")
        if math.isnan(total) or total <= 0:
            return NoDataError(NO_TRAFFIC)
        errors = entry.errors.get(name)
        if errors is None or math.isnan(errors):
            return CollectorError(f"no recorded error count for {name} (latency bucket missing?)")
        return Counts(errors=min(max(errors, 0.0), total), total=total)

    def counts(self, sli: SLI, windows: Sequence[timedelta], now: datetime) -> WindowCounts:
        if now != self.at:
            return self.collector.counts(sli, windows, now)
        entry = self._entry(sli)
        prefetched = self.prefetched.counts.get(sli, {})
        result: dict[timedelta, Counts | CollectorError] = {}
        missing: list[timedelta] = []
        for window in windows:
            value = None if entry is None else self._from_entry(entry, window)
            if value is None:
                value = prefetched.get(window)
            if value is None:
                missing.append(window)
            else:
                result[window] = value
        if missing:
            result.update(self.collector.counts(sli, missing, now))
        return result

    def buckets(
        self, sli: LatencySLI, windows: Sequence[timedelta], now: datetime
    ) -> WindowBuckets:
        known = self.prefetched.buckets.get(sli, {}) if now == self.at else {}
        missing = [w for w in windows if w not in known]
        result = {w: known[w] for w in windows if w in known}
        if missing:
            result.update(self.collector.buckets(sli, missing, now))
        return result

    def recorded_windows(self) -> set[timedelta]:
        """Every window some SLO has recorded series for (for diagnostics and tests)."""
        return {parse_duration(name) for entry in self.recorded.values() for name in entry.requests}


def _check_protocol(collector: PrometheusCollector, snapshot: RecordedSnapshot) -> None:
    """Static proof that both classes implement `SLICollector` (checked by mypy only)."""
    _: SLICollector = collector
    __: SLICollector = snapshot
