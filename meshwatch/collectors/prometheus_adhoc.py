"""Ad-hoc PromQL built from the model: for windows without rules, past times, backend SLIs.

`count_probes` turns (SLI, window) pairs into tagged expressions (`sum(increase(...[w]))`
for errors and total), `counts_from` reads the answer back into `Counts` or the reason a
window is unknown. Latency buckets work the same way with `sum by (le) (increase(...))`.

No series (the total expression answers `[]`) and no traffic (a total of 0, or NaN) are told
apart; a missing error series next to a present total means no error happened (the usual
case: a `5xx` series is only created by the first 5xx). Counts are clamped to
0 <= errors <= total, because `increase()` extrapolates each series separately and can make
"good" exceed "total" by a hair (google/slo-generator#319).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from meshwatch.collectors import prometheus_promql as sli_promql
from meshwatch.collectors.base import NO_SERIES, NO_TRAFFIC, BucketCounts
from meshwatch.collectors.prometheus_batch import Probe
from meshwatch.collectors.prometheus_http import Sample
from meshwatch.errors import CollectorError, NoDataError
from meshwatch.model import SLI, Counts, LatencySLI, RawSLI, format_duration

TOTAL, BAD, GOOD = "t", "b", "g"


@dataclass(frozen=True, slots=True)
class CountExprs:
    """PromQL for the events of one SLI over one window: total and exactly one of bad/good."""

    total: str
    bad: str | None = None
    good: str | None = None


def count_exprs(sli: SLI, window: timedelta) -> CountExprs:
    """Errors/total event expressions for `sli` over `window` (raises for ratio-only SLIs)."""
    if isinstance(sli, RawSLI):
        raise CollectorError("an error-ratio SLI has no event counts; record it with rules")
    w = format_duration(window)
    return CountExprs(
        total=sli_promql.total_increase(sli, w),
        bad=sli_promql.bad_increase(sli, w),
        good=sli_promql.good_increase(sli, w),
    )


def count_probes(prefix: str, sli: SLI, window: timedelta) -> list[Probe]:
    exprs = count_exprs(sli, window)
    probes = [Probe(prefix + TOTAL, exprs.total)]
    if exprs.bad is not None:
        probes.append(Probe(prefix + BAD, exprs.bad))
    if exprs.good is not None:
        probes.append(Probe(prefix + GOOD, exprs.good))
    return probes


def counts_from(prefix: str, found: Mapping[str, Sequence[Sample]]) -> Counts:
    """Counts for one (SLI, window) from a batch answer; raises NoDataError when unknown."""
    total_samples = found.get(prefix + TOTAL, ())
    if not total_samples:
        raise NoDataError(NO_SERIES)
    total = _single(total_samples)
    if math.isnan(total) or total <= 0:
        raise NoDataError(NO_TRAFFIC)
    if prefix + BAD in found:
        bad = found[prefix + BAD]
        errors = _single(bad) if bad else 0.0
    else:
        good = found.get(prefix + GOOD, ())
        errors = total - (_single(good) if good else 0.0)
    if math.isnan(errors):
        raise CollectorError("error count is NaN while requests were counted")
    return Counts(errors=min(max(errors, 0.0), total), total=total)


def _single(samples: Sequence[Sample]) -> float:
    if len(samples) != 1:
        raise CollectorError(f"expected one aggregated sample, got {len(samples)}")
    return samples[0].value


def bucket_probe(key: str, sli: LatencySLI, window: timedelta) -> Probe:
    return Probe(key, sli_promql.buckets_increase(sli, format_duration(window)))


def buckets_from(samples: Sequence[Sample]) -> BucketCounts:
    """`le` -> events at or under it, from `sum by (le) (increase(..._bucket[w]))`."""
    if not samples:
        raise NoDataError(NO_SERIES)
    buckets: dict[float, float] = {}
    for sample in samples:
        try:
            bound = float(sample.labels["le"])
        except (KeyError, ValueError) as exc:
            raise CollectorError(f"histogram bucket without a valid le: {sample.labels}") from exc
        buckets[bound] = 0.0 if math.isnan(sample.value) else sample.value
    if buckets.get(math.inf, max(buckets.values())) <= 0:
        raise NoDataError(NO_TRAFFIC)
    return buckets
