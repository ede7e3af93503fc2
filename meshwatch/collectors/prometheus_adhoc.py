"""Ad-hoc PromQL built from the model: for windows without rules, past times, backend SLIs.

`count_probes` turns (SLI, window) pairs into tagged expressions — the same errors/requests
PromQL `meshwatch.sli` gives the rule generator, so both paths ask the same question —
and `counts_from` reads the answer back into `Counts` or the reason a window is unknown.
Latency buckets work the same way with `sum by (le) (increase(..._bucket[w]))`.

No series (the requests expression answers `[]`) and no traffic (0 requests, or NaN) are told
apart. Counts are clamped to 0 <= errors <= total, because `increase()` extrapolates each
series separately (google/slo-generator#319).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import timedelta

from meshwatch.collectors.base import BucketCounts
from meshwatch.collectors.prometheus_batch import Probe
from meshwatch.collectors.prometheus_http import Sample
from meshwatch.errors import CollectorError, NoSeriesError, NoTrafficError
from meshwatch.model import SLI, Counts, LatencySLI, format_duration
from meshwatch.sli import errors_increase, has_counts, requests_increase

TOTAL, BAD = "t", "b"


def count_probes(prefix: str, sli: SLI, window: timedelta) -> list[Probe]:
    """The errors and requests expressions of one (SLI, window), tagged with `prefix`."""
    if not has_counts(sli):
        raise CollectorError("an error-ratio SLI has no event counts; record it with rules")
    return [
        Probe(prefix + TOTAL, requests_increase(sli, window)),
        Probe(prefix + BAD, errors_increase(sli, window)),
    ]


def counts_from(prefix: str, found: Mapping[str, Sequence[Sample]]) -> Counts:
    """Counts for one (SLI, window) from a batch answer; raises NoDataError when unknown."""
    total_samples = found.get(prefix + TOTAL, ())
    if not total_samples:
        raise NoSeriesError()
    total = _single(total_samples)
    if math.isnan(total) or total <= 0:
        raise NoTrafficError()
    bad = found.get(prefix + BAD, ())
    if not bad:
        # errors expressions answer 0 when no error series exists; nothing at all means a
        # latency threshold that is not a bucket bound of the histogram
        raise CollectorError("the errors expression has no result (latency bucket missing?)")
    errors = _single(bad)
    if math.isnan(errors):
        raise CollectorError("error count is NaN while requests were counted")
    return Counts(errors=min(max(errors, 0.0), total), total=total)


def _single(samples: Sequence[Sample]) -> float:
    if len(samples) != 1:
        raise CollectorError(f"expected one aggregated sample, got {len(samples)}")
    return samples[0].value


def buckets_increase(sli: LatencySLI, window: timedelta) -> str:
    """Every bucket's increase over `window`, summed over matching series, by `le`."""
    return f"sum by (le) (increase({sli.bucket.promql()}[{format_duration(window)}]))"


def bucket_probe(key: str, sli: LatencySLI, window: timedelta) -> Probe:
    return Probe(key, buckets_increase(sli, window))


def buckets_from(samples: Sequence[Sample]) -> BucketCounts:
    """`le` -> events at or under it, from `sum by (le) (increase(..._bucket[w]))`."""
    if not samples:
        raise NoSeriesError()
    buckets: dict[float, float] = {}
    for sample in samples:
        try:
            bound = float(sample.labels["le"])
        except (KeyError, ValueError) as exc:
            raise CollectorError(f"histogram bucket without a valid le: {sample.labels}") from exc
        buckets[bound] = 0.0 if math.isnan(sample.value) else sample.value
    if buckets.get(math.inf, max(buckets.values())) <= 0:
        raise NoTrafficError()
    return buckets
