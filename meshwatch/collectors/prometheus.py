"""The Prometheus collector: the recorded series of meshwatch's rules, PromQL for the rest.

* `measure(plans, now)` — one evaluation cycle, every SLO at once (what `serve` runs): ONE
  query reads every SLO's and backend's recorded `meshwatch:*:increase<w>` series and their
  freshness (`prometheus_recorded`); whatever the plans ask that is not recorded — latency
  buckets (there are no bucket rules), calendar periods so far, windows of SLOs without
  rules — is fetched in ONE more batch, with selector-based SLIs grouped into one
  expression per family of selectors (`prometheus_grouped`) rather than one per SLO. The
  first cycle also finds where each SLO's recorded data begins (`prometheus_coverage`, up to
  three batched queries once). So a cycle is O(1) queries in the number of SLOs for every
  SLI kind when the rules are loaded; only PromQL-template SLIs without rules cost probes
  per SLO (batched `chunk` at a time). Timeslices SLOs cost one more query each
  (`prometheus_slices`).
* `counts/buckets(sli, windows, now)` and `fetch(...)` — ad hoc: PromQL built from the
  model, any window and any past `now` (reports), without any rules at all.

Prometheus down or too slow after retries raises `CollectorError` for the whole call.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import assert_never, cast

from meshwatch.collectors import prometheus_adhoc as adhoc
from meshwatch.collectors.base import (
    BucketCounts,
    Measured,
    Measurements,
    SLICollector,
    SLOPlan,
    WindowBuckets,
    WindowCounts,
)
from meshwatch.collectors.prometheus_batch import DEFAULT_CHUNK, Probe, run_probes
from meshwatch.collectors.prometheus_counts import selector_counts
from meshwatch.collectors.prometheus_coverage import FirstSamples, coverage_of
from meshwatch.collectors.prometheus_grouped import Answer, GroupedIncreases, Increase
from meshwatch.collectors.prometheus_http import PrometheusQuerier, Sample
from meshwatch.collectors.prometheus_quantiles import QuantileProbes
from meshwatch.collectors.prometheus_recorded import (
    DEFAULT_MAX_AGE,
    Recorded,
    SLOKey,
    recorded_query,
)
from meshwatch.collectors.prometheus_slices import measure_slices
from meshwatch.errors import CollectorError, NoSeriesError, NoTrafficError
from meshwatch.model import SLI, Counts, LatencySLI, NativeLatencySLI, QuerySLI, RatioSLI, RawSLI
from meshwatch.slo.kinds import classic_latency, has_counts

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_MAX_AGE", "Fetched", "PrometheusCollector", "recorded_query"]


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
        self.first_samples = FirstSamples()
        self._grouped: GroupedIncreases | None = None

    def grouped(self, wanted: Sequence[Increase]) -> GroupedIncreases:
        """The grouped expressions of `wanted`: the last cycle's when it wanted the same (the
        latency buckets of the same SLOs, every cycle), so the families are found once."""
        last = self._grouped
        if last is None or last.asked != list(wanted):
            last = self._grouped = GroupedIncreases(wanted)
        return last

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

    # --- one cycle ----------------------------------------------------------------------

    def recorded(
        self,
        now: datetime,
        backend_windows: Iterable[timedelta] = (),
        raw_slos: Iterable[str] = (),
    ) -> Recorded:
        """Every recorded series at `now`, in one query (see `recorded_query`)."""
        query = recorded_query(backend_windows, raw_slos)
        max_age = self.max_age
        return self.querier.read(
            query,
            now,
            lambda result: Recorded(result, now, max_age),
            parse_body=lambda body: Recorded.from_body(body, now, max_age),
        )

    def measure(self, plans: Sequence[SLOPlan], now: datetime) -> Measurements:
        """`SLICollector.measure`: the whole cycle's plan in O(1) queries (see the module)."""
        recorded = self.recorded(
            now,
            {w for p in plans for b in p.backends for w in b.windows},
            {p.slo.name for p in plans if not has_counts(p.slo.sli)},  # recorded as ratios
        )
        coverage = self._coverage(plans, recorded, now)
        pending = _Pending()
        answers: dict[str, tuple[dict[timedelta, _Token], dict[str, dict[timedelta, _Token]]]]
        answers = {}
        unrecorded: set[str] = set()  # SLOs with a count to fetch (a token to resolve)
        for plan in plans:
            key: SLOKey = (plan.slo.service, plan.slo.name)
            sli = plan.slo.sli
            looked = recorded.lookup_all(key, plan.count_windows)
            match sli:
                case RawSLI():
                    raw = {
                        w: recorded.lookup_ratio(key, w, period=plan.slo.window.length)
                        for w in plan.count_windows
                    }
                    looked.update({w: v for w, v in raw.items() if v is not None})
                case LatencySLI():
                    for window in plan.bucket_windows:
                        pending.wanted.append(Increase(sli.bucket, window, by_le=True))
                case RatioSLI() | NativeLatencySLI() | QuerySLI():
                    pass  # native percentiles: `pending.quantiles`
                case _:
                    assert_never(sli)
            # the recorded answers, with a token for each window to fetch in the batch instead
            counts = cast(dict[timedelta, _Token | None], looked)
            for window, found in counts.items():
                if found is None:
                    counts[window] = pending.count(sli, window)
                    unrecorded.add(plan.slo.id)
            if plan.quantiles:
                pending.quantiles.ask(plan)
            # the loop acts on these within seconds: a recording older than the shortest
            # window (its group late, Prometheus busy) is replaced by the raw counters
            backends = {
                b.name: {
                    w: found or pending.count(b.sli, w)
                    for w, found in recorded.lookup_all(
                        key, b.windows, b.name, fresh_within=min(b.windows)
                    ).items()
                }
                for b in plan.backends
            }
            answers[plan.slo.id] = (cast(dict[timedelta, _Token], counts), backends)
        pending.run(self, now)
        measured: dict[str, Measured] = {}
        for plan in plans:
            slo_id = plan.slo.id
            tokens, backends = answers[slo_id]
            timeslices = plan.slo.timeslices is not None
            measured[slo_id] = Measured(
                slices=measure_slices(self.querier, plan, now) if timeslices else {},
                # every count recorded: the answers themselves, nothing to resolve
                counts=(
                    pending.resolve_all(tokens)
                    if slo_id in unrecorded
                    else cast(WindowCounts, tokens)
                ),
                buckets=pending.buckets(plan) if plan.bucket_windows else {},
                quantiles=pending.quantiles.answers(plan, pending.found) if plan.quantiles else {},
                backends={
                    name: pending.resolve_all(by_window) for name, by_window in backends.items()
                },
                coverage=coverage.get((plan.slo.service, plan.slo.name)),
            )
        return measured

    def _coverage(
        self, plans: Sequence[SLOPlan], recorded: Recorded, now: datetime
    ) -> dict[SLOKey, float | None]:
        wanted = {
            key: plan.period
            for plan in plans
            if recorded.has(key := (plan.slo.service, plan.slo.name))
        }
        everything = set(wanted) == recorded.slo_keys()
        try:
            self.first_samples.find(
                self.querier, wanted, now, everything=everything, chunk=self.chunk
            )
        except CollectorError as exc:
            logger.warning("coverage unknown this cycle: %s", exc)
        known = self.first_samples.known
        return {key: coverage_of(known.get(key), period, now) for key, period in wanted.items()}


@dataclass(slots=True)
class Fetched:
    """Answers of one batched ad-hoc fetch, by SLI and window."""

    counts: dict[SLI, dict[timedelta, Counts | CollectorError]] = field(default_factory=dict)
    buckets: dict[LatencySLI, dict[timedelta, BucketCounts | CollectorError]] = field(
        default_factory=dict
    )


_Token = Counts | CollectorError | tuple[SLI, timedelta]  # a recorded answer, or what to fetch


class _Pending:
    """What the recorded series did not answer, fetched together in one batch."""

    def __init__(self) -> None:
        self.wanted: list[Increase] = []
        self.adhoc: dict[tuple[SLI, timedelta], str] = {}
        self.grouped: dict[Increase, Answer] = {}
        self.found: dict[str, list[Sample]] = {}
        self.failed: dict[tuple[SLI, timedelta], CollectorError] = {}
        self.quantiles = QuantileProbes()

    def count(self, sli: SLI, window: timedelta) -> tuple[SLI, timedelta]:
        """Ask for `sli` over `window`; the returned token is `resolve`d after `run`."""
        match sli:
            case RatioSLI():
                self.wanted.extend(
                    Increase(s, window) for s in (sli.total, sli.good, sli.bad) if s is not None
                )
                self.wanted.extend(Increase(s, window) for s in sli.more_bad)
            case LatencySLI():
                self.wanted += [Increase(sli.count, window), Increase(sli.bucket, window, True)]
            case NativeLatencySLI() | QuerySLI() | RawSLI():
                self.adhoc.setdefault((sli, window), f"q{len(self.adhoc)}")
            case _:
                assert_never(sli)
        return (sli, window)

    def run(self, collector: PrometheusCollector, now: datetime) -> None:
        grouped = collector.grouped(self.wanted)
        probes: list[Probe] = [*grouped.probes, *self.quantiles.probes]
        for (sli, window), tag in self.adhoc.items():
            try:
                probes.extend(adhoc.count_probes(tag, sli, window))
            except CollectorError as exc:
                self.failed[(sli, window)] = exc
        if not probes:
            return
        logger.info(
            "fetching %s unrecorded increases in %s grouped and %s ad-hoc expressions",
            len(grouped.wanted),
            len(grouped.probes),
            len(probes) - len(grouped.probes),
        )
        self.found = dict(run_probes(collector.querier, probes, now, chunk=collector.chunk))
        self.grouped = grouped.answers(self.found)

    def resolve_all(self, tokens: dict[timedelta, _Token]) -> WindowCounts:
        return {window: self.resolve(token) for window, token in tokens.items()}

    def resolve(self, value: _Token) -> Counts | CollectorError:
        if isinstance(value, Counts | CollectorError):
            return value
        sli, window = value
        if (sli, window) in self.adhoc:
            if (sli, window) in self.failed:
                return self.failed[(sli, window)]
            try:
                return adhoc.counts_from(self.adhoc[(sli, window)], self.found)
            except CollectorError as exc:
                return exc
        try:
            return selector_counts(sli, window, self.grouped)
        except CollectorError as exc:
            return exc

    def buckets(self, plan: SLOPlan) -> WindowBuckets:
        sli = classic_latency(plan.slo.sli)
        if sli is None:
            return {}
        out: dict[timedelta, BucketCounts | CollectorError] = {}
        for window in plan.bucket_windows:
            answer = self.grouped.get(Increase(sli.bucket, window, by_le=True))
            out[window] = _buckets(answer)
        return out


def _buckets(answer: Answer) -> BucketCounts | CollectorError:
    if not isinstance(answer, dict) or not answer:
        return NoSeriesError()
    total = answer.get(math.inf)
    if (max(answer.values()) if total is None else total) <= 0:
        return NoTrafficError()
    return dict(sorted(answer.items()))


def _check_protocol(collector: PrometheusCollector) -> None:
    """Static proof that the collector implements `SLICollector` (checked by mypy only)."""
    _: SLICollector = collector
