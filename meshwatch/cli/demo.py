"""`meshwatch demo`: a local mesh, meshwatch watching it, an incident and its remediation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from meshwatch.cli.root import app, exits_on_error


@app.command()
@exits_on_error
def demo(
    duration: Annotated[
        float, typer.Option("--duration", min=5, help="Seconds to run before stopping.")
    ] = 200.0,
    port: Annotated[int, typer.Option(help="Port of the API and status page.")] = 8080,
    incident: Annotated[
        bool, typer.Option("--incident/--no-incident", help="Script the checkout v2 outage.")
    ] = True,
    prometheus: Annotated[
        bool, typer.Option("--prometheus", help="Use a Prometheus found on PATH.")
    ] = False,
    workdir: Annotated[
        Path | None, typer.Option(help="Folder for the database, Envoy files and the report.")
    ] = None,
) -> None:
    """Start a local mesh behind a real Envoy and watch meshwatch detect and fix an incident."""
    import logging

    from rich.console import Console

    from meshwatch.demo.run import DemoOptions, run_demo

    logging.basicConfig(level=logging.ERROR)  # the live view is the output; errors still show
    console = Console(stderr=False)
    options = DemoOptions(
        duration=duration, port=port, incident=incident, prometheus=prometheus, workdir=workdir
    )
    summary = run_demo(options, console)
    console.rule("summary")
    console.print(f"ran {summary.seconds:.0f}s; files in {summary.workdir}")
    if incident:
        detection = summary.detection_seconds
        console.print(
            "incident: checkout v2 failing from "
            f"t={_t(summary.incident_start)}; traffic shifted at t={_t(summary.first_shift)}"
            + (f" ({detection:.1f}s after the fault)" if detection is not None else "")
            + f"; restored at t={_t(summary.restored)}"
        )
    ratio = summary.client_error_ratio
    console.print(
        "client error ratio on /checkout: " + ("—" if ratio is None else f"{ratio * 100:.2f}%")
    )
    console.print(
        f"remediation actions: {len(summary.actions)}; final weights: {summary.final_weights}"
    )
    if summary.report is not None:
        console.print(f"report: {summary.report}")


def _t(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}s"
