"""Alertmanager webhook in, and the stored alerts out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from meshwatch.api.alertmanager import AlertIn, AlertmanagerWebhook
from meshwatch.api.deps import ServicesDep, StoreDep, Writer
from meshwatch.api.schemas import AlertOut, WebhookResult
from meshwatch.store import AlertEvent, AlertStatus

router = APIRouter(prefix="/api/v1", tags=["alerts"])


def to_event(alert: AlertIn) -> AlertEvent:
    return AlertEvent(
        fingerprint=alert.fingerprint,
        starts_at=alert.starts_at,
        status=AlertStatus(alert.status),
        labels=alert.labels,
        annotations=alert.annotations,
        ends_at=alert.resolved_at,
        generator_url=alert.generator_url,
    )


@router.post(
    "/alerts/alertmanager",
    summary="Alertmanager webhook receiver (payload version 4)",
    description=(
        "Every alert of the group is stored in one transaction before the 2xx is sent. "
        "Deliveries are idempotent on fingerprint + startsAt (Alertmanager delivers at least "
        "once; HA pairs send duplicates). 4xx for a bad payload (Alertmanager does not retry "
        "those); 503 when the store is unavailable (Alertmanager retries)."
    ),
    dependencies=[Writer],
    responses={
        401: {"description": "No bearer token"},
        403: {"description": "Wrong token"},
        413: {"description": "Body too large"},
        503: {"description": "Store unavailable; retry"},
    },
)
def alertmanager_webhook(payload: AlertmanagerWebhook, services: ServicesDep) -> WebhookResult:
    events = [to_event(alert) for alert in payload.alerts]
    new = services.store.alerts.record_alerts(events, services.clock())
    for listener in services.alert_listeners:
        listener(events)
    return WebhookResult(received=len(events), new=new)


@router.get("/alerts", summary="Stored alerts, newest first")
def list_alerts(
    store: StoreDep,
    slo: Annotated[str | None, Query(description="Only alerts of this SLO id")] = None,
    state: Annotated[AlertStatus | None, Query(description="firing or resolved")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AlertOut]:
    return [AlertOut.of(r) for r in store.alerts.list_alerts(slo_id=slo, state=state, limit=limit)]
