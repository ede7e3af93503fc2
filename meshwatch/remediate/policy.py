"""The remediation planner: one pure decision per route and evaluation.

`plan()` is a function of the policy, the route's current integer weights, what was
measured on each backend over the policy's two short windows, the page alerts firing per
backend, the loop's memory from the previous evaluation and `now`. It returns a `Decision`
that carries the new weights, the reason and the next memory; the caller persists
`decision.state` and passes it back next time. Nothing here does I/O.

Rules, in the order they are applied (DESIGN.md, "Remediation semantics"):

* A backend *burns* when its burn rate over BOTH short windows is >= `factor` (or a page
  alert fires for it). It is *clear* when both are below `factor * RECOVERY_FRACTION`, and
  in the band in between otherwise. Fewer than `min_requests` in a window is *unknown*.
* Hysteresis: a burning backend becomes *breaching*, and is healthy again only after clear
  readings without a break for `recovery_window`; readings in the band or unknown readings
  break the run. A healthy backend in the band stays healthy. So noise around the threshold
  cannot make the loop shift and restore in turn.
* Fail-static: a manual hold, or unknown data on any backend that carries weight, freezes
  the route; a drained backend (weight 0, no traffic) does not.
* When every backend that carries traffic breaches, the fault is not the version: nothing
  moves (`all-burning`); the caller records and notifies.
* Weight only ever moves away from breaching backends that do not read clear now (one that
  does is recovering: it neither loses nor gains weight), to backends that are healthy and
  clear now, `step` per action, never below the floor on the breaching backend
  (`min_healthy_weight`, `max_shift` from the baseline), with `cooldown` between actions.
  Only a healthy sibling that is clear (below half the factor) counts as "clearly better".
* Restore moves weight back toward the baseline (the backends' `initial_weight`s, else the
  weights first seen), `step` per action, only to backends that are healthy and clear.
* Weights are integers and always sum to the route's total; never all zero.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from meshwatch.model import Counts, RemediationPolicy
from meshwatch.remediate.memory import BackendMemory, Health, LoopState
from meshwatch.remediate.weights import baseline_weights, describe, restore, route_problem, shift

__all__ = [
    "RECOVERY_FRACTION",
    "Assessment",
    "BackendMemory",
    "Decision",
    "DecisionKind",
    "Health",
    "LoopState",
    "Measurement",
    "Reading",
    "plan",
]

RECOVERY_FRACTION = 0.5
"""A breaching backend counts as clear only below `factor * RECOVERY_FRACTION`."""


class DecisionKind(enum.StrEnum):
    NONE = "none"
    SHIFT = "shift"
    RESTORE = "restore"
    RETRIES = "retries"
    HOLD = "hold"
    ALL_BURNING = "all-burning"
    FROZEN = "frozen"


class Reading(enum.StrEnum):
    """What this evaluation's data says about one backend."""

    BURNING = "burning"
    BAND = "band"  # between the clear and the burning threshold
    CLEAR = "clear"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Measurement:
    """Counts of one backend over the policy's two short windows, or why they are missing.

    `short` is over `policy.short_windows[0]`, `long` over `short_windows[1]`. `None` means
    unknown (no series, a failing or stale source); `reason` says which.
    """

    short: Counts | None
    long: Counts | None
    reason: str = ""

    @staticmethod
    def unknown(reason: str) -> Measurement:
        return Measurement(None, None, reason)


@dataclass(frozen=True, slots=True)
class Assessment:
    """One backend as seen by one evaluation, kept in the decision for the audit log."""

    backend: str
    reading: Reading
    health: Health
    burn_short: float | None
    burn_long: float | None
    requests_short: float | None
    alerting: bool
    note: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with one route now. `retries`: True tighten, False restore, None keep."""

    kind: DecisionKind
    weights_before: Mapping[str, int]
    weights: Mapping[str, int]
    reason: str
    state: LoopState
    assessments: tuple[Assessment, ...] = ()
    retries: bool | None = None

    @property
    def changes(self) -> bool:
        """Whether applying this decision touches the data plane."""
        return dict(self.weights) != dict(self.weights_before) or self.retries is not None


def plan(
    policy: RemediationPolicy,
    *,
    error_budget: float,
    weights: Mapping[str, int],
    measurements: Mapping[str, Measurement],
    state: LoopState,
    now: datetime,
    alerts: Collection[str] = (),
) -> Decision:
    """Decide what to do with one route now.

    `error_budget` is the SLO's allowed error ratio (0.001 for 99.9 %); `weights` are the
    route's current weights by backend name; `alerts` names the backends with a firing
    meshwatch page alert (from the Alertmanager webhook).
    """
    before = dict(weights)
    names = [b.name for b in policy.backends]
    problem = route_problem(names, before)
    if problem:
        return Decision(DecisionKind.FROZEN, before, before, problem, state)

    assessed = {
        n: _assess(policy, error_budget, measurements.get(n), n in alerts, state, n, now)
        for n in names
    }
    memory = {n: mem for n, (_, mem) in assessed.items()}
    assessments = tuple(a for a, _ in assessed.values())
    readings = {a.backend: a.reading for a in assessments}
    baseline = baseline_weights(policy, state.baseline, before)
    breaching = [n for n in names if memory[n].health is Health.BREACHING and before[n] > 0]
    serving = [n for n in names if before[n] > 0]
    all_burning = bool(breaching) and len(breaching) == len(serving)
    nxt = replace(
        state,
        backends=memory,
        baseline=baseline,
        all_burning_since=(state.all_burning_since or now) if all_burning else None,
    )

    def decide(kind: DecisionKind, reason: str, **changes: Any) -> Decision:
        new_weights = changes.pop("weights", before)
        retries = changes.pop("retries", None)
        if kind in (DecisionKind.SHIFT, DecisionKind.RESTORE, DecisionKind.RETRIES):
            changes["last_action_at"] = now
        final = replace(nxt, **changes)
        return Decision(kind, before, new_weights, reason, final, assessments, retries)

    if state.hold:
        return decide(
            DecisionKind.HOLD,
            "manual hold on this route",
            all_burning_since=state.all_burning_since,
        )
    unknown = [n for n in names if readings[n] is Reading.UNKNOWN and before[n] > 0]
    if unknown:
        notes = "; ".join(f"{a.backend}: {a.note}" for a in assessments if a.backend in unknown)
        return decide(
            DecisionKind.FROZEN,
            f"no usable data, holding the route still ({notes})",
            all_burning_since=state.all_burning_since,
        )
    if all_burning:
        return decide(
            DecisionKind.ALL_BURNING,
            f"every backend carrying traffic is breaching ({', '.join(breaching)}): "
            "the fault is not one version, shifting nothing",
        )
    receivers = [
        n
        for n in names
        if memory[n].health is Health.HEALTHY
        and readings[n] is Reading.CLEAR
        and n not in breaching
    ]
    cooling = state.last_action_at is not None and now - state.last_action_at < policy.cooldown
    # a breaching backend that reads clear again is recovering: no more weight leaves it
    sources = [n for n in breaching if readings[n] is not Reading.CLEAR]
    if sources:
        return _on_breach(policy, decide, before, baseline, sources, receivers, cooling, state)
    return _on_calm(policy, decide, before, baseline, receivers, memory, cooling, state)


def _on_breach(
    policy: RemediationPolicy,
    decide: Callable[..., Decision],
    before: dict[str, int],
    baseline: Mapping[str, int],
    breaching: list[str],
    receivers: list[str],
    cooling: bool,
    state: LoopState,
) -> Decision:
    who = ", ".join(breaching)
    if not receivers:
        return decide(DecisionKind.NONE, f"{who} breaching, but no healthy sibling to take traffic")
    if cooling:
        return decide(DecisionKind.NONE, f"{who} breaching; in cooldown after the last action")
    if policy.action in ("retries", "shift+retries") and not state.retries_tightened:
        return decide(
            DecisionKind.RETRIES,
            f"{who} breaching while {', '.join(receivers)} healthy: tightening retries",
            retries=True,
            retries_tightened=True,
        )
    if policy.action == "retries":
        return decide(DecisionKind.NONE, f"{who} breaching; retries already tightened")
    after = shift(policy, before, baseline, breaching, receivers)
    if after == before:
        return decide(DecisionKind.NONE, f"{who} breaching, already at the floor or max_shift")
    return decide(
        DecisionKind.SHIFT,
        f"{who} breaching while {', '.join(receivers)} healthy: shifting {describe(before, after)}",
        weights=after,
    )


def _on_calm(
    policy: RemediationPolicy,
    decide: Callable[..., Decision],
    before: dict[str, int],
    baseline: Mapping[str, int],
    receivers: list[str],
    memory: Mapping[str, BackendMemory],
    cooling: bool,
    state: LoopState,
) -> Decision:
    if before != dict(baseline):
        lacking = [n for n in before if before[n] < baseline[n]]
        ready = [n for n in lacking if n in receivers]
        if not ready:
            drained = [n for n in lacking if before[n] == 0]
            hint = (
                f"; {', '.join(drained)} at weight 0 gets no traffic to prove its recovery: "
                "restore by hand, or keep min_healthy_weight above 0"
                if drained
                else ""
            )
            return decide(DecisionKind.NONE, f"waiting for {', '.join(lacking)} to recover{hint}")
        if cooling:
            return decide(DecisionKind.NONE, "recovered; in cooldown before restoring")
        after = restore(policy, before, baseline, ready)
        return decide(
            DecisionKind.RESTORE,
            f"{', '.join(ready)} healthy for {policy.recovery_window}: restoring "
            f"{describe(before, after)}",
            weights=after,
        )
    if state.retries_tightened:
        if any(m.health is not Health.HEALTHY for m in memory.values()) or cooling:
            return decide(DecisionKind.NONE, "weights restored; waiting to restore retries")
        return decide(
            DecisionKind.RESTORE,
            "every backend healthy: restoring the original retry policy",
            retries=False,
            retries_tightened=False,
        )
    return decide(DecisionKind.NONE, "no backend breaching")


# --- assessment -------------------------------------------------------------------------


def _assess(
    policy: RemediationPolicy,
    budget: float,
    m: Measurement | None,
    alerting: bool,
    state: LoopState,
    name: str,
    now: datetime,
) -> tuple[Assessment, BackendMemory]:
    reading, note = Reading.UNKNOWN, "no measurement"
    burns: tuple[float | None, float | None] = (None, None)
    requests = None
    if m is not None and (m.short is None or m.long is None):
        note = m.reason or "no data"
    elif m is not None and m.short is not None and m.long is not None:
        requests = m.short.total
        low = min(m.short.total, m.long.total)
        if low < policy.min_requests or low <= 0:
            note = f"low traffic: {low:g} requests < min_requests {policy.min_requests:g}"
        else:
            burns = (_burn(m.short, budget), _burn(m.long, budget))
            reading, note = _classify(policy.factor, burns[0], burns[1]), ""
    if alerting:
        reading, note = Reading.BURNING, "page alert firing"
    mem = _remember(policy, state.backends.get(name, BackendMemory()), reading, now)
    return Assessment(name, reading, mem.health, *burns, requests, alerting, note), mem


def _burn(counts: Counts, budget: float) -> float:
    """Burn rate: the error ratio as a multiple of the error budget (1 = exactly on budget)."""
    return (counts.errors / counts.total) / budget


def _classify(factor: float, short: float, long: float) -> Reading:
    if short >= factor and long >= factor:
        return Reading.BURNING
    if max(short, long) < factor * RECOVERY_FRACTION:
        return Reading.CLEAR
    return Reading.BAND


def _remember(
    policy: RemediationPolicy, mem: BackendMemory, reading: Reading, now: datetime
) -> BackendMemory:
    if reading is Reading.BURNING:
        if mem.health is Health.HEALTHY:
            return BackendMemory(Health.BREACHING, now, None)
        return replace(mem, clear_since=None)
    if mem.health is Health.HEALTHY:
        return mem
    if reading is not Reading.CLEAR:  # the band or unknown data break the run of clear readings
        return replace(mem, clear_since=None)
    start = mem.clear_since or now
    if now - start >= policy.recovery_window:
        return BackendMemory(Health.HEALTHY, now, None)
    return replace(mem, clear_since=start)
