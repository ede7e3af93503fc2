"""What meshwatch knows about an SLO at one moment: its state, counts and measured status.

Re-exported from `meshwatch.model`; kept apart so the model of the specs stays small. Nothing
here does I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType


class State(enum.StrEnum):
    OK = "ok"
    WARNING = "warning"  # budget burning faster than sustainable, or mostly spent
    BREACHED = "breached"  # budget exhausted
    UNKNOWN = "unknown"  # no series, no traffic, stale data or a failing source


STATE_SEVERITY: Mapping[State, int] = MappingProxyType(
    {State.OK: 0, State.UNKNOWN: 1, State.WARNING: 2, State.BREACHED: 3}
)
"""How bad a state is, to pick the worst: an aggregate's state, a downsampled bucket's."""


@dataclass(frozen=True, slots=True)
class Counts:
    """Events of one SLI over one window: `errors` bad events out of `total` requests.

    Counts (not ratios) so that longer windows and aggregates are request-weighted sums.
    """

    errors: float
    total: float


@dataclass(frozen=True, slots=True)
class SLOStatus:
    """What meshwatch knows about one SLO at `at`; `None` means unknown (never 100 %).

    Maps are keyed by window name (`5m`, `1h`, `30d`, ...) or percentile (`p50`, `p90`,
    `p99`). Ratios are fractions; `budget_remaining` is 1 at the start of the period, 0 when
    spent and negative when overspent. Latency is in the histogram's own unit.
    """

    slo_id: str
    service: str
    slo: str
    at: datetime
    state: State
    reason: str
    objective: float  # ratio, 0.999
    period_sli: float | None = None
    budget_remaining: float | None = None
    budget_remaining_seconds: float | None = None
    budget_remaining_requests: float | None = None
    throughput: float | None = None  # requests/s over the shortest window
    sli: Mapping[str, float | None] = field(default_factory=dict)
    burn_rate: Mapping[str, float | None] = field(default_factory=dict)
    latency: Mapping[str, float | None] = field(default_factory=dict)
    requests: Mapping[str, float | None] = field(default_factory=dict)
    # Share of the SLO period (ending at `at`) that actually has samples, 0..1; None when the
    # source could not measure it. A period figure resting on little data must say so.
    coverage: float | None = None
