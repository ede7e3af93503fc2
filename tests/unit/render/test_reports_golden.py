"""Reports of a fixed synthetic history, compared byte for byte with tests/golden/reports/.

Regenerate (after reviewing the change): python -m pytest tests/unit/render/test_reports_golden.py
--update-golden (or MESHWATCH_UPDATE_GOLDEN=1).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
import pytest

from meshwatch.render.reports import Report, json_schema
from meshwatch.render.reports_build import SLOInput, build_report, slices_from_statuses
from meshwatch.render.reports_html import render_report
from tests.support import report_history as h
from tests.support.golden import GOLDEN, assert_golden

SCHEMA = GOLDEN.parent.parent / "docs" / "report.schema.json"
EXAMPLE = GOLDEN.parent.parent / "docs" / "example-report.md"


def fixed_report() -> Report:
    alerts, actions = h.alerts(), h.actions()
    items = [
        SLOInput(
            slo,
            slices_from_statuses(h.statuses(slo), h.START, h.END),
            alerts.get(slo.id, ()),
            actions.get(slo.id, ()),
        )
        for slo in h.SLOS
    ]
    return build_report(items, period="7d", start=h.START, end=h.END, source="history")


@pytest.mark.parametrize(
    "fmt",
    [
        pytest.param("html", id="html"),
        pytest.param("md", id="markdown"),
        pytest.param("json", id="json"),
        pytest.param("csv", id="csv"),
    ],
)
def test_report_matches_golden(fmt: str) -> None:
    text = render_report(fixed_report(), fmt)  # type: ignore[arg-type]
    assert_golden(GOLDEN / "reports" / f"fixed-7d.{fmt}", text)


def test_rendering_is_deterministic() -> None:
    assert render_report(fixed_report(), "html") == render_report(fixed_report(), "html")


def test_committed_schema_matches_the_model() -> None:
    rendered = json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    assert_golden(SCHEMA, rendered)


def test_json_report_validates_against_the_committed_schema() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    document = json.loads(render_report(fixed_report(), "json"))
    jsonschema.validate(document, schema)
    assert Report.model_validate(document) == fixed_report()


def test_readme_example_is_the_markdown_report() -> None:
    assert_golden(EXAMPLE, render_report(fixed_report(), "md"))


def test_csv_has_one_row_per_slo_and_parses() -> None:
    rows = list(csv.DictReader(io.StringIO(render_report(fixed_report(), "csv"))))
    assert [r["slo_id"] for r in rows] == sorted(s.id for s in h.SLOS)
    breached = next(r for r in rows if r["slo_id"] == "checkout-availability")
    assert breached["state"] == "breached"
    assert float(breached["budget_remaining_ratio"]) < 0


def test_html_report_has_charts_and_a_print_layout() -> None:
    html = render_report(fixed_report(), "html")
    assert "@media print" in html
    assert html.count('data-kind="budget"') == len(h.SLOS)
    assert html.count('data-kind="sli"') == len(h.SLOS)
    # 7 days of hourly buckets, every one measured
    assert html.count('data-points="168"') == 2 * len(h.SLOS)
    assert '<section class="slo state-breached" id="checkout-availability">' in html


def test_golden_files_are_where_the_test_writes_them() -> None:
    assert Path(GOLDEN / "reports").is_dir()
