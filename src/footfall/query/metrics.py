"""The metrics of docs/aggregation.md, as SQL that means the same on every backend.

Everything starts from the visits of a period: each visit's events inside the period,
grouped by session. Bounce rate, duration and the visit attributes come from that one
grouping, so every consumer (dashboard, JSON API, badge) gets the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Engine,
    Integer,
    Select,
    String,
    Subquery,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import JSONB

from footfall.query.filters import DIRECT, UNKNOWN, Filters
from footfall.query.ranges import Period, resolve_period
from footfall.query.results import (
    Breakdown,
    DashboardStats,
    EventProperty,
    Metric,
    Overview,
    PageStats,
    Realtime,
    Timeseries,
    TimeseriesPoint,
    TopEvent,
    TopPage,
    TopReferrer,
)
from footfall.query.sql import bucket, naive_utc, seconds_between
from footfall.store.schema import custom_event, page_view

REALTIME_WINDOW = timedelta(minutes=5)
BREAKDOWNS = ("country", "device", "browser", "os")


class Queries:
    """Report queries over one database; every method is synchronous and thread-safe."""

    def __init__(self, engine: Engine, *, timezone: str, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.timezone = timezone
        self.clock = clock

    # -- periods ----------------------------------------------------------------------------

    def period(
        self, range: str | None = None, from_date: Any = None, to_date: Any = None
    ) -> Period:
        earliest = self._earliest() if range == "all" else None
        return resolve_period(
            range,
            from_date=from_date,
            to_date=to_date,
            timezone=self.timezone,
            now=self.clock(),
            earliest=earliest,
        )

    def _earliest(self) -> datetime | None:
        query = select(func.min(page_view.c.timestamp))
        with self.engine.connect() as conn:
            first = conn.execute(query).scalar()
        return first.replace(tzinfo=UTC) if first is not None else None

    # -- top stats --------------------------------------------------------------------------

    def dashboard_stats(self, period: Period, filters: Filters) -> DashboardStats:
        current = self._totals(period, filters)
        previous = self._totals(period.previous(), filters)
        return self._stats(period, current, previous)

    def overview(self, period: Period, filters: Filters, limit: int = 10) -> Overview:
        """The top stats and the referrer, country, device, browser and OS lists from ONE
        grouping of the period's events into visits (a CTE the database materialises once),
        instead of one grouping per list: the same numbers, several times faster."""
        visits = self._visits_select(period, filters).cte("visits")
        totals = self._totals_select(visits).subquery()
        parts: list[Any] = [
            select(literal("totals").label("kind"), null().label("value"), *totals.c)
        ]
        for attribute in ("source", *BREAKDOWNS):
            group = self._group_select(visits, attribute, limit).subquery()
            parts.append(
                select(
                    literal(attribute),
                    group.c.value,
                    group.c.visitors,
                    group.c.visits,
                    null(),
                    null(),
                    null(),
                )
            )
        lists: dict[str, list[tuple[str, int, int]]] = {a: [] for a in ("source", *BREAKDOWNS)}
        with self.engine.connect() as conn:
            for kind, value, *numbers in conn.execute(union_all(*parts)):
                if kind == "totals":
                    current = _totals_row(*numbers)
                else:
                    lists[kind].append((str(value), int(numbers[0]), int(numbers[1])))
        previous = self._totals(period.previous(), filters)
        return Overview(
            stats=self._stats(period, current, previous),
            referrers=[TopReferrer(*row) for row in lists["source"]],
            countries=[Breakdown(*row) for row in lists["country"]],
            devices=[Breakdown(*row) for row in lists["device"]],
            browsers=[Breakdown(*row) for row in lists["browser"]],
            os=[Breakdown(*row) for row in lists["os"]],
        )

    def _stats(
        self, period: Period, current: dict[str, float], previous: dict[str, float]
    ) -> DashboardStats:
        return DashboardStats(
            range=period.range,
            start=period.start.isoformat(),
            end=period.end.isoformat(),
            **{
                name: Metric(
                    value=current[name],
                    previous=previous[name],
                    change=_change(name, current, previous),
                )
                for name in current
            },
        )

    def _totals(self, period: Period, filters: Filters) -> dict[str, float]:
        query = self._totals_select(self._visits(period, filters))
        with self.engine.connect() as conn:
            return _totals_row(*conn.execute(query).one())

    def _totals_select(self, visits: Any) -> Select[Any]:
        duration = seconds_between(self.dialect, visits.c.first_seen, visits.c.last_seen)
        bounced = case((and_(visits.c.pageviews == 1, visits.c.interactions == 0), 1), else_=0)
        return select(
            func.count(distinct(visits.c.visitor_id)).label("visitors"),
            func.count().label("visits"),
            func.coalesce(func.sum(visits.c.counted_pageviews), 0).label("pageviews"),
            func.coalesce(func.sum(bounced), 0).label("bounces"),
            func.coalesce(func.avg(duration), 0).label("duration"),
        )

    # -- over time --------------------------------------------------------------------------

    def timeseries(self, period: Period, filters: Filters) -> Timeseries:
        events = self._events(period, filters)
        label = bucket(self.dialect, events.c.timestamp, period).label("bucket")
        query = select(
            label,
            func.count(distinct(events.c.visitor_id)),
            func.count(distinct(events.c.session_id)),
            func.coalesce(func.sum(events.c.counted_pageview), 0),
        ).group_by(label)
        with self.engine.connect() as conn:
            found = {row[0]: row[1:] for row in conn.execute(query)}
        points = [
            TimeseriesPoint(name, *(int(v) for v in found.get(name, (0, 0, 0))))
            for name, _start in period.buckets()
        ]
        return Timeseries(range=period.range, interval=period.interval, points=points)

    # -- lists ------------------------------------------------------------------------------

    def top_pages(self, period: Period, filters: Filters, limit: int = 10) -> list[TopPage]:
        views = self._table_rows(page_view, period, filters)
        if filters.page is not None:
            views = views.where(page_view.c.path == filters.page)
        rows = views.with_only_columns(
            page_view.c.path,
            func.count(distinct(page_view.c.visitor_id)).label("visitors"),
            func.count().label("pageviews"),
        ).group_by(page_view.c.path)
        query = rows.order_by(
            func.count(distinct(page_view.c.visitor_id)).desc(),
            func.count().desc(),
            page_view.c.path,
        ).limit(limit)
        with self.engine.connect() as conn:
            top = [tuple(row) for row in conn.execute(query)]
        sparklines = self._sparklines(period, filters, [path for path, _, _ in top])
        return [
            TopPage(path, int(visitors), int(pageviews), sparklines.get(path, []))
            for path, visitors, pageviews in top
        ]

    def _sparklines(
        self, period: Period, filters: Filters, paths: list[str]
    ) -> dict[str, list[int]]:
        if not paths:
            return {}
        label = bucket(self.dialect, page_view.c.timestamp, period).label("bucket")
        query = (
            self._table_rows(page_view, period, filters)
            .where(page_view.c.path.in_(paths))
            .with_only_columns(page_view.c.path, label, func.count())
            .group_by(page_view.c.path, label)
        )
        counts: dict[tuple[str, str], int] = {}
        with self.engine.connect() as conn:
            for path, name, count in conn.execute(query):
                counts[(path, name)] = int(count)
        names = [name for name, _ in period.buckets()]
        return {path: [counts.get((path, name), 0) for name in names] for path in paths}

    def top_referrers(self, period: Period, filters: Filters, limit: int = 10) -> list[TopReferrer]:
        return [
            TopReferrer(source, visitors, visits)
            for source, visitors, visits in self._group_visits(period, filters, "source", limit)
        ]

    def breakdown(
        self, period: Period, filters: Filters, attribute: str, limit: int = 10
    ) -> list[Breakdown]:
        """Countries, devices, browsers or operating systems of the visits."""
        if attribute not in BREAKDOWNS:
            raise ValueError(f"unknown breakdown {attribute!r}")
        return [
            Breakdown(value, visitors, visits)
            for value, visitors, visits in self._group_visits(period, filters, attribute, limit)
        ]

    def _group_visits(
        self, period: Period, filters: Filters, attribute: str, limit: int
    ) -> list[tuple[str, int, int]]:
        query = self._group_select(self._visits(period, filters), attribute, limit)
        with self.engine.connect() as conn:
            return [(str(v), int(a), int(b)) for v, a, b in conn.execute(query)]

    def _group_select(self, visits: Any, attribute: str, limit: int) -> Select[Any]:
        empty = DIRECT if attribute == "source" else UNKNOWN
        value = func.coalesce(visits.c[attribute], empty).label("value")
        visitors = func.count(distinct(visits.c.visitor_id))
        return (
            select(value, visitors.label("visitors"), func.count().label("visits"))
            .group_by(value)
            .order_by(visitors.desc(), func.count().desc(), value)
            .limit(limit)
        )

    def top_events(self, period: Period, filters: Filters, limit: int = 10) -> list[TopEvent]:
        rows = self._table_rows(custom_event, period, filters)
        if filters.event is not None:
            rows = rows.where(custom_event.c.name == filters.event)
        visitors = func.count(distinct(custom_event.c.visitor_id))
        query = (
            rows.with_only_columns(custom_event.c.name, visitors, func.count())
            .group_by(custom_event.c.name)
            .order_by(visitors.desc(), func.count().desc(), custom_event.c.name)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [TopEvent(n, int(v), int(c)) for n, v, c in conn.execute(query)]

    def event_properties(
        self, period: Period, filters: Filters, name: str, limit: int = 100
    ) -> list[EventProperty]:
        """Each property key and value of the custom event ``name``, by visitors."""
        if self.dialect == "postgresql":
            pairs = func.jsonb_each_text(cast(custom_event.c.properties, JSONB)).table_valued(
                "key", "value"
            )
            text = func.coalesce(pairs.c.value, "null")
        else:
            pairs = func.json_each(custom_event.c.properties).table_valued("key", "value", "type")
            text = case(
                (pairs.c.type == "true", "true"),
                (pairs.c.type == "false", "false"),
                (pairs.c.type == "null", "null"),
                else_=cast(pairs.c.value, String),
            )
        value = text.label("value")
        visitors = func.count(distinct(custom_event.c.visitor_id))
        query = (
            self._table_rows(custom_event, period, filters)
            .where(custom_event.c.name == name, custom_event.c.properties.is_not(None))
            .join_from(custom_event, pairs, literal(True))
            .with_only_columns(pairs.c.key, value, visitors, func.count())
            .group_by(pairs.c.key, value)
            .order_by(pairs.c.key, visitors.desc(), func.count().desc(), value)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [EventProperty(k, str(v), int(a), int(b)) for k, v, a, b in conn.execute(query)]

    # -- single numbers ---------------------------------------------------------------------

    def realtime(self) -> Realtime:
        since = naive_utc(self.clock() - REALTIME_WINDOW)
        ids = union_all(
            select(page_view.c.visitor_id).where(page_view.c.timestamp >= since),
            select(custom_event.c.visitor_id).where(custom_event.c.timestamp >= since),
        ).subquery()
        query = select(func.count(distinct(ids.c.visitor_id)))
        with self.engine.connect() as conn:
            return Realtime(visitors=int(conn.execute(query).scalar_one()))

    def page_stats(self, path: str, period: Period) -> PageStats:
        query = select(func.count(), func.count(distinct(page_view.c.visitor_id))).where(
            page_view.c.path == path, *_in_period(page_view, period)
        )
        with self.engine.connect() as conn:
            pageviews, visitors = conn.execute(query).one()
        return PageStats(path, period.range, int(pageviews), int(visitors))

    # -- building blocks --------------------------------------------------------------------

    def _events(self, period: Period, filters: Filters) -> Subquery:
        """Page views and custom events in the period, of the visits the filters select,
        with ``counted_pageview`` 1 for the page views that count (of the filtered page)."""

        def counted(is_pageview: bool, table: Any) -> Any:
            if not is_pageview:
                return literal(0, Integer)
            if filters.page is None:
                return literal(1, Integer)
            return case((table.c.path == filters.page, 1), else_=0)

        parts = []
        for table, is_pageview in ((page_view, True), (custom_event, False)):
            parts.append(
                self._table_rows(table, period, filters).with_only_columns(
                    table.c.session_id,
                    table.c.visitor_id,
                    table.c.timestamp,
                    counted(is_pageview, table).label("counted_pageview"),
                )
            )
        return union_all(*parts).subquery("events")

    def _table_rows(self, table: Any, period: Period, filters: Filters) -> Select[Any]:
        """Rows of one event table in the period, limited to the selected visits."""
        query = select(table.c.id).where(*_in_period(table, period))
        if filters:
            selected = self._visits(period, filters)
            query = query.where(table.c.session_id.in_(select(selected.c.session_id)))
        return query

    def _visits(self, period: Period, filters: Filters) -> Subquery:
        return self._visits_select(period, filters).subquery("visits")

    def _visits_select(self, period: Period, filters: Filters) -> Select[Any]:
        """One row per visit with an event in the period: its visitor, first and last event,
        page views, interactive events and attributes; filtered by ``filters``."""
        columns = (
            "session_id",
            "visitor_id",
            "timestamp",
            "path",
            "name",
            "referrer_source",
            "country",
            "device",
            "browser",
            "os",
        )
        parts = []
        for table, is_pageview in ((page_view, True), (custom_event, False)):
            values = [table.c[c] if c in table.c else null().label(c) for c in columns]
            interaction = (
                literal(0, Integer) if is_pageview else case((table.c.interactive, 1), else_=0)
            )
            parts.append(
                select(
                    *values,
                    literal(1 if is_pageview else 0, Integer).label("is_pageview"),
                    interaction.label("interaction"),
                ).where(*_in_period(table, period))
            )
        events = union_all(*parts).subquery("period_events")
        if filters.page is not None:
            counted: Any = func.sum(
                case((and_(events.c.is_pageview == 1, events.c.path == filters.page), 1), else_=0)
            )
        else:
            counted = func.sum(events.c.is_pageview)
        query = select(
            events.c.session_id,
            func.min(events.c.visitor_id).label("visitor_id"),
            func.min(events.c.timestamp).label("first_seen"),
            func.max(events.c.timestamp).label("last_seen"),
            func.sum(events.c.is_pageview).label("pageviews"),
            counted.label("counted_pageviews"),
            func.sum(events.c.interaction).label("interactions"),
            func.max(events.c.referrer_source).label("source"),
            func.min(events.c.country).label("country"),
            func.min(events.c.device).label("device"),
            func.min(events.c.browser).label("browser"),
            func.min(events.c.os).label("os"),
        ).group_by(events.c.session_id)
        conditions = []
        if filters.page is not None:
            conditions.append(counted > 0)
        if filters.event is not None:
            conditions.append(func.sum(case((events.c.name == filters.event, 1), else_=0)) > 0)
        for name, value in filters.visit_level.items():
            column = (
                func.max(events.c.referrer_source) if name == "source" else func.min(events.c[name])
            )
            empty = DIRECT if name == "source" else UNKNOWN
            conditions.append(column.is_(None) if value == empty else column == value)
        if conditions:
            query = query.having(and_(*conditions))
        return query


def _totals_row(
    visitors: Any, count: Any, pageviews: Any, bounces: Any, mean_duration: Any
) -> dict[str, float]:
    count, pageviews = int(count), int(pageviews)
    return {
        "visitors": int(visitors),
        "visits": count,
        "pageviews": pageviews,
        "bounce_rate": round(100.0 * int(bounces) / count, 1) if count else 0.0,
        "visit_duration": round(float(mean_duration), 1),
        "views_per_visit": round(pageviews / count, 2) if count else 0.0,
    }


def _in_period(table: Any, period: Period) -> list[Any]:
    return [
        table.c.timestamp >= naive_utc(period.start),
        table.c.timestamp < naive_utc(period.end),
    ]


def _change(name: str, current: dict[str, float], previous: dict[str, float]) -> float | None:
    if name == "bounce_rate":
        if not current["visits"] or not previous["visits"]:
            return None
        return round(current[name] - previous[name], 1)
    if not previous[name]:
        return None
    return round(100.0 * (current[name] - previous[name]) / previous[name], 1)
