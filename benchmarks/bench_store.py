"""Store benchmarks on SQLite (the default engine), each against a baseline in the same run.

- store_save:   one 1,000-SLO evaluation cycle written by `save_statuses` (bulk executemany,
                one transaction) vs. the ORM unit of work (one mapped object per status).
- store_latest: the newest status of 1,000 SLOs with 100 cycles of history, through the
                `status_latest` index vs. a window function over the history.
- store_alerts: idempotent webhook ingestion, alerts/s in deliveries of 10 with every alert
                delivered twice (Alertmanager HA), `INSERT .. ON CONFLICT` vs. select-then-write.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from benchmarks.result import Result, best_of
from meshwatch.model import SLOStatus, State
from meshwatch.store import AlertEvent, AlertStatus, Store, make_engine, upgrade
from meshwatch.store.codec import status_from_values, status_values
from meshwatch.store.engine import writer
from meshwatch.store.tables import AlertRow, StatusRow

SLOS = 1_000
T0 = datetime(2026, 1, 1, tzinfo=UTC)
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")


def _status(i: int, at: datetime) -> SLOStatus:
    sli = {w: 1 - (i % 97 + k) / 123_457 for k, w in enumerate(WINDOWS)}
    return SLOStatus(
        slo_id=f"service{i % 50}-slo{i}",
        service=f"service{i % 50}",
        slo=f"slo{i}",
        at=at,
        state=State.OK,
        reason="",
        objective=0.999,
        period_sli=sli["30d"],
        budget_remaining=0.5 + i / 7_919,
        budget_remaining_seconds=1_234.5 + i,
        budget_remaining_requests=98_765.0 / (i + 1),
        throughput=i / 3.0,
        sli=sli,
        burn_rate={w: (1 - v) / 0.001 for w, v in sli.items()},
        latency={"p50": 12.5 + i / 9, "p90": 81.0 + i / 7, "p99": 240.25 + i / 3},
        requests={w: 1_000.0 * (k + 1) + i for k, w in enumerate(WINDOWS)},
    )


def _cycle(n: int) -> list[SLOStatus]:
    return [_status(i, T0 + timedelta(seconds=30 * n)) for i in range(SLOS)]


@contextmanager
def _database() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory(prefix="meshwatch-bench-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(engine)
        try:
            yield engine
        finally:
            engine.dispose()


def run_save() -> Result:
    with _database() as ours, _database() as theirs:
        store = Store(ours)
        cycles = iter(range(1, 1_000))
        value = best_of(lambda: store.history.save_statuses(_cycle(next(cycles))), repeat=7)

        def orm_unit_of_work() -> None:
            with Session(theirs) as session, session.begin():
                session.add_all(StatusRow(**status_values(s)) for s in _cycle(next(cycles)))

        baseline = best_of(orm_unit_of_work, repeat=7)
    return Result(
        "store_save",
        value,
        "s",
        "sqlalchemy ORM unit of work",
        baseline,
        higher_is_better=False,
        params={"slos": SLOS, "windows": len(WINDOWS), "engine": "sqlite"},
    )


def run_latest() -> Result:
    with _database() as engine:
        store = Store(engine)
        for n in range(100):
            store.history.save_statuses(_cycle(n))
        value = best_of(lambda: store.history.latest(), repeat=5)

        def window_function() -> list[SLOStatus]:
            rank = (
                func.row_number()
                .over(partition_by=StatusRow.slo_id, order_by=StatusRow.at_us.desc())
                .label("rn")
            )
            ranked = select(StatusRow, rank).subquery()
            with engine.connect() as conn:
                rows = conn.execute(select(ranked).where(ranked.c.rn == 1))
                return [status_from_values(row._mapping) for row in rows]

        assert sorted(window_function(), key=lambda s: s.slo_id) == store.history.latest()
        baseline = best_of(window_function, repeat=5)
    return Result(
        "store_latest",
        value,
        "s",
        "window function over history",
        baseline,
        higher_is_better=False,
        params={"slos": SLOS, "history_rows": 100 * SLOS, "engine": "sqlite"},
    )


def run_alerts() -> Result:
    deliveries = 200
    alerts = [
        AlertEvent(
            f"{i:016x}",
            T0 + timedelta(seconds=i),
            AlertStatus.FIRING,
            {
                "alertname": "MeshwatchErrorBudgetBurn",
                "meshwatch_service": "s",
                "meshwatch_slo": "a",
            },
        )
        for i in range(deliveries * 5)
    ]
    batches = [alerts[i : i + 10] for i in range(0, len(alerts), 5)]  # every alert twice
    total = sum(len(b) for b in batches)
    now = T0 + timedelta(days=1)

    with _database() as ours, _database() as theirs:
        store = Store(ours)
        value = best_of(lambda: [store.alerts.record_alerts(b, now) for b in batches], repeat=1)

        def select_then_write() -> None:
            for batch in batches:
                with writer(theirs).begin() as conn:
                    for a in batch:
                        key = (AlertRow.fingerprint == a.fingerprint) & (
                            AlertRow.starts_at == a.starts_at
                        )
                        found = conn.execute(select(AlertRow.id).where(key)).first()
                        if found is None:
                            conn.execute(
                                AlertRow.__table__.insert().values(
                                    fingerprint=a.fingerprint,
                                    starts_at=a.starts_at,
                                    status=a.status.value,
                                    alertname=a.alertname,
                                    service=a.service,
                                    slo_id=a.slo_id,
                                    labels=dict(a.labels),
                                    annotations={},
                                    generator_url="",
                                    first_received_at=now,
                                    last_received_at=now,
                                    deliveries=1,
                                )
                            )
                        else:
                            conn.execute(
                                AlertRow.__table__.update()
                                .where(AlertRow.id == found.id)
                                .values(deliveries=AlertRow.deliveries + 1, status=a.status.value)
                            )

        baseline = best_of(select_then_write, repeat=1)
    return Result(
        "store_alerts",
        total / value,
        "alerts/s",
        "select-then-write per alert",
        total / baseline,
        higher_is_better=True,
        params={"deliveries": len(batches), "alerts_per_delivery": 10, "engine": "sqlite"},
    )
