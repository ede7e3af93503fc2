"""Timeslices math: a slice's verdict, a window's counts in slices, alignment, the budget."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshwatch.collectors.slices import window_slices
from meshwatch.errors import NoDataError
from meshwatch.model import SLO, Alerting, Counts, RatioSLI, Selector, State, Timeslices, Window
from meshwatch.slo.evaluate import evaluate
from meshwatch.slo.timeslices import (
    allowed_bad_slices,
    slice_badness,
    slice_counts,
    slice_ends,
    slices_in,
)

M = timedelta(minutes=1)
TS = Timeslices(M, 95.0)
RATIO = Timeslices(M, 0.0, ratio=True)
NOW = datetime(2026, 11, 16, 12, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("counts", "budgeting", "expected"),
    [
        pytest.param(Counts(5, 100), TS, 0.0, id="exactly-at-target-is-good"),
        pytest.param(Counts(6, 100), TS, 1.0, id="below-target-is-bad"),
        pytest.param(Counts(0, 0), TS, 0.0, id="idle-slice-is-not-bad"),
        pytest.param(None, TS, None, id="no-series-is-not-counted"),
        pytest.param(Counts(float("nan"), float("nan")), TS, None, id="nan-is-not-counted"),
        pytest.param(Counts(101, 100), TS, 1.0, id="errors-above-total-clamped"),
        pytest.param(Counts(30, 100), RATIO, 0.3, id="ratio-is-the-error-ratio"),
        pytest.param(Counts(0, 0), RATIO, None, id="ratio-idle-left-out"),
    ],
)
def test_slice_badness(
    counts: Counts | None, budgeting: Timeslices, expected: float | None
) -> None:
    assert slice_badness(counts, budgeting) == expected


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="not negative"):
        slice_badness(Counts(-1, 10), TS)


def test_window_counts_in_slices() -> None:
    slices = [Counts(0, 100), Counts(50, 100), None, Counts(0, 0), Counts(1, 10)]
    # bad: the 50 % and the 10 % slice; counted: 4 (the one without series is left out)
    assert slice_counts(slices, TS) == Counts(errors=2.0, total=4.0)
    # ratio: (0 + 0.5 + 0.1) over the 3 slices with traffic
    counts = slice_counts(slices, RATIO)
    assert counts is not None and counts.total == 3.0
    assert counts.errors == pytest.approx(0.6)


def test_a_window_without_any_traffic_is_no_traffic_not_100_percent() -> None:
    assert slice_counts([Counts(0, 0)] * 5, TS) == Counts(0.0, 0.0)
    assert slice_counts([None, None], TS) is None


def test_uneven_traffic_weighs_each_slice_once() -> None:
    # 11 slices of 1 request with 1 error, one of 1000 clean requests: by occurrences the
    # window is 98.9 % good; in slices 1 of 12, averaged 1/12 too (slice ratios 1 and 0).
    slices = [Counts(1, 1)] * 11 + [Counts(0, 1000)]
    assert slice_counts(slices, TS) == Counts(11.0, 12.0)
    assert slice_counts(slices, RATIO) == Counts(11.0, 12.0)


def test_slice_ends_are_the_latest_complete_aligned_slices() -> None:
    ends = slice_ends(timedelta(minutes=5), M, NOW)
    assert ends[-1] == datetime(2026, 11, 16, 12, 0, tzinfo=UTC)  # 12:00:00-12:01 is in progress
    assert ends[0] == datetime(2026, 11, 16, 11, 56, tzinfo=UTC)
    assert len(ends) == 5
    assert slice_ends(timedelta(seconds=90), M, NOW) == (ends[-1],)  # whole slices only


@settings(deadline=None)  # timing on a loaded machine is not what is tested
@given(
    seconds=st.integers(min_value=0, max_value=10**6),
    window=st.integers(min_value=1, max_value=200),
    step=st.sampled_from([1, 10, 30, 60, 300]),
)
def test_slice_ends_tile_the_window(seconds: int, window: int, step: int) -> None:
    now = NOW + timedelta(seconds=seconds, microseconds=seconds % 7)
    length = timedelta(seconds=step)
    ends = slice_ends(window * length, length, now)
    assert all(b - a == length for a, b in itertools.pairwise(ends))
    assert all((e - datetime(1970, 1, 1, tzinfo=UTC)) % length == timedelta(0) for e in ends)
    assert all(now - length < ends[-1] <= now for _ in ends)
    assert len(ends) == window


def test_budget_in_slices_follows_openslo_example() -> None:
    # OpenSLO: 99.95 % over a week of 1-minute slices allows 5 minutes 2.4 seconds
    assert slices_in(timedelta(days=7), M) == 10080
    assert allowed_bad_slices(99.95, timedelta(days=7), M) == pytest.approx(5.04)


def minutes_slo() -> SLO:
    sli = RatioSLI(total=Selector("requests_total"), bad=Selector("errors_total"))
    return SLO(
        "checkout",
        "minutes",
        99.0,
        Window.rolling(timedelta(days=30)),
        sli,
        alerting=Alerting(),
        timeslices=TS,
    )


def test_evaluate_counts_budget_and_burn_in_slices() -> None:
    slo = minutes_slo()
    period = Counts(errors=216.0, total=43200.0)  # half of the 432 bad minutes allowed
    windows = {
        timedelta(minutes=5): Counts(5.0, 5.0),
        timedelta(hours=1): Counts(9.0, 60.0),  # 15x
        timedelta(minutes=30): Counts(9.0, 30.0),
        timedelta(hours=6): Counts(9.0, 360.0),
    }
    status = evaluate(slo, windows, NOW, period_counts=period, period_requests=43200.0)
    assert status.budget_remaining == pytest.approx(0.5)
    assert status.budget_remaining_requests == pytest.approx(216.0)  # slices left
    assert status.burn_rate["1h"] == pytest.approx(15.0)
    assert status.sli["30d"] == pytest.approx(1 - 216 / 43200)
    assert status.state is State.WARNING and "page" in status.reason


def test_one_bad_slice_pages_without_a_traffic_guard() -> None:
    # 9 bad minutes in the hour with a single request each still spend 2 % of the budget
    slo = minutes_slo()
    windows = {timedelta(hours=1): Counts(9.0, 60.0), timedelta(minutes=5): Counts(1.0, 5.0)}
    status = evaluate(slo, windows, NOW, period_counts=Counts(9.0, 1000.0))
    assert status.state is State.WARNING


@settings(deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.builds(
                lambda e, t: Counts(min(e, t), t),
                st.integers(min_value=0, max_value=50),
                st.integers(min_value=0, max_value=50),
            ),
        ),
        max_size=40,
    ),
    st.booleans(),
)
def test_running_sums_agree_with_slice_counts(per_slice: list[Counts | None], ratio: bool) -> None:
    budgeting = RATIO if ratio else TS
    windows = [k * M for k in (1, 3, 10, 60)]
    found = window_slices(per_slice, budgeting, windows)
    for window in windows:
        n = window // M
        expected = slice_counts(per_slice[-n:] if per_slice else [], budgeting)
        got = found[window]
        if expected is None:
            assert isinstance(got, NoDataError)
        else:
            assert isinstance(got, Counts)
            assert got.total == expected.total
            assert got.errors == pytest.approx(expected.errors)
