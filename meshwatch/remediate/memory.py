"""The planner's memory of one route between evaluations, and its stored form.

`plan()` returns the next `LoopState` in its decision; the loop saves it in the store
whenever it changes (`to_dict`) and reads it back after a restart (`from_dict`), so a
restart in the middle of an incident neither forgets the baseline nor restores early.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Health(enum.StrEnum):
    """What the loop remembers about one backend (with hysteresis)."""

    HEALTHY = "healthy"
    BREACHING = "breaching"


@dataclass(frozen=True, slots=True)
class BackendMemory:
    """The loop's memory of one backend: its health and the current run of clear readings."""

    health: Health = Health.HEALTHY
    since: datetime | None = None  # when `health` last changed
    clear_since: datetime | None = None  # start of an unbroken run of clear readings


@dataclass(frozen=True, slots=True)
class LoopState:
    """Everything the planner needs from the previous evaluation of one route.

    The caller persists it (see `to_dict`/`from_dict`) and passes it back. `hold` is the
    manual hold set through the API; `baseline` holds the weights restore aims at.
    """

    backends: Mapping[str, BackendMemory] = field(default_factory=dict)
    baseline: Mapping[str, int] = field(default_factory=dict)
    last_action_at: datetime | None = None
    retries_tightened: bool = False
    hold: bool = False
    all_burning_since: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (timestamps as ISO 8601) for the store."""
        return {
            "backends": {
                name: {
                    "health": mem.health.value,
                    "since": _iso(mem.since),
                    "clear_since": _iso(mem.clear_since),
                }
                for name, mem in sorted(self.backends.items())
            },
            "baseline": dict(sorted(self.baseline.items())),
            "last_action_at": _iso(self.last_action_at),
            "retries_tightened": self.retries_tightened,
            "hold": self.hold,
            "all_burning_since": _iso(self.all_burning_since),
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> LoopState:
        backends = {
            str(name): BackendMemory(
                Health(mem["health"]), _parse_iso(mem["since"]), _parse_iso(mem["clear_since"])
            )
            for name, mem in data.get("backends", {}).items()
        }
        return LoopState(
            backends=backends,
            baseline={str(k): int(v) for k, v in data.get("baseline", {}).items()},
            last_action_at=_parse_iso(data.get("last_action_at")),
            retries_tightened=bool(data.get("retries_tightened", False)),
            hold=bool(data.get("hold", False)),
            all_burning_since=_parse_iso(data.get("all_burning_since")),
        )


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _parse_iso(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
