"""A tiny `/metrics` server on 127.0.0.1 whose text is computed at each scrape.

    with serving_metrics(lambda elapsed_s: "x_total 1\n") as url: ...

Used as a Prometheus scrape target with synthetic traffic (counters that grow with time).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Render = Callable[[float], str]


def _handler(render: Render, start: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/metrics":
                self.send_error(404)
                return
            body = render(time.monotonic() - start).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


@contextlib.contextmanager
def serving_metrics(render: Render) -> Iterator[str]:
    """Serve `render(seconds since start)` at `/metrics`; yield `host:port`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(render, time.monotonic()))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"{host!s}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
