"""Coverage, low coverage and distinct requests in every report format (issue 12 items 3, 5).

The old report said "data covers 100.0 % of the period" for 32 minutes of data in 7 days
from Prometheus, and summed two SLOs' requests on the same service in its summary row.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from meshwatch.model import Counts
from meshwatch.render.reports_build import Slice, SLOInput, build_report
from meshwatch.render.reports_html import render_report
from tests.support.report_history import slo

END = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
START = END - timedelta(days=7)
AVAILABILITY = slo("checkout", "availability", 99.9)
LATENCY = slo("checkout", "latency", 99.0)
FRONTEND = slo("frontend", "availability", 99.5)


def _report(min_coverage: float = 0.1):  # type: ignore[no-untyped-def]
    """32 minutes of Prometheus data in the last hour of a 7 d report (one 1 h step)."""
    last = Slice(END - timedelta(hours=1), END, 4.0, 19_200.0)
    items = [
        SLOInput(AVAILABILITY, [last], period_counts=Counts(4.0, 19_200.0)),
        SLOInput(LATENCY, [last], period_counts=Counts(40.0, 19_200.0)),
        SLOInput(
            FRONTEND,
            [
                Slice(START + timedelta(hours=h), START + timedelta(hours=h + 1), 1.0, 100.0)
                for h in range(168)
            ],
        ),
    ]
    return build_report(
        items, period="7d", start=START, end=END, source="prometheus", min_coverage=min_coverage
    )


def test_coverage_is_measured_from_prometheus_steps_not_assumed() -> None:
    report = _report()
    checkout = report.slos[0]
    assert checkout.coverage == pytest.approx(1 / 168)  # was 1.0 with period counts
    assert checkout.low_coverage
    assert checkout.covered_minutes == pytest.approx(60.0)
    assert [(g.start, g.end) for g in checkout.gaps] == [(START, END - timedelta(hours=1))]
    frontend = report.slos[2]
    assert frontend.coverage == pytest.approx(1.0) and not frontend.low_coverage


def test_every_format_says_the_budget_rests_on_little_data() -> None:
    report = _report()
    markdown = render_report(report, "md")
    assert "data covers 0.6% of the period (60 min of 7.0 d); LOW COVERAGE" in markdown
    assert "(low coverage) |" in markdown  # beside the budget left in the SLO table
    html = render_report(report, "html")
    assert 'class="low-coverage"' in html and "LOW COVERAGE" in html
    data = json.loads(render_report(report, "json"))
    assert data["slos"][0]["low_coverage"] is True
    assert data["min_coverage"] == 0.1
    rows = list(csv.DictReader(io.StringIO(render_report(report, "csv"))))
    assert rows[0]["low_coverage"] == "true" and rows[2]["low_coverage"] == "false"
    assert float(rows[0]["covered_minutes"]) == 60.0 and rows[0]["gaps"] == "1"


def test_min_coverage_is_configurable() -> None:
    assert not _report(min_coverage=0.005).slos[0].low_coverage


def test_summary_counts_the_requests_of_one_service_once() -> None:
    report = _report()
    checkout = report.services[0]
    assert checkout.name == "checkout"
    assert checkout.requests == 19_200.0  # availability + latency: the same requests
    assert checkout.requests_exact
    assert report.mesh.requests == 19_200.0 + 16_800.0  # frontend: another service
    assert report.mesh.requests_exact
