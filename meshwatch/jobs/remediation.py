"""The closed loop in the running service: evaluation -> plan -> audit log -> actuator.

`RemediationLoop` is three things at once, all for the routes named by the SLOs'
remediation policies:

* an evaluation hook (`loop(evaluation, now)`, run by `EvaluationJob` after every cycle):
  per route, read the weights from the data plane (cached for `weights_max_age`, re-read
  after any change that was not confirmed), turn the evaluation's per-backend counts into
  `Measurement`s (errors, no data, low traffic and a stale evaluation are `unknown`, which
  freezes the route), add the firing page alerts and the manual hold, and call the pure
  planner. A decision that changes something is written to the store as `planned` BEFORE
  the actuator is called, and completed after as applied / rejected / failed / dry-run.
  It is dry-run when the policy says so or the master switch `remediation_enabled` is off.
  "Every backend burning" is recorded once per episode as an action of kind `all-burning`
  in state `rejected` (nothing is applied) and notified;
* an Alertmanager listener (`loop.on_alerts`): a firing alert with `meshwatch_severity=page`
  and a `meshwatch_backend` label marks that backend as burning until it resolves;
* a `RemediationControl` for the API: list targets, hold/resume (kept in the store's hold
  table, read every cycle), and rollback to the baseline weights (recorded as an action).

The planner's memory (`LoopState`: backend health with its hysteresis, the baseline to
restore, the last action time) is saved in the store whenever it changes and read back on
the first cycle after a start, so a restart in the middle of an incident neither forgets the
baseline nor restores early. Holds live in the store too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from meshwatch import conventions as c
from meshwatch.collectors.base import NO_TRAFFIC
from meshwatch.engine.evaluate import BackendMeasurement, Evaluation
from meshwatch.engine.runtime import Runtime
from meshwatch.errors import ActuatorError, CollectorError, NoDataError, StoreError
from meshwatch.jobs.alert_memory import ALERT_STALENESS, FiringAlert, alert_backends
from meshwatch.jobs.tasks import queue_notifications
from meshwatch.model import SLO, Counts, RemediationPolicy, format_duration
from meshwatch.notify.events import Notification
from meshwatch.remediate.base import Actuator, ApplyState, Retries, select
from meshwatch.remediate.control import TargetStatus, UnknownTargetError
from meshwatch.remediate.policy import (
    Assessment,
    Decision,
    DecisionKind,
    LoopState,
    Measurement,
    plan,
)
from meshwatch.remediate.run import PlannedAction, execute, planned_action
from meshwatch.settings import WebhookTarget
from meshwatch.store import ActionPlan, ActionState, AlertEvent, AlertStatus, Store

log = logging.getLogger(__name__)

WEIGHTS_MAX_AGE = timedelta(seconds=10)
"""How long weights read from the data plane are trusted before they are read again."""

ALL_BURNING = "all-burning"
ROLLBACK = "rollback"


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Route:
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
        elif isinstance(value, NoDataError) and value.reason == NO_TRAFFIC:
            found.append(Counts(0.0, 0.0))
        else:
            problems.append(f"{format_duration(window)}: {value or 'not measured'}")
    if problems:
        return Measurement.unknown("; ".join(problems))
    return Measurement(found[0], found[1])


class RemediationLoop:
    """The remediation loop of one `meshwatch serve` (see the module docstring)."""

    def __init__(
        self,
        slos: Sequence[SLO],
        *,
        store: Store,
        runtime: Runtime,
        actuators: Mapping[str, Actuator],
        enabled: bool,
        webhooks: Sequence[WebhookTarget] = (),
        retries: Retries | None = None,
        max_age: timedelta = timedelta(minutes=1),
        weights_max_age: timedelta = WEIGHTS_MAX_AGE,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.store = store
        self.runtime = runtime
        self.actuators = actuators
        self.enabled = enabled
        self.webhooks = webhooks
        self.retries = retries or Retries()
        self.max_age = max_age
        self.weights_max_age = weights_max_age
        self.clock = clock
        self._lock = threading.RLock()  # routes: one evaluation or API call at a time
        self._alerts_lock = threading.Lock()  # the webhook never waits for an apply
        self._firing: dict[str, FiringAlert] = {}  # by fingerprint
        self._routes: dict[str, _Route] = {}
        self._loaded = False
        for slo in slos:
            policy = slo.remediation
            if policy is None:
                continue
            if policy.target in self._routes:
                log.warning(
                    "%s: target %s is already driven by %s; ignoring this policy",
                    slo.id,
                    policy.target,
                    self._routes[policy.target].slo.id,
                )
                continue
            self._routes[policy.target] = _Route(slo, policy)

    # --- the evaluation hook ------------------------------------------------------------

    def __call__(self, evaluation: Evaluation, now: datetime) -> None:
        if not self._routes:
            return
        try:
            if not self._loaded:
                self._load_states()
            held = {hold.target for hold in self.store.actions.holds()}
        except StoreError as exc:  # no audit log, no action: every route stays as it is
            log.error("remediation skipped this cycle, the store is unavailable: %s", exc)
            return
        stale = now - evaluation.at > self.max_age
        by_slo: dict[str, list[BackendMeasurement]] = {}
        for backend in evaluation.backends:
            by_slo.setdefault(backend.slo_id, []).append(backend)
        for route in self._routes.values():
            try:
                with self._lock:
                    self._step(
                        route, by_slo.get(route.slo.id, []), stale, route.policy.target in held, now
                    )
            except Exception:  # one route failing must not stop the others
                log.exception("%s: remediation of %s failed", route.slo.id, route.policy.target)

    def _step(
        self,
        route: _Route,
        backends: Sequence[BackendMeasurement],
        stale: bool,
        held: bool,
        now: datetime,
    ) -> None:
        policy = route.policy
        try:
            actuator = select(self.actuators, policy.actuator)
            weights = self._weights(route, actuator, now)
        except ActuatorError as exc:
            if str(exc) != route.error:
                log.warning("%s: cannot read %s: %s", route.slo.id, policy.target, exc)
            route.error = str(exc)
            route.weights = None
            return
        route.error = ""
        measurements = {
            b.backend: (
                Measurement.unknown("the evaluation is stale")
                if stale
                else measurement(b.counts, policy.short_windows)
            )
            for b in backends
        }
        previous = route.state
        decision = plan(
            policy,
            error_budget=route.slo.error_budget,
            weights=weights,
            measurements=measurements,
            state=replace(previous, hold=held),
            now=now,
            alerts=self._alerting(route, measurements, now),
        )
        route.state, route.decision, route.decided_at = decision.state, decision, now
        self._save_state(route, previous, now)
        log.debug("%s %s: %s: %s", route.slo.id, policy.target, decision.kind, decision.reason)
        if decision.kind is DecisionKind.ALL_BURNING and previous.all_burning_since is None:
            self._record_all_burning(route, decision, now)
        action = planned_action(route.slo.id, policy, decision)
        if action is not None:
            self._apply(
                route, actuator, replace(action, dry_run=self._dry_run(policy)), decision, now
            )
        self._publish(route)

    def _load_states(self) -> None:
        """Read the planner memories kept by the previous run (once, on the first cycle)."""
        for target, (slo_id, data) in self.store.actions.loop_states().items():
            route = self._routes.get(target)
            if route is None or route.slo.id != slo_id:
                continue
            try:
                route.state = LoopState.from_dict(data)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("%s: ignoring the kept loop state of %s: %s", slo_id, target, exc)
        self._loaded = True

    def _save_state(self, route: _Route, previous: LoopState, now: datetime) -> None:
        data = route.state.to_dict()
        if data != previous.to_dict():
            self.store.actions.save_loop_state(route.policy.target, route.slo.id, data, now)

    def _weights(self, route: _Route, actuator: Actuator, now: datetime) -> dict[str, int]:
        fresh = route.read_at is not None and now - route.read_at < self.weights_max_age
        if route.weights is None or not fresh:
            route.weights = dict(actuator.current(route.policy.target).weights)
            route.read_at = now
        return route.weights

    def _dry_run(self, policy: RemediationPolicy) -> bool:
        return policy.dry_run or not self.enabled

    # --- applying and recording -----------------------------------------------------------

    def _apply(
        self,
        route: _Route,
        actuator: Actuator,
        action: PlannedAction,
        decision: Decision,
        now: datetime,
    ) -> None:
        retries = {True: "tighten", False: "restore", None: None}[action.retries]
        params: dict[str, Any] = {
            "retries": retries,
            "by": "loop",
            "assessments": [_assessment(a) for a in decision.assessments],
        }
        action_id = self.store.actions.create_action(
            ActionPlan(
                slo_id=action.slo_id,
                target=action.target,
                actuator=action.actuator,
                kind=action.kind.value,
                reason=action.reason,
                dry_run=action.dry_run,
                weights_before=action.weights_before,
                weights_after=action.weights_after,
                params=params,
            ),
            now,
        )
        try:
            result = execute(action, actuator, self.retries)
        except ActuatorError as exc:
            state, detail = ActionState.FAILED, str(exc)
            route.weights = None  # read the data plane again next time
        else:
            state, detail = ActionState(result.state.value), result.detail
            if result.state is ApplyState.APPLIED:
                route.weights, route.read_at = dict(result.weights), self.clock()
            elif result.state is not ApplyState.DRY_RUN:
                route.weights = None
        done = self.store.actions.complete_action(action_id, state, detail, self.clock())
        self.runtime.count_action(action.actuator, state.value)
        log.info(
            "%s %s: action %s %s %s: %s",
            action.slo_id,
            action.target,
            action_id,
            action.kind.value,
            state.value,
            action.reason,
        )
        key = (action.kind.value, tuple(sorted(action.weights_after.items())))
        if state is ActionState.DRY_RUN:
            if route.last_dry_run == key:
                return  # the same dry run every cooldown is in the log, not in people's inbox
            route.last_dry_run = key
        else:
            route.last_dry_run = None
        self._notify(route, action_id, done.plan.kind, state, action.reason, done.plan, now)

    def _record_all_burning(self, route: _Route, decision: Decision, now: datetime) -> None:
        policy = route.policy
        action_id = self.store.actions.create_action(
            ActionPlan(
                slo_id=route.slo.id,
                target=policy.target,
                actuator=policy.actuator,
                kind=ALL_BURNING,
                reason=decision.reason,
                dry_run=self._dry_run(policy),
                weights_before=dict(decision.weights_before),
                weights_after=dict(decision.weights),
                params={
                    "by": "loop",
                    "assessments": [_assessment(a) for a in decision.assessments],
                },
            ),
            now,
        )
        done = self.store.actions.complete_action(
            action_id, ActionState.REJECTED, "every backend burning: shifted nothing", self.clock()
        )
        self.runtime.count_action(policy.actuator, ActionState.REJECTED.value)
        log.warning("%s %s: %s", route.slo.id, policy.target, decision.reason)
        self._notify(
            route, action_id, ALL_BURNING, ActionState.REJECTED, decision.reason, done.plan, now
        )

    def _notify(
        self,
        route: _Route,
        action_id: int,
        kind: str,
        state: ActionState,
        reason: str,
        plan_row: ActionPlan,
        now: datetime,
    ) -> None:
        if not self.webhooks:
            return
        event = Notification(
            key=f"remediation:{route.policy.target}:{action_id}",
            kind="remediation.action",
            at=now,
            summary=f"{route.slo.id}: {kind} on {route.policy.target} {state.value}: {reason}",
            slo_id=route.slo.id,
            service=route.slo.service,
            state=state.value,
            details={
                "action_id": action_id,
                "kind": kind,
                "target": route.policy.target,
                "actuator": route.policy.actuator,
                "dry_run": plan_row.dry_run,
                "weights_before": dict(plan_row.weights_before),
                "weights_after": dict(plan_row.weights_after),
            },
        )
        queue_notifications(self.store, self.webhooks, [event], now)

    def _publish(self, route: _Route) -> None:
        if route.weights is not None:
            self.runtime.set_route_weights(route.policy.target, route.weights)

    # --- alerts from the Alertmanager webhook ---------------------------------------------

    def on_alerts(self, events: Sequence[AlertEvent]) -> None:
        """Remember firing page alerts that name a backend; forget them when resolved."""
        with self._alerts_lock:
            for event in events:
                backend = event.labels.get(c.LABEL_BACKEND, "")
                slo_id = event.slo_id
                if not backend or slo_id is None:
                    continue
                if event.labels.get(c.LABEL_SEVERITY) != c.SEVERITY_PAGE:
                    continue
                if event.status is AlertStatus.FIRING:
                    self._firing[event.fingerprint] = FiringAlert(slo_id, backend, self.clock())
                else:
                    self._firing.pop(event.fingerprint, None)

    def _alerting(
        self, route: _Route, measurements: Mapping[str, Measurement], now: datetime
    ) -> Collection[str]:
        with self._alerts_lock:
            for fingerprint, alert in list(self._firing.items()):
                if now - alert.received_at > ALERT_STALENESS:
                    del self._firing[fingerprint]  # no delivery for too long: forget it
            firing = list(self._firing.values())
        return alert_backends(
            firing, route.slo.id, measurements, route.policy, route.slo.error_budget, now
        )

    def _firing_backends(self, slo_id: str) -> set[str]:
        """Backends of `slo_id` with a firing page alert, confirmed by measurements or not."""
        with self._alerts_lock:
            return {a.backend for a in self._firing.values() if a.slo_id == slo_id}

    # --- RemediationControl (for the API) ---------------------------------------------------

    def targets(self) -> list[TargetStatus]:
        held = {hold.target for hold in self.store.actions.holds()}
        with self._lock:
            return [
                self._status(r, r.policy.target in held) for _, r in sorted(self._routes.items())
            ]

    def set_hold(
        self, target: str, held: bool, *, by: str, reason: str, now: datetime
    ) -> TargetStatus:
        route = self._route(target)
        self.store.actions.set_hold(target, held, by, reason, now)
        with self._lock:
            previous, route.state = route.state, replace(route.state, hold=held)
            self._save_state(route, previous, now)
            return self._status(route, held)

    def rollback(self, target: str, *, by: str, reason: str, now: datetime) -> int:
        """Apply the baseline weights (and the user's retry policy) now, as a recorded action.

        The planner's memory of the route starts afresh (every backend healthy, cooldown
        from now): if a backend still burns, the loop acts on it again unless the target is
        held, so hold first to keep the loop off.
        """
        route = self._route(target)
        with self._lock:
            policy = route.policy
            actuator = select(self.actuators, policy.actuator)
            current = actuator.current(target)
            baseline = _rollback_weights(route, current.weights)
            dry_run = self._dry_run(policy)
            action_id = self.store.actions.create_action(
                ActionPlan(
                    slo_id=route.slo.id,
                    target=target,
                    actuator=policy.actuator,
                    kind=ROLLBACK,
                    reason=f"manual rollback by {by}: {reason}"
                    if reason
                    else f"manual rollback by {by}",
                    dry_run=dry_run,
                    weights_before=dict(current.weights),
                    weights_after=baseline,
                    params={"retries": "restore" if current.retries else None, "by": by},
                ),
                now,
            )
            try:
                result = actuator.apply(
                    target,
                    baseline if baseline != dict(current.weights) else None,
                    restore_retries=current.retries,
                    dry_run=dry_run,
                )
            except ActuatorError as exc:
                state, detail = ActionState.FAILED, str(exc)
                route.weights = None
            else:
                state, detail = ActionState(result.state.value), result.detail
                route.weights = dict(result.weights) if state is ActionState.APPLIED else None
                route.read_at = self.clock()
            done = self.store.actions.complete_action(action_id, state, detail, self.clock())
            self.runtime.count_action(policy.actuator, state.value)
            if state is ActionState.APPLIED:
                previous = route.state
                route.state = replace(
                    route.state,
                    backends={},
                    baseline=baseline,
                    last_action_at=now,
                    retries_tightened=False,
                    all_burning_since=None,
                )
                self._save_state(route, previous, now)
            self._publish(route)
            self._notify(route, action_id, ROLLBACK, state, done.plan.reason, done.plan, now)
            return action_id

    def _route(self, target: str) -> _Route:
        try:
            return self._routes[target]
        except KeyError:
            raise UnknownTargetError(f"no remediation policy targets {target!r}") from None

    def _status(self, route: _Route, held: bool) -> TargetStatus:
        decision = route.decision
        return TargetStatus(
            target=route.policy.target,
            slo_id=route.slo.id,
            actuator=route.policy.actuator,
            dry_run=self._dry_run(route.policy),
            held=held,
            weights=dict(route.weights) if route.weights is not None else None,
            baseline=dict(route.state.baseline),
            decision=decision.kind.value if decision is not None else "",
            reason=decision.reason if decision is not None else "",
            decided_at=route.decided_at,
            error=route.error,
            alerting=tuple(sorted(self._firing_backends(route.slo.id))),
        )


def _rollback_weights(route: _Route, current: Mapping[str, int]) -> dict[str, int]:
    """The weights a rollback puts back: the planner's baseline, else the initial weights."""
    if route.state.baseline and set(route.state.baseline) == set(current):
        return dict(route.state.baseline)
    initial = {b.name: b.initial_weight for b in route.policy.backends}
    if set(initial) == set(current) and all(w is not None for w in initial.values()):
        return {name: int(w or 0) for name, w in initial.items()}
    return dict(current)


def _assessment(a: Assessment) -> dict[str, Any]:
    return {
        "backend": a.backend,
        "reading": a.reading.value,
        "health": a.health.value,
        "burn_short": a.burn_short,
        "burn_long": a.burn_long,
        "requests_short": a.requests_short,
        "alerting": a.alerting,
        "note": a.note,
    }
