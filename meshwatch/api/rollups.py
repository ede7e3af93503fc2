"""Per-service and mesh-wide roll-ups for the API and the status page.

States, budgets and error ratios come from `meshwatch.engine.evaluate.aggregate`; the
throughput does not: it is summed over distinct request streams (`meshwatch.slo.streams`),
so the availability and latency SLOs of one service count its requests once, and SLOs
whose traffic cannot be told apart are never added (the figure is then a lower bound).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from meshwatch.engine.evaluate import aggregate
from meshwatch.model import SLO, SLOStatus, State
from meshwatch.slo.streams import distinct_total, stream_key


@dataclass(frozen=True, slots=True)
class Rollup:
    """A roll-up of several SLOs; `throughput` in requests/s over `streams` distinct streams,
    a lower bound when not `throughput_exact`."""

    name: str
    state: State
    slos: int
    by_state: Mapping[str, int]
    budget_remaining_min: float | None
    throughput: float | None
    throughput_exact: bool
    streams: int
    error_ratio: float | None


def rollup(name: str, slos: Sequence[SLO], statuses: Mapping[str, SLOStatus]) -> Rollup:
    """Roll up `slos` with their latest `statuses` (by slo_id; SLOs without one are left out)."""
    known = [(slo, statuses[slo.id]) for slo in slos if slo.id in statuses]
    base = aggregate(name, [status for _, status in known])
    traffic = distinct_total((stream_key(slo), status.throughput) for slo, status in known)
    return Rollup(
        name=name,
        state=base.state,
        slos=base.slos,
        by_state=base.by_state,
        budget_remaining_min=base.budget_remaining_min,
        throughput=traffic.value,
        throughput_exact=traffic.exact,
        streams=traffic.streams,
        error_ratio=base.error_ratio,
    )


def rollups(slos: Sequence[SLO], statuses: Mapping[str, SLOStatus]) -> tuple[Rollup, list[Rollup]]:
    """(mesh, per service sorted by name)."""
    names = sorted({slo.service for slo in slos})
    services = [rollup(n, [s for s in slos if s.service == n], statuses) for n in names]
    return rollup("mesh", slos, statuses), services
