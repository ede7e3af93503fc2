"""A histogram bucket selector (`name_bucket{..., le="0.25"}`) as a latency SLI, for dialects
that spell latency that way (Pyrra, slo-generator)."""

from __future__ import annotations

from meshwatch.errors import PromQLError
from meshwatch.model import LatencySLI, Selector
from meshwatch.spec.promql import parse_selector


def bucket_sli(text: str, threshold: float | None = None) -> LatencySLI:
    """`hist_bucket{job="a",le="0.25"}` -> LatencySLI(hist, 0.25, job="a"); `threshold` is
    given when the selector has no `le` (slo-generator's `threshold_bucket`). Raise
    ValueError (PromQLError) with the reason otherwise."""
    selector = parse_selector(text)
    if not selector.metric.endswith("_bucket"):
        raise PromQLError(f"{selector.metric!r} is not a histogram bucket series (name_bucket)")
    le = [m for m in selector.matchers if m.label == "le"]
    rest = tuple(m for m in selector.matchers if m.label != "le")
    if threshold is None:
        if len(le) != 1 or le[0].op != "=":
            raise PromQLError('the bucket selector needs one le="BOUND" matcher')
        try:
            threshold = float(le[0].value)
        except ValueError:
            raise PromQLError(f"le={le[0].value!r} is not a number") from None
    elif le:
        raise PromQLError("do not match on le; the threshold gives the bucket")
    if threshold <= 0:
        raise PromQLError("the latency threshold must be positive")
    return LatencySLI(selector.metric.removesuffix("_bucket"), threshold, rest)


def same_series(total: Selector, sli: LatencySLI) -> bool:
    """`total` counts the histogram's requests: its `_count` with the bucket's matchers."""
    return total.metric == f"{sli.histogram}_count" and set(total.matchers) == set(sli.matchers)
