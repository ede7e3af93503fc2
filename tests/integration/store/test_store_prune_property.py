"""Pruning equals a simple reference model, whatever the data and however often it runs.

Reference: after the last prune at `now`, every evaluation younger than the retention is
counted in exactly one row; the row's resolution is the coarsest tier whose (aligned)
boundary lies after the evaluation; the row is the bucket's latest evaluation and carries the
bucket's sample count and worst state. Running prune at earlier times first changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from meshwatch.model import STATE_SEVERITY, State
from meshwatch.store import RetentionPolicy, Store, Tier
from meshwatch.store.retention import prune_plan
from meshwatch.store.tables import LatestRow, StatusRow
from meshwatch.store.types import to_micros
from tests.integration.store.factories import status

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 1, tzinfo=UTC)
POLICY = RetentionPolicy(
    raw_for=timedelta(minutes=20),
    tiers=(
        Tier(timedelta(minutes=5), timedelta(hours=2)),
        Tier(timedelta(hours=1), timedelta(hours=8)),
    ),
)
HORIZON_S = 12 * 3600

events = st.lists(
    st.tuples(
        st.sampled_from(["a-x", "b-y"]),
        st.integers(min_value=0, max_value=HORIZON_S),  # seconds after START
        st.sampled_from(list(State)),
    ),
    max_size=60,
)
prunes = st.lists(st.integers(min_value=0, max_value=HORIZON_S + 3600), min_size=1, max_size=4)

Row = tuple[str, int, int, int, str]  # slo_id, at_us, step_s, samples, worst_state


def reference(evts: list[tuple[str, int, State]], now: datetime) -> list[Row]:
    plan = prune_plan(POLICY, now)
    groups: dict[tuple[str, int, int], list[tuple[int, State]]] = {}
    for slo_id, offset, state in evts:
        at_us = to_micros(START + timedelta(seconds=offset))
        if at_us < plan.delete_before_us:
            continue
        step = next((c.step_s for c in plan.compactions if at_us < c.before_us), 0)
        bucket = at_us // (step * 1_000_000) if step else at_us
        groups.setdefault((slo_id, step, bucket), []).append((at_us, state))
    rows = []
    for (slo_id, step, _), members in groups.items():
        worst = max((state for _, state in members), key=STATE_SEVERITY.__getitem__)
        if step == 0:  # raw rows are never merged, even at the same instant
            rows += [(slo_id, at, 0, 1, state.value) for at, state in members]
        else:
            rows.append((slo_id, max(at for at, _ in members), step, len(members), worst.value))
    return sorted(rows)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(evts=events, prune_offsets=prunes)
def test_prune_matches_the_reference_model(
    store: Store, evts: list[tuple[str, int, State]], prune_offsets: list[int]
) -> None:
    with store.engine.begin() as conn:
        conn.execute(delete(StatusRow))
        conn.execute(delete(LatestRow))
    store.history.save_statuses(
        [status(slo_id, START + timedelta(seconds=s), state) for slo_id, s, state in evts]
    )
    times = [START + timedelta(seconds=s) for s in sorted(prune_offsets)]
    for now in times:
        store.history.prune(now, POLICY)
    with store.engine.connect() as conn:
        stored = conn.execute(
            select(
                StatusRow.slo_id,
                StatusRow.at_us,
                StatusRow.step_s,
                StatusRow.samples,
                StatusRow.worst_state,
            )
        ).all()
    assert sorted(tuple(row) for row in stored) == reference(evts, times[-1])


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    evts=st.lists(
        st.tuples(st.integers(min_value=0, max_value=4 * 3600), st.sampled_from(list(State))),
        max_size=40,
    ),
    step_s=st.sampled_from([1, 30, 60, 300, 3600, 7200]),
    window=st.tuples(st.integers(0, 4 * 3600), st.integers(1, 3 * 3600)),  # <= 11,000 points
)
def test_history_buckets_match_the_reference_model(
    store: Store,
    evts: list[tuple[int, State]],
    step_s: int,
    window: tuple[int, int],
) -> None:
    with store.engine.begin() as conn:
        conn.execute(delete(StatusRow))
        conn.execute(delete(LatestRow))
    saved = [
        status("a-x", START + timedelta(seconds=s), state, seed=i)
        for i, (s, state) in enumerate(evts)
    ]
    store.history.save_statuses(saved)
    start = START + timedelta(seconds=window[0])
    end = start + timedelta(seconds=window[1])
    points = store.history.history("a-x", start, end, timedelta(seconds=step_s))

    buckets: dict[int, list[int]] = {}
    for i, s in enumerate(saved):
        if start <= s.at < end:
            buckets.setdefault(to_micros(s.at) // (step_s * 1_000_000), []).append(i)
    expected = []
    for bucket, members in sorted(buckets.items()):
        last = max(members, key=lambda i: (saved[i].at, i))  # ties: the later save
        worst = max((saved[i].state for i in members), key=STATE_SEVERITY.__getitem__)
        expected.append((bucket * step_s, saved[last], worst, len(members)))
    assert [
        (to_micros(p.at) // 1_000_000, p.status, p.worst_state, p.samples) for p in points
    ] == expected
