"""What the query layer returns: small, typed, JSON-ready records.

The field names are the JSON keys of the HTTP API, so Python and HTTP read the same.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


class _Json:
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True, slots=True)
class Metric(_Json):
    """One top stat over the period, with the previous period of equal length."""

    value: float
    """The metric over the period."""
    previous: float | None
    """The same metric over the period of equal length just before; None for a filtered
    report whose previous period starts before the raw events still kept."""
    change: float | None
    """Change against ``previous``: percent for counts and times, percentage points for
    ``bounce_rate``; None when there is nothing to compare with."""


@dataclass(frozen=True, slots=True)
class DashboardStats(_Json):
    """The top stats of a period: what ``stats`` and ``get_dashboard_stats`` return."""

    range: str
    """The period asked for: a range name, or ``custom`` for ``from``/``to``."""
    start: str
    """First instant of the period (ISO 8601, UTC)."""
    end: str
    """Instant after the period (ISO 8601, UTC)."""
    visitors: Metric
    """Distinct visitor ids with an event in the period."""
    visits: Metric
    """Distinct visits (sessions) with an event in the period."""
    pageviews: Metric
    """Page-view events."""
    bounce_rate: Metric
    """Percent (0-100) of visits with exactly one page view and no interactive event."""
    visit_duration: Metric
    """Mean seconds from a visit's first to its last event (a bounce counts 0)."""
    views_per_visit: Metric
    """Page views divided by visits, to two decimals."""


@dataclass(frozen=True, slots=True)
class TimeseriesPoint(_Json):
    """One bucket of the time series; empty buckets are 0."""

    bucket: str
    """``2026-11-25 14:00`` (hourly), ``2026-11-25`` (daily) or ``2026-11`` (monthly),
    in the site's time zone."""
    visitors: int
    visits: int
    pageviews: int


@dataclass(frozen=True, slots=True)
class Timeseries(_Json):
    """Visitors, visits and page views per hour, day or month of the period."""

    range: str
    interval: str
    """``hour``, ``day`` or ``month``."""
    points: list[TimeseriesPoint]
    compare: str | None = None
    """What ``comparison`` is of: ``previous`` (the period of equal length just before) or
    ``year`` (the same days a year earlier); None when not asked for."""
    comparison: list[TimeseriesPoint] | None = None
    """The points of that period, bucket by bucket beside ``points`` (their ``bucket``
    names its own time); None when not asked for, or when its raw events, which it needs
    (a filter, hours), are purged."""


@dataclass(frozen=True, slots=True)
class TopPage(_Json):
    """One row of the top pages."""

    path: str
    visitors: int
    pageviews: int
    sparkline: list[int] = field(default_factory=list)
    """Page views per bucket of the period, oldest first."""
    time_on_page: float | None = None
    """Mean seconds its views were visible and focused, over those whose tracker reported
    it (None: none did, or a filter other than a page is set)."""
    scroll_depth: int | None = None
    """Mean deepest scroll of its views, in percent of the page, over those that reported
    one (None: as ``time_on_page``)."""


@dataclass(frozen=True, slots=True)
class EntryPage(_Json):
    """One row of the entry pages: where visits began."""

    path: str
    visitors: int
    visits: int
    """Visits that began on the page in the period (entrances)."""
    bounce_rate: float
    """Percent of those visits with one page view and no interactive event."""


@dataclass(frozen=True, slots=True)
class ExitPage(_Json):
    """One row of the exit pages: where visits ended."""

    path: str
    visitors: int
    exits: int
    """Visits that ended on the page in the period."""
    exit_rate: float
    """Percent of the page's views in the period that were a visit's last."""


@dataclass(frozen=True, slots=True)
class GoalConversion(_Json):
    """One goal of the configuration, over the period."""

    goal: str
    """Its name: the event (``Signup``, ``Signup (plan: pro)``) or ``Visit /pricing``."""
    visitors: int | None
    """Unique conversions: the visitors who reached it (None: its numbers need raw events
    that are purged: a page goal, or an event's property, with older days)."""
    conversions: int | None
    """Total conversions: its events, or page views."""
    conversion_rate: float | None
    """``visitors`` over the period's visitors, in percent, to one decimal."""


@dataclass(frozen=True, slots=True)
class FunnelStep(_Json):
    """One step of a funnel, over the period."""

    step: str
    """The step, as the goals name it (``Visit /pricing``, ``Signup``)."""
    visitors: int
    """Visitors with a visit that reached it, every step before it in order."""
    visits: int
    dropoff: int
    """Visitors the step before had and this one has not (0 for the first)."""
    conversion_rate: float
    """``visitors`` of the first step's, in percent, to one decimal."""


@dataclass(frozen=True, slots=True)
class FunnelReport(_Json):
    """A funnel of the configuration over the period."""

    name: str
    steps: list[FunnelStep]


@dataclass(frozen=True, slots=True)
class TopReferrer(_Json):
    """One row of the referrer sources of visits."""

    source: str
    """Referrer host (``www.`` stripped), UTM source, or ``Direct / None``."""
    visitors: int
    visits: int


@dataclass(frozen=True, slots=True)
class TopEvent(_Json):
    """One row of the custom events, by visitors."""

    name: str
    visitors: int
    events: int


@dataclass(frozen=True, slots=True)
class EventProperty(_Json):
    """One property key and value of a custom event, with how often it was sent."""

    key: str
    value: str
    visitors: int
    events: int


@dataclass(frozen=True, slots=True)
class Location(_Json):
    """One region or city (by English name) in its country (ISO code), by visitors."""

    country: str
    name: str
    visitors: int
    visits: int


@dataclass(frozen=True, slots=True)
class Breakdown(_Json):
    """One row of the countries, devices, browsers or operating systems lists."""

    value: str
    """The country code, device, browser or OS; ``(unknown)`` when not known."""
    visitors: int
    visits: int


@dataclass(frozen=True, slots=True)
class Overview(_Json):
    """The top stats and the visit lists of a dashboard, computed together (one pass)."""

    stats: DashboardStats
    referrers: list[TopReferrer]
    countries: list[Breakdown]
    devices: list[Breakdown]
    browsers: list[Breakdown]
    os: list[Breakdown]


@dataclass(frozen=True, slots=True)
class Realtime(_Json):
    """The realtime count."""

    visitors: int
    """Distinct visitors with any event in the last five minutes."""


@dataclass(frozen=True, slots=True)
class PageStats(_Json):
    """Page views and visitors of one page: what the badge and ``footfall_count`` show."""

    path: str
    range: str
    pageviews: int
    visitors: int
