"""Domain records the store takes and returns (frozen dataclasses; rows stay inside store/).

`SLOStatus` lives in `meshwatch.model`; everything else the store keeps is defined here.
All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from meshwatch import conventions as c
from meshwatch.model import Counts, SLOStatus, State

# --- status history ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """One point of an SLO's history at the resolution asked for.

    `at` is the start of the bucket (a multiple of the step since the epoch); `status` is the
    last evaluation in it; `worst_state` the worst state of all `samples` evaluations it
    stands for (pruning keeps these, so a two-minute breach survives hourly downsampling).
    """

    at: datetime
    status: SLOStatus
    worst_state: State
    samples: int


@dataclass(frozen=True, slots=True)
class WindowSum:
    """Requests and errors of the history points of one report bucket, each counted once.

    `bucket` counts buckets from the report's start (0 = the first); `points` is how many
    history points (at most one per history step) were summed; `covered` is the time their
    windows stand for (less than the bucket when history has gaps or little data).
    """

    slo_id: str
    bucket: int
    requests: float
    errors: float
    points: int
    covered: timedelta = timedelta(0)


@dataclass(frozen=True, slots=True)
class BackendPoint:
    """One remediation backend of an SLO measured at `at` on its policy's short windows.

    `counts` maps a window name (`1m`) to its counts; a window that was not measured is
    absent and `reason` says why. Read with a step, `at` is the last evaluation of its bucket
    and `samples` the number of evaluations the bucket stands for.
    """

    slo_id: str
    backend: str
    at: datetime
    counts: Mapping[str, Counts]
    reason: str = ""
    samples: int = 1


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What one `prune()` did: rows merged into coarser buckets and rows past retention
    (status history; `backend_*` the same for backend history)."""

    compacted: int
    expired: int
    backend_compacted: int = 0
    backend_expired: int = 0


# --- alerts ---------------------------------------------------------------------------


class AlertStatus(enum.StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One alert of an Alertmanager webhook (version 4) delivery.

    `ends_at` is None for Alertmanager's zero time (`0001-01-01T00:00:00Z`) of a firing alert.
    """

    fingerprint: str
    starts_at: datetime
    status: AlertStatus
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    ends_at: datetime | None = None
    generator_url: str = ""

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", "")

    @property
    def service(self) -> str | None:
        return self.labels.get(c.LABEL_SERVICE) or None

    @property
    def slo_id(self) -> str | None:
        """`<service>-<slo>` (as `SLO.id`) from the meshwatch_service / meshwatch_slo labels."""
        service, slo = self.service, self.labels.get(c.LABEL_SLO)
        if not service or not slo:
            return None
        return f"{service}-{slo}"


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An alert as stored: the latest delivery of it and how often it was delivered."""

    id: int
    event: AlertEvent
    first_received_at: datetime
    last_received_at: datetime
    deliveries: int


# --- remediation audit log --------------------------------------------------------------


class ActionState(enum.StrEnum):
    PLANNED = "planned"  # recorded, about to be applied
    APPLIED = "applied"  # the data plane took it (verified)
    REJECTED = "rejected"  # refused by a guardrail, a hold or an operator
    FAILED = "failed"  # the actuator or the verification failed
    DRY_RUN = "dry-run"  # planned and logged, not applied (dry-run policy)


FINAL_ACTION_STATES = frozenset(
    {ActionState.APPLIED, ActionState.REJECTED, ActionState.FAILED, ActionState.DRY_RUN}
)


@dataclass(frozen=True, slots=True)
class ActionPlan:
    """What an actuator is about to do to one target; generic over data planes.

    Weights are backend name -> weight (integers as the data plane takes them); `params`
    holds anything else the actuator changes (e.g. retry policy fields), JSON-compatible.
    """

    slo_id: str
    target: str
    actuator: str
    kind: str  # "shift", "restore", "retries", "rollback", ...
    reason: str
    dry_run: bool
    weights_before: Mapping[str, int] = field(default_factory=dict)
    weights_after: Mapping[str, int] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Action:
    """A recorded plan and what became of it."""

    id: int
    plan: ActionPlan
    state: ActionState
    detail: str
    created_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Hold:
    """The manual hold state of one target: while `held`, the loop must not act on it."""

    target: str
    held: bool
    by: str
    reason: str
    updated_at: datetime


# --- reports ----------------------------------------------------------------------------


class ReportStatus(enum.StrEnum):
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ReportRun:
    id: int
    period: str  # "7d", "30d", "calendar-month"
    format: str  # "html", "md", "json", "csv"
    uri: str  # file path or URL of the written report
    started_at: datetime
    finished_at: datetime | None
    status: ReportStatus
    error: str
    name: str | None = None  # scheduled runs: the configured report's name
    scheduled_at: datetime | None = None  # scheduled runs: the cron time claimed


# --- notification outbox -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    key: str  # deduplication key, e.g. "<slo_id>:<state>:<at>"
    target: str  # name of the notification target (webhook) it goes to
    payload: Mapping[str, Any]
    created_at: datetime
    next_attempt_at: datetime
    attempts: int
    delivered_at: datetime | None
    last_error: str
