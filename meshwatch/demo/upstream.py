"""The demo's services: one small HTTP server per version, with latency and error noise.

Each version answers on 127.0.0.1 with its name in `x-backend`. Its behaviour is a
`Behaviour` that the scenario changes while it runs (healthy noise, then an outage).
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How a version answers: a share of 5xx and a log-normal latency in milliseconds."""

    error_ratio: float = 0.0005
    latency_median_ms: float = 8.0
    latency_sigma: float = 0.6

    def latency_seconds(self, rng: random.Random) -> float:
        return min(2.0, self.latency_median_ms * math.exp(rng.gauss(0, self.latency_sigma)) / 1000)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client (Envoy) closing an idle keep-alive connection is normal here."""


@dataclass
class Version:
    """One running version of a service."""

    service: str
    name: str
    behaviour: Behaviour = field(default_factory=Behaviour)
    served: int = 0
    failed: int = 0
    _server: _Server | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _rng: random.Random = field(default_factory=random.Random)

    @property
    def cluster(self) -> str:
        """Envoy cluster name, e.g. `checkout_v2`."""
        return f"{self.service}_{self.name}"

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{self.cluster} is not running")
        return int(self._server.server_address[1])

    def answer(self) -> tuple[int, float]:
        """Status code and delay of the next request (thread-safe)."""
        with self._lock:
            behaviour = self.behaviour
            failing = self._rng.random() < behaviour.error_ratio
            delay = behaviour.latency_seconds(self._rng)
            self.served += 1
            self.failed += int(failing)
        return (500 if failing else 200), delay

    def start(self) -> None:
        version = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                code, delay = version.answer()
                time.sleep(delay)
                body = f"{version.cluster} {code}\n".encode()
                self.send_response(code)
                self.send_header("x-backend", version.cluster)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self._server.serve_forever, name=f"demo-{self.cluster}", daemon=True
        ).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
