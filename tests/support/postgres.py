"""A fresh PostgreSQL database on the shared server (127.0.0.1:5432, trust auth), then dropped.

`database_or_skip` is the same for a test: an unreachable server skips it locally and fails
it under CI. `database_url` gives a test parametrized by store kind its database.

Only the database created here is touched: `meshwatch_<purpose>_<hex>`, dropped WITH (FORCE)
on exit, so a killed `meshwatch serve` still holding connections cannot keep it alive.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

SERVER_URL = os.environ.get(
    "MESHWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


class PostgresUnavailable(RuntimeError):
    pass


@contextmanager
def fresh_database(purpose: str) -> Iterator[str]:
    """Yield the URL of a new empty database; drop it afterwards."""
    admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    name = f"meshwatch_{purpose}_{uuid.uuid4().hex[:10]}"
    try:
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except OperationalError as exc:
            raise PostgresUnavailable(f"PostgreSQL at {SERVER_URL}: {exc.orig}") from exc
        try:
            yield admin.url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def database_or_skip(purpose: str) -> Iterator[str]:
    """`fresh_database(purpose)`; PostgreSQL unreachable: skip the test (fail it under CI)."""
    try:
        with fresh_database(purpose) as url:
            yield url
    except PostgresUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@contextmanager
def database_url(kind: str, tmp_path: Path, purpose: str) -> Iterator[str]:
    """kind `sqlite`: a file in `tmp_path`; otherwise a fresh PostgreSQL database."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'meshwatch.db'}"
        return
    with database_or_skip(purpose) as url:
        yield url
