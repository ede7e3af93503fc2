"""Facts about each SLI kind that the pure core needs, decided by one exhaustive match each.

Adding a kind to `meshwatch.model.SLI` makes mypy point at every `assert_never` that has no
case for it, here and in the collectors, the engine and the PromQL builders.
"""

from __future__ import annotations

from typing import assert_never

from meshwatch.model import SLI, LatencySLI, NativeLatencySLI, QuerySLI, RatioSLI, RawSLI


def has_counts(sli: SLI) -> bool:
    """Whether the SLI yields error and request counts (every kind but a raw ratio)."""
    match sli:
        case RatioSLI() | LatencySLI() | NativeLatencySLI() | QuerySLI():
            return True
        case RawSLI():
            return False
        case _:
            assert_never(sli)


def classic_latency(sli: SLI) -> LatencySLI | None:
    """The SLI when its percentiles come from classic `le` buckets, else None."""
    match sli:
        case LatencySLI():
            return sli
        case RatioSLI() | NativeLatencySLI() | QuerySLI() | RawSLI():
            return None
        case _:
            assert_never(sli)


def native_latency(sli: SLI) -> NativeLatencySLI | None:
    """The SLI when its percentiles come from a native histogram, else None."""
    match sli:
        case NativeLatencySLI():
            return sli
        case RatioSLI() | LatencySLI() | QuerySLI() | RawSLI():
            return None
        case _:
            assert_never(sli)


def errors_within_requests(sli: SLI) -> bool:
    """Whether the SLI's error count can never exceed its request count, by construction.

    True when the bad events are counted among the requests: a latency SLI (`_count` minus a
    bucket, clamped at 0), a native histogram (the count times a fraction in [0, 1]), a
    ratio SLI in the good form (total minus good, clamped at 0), and a ratio SLI whose one
    bad counter is its total counter narrowed by more matchers (`code=~"5.."`: every bad
    series is a request series, and every per-series increase is >= 0). Then an error ratio
    needs no guard for errors without requests: with no requests there are no errors, and
    errors / requests is NaN by itself. False for separate counters (`app_errors_total`
    over `app_requests_total`), several bad counters, PromQL templates and raw ratios.
    """
    match sli:
        case LatencySLI() | NativeLatencySLI():
            return True
        case RatioSLI():
            if sli.bad is None:
                return sli.good is not None
            bad, total = sli.bad, sli.total
            return (
                not sli.more_bad
                and bad.metric == total.metric
                and set(total.matchers) <= set(bad.matchers)
            )
        case QuerySLI() | RawSLI():
            return False
        case _:
            assert_never(sli)
