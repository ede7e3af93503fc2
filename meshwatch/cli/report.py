"""`meshwatch report`: an SLO report for a past period, from stored history or Prometheus."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from meshwatch.cli.app import app, exits_on_error
from meshwatch.collectors.prometheus import PrometheusCollector
from meshwatch.collectors.prometheus_http import PrometheusQuerier, connect
from meshwatch.engine.runtime import Runtime
from meshwatch.jobs.reports import ReportBuilder, ReportRunner
from meshwatch.render.reports import ReportFormat, ReportPeriod
from meshwatch.service import load_slos
from meshwatch.settings import load_settings
from meshwatch.store import ReportStatus, Store, make_engine, upgrade


class Period(StrEnum):
    WEEK = "7d"
    MONTH = "30d"
    CALENDAR_MONTH = "calendar-month"


class Format(StrEnum):
    HTML = "html"
    MD = "md"
    JSON = "json"
    CSV = "csv"


class Source(StrEnum):
    AUTO = "auto"
    HISTORY = "history"
    PROMETHEUS = "prometheus"


def parse_at(value: str | None) -> datetime:
    """`2026-11-01` (midnight UTC) or an ISO time; naive times are UTC. Default: now."""
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(
            f"{value!r} is not a date; use e.g. 2026-11-01 or 2026-11-01T08:00:00Z",
            param_hint="--at",
        ) from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@app.command()
@exits_on_error
def report(
    period: Annotated[Period, typer.Option("--period", help="Report period.")] = Period.WEEK,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.MD,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="End of a rolling period, or any moment in the month after a calendar month "
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
) -> None:
    """Write an SLO report: objective, achieved SLI, budget, worst windows, alerts, actions."""
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
            PrometheusCollector(
                PrometheusQuerier(
                    connect(settings.prometheus_url, http_config=settings.prometheus_http_config)
                )
            )
            if use_prometheus and settings.prometheus_url
            else None
        )
        runtime = Runtime(slos=slos)
        builder = ReportBuilder(store, lambda: runtime.slos, prometheus)
        runner = ReportRunner(builder, store, settings.report_directory, lambda: datetime.now(UTC))
        period_value: ReportPeriod = period.value
        format_value: ReportFormat = fmt.value
        started = datetime.now(UTC)
        console = Console(stderr=True)
        with Progress(
            TextColumn("report"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("SLOs"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=len(slos) < 20,
        ) as progress:
            task = progress.add_task("report", total=len(slos))
            _, content = runner.render(
                period_value,
                format_value,
                moment,
                lambda done, total: progress.update(task, completed=done, total=total),
            )
        if output is None:
            sys.stdout.write(content)
            uri = "stdout"
        else:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(content, encoding="utf-8")
            uri = str(output)
        store.reports.record_report_run(
            period=period.value,
            format=fmt.value,
            uri=uri,
            started=started,
            finished=datetime.now(UTC),
            status=ReportStatus.OK,
        )
        if output is not None:
            console.print(f"wrote {output} ({len(slos)} SLOs)")
    finally:
        store.close()
