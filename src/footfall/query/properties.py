"""An event's properties in SQL, spelled for SQLite and PostgreSQL alike: the key and value
rows of its stored JSON object, each value as the text a report shows, and the one rollup
value (``PROPERTY``) that names an event, a key and a value.

The rollups keep a property value as a dimension value like a page's path: one text per
(event name, key, value). That text is a JSON array of the three, so no name, key or value
can run into another, whatever characters they hold, and each is read back with the
database's own JSON functions.

Each construct compiles to its dialect's spelling (SQLAlchemy's ``compiles``), so the code
that builds a roll-up or a report needs no dialect of its own to use them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, literal_column, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

PROPERTY = "prop"
"""The dimension (and stored item kind) of an event's property values."""


class _pairs(FunctionElement[Any]):
    """The ``(key, value)`` rows of a JSON object column (SQLite's ``json_each`` adds
    ``type``, which ``_text`` reads there)."""

    name = "property_pairs"
    inherit_cache = True


@compiles(_pairs, "sqlite")
def _pairs_sqlite(element: _pairs, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_each({compiler.process(element.clauses, **kw)})"


@compiles(_pairs, "postgresql")
def _pairs_postgresql(element: _pairs, compiler: SQLCompiler, **kw: Any) -> str:
    return f"jsonb_each_text(CAST({compiler.process(element.clauses, **kw)} AS JSONB))"


class _text(FunctionElement[str]):
    """A property's value as text: ``true``, ``false`` and ``null`` spelled out (SQLite's
    JSON gives 1, 0 and NULL for them), a number as the database writes it."""

    name = "property_text"
    type = String()
    inherit_cache = True


@compiles(_text, "sqlite")
def _text_sqlite(element: _text, compiler: SQLCompiler, **kw: Any) -> str:
    value, kind = (compiler.process(c, **kw) for c in element.clauses)
    return (
        f"CASE {kind} WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
        f"WHEN 'null' THEN 'null' ELSE CAST({value} AS TEXT) END"
    )


@compiles(_text, "postgresql")
def _text_postgresql(element: _text, compiler: SQLCompiler, **kw: Any) -> str:
    value, _ = element.clauses
    return f"coalesce({compiler.process(value, **kw)}, 'null')"


class _encoded(FunctionElement[str]):
    """``PROPERTY``'s value of an event name, a key and a value's text."""

    name = "property_value"
    type = String()
    inherit_cache = True


@compiles(_encoded, "sqlite")
def _encoded_sqlite(element: _encoded, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_array({compiler.process(element.clauses, **kw)})"


@compiles(_encoded, "postgresql")
def _encoded_postgresql(element: _encoded, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(json_build_array({compiler.process(element.clauses, **kw)}) AS TEXT)"


class _part(FunctionElement[str]):
    """One of the event name (0), key (1) and value (2) of a ``PROPERTY`` value."""

    name = "property_part"
    type = String()
    inherit_cache = True


@compiles(_part, "sqlite")
def _part_sqlite(element: _part, compiler: SQLCompiler, **kw: Any) -> str:
    value, index = (compiler.process(c, **kw) for c in element.clauses)
    return f"json_extract({value}, '$[{index}]')"


@compiles(_part, "postgresql")
def _part_postgresql(element: _part, compiler: SQLCompiler, **kw: Any) -> str:
    value, index = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CAST({value} AS JSON) ->> {index})"


def property_rows(events: Any) -> tuple[Any, Any, Any]:
    """``(from, key, text)``: ``events`` (``custom_event`` or an alias of it) joined to the
    rows of its properties, and each row's key and value as text."""
    pairs = _pairs(events.c.properties).table_valued("key", "value", "type")
    joined = events.join(pairs, true())
    return joined, pairs.c.key, _text(pairs.c.value, pairs.c.type)


def property_source(events: Any) -> tuple[Any, Any]:
    """``(from, value)``: ``property_rows`` with each row's ``PROPERTY`` value."""
    joined, key, text = property_rows(events)
    return joined, _encoded(events.c.name, key, text)


def property_part(value: Any, index: int) -> Any:
    """The event name (0), key (1) or value (2) of the ``PROPERTY`` value ``value``."""
    return _part(value, literal_column(str(int(index))))


def property_of(properties: Any, key: str) -> Any:
    """The text of the property ``key`` in a JSON object column (``properties``), NULL for
    an event without it: what a property filter compares."""
    pairs = _pairs(properties).table_valued("key", "value", "type")
    found = _text(pairs.c.value, pairs.c.type)
    return select(found).where(pairs.c.key == key).scalar_subquery()
