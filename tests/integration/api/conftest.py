from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from meshwatch.api.app import create_app
from meshwatch.engine.runtime import Runtime
from meshwatch.model import SLO, RatioSLI, Selector, SLOStatus, State, Window
from meshwatch.settings import Settings
from meshwatch.store import Store

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TOKEN = "t0ken"


def make_slo(service: str, name: str) -> SLO:
    return SLO(
        service=service,
        name=name,
        objective=99.9,
        window=Window.rolling(timedelta(days=30)),
        sli=RatioSLI(total=Selector("http_requests_total"), bad=Selector("http_errors_total")),
    )


def make_status(slo: SLO, state: State, at: datetime = NOW) -> SLOStatus:
    return SLOStatus(
        slo_id=slo.id,
        service=slo.service,
        slo=slo.name,
        at=at,
        state=state,
        reason="" if state is State.OK else "burning",
        objective=slo.target,
        period_sli=0.9995,
        budget_remaining=0.5,
        throughput=12.5,
        sli={"5m": 0.999, "1h": 0.9995},
        burn_rate={"5m": 1.0, "1h": 0.5},
        requests={"5m": 3750.0},
    )


@pytest.fixture
def runtime() -> Runtime:
    return Runtime(
        slos=(make_slo("checkout", "availability"), make_slo("frontend", "availability"))
    )


@pytest.fixture
def client(store: Store, runtime: Runtime) -> Iterator[TestClient]:
    settings = Settings(
        api_token=SecretStr(TOKEN), max_body_bytes=64_000, webhook_max_body_bytes=64_000
    )
    app = create_app(settings, store=store, runtime=runtime, clock=lambda: NOW)
    with TestClient(app) as client:
        yield client
