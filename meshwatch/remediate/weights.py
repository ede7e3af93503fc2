"""Integer route weights: the baseline, shifting away, restoring, exact apportioning.

Pure functions of the policy and weights by backend name; weights are integers and always
sum to the route's total. `baseline_weights` is the one answer to "what are this route's
normal weights" for the planner's restore, a manual rollback and the noop data plane.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from meshwatch.model import RemediationPolicy


def initial_weights(policy: RemediationPolicy) -> dict[str, int] | None:
    """The backends' `initial_weight`s, or None unless every backend sets one."""
    initial = {b.name: b.initial_weight for b in policy.backends}
    if any(w is None for w in initial.values()):
        return None
    return {name: int(w or 0) for name, w in initial.items()}


def starting_weights(policy: RemediationPolicy, total: int = 100) -> dict[str, int]:
    """Weights for a route nobody has set yet: the initial weights, else `total` split evenly."""
    initial = initial_weights(policy)
    if initial is not None:
        return initial
    share, extra = divmod(total, len(policy.backends))
    return {b.name: share + (1 if i < extra else 0) for i, b in enumerate(policy.backends)}


def baseline_weights(
    policy: RemediationPolicy, remembered: Mapping[str, int], current: Mapping[str, int]
) -> dict[str, int]:
    """The weights restore and rollback aim at, scaled to the route's current total.

    The baseline the loop remembered (when it names the route's backends), else the
    backends' initial weights (when every backend sets one and they name the route's
    backends), else the current weights.
    """
    total = sum(current.values())
    initial = initial_weights(policy)
    if remembered and set(remembered) == set(current):
        base = dict(remembered)
    elif initial is not None and set(initial) == set(current):
        base = initial
    else:
        base = dict(current)
    if sum(base.values()) <= 0:
        base = dict(current)
    if sum(base.values()) != total:
        base = apportion(total, base)
    return base


def route_problem(names: list[str], weights: Mapping[str, int]) -> str:
    if set(names) != set(weights):
        return (
            f"route backends {sorted(weights)} do not match the policy's {sorted(names)}; "
            "holding the route still"
        )
    if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        return f"route weights {dict(weights)} are not usable (negative or all zero)"
    return ""


def shift(
    policy: RemediationPolicy,
    weights: Mapping[str, int],
    baseline: Mapping[str, int],
    breaching: list[str],
    receivers: list[str],
) -> dict[str, int]:
    total = sum(weights.values())
    step = max(1, total * policy.step // 100)
    min_floor = math.ceil(total * policy.min_healthy_weight / 100)
    most = total * policy.max_shift // 100
    after = dict(weights)
    moved = 0
    for name in breaching:
        floor = max(min_floor, baseline[name] - most, 0)
        amount = max(0, min(step, after[name] - floor))
        after[name] -= amount
        moved += amount
    if moved:
        shares = {n: after[n] for n in receivers}
        if not any(shares.values()):
            shares = dict.fromkeys(receivers, 1)
        for name, extra in apportion(moved, shares).items():
            after[name] += extra
    return after


def restore(
    policy: RemediationPolicy,
    weights: Mapping[str, int],
    baseline: Mapping[str, int],
    ready: list[str],
) -> dict[str, int]:
    total = sum(weights.values())
    step = max(1, total * policy.step // 100)
    after = dict(weights)
    wanted = {n: min(step, baseline[n] - weights[n]) for n in ready}
    excess = {n: w - baseline[n] for n, w in weights.items() if w > baseline[n]}
    amount = min(sum(wanted.values()), sum(excess.values()))
    for name, taken in apportion(amount, excess).items():
        after[name] -= taken
    for name, given in apportion(amount, wanted).items():
        after[name] += given
    return after


def apportion(amount: int, shares: Mapping[str, int]) -> dict[str, int]:
    """Split an integer `amount` in proportion to integer `shares`, exactly.

    Largest remainder, in integer arithmetic: no part exceeds its proportional share
    rounded up, so a part never exceeds its share when `amount <= sum(shares)`. Ties go
    to names in sorted order, so the result is deterministic.
    """
    total = sum(shares.values())
    if amount <= 0 or total <= 0:
        return dict.fromkeys(shares, 0)
    parts = {n: amount * s // total for n, s in shares.items()}
    left = amount - sum(parts.values())
    order = sorted(shares, key=lambda n: (-(amount * shares[n] % total), n))
    for name in order[:left]:
        parts[name] += 1
    return parts


def describe(before: Mapping[str, int], after: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {before[n]}->{after[n]}" for n in before if before[n] != after[n])
