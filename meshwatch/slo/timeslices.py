"""Timeslices budgeting (OpenSLO `Timeslices` / `RatioTimeslices`): counting in slices.

The period is cut into consecutive slices of `Timeslices.slice`, aligned to multiples of the
slice length since the Unix epoch (a 1m slice is a wall-clock minute). Each slice gets a
"badness" from the request counts measured over it:

* Timeslices: 1 when the slice's error ratio is above `1 - slice_target` (its SLI below the
  slice target), else 0. A slice whose series exist but saw no request is **not bad** (0):
  OpenSLO counts a slice bad "when the ratio is below the timeSliceTarget", and an idle slice
  has no ratio below anything; its examples size the budget on every minute of the window.
* RatioTimeslices: the slice's error ratio (0..1); an idle slice has no ratio to average and
  is left out.

A slice whose series do not exist at all (target down, before the service existed) is left
out in both methods: no data is not good data. A window in which no slice saw a request is
"no traffic" (unknown), never 100 % - even though its idle slices are not bad.

The window's `Counts` are then counted in slices - errors = sum of the badness, total = slices
counted - so the budget, the burn rates and the alert conditions are the same functions as for
requests (`meshwatch.slo.budget`, `.policy`): the bad-slice share over the window divided by
`1 - objective` is the burn rate in slices, and the budget in slices is `(1 - objective) x`
the slices of the whole period.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from meshwatch.model import Counts, Timeslices

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def slice_badness(counts: Counts | None, budgeting: Timeslices) -> float | None:
    """How bad one slice is (0 good .. 1 bad), or None when it is not counted.

    `counts` are the slice's request counts (errors, total); None when it had no series.
    Raises ValueError for negative or infinite counts.
    """
    if counts is None or math.isnan(counts.total) or math.isnan(counts.errors):
        return None
    if counts.total < 0 or counts.errors < 0 or math.isinf(counts.total + counts.errors):
        raise ValueError(f"slice counts must be finite and not negative, got {counts!r}")
    if counts.total == 0:
        return None if budgeting.ratio else 0.0
    ratio = min(counts.errors / counts.total, 1.0)
    if budgeting.ratio:
        return ratio
    return 1.0 if ratio > budgeting.allowed_error else 0.0


def slice_counts(per_slice: Iterable[Counts | None], budgeting: Timeslices) -> Counts | None:
    """A window's counts in slices: errors = bad slices (or summed error ratios), total =
    slices counted. None when no slice had series; total 0 ("no traffic") when no slice saw
    a request."""
    bad = 0.0
    counted = 0
    traffic = False
    seen = False
    for counts in per_slice:
        if counts is None:
            continue
        seen = True
        traffic = traffic or counts.total > 0
        value = slice_badness(counts, budgeting)
        if value is not None:
            bad += value
            counted += 1
    if not seen:
        return None
    if not traffic:
        return Counts(errors=0.0, total=0.0)
    return Counts(errors=bad, total=float(counted))


def slice_ends(window: timedelta, slice_length: timedelta, now: datetime) -> tuple[datetime, ...]:
    """Ends of the `window // slice_length` latest complete slices at `now`, oldest first.

    Slices are aligned to multiples of `slice_length` since the epoch; the slice in progress
    at `now` is not complete and not included, so a window is measured on the whole slices
    that closed last (up to one slice behind `now`) - as the generated rules, which read the
    W / s latest slice samples. For a calendar period so far (`now - start`, the start
    aligned) that is every complete slice since the start. Raises ValueError unless both
    lengths are positive and `now` is timezone-aware.
    """
    if slice_length <= timedelta(0) or window <= timedelta(0):
        raise ValueError("window and slice must be positive")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    last = last_slice_end(now, slice_length)
    return tuple(last - k * slice_length for k in reversed(range(window // slice_length)))


def last_slice_end(now: datetime, slice_length: timedelta) -> datetime:
    """End of the latest complete slice at `now` (`now` itself when it is on a boundary)."""
    step = slice_length // timedelta(microseconds=1)
    elapsed = (now - EPOCH) // timedelta(microseconds=1)
    return EPOCH + timedelta(microseconds=elapsed // step * step)


def slices_in(period: timedelta, slice_length: timedelta) -> int:
    """Slices in a whole period (the budget's base): 43,200 one-minute slices in 30 days."""
    return period // slice_length


def allowed_bad_slices(objective: float, period: timedelta, slice_length: timedelta) -> float:
    """Bad slices the objective allows over a period: (1 - objective) x slices.

    OpenSLO's example: 99.95 % over a week of 1-minute slices allows 5.04 bad minutes.
    """
    return (1.0 - objective / 100.0) * slices_in(period, slice_length)
