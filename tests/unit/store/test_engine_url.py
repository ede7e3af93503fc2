"""Database URLs: PostgreSQL always through psycopg 3; only SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from meshwatch.errors import StoreError
from meshwatch.store import DEFAULT_URL, normalize_url


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        pytest.param(DEFAULT_URL, "sqlite", id="default-sqlite"),
        pytest.param("postgresql://u@db:5432/m", "postgresql+psycopg", id="plain-postgresql"),
        pytest.param("postgres://u@db/m", "postgresql+psycopg", id="postgres-scheme"),
        pytest.param("postgresql+psycopg://u@db/m", "postgresql+psycopg", id="explicit-psycopg"),
    ],
)
def test_supported_urls(url: str, driver: str) -> None:
    assert normalize_url(url).drivername == driver


@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param("mysql://u@db/m", "unsupported database 'mysql'", id="mysql"),
        pytest.param("not a url", "invalid database URL", id="garbage"),
    ],
)
def test_other_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        normalize_url(url)
