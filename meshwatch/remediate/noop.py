"""An actuator that only records: for dry runs, demos and meshes meshwatch cannot drive.

It keeps the routes it was given in memory and changes them as asked, so the loop
behaves as it would against a real data plane, and lists every call in `applied`.
"""

from __future__ import annotations

from collections.abc import Mapping

from meshwatch.errors import ActuatorError
from meshwatch.remediate.base import ApplyResult, ApplyState, Retries, RouteState, check_weights


class NoopActuator:
    """Routes by target name -> weights by backend name."""

    def __init__(self, routes: Mapping[str, Mapping[str, int]]) -> None:
        self._routes = {t: RouteState(dict(w), "1") for t, w in routes.items()}
        self.applied: list[ApplyResult] = []

    def current(self, target: str) -> RouteState:
        try:
            return self._routes[target]
        except KeyError:
            raise ActuatorError(f"noop: unknown target {target!r}", retryable=False) from None

    def apply(
        self,
        target: str,
        weights: Mapping[str, int] | None,
        *,
        retries: Retries | None = None,
        restore_retries: bool = False,
        dry_run: bool = True,
    ) -> ApplyResult:
        before = self.current(target)
        after = dict(weights) if weights is not None else dict(before.weights)
        check_weights(target, before.weights, after)
        if dry_run:
            state, version = ApplyState.DRY_RUN, before.version
        else:
            state, version = ApplyState.APPLIED, str(int(before.version) + 1)
            tightened = retries is not None or (before.retries and not restore_retries)
            self._routes[target] = RouteState(after, version, tightened)
        result = ApplyResult(
            state, target, before, after, version, "noop: recorded only", retries, restore_retries
        )
        self.applied.append(result)
        return result
