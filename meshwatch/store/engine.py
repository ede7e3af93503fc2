"""Create the engine: SQLite (WAL) by default, PostgreSQL through psycopg 3.

Nothing here runs at import; `make_engine` is called by the CLI / app factory with the URL
from settings (`MESHWATCH_DATABASE_URL`).
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.pool import ConnectionPoolEntry, Pool, StaticPool

from meshwatch.errors import StoreError

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///./meshwatch.db"
WRITE_OPTION = "meshwatch_write"


def normalize_url(url: str | URL) -> URL:
    """Parse `url`; `postgres://` and `postgresql://` mean psycopg 3 (psycopg2 is not used)."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with the URL in it
        raise StoreError(f"invalid database URL: {exc}") from exc
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(
            f"unsupported database {parsed.get_backend_name()!r}; use sqlite:/// or "
            "postgresql+psycopg://"
        )
    return parsed


def make_engine(
    url: str | URL = DEFAULT_URL, *, busy_timeout_ms: int = 10_000, durable: bool = True
) -> Engine:
    """An engine for `url`.

    SQLite: WAL journal (readers never block the writer), `busy_timeout` so concurrent
    writers wait instead of failing, foreign keys on, and write transactions that start with
    `BEGIN IMMEDIATE` (see `writer`). `durable=False` sets `synchronous=NORMAL` (a power cut
    may lose the last commits, never corrupt). PostgreSQL: psycopg 3 with pre-ping.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "postgresql":
        return create_engine(parsed, pool_pre_ping=True, json_serializer=compact_json)
    kwargs: dict[str, Any] = {"json_serializer": compact_json}
    memory = parsed.database in (None, "", ":memory:")
    if memory:  # one shared connection, or every connection would see its own empty database
        kwargs |= {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    engine = create_engine(parsed, **kwargs)
    _configure_sqlite(engine, busy_timeout_ms=busy_timeout_ms, durable=durable, wal=not memory)
    return engine


# orjson refuses, instead of writing in its own way, what the standard library would write
# differently or refuse itself: subclasses (enums of str/int), dataclasses and datetimes
_ORJSON_REFUSES = (
    orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
)


def compact_json(value: Any) -> str:
    """JSON without spaces, and strict: NaN/Infinity are refused on SQLite as on PostgreSQL.

    orjson writes it: 8x faster than the standard library over a status row's four maps,
    which was a third of a cycle's store write at 10,000 SLOs. orjson writes NaN and the
    infinities as `null`, so any answer with a `null` in it, and anything orjson refuses
    (non-string keys, subclasses, datetimes, integers past 64 bits, lone surrogates), is
    written by the standard library instead, which refuses NaN/Infinity and coerces keys
    as before. Floats come out in their shortest round-tripping form either way.
    """
    try:
        text = orjson.dumps(value, option=_ORJSON_REFUSES)
    except orjson.JSONEncodeError:
        text = None
    if text is None or b"null" in text:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    return text.decode()


def strict_json(value: Any) -> str:
    """`compact_json` of a value already strict (no NaN or infinity anywhere, as
    `codec.status_row` makes the per-window maps): orjson's text as it is, `null`s and all,
    which `compact_json` hands to the standard library (every unknown window of every status,
    every cycle). It does not check: a NaN given anyway is written as `null`, as orjson
    writes it. Anything orjson refuses still goes to `compact_json`."""
    try:
        return orjson.dumps(value, option=_ORJSON_REFUSES).decode()
    except orjson.JSONEncodeError:
        return compact_json(value)


class Writer:
    """Begins write transactions on the engine's pool (`with writer(engine).begin() as conn`).

    On SQLite they begin with `BEGIN IMMEDIATE`: the write lock is taken (waiting up to
    `busy_timeout`) before the first read, so read-then-write transactions cannot fail with
    SQLITE_BUSY half-way. SQLite allows one writer at a time, and its busy handler waits by
    sleeping (up to 100 ms per try), so writer threads of one process first queue on an
    in-process lock per database; without it, concurrent webhook deliveries saw p99 latencies
    of a second. On PostgreSQL both changes are no-ops.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine.execution_options(**{WRITE_OPTION: True})
        self._lock: AbstractContextManager[Any] = (
            _sqlite_write_lock(engine) if engine.dialect.name == "sqlite" else nullcontext()
        )

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self._lock, self.engine.begin() as conn:
            yield conn


_SQLITE_WRITE_LOCKS: weakref.WeakKeyDictionary[Pool, threading.RLock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def _sqlite_write_lock(engine: Engine) -> threading.RLock:
    with _LOCKS_GUARD:
        return _SQLITE_WRITE_LOCKS.setdefault(engine.pool, threading.RLock())


def writer(engine: Engine) -> Writer:
    """Write transactions on `engine` (see `Writer`)."""
    return Writer(engine)


def _configure_sqlite(engine: Engine, *, busy_timeout_ms: int, durable: bool, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if wal:
                mode = cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    log.warning("SQLite refused WAL journal mode (got %s)", mode)
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def upsert(conn: Connection, table: Any) -> sqlite.Insert | postgresql.Insert:
    """`INSERT` with `ON CONFLICT` support for the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
