"""``analytics.api``: the aggregation API for Python code, templates and the HTTP layer.

Every method is ``async``; each has a ``_sync`` twin for WSGI views, templates and scripts.
All take ``range`` (``today``, ``24h``, ``7d``, ``30d``, ``month``, ``12mo``, ``all``;
default ``30d``) or ``from_date``/``to_date`` (inclusive days in the site's time zone), and
the filters
``page``, ``source``, ``country``, ``device``, ``browser``, ``os`` and ``event``: a value,
a list of values (any of them), or a ``footfall.Filter`` for the other operators::

    stats = await analytics.api.get_dashboard_stats(range="30d")
    pages = analytics.api.get_top_pages_sync(limit=10, range="7d", country=["DE", "AT"])
    posts = analytics.api.get_top_pages_sync(page=Filter.contains("/blog/"))
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from footfall.query.filters import Filters, FilterValue, as_filter
from footfall.query.metrics import Queries
from footfall.query.ranges import InvalidQuery, Period
from footfall.query.results import (
    Breakdown,
    DashboardStats,
    EntryPage,
    EventProperty,
    ExitPage,
    FunnelReport,
    GoalConversion,
    Location,
    Overview,
    PageStats,
    Realtime,
    Timeseries,
    TopEvent,
    TopPage,
    TopReferrer,
)
from footfall.query.visit_reports import UTM_TAGS

if TYPE_CHECKING:
    from footfall.analytics import Analytics

T = TypeVar("T")
MAX_LIMIT = 1000
DateLike = str | date | None


class AnalyticsAPI:
    """``analytics.api``: every number of the dashboard, for Python code.

    Each ``async`` method runs its query in a worker thread; its ``_sync`` twin (same
    arguments, same result) blocks, for WSGI views, templates and scripts. Bad parameters,
    an unknown filter name included, raise ``footfall.query.ranges.InvalidQuery`` (a
    ``ValueError`` whose ``param`` names the parameter).
    """

    def __init__(self, analytics: Analytics) -> None:
        self._analytics = analytics
        self._queries: Queries | None = None

    @property
    def queries(self) -> Queries:
        """The query layer itself (opens the database on first use)."""
        if self._queries is None:
            config = self._analytics.config
            self._queries = Queries(
                self._analytics.store.engine, timezone=config.timezone, clock=config.clock
            )
        return self._queries

    # -- synchronous --------------------------------------------------------------------------

    def _period_and_filters(self, range: str | None, kw: dict[str, Any]) -> tuple[Period, Filters]:
        """The period (``range``, or ``from_date``/``to_date`` of ``kw``) and the filters
        (the rest of ``kw``) of a method that takes them as keywords."""
        from_date, to_date = kw.pop("from_date", None), kw.pop("to_date", None)
        return self.queries.period(range, from_date, to_date), _filters(kw)

    def get_dashboard_stats_sync(
        self,
        range: str | None = None,
        *,
        from_date: DateLike = None,
        to_date: DateLike = None,
        **filters: FilterValue,
    ) -> DashboardStats:
        """Visitors, visits, page views, bounce rate, visit duration and views per visit,
        each with the previous period of equal length and the change."""
        q = self.queries
        return q.dashboard_stats(q.period(range, from_date, to_date), _filters(filters))

    def get_overview_sync(
        self,
        limit: int = 10,
        range: str | None = None,
        *,
        from_date: DateLike = None,
        to_date: DateLike = None,
        **filters: FilterValue,
    ) -> Overview:
        """The top stats with the referrers, countries, devices, browsers and operating
        systems, from one pass over the data: what a dashboard shows, faster than asking
        for each part (the numbers are the same)."""
        q = self.queries
        period = q.period(range, from_date, to_date)
        return q.overview(period, _filters(filters), _limit(limit))

    def get_timeseries_sync(
        self,
        range: str | None = None,
        *,
        from_date: DateLike = None,
        to_date: DateLike = None,
        compare: str | None = None,
        **filters: FilterValue,
    ) -> Timeseries:
        """Visitors, visits and page views per hour, day or month (empty buckets are 0);
        with ``compare``, ``previous`` or ``year``, those of the period of equal length
        before, or of the same days a year earlier, as ``comparison``."""
        if compare not in (None, "previous", "year"):
            raise InvalidQuery("compare", "must be previous or year")
        q = self.queries
        return q.timeseries(q.period(range, from_date, to_date), _filters(filters), compare)

    def get_top_pages_sync(
        self,
        limit: int = 10,
        range: str | None = None,
        *,
        from_date: DateLike = None,
        to_date: DateLike = None,
        **filters: FilterValue,
    ) -> list[TopPage]:
        """The most visited pages, each with a sparkline of its page views."""
        q = self.queries
        period = q.period(range, from_date, to_date)
        return q.top_pages(period, _filters(filters), _limit(limit))

    def get_entry_pages_sync(
        self,
        limit: int = 10,
        range: str | None = None,
        *,
        from_date: DateLike = None,
        to_date: DateLike = None,
        **filters: FilterValue,
    ) -> list[EntryPage]:
        """The pages visits began on, with their entrances and bounce rate. They need the
        period's raw events (``retention_days``)."""
        q = self.queries
        period = q.period(range, from_date, to_date)
        return q.entry_pages(period, _filters(filters), _limit(limit))

    def get_exit_pages_sync(
        self,
        limit: int = 10,
        range: str | None = None,
        *,
        from_date: DateLike = None,
        to_date: DateLike = None,
        **filters: FilterValue,
    ) -> list[ExitPage]:
        """The pages visits ended on, with their exits and exit rate. They need the
        period's raw events (``retention_days``)."""
        q = self.queries
        period = q.period(range, from_date, to_date)
        return q.exit_pages(period, _filters(filters), _limit(limit))

    def get_goals_sync(
        self,
        range: str | None = None,
        *,
        from_date: DateLike = None,
        to_date: DateLike = None,
        **filters: FilterValue,
    ) -> list[GoalConversion]:
        """The configured ``goals``, each with its unique and total conversions and its
        conversion rate, in their order."""
        q = self.queries
        period = q.period(range, from_date, to_date)
        return q.goals(period, _filters(filters), self._analytics.config.goals)

    def get_funnel_sync(
        self,
        name: str,
        range: str | None = None,
        *,
        from_date: DateLike = None,
        to_date: DateLike = None,
        **filters: FilterValue,
    ) -> FunnelReport:
        """The configured funnel ``name``: the visitors who reached each step, in order,
        within one visit, and the drop-off between steps. It needs the period's raw events
        (``retention_days``)."""
        funnels = {f.name: f for f in self._analytics.config.funnels}
        if name not in funnels:
            known = ", ".join(funnels) or "none is configured"
            raise InvalidQuery("name", f"is not a funnel of the configuration ({known})")
        q = self.queries
        period = q.period(range, from_date, to_date)
        return q.funnel(period, _filters(filters), funnels[name])

    def get_channels_sync(
        self, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[Breakdown]:
        """Visits by channel (Direct, Organic Search, Paid Search, Organic Social, Referral,
        Email, ...: the rules are in ``footfall.query.channels``), by visitors. They need
        the period's raw events (``retention_days``)."""
        return self._visit_breakdown("channel", limit, range, kw)

    def get_utm_sync(
        self, tag: str, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[Breakdown]:
        """The tagged visits by the value of ``tag`` (``utm_medium``, ``utm_source``,
        ``utm_campaign``, ``utm_content`` or ``utm_term``), by visitors. They need the
        period's raw events (``retention_days``)."""
        if tag not in UTM_TAGS:
            raise InvalidQuery("tag", f"must be one of {', '.join(UTM_TAGS)}")
        return self._visit_breakdown(tag, limit, range, kw)

    def _visit_breakdown(
        self, by: str, limit: int, range: str | None, kw: dict[str, Any]
    ) -> list[Breakdown]:
        period, filters = self._period_and_filters(range, kw)
        return self.queries.visit_breakdown(period, filters, by, _limit(limit))

    def get_top_referrers_sync(
        self,
        limit: int = 10,
        range: str | None = None,
        *,
        from_date: DateLike = None,
        to_date: DateLike = None,
        **filters: FilterValue,
    ) -> list[TopReferrer]:
        """Where visits came from: referrer host, UTM source or ``Direct / None``."""
        q = self.queries
        period = q.period(range, from_date, to_date)
        return q.top_referrers(period, _filters(filters), _limit(limit))

    def get_top_events_sync(
        self,
        limit: int = 10,
        range: str | None = None,
        *,
        from_date: DateLike = None,
        to_date: DateLike = None,
        **filters: FilterValue,
    ) -> list[TopEvent]:
        """The most frequent custom events, by visitors."""
        q = self.queries
        period = q.period(range, from_date, to_date)
        return q.top_events(period, _filters(filters), _limit(limit))

    def get_event_properties_sync(
        self,
        name: str,
        limit: int = 100,
        range: str | None = None,
        *,
        from_date: DateLike = None,
        to_date: DateLike = None,
        **filters: FilterValue,
    ) -> list[EventProperty]:
        """The property keys and values of the custom event ``name``."""
        if not name:
            raise InvalidQuery("name", "is required: the custom event's name")
        q = self.queries
        period = q.period(range, from_date, to_date)
        return q.event_properties(period, _filters(filters), name, _limit(limit))

    def get_property_keys_sync(
        self, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[Breakdown]:
        """The property keys sent with page views and custom events, by visitors, each
        with the visits that sent it (``Breakdown(value=key, ...)``). They need the
        period's raw events (``retention_days``)."""
        period, filters = self._period_and_filters(range, kw)
        return self.queries.properties(period, filters, None, _limit(limit))

    def get_properties_sync(
        self, key: str, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[EventProperty]:
        """The values of the property ``key`` over page views and custom events, by
        visitors, with the events that sent each. They need the period's raw events."""
        if not key:
            raise InvalidQuery("key", "is required: the property's key")
        period, filters = self._period_and_filters(range, kw)
        return self.queries.properties(period, filters, key, _limit(limit))

    def get_regions_sync(
        self, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[Location]:
        """Visits by region (state, province) and country, by visitors: only where a
        city-level ``.mmdb`` told them. They need the period's raw events."""
        period, filters = self._period_and_filters(range, kw)
        return self.queries.locations(period, filters, "region", _limit(limit))

    def get_cities_sync(
        self, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[Location]:
        """Visits by city and country, by visitors, as ``get_regions_sync``."""
        period, filters = self._period_and_filters(range, kw)
        return self.queries.locations(period, filters, "city", _limit(limit))

    def get_versions_sync(
        self, of: str, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[Breakdown]:
        """Visits by browser (``of="browser"``) or operating system (``of="os"``) and its
        version, as ``Chrome 131``, by visitors; filter by ``browser`` (``os``) for one's
        versions. They need the period's raw events (``retention_days``)."""
        if of not in VERSIONED:
            raise InvalidQuery("of", f"must be one of {', '.join(VERSIONED)}")
        period, filters = self._period_and_filters(range, kw)
        return self.queries.versions(period, filters, of, _limit(limit))

    def get_top_countries_sync(
        self, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[Breakdown]:
        """Countries of visits (ISO 3166-1 alpha-2 codes), ``(unknown)`` included, by visitors."""
        return self._breakdown("country", limit, range, kw)

    def get_top_devices_sync(
        self, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[Breakdown]:
        """Device classes of visits (desktop, mobile, tablet, ``(unknown)``), by visitors."""
        return self._breakdown("device", limit, range, kw)

    def get_top_browsers_sync(
        self, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[Breakdown]:
        """Browsers of visits, ``(unknown)`` included, by visitors."""
        return self._breakdown("browser", limit, range, kw)

    def get_top_os_sync(
        self, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[Breakdown]:
        """Operating systems of visits, ``(unknown)`` included, by visitors."""
        return self._breakdown("os", limit, range, kw)

    def get_realtime_visitors_sync(self) -> Realtime:
        """Distinct visitors with any event in the last five minutes."""
        return self.queries.realtime()

    def get_page_stats_sync(
        self,
        path: str,
        range: str = "all",
        *,
        from_date: DateLike = None,
        to_date: DateLike = None,
    ) -> PageStats:
        """Page views and visitors of one page: what a "1.2k views" badge shows."""
        if not path or not path.startswith("/"):
            raise InvalidQuery("path", "is required: a path starting with '/'")
        q = self.queries
        return q.page_stats(path, q.period(range, from_date, to_date))

    def _breakdown(
        self, attribute: str, limit: int, range: str, kw: dict[str, Any]
    ) -> list[Breakdown]:
        period, filters = self._period_and_filters(range, kw)
        return self.queries.breakdown(period, filters, attribute, _limit(limit))

    # -- asynchronous: the same, off the event loop ------------------------------------------

    async def get_dashboard_stats(self, range: str | None = None, **kw: Any) -> DashboardStats:
        """The same as ``get_dashboard_stats_sync``, off the event loop."""
        return await _off_loop(self.get_dashboard_stats_sync, range, **kw)

    async def get_overview(self, limit: int = 10, range: str | None = None, **kw: Any) -> Overview:
        """The same as ``get_overview_sync``, off the event loop."""
        return await _off_loop(self.get_overview_sync, limit, range, **kw)

    async def get_timeseries(self, range: str | None = None, **kw: Any) -> Timeseries:
        """The same as ``get_timeseries_sync``, off the event loop."""
        return await _off_loop(self.get_timeseries_sync, range, **kw)

    async def get_top_pages(
        self, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[TopPage]:
        """The same as ``get_top_pages_sync``, off the event loop."""
        return await _off_loop(self.get_top_pages_sync, limit, range, **kw)

    async def get_entry_pages(
        self, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[EntryPage]:
        """The same as ``get_entry_pages_sync``, off the event loop."""
        return await _off_loop(self.get_entry_pages_sync, limit, range, **kw)

    async def get_exit_pages(
        self, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[ExitPage]:
        """The same as ``get_exit_pages_sync``, off the event loop."""
        return await _off_loop(self.get_exit_pages_sync, limit, range, **kw)

    async def get_goals(self, range: str | None = None, **kw: Any) -> list[GoalConversion]:
        """The same as ``get_goals_sync``, off the event loop."""
        return await _off_loop(self.get_goals_sync, range, **kw)

    async def get_funnel(self, name: str, range: str | None = None, **kw: Any) -> FunnelReport:
        """The same as ``get_funnel_sync``, off the event loop."""
        return await _off_loop(self.get_funnel_sync, name, range, **kw)

    async def get_channels(
        self, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[Breakdown]:
        """The same as ``get_channels_sync``, off the event loop."""
        return await _off_loop(self.get_channels_sync, limit, range, **kw)

    async def get_utm(
        self, tag: str, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[Breakdown]:
        """The same as ``get_utm_sync``, off the event loop."""
        return await _off_loop(self.get_utm_sync, tag, limit, range, **kw)

    async def get_top_referrers(
        self, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[TopReferrer]:
        """The same as ``get_top_referrers_sync``, off the event loop."""
        return await _off_loop(self.get_top_referrers_sync, limit, range, **kw)

    async def get_top_events(
        self, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[TopEvent]:
        """The same as ``get_top_events_sync``, off the event loop."""
        return await _off_loop(self.get_top_events_sync, limit, range, **kw)

    async def get_event_properties(
        self, name: str, limit: int = 100, range: str | None = None, **kw: Any
    ) -> list[EventProperty]:
        """The same as ``get_event_properties_sync``, off the event loop."""
        return await _off_loop(self.get_event_properties_sync, name, limit, range, **kw)

    async def get_property_keys(
        self, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[Breakdown]:
        """The same as ``get_property_keys_sync``, off the event loop."""
        return await _off_loop(self.get_property_keys_sync, limit, range, **kw)

    async def get_properties(
        self, key: str, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[EventProperty]:
        """The same as ``get_properties_sync``, off the event loop."""
        return await _off_loop(self.get_properties_sync, key, limit, range, **kw)

    async def get_regions(
        self, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[Location]:
        """The same as ``get_regions_sync``, off the event loop."""
        return await _off_loop(self.get_regions_sync, limit, range, **kw)

    async def get_cities(
        self, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[Location]:
        """The same as ``get_cities_sync``, off the event loop."""
        return await _off_loop(self.get_cities_sync, limit, range, **kw)

    async def get_versions(
        self, of: str, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[Breakdown]:
        """The same as ``get_versions_sync``, off the event loop."""
        return await _off_loop(self.get_versions_sync, of, limit, range, **kw)

    async def get_top_countries(
        self, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[Breakdown]:
        """The same as ``get_top_countries_sync``, off the event loop."""
        return await _off_loop(self.get_top_countries_sync, limit, range, **kw)

    async def get_top_devices(
        self, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[Breakdown]:
        """The same as ``get_top_devices_sync``, off the event loop."""
        return await _off_loop(self.get_top_devices_sync, limit, range, **kw)

    async def get_top_browsers(
        self, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[Breakdown]:
        """The same as ``get_top_browsers_sync``, off the event loop."""
        return await _off_loop(self.get_top_browsers_sync, limit, range, **kw)

    async def get_top_os(
        self, limit: int = 10, range: str | None = None, **kw: Any
    ) -> list[Breakdown]:
        """The same as ``get_top_os_sync``, off the event loop."""
        return await _off_loop(self.get_top_os_sync, limit, range, **kw)

    async def get_realtime_visitors(self) -> Realtime:
        """The same as ``get_realtime_visitors_sync``, off the event loop."""
        return await _off_loop(self.get_realtime_visitors_sync)

    async def get_page_stats(self, path: str, range: str = "all", **kw: Any) -> PageStats:
        """The same as ``get_page_stats_sync``, off the event loop."""
        return await _off_loop(self.get_page_stats_sync, path, range, **kw)


async def _off_loop(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Queries block on the database: run them in a worker thread."""
    return await asyncio.to_thread(function, *args, **kwargs)


VERSIONED = ("browser", "os")
"""What ``get_versions`` breaks down by version."""


def _filters(values: dict[str, Any]) -> Filters:
    """The ``Filters`` of a method's keyword arguments (``country="US"``, ``country=["US",
    "DE"]``, ``page=Filter.contains("/blog")``)."""
    unknown = set(values) - {*Filters.names(), "props"}
    if unknown:
        raise InvalidQuery(sorted(unknown)[0], f"is not a filter ({', '.join(Filters.names())})")
    props = values.pop("props", None) or {}
    if not isinstance(props, dict):
        raise InvalidQuery("props", "must be a dict of property keys and their filters")
    given = {name: as_filter(name, value) for name, value in values.items()}
    return Filters(**given, props=props)


def _limit(limit: int) -> int:
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidQuery("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
    return limit
