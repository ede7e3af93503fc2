"""PromQL builders per SLI kind, shared by the rule generator and the Prometheus collector.

errors_increase(sli, window)   -> bad events in window       (one series, no labels)
requests_increase(sli, window) -> requests in window         (one series, no labels)
error_ratio(sli, window)       -> errors/requests, NaN without traffic, <= 1
guarded_ratio(errors, requests)-> the same guard for any two expressions
has_counts(sli)                -> False for raw error-ratio SLIs (no counts)
le_spellings / le_matcher      -> histogram bound in every `le` spelling
"""

from __future__ import annotations

from meshwatch.sli.buckets import le_matcher, le_spellings
from meshwatch.sli.promql import (
    counts_are_events,
    error_ratio,
    errors_increase,
    guarded_ratio,
    has_counts,
    render_template,
    requests_increase,
)

__all__ = [
    "counts_are_events",
    "error_ratio",
    "errors_increase",
    "guarded_ratio",
    "has_counts",
    "le_matcher",
    "le_spellings",
    "render_template",
    "requests_increase",
]
