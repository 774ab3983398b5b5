"""Filters that narrow every number of a report the same way.

A filter selects *visits*: those with, inside the period, an event that matches it. Visit
attributes (referrer source, country, device, browser, OS) are the same for every event
of a visit; ``page`` and ``event`` match a page view whose path (a custom event whose
name) matches. Every metric is then computed over the selected visits, and ``page`` and
``event`` also narrow what is counted as page views, pages and events, which is what a
click on a row of those lists means.

Each filter is a ``Filter``: one or several values, matched exactly or as parts of the
text, or the opposite. In a query string, the operator follows the name::

    country=US|DE       is one of                page~=/blog      contains
    country!=US         is not (none of)         page!~=/draft    does not contain

``|`` separates values; ``\\|`` is a ``|`` inside one, ``\\\\`` a backslash.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, and_, or_, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from footfall.query.properties import property_of
from footfall.query.ranges import InvalidQuery

DIRECT = "Direct / None"
UNKNOWN = "(unknown)"
_MAX_LENGTH = 2000
MAX_VALUES = 50
"""The most values one filter takes (``country=US|DE|...``)."""

OPERATORS = {"": "is", "!": "is not", "~": "contains", "!~": "does not contain"}
"""Each operator's suffix of the filter's name in a query string, and how it reads."""


def _split(text: str) -> tuple[str, ...]:
    """The values of a filter's text: split at each ``|`` not escaped by a backslash."""
    values: list[str] = []
    current: list[str] = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            current.append(next(chars, "\\"))
        elif char == "|":
            values.append("".join(current))
            current = []
        else:
            current.append(char)
    values.append("".join(current))
    return tuple(values)


def empty_value(attribute: str) -> str:
    """How the lists show a visit attribute's missing value (and how a filter names it)."""
    return DIRECT if attribute == "source" else UNKNOWN


def attribute_is(column: Any, attribute: str, value: str) -> Any:
    """The SQL condition of the filter ``attribute=value`` on a visit attribute's column:
    the empty value selects the visits without one."""
    return Filter((value,)).sql(column, attribute)


class _position(FunctionElement[int]):
    """Where a text first occurs in a column's value (1-based; 0: nowhere), case-sensitive
    on both databases (SQLite's ``LIKE`` folds ASCII case, PostgreSQL's does not)."""

    name = "text_position"
    type = Integer()
    inherit_cache = True


@compiles(_position, "sqlite")
def _position_sqlite(element: _position, compiler: SQLCompiler, **kw: Any) -> str:
    return f"instr({compiler.process(element.clauses, **kw)})"


@compiles(_position, "postgresql")
def _position_postgresql(element: _position, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strpos({compiler.process(element.clauses, **kw)})"


@dataclass(frozen=True, slots=True)
class Filter:
    """One dimension's condition: its value is one of ``values`` (``partial``: contains
    one of them), or, ``negated``, none of that holds.

    From Python, a plain string or a list of strings means *is one of*; the other
    operators are ``Filter.is_not("US")``, ``Filter.contains("/blog")`` and
    ``Filter.not_contains("/draft")``."""

    values: tuple[str, ...]
    negated: bool = False
    partial: bool = False

    @classmethod
    def is_not(cls, *values: str) -> Filter:
        return cls(tuple(values), negated=True)

    @classmethod
    def contains(cls, *values: str) -> Filter:
        return cls(tuple(values), partial=True)

    @classmethod
    def not_contains(cls, *values: str) -> Filter:
        return cls(tuple(values), negated=True, partial=True)

    @classmethod
    def parse(cls, name: str, suffix: str, text: str) -> Filter:
        """The filter of the query parameter ``name + suffix = text``."""
        return cls(_split(text), negated="!" in suffix, partial="~" in suffix).checked(
            name + suffix
        )

    def checked(self, param: str) -> Filter:
        """This filter, or ``InvalidQuery`` naming ``param`` if it cannot be one."""
        if not self.values or any(not v for v in self.values):
            raise InvalidQuery(param, "needs a value (several are separated by |)")
        if len(self.values) > MAX_VALUES:
            raise InvalidQuery(param, f"takes at most {MAX_VALUES} values")
        if any(not isinstance(v, str) for v in self.values):
            raise InvalidQuery(param, "values must be text")
        if any(len(v) > _MAX_LENGTH for v in self.values):
            raise InvalidQuery(param, f"must be at most {_MAX_LENGTH} characters")
        return self

    @property
    def suffix(self) -> str:
        """The operator's suffix in a query string (``OPERATORS``)."""
        return ("!" if self.negated else "") + ("~" if self.partial else "")

    @property
    def operator(self) -> str:
        """How the operator reads: ``is``, ``is not``, ``contains``, ``does not contain``."""
        return OPERATORS[self.suffix]

    @property
    def text(self) -> str:
        """The values as a query string spells them (``US|DE``)."""
        return "|".join(v.replace("\\", "\\\\").replace("|", "\\|") for v in self.values)

    @property
    def exact(self) -> str | None:
        """The value of a filter that is one value exactly (what rollups keep), or None."""
        if self.negated or self.partial or len(self.values) != 1:
            return None
        return self.values[0]

    def sql(self, column: Any, attribute: str | None = None) -> Any:
        """The SQL condition on ``column``: for a visit ``attribute``, its empty value
        (``Direct / None``, ``(unknown)``) selects NULL; a NULL contains nothing, and is
        not any value."""
        if self.partial:
            if self.negated:
                absent = (_position(column, v) == 0 for v in self.values)
                return or_(column.is_(None), and_(*absent))
            return or_(*(_position(column, v) > 0 for v in self.values))
        empty = empty_value(attribute) if attribute is not None else None
        known = [v for v in self.values if v != empty]
        has_empty = len(known) < len(self.values)
        if self.negated:
            kept = column.not_in(known) if known else true()
            return and_(column.is_not(None), kept) if has_empty else or_(column.is_(None), kept)
        parts = [column == known[0] if len(known) == 1 else column.in_(known)] if known else []
        if has_empty:
            parts.append(column.is_(None))
        return or_(*parts)

    def __str__(self) -> str:
        return f"{self.operator} {' or '.join(self.values)}"


FilterValue = str | Sequence[str] | Filter | None
"""What a filter argument of the Python API takes: a value, several values, a ``Filter``."""


def as_filter(name: str, value: FilterValue) -> Filter | None:
    """The ``Filter`` of a Python argument (``InvalidQuery`` naming ``name`` if bad)."""
    if value is None or value == "":
        return None
    if isinstance(value, Filter):
        return value.checked(name)
    if isinstance(value, str):
        return Filter((value,)).checked(name)
    if isinstance(value, Sequence):
        return Filter(tuple(value)).checked(name)
    raise InvalidQuery(name, "must be a value, a list of values or a footfall.Filter")


TAGGED = ("channel", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
"""The filters of a visit's channel and UTM tags."""
PROPERTY_PREFIX = "prop:"
"""What begins a property filter's query parameter: ``prop:author=Ann``."""


@dataclass(frozen=True, slots=True)
class Filters:
    """The filters of a report, one per dimension (a string or list given here becomes a
    ``Filter``), and per property key."""

    page: Filter | None = None
    """Paths, as in the top pages list."""
    source: Filter | None = None
    """Referrer sources, as in the top referrers list (``Direct / None`` included)."""
    country: Filter | None = None
    device: Filter | None = None
    browser: Filter | None = None
    os: Filter | None = None
    event: Filter | None = None
    """Custom event names."""
    channel: Filter | None = None
    """Channels (docs/aggregation.md#channels), as the channels list names them."""
    utm_source: Filter | None = None
    utm_medium: Filter | None = None
    utm_campaign: Filter | None = None
    utm_content: Filter | None = None
    utm_term: Filter | None = None
    """The UTM tags of the visit's entry page, as the UTM lists show them."""
    props: Mapping[str, Filter] | tuple[tuple[str, Filter], ...] = ()
    """Property values by key (``{"author": "Ann"}``): like ``page`` and ``event``, they
    match events (page views and custom events) with that value, and select their visits."""

    def __post_init__(self) -> None:
        for name in self.names():
            value = getattr(self, name)
            if not isinstance(value, Filter | None):
                object.__setattr__(self, name, as_filter(name, value))
        props = self.props
        if isinstance(props, Mapping):
            given = [(str(k), as_filter(PROPERTY_PREFIX + str(k), v)) for k, v in props.items()]
            props = tuple(sorted((k, f) for k, f in given if f is not None))
            object.__setattr__(self, "props", props)
        if any(not key or len(key) > _MAX_LENGTH for key, _ in props):
            raise InvalidQuery("props", "keys must be 1 to 2000 characters")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The dimensions a filter can be on (properties aside)."""
        return ("page", "source", "country", "device", "browser", "os", "event", *TAGGED)

    @classmethod
    def params(cls) -> tuple[str, ...]:
        """Every query parameter a filter can be given as: each name with each operator
        (and ``prop:<key>`` with each, ``is_property_param``)."""
        return tuple(name + suffix for name in cls.names() for suffix in OPERATORS)

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> Filters:
        """Read the filters from query parameters (``country=US``, ``page~=/blog``,
        ``prop:author!=Ann``)."""
        found: dict[str, Filter] = {}
        for name in cls.names():
            for suffix in OPERATORS:
                text = params.get(name + suffix)
                if text is None or text == "":
                    continue
                if name in found:
                    raise InvalidQuery(name + suffix, f"one filter of {name} at most")
                found[name] = Filter.parse(name, suffix, text)
        props: dict[str, Filter] = {}
        for param, text in params.items():
            if not is_property_param(param) or text == "":
                continue
            key, suffix = _property_key(param)
            if key in props:
                raise InvalidQuery(param, f"one filter of the property {key} at most")
            props[key] = Filter.parse(PROPERTY_PREFIX + key, suffix, text)
        return cls(**found, props=props)

    @property
    def tagged(self) -> dict[str, Filter]:
        """The filters on the channel and UTM tags of a visit, which its ``visit`` row
        holds (the events hold their own page's tags only)."""
        return {n: getattr(self, n) for n in TAGGED if getattr(self, n) is not None}

    @property
    def visit_level(self) -> dict[str, Filter]:
        """The filters on attributes of the whole visit."""
        names = ("source", "country", "device", "browser", "os")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def property_sql(self, properties: Any) -> Any | None:
        """The condition an event's JSON ``properties`` column meets to match every
        property filter, or None without one."""
        if not self.props:
            return None
        return and_(*(chosen.sql(property_of(properties, key)) for key, chosen in self.props))

    def exact(self, name: str) -> str | None:
        """The one value the filter ``name`` is exactly, or None."""
        chosen: Filter | None = getattr(self, name)
        return chosen.exact if chosen is not None else None

    def __iter__(self) -> Iterator[tuple[str, Filter]]:
        """``(name, filter)`` of each filter given (``prop:<key>`` for a property's)."""
        for name in self.names():
            value = getattr(self, name)
            if value is not None:
                yield name, value
        for key, value in self.props:
            yield PROPERTY_PREFIX + key, value

    def __bool__(self) -> bool:
        return any(True for _ in self)

    def to_params(self) -> dict[str, str]:
        """The filters as query parameters (``{"page~": "/blog"}``)."""
        return {name + chosen.suffix: chosen.text for name, chosen in self}

    def to_dict(self) -> dict[str, Any]:
        """The filters as the Python API's arguments (``props`` a dict)."""
        given: dict[str, Any] = {n: getattr(self, n) for n in self.names() if getattr(self, n)}
        if self.props:
            given["props"] = dict(self.props)
        return given


def is_property_param(param: str) -> bool:
    """Whether a query parameter is a property filter's (``prop:<key>``, an operator)."""
    return param.startswith(PROPERTY_PREFIX) and bool(_property_key(param)[0])


def _property_key(param: str) -> tuple[str, str]:
    """The key and operator suffix of a property filter's parameter."""
    name = param.removeprefix(PROPERTY_PREFIX)
    for suffix in ("!~", "!", "~"):
        if name.endswith(suffix):
            return name.removesuffix(suffix), suffix
    return name, ""
