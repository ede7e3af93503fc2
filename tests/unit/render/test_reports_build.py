from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from meshwatch.model import Counts, SLOStatus, State
from meshwatch.render.reports_build import (
    ActionInput,
    AlertInput,
    Slice,
    SLOInput,
    build_report,
    report_window,
    slices_from_statuses,
    slo_report,
)
from tests.support.report_history import slo

START = datetime(2026, 11, 16, tzinfo=UTC)
END = START + timedelta(days=7)
SLO = slo("checkout", "availability", 99.9)


def status(at: datetime, windows: dict[str, tuple[float, float]]) -> SLOStatus:
    """windows: name -> (requests, error ratio)."""
    return SLOStatus(
        slo_id=SLO.id,
        service=SLO.service,
        slo=SLO.name,
        at=at,
        state=State.OK,
        reason="",
        objective=SLO.target,
        sli={name: 1 - ratio for name, (_, ratio) in windows.items()},
        requests={name: requests for name, (requests, _) in windows.items()},
    )


def test_uneven_traffic_is_request_weighted_not_averaged() -> None:
    # 1 busy hour at 1 % errors, 167 quiet hours without errors: the mean of the hourly
    # ratios is 0.006 %, the request-weighted ratio 0.5 %.
    statuses = [
        status(
            START + timedelta(hours=i),
            {"1h": (100_000.0 if i == 1 else 10.0, 0.01 if i == 1 else 0.0)},
        )
        for i in range(1, 169)
    ]
    report = slo_report(
        SLOInput(SLO, slices_from_statuses(statuses, START, END)), START, END, timedelta(hours=1)
    )
    total = 100_000.0 + 167 * 10.0
    assert report.requests == pytest.approx(total)
    assert report.errors == pytest.approx(1_000.0)
    assert report.achieved_sli == pytest.approx(1 - 1_000.0 / total)
    assert report.budget is not None
    assert report.budget.consumed_ratio == pytest.approx((1_000.0 / total) / 0.001)
    assert report.state == "breached"


def test_tiling_uses_the_longest_window_that_fits_and_never_counts_twice() -> None:
    statuses = [
        status(START + timedelta(minutes=5), {"5m": (50.0, 0.0), "1h": (600.0, 0.5)}),
        status(START + timedelta(minutes=10), {"5m": (50.0, 0.02), "1h": (600.0, 0.5)}),
        # an hour later: the 1h window now fits exactly behind the last counted time
        status(START + timedelta(minutes=70), {"5m": (50.0, 0.0), "1h": (600.0, 0.01)}),
    ]
    slices = slices_from_statuses(statuses, START, END)
    assert slices == [
        Slice(START, START + timedelta(minutes=5), 0.0, 50.0),
        Slice(
            START + timedelta(minutes=5), START + timedelta(minutes=10), pytest.approx(1.0), 50.0
        ),  # type: ignore[arg-type]
        Slice(
            START + timedelta(minutes=10), START + timedelta(minutes=70), pytest.approx(6.0), 600.0
        ),  # type: ignore[arg-type]
    ]


def test_raw_30s_evaluations_are_thinned_to_their_5m_windows() -> None:
    statuses = [
        status(START + timedelta(seconds=30 * i), {"5m": (300.0, 0.0)}) for i in range(1, 121)
    ]
    slices = slices_from_statuses(statuses, START, START + timedelta(hours=1))
    assert len(slices) < 20  # a few points out of 120, each standing for minutes
    assert all(a.end <= b.start for a, b in itertools.pairwise(slices))  # never overlapping
    covered = sum((s.end - s.start for s in slices), timedelta(0))
    assert timedelta(minutes=59) <= covered <= timedelta(hours=1)  # the last 30 s: no tile
    assert sum(s.total for s in slices) == pytest.approx(covered.total_seconds())  # 1/s


def test_a_window_longer_than_the_gap_is_scaled_to_the_gap_not_counted_twice() -> None:
    """A restart left the last status of an hour 50 minutes after the one before: its 1h
    window stands for those 50 minutes (counts x 50/60), never for the 10 already counted."""
    statuses = [
        status(START + timedelta(hours=1), {"5m": (50.0, 0.0), "1h": (600.0, 0.0)}),
        status(START + timedelta(hours=1, minutes=50), {"5m": (50.0, 0.0), "1h": (600.0, 0.0)}),
    ]
    slices = slices_from_statuses(statuses, START, END)
    assert [s.total for s in slices] == [600.0, pytest.approx(500.0)]
    assert slices[1].start == START + timedelta(hours=1)


def test_missing_history_lowers_coverage_and_is_not_filled_in() -> None:
    statuses = [status(START + timedelta(hours=i), {"1h": (100.0, 0.0)}) for i in range(1, 85)]
    report = slo_report(
        SLOInput(SLO, slices_from_statuses(statuses, START, END)), START, END, timedelta(hours=1)
    )
    assert report.coverage == pytest.approx(0.5)
    assert report.requests == 8_400.0
    assert [b.sli for b in report.buckets[84:]] == [None] * 84


def test_no_traffic_is_unknown_not_perfect() -> None:
    report = slo_report(SLOInput(SLO, []), START, END, timedelta(hours=1))
    assert report.state == "unknown"
    assert report.achieved_sli is None and report.budget is None


def test_prometheus_period_counts_win_over_the_slices() -> None:
    item = SLOInput(SLO, [Slice(START, END, 1.0, 10.0)], period_counts=Counts(5.0, 100_000.0))
    report = slo_report(item, START, END, timedelta(hours=6))
    assert report.requests == 100_000.0 and report.errors == 5.0
    assert report.coverage == 1.0  # the one slice spans the period
    assert report.state == "ok"


def test_burn_down_ends_at_the_period_budget() -> None:
    statuses = [
        status(START + timedelta(hours=i), {"1h": (1_000.0, 0.0005)}) for i in range(1, 169)
    ]
    report = slo_report(
        SLOInput(SLO, slices_from_statuses(statuses, START, END)), START, END, timedelta(hours=1)
    )
    remaining = [b.budget_remaining for b in report.buckets]
    assert remaining == sorted(remaining, reverse=True)  # type: ignore[type-var]
    assert report.budget is not None
    assert remaining[-1] == pytest.approx(report.budget.remaining_ratio)
    assert report.budget.remaining_ratio == pytest.approx(0.5)
    assert report.budget.total_minutes == pytest.approx(7 * 24 * 60 * 0.001)


def test_alerts_and_actions_are_limited_to_the_period() -> None:
    before, inside = START - timedelta(days=2), START + timedelta(days=1)
    item = SLOInput(
        SLO,
        [],
        alerts=[
            AlertInput("old", "page", "resolved", before, before + timedelta(hours=1)),
            AlertInput("spanning", "page", "resolved", before, START + timedelta(hours=1)),
            AlertInput("firing", "ticket", "firing", inside, None),
        ],
        actions=[
            ActionInput("shift", "r", "applied", before, "old", False),
            ActionInput("shift", "r", "dry-run", inside, "new", True),
        ],
    )
    report = slo_report(item, START, END, timedelta(hours=1))
    assert [a.name for a in report.alerts] == ["spanning", "firing"]
    assert [a.reason for a in report.actions] == ["new"]


@pytest.mark.parametrize(
    ("period", "at", "start", "end"),
    [
        pytest.param(
            "7d",
            datetime(2026, 11, 25, 8, tzinfo=UTC),
            datetime(2026, 11, 18, 8, tzinfo=UTC),
            datetime(2026, 11, 25, 8, tzinfo=UTC),
            id="7d-rolling",
        ),
        pytest.param(
            "30d",
            datetime(2026, 11, 25, tzinfo=UTC),
            datetime(2026, 10, 26, tzinfo=UTC),
            datetime(2026, 11, 25, tzinfo=UTC),
            id="30d-rolling",
        ),
        pytest.param(
            "calendar-month",
            datetime(2026, 11, 25, tzinfo=UTC),
            datetime(2026, 10, 1, tzinfo=UTC),
            datetime(2026, 11, 1, tzinfo=UTC),
            id="last-full-month",
        ),
        pytest.param(
            "calendar-month",
            datetime(2026, 1, 1, tzinfo=UTC),
            datetime(2025, 12, 1, tzinfo=UTC),
            datetime(2026, 1, 1, tzinfo=UTC),
            id="december",
        ),
    ],
)
def test_report_window(period: str, at: datetime, start: datetime, end: datetime) -> None:
    assert report_window(period, at) == (start, end)  # type: ignore[arg-type]


def test_summaries_are_request_weighted_across_slos() -> None:
    a = SLOInput(slo("a", "x", 99.0), [Slice(START, END, 10.0, 1_000.0)])
    b = SLOInput(slo("b", "x", 99.0), [Slice(START, END, 0.0, 9_000.0)])
    report = build_report([b, a], period="7d", start=START, end=END, source="history")
    assert [s.slo_id for s in report.slos] == ["a-x", "b-x"]
    assert report.mesh.achieved_sli == pytest.approx(1 - 10 / 10_000)
    assert report.mesh.requests == 10_000.0
    assert [s.name for s in report.services] == ["a", "b"]
