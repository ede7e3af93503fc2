"""The remediation planner, one rule per case (DESIGN.md, "Remediation semantics")."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from meshwatch.model import Backend, Counts, RatioSLI, RemediationPolicy, Selector
from meshwatch.remediate.policy import (
    BackendMemory,
    Decision,
    DecisionKind,
    Health,
    LoopState,
    Measurement,
    Reading,
    plan,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
BUDGET = 0.001  # a 99.9 % objective
SLI = RatioSLI(total=Selector("requests_total"), bad=Selector("errors_total"))


def policy(*names: str, **overrides: object) -> RemediationPolicy:
    base = RemediationPolicy(
        actuator="noop",
        target="route",
        backends=tuple(Backend(n, SLI) for n in (names or ("v1", "v2"))),
        step=25,
        cooldown=timedelta(seconds=30),
        recovery_window=timedelta(minutes=2),
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def burn(short: float, long: float | None = None, total: float = 1000) -> Measurement:
    """Counts whose burn rate over the two short windows is `short` and `long`."""
    long = short if long is None else long
    return Measurement(
        Counts(short * BUDGET * total, total), Counts(long * BUDGET * total, total * 5)
    )


CLEAR = burn(0.0)
BURNING = burn(100.0)
BAND = burn(10.0)  # above 14.4 * 0.5, below 14.4
BREACHED = BackendMemory(Health.BREACHING, NOW - timedelta(minutes=5))


def evaluate(
    pol: RemediationPolicy,
    weights: dict[str, int],
    measurements: dict[str, Measurement],
    state: LoopState | None = None,
    alerts: tuple[str, ...] = (),
) -> Decision:
    return plan(
        pol,
        error_budget=BUDGET,
        weights=weights,
        measurements=measurements,
        state=state or LoopState(),
        now=NOW,
        alerts=alerts,
    )


CASES = [
    pytest.param(
        policy(),
        {"v1": 50, "v2": 50},
        {"v1": CLEAR, "v2": CLEAR},
        LoopState(),
        (),
        DecisionKind.NONE,
        {"v1": 50, "v2": 50},
        id="healthy-route-no-action",
    ),
    pytest.param(
        policy(),
        {"v1": 50, "v2": 50},
        {"v1": CLEAR, "v2": BURNING},
        LoopState(),
        (),
        DecisionKind.SHIFT,
        {"v1": 75, "v2": 25},
        id="burning-backend-loses-one-step",
    ),
    pytest.param(
        policy(),
        {"v1": 50, "v2": 50},
        {"v1": CLEAR, "v2": burn(100.0, 5.0)},
        LoopState(),
        (),
        DecisionKind.NONE,
        {"v1": 50, "v2": 50},
        id="only-one-short-window-burning-no-action",
    ),
    pytest.param(
        policy(),
        {"v1": 50, "v2": 50},
        {"v1": CLEAR, "v2": BAND},
        LoopState(),
        (),
        DecisionKind.NONE,
        {"v1": 50, "v2": 50},
        id="healthy-backend-in-band-stays-healthy",
    ),
    pytest.param(
        policy(),
        {"v1": 50, "v2": 50},
        {"v1": CLEAR, "v2": burn(100.0, total=10)},
        LoopState(),
        (),
        DecisionKind.FROZEN,
        {"v1": 50, "v2": 50},
        id="low-traffic-freezes",
    ),
    pytest.param(
        policy(),
        {"v1": 50, "v2": 50},
        {"v1": CLEAR, "v2": Measurement.unknown("stale: last sample 3m ago")},
        LoopState(),
        (),
        DecisionKind.FROZEN,
        {"v1": 50, "v2": 50},
        id="stale-data-freezes",
    ),
    pytest.param(
        policy(),
        {"v1": 50, "v2": 50},
        {"v1": CLEAR},
        LoopState(),
        (),
        DecisionKind.FROZEN,
        {"v1": 50, "v2": 50},
        id="missing-measurement-freezes",
    ),
    pytest.param(
        policy(),
        {"v1": 100, "v2": 0},
        {"v1": CLEAR, "v2": Measurement.unknown("no traffic")},
        LoopState(baseline={"v1": 100, "v2": 0}),
        (),
        DecisionKind.NONE,
        {"v1": 100, "v2": 0},
        id="drained-backend-without-data-does-not-freeze",
    ),
    pytest.param(
        policy(),
        {"v1": 50, "v2": 50},
        {"v1": BURNING, "v2": BURNING},
        LoopState(),
        (),
        DecisionKind.ALL_BURNING,
        {"v1": 50, "v2": 50},
        id="all-burning-shifts-nothing",
    ),
    pytest.param(
        policy(),
        {"v1": 50, "v2": 50},
        {"v1": BAND, "v2": BURNING},
        LoopState(),
        (),
        DecisionKind.NONE,
        {"v1": 50, "v2": 50},
        id="no-clearly-healthy-sibling-no-action",
    ),
    pytest.param(
        policy(min_healthy_weight=10, step=50),
        {"v1": 80, "v2": 20},
        {"v1": CLEAR, "v2": BURNING},
        LoopState(baseline={"v1": 50, "v2": 50}),
        (),
        DecisionKind.SHIFT,
        {"v1": 90, "v2": 10},
        id="floor-on-breaching-backend-respected",
    ),
    pytest.param(
        policy(max_shift=30, step=50),
        {"v1": 50, "v2": 50},
        {"v1": CLEAR, "v2": BURNING},
        LoopState(),
        (),
        DecisionKind.SHIFT,
        {"v1": 80, "v2": 20},
        id="max-shift-caps-the-move",
    ),
    pytest.param(
        policy(min_healthy_weight=10),
        {"v1": 90, "v2": 10},
        {"v1": CLEAR, "v2": BURNING},
        LoopState(baseline={"v1": 50, "v2": 50}),
        (),
        DecisionKind.NONE,
        {"v1": 90, "v2": 10},
        id="at-floor-no-further-shift",
    ),
    pytest.param(
        policy(),
        {"v1": 75, "v2": 25},
        {"v1": CLEAR, "v2": BURNING},
        LoopState(
            backends={"v2": BREACHED},
            baseline={"v1": 50, "v2": 50},
            last_action_at=NOW - timedelta(seconds=10),
        ),
        (),
        DecisionKind.NONE,
        {"v1": 75, "v2": 25},
        id="cooldown-between-actions",
    ),
    pytest.param(
        policy(),
        {"v1": 75, "v2": 25},
        {"v1": CLEAR, "v2": BURNING},
        LoopState(
            backends={"v2": BREACHED},
            baseline={"v1": 50, "v2": 50},
            last_action_at=NOW - timedelta(seconds=31),
        ),
        (),
        DecisionKind.SHIFT,
        {"v1": 100, "v2": 0},
        id="next-step-after-cooldown",
    ),
    pytest.param(
        policy(),
        {"v1": 50, "v2": 50},
        {"v1": CLEAR, "v2": BURNING},
        LoopState(hold=True),
        (),
        DecisionKind.HOLD,
        {"v1": 50, "v2": 50},
        id="manual-hold-wins",
    ),
    pytest.param(
        policy(),
        {"v1": 50, "v2": 50},
        {"v1": CLEAR, "v2": CLEAR},
        LoopState(),
        ("v2",),
        DecisionKind.SHIFT,
        {"v1": 75, "v2": 25},
        id="page-alert-triggers-a-shift",
    ),
    pytest.param(
        policy(),
        {"v1": 50, "v2": 50},
        {"v1": CLEAR, "v2": Measurement.unknown("no series")},
        LoopState(),
        ("v2",),
        DecisionKind.SHIFT,
        {"v1": 75, "v2": 25},
        id="page-alert-counts-as-data",
    ),
    pytest.param(
        policy(),
        {"v1": 90, "v2": 10},
        {"v1": CLEAR, "v2": CLEAR},
        LoopState(
            backends={"v2": replace(BREACHED, clear_since=NOW - timedelta(minutes=3))},
            baseline={"v1": 50, "v2": 50},
        ),
        (),
        DecisionKind.RESTORE,
        {"v1": 65, "v2": 35},
        id="restore-one-step-after-recovery",
    ),
    pytest.param(
        policy(),
        {"v1": 90, "v2": 10},
        {"v1": CLEAR, "v2": CLEAR},
        LoopState(
            backends={"v2": replace(BREACHED, clear_since=NOW - timedelta(minutes=1))},
            baseline={"v1": 50, "v2": 50},
        ),
        (),
        DecisionKind.NONE,
        {"v1": 90, "v2": 10},
        id="no-restore-before-recovery-window",
    ),
    pytest.param(
        policy(),
        {"v1": 90, "v2": 10},
        {"v1": CLEAR, "v2": BAND},
        LoopState(
            backends={"v2": replace(BREACHED, clear_since=NOW - timedelta(minutes=1))},
            baseline={"v1": 50, "v2": 50},
        ),
        (),
        DecisionKind.SHIFT,
        {"v1": 100, "v2": 0},
        id="band-reading-keeps-breaching-backend-shifting",
    ),
    pytest.param(
        policy(),
        {"v1": 90, "v2": 10},
        {"v1": CLEAR, "v2": CLEAR},
        LoopState(backends={"v2": BREACHED}, baseline={"v1": 50, "v2": 50}),
        (),
        DecisionKind.NONE,
        {"v1": 90, "v2": 10},
        id="recovering-backend-neither-shifted-nor-restored",
    ),
    pytest.param(
        policy(),
        {"v1": 50, "v3": 50},
        {"v1": CLEAR, "v2": CLEAR},
        LoopState(),
        (),
        DecisionKind.FROZEN,
        {"v1": 50, "v3": 50},
        id="route-backends-differ-from-policy",
    ),
    pytest.param(
        policy("v1", "v2", "v3"),
        {"v1": 60, "v2": 20, "v3": 20},
        {"v1": CLEAR, "v2": CLEAR, "v3": BURNING},
        LoopState(),
        (),
        DecisionKind.SHIFT,
        {"v1": 75, "v2": 25, "v3": 0},
        id="moved-weight-split-by-current-weight",
    ),
    pytest.param(
        policy(action="retries"),
        {"v1": 50, "v2": 50},
        {"v1": CLEAR, "v2": BURNING},
        LoopState(),
        (),
        DecisionKind.RETRIES,
        {"v1": 50, "v2": 50},
        id="retries-action-tightens-retries",
    ),
    pytest.param(
        policy(action="retries"),
        {"v1": 50, "v2": 50},
        {"v1": CLEAR, "v2": BURNING},
        LoopState(retries_tightened=True, last_action_at=NOW - timedelta(minutes=1)),
        (),
        DecisionKind.NONE,
        {"v1": 50, "v2": 50},
        id="retries-action-never-shifts",
    ),
    pytest.param(
        policy(action="shift+retries"),
        {"v1": 50, "v2": 50},
        {"v1": CLEAR, "v2": BURNING},
        LoopState(retries_tightened=True, last_action_at=NOW - timedelta(minutes=1)),
        (),
        DecisionKind.SHIFT,
        {"v1": 75, "v2": 25},
        id="shift-after-retries",
    ),
    pytest.param(
        policy(action="shift+retries"),
        {"v1": 50, "v2": 50},
        {"v1": CLEAR, "v2": CLEAR},
        LoopState(retries_tightened=True, baseline={"v1": 50, "v2": 50}),
        (),
        DecisionKind.RESTORE,
        {"v1": 50, "v2": 50},
        id="retries-restored-once-all-healthy",
    ),
    pytest.param(
        policy(),
        {"v1": 500, "v2": 500},
        {"v1": CLEAR, "v2": BURNING},
        LoopState(),
        (),
        DecisionKind.SHIFT,
        {"v1": 750, "v2": 250},
        id="route-total-other-than-100",
    ),
]


@pytest.mark.parametrize(
    ("pol", "weights", "measurements", "state", "alerts", "kind", "expected"), CASES
)
def test_rule(
    pol: RemediationPolicy,
    weights: dict[str, int],
    measurements: dict[str, Measurement],
    state: LoopState,
    alerts: tuple[str, ...],
    kind: DecisionKind,
    expected: dict[str, int],
) -> None:
    decision = evaluate(pol, weights, measurements, state, alerts)
    assert (decision.kind, dict(decision.weights)) == (kind, expected), decision.reason
    assert sum(decision.weights.values()) == sum(weights.values())


def test_shift_records_action_time_and_breach() -> None:
    decision = evaluate(policy(), {"v1": 50, "v2": 50}, {"v1": CLEAR, "v2": BURNING})
    assert decision.state.last_action_at == NOW
    assert decision.state.backends["v2"] == BackendMemory(Health.BREACHING, NOW, None)
    assert decision.state.baseline == {"v1": 50, "v2": 50}
    assert "v2 breaching while v1 healthy" in decision.reason
    burns = {a.backend: a.reading for a in decision.assessments}
    assert burns == {"v1": Reading.CLEAR, "v2": Reading.BURNING}


def test_retries_decision_asks_to_tighten_then_restore() -> None:
    first = evaluate(policy(action="retries"), {"v1": 50, "v2": 50}, {"v1": CLEAR, "v2": BURNING})
    assert (first.retries, first.state.retries_tightened, first.changes) == (True, True, True)
    calm = evaluate(
        policy(action="retries"),
        {"v1": 50, "v2": 50},
        {"v1": CLEAR, "v2": CLEAR},
        replace(first.state, backends={}, last_action_at=NOW - timedelta(minutes=5)),
    )
    assert (calm.kind, calm.retries, calm.state.retries_tightened) == (
        DecisionKind.RESTORE,
        False,
        False,
    )


def test_all_burning_remembers_since_when() -> None:
    first = evaluate(policy(), {"v1": 50, "v2": 50}, {"v1": BURNING, "v2": BURNING})
    assert first.state.all_burning_since == NOW
    later = plan(
        policy(),
        error_budget=BUDGET,
        weights={"v1": 50, "v2": 50},
        measurements={"v1": BURNING, "v2": BURNING},
        state=first.state,
        now=NOW + timedelta(seconds=10),
    )
    assert (later.kind, later.state.all_burning_since) == (DecisionKind.ALL_BURNING, NOW)


def test_initial_weights_are_the_restore_baseline() -> None:
    pol = policy()
    pol = replace(
        pol, backends=(Backend("v1", SLI, initial_weight=80), Backend("v2", SLI, initial_weight=20))
    )
    decision = evaluate(pol, {"v1": 100, "v2": 0}, {"v1": CLEAR, "v2": Measurement.unknown("x")})
    assert decision.state.baseline == {"v1": 80, "v2": 20}


def test_state_round_trips_through_dict() -> None:
    state = LoopState(
        backends={"v2": replace(BREACHED, clear_since=NOW)},
        baseline={"v1": 50, "v2": 50},
        last_action_at=NOW,
        retries_tightened=True,
        hold=True,
        all_burning_since=NOW,
    )
    assert LoopState.from_dict(state.to_dict()) == state


def test_drained_backend_waits_for_a_manual_restore() -> None:
    decision = evaluate(
        policy(),
        {"v1": 100, "v2": 0},
        {"v1": CLEAR, "v2": Measurement.unknown("no traffic")},
        LoopState(backends={"v2": BREACHED}, baseline={"v1": 50, "v2": 50}),
    )
    assert decision.kind is DecisionKind.NONE
    assert "v2 at weight 0 gets no traffic to prove its recovery" in decision.reason
