"""`meshwatch serve`: the API, the status page, the evaluation loop and the scheduler."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from meshwatch.cli.root import app, exits_on_error
from meshwatch.errors import MeshwatchError

if TYPE_CHECKING:
    import socket

# logging, socket and errno are imported where they are used, not when the CLI starts: every
# command (`--help`, `validate`) imports this module to register `serve`.

BACKLOG = 2048  # uvicorn's default


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host:port`, or MeshwatchError saying why there is none.

    `serve` binds before it builds anything: a replica that cannot serve must not migrate,
    take the leader lock, evaluate, notify or remediate. SO_REUSEADDR only lets a restart
    reuse a port in TIME_WAIT; a port someone listens on still fails here.
    """
    import errno
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise MeshwatchError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise MeshwatchError(f"cannot listen on {host}:{port}: {reason}") from exc
    return sock


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
    import logging

    import uvicorn

    from meshwatch.api.app import WEBHOOK_PATH
    from meshwatch.api.front_door import FrontDoor, front_door_protocol
    from meshwatch.service import build_service
    from meshwatch.settings import load_settings

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = load_settings(config)
    sock = listen(host, port)  # before anything acts (see `listen`)
    try:
        bound_host, bound_port = sock.getsockname()[:2]
        logging.getLogger(__name__).info("listening on %s:%s", bound_host, bound_port)
        service = build_service(settings)
        try:
            # uvicorn handles SIGINT/SIGTERM: it stops accepting, finishes in-flight
            # requests, then runs the lifespan shutdown, which waits for running jobs.
            state = service.app.state
            door = FrontDoor(state.webhook_admission, WEBHOOK_PATH, state.fast_webhook)
            server_config = uvicorn.Config(
                service.app,
                log_level=log_level,
                access_log=False,
                http=front_door_protocol(door),  # /healthz, shedding and the webhook: no task
            )
            server = uvicorn.Server(server_config)
            server.run(sockets=[sock])
        finally:
            service.close()
    finally:
        sock.close()
