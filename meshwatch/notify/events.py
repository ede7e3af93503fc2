"""Which SLO state changes deserve a notification (pure; `now` is a parameter).

A notification is sent when an SLO becomes breached, starts burning (warning), recovers to
ok from warning/breached, or has been unknown for longer than `unknown_after` (a short
unknown blip is not worth waking anyone). Each event has a dedup key made of the SLO, the
new state and the moment the state began, so the outbox sends it once however often the
evaluation loop sees the same state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from meshwatch.model import SLOStatus, State


@dataclass(frozen=True, slots=True)
class Notification:
    """One thing to tell people about. `key` deduplicates deliveries."""

    key: str
    kind: str  # "slo.state_changed" | "remediation.action"
    at: datetime
    summary: str
    slo_id: str = ""
    service: str = ""
    state: str = ""
    previous_state: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Tracked:
    """What the loop remembers per SLO between evaluations."""

    state: State
    since: datetime
    notified: bool
    previous: State | None = None  # the state before `state` began
    # While unknown: what was tracked before, restored if the same state returns before the
    # unknown was announced (a scrape miss or a restart is not a new state change).
    before: Tracked | None = None


def track(
    previous: Tracked | None,
    status: SLOStatus,
    *,
    unknown_after: timedelta = timedelta(minutes=10),
) -> tuple[Tracked, list[Notification]]:
    """Advance one SLO's tracked state with a new status; return the events to send."""
    if previous is None or previous.state is not status.state:
        tracked = _changed(previous, status.state, status.at)
    else:
        tracked = previous
    if tracked.notified:
        return tracked, []
    event = _event_for(tracked, status, unknown_after)
    if event is None:
        return tracked, []
    return replace(tracked, notified=True), [event]


def _changed(previous: Tracked | None, state: State, now: datetime) -> Tracked:
    if previous is None:
        return Tracked(state, now, notified=False)
    if previous.state is State.UNKNOWN and not previous.notified and previous.before is not None:
        # an unannounced unknown blip: compare with what came before it
        if previous.before.state is state:
            return previous.before
        return Tracked(state, now, notified=False, previous=previous.before.state)
    before = previous if state is State.UNKNOWN else None
    return Tracked(state, now, notified=False, previous=previous.state, before=before)


def resume(last: SLOStatus) -> Tracked:
    """The tracked state of an SLO after a restart, rebuilt from its last stored status.

    Its state change was already queued in the (persistent) outbox when it deserved a
    notification, so the restarted loop must not announce it again; a change that happened
    while meshwatch was down still differs from `last` and is announced. An unknown state
    stays un-notified: it may be announced once more if it lasts beyond `unknown_after`.
    """
    return Tracked(last.state, last.at, notified=last.state is not State.UNKNOWN)


def _event_for(
    tracked: Tracked, status: SLOStatus, unknown_after: timedelta
) -> Notification | None:
    state, old_state = tracked.state, tracked.previous
    if state is State.UNKNOWN:
        if status.at - tracked.since < unknown_after:
            return None
        summary = (
            f"{status.slo_id} has been unknown since {tracked.since.isoformat()}: {status.reason}"
        )
    elif state in (State.BREACHED, State.WARNING):
        verb = (
            "breached its objective" if state is State.BREACHED else "is burning its error budget"
        )
        summary = f"{status.slo_id} {verb}: {status.reason}"
    elif state is State.OK and old_state in (State.WARNING, State.BREACHED):
        summary = f"{status.slo_id} recovered"
    else:
        return None
    return Notification(
        key=f"slo:{status.slo_id}:{state.value}:{tracked.since.isoformat()}",
        kind="slo.state_changed",
        at=status.at,
        summary=summary,
        slo_id=status.slo_id,
        service=status.service,
        state=state.value,
        previous_state=old_state.value if old_state is not None else "",
        details={
            "reason": status.reason,
            "objective": status.objective,
            "period_sli": status.period_sli,
            "budget_remaining": status.budget_remaining,
            "burn_rate": dict(status.burn_rate),
        },
    )
