"""INSERT statements whose ON CONFLICT spelling differs between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite


def insert_for(dialect_name: str, table: Table) -> Any:
    """The dialect's own INSERT construct, which offers ``on_conflict_do_*``."""
    module = postgresql if dialect_name == "postgresql" else sqlite
    return module.insert(table)


def insert_or_ignore(dialect_name: str, table: Table) -> Any:
    """INSERT that silently keeps the existing row on a primary-key conflict."""
    return insert_for(dialect_name, table).on_conflict_do_nothing()
