"""The engine reads a Timeslices SLO's numbers from `Measured.slices`, throughput from requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meshwatch.collectors.base import Measured
from meshwatch.engine.evaluate import evaluate_measured
from meshwatch.engine.plan import plan_for
from meshwatch.model import (
    SLO,
    Alerting,
    CalendarUnit,
    Counts,
    RatioSLI,
    Selector,
    State,
    Timeslices,
    Window,
)

NOW = datetime(2026, 11, 11, 0, 0, tzinfo=UTC)  # 10 days into November
M = timedelta(minutes=1)


def test_calendar_month_budget_is_in_the_months_slices() -> None:
    slo = SLO(
        "checkout",
        "minutes",
        99.0,
        Window.calendar(CalendarUnit.MONTH),
        RatioSLI(total=Selector("requests_total"), bad=Selector("errors_total")),
        alerting=Alerting(),
        timeslices=Timeslices(M, 95.0),
    )
    plan = plan_for(slo, NOW)
    elapsed = 10 * 1440
    slices = {w: Counts(0.0, w // M) for w in plan.windows}
    slices[plan.period] = Counts(100.0, float(elapsed))
    requests = {w: Counts(0.0, 600.0 * (w // M)) for w in plan.count_windows}
    status = evaluate_measured(plan, Measured(counts=requests, slices=slices), NOW)
    # November has 43,200 minutes: 432 bad ones allowed, 100 spent
    assert status.budget_remaining_requests == pytest.approx(332.0)
    assert status.period_sli == pytest.approx(1 - 100 / elapsed)
    assert status.throughput == pytest.approx(10.0)  # 600 requests a minute, not slices
    assert status.requests["calendar-month"] == elapsed
    assert status.state is State.OK
