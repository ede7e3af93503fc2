"""Reports straight from Prometheus for a past period (30 days of backfilled history).

slo-generator can only report "now"; meshwatch evaluates `increase()` over the whole period
at the period's end, and over each 6-hour step for the charts and the worst windows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from meshwatch.cli import app
from meshwatch.collectors.prometheus import PrometheusCollector
from meshwatch.collectors.prometheus_http import PrometheusQuerier, connect
from meshwatch.jobs.reports import ReportBuilder
from meshwatch.model import SLO, Matcher, RatioSLI, Selector, Window
from meshwatch.store import Store, make_engine, upgrade
from tests.support.backfill import (
    CODE_LABEL,
    REQUESTS,
    SERVICE_LABEL,
)
from tests.support.backfilled import Backfilled

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Stack(Backfilled):
    store: Store


@pytest.fixture(scope="module")
def stack(backfilled: Backfilled, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The session's backfilled Prometheus (tests/integration/conftest.py, shared with
    test_prometheus_collector.py) and a store of this module's own."""
    url = f"sqlite:///{tmp_path_factory.mktemp('report-prometheus') / 'meshwatch.db'}"
    upgrade(url)
    store = Store(make_engine(url))
    try:
        yield Stack(backfilled.prometheus, backfilled.history, backfilled.live, store)
    finally:
        store.close()


def availability(service: str, objective: float = 99.9) -> SLO:
    total = Selector(REQUESTS, (Matcher(SERVICE_LABEL, "=", service),))
    return SLO(
        service=service,
        name="availability",
        objective=objective,
        window=Window.rolling(timedelta(days=30)),
        sli=RatioSLI(total=total, bad=total.with_matchers(Matcher(CODE_LABEL, "=~", "5.."))),
    )


SLOS = (availability("checkout"), availability("cart", 98.0), availability("idle"))


def builder(stack: Stack) -> ReportBuilder:
    collector = PrometheusCollector(PrometheusQuerier(connect(stack.prometheus.url)))
    return ReportBuilder(stack.store, lambda: SLOS, collector)


def test_30_day_report_matches_the_history_exactly(stack: Stack) -> None:
    report = builder(stack).build("30d", stack.end)
    assert report.source == "prometheus"
    assert (report.start, report.end) == (stack.end - timedelta(days=30), stack.end)
    by_id = {s.slo_id: s for s in report.slos}

    for service in ("checkout", "cart"):
        errors, total = stack.history.counts(service, report.start, report.end)
        slo = by_id[f"{service}-availability"]
        assert slo.requests == pytest.approx(total, rel=1e-3)
        assert slo.errors == pytest.approx(errors, rel=1e-3)
        # the 6-hour buckets add up to the same period
        assert sum(b.requests or 0 for b in slo.buckets) == pytest.approx(total, rel=2e-3)
        assert len(slo.buckets) == 120

    checkout = by_id["checkout-availability"]
    # 0.5 % errors against a 0.1 % budget: 5x overspent
    assert checkout.state == "breached"
    assert checkout.budget is not None
    assert checkout.budget.consumed_ratio == pytest.approx(5 + 2 / 720 * 95, rel=1e-2)
    # the worst 6 h holds the 2 h incident of day 20 (10 % errors)
    worst = checkout.worst_windows[0]
    assert worst.start == report.start + timedelta(days=20)
    assert worst.sli == pytest.approx(1 - (2 * 0.10 + 4 * 0.005) / 6, rel=1e-3)

    assert by_id["cart-availability"].state == "ok"  # 1 % errors against a 2 % budget
    idle = by_id["idle-availability"]
    assert idle.state == "unknown" and idle.achieved_sli is None  # no traffic is not 100 %


def test_a_past_week_without_the_incident(stack: Stack) -> None:
    at = stack.end - timedelta(days=2)
    report = builder(stack).build("7d", at)
    checkout = next(s for s in report.slos if s.slo_id == "checkout-availability")
    errors, total = stack.history.counts("checkout", at - timedelta(days=7), at)
    assert checkout.requests == pytest.approx(total, rel=1e-3)
    assert checkout.errors == pytest.approx(errors, rel=1e-3)
    assert checkout.achieved_sli == pytest.approx(0.995, rel=1e-4)
    assert len(checkout.buckets) == 168


def test_cli_reports_from_prometheus(stack: Stack, tmp_path: Path) -> None:
    spec = tmp_path / "checkout.yaml"
    spec.write_text(
        "apiVersion: meshwatch/v1\nkind: ServiceLevels\nservice: checkout\nslos:\n"
        "  - name: availability\n    objective: 99.9\n    window: 30d\n    sli:\n"
        f"      ratio: {{total: '{REQUESTS}{{{SERVICE_LABEL}=\"checkout\"}}', "
        f'bad: \'{REQUESTS}{{{SERVICE_LABEL}="checkout",{CODE_LABEL}=~"5.."}}\'}}\n'
    )
    config = tmp_path / "meshwatch.yaml"
    config.write_text(
        f"database_url: sqlite:///{tmp_path / 'cli.db'}\nspecs: [checkout.yaml]\n"
        f"prometheus_url: {stack.prometheus.url}\n"
    )
    result = CliRunner().invoke(
        app,
        [
            "report",
            "--period",
            "30d",
            "--at",
            stack.end.isoformat(),
            "--format",
            "json",
            "--config",
            str(config),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    errors, total = stack.history.counts("checkout", stack.end - timedelta(days=30), stack.end)
    assert report["source"] == "prometheus"
    assert report["slos"][0]["requests"] == pytest.approx(total, rel=1e-3)
    assert report["slos"][0]["errors"] == pytest.approx(errors, rel=1e-3)
