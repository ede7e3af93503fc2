"""Bounded history of one accumulated counter: full detail for minutes, coarser for weeks.

The scrape store turns every counter it follows into an *accumulated increase* (the sum of
all increases seen, resets already handled), which never decreases. The increase over a
window is then `acc(now) - acc(now - window)`, where `acc(t)` is the value of the newest
point at or before `t`. To answer a 30-day window without keeping 2.6 million points per
counter, older points are thinned to one per bucket of a coarser resolution:

    tier   resolution   reaches back   points at most
    0      1 s          10 min         601
    1      10 s         2 h            661
    2      1 min        1 d            1,321
    3      5 min        7 d            1,729
    4      30 min       35 d           1,345      -> 5,657 points, 16 bytes each (~90 KiB)

The accumulated value at a window's start is interpolated linearly between the two points
around it, so the only error is how unevenly events fell within that one bucket (1 s for
windows up to 10 min, 10 s up to 2 h, 1 min up to 1 d, ...): at most one bucket's worth of
events, i.e. < 0.3 % of a 1 h, 6 h, 1 d, 3 d or 30 d window, and ~0 at a steady rate.
Points older than the last tier are dropped, the newest dropped value kept as the floor,
so an even longer window counts everything since that floor.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class Tier:
    """Keep one point (the newest) per `resolution` bucket for points up to `reach` old."""

    resolution: timedelta
    reach: timedelta


DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier(timedelta(seconds=1), timedelta(minutes=10)),
    Tier(timedelta(seconds=10), timedelta(hours=2)),
    Tier(timedelta(minutes=1), timedelta(days=1)),
    Tier(timedelta(minutes=5), timedelta(days=7)),
    Tier(timedelta(minutes=30), timedelta(days=35)),
)


def max_points(tiers: tuple[Tier, ...] = DEFAULT_TIERS) -> int:
    """Most points a CounterHistory with these tiers ever holds, whatever the record rate."""
    total, previous = 0, timedelta(0)
    for tier in tiers:
        total += math.ceil((tier.reach - previous) / tier.resolution) + 1
        previous = tier.reach
    return total


class _TierPoints:
    __slots__ = ("accs", "reach", "resolution", "times")

    def __init__(self, tier: Tier) -> None:
        self.resolution = tier.resolution.total_seconds()
        self.reach = tier.reach.total_seconds()
        self.times = array("d")
        self.accs = array("d")

    def add(self, t: float, acc: float) -> None:
        """Append, or replace the newest point when it is in the same bucket."""
        times = self.times
        if times and t // self.resolution == times[-1] // self.resolution:
            times[-1] = t
            self.accs[-1] = acc
        else:
            times.append(t)
            self.accs.append(acc)

    def expired(self, now: float) -> int:
        """How many of the oldest points are older than this tier reaches."""
        times = self.times
        horizon = now - self.reach
        if not times or times[0] > horizon:
            return 0
        return bisect_right(times, horizon)


class CounterHistory:
    """A never-decreasing step function of time (seconds since the epoch), thinned by age."""

    __slots__ = ("_first", "_floor", "_newest", "_tiers", "_truncated")

    def __init__(self, tiers: tuple[Tier, ...] = DEFAULT_TIERS) -> None:
        if not tiers:
            raise ValueError("at least one tier is needed")
        self._tiers = [_TierPoints(t) for t in tiers]
        self._floor = 0.0  # acc of the newest point dropped from the last tier
        self._newest: float | None = None
        self._truncated = False  # points older than the last tier reaches were dropped
        self._first: float | None = None  # time of the first point ever recorded

    def record(self, t: float, acc: float) -> None:
        """Add the accumulated value `acc` observed at `t` (earlier times are clamped)."""
        if self._newest is not None and t < self._newest:
            t = self._newest
        if self._first is None:
            self._first = t
        self._newest = t
        self._tiers[0].add(t, acc)
        self._cascade(t)

    def _cascade(self, now: float) -> None:
        tiers = self._tiers
        for i, tier in enumerate(tiers):
            count = tier.expired(now)
            if not count:
                continue
            if i + 1 < len(tiers):
                older = tiers[i + 1]
                for j in range(count):
                    older.add(tier.times[j], tier.accs[j])
            else:
                self._floor = tier.accs[count - 1]
                self._truncated = True
            del tier.times[:count]
            del tier.accs[:count]

    def at(self, t: float) -> float:
        """Accumulated value at `t`.

        Between two points it is interpolated linearly (events spread evenly over the scrape
        interval or bucket); after the newest point it is the newest value (nothing is
        invented past the last scrape); before the oldest point it is the floor.
        """
        after: tuple[float, float] | None = None  # oldest point of the next newer tier
        for tier in self._tiers:  # newest tier first
            times = tier.times
            if not times:
                continue
            if times[0] <= t:
                i = bisect_right(times, t) - 1
                t0, a0 = times[i], tier.accs[i]
                if i + 1 < len(times):
                    after = (times[i + 1], tier.accs[i + 1])
                if after is None or after[0] <= t0:
                    return a0
                t1, a1 = after
                return a0 + (a1 - a0) * (t - t0) / (t1 - t0)
            after = (times[0], tier.accs[0])
        return self._floor

    def any_between(self, start: float, end: float) -> bool:
        """Whether a point was recorded in (start, end]: did any series exist then."""
        for tier in self._tiers:
            times = tier.times
            if not times:
                continue
            i = bisect_right(times, start)
            if i < len(times) and times[i] <= end:
                return True
        return False

    def newest_time(self) -> float | None:
        return self._newest

    def oldest_time(self) -> float | None:
        """When the history begins (coverage): the first point ever recorded (thinning keeps
        the newest point of a bucket, so the oldest point held may be later than that).

        `-inf` once older points were dropped (the history reaches past the last tier);
        None when nothing was recorded.
        """
        return -math.inf if self._truncated else self._first

    def points(self) -> tuple[list[float], list[float]]:
        """All (times, accs), oldest first: what `restore` takes back."""
        times: list[float] = []
        accs: list[float] = []
        for tier in reversed(self._tiers):  # oldest tier first
            times.extend(tier.times)
            accs.extend(tier.accs)
        return times, accs

    @property
    def floor(self) -> float:
        return self._floor

    @classmethod
    def restore(
        cls, floor: float, times: list[float], accs: list[float], tiers: tuple[Tier, ...]
    ) -> CounterHistory:
        """A history holding these points (oldest first), thinned into `tiers`."""
        if len(times) != len(accs):
            raise ValueError("times and accs differ in length")
        history = cls(tiers)
        history._floor = floor
        history._truncated = floor != 0.0  # a floor is what dropped points leave behind
        for t, acc in zip(times, accs, strict=True):
            history.record(t, acc)
        return history

    def __len__(self) -> int:
        return sum(len(t.times) for t in self._tiers)
