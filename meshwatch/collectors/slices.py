"""Counts in slices for Timeslices SLOs, from either source (`meshwatch.slo.timeslices`).

`Measured.slices` maps each window of a Timeslices plan to its counts in slices (errors =
bad slices, total = slices counted), or why there are none - as `Measured.counts` does in
requests.

* In-process sources (the scraper): `SliceLedger` asks `counts(sli, [slice], end)` once per
  complete slice and remembers the answer, so a cycle only measures the slices that closed
  since the last one, and a slice keeps the verdict it got from fine-grained history even
  after the history is thinned out (1-second points for 10 minutes, 10-second for 2 hours,
  1-minute for a day: see `scrape_history`). The newest slice is measured again next cycle,
  in case a scrape of its last second was still on its way. After a restart, slices older
  than a day are judged from the thinned history (5-minute points): a slice shorter than a
  point's spacing then gets the whole step's increase or none of it.
* Prometheus: one query per Timeslices SLO (`prometheus_slices`, `meshwatch.sli.slices`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from meshwatch.collectors.base import NO_SERIES, SLICollector, WindowCounts
from meshwatch.errors import CollectorError, NoDataError
from meshwatch.model import SLI, Counts, Timeslices
from meshwatch.slo.timeslices import last_slice_end, slice_badness, slice_ends

SliceValue = Counts | None


def _slice_value(value: Counts | CollectorError) -> SliceValue:
    """One slice's counts: no series -> None (not counted), no traffic -> zero counts."""
    if isinstance(value, Counts):
        return value
    if isinstance(value, NoDataError):
        return None if value.reason == NO_SERIES else Counts(0.0, 0.0)
    raise value


def window_slices(
    per_slice: Sequence[SliceValue], budgeting: Timeslices, windows: Sequence[timedelta]
) -> dict[timedelta, Counts | CollectorError]:
    """Each window's counts in slices from the per-slice counts (oldest first, ending with
    the latest complete slice): `slice_counts` of each window's tail, from running sums so
    that a 30-day window of 1-minute slices costs one pass, not one per window."""
    seen, traffic, counted, bad = [0], [0], [0], [0.0]
    for value in reversed(per_slice):  # newest first: a window is a prefix
        badness = slice_badness(value, budgeting)
        seen.append(seen[-1] + (value is not None))
        traffic.append(traffic[-1] + (value is not None and value.total > 0))
        counted.append(counted[-1] + (badness is not None))
        bad.append(bad[-1] + (badness or 0.0))
    out: dict[timedelta, Counts | CollectorError] = {}
    for window in windows:
        n = min(window // budgeting.slice, len(per_slice))
        if not seen[n]:
            out[window] = NoDataError(NO_SERIES)
        elif not traffic[n]:
            out[window] = Counts(0.0, 0.0)
        else:
            out[window] = Counts(errors=bad[n], total=float(counted[n]))
    return out


class SliceLedger:
    """Per-slice counts of each (SLI, slice length), measured once per complete slice."""

    def __init__(self) -> None:
        self._known: dict[tuple[SLI, timedelta], dict[datetime, SliceValue]] = {}

    def measure(
        self,
        collector: SLICollector,
        sli: SLI,
        budgeting: Timeslices,
        windows: Sequence[timedelta],
        now: datetime,
    ) -> WindowCounts:
        """Counts in slices of every window ending at the latest complete slice."""
        length = budgeting.slice
        ends = slice_ends(max(windows), length, now) if max(windows) >= length else ()
        known = self._known.setdefault((sli, length), {})
        settled = last_slice_end(now, length) - length
        for stale in [end for end in known if not ends or end < ends[0]]:
            del known[stale]
        per_slice: list[SliceValue] = []
        try:
            for end in ends:
                if end in known:
                    per_slice.append(known[end])
                    continue
                value = _slice_value(collector.counts(sli, (length,), end)[length])
                if end <= settled:
                    known[end] = value
                per_slice.append(value)
        except CollectorError as exc:
            return dict.fromkeys(windows, exc)
        return window_slices(per_slice, budgeting, windows)
