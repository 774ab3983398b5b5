"""Temporary tables of one connection, for the steps of a roll-up.

Each name has one definition for the whole process: SQLAlchemy's statement cache knows a
table by its identity, so a table defined anew for every day made each statement that
reads it compile again (about 450 statements for six days, 80 of them cached; compiling
was half of a small day's roll-up)."""

from __future__ import annotations

from sqlalchemy import Column, Connection, MetaData, Table
from sqlalchemy.schema import SchemaItem

_DEFINED: dict[str, Table] = {}


def scratch_table(conn: Connection, name: str, *items: SchemaItem) -> Table:
    """The temporary table ``name`` of this connection, created empty. ``items`` (columns,
    indexes) define it on the first call; later calls must pass the same columns."""
    table = _DEFINED.get(name)
    if table is None:
        table = _DEFINED.setdefault(name, Table(name, MetaData(), *items, prefixes=["TEMPORARY"]))
    columns = [item.name for item in items if isinstance(item, Column)]
    if columns != [c.name for c in table.columns]:
        raise ValueError(f"scratch table {name} redefined: {columns}")
    table.drop(conn, checkfirst=True)  # left by a step that failed on this connection
    table.create(conn)
    return table
