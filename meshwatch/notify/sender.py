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
) -> DeliveryReport:
    """Try every due item once; the caller runs this on an interval."""
    policy = backoff or Backoff()
    delivered = failed = expired = 0
    for item in outbox.due(now, limit):
        endpoint = endpoints.get(item.target)
        error: str | None
        if endpoint is None:
            error = f"unknown notification target {item.target!r}"
        else:
            error = _post(client, endpoint, item, now)
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


def _post(client: httpx.Client, endpoint: Endpoint, item: DueItem, now: datetime) -> str | None:
    """POST one item; None on a 2xx, else the reason."""
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
        return f"{type(exc).__name__}: {exc}"
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}"
