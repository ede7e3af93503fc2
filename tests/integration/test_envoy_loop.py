"""The planner and the Envoy actuator closing the loop on a real Envoy with real traffic.

No Prometheus here (that is the end-to-end test's job): each backend is measured from
Envoy's own per-cluster counters (`upstream_rq_completed`, `upstream_rq_5xx`, final
responses only), sampled every evaluation, over two short windows of 1 s and 3 s.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from meshwatch.model import Backend, Counts, RatioSLI, RemediationPolicy, Selector
from meshwatch.remediate.base import ApplyState
from meshwatch.remediate.envoy import EnvoyActuator
from meshwatch.remediate.policy import DecisionKind, LoopState, Measurement, plan
from meshwatch.remediate.run import execute, planned_action
from tests.support.envoy import TARGET, EnvoyHarness, run_envoy
from tests.support.loop_timing import longest_cycle, shift_within
from tests.support.stats import assert_share

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SLI = RatioSLI(total=Selector("envoy_cluster_upstream_rq_completed"))
POLICY = RemediationPolicy(
    actuator="envoy",
    target=TARGET,
    backends=(Backend("v1", SLI, 50), Backend("v2", SLI, 50)),
    short_windows=(timedelta(seconds=1), timedelta(seconds=3)),
    factor=14.4,
    step=50,
    min_healthy_weight=10,
    min_requests=5,
    cooldown=timedelta(seconds=1),
    recovery_window=timedelta(seconds=2),
    dry_run=False,
)
BUDGET = 0.01  # a 99 % objective
EVERY = 0.25  # seconds between evaluations


@dataclass
class Traffic:
    """Sequential requests through the listener in a thread; (time, backend, status)."""

    port: int
    seen: list[tuple[float, str, int]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        while not self.stop.is_set():
            conn.request("GET", "/")
            response = conn.getresponse()
            response.read()
            self.seen.append(
                (time.monotonic(), response.getheader("x-backend", "-"), response.status)
            )
            time.sleep(0.002)
        conn.close()

    def errors_between(self, start: float, end: float) -> tuple[int, int]:
        window = [s for t, _, s in self.seen if start <= t < end]
        return sum(1 for s in window if s >= 500), len(window)


class ClusterCounters:
    """Envoy's per-cluster counters sampled over time, differenced into windows."""

    def __init__(self, envoy: EnvoyHarness) -> None:
        self.envoy = envoy
        self.samples: deque[tuple[float, dict[str, tuple[int, int]]]] = deque(maxlen=400)

    def sample(self) -> None:
        stats = self.envoy.stats(r"^cluster\.v[12]\.upstream_rq_(completed|5xx)$")
        now = time.monotonic()
        self.samples.append(
            (
                now,
                {
                    c: (
                        stats.get(f"cluster.{c}.upstream_rq_5xx", 0),
                        stats.get(f"cluster.{c}.upstream_rq_completed", 0),
                    )
                    for c in ("v1", "v2")
                },
            )
        )

    def counts(self, cluster: str, window: float) -> Counts | None:
        now, latest = self.samples[-1]
        older = [s for t, s in self.samples if t <= now - window]
        if not older:
            return None  # not enough history yet: unknown
        errors, total = (
            latest[cluster][0] - older[-1][cluster][0],
            latest[cluster][1] - older[-1][cluster][1],
        )
        return Counts(errors, total)

    def measurement(self, cluster: str) -> Measurement:
        short, long = (self.counts(cluster, w.total_seconds()) for w in POLICY.short_windows)
        if short is None or long is None:
            return Measurement.unknown("not enough history")
        return Measurement(short, long)


@dataclass
class Loop:
    envoy: EnvoyHarness
    actuator: EnvoyActuator
    counters: ClusterCounters
    state: LoopState = field(default_factory=LoopState)
    log: list[tuple[float, DecisionKind, dict[str, int], str]] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)  # monotonic: each evaluation's start

    def evaluate(self) -> None:
        self.starts.append(time.monotonic())
        self.counters.sample()
        decision = plan(
            POLICY,
            error_budget=BUDGET,
            weights=self.actuator.current(TARGET).weights,
            measurements={c: self.counters.measurement(c) for c in ("v1", "v2")},
            state=self.state,
            now=datetime.now(UTC),
        )
        self.state = decision.state
        action = planned_action("demo-availability", POLICY, decision)
        if action is not None:
            result = execute(action, self.actuator)
            assert result.state is ApplyState.APPLIED, result.detail
        self.log.append((time.monotonic(), decision.kind, dict(decision.weights), decision.reason))

    def run_until(self, done: object, timeout: float) -> float:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            self.evaluate()
            if done():  # type: ignore[operator]
                return time.monotonic() - start
            time.sleep(EVERY)
        raise AssertionError(f"not done after {timeout} s: {self.log[-5:]}")


@pytest.fixture(scope="module")
def envoy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EnvoyHarness]:
    with run_envoy(tmp_path_factory.mktemp("envoy-loop")) as running:
        yield running


def test_failing_version_loses_its_traffic_and_gets_it_back(envoy: EnvoyHarness) -> None:
    envoy.reset()
    traffic = Traffic(envoy.listener_port)
    thread = threading.Thread(target=traffic.run, daemon=True)
    thread.start()
    try:
        with envoy.admin() as admin:
            loop = Loop(envoy, EnvoyActuator(envoy.rds_path, admin), ClusterCounters(envoy))
            # a healthy soak: no action at all
            soak_end = time.monotonic() + 4
            while time.monotonic() < soak_end:
                loop.evaluate()
                time.sleep(EVERY)
            assert {kind for _, kind, _, _ in loop.log} <= {DecisionKind.NONE, DecisionKind.FROZEN}
            assert loop.actuator.current(TARGET).weights == {"v1": 50, "v2": 50}

            broke = time.monotonic()
            envoy.upstreams["v2"].failing = True
            to_shift = loop.run_until(lambda: loop.actuator.current(TARGET).weights["v2"] == 10, 10)
            shifted = time.monotonic()
            time.sleep(2)
            errors, total = traffic.errors_between(shifted + 0.2, time.monotonic())
            floor = POLICY.min_healthy_weight / 100  # the share of traffic v2 keeps
            assert_share(errors, total, floor, "5xx on the floor")

            envoy.upstreams["v2"].failing = False
            repaired = time.monotonic()
            to_restore = loop.run_until(
                lambda: loop.actuator.current(TARGET).weights["v2"] == 50, 15
            )
    finally:
        traffic.stop.set()
        thread.join(timeout=5)

    before_errors, before_total = traffic.errors_between(broke, shifted)
    actions = [kind.value for _, kind, _, _ in loop.log if kind is not DecisionKind.NONE]
    detecting = [t for t in loop.starts if t <= shifted]  # not the pause on the floor
    outcomes = [(t, b, status >= 500) for t, b, status in traffic.seen]
    bound = shift_within(outcomes, "v2", POLICY, BUDGET, broke, detecting)
    print(
        f"envoy loop: breach->shift {to_shift:.2f} s (bound {bound:.2f} s, evaluation every "
        f"{EVERY} s, the longest cycle {longest_cycle(detecting):.3f} s), "
        f"errors while detecting {before_errors}/{before_total}, "
        f"repair->restore {to_restore:.2f} s, decisions {actions}"
    )
    assert to_shift <= bound
    # restore waits for the 3 s window to clear and then the 2 s recovery window
    assert to_restore >= POLICY.recovery_window.total_seconds()
    assert time.monotonic() - repaired < 20
