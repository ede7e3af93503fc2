"""What routes depend on, as `Annotated` aliases read from `app.state.services`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from meshwatch.api.auth import check_bearer
from meshwatch.engine.runtime import Runtime
from meshwatch.remediate.control import RemediationControl
from meshwatch.render.reports import ReportFormat, ReportPeriod
from meshwatch.settings import Settings
from meshwatch.store import AlertEvent, ReportRun, Store
from meshwatch.store.alert_ingest import AlertIngest

AlertListener = Callable[[Sequence[AlertEvent]], None]
ReportTrigger = Callable[[ReportPeriod, ReportFormat, datetime | None], ReportRun]
"""Writes one report now (period, format, end of period or None for now) and records it."""


@dataclass
class Services:
    """Everything the app was built with (see `create_app`)."""

    settings: Settings
    store: Store
    runtime: Runtime
    clock: Callable[[], datetime]
    ingest: AlertIngest
    alert_listeners: list[AlertListener] = field(default_factory=list)
    report_trigger: ReportTrigger | None = None
    remediation: RemediationControl | None = None


def _of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


# The dependencies are async (and trivial) so that FastAPI does not run each of them in the
# request thread pool: the webhook path uses no worker thread at all.
async def _services(request: Request) -> Services:
    return _of(request)


async def _store(request: Request) -> Store:
    return _of(request).store


async def _runtime(request: Request) -> Runtime:
    return _of(request).runtime


BEARER_SCHEME = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="MESHWATCH_API_TOKEN; without it set on the server every write gets 403.",
)
"""Declares the scheme in the OpenAPI document; `check_bearer` does the actual check."""


async def _writer(
    request: Request,
    _declared: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER_SCHEME)],
) -> None:
    token = _of(request).settings.api_token
    check_bearer(request, token.get_secret_value() if token is not None else None)


ServicesDep = Annotated[Services, Depends(_services)]
StoreDep = Annotated[Store, Depends(_store)]
RuntimeDep = Annotated[Runtime, Depends(_runtime)]
Writer = Depends(_writer)
