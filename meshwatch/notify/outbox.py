"""Notifications into the outbox: one row per event and webhook target.

The outbox itself is the store's (`Store.outbox`); this module only turns events into its
rows, so every writer (the evaluation job, the remediation loop, reports) builds them the
same way. The row key (`<event key>@<target>`) makes writing idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from meshwatch.notify.bodies import generic_body, slack_body
from meshwatch.notify.events import Notification
from meshwatch.settings import WebhookTarget


class Outbox(Protocol):
    """The part of the store's outbox that queues (the store's `Outbox` satisfies it)."""

    def enqueue(self, key: str, target: str, payload: Mapping[str, Any], now: datetime) -> bool:
        """Queue unless a row with `key` exists; True when it was new."""
        ...


def outbox_items(
    webhooks: Sequence[WebhookTarget], events: Sequence[Notification]
) -> list[tuple[str, str, dict[str, Any]]]:
    """(key, target, body) of each event for each target; the key makes delivery idempotent."""
    return [
        (
            f"{event.key}@{target.name}",
            target.name,
            slack_body(event) if target.format == "slack" else generic_body(event),
        )
        for event in events
        for target in webhooks
    ]


def queue_notifications(
    outbox: Outbox,
    webhooks: Sequence[WebhookTarget],
    events: Sequence[Notification],
    now: datetime,
) -> int:
    """Write each event to the outbox once per target; how many rows were new."""
    return sum(
        outbox.enqueue(key, target, body, now)
        for key, target, body in outbox_items(webhooks, events)
    )
