"""The retention policy and its arithmetic: how small a year of history stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meshwatch.store.retention import (
    Compaction,
    RetentionPolicy,
    Tier,
    max_rows_per_slo,
    prune_plan,
    raw_rows_per_slo,
    rows_per_slo,
)
from meshwatch.store.types import to_micros

S30 = timedelta(seconds=30)
YEAR = timedelta(days=365)


def test_a_year_of_30s_evaluations_of_1000_slos_stays_small() -> None:
    policy = RetentionPolicy()
    raw = raw_rows_per_slo(S30, YEAR)
    kept = rows_per_slo(policy, S30, YEAR)
    assert raw == 1_051_200  # 365 d x 2,880 evaluations a day
    # 1 d raw + 6 d at 5 m + 28 d at 1 h + 330 d (of the year) at 1 d
    assert kept == 2_880 + 6 * 288 + 28 * 24 + 330
    assert 1_000 * raw == 1_051_200_000
    assert 1_000 * kept == 5_610_000
    # Past 400 days of history the count stops growing: 365 daily points.
    steady = rows_per_slo(policy, S30, timedelta(days=2_000))
    assert steady == 2_880 + 1_728 + 672 + 365 == 5_645
    assert raw / steady > 186


@pytest.mark.parametrize(
    ("history", "rows"),
    [
        pytest.param(timedelta(hours=1), 120, id="younger-than-raw-for"),
        pytest.param(timedelta(days=1), 2_880, id="exactly-raw-for"),
        pytest.param(timedelta(days=2), 2_880 + 288, id="one-day-at-5m"),
        pytest.param(timedelta(days=8), 2_880 + 1_728 + 24, id="into-hourly"),
        pytest.param(timedelta(0), 0, id="nothing-yet"),
    ],
)
def test_rows_per_slo_by_age(history: timedelta, rows: int) -> None:
    assert rows_per_slo(RetentionPolicy(), S30, history) == rows


def test_evaluations_rarer_than_a_tier_resolution_are_not_multiplied() -> None:
    policy = RetentionPolicy(raw_for=timedelta(hours=1), tiers=(Tier(S30 * 2, timedelta(hours=2)),))
    # every 10 min: 6 raw points in the first hour, then one per evaluation, not one per minute
    assert rows_per_slo(policy, timedelta(minutes=10), timedelta(hours=2)) == 12


def test_the_bound_allows_one_partial_bucket_per_boundary() -> None:
    policy = RetentionPolicy()
    assert max_rows_per_slo(policy, S30, YEAR) == rows_per_slo(policy, S30, YEAR) + 7


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"raw_for": timedelta(0), "tiers": ()}, "raw_for", id="raw-for-zero"),
        pytest.param(
            {"tiers": (Tier(timedelta(hours=1), timedelta(days=2)), Tier(S30, timedelta(days=3)))},
            "grow",
            id="resolution-shrinks",
        ),
        pytest.param(
            {"tiers": (Tier(timedelta(minutes=5), timedelta(hours=12)),)},
            "longer",
            id="tier-shorter-than-raw",
        ),
        pytest.param(
            {
                "tiers": (
                    Tier(timedelta(minutes=5), timedelta(days=2)),
                    Tier(timedelta(minutes=7), timedelta(days=3)),
                )
            },
            "multiple",
            id="resolution-not-a-multiple",
        ),
        pytest.param(
            {"tiers": (Tier(timedelta(milliseconds=1500), timedelta(days=2)),)},
            "whole seconds",
            id="sub-second-resolution",
        ),
    ],
)
def test_invalid_policies_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetentionPolicy(**kwargs)  # type: ignore[arg-type]


def test_prune_plan_aligns_boundaries_and_goes_coarsest_first() -> None:
    now = datetime(2026, 11, 25, 10, 7, 30, tzinfo=UTC)
    plan = prune_plan(RetentionPolicy(), now)
    assert plan.compactions == (
        Compaction(86_400, to_micros(datetime(2026, 10, 21, tzinfo=UTC))),  # now - 35 d, to 1 d
        Compaction(3_600, to_micros(datetime(2026, 11, 18, 10, tzinfo=UTC))),  # now - 7 d, to 1 h
        Compaction(300, to_micros(datetime(2026, 11, 24, 10, 5, tzinfo=UTC))),  # now - 1 d, to 5 m
    )
    assert plan.delete_before_us == to_micros(datetime(2025, 10, 21, tzinfo=UTC))  # now - 400 d


def test_a_policy_without_tiers_only_expires() -> None:
    now = datetime(2026, 11, 25, 10, 0, 0, 1, tzinfo=UTC)
    plan = prune_plan(RetentionPolicy(raw_for=timedelta(days=2), tiers=()), now)
    assert plan.compactions == ()
    assert plan.delete_before_us == to_micros(now - timedelta(days=2))
