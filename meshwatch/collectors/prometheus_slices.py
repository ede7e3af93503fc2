"""Timeslices SLOs on Prometheus: one query per SLO per cycle (`meshwatch.sli.slices`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from meshwatch import conventions as c
from meshwatch.collectors.base import NO_SERIES, NO_TRAFFIC, SLOPlan, WindowCounts
from meshwatch.collectors.prometheus_http import PrometheusQuerier, Sample
from meshwatch.errors import CollectorError, NoDataError
from meshwatch.model import SLO, Counts
from meshwatch.sli.slices import PART_LABEL, slices_query
from meshwatch.slo.timeslices import last_slice_end


def measure_slices(querier: PrometheusQuerier, plan: SLOPlan, now: datetime) -> WindowCounts:
    """Every count window of a Timeslices plan in slices; {} for other plans."""
    return slices_at(querier, plan.slo, plan.count_windows, now)


def slices_at(
    querier: PrometheusQuerier, slo: SLO, windows: Sequence[timedelta], now: datetime
) -> dict[timedelta, Counts | CollectorError]:
    """Counts in slices of each window ending at the latest complete slice at `now`, in one
    query; {} unless `slo` budgets in slices. A failing query makes every window that
    failure."""
    budgeting = slo.timeslices
    if budgeting is None:
        return {}
    try:
        query = slices_query(slo.sli, budgeting, windows)
        samples = querier.instant(query, last_slice_end(now, budgeting.slice)) if query else []
    except CollectorError as exc:
        return dict.fromkeys(windows, exc)
    return parse_slices(samples, windows)


def parse_slices(
    samples: Sequence[Sample], windows: Sequence[timedelta]
) -> dict[timedelta, Counts | CollectorError]:
    """Counts in slices per window from the answer of `slices_query`."""
    parts: dict[str, dict[str, float]] = {}
    for sample in samples:
        seconds = sample.labels.get(c.LABEL_WINDOW, "")
        parts.setdefault(seconds, {})[sample.labels.get(PART_LABEL, "")] = sample.value
    out: dict[timedelta, Counts | CollectorError] = {}
    for window in windows:
        found: Mapping[str, float] = parts.get(f"{window.total_seconds():.0f}", {})
        counted, bad = found.get("counted"), found.get("bad", 0.0)
        if counted is None or math.isnan(counted) or counted == 0:
            out[window] = NoDataError(NO_SERIES)
        elif not found.get("traffic"):
            out[window] = NoDataError(NO_TRAFFIC)
        else:
            out[window] = Counts(errors=bad, total=counted)
    return out
