"""`alembic upgrade head` creates exactly the schema of the models, on both engines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

from meshwatch.store import current_revision, head_revision, make_engine, upgrade
from meshwatch.store.migrate import alembic_config
from meshwatch.store.tables import Base

pytestmark = pytest.mark.integration


@pytest.fixture(
    params=[pytest.param("sqlite", id="sqlite"), pytest.param("postgresql", id="postgresql")]
)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database with no tables at all (PostgreSQL: a schema of its own in the session db)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    url: str = request.getfixturevalue("postgres_database")
    schema = f"empty_{tmp_path.name[-20:].lower().replace('-', '_')}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _diffs(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": _ours}
        )
        return list(compare_metadata(context, Base.metadata))


def _ours(name: str | None, type_: str, parent_names: object) -> bool:
    return type_ != "table" or name in Base.metadata.tables


def test_upgrade_head_equals_the_models(empty_engine: Engine) -> None:
    assert current_revision(empty_engine) is None
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head_revision()
    assert set(inspect(empty_engine).get_table_names()) >= set(Base.metadata.tables)
    assert _diffs(empty_engine) == []


def test_models_differ_from_an_empty_database(empty_engine: Engine) -> None:
    """The comparison above can fail: against no schema it reports every table missing."""
    diffs = _diffs(empty_engine)
    added = {diff[1].name for diff in diffs if isinstance(diff, tuple) and diff[0] == "add_table"}
    assert added == set(Base.metadata.tables)


def test_upgrade_is_idempotent_and_downgrade_removes_everything(empty_engine: Engine) -> None:
    from alembic import command

    upgrade(empty_engine)
    upgrade(empty_engine)  # a second `serve` start changes nothing
    with empty_engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert not set(inspect(empty_engine).get_table_names()) & set(Base.metadata.tables)
    upgrade(empty_engine)
    assert _diffs(empty_engine) == []


def test_upgrade_accepts_a_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'by-url.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_apscheduler_job_store_shares_the_database(empty_engine: Engine) -> None:
    """APScheduler keeps its own table next to ours; migrations and comparisons ignore it."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    upgrade(empty_engine)
    jobstore = SQLAlchemyJobStore(engine=empty_engine, tablename="apscheduler_jobs")
    scheduler = BackgroundScheduler(jobstores={"default": jobstore}, timezone=UTC)
    scheduler.start(paused=True)
    try:
        scheduler.add_job(
            "meshwatch.store.migrate:head_revision",
            "date",
            run_date=datetime(2100, 1, 1, tzinfo=UTC),
            id="report-weekly",
        )
        assert [job.id for job in jobstore.get_all_jobs()] == ["report-weekly"]
    finally:
        scheduler.shutdown(wait=False)
    assert "apscheduler_jobs" in inspect(empty_engine).get_table_names()
    upgrade(empty_engine)
    assert _diffs(empty_engine) == []
