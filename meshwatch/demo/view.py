"""The demo's live terminal view (rich): SLOs, budgets, burn rates, route weights, actions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from meshwatch.model import SLOStatus, State

STATE_STYLE = {
    State.OK: "green",
    State.WARNING: "yellow",
    State.BREACHED: "bold red",
    State.UNKNOWN: "dim",
}


@dataclass(frozen=True, slots=True)
class ActionLine:
    at: str
    target: str
    kind: str
    state: str
    weights: str
    reason: str


@dataclass(frozen=True, slots=True)
class Frame:
    """Everything one refresh of the view shows."""

    elapsed: float
    phase: str
    url: str
    statuses: Sequence[SLOStatus]
    weights: Mapping[str, Mapping[str, int]]  # route -> cluster -> weight
    client_errors: Mapping[str, float | None]  # path -> error ratio seen by clients
    actions: Sequence[ActionLine]


def _pct(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def _num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def slo_table(statuses: Sequence[SLOStatus]) -> Table:
    table = Table(title="SLOs", expand=True)
    for header in (
        "SLO",
        "state",
        "SLI 5m",
        "budget left",
        "burn 5m",
        "burn 1h",
        "req/s",
        "reason",
    ):
        table.add_column(header, overflow="fold")
    for status in statuses:
        table.add_row(
            status.slo_id,
            Text(status.state.value, style=STATE_STYLE[status.state]),
            _pct(status.sli.get("5m"), 3),
            _pct(status.budget_remaining, 1),
            _num(status.burn_rate.get("5m")),
            _num(status.burn_rate.get("1h")),
            _num(status.throughput),
            status.reason[:60],
        )
    return table


def weights_table(weights: Mapping[str, Mapping[str, int]]) -> Table:
    table = Table(title="Route weights (live in Envoy)", expand=True)
    table.add_column("route")
    table.add_column("weights")
    for route, split in sorted(weights.items()):
        total = sum(split.values()) or 1
        table.add_row(
            route,
            "  ".join(f"{name} {weight * 100 // total}%" for name, weight in split.items()),
        )
    return table


def actions_table(actions: Sequence[ActionLine]) -> Table:
    table = Table(title="Remediation actions (audit log)", expand=True)
    for header in ("at", "target", "kind", "state", "weights", "reason"):
        table.add_column(header, overflow="fold")
    for action in actions:
        table.add_row(
            action.at, action.target, action.kind, action.state, action.weights, action.reason[:70]
        )
    return table


def render(frame: Frame) -> Group:
    errors = "  ".join(
        f"{path} {_pct(ratio)}" for path, ratio in sorted(frame.client_errors.items())
    )
    header = Text.assemble(
        ("meshwatch demo ", "bold"),
        (f"t={frame.elapsed:5.0f}s  ", ""),
        (frame.phase, "bold magenta"),
        f"\nstatus page: {frame.url}   client errors: {errors}",
    )
    return Group(
        Panel(header),
        slo_table(frame.statuses),
        weights_table(frame.weights),
        actions_table(frame.actions),
    )
