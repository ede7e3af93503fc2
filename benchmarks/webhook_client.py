"""A cheap load client for the `webhook` benchmark: asyncio, raw HTTP/1.1 keep-alive.

The benchmark's clients run on the same two cores as the server. `tests.support.burst`
(16 threads of `http.client`, a fresh `json.dumps` per delivery) costs about 0.15-0.25 ms
of CPU per delivery, all of it under one GIL: 16 deliveries answered by one commit took
2.5-4 ms of client time before the next commit could fill, as long as the commit itself.
Here `workers` connections run as coroutines on one event loop (uvloop when installed),
each body is a fixed template with its fingerprints pasted in, and a response is read
just far enough to know its status and length. The payloads are byte for byte those of
`burst` (same `am_payload`/`am_alert`, unique fingerprints), and so is the result type.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from datetime import UTC, datetime

from tests.support.burst import BurstResult, Delivery
from tests.support.serve import WEBHOOK_PATH, am_alert, am_payload

PLACEHOLDER = "F" * 16


def _templates(alerts: int, now: datetime) -> list[bytes]:
    """The body split at each fingerprint: `alerts + 1` pieces."""
    body = json.dumps(am_payload([am_alert(PLACEHOLDER, starts_at=now)] * alerts))
    return [piece.encode() for piece in body.split(PLACEHOLDER)]


def _head(port: int, token: str, length: int) -> bytes:
    return (
        f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\nUser-Agent: Alertmanager/0.25.0\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def _burst(
    port: int, token: str, workers: int, duration: float, alerts: int, prefix: str
) -> BurstResult:
    pieces = _templates(alerts, datetime.now(UTC))
    counter = itertools.count()
    results: list[Delivery] = []
    started = time.perf_counter()
    deadline = started + duration

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                first = next(counter) * alerts
                fingerprints = tuple(
                    f"{prefix}{n:014x}"[-16:] for n in range(first, first + alerts)
                )
                parts = [pieces[0]]
                for fingerprint, piece in zip(fingerprints, pieces[1:], strict=True):
                    parts += (fingerprint.encode(), piece)
                body = b"".join(parts)
                began = time.perf_counter()
                writer.write(_head(port, token, len(body)) + body)
                status = await _read_response(reader)
                results.append(Delivery(fingerprints, status, time.perf_counter() - began))
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(workers)))
    return BurstResult(tuple(results), time.perf_counter() - started)


def burst(
    port: int, *, token: str, workers: int, duration: float, alerts: int, prefix: str
) -> BurstResult:
    """`workers` keep-alive connections to 127.0.0.1:`port` for `duration` seconds."""
    try:
        import uvloop
    except ImportError:  # the stdlib loop works too, at some more client CPU
        return asyncio.run(_burst(port, token, workers, duration, alerts, prefix))
    return uvloop.run(_burst(port, token, workers, duration, alerts, prefix))
