"""`meshwatch report` against a SQLite store holding the fixed history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from meshwatch.cli import app
from meshwatch.store import Store, make_engine, upgrade
from tests.support import report_history as h
from tests.support.golden import GOLDEN

SPEC = """\
apiVersion: meshwatch/v1
kind: ServiceLevels
service: {service}
slos:
{slos}
"""
SLO = """\
  - name: {name}
    description: {name} of {service}
    objective: {objective}
    window: 30d
    sli:
      ratio:
        total: 'http_requests_total{{service="{service}"}}'
        bad: 'http_errors_total{{service="{service}"}}'
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    url = f"sqlite:///{tmp_path / 'meshwatch.db'}"
    upgrade(url)
    store = Store(make_engine(url))
    h.seed(store)
    store.close()
    for service in ("checkout", "frontend"):
        slos = "".join(
            SLO.format(name=s.name, service=service, objective=s.objective)
            for s in h.SLOS
            if s.service == service
        )
        (tmp_path / f"{service}.yaml").write_text(SPEC.format(service=service, slos=slos))
    config = tmp_path / "meshwatch.yaml"
    config.write_text(
        f"database_url: {url}\nspecs: [checkout.yaml, frontend.yaml]\n"
        f"report_directory: {tmp_path / 'reports'}\n"
    )
    return config


def test_markdown_to_stdout_is_the_golden_report(config: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "report",
            "--period",
            "7d",
            "--at",
            "2026-11-23",
            "--format",
            "md",
            "--config",
            str(config),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == (GOLDEN / "reports" / "fixed-7d.md").read_text()


@pytest.mark.parametrize("fmt", [pytest.param(f, id=f) for f in ("html", "json", "csv")])
def test_writes_a_file_and_records_the_run(config: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "out" / f"report.{fmt}"
    result = CliRunner().invoke(
        app,
        [
            "report",
            "--period",
            "7d",
            "--at",
            "2026-11-23T00:00:00Z",
            "--format",
            fmt,
            "-o",
            str(out),
            "--config",
            str(config),
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.read_text() == (GOLDEN / "reports" / f"fixed-7d.{fmt}").read_text()
    store = Store(make_engine(f"sqlite:///{tmp_path / 'meshwatch.db'}"))
    try:
        [run] = store.reports.list_report_runs()
    finally:
        store.close()
    assert (run.uri, run.format, run.period) == (str(out), fmt, "7d")


def test_calendar_month_covers_the_previous_month(config: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "report",
            "--period",
            "calendar-month",
            "--at",
            "2026-12-05",
            "--format",
            "json",
            "--config",
            str(config),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["start"], report["end"]) == ("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")
    assert report["step_minutes"] == 360
    # the week of history is 7 of the month's 30 days
    assert report["slos"][0]["coverage"] == pytest.approx(7 / 30)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        pytest.param(["--at", "yesterday"], 2, id="bad-date"),
        pytest.param(["--period", "1y"], 2, id="bad-period"),
        pytest.param(["--format", "pdf"], 2, id="bad-format"),
        pytest.param(["--source", "prometheus"], 2, id="prometheus-not-configured"),
    ],
)
def test_usage_errors_exit_2(config: Path, args: list[str], code: int) -> None:
    result = CliRunner().invoke(app, ["report", "--config", str(config), *args])
    assert result.exit_code == code, result.output


@pytest.mark.parametrize(
    ("args", "start", "end", "step"),
    [
        pytest.param(
            ["--period", "36h", "--at", "2026-11-23"],
            "2026-11-21T12:00:00Z",
            "2026-11-23T00:00:00Z",
            15,
            id="any-duration",
        ),
        pytest.param(
            ["--period", "calendar-week", "--at", "2026-11-25"],
            "2026-11-16T00:00:00Z",
            "2026-11-23T00:00:00Z",
            60,
            id="calendar-week",
        ),
        pytest.param(
            ["--period", "calendar-quarter", "--at", "2027-01-10"],
            "2026-10-01T00:00:00Z",
            "2027-01-01T00:00:00Z",
            1440,
            id="calendar-quarter",
        ),
        pytest.param(
            ["--start", "2026-11-18", "--end", "2026-11-20T06:00:00Z"],
            "2026-11-18T00:00:00Z",
            "2026-11-20T06:00:00Z",
            60,
            id="start-end",
        ),
    ],
)
def test_any_period(config: Path, args: list[str], start: str, end: str, step: int) -> None:
    result = CliRunner().invoke(app, ["report", "--format", "json", "--config", str(config), *args])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["start"], report["end"], report["step_minutes"]) == (start, end, step)
    assert report["slos"][0]["requests"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--period", "7d", "--start", "2026-11-18"], "not both", id="both"),
        pytest.param(["--end", "2026-11-18"], "--end needs --start", id="end-alone"),
        pytest.param(
            ["--start", "2026-11-20", "--end", "2026-11-18"], "before it starts", id="reversed"
        ),
    ],
)
def test_explicit_period_usage_errors(config: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(
        app, ["report", "--config", str(config), *args], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
