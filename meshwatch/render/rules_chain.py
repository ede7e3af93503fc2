"""How a window's counts are assembled from the recordings of shorter windows.

Only the 5m window reads the raw counters (`sum(increase(total[5m]))`). Every longer window W
is a sum of recordings of shorter windows taken at offsets that tile `(t - W, t]` exactly:

    30m = 5m + 5m offset 5m + ... + 5m offset 25m       (6 terms)
    1h  = 30m + 30m offset 30m
    6h  = 2h + 2h offset 2h + 2h offset 4h
    30d = 3d + 3d offset 3d + ... + 3d offset 27d       (10 terms)

Each term is a point read of one recorded series, so a 30-day window costs ten samples per
evaluation instead of every raw sample of every mesh series (Pyrra #1440, Sloth #504); the sum
is request-weighted (errors over requests of the same requests) and fresh: the newest term ends
at the evaluation instant. It is exact when the evaluation interval divides the terms' lengths
(15s, 30s, 1m, 5m do: every `t - k x 5m` is an earlier evaluation instant). A term with no
sample (before the rules existed, a Prometheus outage) counts as 0; the newest term has no
default, so a window exists exactly when the SLI's series exist now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from meshwatch.conventions import BASE_INTERVAL as BASE

MAX_TERMS = 12  # beyond this a window reads its raw counters instead (custom windows only)


@dataclass(frozen=True, slots=True)
class Term:
    """Recording of `window` read `offset` ago."""

    window: timedelta
    offset: timedelta


def plan(window: timedelta, recorded: tuple[timedelta, ...]) -> tuple[Term, ...] | None:
    """Terms of shorter recorded windows that tile `window` (largest first, at most
    MAX_TERMS), or None when it must read the raw counters (5m and shorter, a length that is
    not a multiple of 5m, or one that would need too many terms)."""
    if window <= BASE or window % BASE:
        return None
    shorter = sorted((w for w in recorded if BASE <= w < window and not w % BASE), reverse=True)
    terms: list[Term] = []
    covered = timedelta(0)
    for part in shorter:
        while covered + part <= window:
            terms.append(Term(part, covered))
            covered += part
    if covered != window or not 1 < len(terms) <= MAX_TERMS:
        return None
    return tuple(terms)


def chained_windows(windows: tuple[timedelta, ...]) -> dict[timedelta, tuple[Term, ...] | None]:
    """Every window (shortest first) with its terms; windows that read raw counters map to
    None. A window can only use windows that are themselves recorded before it."""
    out: dict[timedelta, tuple[Term, ...] | None] = {}
    for window in sorted(set(windows)):
        out[window] = plan(window, tuple(out))
    return out
