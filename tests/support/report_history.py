"""A fixed synthetic status history for report tests: three SLOs, one breached, one alert.

Hourly statuses (the `1h` window carries the hour's counts, `5m` the last five minutes) over
the 7 days before `END`, as the evaluation job would store them after pruning to 1 h.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from meshwatch.model import SLO, Matcher, RatioSLI, Selector, SLOStatus, State, Window
from meshwatch.render.reports_build import ActionInput, AlertInput
from meshwatch.store import ActionPlan, ActionState, AlertEvent, AlertStatus, Store

END = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
START = END - timedelta(days=7)


def slo(service: str, name: str, objective: float) -> SLO:
    return SLO(
        service=service,
        name=name,
        objective=objective,
        window=Window.rolling(timedelta(days=30)),
        sli=RatioSLI(  # one request stream per service: its two SLOs measure the same requests
            total=Selector("http_requests_total", (Matcher("service", "=", service),)),
            bad=Selector("http_errors_total", (Matcher("service", "=", service),)),
        ),
        description=f"{name} of {service}",
    )


SLOS = (
    slo("checkout", "availability", 99.9),
    slo("checkout", "latency", 99.0),
    slo("frontend", "availability", 99.5),
)

# slo id -> (requests per hour, base error ratio, incident (start hour, hours, error ratio))
PROFILES: dict[str, tuple[float, float, tuple[int, int, float] | None]] = {
    "checkout-availability": (36_000.0, 0.0004, (100, 3, 0.05)),  # burns > its whole budget
    "checkout-latency": (36_000.0, 0.004, None),
    "frontend-availability": (7_200.0, 0.001, (20, 1, 0.02)),
}


def error_ratio(slo_id: str, hour: int) -> float:
    _, base, incident = PROFILES[slo_id]
    if incident is not None and incident[0] <= hour < incident[0] + incident[1]:
        return incident[2]
    return base


def statuses(
    target: SLO, start: datetime = START, end: datetime = END, step: timedelta = timedelta(hours=1)
) -> Iterator[SLOStatus]:
    """One status per `step`, at the end of each step (the first one after `start`)."""
    per_hour = PROFILES[target.id][0]
    hours = int((end - start) / step)
    for i in range(1, hours + 1):
        at = start + step * i
        ratio = error_ratio(target.id, i - 1)
        requests = per_hour * (step / timedelta(hours=1))
        remaining = 0.5 - i / hours if target.id == "checkout-availability" else 0.8
        state = State.BREACHED if remaining <= 0 else State.OK
        yield SLOStatus(
            slo_id=target.id,
            service=target.service,
            slo=target.name,
            at=at,
            state=state,
            reason="" if state is State.OK else "error budget exhausted",
            objective=target.target,
            period_sli=1 - (1 - remaining) * target.error_budget,
            budget_remaining=remaining,
            budget_remaining_seconds=remaining * target.error_budget * 30 * 86_400,
            budget_remaining_requests=remaining * target.error_budget * per_hour * 24 * 30,
            throughput=per_hour / 3600,
            sli={"5m": 1 - ratio, "1h": 1 - ratio},
            burn_rate={"5m": ratio / target.error_budget, "1h": ratio / target.error_budget},
            requests={"5m": requests / 12, "1h": requests},
            latency={"p50": 18.0, "p90": 45.0, "p99": 120.0},
        )


def alerts() -> dict[str, list[AlertInput]]:
    started = START + timedelta(hours=100, minutes=4)
    return {
        "checkout-availability": [
            AlertInput(
                "MeshwatchErrorBudgetBurn",
                "page",
                "resolved",
                started,
                started + timedelta(hours=3),
            )
        ],
        "frontend-availability": [],
        "checkout-latency": [],
    }


def actions() -> dict[str, list[ActionInput]]:
    at = START + timedelta(hours=100, minutes=6)
    return {
        "checkout-availability": [
            ActionInput("shift", "checkout-route", "applied", at, "v2 burns 52x, v1 healthy", False)
        ]
    }


def seed(store: Store, end: datetime = END, days: int = 7) -> None:
    """Write the fixed history (ending at `end`), its alert and its action into `store`."""
    start = end - timedelta(days=days)
    shift = end - END
    for target in SLOS:
        store.history.save_statuses(list(statuses(target, start, end)))
    for slo_id, items in alerts().items():
        store.alerts.record_alerts(
            [
                AlertEvent(
                    fingerprint=f"fp-{slo_id}",
                    starts_at=a.starts_at + shift,
                    ends_at=a.ends_at + shift if a.ends_at else None,
                    status=AlertStatus(a.status),
                    labels={
                        "alertname": a.name,
                        "meshwatch_service": slo_id.split("-")[0],
                        "meshwatch_slo": slo_id.split("-", 1)[1],
                        "meshwatch_severity": a.severity,
                    },
                )
                for a in items
            ],
            end,
        )
    for slo_id, acts in actions().items():
        for act in acts:
            action_id = store.actions.create_action(
                ActionPlan(
                    slo_id=slo_id,
                    target=act.target,
                    actuator="envoy",
                    kind=act.kind,
                    reason=act.reason,
                    dry_run=act.dry_run,
                    weights_before={"v1": 50, "v2": 50},
                    weights_after={"v1": 100, "v2": 0},
                ),
                act.created_at + shift,
            )
            store.actions.complete_action(
                action_id, ActionState(act.state), "config_dump version 7", act.created_at + shift
            )
