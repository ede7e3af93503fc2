"""SQLite engine settings: WAL, busy timeout, foreign keys, write transactions."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from meshwatch.errors import StoreError
from meshwatch.store import Store, make_engine, upgrade
from meshwatch.store.engine import writer

pytestmark = pytest.mark.integration


def test_sqlite_file_uses_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}", busy_timeout_ms=1234, durable=False)
    try:
        with engine.connect() as conn:
            pragma = lambda name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
            assert pragma("journal_mode") == "wal"
            assert pragma("busy_timeout") == 1234
            assert pragma("foreign_keys") == 1
            assert pragma("synchronous") == 1  # NORMAL
    finally:
        engine.dispose()


def test_in_memory_sqlite_is_one_shared_database() -> None:
    engine = make_engine("sqlite://")
    try:
        upgrade(engine)
        store = Store(engine)
        store.outbox.enqueue("k", "t", {}, datetime.now(UTC))
        assert len(Store(engine).outbox.due(datetime.now(UTC))) == 1
    finally:
        engine.dispose()


def test_a_second_writer_waits_for_the_first_instead_of_failing(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE + busy_timeout: a read-then-write transaction never gets SQLITE_BUSY."""
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (n INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (0)"))
        started = threading.Event()

        def hold_the_lock() -> None:
            with writer(engine).begin() as conn:
                conn.execute(text("UPDATE t SET n = n + 1"))
                started.set()
                time.sleep(0.5)

        thread = threading.Thread(target=hold_the_lock)
        thread.start()
        started.wait(5)
        with writer(engine).begin() as conn:  # waits ~0.5 s, then reads the committed value
            n = conn.execute(text("SELECT n FROM t")).scalar_one()
            conn.execute(text("UPDATE t SET n = :n"), {"n": n + 1})
        thread.join()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT n FROM t")).scalar_one() == 2
    finally:
        engine.dispose()


def test_database_failures_are_store_errors(tmp_path: Path) -> None:
    """An unmigrated database (or a dead server) surfaces as StoreError, not SQLAlchemy's."""
    engine = make_engine(f"sqlite:///{tmp_path / 'unmigrated.db'}")
    try:
        with pytest.raises(StoreError, match=r"AlertLog.list_alerts failed: no such table"):
            Store(engine).alerts.list_alerts()
    finally:
        engine.dispose()
    dead = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=2")
    try:
        with pytest.raises(StoreError, match=r"Store\.ping failed"):
            Store(dead).ping()
        with pytest.raises(StoreError, match="upgrade failed"):
            upgrade(dead)
    finally:
        dead.dispose()
