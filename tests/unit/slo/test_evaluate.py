"""SLO status from measured counts: the state rules and the numbers filled in."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from meshwatch.model import (
    SLO,
    Alerting,
    CalendarUnit,
    Counts,
    RatioSLI,
    RawSLI,
    Selector,
    Severity,
    State,
    Window,
    format_duration,
)
from meshwatch.slo.budget import ratio_counts
from meshwatch.slo.evaluate import evaluate, unknown_status
from meshwatch.slo.policy import alert_windows, evaluate_policy, window_ratios

NOW = datetime(2026, 11, 16, tzinfo=UTC)
M = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)
SLI = RatioSLI(total=Selector("requests_total"), bad=Selector("errors_total"))


def slo(window: Window | None = None, alerting: Alerting | None = None) -> SLO:
    return SLO(
        "checkout",
        "availability",
        99.9,
        window or Window.rolling(30 * D),
        SLI,
        alerting=alerting or Alerting(),
    )


def windows(ratio: float, per_minute: float = 100.0) -> dict[timedelta, Counts | None]:
    lengths = (5 * M, 30 * M, H, 2 * H, 6 * H, D, 3 * D)
    return {
        w: Counts(errors=ratio * per_minute * (w / M), total=per_minute * (w / M)) for w in lengths
    }


def period(ratio: float, requests: float = 4_320_000.0) -> Counts:
    return Counts(errors=ratio * requests, total=requests)


@pytest.mark.parametrize(
    ("recent", "period_ratio", "state", "reason"),
    [
        pytest.param(0.0, 0.0, State.OK, "", id="ok-clean"),
        pytest.param(0.0005, 0.0005, State.OK, "", id="ok-half-budget"),
        pytest.param(
            0.0, 0.0008, State.WARNING, "error budget remaining 20.0% below 25%", id="warn-budget"
        ),
        pytest.param(
            0.02,
            0.0002,
            State.WARNING,
            "page: burn rate 20.0x over 1h and 20.0x over 5m (threshold 14.4x)",
            id="warn-fast-burn",
        ),
        pytest.param(
            0.002,
            0.0002,
            State.WARNING,
            "ticket: burn rate 2.0x over 3d and 2.0x over 6h (threshold 1x)",
            id="warn-slow-burn-ticket",
        ),
        pytest.param(
            0.0,
            0.001,
            State.BREACHED,
            "error budget exhausted (remaining 0.0%)",
            id="exactly-spent",
        ),
        pytest.param(
            0.02,
            0.002,
            State.BREACHED,
            "error budget exhausted (remaining -100.0%); page: burn rate 20.0x over 1h and 20.0x"
            " over 5m (threshold 14.4x)",
            id="breached-and-burning",
        ),
    ],
)
def test_state_rules(recent: float, period_ratio: float, state: State, reason: str) -> None:
    status = evaluate(slo(), windows(recent), NOW, period_counts=period(period_ratio))
    assert status.state is state
    assert status.reason == reason


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        pytest.param({"period_counts": None}, "no series", id="no-series"),
        pytest.param({"period_counts": Counts(0, 0)}, "no traffic in 30d", id="no-traffic"),
        pytest.param(
            {"period_counts": Counts(0, 100), "stale": True}, "stale data", id="stale-data"
        ),
        pytest.param(
            {"period_counts": Counts(0, 100), "source_error": "prometheus: connection refused"},
            "prometheus: connection refused",
            id="source-error",
        ),
    ],
)
def test_unknown_with_a_reason(kwargs: dict[str, object], reason: str) -> None:
    status = evaluate(slo(), windows(0.0), NOW, **kwargs)  # type: ignore[arg-type]
    assert status.state is State.UNKNOWN
    assert status.reason == reason
    assert status.period_sli is None
    assert status.budget_remaining is None


def test_no_traffic_in_a_calendar_month_names_it() -> None:
    month = slo(Window.calendar(CalendarUnit.MONTH))
    status = evaluate(month, {}, NOW, period_counts=Counts(0, 0))
    assert (status.state, status.reason) == (State.UNKNOWN, "no traffic in calendar-month")


def test_numbers_are_filled() -> None:
    counts = windows(0.0005)
    counts[5 * M] = Counts(errors=0, total=0)  # quiet in the last 5 minutes
    status = evaluate(
        slo(), counts, NOW, period_counts=period(0.00025), latency={"p99": 120.0, "p50": None}
    )
    assert status.state is State.OK
    assert status.slo_id == "checkout-availability"
    assert status.objective == pytest.approx(0.999)
    assert status.at == NOW
    assert status.period_sli == pytest.approx(0.99975)
    assert status.budget_remaining == pytest.approx(0.75)
    assert status.budget_remaining_seconds == pytest.approx(0.75 * 0.001 * 30 * 86400)
    assert status.budget_remaining_requests == pytest.approx(0.001 * 4_320_000 - 1080)
    assert status.throughput == 0.0  # measured: no requests in the shortest window
    assert status.sli["5m"] is None and status.burn_rate["5m"] is None
    assert status.requests["5m"] == 0
    assert status.sli["1h"] == pytest.approx(0.9995)
    assert status.burn_rate["1h"] == pytest.approx(0.5)
    assert status.requests["1h"] == pytest.approx(6000)
    assert status.sli["30d"] == pytest.approx(0.99975)  # the period under its window name
    assert status.burn_rate["30d"] == pytest.approx(0.25)
    assert status.latency == {"p99": 120.0, "p50": None}


@pytest.mark.parametrize(
    "counts",
    [
        pytest.param(windows(0.0005), id="clean"),
        pytest.param(windows(0.02), id="fast-burn"),
        pytest.param({**windows(0.02), 5 * M: None}, id="short-window-without-series"),
        pytest.param({**windows(0.02), H: Counts(0.0, 0.0)}, id="quiet-long-window"),
        pytest.param({**windows(0.02), H: Counts(math.nan, math.nan)}, id="nan-window"),
        pytest.param({**windows(0.02), 5 * M: Counts(12.0, 10.0)}, id="errors-above-total"),
        pytest.param({2 * D: Counts(1.0, 9.0), M: Counts(0.0, 3.0)}, id="out-of-order"),
    ],
)
def test_maps_and_firing_are_the_policys(counts: dict[timedelta, Counts | None]) -> None:
    """The one-pass per-window maps (every SLO, every cycle) say what the policy's own
    `window_ratios` say, window by window and in ascending order, and what fires is what
    every condition evaluated in full fires."""
    status = evaluate(slo(), counts, NOW, period_counts=period(0.0002))
    ratios = window_ratios(counts)
    names = [format_duration(w) for w in sorted(counts)]
    assert list(status.sli) == [*names, "30d"]
    assert list(status.burn_rate) == [*names, "30d"]
    for window, ratio in ratios.items():
        name = format_duration(window)
        found = counts[window]
        shown = status.requests[name]
        if found is None or shown is None:
            assert found is None and shown is None
        else:
            assert shown == found.total or (math.isnan(shown) and math.isnan(found.total))
        if isinstance(ratio, float):
            assert status.sli[name] == 1.0 - ratio
            assert status.burn_rate[name] == ratio / (1.0 - slo().target)
        else:
            assert status.sli[name] is None and status.burn_rate[name] is None
    full = evaluate_policy(
        alert_windows(slo()),
        counts,
        slo().target,
        period=30 * D,
        period_requests=period(0.0002).total,
    )
    burning = sorted(full.firing, key=lambda c: c.window.severity is not Severity.PAGE)
    assert status.reason == (burning[0].reason if burning else "")
    assert (status.state is State.WARNING) == bool(burning)


def test_alert_windows_follow_the_slo_they_are_asked_for() -> None:
    """`alert_windows` is kept per distinct alerting settings: each SLO still gets its own."""
    both, pages = slo(), slo(alerting=Alerting(ticket=False))
    week = slo(Window.rolling(7 * D))
    assert {w.severity for w in alert_windows(both)} == {Severity.PAGE, Severity.TICKET}
    assert {w.severity for w in alert_windows(pages)} == {Severity.PAGE}
    assert alert_windows(week) != alert_windows(both)  # factors scaled to the period
    assert alert_windows(slo(alerting=Alerting(page=False, ticket=False))) == ()


def test_throughput_over_the_shortest_window() -> None:
    status = evaluate(slo(), windows(0.0, per_minute=120), NOW, period_counts=period(0.0))
    assert status.throughput == pytest.approx(2.0)
    missing = evaluate(slo(), {M: None, H: Counts(0, 10)}, NOW, period_counts=period(0.0))
    assert missing.throughput is None


def test_calendar_month_budget_uses_the_real_month_length() -> None:
    month = slo(Window.calendar(CalendarUnit.MONTH))
    feb = datetime(2026, 2, 14, tzinfo=UTC)
    status = evaluate(month, {}, feb, period_counts=Counts(errors=0, total=1000))
    assert status.budget_remaining_seconds == pytest.approx(0.001 * 28 * 86400)


def test_projected_period_requests_change_only_the_request_view() -> None:
    status = evaluate(
        slo(), {}, NOW, period_counts=Counts(errors=1, total=1000), period_requests=10_000
    )
    assert status.budget_remaining == pytest.approx(0.0)  # 0.1 % errors so far
    assert status.budget_remaining_requests == pytest.approx(9.0)  # 10 allowed, 1 spent
    assert status.state is State.BREACHED


def test_min_requests_keeps_low_traffic_from_warning() -> None:
    counts: dict[timedelta, Counts | None] = {5 * M: Counts(1, 1), H: Counts(2, 10)}
    guarded = slo(alerting=Alerting(min_requests=100))
    assert evaluate(slo(), counts, NOW, period_counts=period(0.0)).state is State.WARNING
    assert evaluate(guarded, counts, NOW, period_counts=period(0.0)).state is State.OK


def test_one_failure_in_a_quiet_hour_of_a_busy_period_does_not_warn() -> None:
    one: dict[timedelta, Counts | None] = {5 * M: Counts(1, 1), H: Counts(1, 10)}
    busy = period(0.0)  # 4.32 M requests: one failure spends 1/4,320 of the budget
    assert evaluate(slo(), one, NOW, period_counts=busy).state is State.OK
    quiet = Counts(0.0, 7200.0)  # 10 req/h all period: one failure spends 14 % of it
    assert evaluate(slo(), one, NOW, period_counts=quiet).state is State.WARNING


def test_warn_below_is_a_parameter() -> None:
    status = evaluate(slo(), {}, NOW, period_counts=period(0.0005), warn_below=0.6)
    assert status.state is State.WARNING
    with pytest.raises(ValueError, match="warn_below"):
        evaluate(slo(), {}, NOW, period_counts=period(0.0), warn_below=25)


def test_unknown_status_helper() -> None:
    status = unknown_status(slo(), NOW, "prometheus: timeout")
    assert (status.state, status.reason, status.objective) == (
        State.UNKNOWN,
        "prometheus: timeout",
        pytest.approx(0.999),
    )
    assert status.budget_remaining is None and status.period_sli is None


def test_raw_sli_has_ratios_but_no_request_numbers() -> None:
    raw = SLO(
        "wifi",
        "availability",
        99.0,
        Window.rolling(30 * D),
        RawSLI(error_ratio="1 - avg_over_time(up[{{.window}}])"),
        alerting=Alerting(min_requests=100),
    )
    counts: dict[timedelta, Counts | None] = {
        5 * M: ratio_counts(0.5),
        H: ratio_counts(0.5),
        30 * M: ratio_counts(0.0),
        6 * H: ratio_counts(0.0),
    }
    status = evaluate(raw, counts, NOW, period_counts=ratio_counts(0.002))
    assert status.state is State.WARNING  # 50x over 1h and 5m pages despite min_requests
    assert status.reason.startswith("page: burn rate 50.0x over 1h")
    assert status.budget_remaining == pytest.approx(0.8)
    assert status.sli["1h"] == pytest.approx(0.5)
    assert status.requests == {"5m": None, "30m": None, "1h": None, "6h": None, "30d": None}
    assert status.throughput is None
    assert status.budget_remaining_requests is None
