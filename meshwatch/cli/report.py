"""`meshwatch report`: an SLO report for a past period, from stored history or Prometheus."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from meshwatch.cli.progress import progress_bar
from meshwatch.cli.root import app, exits_on_error


class Format(StrEnum):
    HTML = "html"
    MD = "md"
    JSON = "json"
    CSV = "csv"


class Source(StrEnum):
    AUTO = "auto"
    HISTORY = "history"
    PROMETHEUS = "prometheus"


def parse_at(value: str | None, hint: str = "--at") -> datetime:
    """`2026-11-01` (midnight UTC) or an ISO time; naive times are UTC. Default: now."""
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(
            f"{value!r} is not a date; use e.g. 2026-11-01 or 2026-11-01T08:00:00Z",
            param_hint=hint,
        ) from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def report_period(period: str | None, start: str | None, end: str | None) -> str:
    """The period string the report runs on: `--period`, or `START/END` from --start/--end."""
    from meshwatch.slo.report_periods import check_report_period, interval

    if start is None and end is None:
        try:
            return check_report_period(period or "7d")
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--period") from exc
    if period is not None:
        raise typer.BadParameter("give --period or --start/--end, not both", param_hint="--period")
    if start is None:
        raise typer.BadParameter("--end needs --start", param_hint="--start")
    try:
        return interval(parse_at(start, "--start"), parse_at(end, "--end"))  # no --end: now
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--end") from exc


@app.command()
@exits_on_error
def report(
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            help="A duration (1h, 36h, 7d, 90d), calendar-week, calendar-month or "
            "calendar-quarter (the last complete one). Default 7d.",
            show_default=False,
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option("--start", help="Start of an explicit period (ISO time, UTC if naive)."),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--end", help="End of an explicit period (default now)."),
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.MD,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="End of a rolling period, or any moment after a calendar period "
            "(UTC; default now).",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", dir_okay=False, help="File (default stdout).")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", exists=True, dir_okay=False, help="YAML settings file."),
    ] = None,
    source: Annotated[
        Source,
        typer.Option(help="auto: Prometheus when prometheus_url is set, else stored history."),
    ] = Source.AUTO,
    time_zone: Annotated[
        str | None,
        typer.Option(
            "--time-zone",
            help="IANA time zone whose local midnight starts a calendar period "
            "(Europe/Berlin). Default: the report_time_zone setting, UTC.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write an SLO report: objective, achieved SLI, budget, worst windows, alerts, actions."""
    from meshwatch.collectors.prometheus import PrometheusCollector
    from meshwatch.engine.runtime import Runtime
    from meshwatch.jobs.reports import ReportBuilder, ReportRunner
    from meshwatch.service import load_slos, prometheus_querier
    from meshwatch.settings import load_settings
    from meshwatch.slo.calendar import check_zone
    from meshwatch.store import ReportStatus, Store, make_engine, upgrade

    period_value = report_period(period, start, end)
    if time_zone is not None:
        try:
            check_zone(time_zone)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--time-zone") from exc
    moment = parse_at(at)
    settings = load_settings(config)
    slos = load_slos(settings)
    use_prometheus = source is Source.PROMETHEUS or (
        source is Source.AUTO and settings.prometheus_url is not None
    )
    if use_prometheus and not settings.prometheus_url:
        raise typer.BadParameter("needs prometheus_url in the settings", param_hint="--source")
    upgrade(settings.database_url)
    store = Store(make_engine(settings.database_url))
    try:
        prometheus = (
            PrometheusCollector(prometheus_querier(settings, settings.prometheus_url))
            if use_prometheus and settings.prometheus_url
            else None
        )
        runtime = Runtime(slos=slos)
        builder = ReportBuilder(
            store,
            lambda: runtime.slos,
            prometheus,
            settings.min_coverage,
            time_zone or settings.report_time_zone,
        )
        runner = ReportRunner(builder, store, settings.report_directory, lambda: datetime.now(UTC))
        started = datetime.now(UTC)
        with progress_bar("report", "SLOs", len(slos)) as advance:
            _, content = runner.render(period_value, fmt.value, moment, advance)
        if output is None:
            sys.stdout.write(content)
            uri = "stdout"
        else:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(content, encoding="utf-8")
            uri = str(output)
        store.reports.record_report_run(
            period=period_value,
            format=fmt.value,
            uri=uri,
            started=started,
            finished=datetime.now(UTC),
            status=ReportStatus.OK,
        )
        if output is not None:
            print(f"wrote {output} ({len(slos)} SLOs)", file=sys.stderr)
    finally:
        store.close()
