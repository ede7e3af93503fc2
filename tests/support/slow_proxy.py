"""An HTTP proxy on 127.0.0.1 that holds every request for `delay` seconds, then forwards it.

Put in front of a real Prometheus it makes an evaluation cycle last long enough to send
SIGTERM in the middle of it, while the answers are still the real Prometheus's.
"""

from __future__ import annotations

import http.client
import http.server
import threading
import time
from urllib.parse import urlsplit

from tests.support.http_thread import QuietHandler, ThreadedServer


class SlowProxy(ThreadedServer):
    def __init__(self, upstream: str, delay: float) -> None:
        parts = urlsplit(upstream)
        assert parts.hostname == "127.0.0.1"
        self._upstream_port = parts.port or 80
        self.delay = delay
        self._lock = threading.Lock()
        self.started: list[float] = []  # time.monotonic() at each request's arrival
        self.finished: list[float] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def in_flight(self) -> int:
        with self._lock:
            return len(self.started) - len(self.finished)

    def handler(self) -> type[QuietHandler]:
        proxy = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                with proxy._lock:
                    proxy.started.append(time.monotonic())
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                time.sleep(proxy.delay)
                upstream = http.client.HTTPConnection("127.0.0.1", proxy._upstream_port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                response = upstream.getresponse()
                payload = response.read()
                upstream.close()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                with proxy._lock:
                    proxy.finished.append(time.monotonic())

            do_GET = _forward
            do_POST = _forward

        return Handler
