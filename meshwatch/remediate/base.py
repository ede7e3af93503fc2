"""What every actuator offers: read a route's weights, apply new ones, say what happened.

An actuator owns only the weights of one route and the retry fields meshwatch sets; the
rest of the user's object is kept. `apply()` verifies that the data plane took the change
(Envoy: the live `version_info`; Kubernetes: the new `resourceVersion`) and reports the
outcome as an `ApplyResult` that carries everything the audit log needs. It raises
`ActuatorError` when the data plane cannot be reached or the target does not exist;
`retryable` tells the loop whether trying again next evaluation can help.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from meshwatch.errors import ActuatorError


class ApplyState(enum.StrEnum):
    APPLIED = "applied"  # the data plane confirmed the change
    REJECTED = "rejected"  # the data plane refused it and kept the previous config
    FAILED = "failed"  # written, but not confirmed in time
    DRY_RUN = "dry-run"  # planned and checked, not written


@dataclass(frozen=True, slots=True)
class Retries:
    """The retry policy meshwatch sets on a route when it tightens retries.

    Each data plane maps it to its own fields (Envoy `retry_policy` with
    `refresh_cluster_on_retry` so a retry can leave the failing version; Istio
    `HTTPRetry`; Gateway API `retry`; Linkerd `retry.linkerd.io/*` annotations).
    """

    attempts: int = 2
    per_try_timeout: timedelta = timedelta(milliseconds=500)
    on: tuple[str, ...] = ("5xx", "reset", "connect-failure")


@dataclass(frozen=True, slots=True)
class RouteState:
    """A route as the data plane has it now. `retries`: whether meshwatch's are set."""

    weights: Mapping[str, int]
    version: str
    retries: bool = False


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """The outcome of one apply, with the before/after the audit log records."""

    state: ApplyState
    target: str
    before: RouteState
    weights: Mapping[str, int]
    version: str  # the version now live (the old one when rejected or dry-run)
    detail: str = ""
    retries: Retries | None = None
    restore_retries: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)


class Actuator(Protocol):
    """One data plane. Implementations take their clients as constructor parameters."""

    def current(self, target: str) -> RouteState:
        """The route's weights by backend name and the data plane's version of it."""
        ...

    def apply(
        self,
        target: str,
        weights: Mapping[str, int] | None,
        *,
        retries: Retries | None = None,
        restore_retries: bool = False,
        dry_run: bool = True,
    ) -> ApplyResult:
        """Set the route's weights (None: keep) and/or meshwatch's retry policy.

        `retries` tightens retries; `restore_retries` puts back the retry policy the
        route had before meshwatch tightened it.
        """
        ...


def check_weights(target: str, current: Mapping[str, int], weights: Mapping[str, int]) -> None:
    """Refuse weights that name other backends than the route's, or that are all zero."""
    if set(weights) != set(current):
        raise ActuatorError(
            f"{target}: weights name {sorted(weights)}, the route has {sorted(current)}",
            retryable=False,
        )
    if any(w < 0 for w in weights.values()) or not any(weights.values()):
        raise ActuatorError(
            f"{target}: refusing weights {dict(weights)}: negative or all zero", retryable=False
        )


def select(registry: Mapping[str, Actuator], name: str) -> Actuator:
    """The actuator a policy names, from an explicit registry built by the caller."""
    try:
        return registry[name]
    except KeyError:
        raise ActuatorError(
            f"no actuator {name!r} configured (have {sorted(registry)})", retryable=False
        ) from None
