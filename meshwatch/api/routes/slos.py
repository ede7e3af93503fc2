"""SLOs: list with filters, detail, current status, history."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response

from meshwatch.api.deps import RuntimeDep, ServicesDep, StoreDep
from meshwatch.api.moments import api_moment
from meshwatch.api.rollups import rollups
from meshwatch.api.schemas import AggregateOut, HistoryPointOut, SLOOut, StatusOut
from meshwatch.model import SLO, State

router = APIRouter(prefix="/api/v1", tags=["slos"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No SLO with this id"}}
DEFAULT_RAW_POINTS = 1000
MAX_RAW_POINTS = 10_000


def _slo(runtime: RuntimeDep, slo_id: str) -> SLO:
    slo = runtime.slo_index.get(slo_id)
    if slo is None:
        raise HTTPException(404, detail=f"no SLO with id {slo_id!r}")
    return slo


@router.get("/slos", summary="Every SLO with its latest status")
def list_slos(
    runtime: RuntimeDep,
    store: StoreDep,
    services: ServicesDep,
    service: Annotated[str | None, Query(description="Only this service")] = None,
    state: Annotated[State | None, Query(description="Only SLOs in this state")] = None,
) -> list[SLOOut]:
    latest = {status.slo_id: status for status in store.history.latest()}
    out = []
    for slo in runtime.slos:
        status = latest.get(slo.id)
        if service is not None and slo.service != service:
            continue
        current = status.state if status is not None else State.UNKNOWN
        if state is not None and current is not state:
            continue
        out.append(SLOOut.of(slo, status, services.settings.min_coverage))
    return out


@router.get("/slos/{slo_id}", summary="One SLO and its latest status", responses=NOT_FOUND)
def get_slo(slo_id: str, runtime: RuntimeDep, store: StoreDep, services: ServicesDep) -> SLOOut:
    slo = _slo(runtime, slo_id)
    latest = store.history.latest(slo_id)
    return SLOOut.of(slo, latest[0] if latest else None, services.settings.min_coverage)


@router.get(
    "/slos/{slo_id}/status",
    summary="The SLO's latest status",
    responses={**NOT_FOUND, 409: {"description": "Not evaluated yet"}},
)
def get_status(
    slo_id: str, runtime: RuntimeDep, store: StoreDep, services: ServicesDep
) -> StatusOut:
    slo = _slo(runtime, slo_id)
    latest = store.history.latest(slo_id)
    if not latest:
        raise HTTPException(409, detail=f"{slo_id} has not been evaluated yet")
    return StatusOut.of(latest[0], slo, services.settings.min_coverage)


@router.get(
    "/slos/{slo_id}/history",
    summary="Status history in a time range, one point per step",
    responses={**NOT_FOUND, 422: {"description": "Bad range or step"}},
)
def get_history(
    slo_id: str,
    services: ServicesDep,
    request: Request,
    response: Response,
    start: Annotated[datetime | None, Query(description="Default: end - 24h")] = None,
    end: Annotated[datetime | None, Query(description="Default: now")] = None,
    step: Annotated[
        int | None, Query(ge=1, le=31_536_000, description="Seconds per point; omit for raw points")
    ] = None,
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_RAW_POINTS,
            description="Raw points (no `step`) per page; when more remain, the `Link` "
            'header (rel="next") gives the next page',
        ),
    ] = DEFAULT_RAW_POINTS,
) -> list[HistoryPointOut]:
    _slo(services.runtime, slo_id)
    end = api_moment(end, "end") if end is not None else services.clock()
    start = api_moment(start, "start") if start is not None else end - timedelta(hours=24)
    if start >= end:
        raise HTTPException(422, detail="start must be before end")
    try:
        points = services.store.history.history(
            slo_id,
            start,
            end,
            timedelta(seconds=step) if step else None,
            limit=None if step else limit + 1,
        )
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from exc
    if step is None and len(points) > limit:
        # One page only: an unbounded raw read was 20k rows, 4.7 MB and 10 s per request.
        following = points[limit].at
        points = points[:limit]
        url = request.url.include_query_params(start=following.isoformat(), end=end.isoformat())
        response.headers["Link"] = f'<{url}>; rel="next"'
    return [HistoryPointOut.of(point) for point in points]


@router.get("/services", summary="Per-service roll-up of the last evaluation")
def list_services(runtime: RuntimeDep) -> list[AggregateOut]:
    last = runtime.last
    if last is None:
        return []
    _, services = rollups(runtime.slos, {s.slo_id: s for s in last.statuses})
    return [AggregateOut.model_validate(a, from_attributes=True) for a in services]


@router.get(
    "/mesh",
    summary="Mesh-wide roll-up of the last evaluation",
    responses={409: {"description": "Not evaluated yet"}},
)
def get_mesh(runtime: RuntimeDep) -> AggregateOut:
    last = runtime.last
    if last is None:
        raise HTTPException(409, detail="no evaluation has completed yet")
    mesh, _ = rollups(runtime.slos, {s.slo_id: s for s in last.statuses})
    return AggregateOut.model_validate(mesh, from_attributes=True)
