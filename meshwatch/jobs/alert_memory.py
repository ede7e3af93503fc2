"""Page alerts from the webhook as an input of the remediation loop (issue 17 item 11).

A firing page alert naming a backend (`meshwatch_backend`) marks that backend burning for
the planner, so the loop can act on Alertmanager's view as well as its own. Alone, it moved
traffic away from a backend whose measurements were healthy, and kept doing so until a
resolved delivery came. Here an alert acts only while the measurements do not contradict
it, and it is forgotten when no delivery has repeated it for `ALERT_STALENESS`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from meshwatch.model import RemediationPolicy
from meshwatch.remediate.policy import RECOVERY_FRACTION, Measurement

ALERT_STALENESS = timedelta(hours=1)
"""A firing page alert not delivered again for this long is forgotten.

Alertmanager repeats a firing group every `repeat_interval` (meshwatch's docs recommend 30m
or less for the page route) and sends `resolved` when it ends; a resolved delivery that
never comes (Alertmanager restarted without storage, route changed) must not leave a
backend "burning" forever.
"""


@dataclass(frozen=True, slots=True)
class FiringAlert:
    slo_id: str
    backend: str
    received_at: datetime


def alert_backends(
    firing: Sequence[FiringAlert],
    slo_id: str,
    measurements: Mapping[str, Measurement],
    policy: RemediationPolicy,
    error_budget: float,
    now: datetime,
) -> set[str]:
    """The backends of `slo_id` whose page alert may drive the loop now.

    An alert is confirmed unless the backend's own measurements say it is clearly healthy
    (enough requests on both short windows, both burn rates under the recovery threshold):
    an alert from a stale rule, a wrong label or a test must not move traffic away from a
    backend that is visibly serving well. Where measurements are missing the alert acts
    alone, until it resolves or goes stale (`ALERT_STALENESS`).
    """
    out: set[str] = set()
    for alert in firing:
        if alert.slo_id != slo_id or now - alert.received_at > ALERT_STALENESS:
            continue
        m = measurements.get(alert.backend)
        if m is not None and _clearly_healthy(m, policy, error_budget):
            continue
        out.add(alert.backend)
    return out


def _clearly_healthy(m: Measurement, policy: RemediationPolicy, error_budget: float) -> bool:
    if m.short is None or m.long is None or error_budget <= 0:
        return False
    windows = (m.short, m.long)
    if min(c.total for c in windows) < max(policy.min_requests, 1):
        return False
    clear = policy.factor * RECOVERY_FRACTION
    return all((c.errors / c.total) / error_budget < clear for c in windows)
