"""Fixtures for the store tests: every repository test runs on SQLite and on PostgreSQL.

PostgreSQL is the shared server at 127.0.0.1:5432 (trust auth). Each test session creates
its own database `meshwatch_test_<hex>` and drops it afterwards; nothing else is touched.
Unreachable server: the PostgreSQL cases skip locally and fail under CI.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from meshwatch.store import Store, make_engine, upgrade
from meshwatch.store.tables import Base

SERVER_URL = os.environ.get(
    "MESHWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _unavailable(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Engine]:
    """An AUTOCOMMIT engine on the shared server's `test` database (for CREATE DATABASE)."""
    admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        admin.dispose()
        _unavailable(f"PostgreSQL at {SERVER_URL} is unreachable: {exc.orig}")
    yield admin
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_database(postgres_server: Engine) -> Iterator[str]:
    """URL of a fresh database created for this session (dropped at the end)."""
    name = f"meshwatch_test_{uuid.uuid4().hex[:12]}"
    with postgres_server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield str(postgres_server.url.set(database=name).render_as_string(hide_password=False))
    finally:
        with postgres_server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_engine(postgres_database: str) -> Iterator[Engine]:
    """The session database, migrated to head once."""
    engine = make_engine(postgres_database)
    upgrade(engine)
    yield engine
    engine.dispose()


def _truncate(engine: Engine) -> None:
    tables = ", ".join(f'"{table}"' for table in Base.metadata.tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY"))


@pytest.fixture(
    params=[pytest.param("sqlite", id="sqlite"), pytest.param("postgresql", id="postgresql")]
)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database on each engine."""
    if request.param == "sqlite":
        sqlite = make_engine(f"sqlite:///{tmp_path / 'meshwatch.db'}")
        upgrade(sqlite)
        yield sqlite
        sqlite.dispose()
        return
    postgres: Engine = request.getfixturevalue("postgres_engine")
    _truncate(postgres)
    yield postgres


@pytest.fixture
def store(engine: Engine) -> Store:
    return Store(engine)
