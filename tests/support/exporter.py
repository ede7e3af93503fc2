"""A tiny `/metrics` server on 127.0.0.1 whose text is computed at each scrape.

    with serving_metrics(lambda elapsed_s: "x_total 1\n") as url: ...

Used as a Prometheus scrape target with synthetic traffic (counters that grow with time).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler

from tests.support.http_thread import QuietHandler, serve_in_thread, stop_server

Render = Callable[[float], str]


def metrics_handler(render: Callable[[], str]) -> type[BaseHTTPRequestHandler]:
    """A handler answering `GET /metrics` with `render()` (text format 0.0.4), 404 elsewhere."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            if self.path != "/metrics":
                self.send_error(404)
                return
            body = render().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextlib.contextmanager
def serving_metrics(render: Render) -> Iterator[str]:
    """Serve `render(seconds since start)` at `/metrics`; yield `host:port`."""
    start = time.monotonic()
    server = serve_in_thread(metrics_handler(lambda: render(time.monotonic() - start)))
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        stop_server(server)
