"""Versioned migrations: run on start, idempotent, and never lose rows on upgrade."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from footfall.store.database import create_store_engine
from footfall.store.migrate import alembic_config, migrate


def _revisions() -> list[str]:
    """Every revision from the first to head."""
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def test_each_upgrade_keeps_the_rows_written_before_it(database_url):
    engine = create_store_engine(database_url)
    revisions = _revisions()
    assert revisions[0] == "0001"
    for revision in revisions:
        migrate(engine, revision)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO page_view (timestamp, path, hostname, visitor_id, session_id) "
                    "VALUES (:ts, :path, 'example.com', 1, 1)"
                ),
                {"ts": datetime(2026, 1, 1), "path": f"/{revision}"},
            )
    migrate(engine)  # at head already: nothing to do, nothing lost
    migrate(engine)
    with engine.connect() as conn:
        paths = conn.execute(sa.text("SELECT path FROM page_view ORDER BY id")).scalars().all()
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    engine.dispose()
    assert paths == [f"/{r}" for r in revisions]
    assert version == revisions[-1]


def test_schema_built_by_migrations_matches_the_metadata(database_url):
    """The tables the code uses are the tables the migrations make."""
    from footfall.store.schema import metadata

    engine = create_store_engine(database_url)
    migrate(engine)
    inspector = sa.inspect(engine)
    for table in metadata.sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name for c in table.columns}, table.name
        indexes = {i["name"] for i in inspector.get_indexes(table.name)}
        assert indexes >= {i.name for i in table.indexes}, table.name
    engine.dispose()


def test_concurrent_starts_migrate_once(database_url):
    from concurrent.futures import ThreadPoolExecutor

    engines = [create_store_engine(database_url) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(migrate, engines))
    with engines[0].connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    for engine in engines:
        engine.dispose()


def test_workers_starting_together_on_a_new_sqlite_file_all_start(tmp_path):
    """Switching a new file to WAL answers "database is locked" at once to the others (no
    busy handler): 8 of 60 such starts failed before the switch was retried."""
    from concurrent.futures import ThreadPoolExecutor

    for round in range(20):
        url = f"sqlite:///{tmp_path / f'new-{round}.db'}"
        engines = [create_store_engine(url) for _ in range(4)]
        try:
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(migrate, engines))
            with engines[0].connect() as conn:
                mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar_one()
            assert mode == "wal"
        finally:
            for engine in engines:
                engine.dispose()


def test_in_memory_sqlite_is_refused_with_a_reason():
    import pytest

    with pytest.raises(ValueError, match="SQLite file"):
        create_store_engine("sqlite://")
    with pytest.raises(ValueError, match="unsupported database URL"):
        create_store_engine("mysql://root@localhost/test")


def test_a_new_sqlite_file_is_readable_by_its_owner_alone(tmp_path):
    """It holds the day's salts and the admin token."""
    from footfall import Analytics

    analytics = Analytics(database_url=f"sqlite:///{tmp_path / 'private.db'}")
    analytics.track_sync("pageview", url="https://example.com/")
    analytics.close()
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes["private.db"] == 0o600
    assert all(mode == 0o600 for mode in modes.values()), modes
