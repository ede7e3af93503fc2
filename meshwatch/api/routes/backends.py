"""Backend history: each remediation backend's SLI and burn rate over time (issue 12 item 13).

`GET /api/v1/slos/{id}/backends/history?start=&end=&step=` is additive next to
`/slos/{id}/history`: that one stays the SLO's own status history; this one lists, per backend
of the SLO's remediation policy, the counts the closed loop measured each evaluation on the
policy's short windows, with the SLI and burn rate they give. An SLO without a remediation
policy answers an empty `backends` list.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import Field

from meshwatch.api.backend_series import by_backend, figure, policy_windows
from meshwatch.api.deps import ServicesDep
from meshwatch.api.moments import api_moment
from meshwatch.api.schemas import Out
from meshwatch.store import BackendPoint

router = APIRouter(prefix="/api/v1", tags=["slos"])


class BackendWindowOut(Out):
    requests: float = Field(description="Requests (count) in the window.")
    errors: float = Field(description="Failed requests (count) in the window.")
    sli: float | None = Field(description="Ratio (0..1); null without traffic.")
    burn_rate: float | None = Field(description="x the sustainable rate; null without traffic.")


class BackendPointOut(Out):
    at: datetime = Field(description="The evaluation (with a step: the bucket's last one).")
    samples: int = Field(description="Evaluations the point stands for.")
    reason: str = Field(description="Why a window is missing (no series, source failure).")
    windows: dict[str, BackendWindowOut]


class BackendSeriesOut(Out):
    backend: str
    points: list[BackendPointOut]


class BackendHistoryOut(Out):
    slo_id: str
    target: str | None = Field(description="The remediated route; null without a policy.")
    objective: float = Field(description="Objective as a ratio, e.g. 0.999.")
    factor: float | None = Field(description="Burn rate (on both windows) the loop acts at.")
    windows: list[str] = Field(description="The policy's short windows, shortest first.")
    backends: list[BackendSeriesOut]


def _point(point: BackendPoint, target: float) -> BackendPointOut:
    windows = {}
    for name, counts in sorted(point.counts.items()):
        f = figure(counts, target)
        windows[name] = BackendWindowOut(
            requests=f.requests, errors=f.errors, sli=f.sli, burn_rate=f.burn_rate
        )
    return BackendPointOut(at=point.at, samples=point.samples, reason=point.reason, windows=windows)


@router.get(
    "/slos/{slo_id}/backends/history",
    summary="Each remediation backend's SLI and burn rate over time",
    responses={404: {"description": "No SLO with this id"}, 422: {"description": "Bad range"}},
)
def get_backend_history(
    slo_id: str,
    services: ServicesDep,
    start: Annotated[datetime | None, Query(description="Default: end - 24h")] = None,
    end: Annotated[datetime | None, Query(description="Default: now")] = None,
    step: Annotated[
        int | None, Query(ge=1, le=31_536_000, description="Seconds per point; omit for raw points")
    ] = None,
) -> BackendHistoryOut:
    slo = services.runtime.slo_index.get(slo_id)
    if slo is None:
        raise HTTPException(404, detail=f"no SLO with id {slo_id!r}")
    end = api_moment(end, "end") if end is not None else services.clock()
    start = api_moment(start, "start") if start is not None else end - timedelta(hours=24)
    if start >= end:
        raise HTTPException(422, detail="start must be before end")
    try:
        points = services.store.history.backends.history(
            slo_id, start, end, timedelta(seconds=step) if step else None
        )
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from exc
    policy = slo.remediation
    return BackendHistoryOut(
        slo_id=slo_id,
        target=policy.target if policy else None,
        objective=slo.target,
        factor=policy.factor if policy else None,
        windows=list(policy_windows(slo)),
        backends=[
            BackendSeriesOut(backend=name, points=[_point(p, slo.target) for p in series])
            for name, series in by_backend(points).items()
        ],
    )
