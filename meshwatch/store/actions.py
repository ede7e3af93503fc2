"""Remediation audit log (plans written before they are applied) and manual holds."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select

from meshwatch.store.completion import complete_once
from meshwatch.store.engine import upsert, writer
from meshwatch.store.errors import store_errors
from meshwatch.store.records import (
    FINAL_ACTION_STATES,
    Action,
    ActionPlan,
    ActionState,
    Hold,
)
from meshwatch.store.tables import ActionRow, HoldRow, LoopStateRow

log = logging.getLogger(__name__)


class ActionLog:
    """The audit log of remediation actions and the per-target holds."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    @store_errors
    def create_action(self, plan: ActionPlan, now: datetime) -> int:
        """Record `plan` as `planned` (call BEFORE applying it); return its id."""
        with self._writer.begin() as conn:
            action_id = conn.execute(
                insert(ActionRow)
                .values(
                    slo_id=plan.slo_id,
                    target=plan.target,
                    actuator=plan.actuator,
                    kind=plan.kind,
                    weights_before=dict(plan.weights_before),
                    weights_after=dict(plan.weights_after),
                    params=dict(plan.params),
                    reason=plan.reason,
                    dry_run=plan.dry_run,
                    state=ActionState.PLANNED.value,
                    detail="",
                    created_at=now,
                    completed_at=None,
                )
                .returning(ActionRow.id)
            ).scalar_one()
        log.info("action %s planned: %s %s on %s", action_id, plan.kind, plan.slo_id, plan.target)
        return int(action_id)

    @store_errors
    def complete_action(
        self, action_id: int, state: ActionState, detail: str, now: datetime
    ) -> Action:
        """Mark a planned action applied / rejected / failed / dry-run; return it.

        Raises StoreError when the id is unknown or the action was already completed (an
        action completes once; a rollback is a new action).
        """
        state = ActionState(state)
        if state not in FINAL_ACTION_STATES:
            raise ValueError(f"{state.value!r} is not a final action state")
        values = {"state": state.value, "detail": detail, "completed_at": now}
        with self._writer.begin() as conn:
            row = complete_once(
                conn,
                ActionRow,
                action_id,
                ActionRow.state,
                ActionState.PLANNED.value,
                values,
                "remediation action",
            )
        log.info("action %s %s: %s", action_id, state.value, detail)
        return _action(row)

    @store_errors
    def get_action(self, action_id: int) -> Action | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(ActionRow).where(ActionRow.id == action_id)).first()
        return None if row is None else _action(row._mapping)

    @store_errors
    def list_actions(
        self, target: str | None = None, slo_id: str | None = None, limit: int = 100
    ) -> list[Action]:
        """Newest first, optionally for one target and/or one SLO."""
        query = select(ActionRow).order_by(ActionRow.id.desc()).limit(limit)
        if target is not None:
            query = query.where(ActionRow.target == target)
        if slo_id is not None:
            query = query.where(ActionRow.slo_id == slo_id)
        with self._engine.connect() as conn:
            return [_action(row._mapping) for row in conn.execute(query)]

    @store_errors
    def counts(self) -> dict[tuple[str, ActionState], int]:
        """Number of actions per (slo_id, state), for the `/metrics` exporter."""
        query = select(ActionRow.slo_id, ActionRow.state, func.count()).group_by(
            ActionRow.slo_id, ActionRow.state
        )
        with self._engine.connect() as conn:
            return {
                (slo_id, ActionState(state)): int(n) for slo_id, state, n in conn.execute(query)
            }

    @store_errors
    def set_hold(self, target: str, held: bool, by: str, reason: str, now: datetime) -> Hold:
        """Hold (held=True) or resume (held=False) remediation on `target`."""
        values = {"target": target, "held": held, "by": by, "reason": reason, "updated_at": now}
        with self._writer.begin() as conn:
            stmt = upsert(conn, HoldRow).values(values)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[HoldRow.target],
                    set_={k: stmt.excluded[k] for k in ("held", "by", "reason", "updated_at")},
                )
            )
        log.info("target %s %s by %s: %s", target, "held" if held else "resumed", by, reason)
        return Hold(target, held, by, reason, now)

    @store_errors
    def holds(self, include_released: bool = False) -> list[Hold]:
        """Targets on hold (and, optionally, the released ones), by target."""
        query = select(HoldRow).order_by(HoldRow.target)
        if not include_released:
            query = query.where(HoldRow.held.is_(True))
        with self._engine.connect() as conn:
            return [
                Hold(row.target, row.held, row.by, row.reason, row.updated_at)
                for row in conn.execute(query)
            ]

    @store_errors
    def is_held(self, target: str) -> bool:
        with self._engine.connect() as conn:
            held = conn.execute(select(HoldRow.held).where(HoldRow.target == target)).scalar()
        return bool(held)

    @store_errors
    def save_loop_state(
        self, target: str, slo_id: str, state: Mapping[str, Any], now: datetime
    ) -> None:
        """Keep the planner's memory of `target` (JSON, `LoopState.to_dict()`)."""
        values = {"target": target, "slo_id": slo_id, "state": dict(state), "updated_at": now}
        with self._writer.begin() as conn:
            stmt = upsert(conn, LoopStateRow).values(values)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[LoopStateRow.target],
                    set_={k: stmt.excluded[k] for k in ("slo_id", "state", "updated_at")},
                )
            )

    @store_errors
    def loop_states(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """The kept planner memories: target -> (slo_id, state)."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(LoopStateRow)).all()
        return {row.target: (row.slo_id, dict(row.state)) for row in rows}


def _action(values: Mapping[Any, Any]) -> Action:
    plan = ActionPlan(
        slo_id=values["slo_id"],
        target=values["target"],
        actuator=values["actuator"],
        kind=values["kind"],
        reason=values["reason"],
        dry_run=bool(values["dry_run"]),
        weights_before={k: int(v) for k, v in values["weights_before"].items()},
        weights_after={k: int(v) for k, v in values["weights_after"].items()},
        params=dict(values["params"]),
    )
    return Action(
        id=int(values["id"]),
        plan=plan,
        state=ActionState(values["state"]),
        detail=values["detail"],
        created_at=values["created_at"],
        completed_at=values["completed_at"],
    )
