"""A Timeslices SLO on the status page (real headless Chromium) and in the API: in slices.

The status is computed by the engine's pure core from counts in slices (12 bad one-minute
slices of the 43,200 of 30 days, at 99 %); the page must say that the objective counts
slices and show the budget left in slices, and the API must tell the unit.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from meshwatch.api.app import create_app
from meshwatch.engine.runtime import Runtime
from meshwatch.model import SLO, Alerting, Counts, RatioSLI, Selector, Timeslices, Window
from meshwatch.settings import Settings
from meshwatch.slo.evaluate import evaluate
from meshwatch.store import Store, make_engine, upgrade
from tests.support.app_thread import serving
from tests.support.binaries import require_binary

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
SLO_ = SLO(
    "checkout",
    "minutes",
    99.0,
    Window.rolling(timedelta(days=30)),
    RatioSLI(total=Selector("requests_total"), bad=Selector("errors_total")),
    alerting=Alerting(),
    timeslices=Timeslices(timedelta(minutes=1), 95.0),
)


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('slices') / 'meshwatch.db'}"
    upgrade(url)
    store = Store(make_engine(url))
    windows = {timedelta(minutes=5): Counts(0.0, 5.0), timedelta(hours=1): Counts(0.0, 60.0)}
    status = evaluate(
        SLO_, windows, NOW, period_counts=Counts(12.0, 43200.0), period_requests=43200.0
    )
    store.history.save_statuses([status])
    app = create_app(Settings(), store=store, runtime=Runtime(slos=(SLO_,)), clock=lambda: NOW)
    with serving(app) as served:
        yield served
    store.close()


def test_api_says_the_budget_is_in_slices(base_url: str) -> None:
    body = httpx.get(f"{base_url}/api/v1/slos/{SLO_.id}", timeout=10).json()
    assert body["budgeting"] == "timeslices"
    assert body["slice"] == "1m" and body["slice_target"] == 95.0
    status = body["status"]
    assert status["budget_unit"] == "slices" and status["slice"] == "1m"
    assert status["budget_remaining_requests"] == pytest.approx(432 - 12)  # bad slices left
    assert status["budget_remaining"] == pytest.approx(1 - 12 / 432)


def test_slo_page_shows_slices_in_chromium(base_url: str, tmp_path: Path) -> None:
    binary = require_binary("chromium", "/usr/bin/chromium")
    dom = subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1280,2000",
            "--dump-dom",
            f"{base_url}/slos/{SLO_.id}",
        ],
        capture_output=True,
        text=True,
        timeout=90,
        start_new_session=True,
        check=True,
    ).stdout
    assert "objective 99% of 1m slices good (a slice is good at 95% or more) over 30d" in dom
    assert "budget left (slices)" in dom
    assert "budget left (requests)" not in dom
