"""The alerts and remediation actions a report lists, grouped by SLO."""

from __future__ import annotations

from collections.abc import Iterable

from meshwatch.render.reports_build import ActionInput, AlertInput
from meshwatch.store import Action, AlertRecord


def alerts_by_slo(records: Iterable[AlertRecord]) -> dict[str, list[AlertInput]]:
    """Alerts of a report, by SLO (alerts naming no SLO are left out)."""
    out: dict[str, list[AlertInput]] = {}
    for record in records:
        event = record.event
        if event.slo_id is None:
            continue
        out.setdefault(event.slo_id, []).append(
            AlertInput(
                name=event.alertname,
                severity=event.labels.get("meshwatch_severity") or event.labels.get("severity", ""),
                status=event.status.value,
                starts_at=event.starts_at,
                ends_at=event.ends_at,
            )
        )
    return out


def actions_by_slo(actions: Iterable[Action]) -> dict[str, list[ActionInput]]:
    """Remediation actions of a report, by SLO."""
    out: dict[str, list[ActionInput]] = {}
    for action in actions:
        out.setdefault(action.plan.slo_id, []).append(
            ActionInput(
                kind=action.plan.kind,
                target=action.plan.target,
                state=action.state.value,
                created_at=action.created_at,
                reason=action.plan.reason,
                dry_run=action.plan.dry_run,
            )
        )
    return out
