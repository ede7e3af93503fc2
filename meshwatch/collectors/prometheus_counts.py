"""Counts of a ratio or latency SLI from grouped increases (see `prometheus_grouped`).

Pure: the same rules as the PromQL of `sli.promql` — no total series is "no series", a total
without increase is "no traffic", missing bad/good series are zero events (Envoy creates them
lazily), and errors are clamped to [0, total].
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import assert_never

from meshwatch.collectors.prometheus_grouped import Answer, Increase
from meshwatch.errors import CollectorError, NoSeriesError, NoTrafficError
from meshwatch.model import SLI, Counts, LatencySLI, NativeLatencySLI, QuerySLI, RatioSLI, RawSLI


def _total(answer: Answer) -> float:
    if answer is None:
        raise NoSeriesError()
    assert isinstance(answer, float)
    if math.isnan(answer) or answer <= 0:
        raise NoTrafficError()
    return answer


def _events(answer: Answer) -> float:
    """Bad or good events: no series means none happened (Envoy creates them lazily)."""
    if answer is None or (isinstance(answer, float) and math.isnan(answer)):
        return 0.0
    assert isinstance(answer, float)
    return answer


def selector_counts(sli: SLI, window: timedelta, answers: dict[Increase, Answer]) -> Counts:
    """Counts of a ratio or latency SLI from grouped increases (same rules as the PromQL)."""
    match sli:
        case RatioSLI():
            total = _total(answers.get(Increase(sli.total, window)))
            if sli.bad is not None:
                errors = sum(_events(answers.get(Increase(s, window))) for s in sli.bad_selectors)
            else:
                assert sli.good is not None
                errors = total - _events(answers.get(Increase(sli.good, window)))
        case LatencySLI():
            total = _total(answers.get(Increase(sli.count, window)))
            buckets = answers.get(Increase(sli.bucket, window, True))
            good = buckets.get(sli.threshold) if isinstance(buckets, dict) else None
            if good is None:
                raise CollectorError(f"{sli.histogram} has no bucket le={sli.threshold:g}")
            errors = total - good
        case NativeLatencySLI() | QuerySLI() | RawSLI():
            raise CollectorError(f"not a selector-based SLI: {type(sli).__name__}")
        case _:
            assert_never(sli)
    return Counts(errors=min(max(errors, 0.0), total), total=total)
