"""Multiwindow multi-burn-rate conditions on measured counts."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from meshwatch.model import (
    SLO,
    Alerting,
    BurnRateWindow,
    Counts,
    RatioSLI,
    Selector,
    Severity,
    Window,
)
from meshwatch.slo.policy import (
    alert_windows,
    evaluate_condition,
    evaluate_policy,
    min_failures,
    window_ratios,
)
from meshwatch.slo.windows import default_burn_windows

M = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)
WINDOWS = default_burn_windows(timedelta(days=30))
FAST, SLOW, DAILY, THREE_DAYS = WINDOWS


def uniform(ratio: float, requests_per_minute: float = 100.0) -> dict[timedelta, Counts]:
    """Every window of the 30-day table at the same error ratio and traffic."""
    lengths = {w.long for w in WINDOWS} | {w.short for w in WINDOWS}
    return {
        length: Counts(
            errors=ratio * requests_per_minute * (length / M),
            total=requests_per_minute * (length / M),
        )
        for length in lengths
    }


@pytest.mark.parametrize(
    ("ratio", "page", "ticket"),
    [
        pytest.param(0.0, False, False, id="no-errors"),
        pytest.param(0.0009, False, False, id="below-1x"),
        pytest.param(0.0011, False, True, id="just-above-1x-ticket"),
        pytest.param(0.004, False, True, id="4x-ticket"),
        pytest.param(0.007, True, True, id="7x-slow-page"),
        pytest.param(0.015, True, True, id="15x-fast-page"),
        pytest.param(1.0, True, True, id="total-outage"),
    ],
)
def test_steady_burn_fires_the_expected_severities(ratio: float, page: bool, ticket: bool) -> None:
    result = evaluate_policy(WINDOWS, uniform(ratio), target=0.999)
    assert (result.page, result.ticket) == (page, ticket)
    assert result.severity == (Severity.PAGE if page else Severity.TICKET if ticket else None)


def test_both_windows_must_burn() -> None:
    """Errors that stopped: the 1h window still burns, the 5m window is clean -> no page."""
    counts = {H: Counts(errors=60, total=3000), 5 * M: Counts(errors=0, total=250)}
    result = evaluate_condition(FAST, counts, target=0.999)
    assert result.long_burn_rate == pytest.approx(20)
    assert result.short_burn_rate == 0
    assert not result.firing
    # and errors that just started: 5m burns, 1h not yet above 14.4x
    counts = {H: Counts(errors=30, total=3000), 5 * M: Counts(errors=30, total=250)}
    assert not evaluate_condition(FAST, counts, target=0.999).firing


def test_threshold_is_strict_like_the_rule() -> None:
    """`ratio > factor * (1 - target)`: exactly at the threshold does not fire."""
    window = BurnRateWindow(Severity.PAGE, H, 5 * M, 0.02, 10.0)
    at_threshold = 10.0 * (1 - 0.99)
    counts = {H: Counts(at_threshold * 1000, 1000), 5 * M: Counts(at_threshold * 1000, 1000)}
    assert not evaluate_condition(window, counts, target=0.99).firing
    above = {k: Counts(c.errors + 1, c.total) for k, c in counts.items()}
    assert evaluate_condition(window, above, target=0.99).firing


@pytest.mark.parametrize(
    ("counts", "reason"),
    [
        pytest.param({5 * M: Counts(5, 5)}, "no series for 1h", id="long-window-missing"),
        pytest.param({H: Counts(5, 5), 5 * M: None}, "no series for 5m", id="short-no-series"),
        pytest.param(
            {H: Counts(5, 5), 5 * M: Counts(0, 0)}, "no traffic in 5m", id="short-no-traffic"
        ),
    ],
)
def test_no_traffic_cannot_fire(counts: dict[timedelta, Counts | None], reason: str) -> None:
    result = evaluate_condition(FAST, counts, target=0.999)
    assert not result.firing
    assert result.reason == reason


def test_min_requests_guard() -> None:
    """10 req/h: one failure is far above 14.4x, but 10 requests cannot page with a guard."""
    counts = {H: Counts(1, 10), 5 * M: Counts(1, 1)}
    assert evaluate_condition(FAST, counts, target=0.999).firing
    guarded = evaluate_condition(FAST, counts, target=0.999, min_requests=50)
    assert not guarded.firing
    assert guarded.reason == "10 requests in 1h below min_requests 50"
    assert guarded.long_burn_rate == pytest.approx(100)


def test_failure_guard_on_the_budget_the_failures_spend() -> None:
    """min(2 failures, share x budget x period requests): 2 % of 30d for 1h at 14.4x."""
    period = 30 * D
    assert min_failures(FAST, period, 0.999, 7_200) == pytest.approx(0.144)  # 10 req/h
    assert min_failures(FAST, period, 0.999, 4_320_000) == 1.5  # 100 req/min: two failures
    counts = {H: Counts(1, 10), 5 * M: Counts(1, 1)}
    quiet = evaluate_condition(FAST, counts, 0.999, period=period, period_requests=7_200)
    assert quiet.firing  # one failure spends 14 % of a 7.2-failure budget
    busy = evaluate_condition(FAST, counts, 0.999, period=period, period_requests=4_320_000)
    assert not busy.firing and "below the 1.5" in busy.reason
    two = {H: Counts(2, 10), 5 * M: Counts(1, 1)}
    assert evaluate_condition(FAST, two, 0.999, period=period, period_requests=4_320_000).firing
    explicit = evaluate_condition(
        FAST, two, 0.999, min_requests=50, period=period, period_requests=4_320_000
    )
    assert not explicit.firing  # an explicit min_requests keeps the traffic guard


def test_firing_reason_names_the_windows() -> None:
    result = evaluate_condition(FAST, uniform(0.02), target=0.999)
    assert result.firing
    assert result.reason == "page: burn rate 20.0x over 1h and 20.0x over 5m (threshold 14.4x)"


def _slo(alerting: Alerting, period: timedelta = timedelta(days=30)) -> SLO:
    sli = RatioSLI(total=Selector("requests_total"), bad=Selector("errors_total"))
    return SLO("checkout", "availability", 99.9, Window.rolling(period), sli, alerting=alerting)


@pytest.mark.parametrize(
    ("alerting", "period", "expected"),
    [
        pytest.param(Alerting(), timedelta(days=30), WINDOWS, id="defaults"),
        pytest.param(
            Alerting(ticket=False), timedelta(days=30), (FAST, SLOW), id="ticket-disabled"
        ),
        pytest.param(
            Alerting(page=False), timedelta(days=30), (DAILY, THREE_DAYS), id="page-disabled"
        ),
        pytest.param(
            Alerting(windows=(BurnRateWindow(Severity.PAGE, H, 5 * M, 0.05, 36),)),
            timedelta(days=30),
            (BurnRateWindow(Severity.PAGE, H, 5 * M, 0.05, 36),),
            id="own-windows",
        ),
        pytest.param(
            Alerting(),
            timedelta(days=2),
            default_burn_windows(timedelta(days=2)),
            id="2d-period-drops-the-3d-window",
        ),
    ],
)
def test_alert_windows(
    alerting: Alerting, period: timedelta, expected: tuple[BurnRateWindow, ...]
) -> None:
    windows = alert_windows(_slo(alerting, period))
    assert windows == expected
    assert all(w.long < period for w in windows)


@pytest.mark.parametrize(
    "counts",
    [
        pytest.param(uniform(0.015), id="fast-burn"),
        pytest.param(uniform(0.0011), id="ticket"),
        pytest.param({**uniform(0.015), 5 * M: Counts(0.0, 0.0)}, id="quiet-short-window"),
        pytest.param({k: v for k, v in uniform(0.015).items() if k != H}, id="missing-window"),
    ],
)
def test_precomputed_ratios_give_the_same_result(counts: dict[timedelta, Counts | None]) -> None:
    """The engine computes each window's ratio once (`window_ratios`) for the status's maps
    and passes them in; the conditions come out exactly as when each computes its own."""
    period = timedelta(days=30)
    alone = evaluate_policy(WINDOWS, counts, 0.999, period=period, period_requests=1e6)
    shared = evaluate_policy(
        WINDOWS, counts, 0.999, period=period, period_requests=1e6, ratios=window_ratios(counts)
    )
    assert shared == alone


@pytest.mark.parametrize(
    "counts",
    [
        pytest.param(uniform(0.0), id="clean"),
        pytest.param(uniform(0.0011), id="ticket"),
        pytest.param(uniform(0.007), id="slow-page"),
        pytest.param(uniform(0.015), id="fast-page"),
        pytest.param(uniform(1.0, requests_per_minute=0.01), id="outage-at-a-trickle"),
        pytest.param({**uniform(0.015), 5 * M: Counts(0.0, 0.0)}, id="quiet-short-window"),
        pytest.param({**uniform(0.015), 5 * M: None}, id="short-window-without-series"),
        pytest.param({k: v for k, v in uniform(0.015).items() if k != H}, id="missing-window"),
        pytest.param({**uniform(0.015), H: Counts(math.nan, math.nan)}, id="nan-window"),
    ],
)
@pytest.mark.parametrize("min_requests", [0.0, 50.0, 1e9])
@pytest.mark.parametrize("period_requests", [None, 3.0, 1e6])
def test_firing_only_fires_exactly_what_every_condition_fires(
    counts: dict[timedelta, Counts | None], min_requests: float, period_requests: float | None
) -> None:
    """The engine asks only for what fires (`firing_only`), skipping the conditions below
    their threshold; every guard (traffic, failures, missing or empty windows) must come out
    the same."""
    found = [
        evaluate_policy(
            WINDOWS,
            counts,
            0.999,
            min_requests=min_requests,
            period=timedelta(days=30),
            period_requests=period_requests,
            ratios=ratios,
            firing_only=firing_only,
        )
        for firing_only in (False, True)
        for ratios in (None, window_ratios(counts))
    ]
    assert all(result.firing == found[0].firing for result in found)
    assert all(set(result.conditions) <= set(found[0].conditions) for result in found)
