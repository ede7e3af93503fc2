"""A scripted webhook receiver on 127.0.0.1 (a thread): fails, times out, then recovers.

Each path has a script of behaviours consumed one per request: `"fail"` answers 500,
`"timeout"` holds the request longer than the sender waits and then answers 200 (too late),
`"ok"` answers 200. When a path's script is used up it answers `"ok"`. Every request is
recorded with its headers, raw body and the behaviour it got.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from tests.support.http_thread import QuietHandler, ThreadedServer


@dataclass(frozen=True, slots=True)
class Received:
    path: str
    headers: Mapping[str, str]
    body: bytes
    behaviour: str
    at: float

    @property
    def delivered(self) -> bool:
        return self.behaviour == "ok"


class Receiver(ThreadedServer):
    def __init__(self, scripts: Mapping[str, Sequence[str]], hold_seconds: float = 3.0) -> None:
        self._scripts = {path: list(script) for path, script in scripts.items()}
        self.hold_seconds = hold_seconds
        self._lock = threading.Lock()
        self._received: list[Received] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def received(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self._received if path is None or r.path == path]

    def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; got {self.received()}")

    def _behaviour(self, path: str) -> str:
        with self._lock:
            script = self._scripts.get(path, [])
            return script.pop(0) if script else "ok"

    def _record(self, item: Received) -> None:
        with self._lock:
            self._received.append(item)

    def handler(self) -> type[QuietHandler]:
        receiver = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                behaviour = receiver._behaviour(self.path)
                receiver._record(
                    Received(self.path, dict(self.headers), body, behaviour, time.time())
                )
                if behaviour == "timeout":
                    time.sleep(receiver.hold_seconds)
                status = 500 if behaviour == "fail" else 200
                payload = b'{"ok": false}' if status == 500 else b'{"ok": true}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the sender gave up (timeout) and closed the connection

        return Handler
