"""Run the versioned schema migrations (Alembic) at start-up."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from footfall.store.database import write_connection

MIGRATIONS = Path(__file__).with_name("migrations")
_LOCK_ID = 0x666F6F74  # "foot": the PostgreSQL advisory lock serialising concurrent starts


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database up to ``revision``; safe when several workers start at once."""
    config = alembic_config()
    with write_connection(engine) as connection, connection.begin():
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
