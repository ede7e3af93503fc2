"""The closed loop in the running service: evaluation -> plan -> audit log -> actuator.

`RemediationLoop` drives the routes named by the SLOs' remediation policies:

* as the evaluation hook (`loop(evaluation, now)`, run by `EvaluationJob` after every
  cycle) it takes one step per route (`_step`): read the weights from the data plane
  (cached for `weights_max_age`, re-read after any change that was not confirmed), turn the
  evaluation's per-backend counts into `Measurement`s (errors, no data, low traffic and a
  stale evaluation are `unknown`, which freezes the route), add the firing page alerts
  (`AlertListener`) and the manual hold, and call the pure planner. A decision that
  changes something goes through the `ActionRecorder`; it is dry-run when the policy says
  so or the master switch `remediation_enabled` is off. "Every backend burning" is
  recorded once per episode as an action of kind `all-burning` in state `rejected`;
* as a `RemediationControl` for the API: list targets, hold/resume (kept in the store's
  hold table, read every cycle), and rollback to the baseline weights (recorded and
  applied like any other action).

No lock is held across I/O where a reader waits: see `meshwatch.loop.route`. The planner's
memory (`LoopState`) is saved in the store whenever it changes and read back on the first
cycle after a start, so a restart in the middle of an incident neither forgets the baseline
nor restores early.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from meshwatch.engine.evaluate import BackendMeasurement, Evaluation
from meshwatch.engine.runtime import Runtime
from meshwatch.errors import ActuatorError, StoreError, UnknownTargetError
from meshwatch.loop.alerts import AlertListener
from meshwatch.loop.recorder import ActionRecorder, Recorded, assessments
from meshwatch.loop.route import Route, measurement
from meshwatch.model import SLO, RemediationPolicy
from meshwatch.remediate.base import Actuator, ApplyState, Retries, select
from meshwatch.remediate.control import TargetStatus
from meshwatch.remediate.policy import DecisionKind, LoopState, Measurement, plan
from meshwatch.remediate.run import (
    PlannedAction,
    decided_action,
    execute,
    planned_action,
    rollback_action,
)
from meshwatch.remediate.weights import baseline_weights
from meshwatch.settings import WebhookTarget
from meshwatch.store import ActionState, AlertEvent, Store

log = logging.getLogger(__name__)

WEIGHTS_MAX_AGE = timedelta(seconds=10)
"""How long weights read from the data plane are trusted before they are read again."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


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
        self.retries = retries or Retries()
        self.max_age = max_age
        self.weights_max_age = weights_max_age
        self.clock = clock
        self.alerts = AlertListener(clock)
        self.recorder = ActionRecorder(store, runtime, clock, webhooks)
        self._routes: dict[str, Route] = {}
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
            self._routes[policy.target] = Route(slo, policy)

    @property
    def webhooks(self) -> Sequence[WebhookTarget]:
        return self.recorder.webhooks

    @webhooks.setter
    def webhooks(self, webhooks: Sequence[WebhookTarget]) -> None:
        self.recorder.webhooks = webhooks

    def on_alerts(self, events: Sequence[AlertEvent]) -> None:
        """The Alertmanager webhook's hand-off (see `AlertListener.on_alerts`)."""
        self.alerts.on_alerts(events)

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
                with route.busy:
                    self._step(
                        route, by_slo.get(route.slo.id, []), stale, route.target in held, now
                    )
            except Exception:  # one route failing must not stop the others
                log.exception("%s: remediation of %s failed", route.slo.id, route.target)

    def _step(
        self,
        route: Route,
        backends: Sequence[BackendMeasurement],
        stale: bool,
        held: bool,
        now: datetime,
    ) -> None:
        """One evaluation of one route (the caller holds `route.busy`)."""
        policy = route.policy
        try:
            actuator = select(self.actuators, policy.actuator)
            weights = self._weights(route, actuator, now)
        except ActuatorError as exc:
            if str(exc) != route.error:
                log.warning("%s: cannot read %s: %s", route.slo.id, policy.target, exc)
            route.failed_read(str(exc))
            return
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
            alerts=self.alerts.burning(route.slo, policy, measurements, now),
        )
        route.decided(decision, now)
        self._save_state(route, previous, now)
        log.debug("%s %s: %s: %s", route.slo.id, policy.target, decision.kind, decision.reason)
        by_loop = {"by": "loop", "assessments": assessments(decision.assessments)}
        if decision.kind is DecisionKind.ALL_BURNING and previous.all_burning_since is None:
            log.warning("%s %s: %s", route.slo.id, policy.target, decision.reason)
            episode = replace(
                decided_action(route.slo.id, policy, decision), dry_run=self._dry_run(policy)
            )
            self.recorder.record(
                route.slo,
                episode,
                by_loop,
                now,
                apply=None,
                refused="every backend burning: shifted nothing",
            )
        planned = planned_action(route.slo.id, policy, decision)
        if planned is not None:
            action = replace(planned, dry_run=self._dry_run(policy))
            retries = {True: "tighten", False: "restore", None: None}[action.retries]
            recorded = self.recorder.record(
                route.slo,
                action,
                {"retries": retries, **by_loop},
                now,
                apply=lambda: execute(action, actuator, self.retries),
                notify=lambda state: self._new_to_people(route, action, state),
            )
            self._took(route, recorded)
        self._publish(route)

    def _new_to_people(self, route: Route, action: PlannedAction, state: ActionState) -> bool:
        """The same dry run every cooldown is in the log, not in people's inbox."""
        key = (action.kind, tuple(sorted(action.weights_after.items())))
        if state is not ActionState.DRY_RUN:
            route.last_dry_run = None
            return True
        if route.last_dry_run == key:
            return False
        route.last_dry_run = key
        return True

    def _took(self, route: Route, recorded: Recorded) -> None:
        """What the data plane has after an action: confirmed weights, or read them again."""
        result = recorded.result
        if result is not None and result.state is ApplyState.APPLIED:
            route.read(result.weights, self.clock())
        elif result is None or result.state is not ApplyState.DRY_RUN:
            route.read(None, None)

    def _load_states(self) -> None:
        """Read the planner memories kept by the previous run (once, on the first cycle)."""
        for target, (slo_id, data) in self.store.actions.loop_states().items():
            route = self._routes.get(target)
            if route is None or route.slo.id != slo_id:
                continue
            try:
                route.remember(LoopState.from_dict(data))
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("%s: ignoring the kept loop state of %s: %s", slo_id, target, exc)
        self._loaded = True

    def _save_state(self, route: Route, previous: LoopState, now: datetime) -> None:
        data = route.state.to_dict()
        if data != previous.to_dict():
            self.store.actions.save_loop_state(route.target, route.slo.id, data, now)

    def _weights(self, route: Route, actuator: Actuator, now: datetime) -> dict[str, int]:
        fresh = route.read_at is not None and now - route.read_at < self.weights_max_age
        if route.weights is None or not fresh:
            route.read(actuator.current(route.target).weights, now)
        assert route.weights is not None
        return dict(route.weights)

    def _dry_run(self, policy: RemediationPolicy) -> bool:
        return policy.dry_run or not self.enabled

    def _publish(self, route: Route) -> None:
        weights = route.weights
        if weights is not None:
            self.runtime.set_route_weights(route.target, weights)

    # --- RemediationControl (for the API) ---------------------------------------------------

    def targets(self) -> list[TargetStatus]:
        held = {hold.target for hold in self.store.actions.holds()}
        return [self._status(r, r.target in held) for _, r in sorted(self._routes.items())]

    def set_hold(
        self, target: str, held: bool, *, by: str, reason: str, now: datetime
    ) -> TargetStatus:
        route = self._route(target)
        self.store.actions.set_hold(target, held, by, reason, now)
        with route.busy:
            previous = route.state
            route.remember(replace(previous, hold=held))
            self._save_state(route, previous, now)
        return self._status(route, held)

    def rollback(self, target: str, *, by: str, reason: str, now: datetime) -> int:
        """Apply the baseline weights (and the user's retry policy) now, as a recorded action.

        The planner's memory of the route starts afresh (every backend healthy, cooldown
        from now): if a backend still burns, the loop acts on it again unless the target is
        held, so hold first to keep the loop off. Raises `ActuatorError` when the data plane
        cannot be read (nothing is recorded then).
        """
        route = self._route(target)
        with route.busy:
            policy = route.policy
            actuator = select(self.actuators, policy.actuator)
            current = actuator.current(target)
            route.read(current.weights, self.clock())
            baseline = baseline_weights(policy, route.state.baseline, current.weights)
            action = rollback_action(
                route.slo.id,
                policy,
                current,
                baseline,
                by=by,
                reason=reason,
                dry_run=self._dry_run(policy),
            )
            recorded = self.recorder.record(
                route.slo,
                action,
                {"retries": "restore" if current.retries else None, "by": by},
                now,
                apply=lambda: execute(action, actuator, self.retries),
            )
            self._took(route, recorded)
            if recorded.state is ActionState.APPLIED:
                previous = route.state
                route.remember(
                    replace(
                        previous,
                        backends={},
                        baseline=baseline,
                        last_action_at=now,
                        retries_tightened=False,
                        all_burning_since=None,
                    )
                )
                self._save_state(route, previous, now)
            self._publish(route)
            return recorded.action_id

    def _route(self, target: str) -> Route:
        try:
            return self._routes[target]
        except KeyError:
            raise UnknownTargetError(f"no remediation policy targets {target!r}") from None

    def _status(self, route: Route, held: bool) -> TargetStatus:
        return route.status(
            dry_run=self._dry_run(route.policy),
            held=held,
            alerting=sorted(self.alerts.firing_backends(route.slo.id)),
        )
