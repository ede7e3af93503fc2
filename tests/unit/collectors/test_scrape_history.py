"""The thinned counter history: exact recent answers, bounded size, bounded error when old."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshwatch.collectors.scrape_history import DEFAULT_TIERS, CounterHistory, Tier, max_points

DAY = 86400.0


def test_default_bound_is_about_5700_points() -> None:
    assert max_points() == 601 + 661 + 1321 + 1729 + 1345 == 5657


def test_recent_points_are_exact_and_interpolated_between() -> None:
    history = CounterHistory()
    for second in range(100):
        history.record(1000.0 + second, float(second * 10))
    assert history.at(1099.0) - history.at(1089.0) == 100.0
    assert history.at(1050.5) == 505.0  # between two scrapes: interpolated
    assert history.at(5000.0) == 990.0  # after the newest point: nothing invented
    assert history.at(999.0) == 0.0  # before the first point: nothing counted yet


def test_one_point_per_bucket_keeps_the_newest() -> None:
    history = CounterHistory((Tier(timedelta(seconds=10), timedelta(hours=1)),))
    for t, acc in ((100.0, 1.0), (103.0, 2.0), (109.9, 3.0), (110.0, 4.0)):
        history.record(t, acc)
    assert len(history) == 2
    assert history.at(109.9) == 3.0
    assert history.at(109.95) == pytest.approx(3.5)


def test_thirty_days_at_one_second_stay_within_the_bound_and_the_floor_keeps_the_total() -> None:
    history = CounterHistory()
    bound = max_points()
    acc, t = 0.0, 0.0
    while t < 40 * DAY:
        acc += 1.0  # one event per 10 s
        history.record(t, acc)
        assert len(history) <= bound
        t += 10.0
    now = t - 10.0
    # Every window is right to within one bucket of the tier its start falls in.
    for window, resolution in (
        (300, 1),
        (3600, 10),
        (6 * 3600, 60),
        (3 * DAY, 300),
        (30 * DAY, 1800),
    ):
        expected = window / 10.0
        got = history.at(now) - history.at(now - window)
        assert expected <= got <= expected + resolution / 10.0 + 1, window
    # Longer than the last tier reaches: counted since the floor, about 35 d ago.
    assert history.at(now) - history.at(now - 60 * DAY) == pytest.approx(35 * DAY / 10, abs=181)


@settings(max_examples=50)
@given(gaps=st.lists(st.floats(min_value=0.01, max_value=4000.0), min_size=1, max_size=600))
def test_size_never_exceeds_the_bound_and_values_never_decrease(gaps: list[float]) -> None:
    history = CounterHistory(DEFAULT_TIERS)
    t = acc = 0.0
    for gap in gaps:
        t += gap
        acc += gap
        history.record(t, acc)
        assert len(history) <= max_points()
    probes = [t - k * 997.0 for k in range(50)]
    values = [history.at(p) for p in sorted(probes)]
    assert values == sorted(values)
    assert history.at(t) == acc


def test_any_between_tells_whether_something_was_recorded() -> None:
    history = CounterHistory()
    history.record(100.0, 1.0)
    assert history.any_between(99.0, 100.0)
    assert not history.any_between(100.0, 200.0)
    assert not history.any_between(0.0, 99.0)


def test_time_going_backwards_is_clamped() -> None:
    history = CounterHistory()
    history.record(100.0, 1.0)
    history.record(90.0, 2.0)
    assert history.newest_time() == 100.0
    assert history.at(100.0) == 2.0
