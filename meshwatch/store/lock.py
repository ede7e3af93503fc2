"""Leadership through a PostgreSQL session-level advisory lock.

Several `meshwatch serve` replicas share one PostgreSQL; exactly one of them may evaluate,
remediate, deliver notifications and write reports. That one holds
`pg_try_advisory_lock(key)` on a connection of its own, kept open (AUTOCOMMIT, so never idle
in a transaction). PostgreSQL releases a session lock when the session ends, so a replica
that dies or loses its connection loses leadership; the others try again every few seconds
and one of them wins. SQLite has a single writer process by construction: there the lock is
always held (`AlwaysLeader`).
"""

from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from meshwatch.store.engine import normalize_url

log = logging.getLogger(__name__)

DEFAULT_LOCK_KEY = 0x6D776C64  # "mwld"; the migration lock uses another key ("mesh")

# The lock connection must notice a dead peer in seconds, not after the kernel's 2 hours.
_CONNECT_ARGS = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "options": "-c statement_timeout=5000",
}


class LeaderLock(Protocol):
    """One method to ask "am I the leader now?" (acquiring the lock when it is free)."""

    def try_acquire(self) -> bool: ...

    def release(self) -> None: ...


class AlwaysLeader:
    """The lock of a single-process store (SQLite) or of a replica with election turned off."""

    def try_acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None


class AdvisoryLock:
    """`pg_try_advisory_lock(key)` held on a dedicated connection while this replica leads.

    `try_acquire` is cheap and safe to call every few seconds: a leader checks that its
    session is still alive (a dead session means the lock is gone), a follower opens a
    connection, tries the lock and closes the connection again when someone else holds it.
    """

    def __init__(self, url: str, key: int = DEFAULT_LOCK_KEY) -> None:
        self.key = key
        self._engine: Engine = create_engine(
            normalize_url(url), poolclass=NullPool, connect_args=_CONNECT_ARGS
        )
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        if self._conn is not None:
            return self._still_held(self._conn)
        try:
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except SQLAlchemyError as exc:
            log.warning("leader lock: cannot connect: %s", type(exc).__name__)
            return False
        try:
            won = bool(
                conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
            )
        except SQLAlchemyError as exc:
            log.warning("leader lock: pg_try_advisory_lock failed: %s", type(exc).__name__)
            won = False
        if won:
            self._conn = conn
        else:
            conn.close()
        return won

    def _still_held(self, conn: Connection) -> bool:
        """True while our session lives and still holds the lock (it may have been killed)."""
        try:
            held = conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND pid = pg_backend_pid()"
                    " AND ((classid::bigint << 32) | objid::bigint) = :k"
                ),
                {"k": self.key},
            ).scalar()
        except SQLAlchemyError as exc:
            log.warning("leader lock: session lost: %s", type(exc).__name__)
            held = 0
        if held:
            return True
        self._drop()
        return False

    def release(self) -> None:
        """Give leadership up now (on shutdown), so a follower need not wait for a timeout."""
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            except SQLAlchemyError:
                log.warning("leader lock: unlock failed; the session end releases it")
            self._drop()
        self._engine.dispose()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except SQLAlchemyError:
                log.debug("leader lock: closing a dead connection failed", exc_info=True)


def leader_lock(database_url: str, key: int = DEFAULT_LOCK_KEY) -> LeaderLock:
    """An advisory lock on PostgreSQL; on SQLite the only process is the leader."""
    if normalize_url(database_url).get_backend_name() == "postgresql":
        return AdvisoryLock(database_url, key)
    return AlwaysLeader()
