"""The cycle's query plan: what each SLO needs measured, built by the engine alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from meshwatch.engine.plan import PERCENTILE_WINDOW, build_plan, plan_for
from meshwatch.model import (
    SLO,
    Alerting,
    Backend,
    BurnRateWindow,
    CalendarUnit,
    LatencySLI,
    RatioSLI,
    RemediationPolicy,
    Selector,
    Severity,
    Window,
)
from meshwatch.slo.policy import alert_windows

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
RATIO = RatioSLI(total=Selector("req_total"), bad=Selector("req_errors_total"))
M = timedelta(minutes=1)


def test_windows_period_buckets_and_backends() -> None:
    policy = RemediationPolicy(
        actuator="noop", target="web", backends=(Backend("v1", RATIO), Backend("v2", RATIO))
    )
    slo = SLO("web", "latency", 99.0, Window.rolling(timedelta(days=30)),
              LatencySLI("h", 0.3), remediation=policy)  # fmt: skip

    plan = plan_for(slo, NOW)

    assert plan.windows == tuple(timedelta(minutes=m) for m in (5, 30, 60, 120, 360, 1440, 4320))
    assert plan.period == timedelta(days=30)
    assert plan.count_windows[-1] == timedelta(days=30)
    assert plan.bucket_windows == (PERCENTILE_WINDOW,)
    assert [(b.name, b.windows) for b in plan.backends] == [("v1", (M, 5 * M)), ("v2", (M, 5 * M))]


def test_calendar_period_so_far_and_no_buckets_for_ratio() -> None:
    slo = SLO("web", "a", 99.9, Window.calendar(CalendarUnit.MONTH), RATIO)

    plan = plan_for(slo, NOW)

    assert plan.period == timedelta(days=24, hours=12)
    assert plan.bucket_windows == ()


def test_a_period_that_has_not_begun_is_not_planned() -> None:
    month_start = datetime(2026, 12, 1, tzinfo=UTC)
    slo = SLO("web", "a", 99.9, Window.calendar(CalendarUnit.MONTH), RATIO)

    assert build_plan([slo], month_start) == ()


def test_a_whole_cycle_plans_each_slo_as_it_would_alone() -> None:
    """`build_plan` works the windows out once per alerting and period objects the SLOs
    share; every plan must still be the SLO's own, shared objects or not."""
    month, rolling = Window.calendar(CalendarUnit.MONTH), Window.rolling(timedelta(days=30))
    pages_only = Alerting(ticket=False)
    own = Alerting(windows=(BurnRateWindow(Severity.PAGE, 120 * M, 10 * M, 0.05, 10.0),))
    slos = [
        SLO(f"s{i}", "a", 99.9, window, RATIO, alerting=alerting)
        for i, (window, alerting) in enumerate(
            [
                (rolling, Alerting()),
                (rolling, pages_only),
                (month, pages_only),
                (Window.rolling(timedelta(days=7)), own),
                (rolling, Alerting()),
                (month, Alerting(page=False)),
            ]
        )
    ]

    planned = build_plan(slos, NOW)

    assert planned == tuple(plan_for(slo, NOW) for slo in slos)
    assert [plan.conditions for plan in planned] == [alert_windows(slo) for slo in slos]
    assert planned[0].windows != planned[1].windows  # same period object, other alerting
    assert planned[1].period != planned[2].period  # same alerting object, other period
