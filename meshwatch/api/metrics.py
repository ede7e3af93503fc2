"""meshwatch's own `/metrics`: a custom prometheus-client Collector computed at scrape time.

No global registry and no gauges set from the evaluation loop: the Collector is handed a
callable that returns the latest `SLOStatus` of every SLO (the store's "latest statuses"
query, or the engine's in-memory snapshot) and, optionally, one that returns meshwatch's own
health. Every scrape reads them afresh, so `/metrics` can never disagree with the API.

An unknown value (`None` in `SLOStatus`) is left out rather than exported as 0 or NaN: a
missing sample is what PromQL treats as "no data", and `meshwatch_slo_status{state="unknown"}`
says why the SLO has none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from meshwatch import conventions as c
from meshwatch.model import SLOStatus, State

StatusProvider = Callable[[], Iterable[SLOStatus]]

_SLO_LABELS = (c.LABEL_SERVICE, c.LABEL_SLO)


class EngineHealth(Protocol):
    """What the evaluation loop knows about itself; any object with these attributes will do."""

    @property
    def last_success(self) -> datetime | None: ...

    @property
    def last_duration_seconds(self) -> float | None: ...

    @property
    def collector_errors(self) -> Mapping[str, float]: ...  # by collector name, cumulative

    @property
    def collector_up(self) -> Mapping[str, bool]: ...  # by collector name, the last cycle

    @property
    def scrape_failures(self) -> Mapping[str, float]: ...  # by scrape target, cumulative

    @property
    def remediation_actions(self) -> Mapping[tuple[str, str], float]: ...  # (actuator, outcome)

    @property
    def route_weights(self) -> Mapping[tuple[str, str], int]: ...  # (target, backend)


@dataclass(frozen=True, slots=True)
class HealthSnapshot:
    """A plain `EngineHealth` value, for callers that keep counters elsewhere."""

    last_success: datetime | None = None
    last_duration_seconds: float | None = None
    collector_errors: Mapping[str, float] = field(default_factory=dict)
    collector_up: Mapping[str, bool] = field(default_factory=dict)
    scrape_failures: Mapping[str, float] = field(default_factory=dict)
    remediation_actions: Mapping[tuple[str, str], float] = field(default_factory=dict)
    route_weights: Mapping[tuple[str, str], int] = field(default_factory=dict)


HealthProvider = Callable[[], EngineHealth]


class SLOStatusCollector(Collector):
    """Exports the latest statuses (and meshwatch's health) each time it is scraped."""

    def __init__(self, statuses: StatusProvider, health: HealthProvider | None = None) -> None:
        self._statuses = statuses
        self._health = health

    def describe(self) -> Iterable[Metric]:
        """The families without samples, so a registry can reject duplicate names early."""
        return [*_slo_families().values(), *_health_families()]

    def collect(self) -> Iterable[Metric]:
        families = _slo_families()
        for status in self._statuses():
            _add_status(families, status)
        yield from families.values()
        if self._health is not None:
            yield from _health_metrics(self._health())


class LeadershipCollector(Collector):
    """`meshwatch_leader`: 1 on the replica that runs the acting jobs, 0 on followers.

    No sample until leader election has answered once (`leader()` returns None).
    """

    def __init__(self, leader: Callable[[], bool | None]) -> None:
        self._leader = leader

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterable[Metric]:
        family = self._family()
        leading = self._leader()
        if leading is not None:
            family.add_metric([], float(leading))
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            c.METRIC_LEADER, "1 when this replica is the leader that evaluates and acts."
        )


def create_registry(
    statuses: StatusProvider, health: HealthProvider | None = None
) -> CollectorRegistry:
    """A fresh registry holding only meshwatch's Collector (one per app, never the global one)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SLOStatusCollector(statuses, health))
    return registry


def _slo_families() -> dict[str, GaugeMetricFamily]:
    window = (*_SLO_LABELS, c.EXPORT_LABEL_WINDOW)
    gauges = (
        (c.METRIC_OBJECTIVE, "Objective as a ratio (0.999 for 99.9 %).", _SLO_LABELS),
        (c.METRIC_SLI, "SLI (good/total) over the window; the period window too.", window),
        (c.METRIC_REQUESTS, "Requests counted in the window.", window),
        (c.METRIC_BURN_RATE, "Error ratio over the window divided by the error budget.", window),
        (
            c.METRIC_BUDGET_REMAINING,
            "Error budget left in the SLO period: 1 at start, 0 spent, negative overspent.",
            _SLO_LABELS,
        ),
        (
            c.METRIC_BUDGET_REMAINING_SECONDS,
            "Error budget left, as seconds of total outage.",
            _SLO_LABELS,
        ),
        (c.METRIC_THROUGHPUT, "Requests per second over the shortest window.", _SLO_LABELS),
        (
            c.METRIC_LATENCY,
            "Latency percentile, in the histogram's own unit.",
            (*_SLO_LABELS, c.EXPORT_LABEL_PERCENTILE),
        ),
        (
            c.METRIC_STATUS,
            "1 for the SLO's current state, 0 for the others.",
            (*_SLO_LABELS, c.EXPORT_LABEL_STATE),
        ),
        (c.METRIC_STATUS_TIMESTAMP, "When the status was evaluated (Unix seconds).", _SLO_LABELS),
    )
    return {name: GaugeMetricFamily(name, doc, labels=list(lab)) for name, doc, lab in gauges}


def _add_status(families: Mapping[str, GaugeMetricFamily], status: SLOStatus) -> None:
    ids = [status.service, status.slo]
    families[c.METRIC_OBJECTIVE].add_metric(ids, status.objective)
    families[c.METRIC_STATUS_TIMESTAMP].add_metric(ids, status.at.timestamp())
    for state in State:
        families[c.METRIC_STATUS].add_metric([*ids, state.value], float(state is status.state))
    _add_optional(families[c.METRIC_BUDGET_REMAINING], ids, status.budget_remaining)
    _add_optional(families[c.METRIC_BUDGET_REMAINING_SECONDS], ids, status.budget_remaining_seconds)
    _add_optional(families[c.METRIC_THROUGHPUT], ids, status.throughput)
    for name, values in (
        (c.METRIC_SLI, status.sli),
        (c.METRIC_REQUESTS, status.requests),
        (c.METRIC_BURN_RATE, status.burn_rate),
        (c.METRIC_LATENCY, status.latency),
    ):
        for key, value in sorted(values.items()):
            _add_optional(families[name], [*ids, key], value)


def _add_optional(family: GaugeMetricFamily, labels: list[str], value: float | None) -> None:
    if value is not None:
        family.add_metric(labels, value)


def _health_families() -> Iterator[Metric]:
    yield from _health_metrics(HealthSnapshot())


def _health_metrics(health: EngineHealth) -> Iterator[Metric]:
    last = GaugeMetricFamily(
        c.METRIC_LAST_EVALUATION, "End of the last evaluation cycle that succeeded (Unix seconds)."
    )
    if health.last_success is not None:
        last.add_metric([], health.last_success.timestamp())
    yield last
    duration = GaugeMetricFamily(
        c.METRIC_EVALUATION_DURATION, "Wall-clock seconds of the last evaluation cycle."
    )
    if health.last_duration_seconds is not None:
        duration.add_metric([], health.last_duration_seconds)
    yield duration
    yield _counter(
        c.METRIC_COLLECTOR_ERRORS,
        "Collector failures (source down, timeout, bad answer), by collector.",
        [c.EXPORT_LABEL_COLLECTOR],
        {(name,): value for name, value in health.collector_errors.items()},
    )
    up = GaugeMetricFamily(
        c.METRIC_COLLECTOR_UP,
        "1 when the collector read its source in the last evaluation cycle, 0 when it could not.",
        labels=[c.EXPORT_LABEL_COLLECTOR],
    )
    for name, ok in sorted(health.collector_up.items()):
        up.add_metric([name], 1.0 if ok else 0.0)
    yield up
    yield _counter(
        c.METRIC_SCRAPE_FAILURES,
        "Failed scrapes of a /metrics target by the embedded collector, by target.",
        [c.EXPORT_LABEL_TARGET],
        {(target,): value for target, value in health.scrape_failures.items()},
    )
    yield _counter(
        c.METRIC_ACTIONS,
        "Remediation actions recorded, by actuator and outcome.",
        [c.EXPORT_LABEL_ACTUATOR, c.EXPORT_LABEL_OUTCOME],
        {tuple(key): value for key, value in health.remediation_actions.items()},
    )
    weights = GaugeMetricFamily(
        c.METRIC_ROUTE_WEIGHT,
        "Weight of each backend of a remediated route, as the loop last read or set it.",
        labels=[c.LABEL_ROUTE, c.LABEL_ROUTE_BACKEND],
    )
    for (target, backend), weight in sorted(health.route_weights.items()):
        weights.add_metric([target, backend], float(weight))
    yield weights


def _counter(
    name: str, doc: str, labels: list[str], values: Mapping[tuple[str, ...], float]
) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric(list(key), value)
    return family
