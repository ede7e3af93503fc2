"""Retention and downsampling of status history: the policy and its arithmetic (pure).

History is kept raw for `raw_for`, then one point per tier resolution until that tier's
`until` age, then dropped. A bucket keeps its last evaluation, the worst state seen in it and
the number of evaluations it stands for. With the default policy an SLO evaluated every
30 s needs, once its history is older than 400 days,

    1 d / 30 s + 6 d / 5 m + 28 d / 1 h + 365 d / 1 d = 2,880 + 1,728 + 672 + 365 = 5,645 rows,

where a year of raw evaluations would be 1,051,200 rows (186x more); for 1,000 SLOs that is
5.6 million rows instead of 1.05 billion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from meshwatch.store.types import to_micros

_US = 1_000_000


@dataclass(frozen=True, slots=True)
class Tier:
    """Keep one point per `resolution` for history younger than `until`."""

    resolution: timedelta
    until: timedelta


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Raw points for `raw_for`, then each tier in turn (finer to coarser)."""

    raw_for: timedelta = timedelta(days=1)
    tiers: tuple[Tier, ...] = (
        Tier(timedelta(minutes=5), timedelta(days=7)),
        Tier(timedelta(hours=1), timedelta(days=35)),
        Tier(timedelta(days=1), timedelta(days=400)),
    )

    def __post_init__(self) -> None:
        if self.raw_for <= timedelta(0):
            raise ValueError("raw_for must be positive")
        previous_until, previous_resolution = self.raw_for, timedelta(0)
        for tier in self.tiers:
            if tier.resolution < timedelta(seconds=1) or tier.resolution % timedelta(seconds=1):
                raise ValueError(f"tier resolution {tier.resolution} must be whole seconds")
            if tier.resolution <= previous_resolution:
                raise ValueError("tier resolutions must grow from tier to tier")
            if previous_resolution and tier.resolution % previous_resolution:
                raise ValueError(
                    f"tier resolution {tier.resolution} must be a multiple of {previous_resolution}"
                )
            if tier.until <= previous_until:
                raise ValueError("each tier must keep history longer than the one before")
            previous_until, previous_resolution = tier.until, tier.resolution

    @property
    def keep_for(self) -> timedelta:
        """Age past which history is deleted."""
        return self.tiers[-1].until if self.tiers else self.raw_for


@dataclass(frozen=True, slots=True)
class Compaction:
    """Merge rows finer than `step_s` with `at_us` < `before_us` into buckets of `step_s`."""

    step_s: int
    before_us: int


@dataclass(frozen=True, slots=True)
class PrunePlan:
    compactions: tuple[Compaction, ...]  # coarsest first: old raw rows go straight to it
    delete_before_us: int


def prune_plan(policy: RetentionPolicy, now: datetime) -> PrunePlan:
    """Which rows `prune(now)` merges and deletes.

    Tier i covers ages [until of tier i-1 (raw_for for the first), until of tier i). Its
    boundary in time is aligned down to the tier's resolution, so only whole buckets are
    merged; the deletion boundary is aligned to the last resolution likewise.
    """
    now_us = to_micros(now)
    compactions = []
    starts = (policy.raw_for, *(tier.until for tier in policy.tiers))[: len(policy.tiers)]
    for start, tier in zip(starts, policy.tiers, strict=True):
        step_us = int(tier.resolution.total_seconds()) * _US
        boundary = _align_down(now_us - _micros(start), step_us)
        compactions.append(Compaction(step_us // _US, boundary))
    last_step_us = int(policy.tiers[-1].resolution.total_seconds()) * _US if policy.tiers else 1
    delete_before = _align_down(now_us - _micros(policy.keep_for), last_step_us)
    return PrunePlan(tuple(reversed(compactions)), delete_before)


def rows_per_slo(policy: RetentionPolicy, interval: timedelta, history: timedelta) -> int:
    """Rows one SLO evaluated every `interval` holds after `history` of evaluations.

    Exact when `prune` runs at a `now` aligned to the coarsest resolution and every boundary
    (raw_for, each tier's until) is a multiple of the resolutions around it; otherwise at most
    one partial bucket more per tier (see `max_rows_per_slo`).
    """
    if interval <= timedelta(0) or history < timedelta(0):
        raise ValueError("interval must be positive and history not negative")
    rows = _ceil_div(min(history, policy.raw_for), interval)
    start = policy.raw_for
    for tier in policy.tiers:
        if history <= start:
            break
        covered = min(history, tier.until) - start
        rows += _ceil_div(covered, max(tier.resolution, interval))
        start = tier.until
    return rows


def max_rows_per_slo(policy: RetentionPolicy, interval: timedelta, history: timedelta) -> int:
    """Upper bound for any `now`: one extra partial bucket at each tier boundary."""
    return rows_per_slo(policy, interval, history) + 2 * len(policy.tiers) + 1


def raw_rows_per_slo(interval: timedelta, history: timedelta) -> int:
    """Rows one SLO would hold without pruning."""
    return _ceil_div(history, interval)


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * _US + delta.microseconds


def _align_down(micros: int, step_us: int) -> int:
    return micros - micros % step_us


def _ceil_div(a: timedelta, b: timedelta) -> int:
    return -(-_micros(a) // _micros(b))
