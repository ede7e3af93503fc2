"""The one way an action reaches the audit log: create -> apply -> complete -> count -> notify.

Every action of the loop goes through `ActionRecorder.record`: a shift, a restore, tightened
or restored retries, an `all-burning` episode (nothing is applied: recorded `rejected`) and a
manual rollback. The plan is written to the store as `planned` BEFORE the actuator is
called, so a crash mid-apply leaves a trace; it is completed after as applied / rejected /
failed / dry-run, counted in `meshwatch_remediation_actions_total` and notified.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from meshwatch.engine.runtime import Runtime
from meshwatch.errors import ActuatorError
from meshwatch.model import SLO
from meshwatch.notify.events import Notification
from meshwatch.notify.outbox import queue_notifications
from meshwatch.remediate.base import ApplyResult
from meshwatch.remediate.policy import Assessment
from meshwatch.remediate.run import PlannedAction
from meshwatch.settings import WebhookTarget
from meshwatch.store import ActionPlan, ActionState, Store

log = logging.getLogger(__name__)

NOTIFICATION_KIND = "remediation.action"


@dataclass(frozen=True, slots=True)
class Recorded:
    """One completed action: its id, final state, the stored plan and the actuator's answer."""

    action_id: int
    state: ActionState
    plan: ActionPlan
    result: ApplyResult | None  # None when nothing was applied, or the actuator raised


def action_plan(action: PlannedAction, params: Mapping[str, Any]) -> ActionPlan:
    """The audit-log row of `action` (the one place the planner's fields meet the store's)."""
    return ActionPlan(
        slo_id=action.slo_id,
        target=action.target,
        actuator=action.actuator,
        kind=action.kind,
        reason=action.reason,
        dry_run=action.dry_run,
        weights_before=dict(action.weights_before),
        weights_after=dict(action.weights_after),
        params=dict(params),
    )


def action_details(action_id: int, plan: ActionPlan) -> dict[str, Any]:
    """The `details` of an action's notification."""
    return {
        "action_id": action_id,
        "kind": plan.kind,
        "target": plan.target,
        "actuator": plan.actuator,
        "dry_run": plan.dry_run,
        "weights_before": dict(plan.weights_before),
        "weights_after": dict(plan.weights_after),
    }


def assessments(items: Sequence[Assessment]) -> list[dict[str, Any]]:
    """The planner's per-backend view, for an action's `params`."""
    return [
        {
            "backend": a.backend,
            "reading": a.reading.value,
            "health": a.health.value,
            "burn_short": a.burn_short,
            "burn_long": a.burn_long,
            "requests_short": a.requests_short,
            "alerting": a.alerting,
            "note": a.note,
        }
        for a in items
    ]


class ActionRecorder:
    """Writes, applies, completes, counts and notifies actions (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        runtime: Runtime,
        clock: Callable[[], datetime],
        webhooks: Sequence[WebhookTarget] = (),
    ) -> None:
        self.store = store
        self.runtime = runtime
        self.clock = clock
        self.webhooks = webhooks

    def record(
        self,
        slo: SLO,
        action: PlannedAction,
        params: Mapping[str, Any],
        now: datetime,
        *,
        apply: Callable[[], ApplyResult] | None,
        refused: str = "",
        notify: Callable[[ActionState], bool] = lambda state: True,
    ) -> Recorded:
        """Record `action`, run `apply` (None: apply nothing, complete as `rejected` with
        `refused` as the detail) and notify unless `notify(state)` says not to.

        `apply` raising `ActuatorError` completes the action as `failed` with the message.
        """
        action_id = self.store.actions.create_action(action_plan(action, params), now)
        result: ApplyResult | None = None
        if apply is None:
            state, detail = ActionState.REJECTED, refused
        else:
            try:
                result = apply()
            except ActuatorError as exc:
                state, detail = ActionState.FAILED, str(exc)
            else:
                state, detail = ActionState(result.state.value), result.detail
        done = self.store.actions.complete_action(action_id, state, detail, self.clock())
        self.runtime.count_action(action.actuator, state.value)
        log.info(
            "%s %s: action %s %s %s: %s",
            action.slo_id,
            action.target,
            action_id,
            action.kind,
            state.value,
            action.reason,
        )
        recorded = Recorded(action_id, state, done.plan, result)
        if notify(state):
            self._notify(slo, recorded, now)
        return recorded

    def _notify(self, slo: SLO, recorded: Recorded, now: datetime) -> None:
        if not self.webhooks:
            return
        plan = recorded.plan
        event = Notification(
            key=f"remediation:{plan.target}:{recorded.action_id}",
            kind=NOTIFICATION_KIND,
            at=now,
            summary=f"{slo.id}: {plan.kind} on {plan.target} {recorded.state.value}: {plan.reason}",
            slo_id=slo.id,
            service=slo.service,
            state=recorded.state.value,
            details=action_details(recorded.action_id, plan),
        )
        queue_notifications(self.store.outbox, self.webhooks, [event], now)
