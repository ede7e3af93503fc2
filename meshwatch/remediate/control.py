"""What the API may ask of the running remediation loop: list, hold/resume, roll back.

The loop lives in `meshwatch.loop` and the API in `meshwatch.api`, two siblings that must
not import each other; both import this module. The API holds a `RemediationControl` (the
loop satisfies it structurally) and turns its answers into HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class TargetStatus:
    """One route the loop drives, as of its last evaluation.

    `weights` is None until the data plane has been read once (or when it cannot be);
    `baseline` is what restore and rollback aim at; `decision`/`reason` are the planner's
    last decision on this route; `error` is the last actuator error, if any.
    """

    target: str
    slo_id: str
    actuator: str
    dry_run: bool
    held: bool
    weights: Mapping[str, int] | None = None
    baseline: Mapping[str, int] = field(default_factory=dict)
    decision: str = ""
    reason: str = ""
    decided_at: datetime | None = None
    error: str = ""
    alerting: tuple[str, ...] = ()  # backends with a firing page alert (Alertmanager)


class RemediationControl(Protocol):
    """Manual control of the loop, per target.

    Raise `meshwatch.errors.UnknownTargetError` for a target no policy names.
    """

    def targets(self) -> list[TargetStatus]: ...

    def set_hold(
        self, target: str, held: bool, *, by: str, reason: str, now: datetime
    ) -> TargetStatus:
        """Hold (held=True) or resume the loop on `target`; kept in the store."""
        ...

    def rollback(self, target: str, *, by: str, reason: str, now: datetime) -> int:
        """Put the route back on its baseline weights (and retry policy) now; the action id."""
        ...
