"""The webhook inside the server's protocol answers byte for byte as the application does.

Two real uvicorn servers over one SQLite store and app: one with `front_door_protocol`
(the delivery never becomes an ASGI task), one with uvicorn's plain httptools protocol
(the application's own fast-path middleware and route). The same raw HTTP/1.1 requests go
to both on 127.0.0.1; the answers are compared as bytes (the `date` header aside). An
application that counts the requests it sees shows which ones the protocol kept.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from meshwatch.api.app import WEBHOOK_PATH, create_app
from meshwatch.api.front_door import FrontDoor, front_door_protocol
from meshwatch.errors import StoreError
from meshwatch.settings import Settings
from meshwatch.store import Store, make_engine, upgrade
from tests.support.serve import am_alert, am_payload
from tests.support.uvicorn_thread import serving

pytestmark = pytest.mark.integration

TOKEN = "door-token"
STARTS = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Counting:
    """ASGI wrapper: the paths that reached the application."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen.append(scope["path"])
        await self.app(scope, receive, send)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[int, int, Counting, Store]]:
    url = f"sqlite:///{tmp_path / 'meshwatch.db'}"
    upgrade(url)
    store = Store(make_engine(url))
    settings = Settings(api_token=SecretStr(TOKEN), database_url=url)
    app = create_app(settings, store=store)
    counting = Counting(app)
    door = FrontDoor(app.state.webhook_admission, WEBHOOK_PATH, app.state.fast_webhook)
    with (
        serving(counting, front_door_protocol(door)) as fast,
        serving(counting, "httptools") as plain,
    ):
        yield fast, plain, counting, store
    app.state.services.ingest.close()
    store.close()


def request(body: bytes, *headers: str, length: int | None = None) -> bytes:
    lines = [f"POST {WEBHOOK_PATH} HTTP/1.1", "Host: 127.0.0.1", *headers]
    lines.append(f"Content-Length: {len(body) if length is None else length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def exchange(port: int, *raw: bytes) -> list[bytes]:
    """Send `raw` requests on one connection (one after the other); their raw answers."""
    answers = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        for data in raw:
            conn.sendall(data)
            answers.append(read_answer(conn))
    return answers


def _more(conn: socket.socket, data: bytes) -> bytes:
    chunk = conn.recv(65536)
    if not chunk:  # the server closed the connection: fail, never spin on it
        raise ConnectionError(f"connection closed by the server after {data[-300:]!r}")
    return data + chunk


def read_answer(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data = _more(conn, data)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body = _more(conn, body)
    kept = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"date:")]
    return b"\r\n".join(kept) + b"\r\n\r\n" + body


def body_of(*fingerprints: str, **changes: Any) -> bytes:
    payload = am_payload([am_alert(fp, starts_at=STARTS) for fp in fingerprints])
    payload["alerts"][0].update(changes)
    return json.dumps(payload).encode()


JSON = "Content-Type: application/json"
AUTH = f"Authorization: Bearer {TOKEN}"


def test_answers_match_the_application(servers: tuple[int, int, Counting, Store]) -> None:
    fast, plain, counting, store = servers
    admission = counting.app.state.webhook_admission
    cases = [
        request(body_of("a1", "a2"), JSON, AUTH),  # new: the door answers it
        request(body_of("a1", "a2"), JSON, AUTH),  # stored already: new 0
        request(body_of("b1", fingerprint=""), JSON, AUTH),  # invalid: the route's 422
        request(body_of("c1"), JSON, "Authorization: Bearer wrong"),  # 403
        request(body_of("d1"), JSON),  # 401
        request(b"{not json", JSON, AUTH),  # 422
        request(body_of("e1"), "Content-Type: text/plain", AUTH),  # the route decides
    ]
    seen = len(counting.seen)
    from_door = exchange(fast, *cases)
    assert len(counting.seen) - seen == len(cases) - 2  # the two valid ones never reached it
    for data in cases[:2]:  # the same new/duplicate sequence through the application
        data = data.replace(b'"a1"', b'"z1"').replace(b'"a2"', b'"z2"')
        cases.append(data)
    from_app = exchange(plain, *cases)
    assert from_door[0] == from_app[-2] and from_door[1] == from_app[-1]
    assert from_door[0].endswith(b'{"received":2,"new":2}')
    assert from_door[1].endswith(b'{"received":2,"new":0}')
    assert from_door[2:] == from_app[2:7]
    statuses = [int(answer[9:12]) for answer in from_door]
    assert statuses == [200, 200, 422, 403, 401, 422, statuses[6]]
    stored = sorted(a.event.fingerprint for a in store.alerts.list_alerts())
    assert stored == ["a1", "a2", "z1", "z2"]
    assert (admission.in_flight, admission.in_flight_bytes) == (0, 0)


def test_large_body_and_pipelining(servers: tuple[int, int, Counting, Store]) -> None:
    fast, _, counting, store = servers
    large = body_of(*(f"L{n:05d}" for n in range(400)))  # past uvicorn's 64 KiB read pause
    assert len(large) > 65536
    small = request(body_of("p1"), JSON, AUTH)
    seen = len(counting.seen)
    with socket.create_connection(("127.0.0.1", fast), timeout=10) as conn:
        conn.sendall(request(large, JSON, AUTH) + small)  # two requests in one write
        first, second = read_answer(conn), read_answer(conn)
    assert first.endswith(b'{"received":400,"new":400}')
    assert second.endswith(b'{"received":1,"new":1}')
    assert len(counting.seen) == seen
    assert len(store.alerts.list_alerts(limit=1000)) == 401


def test_a_client_that_leaves_before_its_body_stores_nothing(
    servers: tuple[int, int, Counting, Store],
) -> None:
    fast, _, counting, store = servers
    body = body_of("gone1")
    with socket.create_connection(("127.0.0.1", fast), timeout=10) as conn:
        conn.sendall(request(body, JSON, AUTH)[:-10])  # headers and part of the body
    with httpx.Client(timeout=10) as client:  # the server goes on serving
        assert client.get(f"http://127.0.0.1:{fast}/healthz").status_code == 200
        answer = client.post(
            f"http://127.0.0.1:{fast}{WEBHOOK_PATH}",
            content=body_of("after"),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
        )
    assert answer.status_code == 200
    assert [a.event.fingerprint for a in store.alerts.list_alerts()] == ["after"]
    admission = counting.app.state.webhook_admission
    assert (admission.in_flight, admission.in_flight_bytes) == (0, 0)  # the gone one too


class Gate:
    """Wraps the store's `record_deliveries`: holds each batch until released, or fails it."""

    def __init__(self, store: Store) -> None:
        self.record = store.alerts.record_deliveries
        self.entered = threading.Semaphore(0)
        self.release = threading.Event()
        self.failures = 0
        store.alerts.record_deliveries = self  # type: ignore[method-assign]

    def __call__(self, deliveries: Any, now: Any) -> list[int]:
        self.entered.release()
        assert self.release.wait(10), "the test did not release the writer"
        if self.failures:
            self.failures -= 1
            raise StoreError("the database went away")
        return self.record(deliveries, now)


def test_a_client_gone_while_queued_is_dropped(servers: tuple[int, int, Counting, Store]) -> None:
    fast, _, counting, store = servers
    gate = Gate(store)
    admission = counting.app.state.webhook_admission
    with socket.create_connection(("127.0.0.1", fast), timeout=10) as first:
        first.sendall(request(body_of("held"), JSON, AUTH))
        assert gate.entered.acquire(timeout=10)  # the writer holds "held" in a commit
        with socket.create_connection(("127.0.0.1", fast), timeout=10) as second:
            second.sendall(request(body_of("left"), JSON, AUTH))
            deadline = time.monotonic() + 10
            while admission.in_flight < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert admission.in_flight == 2  # "left" waits in the queue
        deadline = time.monotonic() + 10
        while admission.in_flight > 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert admission.in_flight == 1  # dropped when its client went
        gate.release.set()
        assert read_answer(first).endswith(b'{"received":1,"new":1}')
    assert [a.event.fingerprint for a in store.alerts.list_alerts()] == ["held"]
    assert counting.seen == []  # neither reached the application


def test_a_failed_commit_goes_to_the_application(servers: tuple[int, int, Counting, Store]) -> None:
    fast, _, counting, store = servers
    gate = Gate(store)
    gate.failures = 1  # the door's commit fails; the route's own attempt succeeds
    gate.release.set()
    (answer,) = exchange(fast, request(body_of("retried"), JSON, AUTH))
    assert answer.endswith(b'{"received":1,"new":1}')
    assert counting.seen == [WEBHOOK_PATH]
    assert [a.event.fingerprint for a in store.alerts.list_alerts()] == ["retried"]
