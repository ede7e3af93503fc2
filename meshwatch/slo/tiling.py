"""How a report counts each request once from stored statuses (pure arithmetic).

A stored status at time `t` knows, per window `w`, the requests and errors in (t - w, t].
Summing those over statuses double-counts wherever two windows overlap. Reports therefore
take, per status, ONE window standing for the time since the previous status (`gap`),
never more: the window closest to the gap among the longest one not over it and the
shortest one over it (at most `LONGER` x the gap). A window that is not exactly the gap
(evaluation times jitter; a restart moves the last status of an hour) stands for the gap
when it is within `JITTER` shorter, or at most `LONGER` longer: its counts are scaled by
`gap / w`, i.e. the window's average rate over the gap (as Prometheus' `increase()`
extrapolates). A shorter window leaves the rest of the gap uncovered: reported as such,
never filled in.

The same rule runs in SQL (`meshwatch.store.tiling`) and in Python
(`meshwatch.render.reports_build.slices_from_statuses`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

JITTER = 0.1  # a window up to 10 % shorter than the gap stands for it (6 min of an hour)
LONGER = 0.5  # a window up to 50 % longer than the gap stands for it, scaled down


@dataclass(frozen=True, slots=True)
class Tile:
    """The window a status contributes: `length` measured, standing for `span` of time."""

    length: timedelta
    span: timedelta

    @property
    def scale(self) -> float:
        """Factor applied to the window's counts so they stand for `span`."""
        return self.span / self.length


def pick(gap: timedelta, lengths: Iterable[timedelta]) -> Tile | None:
    """The tile for a status `gap` after the previous one, from its measured `lengths`."""
    if gap <= timedelta(0):
        return None
    known = list(lengths)
    shorter = [length for length in known if length <= gap]
    longer = [length for length in known if gap < length <= gap * (1.0 + LONGER)]
    short = max(shorter) if shorter else None
    long = min(longer) if longer else None
    if short is None and long is None:
        return None
    if short is None or (long is not None and long - gap < gap - short):
        assert long is not None
        return Tile(long, gap)
    span = gap if gap <= short * (1.0 + JITTER) else short
    return Tile(short, span)


def data_span(coverage: float | None, period: timedelta | None) -> timedelta | None:
    """Time with samples in the period ending at a status (its `coverage` of `period`)."""
    if coverage is None or period is None:
        return None
    return period * min(max(coverage, 0.0), 1.0)
