"""Remediation audit log and holds, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meshwatch.errors import StoreError
from meshwatch.store import ActionPlan, ActionState, Hold, Store

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 25, 10, tzinfo=UTC)


def plan(target: str = "checkout/route#0", *, slo_id: str = "checkout-availability") -> ActionPlan:
    return ActionPlan(
        slo_id=slo_id,
        target=target,
        actuator="envoy",
        kind="shift",
        reason="v2 burns 14.4x on 1m and 5m; v1 healthy",
        dry_run=False,
        weights_before={"v1": 50, "v2": 50},
        weights_after={"v1": 100, "v2": 0},
        params={"retry_on": "5xx", "num_retries": 2, "refresh_cluster_on_retry": True},
    )


def test_an_action_is_planned_before_and_completed_after(store: Store) -> None:
    action_id = store.actions.create_action(plan(), NOW)
    [planned] = store.actions.list_actions()
    assert planned.id == action_id
    assert planned.plan == plan()
    assert (planned.state, planned.completed_at, planned.detail) == (ActionState.PLANNED, None, "")

    done = store.actions.complete_action(
        action_id, ActionState.APPLIED, "config_dump version 7", NOW + timedelta(seconds=2)
    )
    assert done.state is ActionState.APPLIED
    assert done.detail == "config_dump version 7"
    assert done.completed_at == NOW + timedelta(seconds=2)
    assert done.created_at == NOW
    assert store.actions.get_action(action_id) == done


@pytest.mark.parametrize(
    "state",
    [
        pytest.param(ActionState.REJECTED, id="rejected"),
        pytest.param(ActionState.FAILED, id="failed"),
        pytest.param(ActionState.DRY_RUN, id="dry-run"),
    ],
)
def test_every_final_state_is_recorded(store: Store, state: ActionState) -> None:
    action_id = store.actions.create_action(plan(), NOW)
    assert store.actions.complete_action(action_id, state, "why", NOW).state is state


def test_an_action_completes_once(store: Store) -> None:
    action_id = store.actions.create_action(plan(), NOW)
    store.actions.complete_action(action_id, ActionState.FAILED, "timeout", NOW)
    with pytest.raises(StoreError, match="already failed"):
        store.actions.complete_action(action_id, ActionState.APPLIED, "", NOW)
    with pytest.raises(StoreError, match="no remediation action"):
        store.actions.complete_action(action_id + 100, ActionState.APPLIED, "", NOW)
    with pytest.raises(ValueError, match="final"):
        store.actions.complete_action(action_id, ActionState.PLANNED, "", NOW)
    assert store.actions.get_action(action_id + 100) is None


def test_list_actions_newest_first_by_target_and_slo(store: Store) -> None:
    first = store.actions.create_action(plan("a"), NOW)
    second = store.actions.create_action(plan("b", slo_id="web-latency"), NOW)
    third = store.actions.create_action(plan("a"), NOW + timedelta(seconds=1))
    assert [a.id for a in store.actions.list_actions()] == [third, second, first]
    assert [a.id for a in store.actions.list_actions(target="a")] == [third, first]
    assert [a.id for a in store.actions.list_actions(slo_id="web-latency")] == [second]
    assert [a.id for a in store.actions.list_actions(limit=1)] == [third]
    store.actions.complete_action(first, ActionState.APPLIED, "", NOW)
    assert store.actions.counts() == {
        ("checkout-availability", ActionState.APPLIED): 1,
        ("checkout-availability", ActionState.PLANNED): 1,
        ("web-latency", ActionState.PLANNED): 1,
    }


def test_holds_are_set_released_and_listed(store: Store) -> None:
    assert store.actions.holds() == []
    assert not store.actions.is_held("r1")
    store.actions.set_hold("r1", True, "alice", "deploy in progress", NOW)
    store.actions.set_hold("r2", True, "bob", "investigating", NOW)
    assert store.actions.is_held("r1")
    released = store.actions.set_hold("r1", False, "alice", "done", NOW + timedelta(hours=1))
    assert released == Hold("r1", False, "alice", "done", NOW + timedelta(hours=1))
    assert not store.actions.is_held("r1")
    assert store.actions.holds() == [Hold("r2", True, "bob", "investigating", NOW)]
    assert [h.target for h in store.actions.holds(include_released=True)] == ["r1", "r2"]
