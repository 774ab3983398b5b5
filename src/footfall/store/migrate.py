"""Run the versioned schema migrations (Alembic) at start-up, then the data builds they
plan (``store/visit_build.py``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from footfall.store.database import serialise_starts, write_connection
from footfall.store.visit_build import BuildProgress, build_visits

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(
    engine: Engine, revision: str = "head", *, progress: BuildProgress | None = None
) -> None:
    """Bring the database up to ``revision``; safe when several workers start at once.

    The schema changes are one transaction; a build of the ``visit`` table from the raw
    events that a migration planned follows, a day per transaction (resumed if an earlier
    start was interrupted), reporting each day to ``progress``."""
    config = alembic_config()
    with write_connection(engine) as connection, connection.begin():
        serialise_starts(connection)
        if revision != "head" or current_revisions(connection) != head_revisions():
            # Alembic logs each start at INFO: only when there is something to migrate.
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    build_visits(engine, progress)


def current_revisions(connection: Connection) -> set[str]:
    """The schema revisions the database is at (none for a database footfall never
    opened), read without Alembic's context, which logs at every start."""
    if not inspect(connection).has_table("alembic_version"):
        return set()
    return set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def head_revisions() -> set[str]:
    """The revisions ``migrate`` brings a database to."""
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())
