"""Realistic SLOStatus values for the store tests."""

from __future__ import annotations

import math
from datetime import datetime

from meshwatch.model import SLOStatus, State

WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")


def status(
    slo_id: str,
    at: datetime,
    state: State = State.OK,
    *,
    budget: float | None = 0.75,
    seed: int = 0,
) -> SLOStatus:
    service, _, name = slo_id.partition("-")
    sli = {w: 0.999 - 1e-5 * ((i + seed) % 7) for i, w in enumerate(WINDOWS)}
    return SLOStatus(
        slo_id=slo_id,
        service=service,
        slo=name,
        at=at,
        state=state,
        reason="" if state is State.OK else f"{state.value} at seed {seed}",
        objective=0.999,
        period_sli=0.99925,
        budget_remaining=budget,
        budget_remaining_seconds=None if budget is None else budget * 2_592,
        budget_remaining_requests=1234.5,
        throughput=42.125 + seed,
        sli=sli,
        burn_rate={w: (1 - v) / 0.001 for w, v in sli.items()},
        latency={"p50": 12.5, "p90": 80.0, "p99": math.inf if seed % 5 == 4 else 240.25},
        requests={w: float(1000 * (i + 1) + seed) for i, w in enumerate(WINDOWS)},
    )
