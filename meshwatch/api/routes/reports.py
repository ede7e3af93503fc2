"""Report runs: list, fetch (with the report itself), trigger one now."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as PathParam

from meshwatch.api.deps import ServicesDep, StoreDep, Writer
from meshwatch.api.moments import api_moment
from meshwatch.api.schemas_reports import ReportRequestIn, ReportRunDetailOut, ReportRunOut
from meshwatch.store import ReportStatus

router = APIRouter(prefix="/api/v1", tags=["reports"])

MAX_ID = 2**63 - 1  # ids are 64-bit on every engine
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No report run with this id"}}


@router.get("/reports", summary="Report runs, newest first")
def list_reports(
    store: StoreDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[ReportRunOut]:
    return [ReportRunOut.of(run) for run in store.reports.list_report_runs(limit=limit)]


@router.get(
    "/reports/{run_id}",
    summary="One report run and the report it wrote",
    responses={**NOT_FOUND, 410: {"description": "The report file is gone"}},
)
def get_report(
    run_id: Annotated[int, PathParam(ge=1, le=MAX_ID, description="Report run id")],
    store: StoreDep,
) -> ReportRunDetailOut:
    run = store.reports.get_report_run(run_id)
    if run is None:
        raise HTTPException(404, detail=f"no report run with id {run_id}")
    content = None
    if run.status is ReportStatus.OK and run.uri:
        try:
            content = Path(run.uri).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise HTTPException(
                410, detail=f"report run {run_id} wrote {run.uri}, which cannot be read: {exc}"
            ) from exc
    return ReportRunDetailOut(**ReportRunOut.of(run).model_dump(), content=content)


@router.post(
    "/reports",
    summary="Write a report now",
    status_code=201,
    dependencies=[Writer],
    responses={
        401: {"description": "Missing bearer token"},
        403: {"description": "Wrong bearer token"},
        502: {"description": "The report could not be built (e.g. Prometheus down)"},
        503: {"description": "Reports are not configured in this process"},
    },
)
def trigger_report(body: ReportRequestIn, services: ServicesDep) -> ReportRunOut:
    trigger = services.report_trigger
    if trigger is None:
        raise HTTPException(503, detail="reports are not configured in this process")
    at = api_moment(body.at, "at") if body.at is not None else None
    run = trigger(body.period, body.format, at)
    if run.status is ReportStatus.FAILED:
        raise HTTPException(502, detail=f"report run {run.id} failed: {run.error}")
    return ReportRunOut.of(run)
