"""Page alerts from the webhook as an input of the remediation loop (issue 17 item 11).

`AlertListener` is what the Alertmanager webhook hands committed alerts to (`on_alerts`);
the loop asks it, per route and evaluation, which backends a page alert marks burning.

A firing page alert naming a backend (`meshwatch_backend`) marks that backend burning for
the planner, so the loop can act on Alertmanager's view as well as its own. Alone, it moved
traffic away from a backend whose measurements were healthy, and kept doing so until a
resolved delivery came. Here an alert acts only while the measurements do not contradict
it, and it is forgotten when no delivery has repeated it for `ALERT_STALENESS`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from meshwatch import conventions as c
from meshwatch.model import SLO, RemediationPolicy
from meshwatch.remediate.policy import RECOVERY_FRACTION, Measurement
from meshwatch.store import AlertEvent, AlertStatus

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


class AlertListener:
    """Firing page alerts that name a backend, by fingerprint, until resolved or stale.

    Its own lock, held only over the dict: the webhook never waits for the loop, and the
    loop never waits for the webhook.
    """

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._firing: dict[str, FiringAlert] = {}

    def on_alerts(self, events: Sequence[AlertEvent]) -> None:
        """Remember firing page alerts that name a backend; forget them when resolved."""
        with self._lock:
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

    def burning(
        self,
        slo: SLO,
        policy: RemediationPolicy,
        measurements: Mapping[str, Measurement],
        now: datetime,
    ) -> set[str]:
        """The backends of `slo` a page alert marks burning now (see `alert_backends`)."""
        with self._lock:
            for fingerprint, alert in list(self._firing.items()):
                if now - alert.received_at > ALERT_STALENESS:
                    del self._firing[fingerprint]  # no delivery for too long: forget it
            firing = list(self._firing.values())
        return alert_backends(firing, slo.id, measurements, policy, slo.error_budget, now)

    def firing_backends(self, slo_id: str) -> set[str]:
        """Backends of `slo_id` with a firing page alert, confirmed by measurements or not."""
        with self._lock:
            return {a.backend for a in self._firing.values() if a.slo_id == slo_id}
