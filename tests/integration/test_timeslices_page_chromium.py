"""A Timeslices SLO on the status page (real headless Chromium) and in the API: in slices.

The status is computed by the engine's pure core from counts in slices (12 bad one-minute
slices of the 43,200 of 30 days, at 99 %); the page must say that the objective counts
slices and show the budget left in slices, and the API must tell the unit.

A calendar-month SLO in Europe/Berlin on the same page: the page must say where its period
starts, in local time and in UTC (local midnight on the 1st, an hour before UTC's in November).

A native-histogram latency SLO on the same page: its status is the embedded engine's, from
two protobuf expositions of a native histogram (tests/support/native_exporter.py) decoded by
the scraper's parser; the page must show p50 / p90 / p99 in milliseconds, each inside the
schema-3 bucket (9 % wide) that holds the traffic generator's own quantile.
"""

from __future__ import annotations

import math
import random
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from meshwatch.api.app import create_app
from meshwatch.collectors.exposition_proto import parse_wanted_proto
from meshwatch.collectors.scrape_store import ScrapeStore
from meshwatch.engine.evaluate import evaluate_all
from meshwatch.engine.plan import PERCENTILES
from meshwatch.engine.runtime import Runtime
from meshwatch.model import (
    SLO,
    Alerting,
    CalendarUnit,
    Counts,
    Matcher,
    NativeLatencySLI,
    RatioSLI,
    Selector,
    SLOStatus,
    Timeslices,
    Window,
)
from meshwatch.settings import Settings
from meshwatch.slo.evaluate import evaluate
from meshwatch.slo.native_histogram import containing_bucket
from meshwatch.store import Store, make_engine, upgrade
from tests.support.app_thread import serving
from tests.support.binaries import require_binary
from tests.support.native_exporter import SCHEMA, NativeHistogramExporter, latencies

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

BERLIN = SLO(
    "checkout",
    "monthly",
    99.0,
    Window.calendar(CalendarUnit.MONTH, "Europe/Berlin"),
    RatioSLI(total=Selector("requests_total"), bad=Selector("errors_total")),
    alerting=Alerting(),
)

NATIVE_SLI = NativeLatencySLI("app_request_duration_seconds", 0.5, (Matcher("job", "=", "app"),))
NATIVE = SLO("checkout", "latency", 99.0, Window.rolling(timedelta(days=30)), NATIVE_SLI)
TRAFFIC = NativeHistogramExporter(NATIVE_SLI.histogram)  # served as parsed bodies, no socket


def _native_status() -> SLOStatus:
    """The embedded engine's status of NATIVE after 2,000 requests between two scrapes."""
    store = ScrapeStore()
    store.track_sli(NATIVE_SLI)
    for at, requests in ((NOW - timedelta(minutes=2), 0), (NOW - timedelta(seconds=10), 2000)):
        TRAFFIC.observe(latencies(random.Random(13), requests, median=0.12))
        samples = parse_wanted_proto(TRAFFIC.body(), store.wanted)
        store.observe("app", samples, at, {"job": "app"})
    (status,) = evaluate_all((NATIVE,), store, NOW).statuses
    return status


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('slices') / 'meshwatch.db'}"
    upgrade(url)
    store = Store(make_engine(url))
    windows = {timedelta(minutes=5): Counts(0.0, 5.0), timedelta(hours=1): Counts(0.0, 60.0)}
    status = evaluate(
        SLO_, windows, NOW, period_counts=Counts(12.0, 43200.0), period_requests=43200.0
    )
    monthly = evaluate(BERLIN, windows, NOW, period_counts=Counts(3.0, 9000.0))
    store.history.save_statuses([status, _native_status(), monthly])
    runtime = Runtime(slos=(SLO_, NATIVE, BERLIN))
    app = create_app(Settings(), store=store, runtime=runtime, clock=lambda: NOW)
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


def _dom(url: str, tmp_path: Path) -> str:
    binary = require_binary("chromium", "/usr/bin/chromium")
    return subprocess.run(
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
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        start_new_session=True,
        check=True,
    ).stdout


def test_slo_page_shows_slices_in_chromium(base_url: str, tmp_path: Path) -> None:
    dom = _dom(f"{base_url}/slos/{SLO_.id}", tmp_path)
    assert "objective 99% of 1m slices good (a slice is good at 95% or more) over 30d" in dom
    assert "budget left (slices)" in dom
    assert "budget left (requests)" not in dom


def test_native_slo_page_shows_its_percentiles_with_units_in_chromium(
    base_url: str, tmp_path: Path
) -> None:
    dom = _dom(f"{base_url}/slos/{NATIVE.id}", tmp_path)
    card = re.search(r"latency p50 / p90 / p99</div><div class=\"value\">([^<]*)</div>", dom)
    assert card is not None, dom
    shown = [part.strip() for part in card.group(1).split(" / ")]
    assert len(shown) == 3 and all(value.endswith(" ms") for value in shown), shown
    ordered = sorted(TRAFFIC.traffic.latencies)
    assert len(ordered) == 2000
    for text, (name, q) in zip(shown, PERCENTILES, strict=True):
        exact = ordered[math.ceil(q * len(ordered)) - 1]
        lower, upper = containing_bucket(exact, SCHEMA)
        value = float(text.removesuffix(" ms")) / 1000  # 3 significant digits on the page
        assert lower * (1 - 5e-3) <= value <= upper * (1 + 5e-3), (name, text, exact)
    print("native percentiles on the page:", shown)


def test_calendar_slo_page_shows_its_local_period_start_in_chromium(
    base_url: str, tmp_path: Path
) -> None:
    dom = _dom(f"{base_url}/slos/{BERLIN.id}", tmp_path)
    assert "period since 2026-11-01 00:00 Europe/Berlin (2026-10-31 23:00 UTC)" in dom, dom
