"""The event record that flows through the pipeline, and the closed set of reasons to drop one."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

PAGEVIEW = "pageview"
ENGAGEMENT = "engagement"
"""The name of what a tracker sends when a page is hidden or left: never a custom event."""
ENGAGED_VIEW_AGE = timedelta(minutes=30)
"""The oldest page view an engagement still adds to: no older than a visit stays open
without an event, so never one of a day already rolled up (at 00:35 the next day)."""


class DropReason(enum.StrEnum):
    """Why an event was not stored.

    The value is what the ``X-Footfall-Dropped`` header says and what the per-day
    dropped-event counters are keyed by.
    """

    BOT = "bot"
    """The User-Agent matches a known crawler, monitor, script or HTTP library."""
    AUTOMATION = "automation"
    """A headless or automated browser (HeadlessChrome, PhantomJS, Selenium, ...)."""
    NO_USER_AGENT = "no_user_agent"
    """No User-Agent header at all: no real browser sends that."""
    EXCLUDED_PATH = "excluded_path"
    """The path matches one of the configured ``exclude_paths``."""
    HOSTNAME = "hostname"
    """The page's host is not one of the configured ``hostnames``."""
    RATE_LIMITED = "rate_limited"
    """Too many events from one (truncated) IP address; answered with 429."""
    HOOK = "hook"
    """``on_before_ingest`` raised."""
    NO_VISIT = "no_visit"
    """An engagement whose visit has ended (30 minutes after its last event) or was never
    seen: there is no page view left to add it to."""


class Dropped(Exception):
    """Raised by a pipeline step to stop the event; carries the reason."""

    def __init__(self, reason: DropReason) -> None:
        super().__init__(reason.value)
        self.reason = reason


class DropEvent(Exception):
    """Raise this from ``on_before_ingest`` to drop an event quietly.

    Any other exception drops the event too, but is logged as a hook error.
    """


@dataclass(slots=True)
class Event:
    """One page view or custom event, enriched and anonymised.

    This is what ``on_before_ingest`` and ``on_after_ingest`` receive and what the store
    writes. It never holds an IP address or a raw User-Agent string.
    """

    name: str
    """``"pageview"`` for page views, otherwise the custom event's name."""
    timestamp: datetime
    """When the event happened: the server's time on arrival, timezone-aware UTC."""
    hostname: str
    """The page's host, lower case; ``""`` when nothing named a host."""
    path: str
    """The page's path without the query string; with ``#fragment`` in hash mode."""
    properties: dict[str, str | int | float | bool | None] = field(default_factory=dict)
    """The event's properties, for page views and custom events alike."""
    interactive: bool = True
    """Whether the event counts as an interaction (for the bounce rate). Always ``True``
    for page views."""
    referrer: str | None = None
    """The referring URL without its query string and fragment."""
    referrer_source: str | None = None
    """The referrer's host (``www.`` stripped) or ``utm_source``; ``None`` for direct."""
    utm_source: str | None = None
    """Campaign tag from the page URL's query string (``ref`` or ``source`` stand in)."""
    utm_medium: str | None = None
    """Campaign tag from the page URL's query string."""
    utm_campaign: str | None = None
    """Campaign tag from the page URL's query string."""
    utm_content: str | None = None
    """Campaign tag from the page URL's query string."""
    utm_term: str | None = None
    """Campaign tag from the page URL's query string."""
    country: str | None = None
    """ISO 3166-1 alpha-2 code, or ``None`` when unknown."""
    device: str | None = None
    """``"desktop"``, ``"mobile"`` or ``"tablet"``; ``None`` without a User-Agent."""
    browser: str | None = None
    """Browser name, such as ``"Chrome"``."""
    browser_version: str | None = None
    """Browser major version, such as ``"131"``."""
    os: str | None = None
    """Operating system, such as ``"macOS"``."""
    os_version: str | None = None
    """Operating system version, such as ``"10.15"``."""
    visitor_id: int = 0
    """Keyed hash of (daily salt, host, truncated IP, User-Agent); unrecoverable after 48 h."""
    session_id: int = 0
    """Random id of the visit; a new one after 30 minutes of inactivity."""
    engaged_ms: int | None = None
    """A page view's engaged time, as stored: None on arrival (its tracker's engagement
    adds to it later); set by an import of exported page views."""
    scroll_depth: int | None = None
    """A page view's deepest scroll in percent, as ``engaged_ms``."""
    region: str | None = None
    """The region (state, province) in the country, by its English name, such as
    ``"Bavaria"``: only with a city-level ``.mmdb`` (``geoip_database``)."""
    city: str | None = None
    """The city, by its English name, such as ``"Munich"``: as ``region``."""

    @property
    def is_pageview(self) -> bool:
        return self.name == PAGEVIEW

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view of the event (timestamp as ISO 8601)."""
        data = {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]
        data["timestamp"] = self.timestamp.isoformat()
        return data


@dataclass(slots=True)
class Engagement:
    """How long a page was looked at and how far it was scrolled, as its tracker reports
    when the page is hidden or left (Plausible's ``engagement``).

    Not an event: it adds to the page view it follows (the visit's latest view of
    ``path``) and to its visit's engaged time, and changes no count, bounce or list. The
    hooks do not see it.
    """

    timestamp: datetime
    hostname: str
    path: str
    engaged_ms: int
    """Milliseconds the page was visible and focused since the tracker last reported."""
    scroll_depth: int | None
    """The deepest the page has been scrolled, in percent of its height (None: unknown)."""
    visitor_id: int = 0
    session_id: int = 0
