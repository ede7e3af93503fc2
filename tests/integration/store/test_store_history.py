"""Status history on SQLite and PostgreSQL: exact round trips, latest, downsampled ranges."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from meshwatch.model import SLOStatus, State
from meshwatch.store import HistoryPoint, Store
from meshwatch.store.tables import StatusRow
from tests.integration.store.factories import status

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def test_save_and_read_back_exactly(store: Store) -> None:
    first = status("checkout-availability", T0, seed=1)
    odd = SLOStatus(
        slo_id="checkout-latency",
        service="checkout",
        slo="latency",
        at=T0 + timedelta(microseconds=123_457),
        state=State.UNKNOWN,
        reason="no traffic in 5m",
        objective=0.9995,
        budget_remaining=-3.25,
        throughput=math.inf,
        sli={"5m": None, "1h": 5e-324, "30d": 1.7976931348623157e308},
        burn_rate={"5m": math.inf, "1h": -0.0, "6h": 1e22, "3d": 0.1 + 0.2},
        latency={},
        requests={"5m": 0.0},
    )
    store.ping()
    store.history.save_statuses([first, odd])
    assert store.history.latest() == [first, odd]
    assert store.history.latest("checkout-latency") == [odd]
    assert store.history.latest("nope") == []
    points = store.history.history("checkout-latency", T0, T0 + timedelta(seconds=1))
    assert points == [HistoryPoint(odd.at, odd, State.UNKNOWN, 1)]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    burn=st.dictionaries(
        st.sampled_from(["5m", "1h", "30d"]), st.floats(allow_nan=False) | st.none()
    ),
    budget=st.floats(allow_nan=False) | st.none(),
    micros=st.integers(min_value=0, max_value=10**15),
)
def test_any_float_round_trips(
    store: Store, burn: dict[str, float | None], budget: float | None, micros: int
) -> None:
    at = datetime(1990, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    slo_id = f"svc-{micros}"
    original = SLOStatus(
        slo_id=slo_id,
        service="svc",
        slo=str(micros),
        at=at,
        state=State.WARNING,
        reason="",
        objective=0.99,
        budget_remaining=budget,
        burn_rate=burn,
    )
    store.history.save_statuses([original])
    assert store.history.latest(slo_id) == [original]


def test_latest_follows_the_newest_evaluation_even_when_saved_out_of_order(store: Store) -> None:
    newer = status("a-x", T0 + timedelta(minutes=1), State.WARNING)
    store.history.save_statuses([newer])
    store.history.save_statuses([status("a-x", T0)])  # a late backfill must not win
    assert store.history.latest("a-x") == [newer]
    newest = status("a-x", T0 + timedelta(minutes=2), State.BREACHED)
    same_batch_older = status("a-x", T0 + timedelta(seconds=90))
    store.history.save_statuses([newest, same_batch_older, status("b-y", T0)])
    assert [s.at for s in store.history.latest()] == [newest.at, T0]


def test_a_1000_slo_cycle_is_one_bulk_write(store: Store) -> None:
    cycle = [status(f"svc{i % 50}-slo{i}", T0, seed=i) for i in range(1_000)]
    store.history.save_statuses(cycle)
    store.history.save_statuses([status(s.slo_id, T0 + timedelta(seconds=30)) for s in cycle])
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(StatusRow)).scalar() == 2_000
    latest = store.history.latest()
    assert len(latest) == 1_000
    assert {s.at for s in latest} == {T0 + timedelta(seconds=30)}
    store.history.save_statuses([])  # nothing to do, no error


def test_history_downsamples_to_the_last_status_and_worst_state(store: Store) -> None:
    states = [State.OK] * 10 + [State.BREACHED] + [State.OK] * 9  # 20 evaluations, 30 s apart
    saved = [
        status("pay-avail", T0 + timedelta(seconds=30 * i), state, seed=i)
        for i, state in enumerate(states)
    ]
    store.history.save_statuses(saved)
    store.history.save_statuses([status("other-slo", T0, State.BREACHED)])

    raw = store.history.history("pay-avail", T0, T0 + timedelta(hours=1))
    assert [p.status for p in raw] == saved

    points = store.history.history(
        "pay-avail", T0, T0 + timedelta(hours=1), step=timedelta(minutes=5)
    )
    assert [(p.at, p.worst_state, p.samples) for p in points] == [
        (T0, State.OK, 10),
        (T0 + timedelta(minutes=5), State.BREACHED, 10),
    ]
    assert [p.status for p in points] == [saved[9], saved[19]]

    # the range is half-open and the buckets are aligned to the epoch, not to `start`
    later = store.history.history(
        "pay-avail", T0 + timedelta(minutes=7), T0 + timedelta(minutes=9), timedelta(minutes=5)
    )
    assert [(p.at, p.samples, p.status) for p in later] == [
        (T0 + timedelta(minutes=5), 4, saved[17])
    ]
    assert store.history.history("pay-avail", T0, T0) == []


def test_history_refuses_too_many_points(store: Store) -> None:
    with pytest.raises(ValueError, match="points"):
        store.history.history("x", T0, T0 + timedelta(days=365), timedelta(minutes=1))
    with pytest.raises(ValueError, match="positive"):
        store.history.history("x", T0, T0 + timedelta(days=1), timedelta(0))
