"""Where the period of the figures starts, in the API and on the SLO page (calendar windows
start at local midnight in their time zone)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from meshwatch.api.app import create_app
from meshwatch.engine.evaluate import Evaluation
from meshwatch.engine.runtime import Runtime
from meshwatch.model import SLO, CalendarUnit, RatioSLI, Selector, State, Window
from meshwatch.settings import Settings
from meshwatch.store import Store
from tests.integration.api.conftest import NOW, make_status


def _slo(name: str, window: Window) -> SLO:
    return SLO(
        service="shop",
        name=name,
        objective=99.0,
        window=window,
        sli=RatioSLI(total=Selector("http_requests_total")),
    )


SLOS = (
    _slo("berlin", Window.calendar(CalendarUnit.MONTH, "Europe/Berlin")),
    _slo("new-york-week", Window.calendar(CalendarUnit.WEEK, "America/New_York")),
    _slo("rolling", Window.rolling(timedelta(days=30))),
)


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    statuses = [make_status(slo, State.OK) for slo in SLOS]
    store.history.save_statuses(statuses)
    runtime = Runtime(slos=SLOS)
    runtime.record_evaluation(Evaluation(at=NOW, statuses=tuple(statuses)), 0.1)
    app = create_app(Settings(), store=store, runtime=runtime, clock=lambda: NOW)
    with TestClient(app) as client:
        yield client


@pytest.mark.parametrize(
    ("slo", "start", "end", "zone"),
    [
        # NOW is 2026-11-25 12:00 UTC: November in Berlin began at 23:00 UTC on 31 October
        pytest.param(
            "berlin", "2026-10-31T23:00:00Z", "2026-11-30T23:00:00Z", "Europe/Berlin", id="berlin"
        ),
        # ... and the New York week on Monday 23 November at 00:00 EST
        pytest.param(
            "new-york-week",
            "2026-11-23T05:00:00Z",
            "2026-11-30T05:00:00Z",
            "America/New_York",
            id="new-york",
        ),
        pytest.param("rolling", "2026-10-26T12:00:00Z", "2026-11-25T12:00:00Z", None, id="rolling"),
    ],
)
def test_status_and_slo_give_the_period(
    client: TestClient, slo: str, start: str, end: str, zone: str | None
) -> None:
    status = client.get(f"/api/v1/slos/shop-{slo}/status").json()
    assert (status["period_start"], status["period_end"]) == (start, end)
    assert client.get(f"/api/v1/slos/shop-{slo}").json()["time_zone"] == zone


def test_page_shows_local_and_utc_period_start(client: TestClient) -> None:
    html = client.get("/slos/shop-berlin").text
    assert "period since 2026-11-01 00:00 Europe/Berlin (2026-10-31 23:00 UTC)" in html
    assert "period since 2026-10-26 12:00 UTC" in client.get("/slos/shop-rolling").text
