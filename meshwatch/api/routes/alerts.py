"""Alertmanager webhook in, and the stored alerts out."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request

from meshwatch.api.admission import REGATE
from meshwatch.api.alertmanager import AlertIn, AlertmanagerWebhook
from meshwatch.api.deps import ServicesDep, StoreDep, Writer
from meshwatch.api.schemas import AlertOut, WebhookResult
from meshwatch.store import AlertEvent, AlertStatus
from meshwatch.store.alert_ingest import AlertIngest, IngestClosed, IngestFull

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
        "Every alert of the group is stored before the 2xx is sent (concurrent deliveries "
        "share one transaction). Deliveries are idempotent on fingerprint + startsAt "
        "(Alertmanager delivers at least once; HA pairs send duplicates). 4xx for a bad "
        "payload (Alertmanager does not retry those); 503 with Retry-After when the store "
        "is unavailable or too many deliveries are waiting (Alertmanager retries)."
    ),
    dependencies=[Writer],
    responses={
        401: {"description": "No bearer token"},
        403: {"description": "Wrong token"},
        413: {"description": "Body too large"},
        503: {"description": "Store unavailable or saturated; retry"},
    },
)
async def alertmanager_webhook(
    payload: AlertmanagerWebhook, request: Request, services: ServicesDep
) -> WebhookResult:
    # Async on purpose: the delivery waits on the writer's future, not in a worker thread,
    # so a storm holds no threads and /healthz never queues behind it.
    events = [to_event(alert) for alert in payload.alerts]
    new = await _stored(request, services.ingest, events)
    regate = request.scope.get(REGATE)
    if regate is not None:  # answer a few at a time (see meshwatch.api.admission)
        await regate()
    for listener in services.alert_listeners:
        listener(events)
    return WebhookResult(received=len(events), new=new)


async def _stored(request: Request, ingest: AlertIngest, events: list[AlertEvent]) -> int:
    """Queue the delivery and wait for its commit; abandon it if the client leaves first."""
    try:
        delivery = ingest.submit(events)
    except (IngestFull, IngestClosed) as exc:
        raise HTTPException(503, detail=f"{exc}; retry later", headers=RETRY) from exc
    committed = asyncio.wrap_future(delivery.future)
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait((committed, gone), return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if not committed.done() and ingest.abandon(delivery):
        raise HTTPException(503, detail="client disconnected before the commit")
    return await committed


async def _disconnected(request: Request) -> None:
    """Returns when the client closes its connection (the body was read already)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


RETRY = {"Retry-After": "1"}


@router.get("/alerts", summary="Stored alerts, newest first")
def list_alerts(
    store: StoreDep,
    slo: Annotated[str | None, Query(description="Only alerts of this SLO id")] = None,
    state: Annotated[AlertStatus | None, Query(description="firing or resolved")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AlertOut]:
    return [AlertOut.of(r) for r in store.alerts.list_alerts(slo_id=slo, state=state, limit=limit)]
