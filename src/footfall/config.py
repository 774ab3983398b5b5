"""Configuration of one footfall installation: every option, its default and why."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from footfall.clock import Clock, system_clock
from footfall.ingest.client_ip import parse_trusted_proxies

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
    """All options of an :class:`~footfall.Analytics`; every one has a sensible default."""

    database_url: str = "sqlite:///footfall.db"
    """SQLAlchemy URL: ``sqlite:///path.db`` (default, one file) or
    ``postgresql+psycopg://user@host/db``."""
    retention_days: int = 90
    """Raw events older than this are deleted."""
    api_base_path: str = "/api/data"
    """Prefix of the HTTP API: events arrive at ``{api_base_path}/analytics/event``."""
    site_base_path: str = "/pages"
    """Prefix of the pages: the dashboard lives at ``{site_base_path}/analytics``."""
    timezone: str = "UTC"
    """IANA time zone in which days, weeks and months of the reports are counted."""
    trusted_proxies: Sequence[str] = ()
    """Addresses or CIDR networks of reverse proxies whose ``X-Forwarded-For``,
    ``Forwarded`` and ``X-Real-IP`` headers are believed. Nobody else's are."""
    country_header: str | None = None
    """A header set by a trusted edge carrying the visitor's country code, such as
    ``CF-IPCountry``. Consulted before ``geoip_database``."""
    geoip_database: str | Path | None = None
    """Path of a MaxMind GeoLite2-Country or DB-IP Country Lite ``.mmdb`` file."""
    hostnames: Sequence[str] | None = None
    """If set, only events for these hosts are kept (``example.com``, ``*.example.com``)."""
    exclude_paths: Sequence[str] = ()
    """Glob patterns of paths never counted, such as ``/admin/*``."""
    rate_limit_per_minute: int | None = 600
    """Events accepted per minute from one truncated IP address (a /24 or /48 network);
    ``None`` turns rate limiting off."""
    on_before_ingest: IngestHook | None = None
    on_after_ingest: IngestHook | None = None
    authorize: Authorize | None = None
    """Embedded mode: decides who may see the dashboard and the query API."""
    admin_token: str | None = None
    """Standalone mode: the bearer token of the administrator."""
    public_counters: bool = False
    """Make the page counters (``page-stats`` and the badge) readable by anyone."""
    max_batch_size: int = 1000
    """Most events written in one transaction by the group-commit writer."""
    clock: Clock = field(default=system_clock, repr=False)
    """Where "now" comes from; tests pass their own."""

    def __post_init__(self) -> None:
        if self.retention_days < 1:
            raise ValueError(f"retention_days must be at least 1, not {self.retention_days}")
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
        if self.geoip_database is not None and not Path(self.geoip_database).is_file():
            raise ValueError(f"geoip_database {str(self.geoip_database)!r} is not a file")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
