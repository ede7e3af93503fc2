"""The planner driving the noop actuator through an incident, evaluation by evaluation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from meshwatch.errors import ActuatorError
from meshwatch.model import Backend, Counts, RatioSLI, RemediationPolicy, Selector
from meshwatch.remediate.base import ApplyState, select
from meshwatch.remediate.noop import NoopActuator
from meshwatch.remediate.policy import DecisionKind, LoopState, Measurement, plan
from meshwatch.remediate.registry import build_registry
from meshwatch.remediate.run import execute, planned_action

SLI = RatioSLI(total=Selector("requests_total"), bad=Selector("errors_total"))
POLICY = RemediationPolicy(
    actuator="noop",
    target="checkout",
    backends=(Backend("v1", SLI), Backend("v2", SLI)),
    step=50,
    min_healthy_weight=10,
    cooldown=timedelta(seconds=10),
    recovery_window=timedelta(seconds=60),
    dry_run=False,
)
START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def measured(error_ratio: float) -> Measurement:
    return Measurement(Counts(100 * error_ratio, 100), Counts(500 * error_ratio, 500))


def run_incident(
    policy: RemediationPolicy, v2_errors: list[float]
) -> tuple[list[str], NoopActuator]:
    """One evaluation every 5 s; v2's error ratio per evaluation, v1 always healthy."""
    actuator = NoopActuator({"checkout": {"v1": 50, "v2": 50}})
    registry = build_registry(noop=actuator)
    state, kinds = LoopState(), []
    for i, ratio in enumerate(v2_errors):
        now = START + timedelta(seconds=5 * i)
        decision = plan(
            policy,
            error_budget=0.001,
            weights=actuator.current(policy.target).weights,
            measurements={"v1": measured(0.0), "v2": measured(ratio)},
            state=state,
            now=now,
        )
        state = decision.state
        kinds.append(decision.kind.value)
        action = planned_action("checkout-availability", policy, decision)
        if action is not None:
            execute(action, select(registry, policy.actuator))
    return kinds, actuator


def test_breach_shifts_to_the_floor_then_recovery_restores() -> None:
    kinds, actuator = run_incident(POLICY, [0.0, 1.0, 1.0, 1.0, 1.0] + [0.0] * 20)
    applied = [(dict(r.weights), r.state) for r in actuator.applied]
    assert applied == [
        ({"v1": 90, "v2": 10}, ApplyState.APPLIED),  # one step of 50, stopped at the floor of 10
        ({"v1": 50, "v2": 50}, ApplyState.APPLIED),  # back to the baseline once recovered
    ]
    assert kinds.index("shift") == 1  # at the first burning evaluation
    # v2 reads clear from evaluation 5 (t=25 s); healthy again after 60 s of clear readings
    assert kinds.index("restore") == 5 + 60 // 5
    assert actuator.current("checkout").weights == {"v1": 50, "v2": 50}


def test_dry_run_records_and_changes_nothing() -> None:
    kinds, actuator = run_incident(replace(POLICY, dry_run=True), [0.0, 1.0, 1.0, 1.0, 1.0])
    assert {r.state for r in actuator.applied} == {ApplyState.DRY_RUN}
    assert actuator.current("checkout").weights == {"v1": 50, "v2": 50}
    assert kinds.count("shift") == 2  # once, and again after the cooldown


def test_healthy_soak_does_nothing() -> None:
    kinds, actuator = run_incident(POLICY, [0.0005] * 40)
    assert set(kinds) == {DecisionKind.NONE.value}
    assert actuator.applied == []


def test_unknown_actuator_name() -> None:
    with pytest.raises(ActuatorError, match="no actuator 'envoy' configured"):
        select({"noop": NoopActuator({})}, "envoy")
