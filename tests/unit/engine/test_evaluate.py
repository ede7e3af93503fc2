"""The engine against an in-memory collector (values in, statuses out; no I/O)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from meshwatch.collectors.base import (
    Measurements,
    SLOPlan,
    WindowBuckets,
    WindowCounts,
    measure_each,
)
from meshwatch.engine.evaluate import aggregate, evaluate_all
from meshwatch.errors import CollectorError, NoSeriesError, NoTrafficError
from meshwatch.model import (
    SLI,
    SLO,
    Backend,
    Counts,
    LatencySLI,
    RatioSLI,
    RemediationPolicy,
    Selector,
    SLOStatus,
    State,
    Window,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TOTAL = Selector("http_requests_total")
BAD = Selector("http_requests_errors_total")


class TableCollector:
    """Answers every window with `rule(sli, window)`: error ratio x rate-based totals."""

    def __init__(self, rule: Callable[[SLI, timedelta], Counts | CollectorError]) -> None:
        self.rule = rule

    def counts(self, sli: SLI, windows: Sequence[timedelta], now: datetime) -> WindowCounts:
        return {w: self.rule(sli, w) for w in windows}

    def buckets(
        self, sli: LatencySLI, windows: Sequence[timedelta], now: datetime
    ) -> WindowBuckets:
        return {w: {0.1: 50.0, 0.3: 90.0, float("inf"): 100.0} for w in windows}

    def measure(self, plans: Sequence[SLOPlan], now: datetime) -> Measurements:
        self.calls = getattr(self, "calls", 0) + 1
        return measure_each(self, plans, now)


def slo(name: str, service: str = "checkout", sli: SLI | None = None, **kwargs: object) -> SLO:
    return SLO(
        service=service,
        name=name,
        objective=99.9,
        window=Window.rolling(timedelta(days=30)),
        sli=sli or RatioSLI(total=TOTAL, bad=BAD),
        **kwargs,  # type: ignore[arg-type]
    )


def steady(error_ratio: float, rps: float = 10.0) -> Callable[[SLI, timedelta], Counts]:
    def rule(sli: SLI, window: timedelta) -> Counts:
        total = rps * window.total_seconds()
        return Counts(total * error_ratio, total)

    return rule


def test_healthy_slo_is_ok_with_numbers() -> None:
    result = evaluate_all([slo("availability")], TableCollector(steady(0.0001)), NOW)
    (status,) = result.statuses
    assert status.state is State.OK
    assert status.throughput == pytest.approx(10.0)
    assert status.sli["1h"] == pytest.approx(0.9999)
    assert status.budget_remaining == pytest.approx(0.9)


def test_outage_breaches_and_rolls_up() -> None:
    result = evaluate_all(
        [slo("availability"), slo("front", service="frontend")], TableCollector(steady(0.5)), NOW
    )
    assert {s.state for s in result.statuses} == {State.BREACHED}
    assert result.mesh is not None
    assert result.mesh.state is State.BREACHED
    assert result.mesh.error_ratio == pytest.approx(0.5)
    assert [a.name for a in result.services] == ["checkout", "frontend"]


def _status(
    state: State,
    budget: float | None,
    throughput: float | None,
    sli: float | None = None,
    requests: float | None = None,
) -> SLOStatus:
    return SLOStatus(
        slo_id="s",
        service="checkout",
        slo="s",
        at=NOW,
        state=state,
        reason="",
        objective=0.999,
        budget_remaining=budget,
        throughput=throughput,
        sli={} if requests is None else {"5m": sli, "1h": 0.0},
        requests={} if requests is None else {"5m": requests, "1h": 1e9},
    )


def test_aggregate_rolls_up_every_status_once() -> None:
    """Worst state, lowest budget, total throughput, and the errors of the throughput window
    weighted by its requests (never the other windows, never an SLO without requests)."""
    statuses = [
        _status(State.OK, 0.9, 2.0, sli=0.99, requests=100.0),
        _status(State.WARNING, 0.2, None, sli=None, requests=50.0),
        _status(State.BREACHED, -0.5, 1.0, sli=0.5, requests=10.0),
        _status(State.UNKNOWN, None, None),
        _status(State.OK, 0.95, 0.0, sli=1.0, requests=0.0),
    ]
    rolled = aggregate("checkout", statuses)
    assert rolled.state is State.BREACHED
    assert rolled.slos == 5
    assert rolled.by_state == {"ok": 2, "warning": 1, "breached": 1, "unknown": 1}
    assert rolled.budget_remaining_min == -0.5
    assert rolled.throughput == 3.0
    assert rolled.error_ratio == pytest.approx((0.01 * 100 + 0.5 * 10) / 110)
    # the first of the worst states wins, and nothing measured is None, not 0
    unknowns = aggregate("mesh", [_status(State.UNKNOWN, None, None)])
    assert (unknowns.state, unknowns.budget_remaining_min, unknowns.throughput) == (
        State.UNKNOWN,
        None,
        None,
    )
    assert unknowns.error_ratio is None
    empty = aggregate("mesh", [])
    assert (empty.state, empty.slos, empty.error_ratio) == (State.UNKNOWN, 0, None)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        pytest.param(NoSeriesError(), "no series", id="no-series"),
        pytest.param(NoTrafficError(), "no traffic", id="no-traffic"),
        pytest.param(
            CollectorError("Prometheus timed out"), "Prometheus timed out", id="source-down"
        ),
    ],
)
def test_no_data_is_unknown_never_ok(answer: CollectorError, reason: str) -> None:
    (status,) = evaluate_all([slo("a")], TableCollector(lambda sli, w: answer), NOW).statuses
    assert status.state is State.UNKNOWN
    assert reason in status.reason


def test_one_broken_slo_does_not_stop_the_others() -> None:
    def rule(sli: SLI, window: timedelta) -> Counts:
        if isinstance(sli, RatioSLI) and sli.total.metric == "boom":
            raise ZeroDivisionError("bug")
        return steady(0.0)(sli, window)

    broken = slo("broken", sli=RatioSLI(total=Selector("boom"), bad=BAD))
    result = evaluate_all([broken, slo("fine")], TableCollector(rule), NOW)
    states = {s.slo: s.state for s in result.statuses}
    assert states == {"broken": State.UNKNOWN, "fine": State.OK}
    assert "internal error" in result.errors["checkout-broken"]


def test_latency_percentiles_and_backends() -> None:
    latency = slo("latency", sli=LatencySLI("http_request_duration_seconds", 0.3))
    policy = RemediationPolicy(
        actuator="noop",
        target="checkout",
        backends=(
            Backend("v1", RatioSLI(total=TOTAL, bad=BAD)),
            Backend("v2", RatioSLI(total=TOTAL, bad=BAD)),
        ),
    )
    remediated = slo("availability", remediation=policy)
    result = evaluate_all([latency, remediated], TableCollector(steady(0.0)), NOW)
    assert result.statuses[0].latency["p50"] == pytest.approx(0.1)
    assert [(b.slo_id, b.backend) for b in result.backends] == [
        ("checkout-availability", "v1"),
        ("checkout-availability", "v2"),
    ]
    assert set(result.backends[0].counts) == {timedelta(minutes=1), timedelta(minutes=5)}


def test_one_cycle_is_one_measure_call_over_the_whole_plan() -> None:
    latency = slo("latency", sli=LatencySLI("http_request_duration_seconds", 0.3))
    collector = TableCollector(steady(0.0001))

    result = evaluate_all([slo(f"s{i}") for i in range(50)] + [latency], collector, NOW)

    assert collector.calls == 1
    assert len(result.statuses) == 51
    assert all(s.state is State.OK for s in result.statuses[:50])


def test_a_source_down_makes_every_slo_unknown_with_the_reason() -> None:
    class Down(TableCollector):
        def measure(self, plans: Sequence[SLOPlan], now: datetime) -> Measurements:
            raise CollectorError("prometheus unreachable: connection refused")

    policy = RemediationPolicy(
        actuator="noop", target="checkout", backends=(Backend("v1", RatioSLI(total=TOTAL)),)
    )
    result = evaluate_all([slo("a"), slo("b", remediation=policy)], Down(steady(0.0)), NOW)

    assert {s.state for s in result.statuses} == {State.UNKNOWN}
    assert all("unreachable" in s.reason for s in result.statuses)
    assert all(isinstance(v, CollectorError) for v in result.backends[0].counts.values())
    assert set(result.errors) == {"checkout-a", "checkout-b"}
