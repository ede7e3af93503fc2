"""Session-wide fixtures of the integration tier."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from meshwatch.store import Store, make_engine, upgrade
from tests.support.backfilled import Backfilled, backfilled_prometheus


@pytest.fixture(scope="session")
def backfilled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backfilled]:
    """A Prometheus with 30 days of backfilled history and a live exporter, one per worker
    (blocks made once per run): tests.support.backfilled."""
    with backfilled_prometheus(tmp_path_factory) as stack:
        yield stack


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store in the test's directory."""
    url = f"sqlite:///{tmp_path / 'meshwatch.db'}"
    upgrade(url)
    store = Store(make_engine(url))
    yield store
    store.close()


@pytest.fixture
def store(sqlite_store: Store) -> Store:
    """The tier's store: SQLite (tests/integration/store/ runs on SQLite and PostgreSQL)."""
    return sqlite_store
