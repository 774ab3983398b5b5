"""Configuration of one footfall installation: every option, its default and why."""

from __future__ import annotations

import difflib
import os
import re
import types
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from footfall.clock import Clock, system_clock
from footfall.ingest.client_ip import parse_trusted_proxies
from footfall.query.funnels import Funnel
from footfall.query.goals import Goal
from footfall.store.database import database_url

if TYPE_CHECKING:
    from footfall.ingest.event import Event
    from footfall.ingest.pipeline import IngestContext

IngestHook = Callable[["Event", "IngestContext"], Awaitable[None] | None]
"""``on_before_ingest`` / ``on_after_ingest``: a plain or ``async`` callable.

``on_before_ingest`` may change the event in place, or raise to drop it (``DropEvent`` for a
quiet drop, anything else is also logged). ``on_after_ingest`` runs once the event is
committed; what it raises is logged and never reaches the sender.
"""

Authorize = Callable[[Any], Awaitable[bool] | bool]
"""``authorize(request) -> bool``: may this request see the dashboard and query API?"""

_BASE_PATH = re.compile(r"^(/[A-Za-z0-9._~-]+)*$")


@dataclass(frozen=True, kw_only=True)
class Config:
    """All options of an ``Analytics`` object; every one has a sensible default.

    Frozen, keywords only. Creating it checks every option's type and value and raises
    ``ValueError`` naming a bad one (a string where a list is expected, a path pattern
    without its leading ``/``); ``Analytics(...)`` also refuses an unknown option, with the
    name meant. The database URL and the contents of ``geoip_database`` are checked only
    when the database is opened.
    """

    database_url: str = "sqlite:///footfall.db"
    """SQLAlchemy URL: ``sqlite:///path.db`` (default, one file) or
    ``postgresql+psycopg://user@host/db``."""
    retention_days: int = 90
    """Raw events older than this many days (24 hours each) are deleted, with the
    dropped-event counts of those days. At least 1. The purge runs at start and hourly under
    ``async with analytics`` (and so in ``footfall serve``), and on demand with
    ``footfall purge`` or ``analytics.purge()``."""
    rollup_retention_days: int | None = None
    """Days the rollups (the per-day numbers every report reads once a day is over) are
    kept; ``None``, the default, keeps them for ever, so year and all-time reports outlive
    the raw events. At least ``retention_days`` when set."""
    api_base_path: str = "/api/data"
    """Prefix of the HTTP API: events arrive at ``{api_base_path}/analytics/event``."""
    site_base_path: str = "/pages"
    """Prefix of the pages: the dashboard lives at ``{site_base_path}/analytics``."""
    timezone: str = "UTC"
    """IANA time zone in which the reports count their days, hours and months, daylight
    saving included (the periods of the aggregation API, the dashboard and the HTTP CSV
    export). Stored timestamps, salts, retention and ``footfall export`` always use UTC."""
    trusted_proxies: str | Sequence[str] = ()
    """Addresses or CIDR networks of reverse proxies whose ``X-Forwarded-For``,
    ``Forwarded`` and ``X-Real-IP`` headers are believed. Nobody else's are. Also decides
    whether ``country_header`` is read. A string, and each entry of a list, may hold several
    values separated by commas or whitespace (``"10.0.0.1, 10.0.0.0/8"``)."""
    country_header: str | None = None
    """A header set by a trusted edge carrying the visitor's country code, such as
    ``CF-IPCountry``. Consulted before ``geoip_database``, and read only when the request's
    TCP peer is one of the ``trusted_proxies``."""
    geoip_database: str | Path | None = None
    """Path of a DB-IP Country Lite or MaxMind GeoLite2-Country ``.mmdb`` file (City
    databases work too), looked up with the truncated address. It must be an existing file.
    Unset, footfall reads ``dbip-country-lite.mmdb`` beside the SQLite database (in the
    working directory with PostgreSQL) once ``footfall geoip update`` has put it there."""
    hostnames: Sequence[str] | None = None
    """If set, only events for these hosts are kept (``example.com``, ``*.example.com``):
    case-insensitive shell-style globs; ``*.example.com`` does not match ``example.com``.
    Other events are dropped with the reason ``hostname``."""
    exclude_paths: Sequence[str] = ()
    """Glob patterns of paths never counted, such as ``/admin/*`` (case-sensitive; ``*``
    also matches ``/``; matched against the path without its query string). Such events are
    dropped with the reason ``excluded_path``."""
    rate_limit_per_minute: int | None = 600
    """Events accepted per minute from one truncated IP address (a /24 or /48 network);
    ``None`` turns rate limiting off. Counted per process, unless ``rate_limit_file`` is
    set."""
    rate_limit_file: str | None = None
    """A file in which several processes share the rate limit's counts (a table of about
    6 MB, mapped into memory), so that a network gets its ``rate_limit_per_minute`` once
    across them. ``footfall serve --workers N`` sets one for its workers."""
    on_before_ingest: IngestHook | None = None
    """Called as ``hook(event, context)`` (plain or ``async``) after every filter and
    enrichment step, just before the write. It may change the event in place, or raise to
    drop it: ``DropEvent`` quietly, any other exception with a logged traceback."""
    on_after_ingest: IngestHook | None = None
    """Called as ``hook(event, context)`` (plain or ``async``) once the event is committed;
    the sender's answer waits for it. What it raises is logged and never reaches the
    sender."""
    authorize: Authorize | None = None
    """Embedded mode: ``authorize(request) -> bool``, plain or ``async``, called with the
    Starlette ``Request``; decides who may see the dashboard, the query API and the CSV
    export. When it says no, the ``admin_token`` is tried, then the answer is 403."""
    admin_token: str | None = None
    """Standalone mode: the bearer token of the administrator, also exchanged for the
    dashboard's session cookie by the login link. Compared in constant time. Works embedded
    too, next to ``authorize``. At least 16 characters, and random."""
    public_counters: bool = False
    """Make the page counters (``page-stats`` and the badge) readable by anyone; every
    other report still needs ``authorize`` or the token."""
    development: bool = False
    """Development mode: the tracker tags footfall writes (``inject_script``,
    ``script_tag(analytics)``) count visits from localhost and from automated browsers
    (Playwright, Selenium), which a live site ignores. The browser's console says why the
    tracker sent nothing when it skips."""
    goals: Sequence[Goal | str] = ()
    """The conversions the dashboard's goals panel counts, each a ``Goal`` or its text:
    ``event:Signup`` (a custom event), ``event:Signup;plan=pro`` (with one property
    value) or ``page:/pricing`` (a page view; ``*`` matches any characters, as in
    ``page:/blog/*``)."""
    funnels: Sequence[Funnel | str] = ()
    """The funnels the dashboard can show, each a ``Funnel`` or its text: a name, then two
    steps or more as goals are written, ``Signup flow: page:/pricing > page:/signup >
    event:Signup``: the visitors whose visit took them in order, step by step."""
    embed_origins: Sequence[str] = ()
    """The origins (``https://example.com``) whose pages may show a shared link of the
    dashboard in an iframe; none by default (the Content-Security-Policy's
    ``frame-ancestors``). The dashboard itself is never framed."""
    max_batch_size: int = 1000
    """Most events written in one transaction by the group-commit writer."""
    clock: Clock = field(default=system_clock, repr=False)
    """Where "now" comes from (an aware ``datetime`` in UTC): event timestamps, report
    periods and the retention cutoff. Tests pass their own."""

    def __post_init__(self) -> None:
        _check_types(self)
        _check_patterns(self)
        database_url(self.database_url)  # raises ValueError saying how to write it
        if self.retention_days < 1:
            raise ValueError(f"retention_days must be at least 1, not {self.retention_days}")
        if self.rollup_retention_days is not None and (
            self.rollup_retention_days < self.retention_days
        ):
            raise ValueError(
                f"rollup_retention_days ({self.rollup_retention_days}) must be at least "
                f"retention_days ({self.retention_days}), or None to keep rollups for ever"
            )
        for name in ("api_base_path", "site_base_path"):
            value = getattr(self, name)
            if not _BASE_PATH.match(value):
                raise ValueError(
                    f"{name} must look like '/api/data' (leading slash, no trailing slash), "
                    f"not {value!r}"
                )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r}") from None
        if self.rate_limit_per_minute is not None and self.rate_limit_per_minute < 1:
            raise ValueError("rate_limit_per_minute must be positive, or None for no limit")
        if self.max_batch_size < 1:
            raise ValueError("max_batch_size must be positive")
        # Accept "10.0.0.1, 10.0.0.2" as well as a list (the environment has only strings).
        entries = (
            [self.trusted_proxies]
            if isinstance(self.trusted_proxies, str)
            else self.trusted_proxies
        )
        proxies = tuple(v for entry in entries for v in re.split(r"[\s,]+", entry) if v)
        object.__setattr__(self, "trusted_proxies", proxies)
        parse_trusted_proxies(self.trusted_proxies)  # raises ValueError naming a bad entry
        if self.admin_token is not None and not _random_enough(self.admin_token):
            raise ValueError(
                "admin_token must be at least 16 characters and random: it opens every "
                "report to whoever guesses it (python -c 'import secrets; "
                "print(secrets.token_urlsafe())' makes one)"
            )
        origins = (
            [self.embed_origins] if isinstance(self.embed_origins, str) else self.embed_origins
        )
        origins = tuple(v for entry in origins for v in re.split(r"[\s,]+", entry) if v)
        for origin in origins:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"embed_origins: {origin!r} is not an origin (https://example.com, with "
                    "a port if not the default one; no path)"
                )
        object.__setattr__(self, "embed_origins", origins)
        goals = tuple(g if isinstance(g, Goal) else Goal.parse(g) for g in self.goals)
        object.__setattr__(self, "goals", goals)
        funnels = tuple(f if isinstance(f, Funnel) else Funnel.parse(f) for f in self.funnels)
        if len({f.name for f in funnels}) < len(funnels):
            raise ValueError("two funnels have the same name")
        object.__setattr__(self, "funnels", funnels)
        if self.geoip_database is not None and not Path(self.geoip_database).is_file():
            raise ValueError(f"geoip_database {str(self.geoip_database)!r} is not a file")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


_ORIGIN = re.compile(r"https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?")
"""An origin as a Content-Security-Policy names it: nothing a policy would read otherwise."""


def _random_enough(token: str) -> bool:
    """At least 16 characters, of at least 8 different ones: "change-me" and
    "aaaaaaaaaaaaaaaa" are out; what ``secrets.token_urlsafe`` makes is in."""
    return len(token) >= 16 and len(set(token)) >= 8


def config_from(options: Mapping[str, Any]) -> Config:
    """A ``Config`` of ``options``; an unknown name is a ``ValueError`` that suggests the
    option meant (a misspelt option would otherwise be a ``TypeError`` about ``__init__``)."""
    known = [option.name for option in fields(Config)]
    for name in options:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"unknown option {name!r}{hint}")
    return Config(**options)


# -- checks ------------------------------------------------------------------------------------


@cache
def _option_types() -> dict[str, Any]:
    # The hooks' argument types are imported for type checkers only; a check needs to know
    # that a hook is callable, not what it is called with.
    return get_type_hints(Config, localns={"Event": Any, "IngestContext": Any})


def _check_types(config: Config) -> None:
    """Refuse an option of the wrong type by name: a string where a list of patterns is
    expected would be read one character at a time (``exclude_paths="/docs*"`` excluded
    every path, since ``"*"`` matches them all)."""
    for option in fields(Config):
        value = getattr(config, option.name)
        expected = _option_types()[option.name]
        if _is(value, expected):
            continue
        if isinstance(value, str) and _is([value], expected):
            raise ValueError(
                f"{option.name} must be a list of strings, such as [{value!r}], "
                f"not the string {value!r}"
            )
        raise ValueError(
            f"{option.name} must be {_describe(expected)}, not {value!r} ({type(value).__name__})"
        )


def _is(value: Any, expected: Any) -> bool:
    origin = get_origin(expected)
    if origin in (Union, types.UnionType):
        return any(_is(value, choice) for choice in get_args(expected))
    if expected is type(None):
        return value is None
    if expected is Any:
        return True
    if origin is Callable or expected is Callable:
        return callable(value)
    if origin is Sequence:
        (item,) = get_args(expected)
        return isinstance(value, list | tuple) and all(_is(v, item) for v in value)
    if origin is not None:
        return isinstance(value, origin)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is Path:
        return isinstance(value, os.PathLike)
    return isinstance(value, expected)


def _describe(expected: Any) -> str:
    origin = get_origin(expected)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(choice) for choice in get_args(expected))
    if origin is Callable or expected is Callable:
        return "a function"
    if origin is Sequence:
        return "a list of strings"
    names = {type(None): "None", int: "a whole number", bool: "True or False", str: "a string"}
    return names.get(expected, f"a {getattr(expected, '__name__', expected)}")


_PORT = re.compile(r"[^:]+:\d+")


def _check_patterns(config: Config) -> None:
    """Refuse patterns that can never match: a path pattern without its leading slash, a
    URL or a port among the hostnames (events carry the bare host name)."""
    for pattern in config.exclude_paths:
        if not pattern.startswith(("/", "*")):
            raise ValueError(
                f"exclude_paths pattern {pattern!r} never matches: paths start with '/' "
                f"(did you mean {'/' + pattern!r}?)"
            )
    for host in config.hostnames or ():
        if "/" in host or _PORT.fullmatch(host):
            bare = re.split(r"[:/]", host.split("://")[-1])[0]
            raise ValueError(
                f"hostnames entry {host!r} is not a host name: give the host alone, "
                f"such as {bare!r}"
            )
