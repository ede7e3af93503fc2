"""Backend history on SQLite and PostgreSQL: saved with the cycle, read by step, pruned."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from meshwatch.model import Counts
from meshwatch.store import BackendPoint, RetentionPolicy, Store, Tier
from meshwatch.store.retention import rows_per_slo
from tests.integration.store.factories import status

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
INTERVAL = timedelta(seconds=30)
POLICY = RetentionPolicy(
    raw_for=timedelta(hours=1),
    tiers=(
        Tier(timedelta(minutes=5), timedelta(hours=6)),
        Tier(timedelta(hours=1), timedelta(days=1)),
    ),
)


def point(backend: str, at: datetime, errors: float, total: float, **kw: object) -> BackendPoint:
    counts = {"1m": Counts(errors, total), "5m": Counts(errors * 5, total * 5)}
    return BackendPoint("checkout-availability", backend, at, counts, **kw)  # type: ignore[arg-type]


def test_saved_with_the_cycle_and_read_back_exactly(store: Store) -> None:
    points = [point("v1", T0, 0.0, 600.0), point("v2", T0, 0.1 + 0.2, 600.0)]
    odd = BackendPoint("checkout-availability", "v3", T0, {}, reason="1m: no series")
    nan = BackendPoint("checkout-availability", "v4", T0, {"1m": Counts(math.nan, 1.0)})
    store.save_cycle([status("checkout-availability", T0)], [], T0, backends=[*points, odd, nan])
    found = store.history.backends.history("checkout-availability", T0, T0 + timedelta(seconds=1))
    assert [p.backend for p in found] == ["v1", "v2", "v3", "v4"]
    assert found[1].counts == {
        "1m": Counts(0.1 + 0.2, 600.0),
        "5m": Counts(1.5000000000000002, 3000.0),
    }
    assert found[1].at == T0 and found[1].samples == 1
    assert found[2].counts == {} and found[2].reason == "1m: no series"
    assert found[3].counts == {}  # NaN is not a number to keep (strict JSON on both engines)
    assert store.history.backends.history("other", T0, T0 + timedelta(seconds=1)) == []


def test_a_step_keeps_each_buckets_last_point_per_backend(store: Store) -> None:
    points = [point(b, T0 + i * INTERVAL, float(i), 100.0) for i in range(20) for b in ("v1", "v2")]
    store.history.backends.save(points)
    found = store.history.backends.history(
        "checkout-availability", T0, T0 + timedelta(minutes=10), step=timedelta(minutes=5)
    )
    assert [(p.backend, p.at, p.samples) for p in found] == [
        ("v1", T0 + 9 * INTERVAL, 10),
        ("v1", T0 + 19 * INTERVAL, 10),
        ("v2", T0 + 9 * INTERVAL, 10),
        ("v2", T0 + 19 * INTERVAL, 10),
    ]
    assert found[1].counts["1m"] == Counts(19.0, 100.0)
    with pytest.raises(ValueError, match="points"):
        store.history.backends.history(
            "checkout-availability", T0, T0 + timedelta(days=30), step=timedelta(seconds=1)
        )


def test_retention_applies_to_backend_rows_as_to_statuses(store: Store) -> None:
    history = timedelta(hours=30)
    steps = int(history / INTERVAL)
    for i in range(steps):
        at = T0 + i * INTERVAL
        store.save_cycle(
            [status("checkout-availability", at)], [], at, backends=[point("v1", at, 1.0, 10.0)]
        )
    now = T0 + history
    result = store.history.prune(now, POLICY)
    kept = store.history.backends.history("checkout-availability", T0 - history, now)
    statuses = store.history.history("checkout-availability", T0 - history, now)
    expected = rows_per_slo(POLICY, INTERVAL, history)
    assert len(kept) == len(statuses) == expected
    assert result.backend_compacted == result.compacted
    assert result.backend_expired == result.expired > 0
    assert sum(p.samples for p in kept) == sum(p.samples for p in statuses)
    assert kept[-1].at == statuses[-1].status.at  # the newest raw rows are untouched
