"""From a planner decision to a data-plane change, in the order the audit log needs.

The remediation loop (`meshwatch.loop`) calls, per route and evaluation:

    decision = plan(policy, ..., state=loaded_state, now=now)
    save decision.state                                   # always, also when nothing changes
    action = planned_action(slo_id, policy, decision)     # None: nothing to apply
    if action: write `action` to the store (pending), then
        result = execute(action, actuator)                # ApplyResult, or ActuatorError
        complete the stored action with result.state / version / detail

`all-burning` and `frozen` decisions change nothing; the loop records and notifies them
from the decision itself (`decision.kind`, `decision.reason`). A manual rollback is a
`PlannedAction` of kind `rollback` built by the loop and applied through `execute` too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from meshwatch.model import RemediationPolicy
from meshwatch.remediate.base import Actuator, ApplyResult, Retries, RouteState
from meshwatch.remediate.policy import Decision

ROLLBACK = "rollback"
"""The kind of a manual rollback (`POST /api/v1/targets/{target}/rollback`)."""


@dataclass(frozen=True, slots=True)
class PlannedAction:
    """One change the planner asked for: what the audit log writes before applying it."""

    slo_id: str
    actuator: str
    target: str
    kind: str  # a DecisionKind value, or ROLLBACK
    reason: str
    weights_before: Mapping[str, int]
    weights_after: Mapping[str, int]
    retries: bool | None  # True tighten, False restore, None unchanged
    dry_run: bool

    @property
    def shifts(self) -> bool:
        return dict(self.weights_before) != dict(self.weights_after)


def planned_action(
    slo_id: str, policy: RemediationPolicy, decision: Decision
) -> PlannedAction | None:
    """The change to apply for `decision`, or None when it changes nothing."""
    return decided_action(slo_id, policy, decision) if decision.changes else None


def decided_action(slo_id: str, policy: RemediationPolicy, decision: Decision) -> PlannedAction:
    """`decision` as an action for the audit log, whether it changes anything or not
    (`all-burning` is recorded, never applied)."""
    return PlannedAction(
        slo_id=slo_id,
        actuator=policy.actuator,
        target=policy.target,
        kind=decision.kind.value,
        reason=decision.reason,
        weights_before=dict(decision.weights_before),
        weights_after=dict(decision.weights),
        retries=decision.retries,
        dry_run=policy.dry_run,
    )


def rollback_action(
    slo_id: str,
    policy: RemediationPolicy,
    current: RouteState,
    baseline: Mapping[str, int],
    *,
    by: str,
    reason: str,
    dry_run: bool,
) -> PlannedAction:
    """A manual rollback: from the route as it is to `baseline`, and the user's retries
    back if meshwatch's are set."""
    return PlannedAction(
        slo_id=slo_id,
        actuator=policy.actuator,
        target=policy.target,
        kind=ROLLBACK,
        reason=f"manual rollback by {by}" + (f": {reason}" if reason else ""),
        weights_before=dict(current.weights),
        weights_after=dict(baseline),
        retries=False if current.retries else None,
        dry_run=dry_run,
    )


def execute(
    action: PlannedAction, actuator: Actuator, retries: Retries | None = None
) -> ApplyResult:
    """Apply `action` (dry-run when the policy says so). Raises ActuatorError."""
    return actuator.apply(
        action.target,
        action.weights_after if action.shifts else None,
        retries=(retries or Retries()) if action.retries else None,
        restore_retries=action.retries is False,
        dry_run=action.dry_run,
    )
