"""Alembic migrations, configured in code (no alembic.ini at runtime).

`serve` calls `upgrade(engine)` before it starts. Concurrent upgrades are serialized: on
PostgreSQL by an advisory lock, on SQLite by the write lock (`BEGIN IMMEDIATE`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL, Connection

from meshwatch.store.engine import make_engine, writer
from meshwatch.store.errors import store_errors

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_ADVISORY_LOCK = 0x6D657368  # "mesh"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations, optionally bound to a connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(MIGRATIONS / "versions"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@store_errors
def upgrade(target: Engine | str | URL, revision: str = "head") -> None:
    """Migrate the database to `revision` (default: the newest)."""
    engine = target if isinstance(target, Engine) else make_engine(target)
    try:
        with writer(engine).begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})
            command.upgrade(alembic_config(conn), revision)
    finally:
        if engine is not target:
            engine.dispose()
    log.info("database schema at %s", revision)


def head_revision() -> str:
    """The newest migration shipped with this version of meshwatch."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations packaged")
    return head


@store_errors
def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None when it was never migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
