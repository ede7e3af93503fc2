"""A traffic generator for the demo mesh: steady load through Envoy, counted per outcome.

Each worker thread sends requests to a path at a fixed rate over one keep-alive
connection (127.0.0.1 only) and counts what the client saw: the version that answered and
the status. The client's error ratio during an incident is what users would have felt.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Traffic:
    """Requests per second per path through the listener on `port`, until `stop()`."""

    port: int
    rates: dict[str, float]
    seen: Counter[tuple[str, str, int]] = field(default_factory=Counter)  # (path, backend, code)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for path, rate in self.rates.items():
            thread = threading.Thread(
                target=self._run, args=(path, rate), name=f"demo-traffic{path}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def snapshot(self) -> Counter[tuple[str, str, int]]:
        with self._lock:
            return Counter(self.seen)

    def _run(self, path: str, rate: float) -> None:
        interval = 1.0 / rate
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        next_at = time.monotonic()
        while not self._stop.is_set():
            backend, code = self._one(conn, path)
            if code == 0:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            with self._lock:
                self.seen[(path, backend, code)] += 1
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                next_at = time.monotonic()  # behind schedule: do not burst to catch up
        conn.close()

    @staticmethod
    def _one(conn: http.client.HTTPConnection, path: str) -> tuple[str, int]:
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            return "-", 0
        return response.getheader("x-backend", "-"), response.status


def error_ratio(seen: Counter[tuple[str, str, int]], path: str | None = None) -> float | None:
    """Share of requests (optionally to one path) the client saw fail (5xx or no answer)."""
    total = bad = 0
    for (p, _backend, code), count in seen.items():
        if path is not None and p != path:
            continue
        total += count
        bad += count if code == 0 or code >= 500 else 0
    return bad / total if total else None
