"""In-process HTTP servers for tests: a free 127.0.0.1 port, served by a daemon thread.

    server = serve_in_thread(Handler)      # Handler: a QuietHandler subclass
    ...
    stop_server(server)

`ThreadedServer` is the same as a base class for objects that build their handler from
their own state (`handler()`), with `start()`, `stop()` and `port`.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that does not log every request to stderr."""

    def log_message(self, format: str, *args: object) -> None:
        return


def serve_in_thread(
    handler: type[BaseHTTPRequestHandler],
    server_class: type[ThreadingHTTPServer] = ThreadingHTTPServer,
) -> ThreadingHTTPServer:
    """`handler` served on a free port of 127.0.0.1 until `stop_server`; request threads
    are daemons, so a request still held does not block the end of the test run."""
    server = server_class(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop_server(server: ThreadingHTTPServer | None) -> None:
    """Stop serving and close the socket (nothing when `server` is None)."""
    if server is not None:
        server.shutdown()
        server.server_close()


class ThreadedServer:
    """Serves `handler()` in a thread between `start()` and `stop()`."""

    _server: ThreadingHTTPServer | None = None

    def handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.server_address[1])

    def start(self) -> Self:
        self._server = serve_in_thread(self.handler())
        return self

    def stop(self) -> None:
        stop_server(self._server)
        self._server = None
