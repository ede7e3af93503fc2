"""The remediation loop on gRPC: a version failing with HTTP 200 + `grpc-status` 14 loses
its traffic, measured through the `protocol: grpc` preset's per-backend SLIs.

A real Envoy (grpc_stats filter, file-based RDS) splits a real grpcio service's calls 50/50
between two versions. Every evaluation the embedded scraper reads Envoy's `/stats/prometheus`
and each backend is measured by the SLI the spec derives for it (Envoy's status counters of
that cluster); the pure planner decides and the Envoy actuator rewrites the RDS file. The
HTTP preset would never act here: every failed call is an HTTP 200.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from meshwatch.collectors.scrape import Scraper, ScrapeTarget
from meshwatch.collectors.scrape_store import ScrapeStore
from meshwatch.model import SLI, Counts, RemediationPolicy
from meshwatch.remediate.base import ApplyState
from meshwatch.remediate.envoy import EnvoyActuator
from meshwatch.remediate.policy import DecisionKind, LoopState, Measurement, plan
from meshwatch.remediate.run import execute, planned_action
from meshwatch.spec import load_text
from tests.support.grpc_envoy import TARGET, VERSIONS, GrpcEnvoy, greeter_spec, run_grpc_envoy
from tests.support.loop_timing import longest_cycle, shift_within
from tests.support.stats import assert_share

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EVERY = 0.25  # seconds between evaluations (and scrapes)
BUDGET = 0.01  # a 99 % objective
SPEC = greeter_spec(
    """\
      short_windows: [1s, 3s]
      step: 50
      min_healthy_weight: 10
      min_requests: 5
      cooldown: 1s
      recovery_window: 2s
      dry_run: false
"""
)


def _policy() -> RemediationPolicy:
    (slo,) = load_text(SPEC, "greeter.yaml").slos
    assert slo.remediation is not None
    return slo.remediation


@dataclasses.dataclass
class Calls:
    """Sequential calls through Envoy in a thread: (time, backend, status name)."""

    mesh: GrpcEnvoy
    seen: list[tuple[float, str, str]] = dataclasses.field(default_factory=list)
    stop: threading.Event = dataclasses.field(default_factory=threading.Event)

    def run(self) -> None:
        with self.mesh.client() as client:
            while not self.stop.is_set():
                backend, status = client.say()
                self.seen.append((time.monotonic(), backend, status))
                time.sleep(0.002)

    def failed_share(self, start: float, end: float) -> tuple[int, int]:
        window = [s for t, _, s in self.seen if start <= t < end]
        return sum(1 for s in window if s != "OK"), len(window)


@dataclasses.dataclass
class Loop:
    policy: RemediationPolicy
    store: ScrapeStore
    scraper: Scraper
    actuator: EnvoyActuator
    state: LoopState = dataclasses.field(default_factory=LoopState)
    log: list[tuple[DecisionKind, dict[str, int], str]] = dataclasses.field(default_factory=list)
    starts: list[float] = dataclasses.field(default_factory=list)  # each evaluation's start

    def _measure(self, sli: SLI, now: datetime) -> Measurement:
        got = self.store.counts(sli, self.policy.short_windows, now)
        short, long = (got[w] for w in self.policy.short_windows)
        if not isinstance(short, Counts) or not isinstance(long, Counts):
            return Measurement.unknown(f"{short} / {long}")
        return Measurement(short, long)

    def evaluate(self) -> None:
        self.starts.append(time.monotonic())
        now = datetime.now(UTC)
        self.scraper.scrape_once(now)
        decision = plan(
            self.policy,
            error_budget=BUDGET,
            weights=self.actuator.current(TARGET).weights,
            measurements={b.name: self._measure(b.sli, now) for b in self.policy.backends},
            state=self.state,
            now=now,
        )
        self.state = decision.state
        action = planned_action("greeter-grpc", self.policy, decision)
        if action is not None:
            result = execute(action, self.actuator)
            assert result.state is ApplyState.APPLIED, result.detail
        self.log.append((decision.kind, dict(decision.weights), decision.reason))

    def run_until(self, weight: int, timeout: float) -> float:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            self.evaluate()
            if self.actuator.current(TARGET).weights["greeter_v2"] == weight:
                return time.monotonic() - start
            time.sleep(EVERY)
        raise AssertionError(f"greeter_v2 not at {weight} after {timeout} s: {self.log[-5:]}")


@pytest.fixture
def mesh(tmp_path: Path) -> Iterator[GrpcEnvoy]:
    with run_grpc_envoy(tmp_path, VERSIONS) as running:
        yield running


def test_grpc_version_failing_with_http_200_loses_its_traffic_and_gets_it_back(
    mesh: GrpcEnvoy,
) -> None:
    policy = _policy()
    store = ScrapeStore()
    for backend in policy.backends:
        store.track_sli(backend.sli)
    with mesh.client() as client:  # the status counters exist, as in a long-running mesh
        for name in VERSIONS:
            client.say(version=name)
            mesh.versions[name].failing = True
            client.say(version=name)
            mesh.versions[name].failing = False
    calls = Calls(mesh)
    thread = threading.Thread(target=calls.run, daemon=True)
    thread.start()
    try:
        with httpx.Client(timeout=5.0) as http, httpx.Client(base_url=mesh.admin_url) as admin:
            scraper = Scraper(store, [ScrapeTarget(mesh.stats_url, job="envoy")], http)
            loop = Loop(policy, store, scraper, EnvoyActuator(mesh.rds_path, admin))
            soak_end = time.monotonic() + 4
            while time.monotonic() < soak_end:  # healthy: no action at all
                loop.evaluate()
                time.sleep(EVERY)
            assert {kind for kind, _, _ in loop.log} <= {DecisionKind.NONE, DecisionKind.FROZEN}
            assert loop.actuator.current(TARGET).weights == {"greeter_v1": 50, "greeter_v2": 50}

            broke = time.monotonic()
            mesh.versions["greeter_v2"].failing = True
            to_shift = loop.run_until(policy.min_healthy_weight, timeout=15)
            shifted = time.monotonic()
            time.sleep(2)
            failed, total = calls.failed_share(shifted + 0.2, time.monotonic())
            assert total > 50, total
            floor = policy.min_healthy_weight / 100  # the share of calls greeter_v2 keeps
            assert_share(failed, total, floor, "failed calls on the floor")

            mesh.versions["greeter_v2"].failing = False
            to_restore = loop.run_until(50, timeout=20)
    finally:
        calls.stop.set()
        thread.join(timeout=5)
    before, seen = calls.failed_share(broke, shifted)
    v2_unavailable = sum(1 for _, b, s in calls.seen if b == "greeter_v2" and s == "UNAVAILABLE")
    detecting = [t for t in loop.starts if t <= shifted]  # not the pause on the floor
    outcomes = [(t, b, status != "OK") for t, b, status in calls.seen]
    bound = shift_within(outcomes, "greeter_v2", policy, BUDGET, broke, detecting)
    print(
        f"grpc loop: breach->shift {to_shift:.2f} s (bound {bound:.2f} s, evaluation every "
        f"{EVERY} s, the longest cycle {longest_cycle(detecting):.3f} s), failed calls "
        f"while detecting {before}/{seen}, repair->restore {to_restore:.2f} s, "
        f"UNAVAILABLE answered by greeter_v2 {v2_unavailable}"
    )
    assert to_shift <= bound  # tests.support.loop_timing
    assert to_restore >= policy.recovery_window.total_seconds()
