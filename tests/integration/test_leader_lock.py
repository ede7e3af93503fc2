"""AdvisoryLock against the real PostgreSQL: one holder, release, and a killed session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from meshwatch.store.lock import AdvisoryLock, AlwaysLeader, leader_lock

pytestmark = pytest.mark.integration

SERVER_URL = os.environ.get(
    "MESHWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture
def key() -> Iterator[int]:
    """A random key so parallel runs on the shared server never meet."""
    engine = create_engine(SERVER_URL)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        message = f"PostgreSQL at {SERVER_URL} is unreachable: {exc.orig}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    finally:
        engine.dispose()
    yield uuid.uuid4().int % 2**62


def test_one_holder_at_a_time_and_release_hands_over(key: int) -> None:
    first, second = AdvisoryLock(SERVER_URL, key), AdvisoryLock(SERVER_URL, key)
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        assert first.try_acquire()  # the holder keeps it
        first.release()
        assert second.try_acquire()
        assert not AdvisoryLock(SERVER_URL, key).try_acquire()
    finally:
        first.release()
        second.release()


def test_a_killed_session_loses_the_lock(key: int) -> None:
    leader, follower = AdvisoryLock(SERVER_URL, key), AdvisoryLock(SERVER_URL, key)
    admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    try:
        assert leader.try_acquire()
        with admin.connect() as conn:
            killed = (
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                        " AND ((classid::bigint << 32) | objid::bigint) = :k"
                    ),
                    {"k": key},
                )
                .scalars()
                .all()
            )
        assert killed == [True]
        assert follower.try_acquire()
        assert not leader.try_acquire()  # noticed: its session is gone
    finally:
        leader.release()
        follower.release()
        admin.dispose()


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        pytest.param("sqlite:///./meshwatch.db", AlwaysLeader, id="sqlite-always-leads"),
        pytest.param(SERVER_URL, AdvisoryLock, id="postgres-advisory-lock"),
    ],
)
def test_the_lock_follows_the_database(url: str, kind: type) -> None:
    lock = leader_lock(url)
    try:
        assert isinstance(lock, kind)
    finally:
        lock.release()
