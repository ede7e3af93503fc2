"""What the running service knows between cycles: SLOs, the last evaluation, its own health.

One instance per process, created by `meshwatch serve` and shared by the jobs (which write
it) and the API (which reads it). It satisfies `meshwatch.api.metrics.EngineHealth`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from meshwatch.engine.evaluate import Evaluation
from meshwatch.model import SLO


@dataclass
class Runtime:
    slos: tuple[SLO, ...] = ()
    last: Evaluation | None = None
    last_success: datetime | None = None
    last_duration_seconds: float | None = None
    collector_errors: dict[str, float] = field(default_factory=dict)
    collector_up: dict[str, bool] = field(default_factory=dict)  # read its source last cycle
    source_problems: dict[str, str] = field(default_factory=dict)  # collector -> short reason
    scrape_failures: dict[str, float] = field(default_factory=dict)
    remediation_actions: dict[tuple[str, str], float] = field(default_factory=dict)
    route_weights: dict[tuple[str, str], int] = field(default_factory=dict)  # (target, backend)
    leader: bool | None = None  # None until leader election has answered once
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @cached_property
    def slo_index(self) -> Mapping[str, SLO]:
        """SLOs by id, built once: the SLO set is fixed for the life of the process."""
        return {slo.id: slo for slo in self.slos}

    def record_evaluation(self, evaluation: Evaluation, duration_seconds: float) -> None:
        with self._lock:
            self.last = evaluation
            self.last_success = evaluation.at
            self.last_duration_seconds = duration_seconds

    def set_source_problem(self, collector: str, problem: str | None) -> None:
        """Whether `collector` read its source this cycle; a failure is counted with its reason."""
        with self._lock:
            self.collector_up[collector] = problem is None
            if problem is None:
                self.source_problems.pop(collector, None)
                return
            self.source_problems[collector] = problem
            self.collector_errors[collector] = self.collector_errors.get(collector, 0.0) + 1

    def blind(self) -> list[str]:
        """The reasons of every collector that could not read its source last cycle."""
        with self._lock:
            return [problem for _, problem in sorted(self.source_problems.items())]

    def set_scrape_failures(self, failures: Mapping[str, float]) -> None:
        with self._lock:
            self.scrape_failures = dict(failures)

    def set_leader(self, leading: bool) -> None:
        with self._lock:
            self.leader = leading

    def count_action(self, actuator: str, outcome: str) -> None:
        with self._lock:
            key = (actuator, outcome)
            self.remediation_actions[key] = self.remediation_actions.get(key, 0.0) + 1

    def set_route_weights(self, target: str, weights: Mapping[str, int]) -> None:
        """The weights a route's data plane has now, as the remediation loop last saw them."""
        with self._lock:
            for backend, weight in weights.items():
                self.route_weights[(target, backend)] = int(weight)
