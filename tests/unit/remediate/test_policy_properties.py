"""Properties of the planner's guardrails over generated routes, data and memories."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from meshwatch.model import Backend, Counts, RatioSLI, RemediationPolicy, Selector
from meshwatch.remediate.policy import (
    RECOVERY_FRACTION,
    BackendMemory,
    DecisionKind,
    Health,
    LoopState,
    Measurement,
    Reading,
    plan,
)

START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SLI = RatioSLI(total=Selector("requests_total"), bad=Selector("errors_total"))
NAMES = ("v1", "v2", "v3", "v4")


@st.composite
def policies(draw: st.DrawFn, n: int) -> RemediationPolicy:
    return RemediationPolicy(
        actuator="noop",
        target="route",
        backends=tuple(Backend(name, SLI) for name in NAMES[:n]),
        action=draw(st.sampled_from(["shift", "retries", "shift+retries"])),
        factor=draw(st.sampled_from([1.0, 6.0, 14.4])),
        step=draw(st.integers(1, 100)),
        max_shift=draw(st.integers(0, 100)),
        min_healthy_weight=draw(st.integers(0, 50)),
        min_requests=draw(st.sampled_from([0.0, 1.0, 20.0])),
        cooldown=timedelta(seconds=draw(st.integers(0, 60))),
        recovery_window=timedelta(seconds=draw(st.integers(0, 300))),
    )


@st.composite
def weight_sets(draw: st.DrawFn, n: int) -> dict[str, int]:
    weights = draw(st.lists(st.integers(0, 1000), min_size=n, max_size=n))
    if sum(weights) == 0:
        weights[draw(st.integers(0, n - 1))] = draw(st.integers(1, 1000))
    return dict(zip(NAMES[:n], weights, strict=True))


# error ratios as multiples of the 0.001 budget, dense around every threshold in use
BURNS = [0.0, 0.4, 0.5, 0.6, 0.9, 1.0, 3.0, 5.0, 7.2, 8.0, 14.4, 20.0, 100.0, 1000.0]
counts = st.builds(
    lambda total, burn: Counts(errors=total * min(1.0, burn * 0.001), total=total),
    st.sampled_from([0.0, 5.0, 100.0, 10_000.0]),
    st.sampled_from(BURNS) | st.floats(0.0, 1000.0),
)
measurements = st.one_of(
    st.builds(Measurement, counts, counts),
    st.builds(Measurement.unknown, st.sampled_from(["stale", "no series", "collector failed"])),
)
memories = st.builds(
    BackendMemory,
    st.sampled_from(list(Health)),
    st.none() | st.just(START - timedelta(minutes=10)),
    st.none() | st.sampled_from([START - timedelta(seconds=s) for s in (0, 30, 200, 600)]),
)


@st.composite
def situations(draw: st.DrawFn) -> tuple:  # type: ignore[type-arg]
    n = draw(st.integers(2, 4))
    pol = draw(policies(n))
    weights = draw(weight_sets(n))
    names = list(weights)
    data = {name: draw(measurements) for name in names}
    state = LoopState(
        backends={name: draw(memories) for name in names},
        baseline=draw(st.none() | weight_sets(n)) or {},
        last_action_at=draw(st.none() | st.just(START - timedelta(seconds=20))),
        retries_tightened=draw(st.booleans()),
        hold=draw(st.integers(0, 9)) == 0,
    )
    alerts = draw(st.sets(st.sampled_from(names), max_size=1))
    return pol, weights, data, state, alerts


def run(pol, weights, data, state, alerts):  # type: ignore[no-untyped-def]
    return plan(
        pol,
        error_budget=0.001,
        weights=weights,
        measurements=data,
        state=state,
        now=START,
        alerts=alerts,
    )


@given(situations())
def test_weights_keep_their_sum_and_never_all_zero(situation: tuple) -> None:  # type: ignore[type-arg]
    pol, weights, data, state, alerts = situation
    decision = run(pol, weights, data, state, alerts)
    assert sum(decision.weights.values()) == sum(weights.values())
    assert all(w >= 0 for w in decision.weights.values())
    assert any(w > 0 for w in decision.weights.values())
    assert set(decision.weights) == set(weights)


@given(situations())
def test_weight_only_moves_toward_backends_healthy_and_clear_now(situation: tuple) -> None:  # type: ignore[type-arg]
    pol, weights, data, state, alerts = situation
    decision = run(pol, weights, data, state, alerts)
    seen = {a.backend: a for a in decision.assessments}
    for name, after in decision.weights.items():
        if after > weights[name]:
            assert seen[name].reading is Reading.CLEAR, decision.reason
            assert seen[name].health is Health.HEALTHY, decision.reason
            assert name not in alerts


@given(situations())
def test_floor_respected_when_shifting(situation: tuple) -> None:  # type: ignore[type-arg]
    pol, weights, data, state, alerts = situation
    decision = run(pol, weights, data, state, alerts)
    total = sum(weights.values())
    floor = math.ceil(total * pol.min_healthy_weight / 100)
    for name, after in decision.weights.items():
        if after < weights[name] and decision.kind is DecisionKind.SHIFT:
            baseline = decision.state.baseline[name]
            assert after >= floor
            assert after >= baseline - total * pol.max_shift // 100
            assert weights[name] - after <= max(1, total * pol.step // 100)
        if after < weights[name] and decision.kind is DecisionKind.RESTORE:
            assert after >= decision.state.baseline[name]


@given(situations())
def test_no_action_on_unknown_data(situation: tuple) -> None:  # type: ignore[type-arg]
    pol, weights, data, state, alerts = situation
    decision = run(pol, weights, data, state, alerts)
    unknown = [
        a.backend
        for a in decision.assessments
        if a.reading is Reading.UNKNOWN and weights[a.backend] > 0
    ]
    if unknown or state.hold:
        assert decision.kind in (DecisionKind.FROZEN, DecisionKind.HOLD)
        assert not decision.changes


def _band_noise(factor: float) -> st.SearchStrategy[Measurement]:
    """Counts whose burn rates stay inside the hysteresis band, sometimes above `factor`
    on one window but never on both."""
    low, high = factor * RECOVERY_FRACTION, factor * 3

    def counts(rate: float) -> Counts:
        return Counts(rate * 0.001 * 1000, 1000)

    # one window anywhere in the band, the other below `factor`, in either order (drawn
    # directly rather than filtered: a filter rejected more pairs than it kept)
    anywhere = st.floats(low, high).map(counts)
    below = st.floats(low, factor, exclude_max=True).map(counts)
    return st.tuples(anywhere, below, st.booleans()).map(
        lambda p: Measurement(p[0], p[1]) if p[2] else Measurement(p[1], p[0])
    )


@given(
    pol=policies(2),
    noise=st.lists(st.data(), min_size=1, max_size=30),
    gaps=st.lists(st.integers(1, 120), min_size=30, max_size=30),
    breached=st.booleans(),
)
def test_noise_inside_the_band_never_flaps(
    pol: RemediationPolicy, noise: list[st.DataObject], gaps: list[int], breached: bool
) -> None:
    """Noise in the band never starts a shift on a healthy backend, and never restores a
    breaching one: with hysteresis, only a clear signal changes direction."""
    weights = {"v1": 80, "v2": 20} if breached else {"v1": 50, "v2": 50}
    memory = BackendMemory(Health.BREACHING, START) if breached else BackendMemory()
    state = LoopState(backends={"v2": memory}, baseline={"v1": 50, "v2": 50})
    now = START
    clear = Measurement(Counts(0, 1000), Counts(0, 5000))
    for draw, gap in zip(noise, gaps, strict=False):
        now += timedelta(seconds=gap)
        measured = {"v1": clear, "v2": draw.draw(_band_noise(pol.factor))}
        decision = plan(
            pol, error_budget=0.001, weights=weights, measurements=measured, state=state, now=now
        )
        assert decision.kind is not DecisionKind.RESTORE
        if not breached:
            assert decision.kind is DecisionKind.NONE
        weights, state = dict(decision.weights), decision.state


readings_seq = st.lists(
    st.tuples(
        st.sampled_from(["clear", "band", "burning", "unknown"]),
        st.sampled_from(["clear", "band", "burning"]),
        st.integers(1, 90),
    ),
    min_size=1,
    max_size=40,
)


@given(pol=policies(2), sequence=readings_seq)
def test_no_restore_within_recovery_window_of_a_shift(
    pol: RemediationPolicy, sequence: list[tuple[str, str, int]]
) -> None:
    """Weight taken from a backend comes back no sooner than `recovery_window` later."""
    pol = replace(pol, min_requests=1.0)
    rate = {"clear": 0.0, "band": pol.factor * 0.75, "burning": pol.factor * 2}

    def measure(kind: str) -> Measurement:
        if kind == "unknown":
            return Measurement.unknown("stale")
        errors = rate[kind] * 0.001 * 1000
        return Measurement(Counts(errors, 1000), Counts(errors * 5, 5000))

    weights = {"v1": 50, "v2": 50}
    state = LoopState()
    now = START
    last_taken: dict[str, datetime] = {}
    for v2, v1, gap in sequence:
        now += timedelta(seconds=gap)
        decision = plan(
            pol,
            error_budget=0.001,
            weights=weights,
            measurements={"v1": measure(v1), "v2": measure(v2)},
            state=state,
            now=now,
        )
        for name, after in decision.weights.items():
            if after < weights[name] and decision.kind is DecisionKind.SHIFT:
                last_taken[name] = now
            if after > weights[name] and name in last_taken:
                assert now - last_taken[name] >= pol.recovery_window
        weights, state = dict(decision.weights), decision.state
