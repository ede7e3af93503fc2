"""Concurrent Alertmanager-style webhook deliveries against a running server (127.0.0.1 only).

Each worker thread keeps one HTTP/1.1 connection (stdlib `http.client`, cheap enough that the
client is not the bottleneck at a few thousand requests per second) and sends version-4
payloads whose alerts all have fresh, unique fingerprints, so what the server acknowledged
can be compared with what it stored. Failed requests (connection refused after a crash, 5xx)
are recorded with their error and retried with new alerts, never silently dropped.
"""

from __future__ import annotations

import http.client
import itertools
import json
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from tests.support.serve import WEBHOOK_PATH, am_alert, am_payload


@dataclass(frozen=True, slots=True)
class Delivery:
    """One POST: the alerts it carried, the HTTP status (None: no answer) and its latency."""

    fingerprints: tuple[str, ...]
    status: int | None
    seconds: float
    error: str = ""

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True, slots=True)
class BurstResult:
    deliveries: tuple[Delivery, ...]
    elapsed: float

    @property
    def acknowledged(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.acknowledged]

    def acknowledged_fingerprints(self) -> set[str]:
        return {fp for d in self.acknowledged for fp in d.fingerprints}

    def sent_fingerprints(self) -> set[str]:
        return {fp for d in self.deliveries for fp in d.fingerprints}

    def statuses(self) -> dict[int | None, int]:
        counts: dict[int | None, int] = {}
        for d in self.deliveries:
            counts[d.status] = counts.get(d.status, 0) + 1
        return counts


def burst(
    base_url: str,
    *,
    token: str | None,
    workers: int,
    stop: threading.Event,
    duration: float | None = None,
    alerts_per_request: int = 1,
    labels: Mapping[str, str] | None = None,
    path: str = WEBHOOK_PATH,
    prefix: str = "fp",
    on_delivery: Callable[[Delivery], None] | None = None,
) -> BurstResult:
    """Send until `stop` is set (or `duration` seconds pass); return every delivery."""
    parts = urlsplit(base_url)
    assert parts.hostname == "127.0.0.1", "load only ever goes to 127.0.0.1"
    port = parts.port or 80
    headers = {"Content-Type": "application/json", "User-Agent": "Alertmanager/0.25.0"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    counter = itertools.count()
    lock = threading.Lock()
    results: list[list[Delivery]] = [[] for _ in range(workers)]
    started = time.perf_counter()
    deadline = None if duration is None else started + duration

    def next_fingerprints() -> tuple[str, ...]:
        with lock:
            first = next(counter)
            for _ in range(alerts_per_request - 1):
                next(counter)
        return tuple(f"{prefix}{n:014x}"[-16:] for n in range(first, first + alerts_per_request))

    def worker(index: int) -> None:
        conn: http.client.HTTPConnection | None = None
        out = results[index]
        now = datetime.now(UTC)
        while not stop.is_set() and (deadline is None or time.perf_counter() < deadline):
            fingerprints = next_fingerprints()
            body = json.dumps(
                am_payload([am_alert(fp, labels=labels, starts_at=now) for fp in fingerprints])
            ).encode()
            began = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                delivery = Delivery(fingerprints, response.status, time.perf_counter() - began)
                if response.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                delivery = Delivery(
                    fingerprints, None, time.perf_counter() - began, f"{type(exc).__name__}"
                )
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.01)
            out.append(delivery)
            if on_delivery is not None:
                on_delivery(delivery)
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return BurstResult(
        tuple(d for per_worker in results for d in per_worker), time.perf_counter() - started
    )


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of non-empty `values`."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]
