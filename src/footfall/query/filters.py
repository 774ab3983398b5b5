"""Filters that narrow every number of a report the same way.

A filter selects *visits*: those with, inside the period, an event that matches it. Visit
attributes (referrer source, country, device, browser, OS) are the same for every event
of a visit; ``page`` and ``event`` match a page view of that path or a custom event of
that name. Every metric is then computed over the selected visits, and ``page`` and
``event`` also narrow what is counted as page views, pages and events, which is what a
click on a row of those lists means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from footfall.query.ranges import InvalidQuery

DIRECT = "Direct / None"
UNKNOWN = "(unknown)"
_MAX_LENGTH = 2000


def empty_value(attribute: str) -> str:
    """How the lists show a visit attribute's missing value (and how a filter names it)."""
    return DIRECT if attribute == "source" else UNKNOWN


def attribute_is(column: Any, attribute: str, value: str) -> Any:
    """The SQL condition of the filter ``attribute=value`` on a visit attribute's column:
    the empty value selects the visits without one."""
    return column.is_(None) if value == empty_value(attribute) else column == value


@dataclass(frozen=True, slots=True)
class Filters:
    page: str | None = None
    """A path, as in the top pages list."""
    source: str | None = None
    """A referrer source, as in the top referrers list (``Direct / None`` included)."""
    country: str | None = None
    device: str | None = None
    browser: str | None = None
    os: str | None = None
    event: str | None = None
    """A custom event name."""

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> Filters:
        """Read the filters from query parameters of the same names."""
        values: dict[str, str] = {}
        for f in fields(cls):
            value = params.get(f.name)
            if value is None or value == "":
                continue
            if len(value) > _MAX_LENGTH:
                raise InvalidQuery(f.name, f"must be at most {_MAX_LENGTH} characters")
            values[f.name] = value
        return cls(**values)

    @property
    def visit_level(self) -> dict[str, str]:
        """The filters on attributes of the whole visit."""
        names = ("source", "country", "device", "browser", "os")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self))

    def to_dict(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}
