"""One route the loop drives: what it knows between evaluations, and its inputs.

A `Route` has two locks with two jobs:

* `busy` serializes the writers of one route (an evaluation step, a rollback, a hold):
  they read the data plane, plan, record and apply in turn, never interleaved. It is held
  across that I/O, so only writers of the same route ever wait on it.
* `view` guards the fields `GET /targets` reads (weights, baseline, last decision, error).
  It is taken only to copy or assign them, never across I/O: the API answers while an
  apply (and Envoy's confirm timeout) is in flight.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from meshwatch.errors import CollectorError, NoTrafficError
from meshwatch.model import SLO, Counts, RemediationPolicy, format_duration
from meshwatch.remediate.control import TargetStatus
from meshwatch.remediate.policy import Decision, LoopState, Measurement


@dataclass(eq=False)
class Route:
    """One target and what the loop knows about it between evaluations."""

    slo: SLO
    policy: RemediationPolicy
    state: LoopState = field(default_factory=LoopState)
    weights: dict[str, int] | None = None
    read_at: datetime | None = None
    decision: Decision | None = None
    decided_at: datetime | None = None
    error: str = ""
    last_dry_run: tuple[str, tuple[tuple[str, int], ...]] | None = None
    busy: threading.Lock = field(default_factory=threading.Lock, repr=False)
    view: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def target(self) -> str:
        return self.policy.target

    def status(self, *, dry_run: bool, held: bool, alerting: Sequence[str]) -> TargetStatus:
        """A consistent copy of what the API shows (takes `view` only to copy)."""
        with self.view:
            decision, weights, decided_at = self.decision, self.weights, self.decided_at
            baseline, error = dict(self.state.baseline), self.error
        return TargetStatus(
            target=self.target,
            slo_id=self.slo.id,
            actuator=self.policy.actuator,
            dry_run=dry_run,
            held=held,
            weights=dict(weights) if weights is not None else None,
            baseline=baseline,
            decision=decision.kind.value if decision is not None else "",
            reason=decision.reason if decision is not None else "",
            decided_at=decided_at,
            error=error,
            alerting=tuple(sorted(alerting)),
        )

    def read(self, weights: Mapping[str, int] | None, at: datetime | None) -> None:
        """What the data plane says now (None: read it again next time)."""
        with self.view:
            self.weights = dict(weights) if weights is not None else None
            if at is not None:
                self.read_at = at

    def failed_read(self, error: str) -> None:
        with self.view:
            self.error, self.weights = error, None

    def decided(self, decision: Decision, now: datetime) -> None:
        """The planner's decision on weights that were read without error."""
        with self.view:
            self.state, self.decision, self.decided_at = decision.state, decision, now
            self.error = ""

    def remember(self, state: LoopState) -> None:
        with self.view:
            self.state = state


def measurement(
    counts: Mapping[timedelta, Counts | CollectorError], windows: Sequence[timedelta]
) -> Measurement:
    """A planner `Measurement` from one backend's counts on the policy's two windows.

    No traffic counts as zero requests (the planner calls it low traffic); any other
    failure, or a window that was not measured, makes the backend unknown with the reason.
    """
    found: list[Counts] = []
    problems: list[str] = []
    for window in windows:
        value = counts.get(window)
        if isinstance(value, Counts):
            found.append(value)
        elif isinstance(value, NoTrafficError):
            found.append(Counts(0.0, 0.0))
        else:
            problems.append(f"{format_duration(window)}: {value or 'not measured'}")
    if problems:
        return Measurement.unknown("; ".join(problems))
    return Measurement(found[0], found[1])
