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
