"""`create_app`: the FastAPI application, built from its dependencies (no globals)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from meshwatch import __version__
from meshwatch.api.admission import AdmissionState, WebhookAdmission
from meshwatch.api.deps import AlertListener, ReportTrigger, Services
from meshwatch.api.limits import BodySizeLimit
from meshwatch.api.memory import release_free_memory
from meshwatch.api.metrics import create_registry
from meshwatch.api.probe import StoreProbe
from meshwatch.api.routes import actions, alerts, backends, health, pages, reports, slos
from meshwatch.api.routes import remediation as remediation_routes
from meshwatch.api.webhook_fast import FastWebhook, WebhookFastPath
from meshwatch.engine.runtime import Runtime
from meshwatch.errors import StoreDataError, StoreError
from meshwatch.remediate.control import RemediationControl
from meshwatch.settings import Settings
from meshwatch.store import Store
from meshwatch.store.alert_ingest import AlertIngest

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/api/v1/alerts/alertmanager"
IDLE_AFTER_S = 10.0
"""Quiet webhook seconds before the allocator is trimmed: past uvicorn's keep-alive timeout
(5 s), so the storm's idle connections are closed and freed by then."""

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def create_app(
    settings: Settings,
    *,
    store: Store,
    runtime: Runtime | None = None,
    clock: Callable[[], datetime] = _utcnow,
    lifespan: Lifespan | None = None,
    alert_listeners: Sequence[AlertListener] = (),
    report_trigger: ReportTrigger | None = None,
    remediation: RemediationControl | None = None,
) -> FastAPI:
    """The API over `store` and `runtime`; `lifespan` starts/stops the jobs (serve only)."""
    runtime = runtime or Runtime()
    if settings.api_token is None:
        log.warning(
            "MESHWATCH_API_TOKEN is not set: every write (the Alertmanager webhook included) "
            "is refused with 403, and Alertmanager drops 4xx deliveries without retrying"
        )

    ingest = AlertIngest(
        store.alerts,
        clock,
        max_queued_alerts=settings.webhook_max_queued_alerts,
        on_idle=release_free_memory,
        idle_after=IDLE_AFTER_S,
    )
    probe = StoreProbe(store.ping)

    @asynccontextmanager
    async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            if lifespan is None:
                yield
                return
            async with lifespan(app):
                yield
        finally:
            ingest.close()  # uvicorn answered every in-flight request before this
            probe.close()

    app = FastAPI(
        title="meshwatch",
        version=__version__,
        description="SLOs, error budgets, alerts and remediation for a service mesh.",
        lifespan=_lifespan,
    )
    app.state.services = Services(
        settings=settings,
        store=store,
        runtime=runtime,
        clock=clock,
        ingest=ingest,
        alert_listeners=list(alert_listeners),
        report_trigger=report_trigger,
        remediation=remediation,
    )
    app.state.store_probe = probe
    app.state.registry = create_registry(lambda: store.history.latest(), lambda: runtime)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        per_path={WEBHOOK_PATH: settings.webhook_max_body_bytes},
    )
    # Added last, so it runs first: shed load before any body is read.
    admission = AdmissionState(
        max_concurrent=settings.webhook_max_concurrent,
        max_bytes=2 * settings.webhook_max_body_bytes,
        queue_full=lambda: ingest.queued_alerts >= ingest.max_queued_alerts,
    )
    app.state.webhook_admission = admission  # the server's front door sheds by it too
    fast = FastWebhook(app.state.services, max_bytes=settings.webhook_max_body_bytes)
    app.state.fast_webhook = fast  # the server's front door runs it without a task
    # inside admission: only admitted deliveries take the fast path
    app.add_middleware(WebhookFastPath, path=WEBHOOK_PATH, webhook=fast)
    app.add_middleware(WebhookAdmission, path=WEBHOOK_PATH, state=admission)
    routers = (health.router, slos.router, alerts.router, actions.router, remediation_routes.router)
    for router in routers:
        app.include_router(router)
    app.include_router(backends.router)
    app.include_router(reports.router)
    app.include_router(pages.router)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StoreDataError, _store_refused)
    app.add_exception_handler(StoreError, _store_unavailable)
    return app


class _AsciiJSONResponse(JSONResponse):
    """JSON with non-ASCII escaped: an echoed lone surrogate stays valid (`\\ud800`)."""

    def render(self, content: object) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422, but safe to render whatever input it echoes."""
    assert isinstance(exc, RequestValidationError)
    return _AsciiJSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)


async def _store_refused(request: Request, exc: Exception) -> JSONResponse:
    """The database refused the data itself: retrying the same request cannot succeed."""
    log.warning("store refused data on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse({"detail": f"the store cannot keep this data: {exc}"}, status_code=422)


async def _store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The store failed: 503 so that Alertmanager (and other clients) retry."""
    log.error("store error on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(
        {"detail": f"store unavailable: {type(exc).__name__}"},
        status_code=503,
        headers={"Retry-After": "5"},
    )
