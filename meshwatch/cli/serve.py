"""`meshwatch serve`: the API, the status page, the evaluation loop and the scheduler."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from meshwatch.cli.app import app, exits_on_error


@app.command()
@exits_on_error
def serve(
    config: Annotated[
        Path | None,
        typer.Option("--config", exists=True, dir_okay=False, help="YAML settings file."),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=0, max=65535)] = 8080,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error.")] = "info",
) -> None:
    """Serve the API and run the evaluation loop (embedded defaults: SQLite, no SLOs)."""
    import uvicorn

    from meshwatch.service import build_service
    from meshwatch.settings import load_settings

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = load_settings(config)
    service = build_service(settings)
    try:
        # uvicorn handles SIGINT/SIGTERM: it stops accepting, finishes in-flight requests,
        # then runs the lifespan shutdown, which waits for running jobs.
        uvicorn.run(service.app, host=host, port=port, log_level=log_level, access_log=False)
    finally:
        service.close()
