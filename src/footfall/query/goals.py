"""Goals: the events and pages a site counts as conversions, defined in its configuration.

A goal is a custom event (``event:Signup``), optionally with one property value
(``event:Signup;plan=pro``), or a visit to a page (``page:/pricing``; ``*`` matches any
characters, ``page:/blog/*``). Its numbers over a period: the visitors who reached it
(unique conversions), how often (total conversions: events, or page views) and the
conversion rate, those visitors over all of the period's visitors.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Goal:
    """One goal: ``event`` (with ``prop``, a ``(key, value)`` pair of its properties) or
    ``page``."""

    event: str | None = None
    prop: tuple[str, str] | None = None
    page: str | None = None

    def __post_init__(self) -> None:
        if (self.event is None) == (self.page is None):
            raise ValueError("a goal is an event or a page, one of the two")
        if self.page is not None and not self.page.startswith("/"):
            raise ValueError(f"a page goal's path starts with '/', not {self.page!r}")
        if self.prop is not None and self.event is None:
            raise ValueError("only an event goal has a property")

    @classmethod
    def parse(cls, text: str) -> Goal:
        """``event:Signup``, ``event:Signup;plan=pro`` or ``page:/blog/*``."""
        kind, _, rest = text.partition(":")
        if kind == "page" and rest:
            return cls(page=rest)
        if kind == "event" and rest:
            name, _, prop = rest.partition(";")
            if not prop:
                return cls(event=name)
            key, equals, value = prop.partition("=")
            if equals and key:
                return cls(event=name, prop=(key, value))
        raise ValueError(
            f"goal {text!r} is not 'event:<name>', 'event:<name>;<key>=<value>' or "
            "'page:<path>' (with * for any characters)"
        )

    @property
    def name(self) -> str:
        """How the goals panel names it: ``Signup``, ``Signup (plan: pro)``, ``Visit
        /blog/*``."""
        if self.page is not None:
            return f"Visit {self.page}"
        if self.prop is not None:
            return f"{self.event} ({self.prop[0]}: {self.prop[1]})"
        return str(self.event)

    @property
    def filter(self) -> dict[str, str] | None:
        """The dashboard filter that selects its converting visits, when there is one: the
        event's, or the page's (not a pattern's, nor a property's yet)."""
        if self.event is not None and self.prop is None:
            return {"event": self.event}
        if self.page is not None and "*" not in self.page:
            return {"page": self.page}
        return None

    def like(self) -> str:
        """A page goal's pattern as SQL LIKE (with ``\\`` escaping)."""
        assert self.page is not None
        escaped = self.page.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return escaped.replace("*", "%")
