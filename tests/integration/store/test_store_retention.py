"""Retention on a real database: a scaled-down simulation must hold exactly the rows the
arithmetic of `meshwatch.store.retention` predicts, and lose no evaluation it should keep."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from meshwatch.model import State
from meshwatch.store import RetentionPolicy, Store, Tier
from meshwatch.store.retention import max_rows_per_slo, rows_per_slo
from meshwatch.store.tables import StatusRow
from meshwatch.store.types import from_micros
from tests.integration.store.factories import status

pytestmark = pytest.mark.integration

INTERVAL = timedelta(seconds=30)
START = datetime(2026, 11, 1, tzinfo=UTC)
# The default policy scaled down so two simulated days reach the steady state.
POLICY = RetentionPolicy(
    raw_for=timedelta(hours=1),
    tiers=(
        Tier(timedelta(minutes=5), timedelta(hours=6)),
        Tier(timedelta(hours=1), timedelta(days=1)),
        Tier(timedelta(hours=6), timedelta(hours=36)),
    ),
)
SLOS = [f"svc{i}-availability" for i in range(5)]
BREACH_AT = START + timedelta(hours=15, minutes=31)  # one bad evaluation


def _rows_by_slo(store: Store) -> dict[str, list[tuple[int, int, int, str]]]:
    rows: dict[str, list[tuple[int, int, int, str]]] = defaultdict(list)
    query = select(
        StatusRow.slo_id,
        StatusRow.at_us,
        StatusRow.step_s,
        StatusRow.samples,
        StatusRow.worst_state,
    ).order_by(StatusRow.at_us)
    with store.engine.connect() as conn:
        for slo_id, at_us, step_s, samples, worst in conn.execute(query):
            rows[slo_id].append((at_us, step_s, samples, worst))
    return rows


@pytest.mark.slow
def test_simulated_days_of_history_hold_the_predicted_rows(store: Store) -> None:
    assert rows_per_slo(POLICY, INTERVAL, timedelta(days=2)) == 120 + 60 + 18 + 2 == 200
    hours = 2 * 24
    for hour in range(hours):
        cycle_start = START + timedelta(hours=hour)
        batch = []
        for k in range(120):  # one hour of 30 s evaluations, saved as hourly bulk batches
            at = cycle_start + k * INTERVAL
            state = State.BREACHED if at == BREACH_AT else State.OK
            batch += [status(slo_id, at, state, seed=k) for slo_id in SLOS]
        store.history.save_statuses(batch)
        now = cycle_start + timedelta(hours=1)
        result = store.history.prune(now, POLICY)
        age = now - START
        bound = max_rows_per_slo(POLICY, INTERVAL, age)
        for slo_id, rows in _rows_by_slo(store).items():
            assert len(rows) <= bound, (hour, slo_id)
        if hour >= 1:  # raw_for is 1 h
            assert result.compacted > 0

    now = START + timedelta(hours=hours)  # aligned to every resolution: the count is exact
    rows = _rows_by_slo(store)
    assert sorted(rows) == SLOS
    for slo_id in SLOS:
        kept = rows[slo_id]
        assert len(kept) == rows_per_slo(POLICY, INTERVAL, now - START) == 200
        # Every evaluation younger than the retention is still counted by some row.
        oldest = now - timedelta(hours=36)
        assert sum(samples for _, _, samples, _ in kept) == (now - oldest) // INTERVAL
        assert min(from_micros(at) for at, *_ in kept) >= oldest
        # Resolutions by age: raw, then 5 m, 1 h and 6 h buckets.
        by_step = defaultdict(int)
        for _, step_s, _, _ in kept:
            by_step[step_s] += 1
        assert dict(by_step) == {0: 120, 300: 60, 3_600: 18, 21_600: 2}
        # The single breached evaluation survives downsampling in its 6 h bucket.
        worst = [(from_micros(at), w) for at, step_s, _, w in kept if w != State.OK.value]
        assert len(worst) == 1
        assert worst[0][1] == State.BREACHED.value
        assert worst[0][0] <= BREACH_AT + timedelta(hours=6)

    points = store.history.history(SLOS[0], START, now, step=timedelta(days=1))
    assert [p.at for p in points] == [START, START + timedelta(days=1)]
    assert [p.worst_state for p in points] == [State.BREACHED, State.OK]
    assert [p.samples for p in points] == [12 * 120, 24 * 120]
    assert points[-1].status == store.history.latest(SLOS[0])[0]

    again = store.history.prune(now, POLICY)
    assert (again.compacted, again.expired) == (0, 0)
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(StatusRow)).scalar() == 5 * 200


def test_prune_expires_everything_past_retention(store: Store) -> None:
    store.history.save_statuses([status("a-b", START), status("a-b", START + timedelta(days=5))])
    result = store.history.prune(START + timedelta(days=5, minutes=30), POLICY)
    assert result.expired == 1
    assert [s.at for s in store.history.latest()] == [START + timedelta(days=5)]
    gone = store.history.prune(START + timedelta(days=10), POLICY)
    assert gone.expired == 1
    assert store.history.latest() == []
