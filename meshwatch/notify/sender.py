"""Deliver the notification outbox: POST each due item, retry with backoff, never lose one.

A notification is written to the outbox (in the store) before anything is sent, so a crash
or restart between "decided to notify" and "delivered" only delays it. Delivery is
at-least-once; the `X-Meshwatch-Key` header lets receivers drop duplicates. Items that
cannot be delivered before `max_age` are expired (recorded, not deleted).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx

from meshwatch.notify.bodies import KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, encode, sign

log = logging.getLogger(__name__)

NEVER = datetime(9999, 1, 1, tzinfo=UTC)  # next attempt of an expired item


class DueItem(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def key(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def payload(self) -> Mapping[str, Any]: ...
    @property
    def attempts(self) -> int: ...
    @property
    def created_at(self) -> datetime: ...


class Outbox(Protocol):
    """The part of the store the sender needs."""

    def due(self, now: datetime, limit: int = 100) -> Sequence[DueItem]: ...
    def mark_delivered(self, item_id: int, now: datetime) -> None: ...
    def mark_failed(self, item_id: int, error: str, next_attempt_at: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class Endpoint:
    url: str
    secret: bytes | None
    timeout_seconds: float = 5.0


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter: `base * 2**attempts`, capped, times U(0.5, 1)."""

    base: timedelta = timedelta(seconds=2)
    cap: timedelta = timedelta(minutes=10)
    max_age: timedelta = timedelta(hours=24)

    def next_attempt(self, now: datetime, attempts: int, rng: Callable[[], float]) -> datetime:
        delay: timedelta = min(self.cap, self.base * (2 ** min(attempts, 20)))
        jittered: datetime = now + delay * (0.5 + rng() / 2)
        return jittered


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    delivered: int
    failed: int
    expired: int


def deliver_due(
    outbox: Outbox,
    endpoints: Mapping[str, Endpoint],
    client: httpx.Client,
    now: datetime,
    *,
    backoff: Backoff | None = None,
    rng: Callable[[], float] = random.random,
    limit: int = 100,
    max_lanes: int = 8,
) -> DeliveryReport:
    """Try every due item once; the caller runs this on an interval.

    Items are POSTed in one lane per target, the lanes in parallel (up to `max_lanes`), in
    order within a lane: a receiver that hangs delays only its own notifications, never a
    healthy one's. A lane stops at its first transport failure (timeout, refused): the rest
    of that target's items stay due, untouched, for the next run instead of each waiting out
    its own timeout. The outcomes are written to the outbox from the calling thread.
    """
    policy = backoff or Backoff()
    lanes: dict[str, list[DueItem]] = {}
    for item in outbox.due(now, limit):
        lanes.setdefault(item.target, []).append(item)
    outcomes: list[tuple[DueItem, str | None]] = []
    if lanes:
        with ThreadPoolExecutor(min(max_lanes, len(lanes)), "meshwatch-notify") as pool:
            runs = [
                pool.submit(_lane, client, endpoints.get(target), items, now)
                for target, items in lanes.items()
            ]
            for run in runs:
                outcomes += run.result()
    delivered = failed = expired = 0
    for item, error in outcomes:
        if error is None:
            outbox.mark_delivered(item.id, now)
            delivered += 1
            continue
        if now - item.created_at >= policy.max_age:
            outbox.mark_failed(
                item.id,
                f"expired after {item.attempts + 1} attempts: {error}",
                now + timedelta(days=36500),
            )
            expired += 1
            log.warning("notification %s to %s expired: %s", item.key, item.target, error)
            continue
        outbox.mark_failed(item.id, error, policy.next_attempt(now, item.attempts, rng))
        failed += 1
        log.info(
            "notification %s to %s failed (attempt %s): %s",
            item.key,
            item.target,
            item.attempts + 1,
            error,
        )
    return DeliveryReport(delivered, failed, expired)


def _lane(
    client: httpx.Client, endpoint: Endpoint | None, items: Sequence[DueItem], now: datetime
) -> list[tuple[DueItem, str | None]]:
    """POST one target's items in order; stop after a transport failure."""
    if endpoint is None:
        return [(item, f"unknown notification target {item.target!r}") for item in items]
    outcomes: list[tuple[DueItem, str | None]] = []
    for item in items:
        error, reachable = _post(client, endpoint, item, now)
        outcomes.append((item, error))
        if not reachable:
            break
    return outcomes


def _post(
    client: httpx.Client, endpoint: Endpoint, item: DueItem, now: datetime
) -> tuple[str | None, bool]:
    """POST one item: (None on a 2xx else the reason, whether the receiver answered)."""
    raw = encode(dict(item.payload))
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json",
        KEY_HEADER: item.key,
        TIMESTAMP_HEADER: timestamp,
    }
    if endpoint.secret is not None:
        headers[SIGNATURE_HEADER] = sign(endpoint.secret, timestamp, raw)
    try:
        response = client.post(
            endpoint.url, content=raw, headers=headers, timeout=endpoint.timeout_seconds
        )
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}", False
    if 200 <= response.status_code < 300:
        return None, True
    return f"HTTP {response.status_code}", True
