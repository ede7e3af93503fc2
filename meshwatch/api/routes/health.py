"""Liveness, readiness and meshwatch's own /metrics."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from meshwatch.api.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    # async: answered on the event loop, never queued behind the request thread pool.
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The store answers, the collector reads its source and the last evaluation is fresh",
    responses={503: {"description": "Not ready, with the reason"}},
)
async def readyz(services: ServicesDep, request: Request) -> JSONResponse:
    problems: list[str] = []
    store_problem = await request.app.state.store_probe.problem()
    if store_problem is not None:
        problems.append(store_problem)
    runtime, settings = services.runtime, services.settings
    if runtime.slos and runtime.leader is not False:  # a follower does not evaluate
        max_age = settings.evaluate_interval * settings.ready_max_age_factor
        last = runtime.last_success
        if last is None:
            problems.append("no evaluation has completed yet")
        elif services.clock() - last > max(max_age, timedelta(seconds=1)):
            problems.append(f"last evaluation at {last.isoformat()} is older than {max_age}")
        # blind is not ready: a source that cannot be read makes every SLO unknown
        problems.extend(runtime.blind())
    if problems:
        return JSONResponse(
            {"status": "not ready", "problems": problems, "leader": runtime.leader},
            status_code=503,
        )
    return JSONResponse({"status": "ready", "slos": len(runtime.slos), "leader": runtime.leader})


@router.get("/metrics", summary="meshwatch's own metrics (Prometheus text format)")
def metrics(request: Request) -> Response:
    registry = request.app.state.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
