"""The metrics of docs/aggregation.md, as SQL that means the same on every backend.

Everything starts from the visits of a period: each visit's events inside the period,
grouped by session. Bounce rate, duration and the visit attributes come from that one
grouping, so every consumer (dashboard, JSON API, badge) gets the same numbers.

That grouping of raw events (``visits_select``) is the reference. Reports without filters
read the same visits from where they are kept (query/rollups.py): per-day rollups for
whole finished days, the ``visit`` table and the few crossing visits' events for the rest;
``Queries(rollups=False)`` reads raw events only, and tests hold both equal.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from threading import Lock
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Engine,
    Integer,
    Result,
    Select,
    String,
    Subquery,
    and_,
    any_,
    bindparam,
    case,
    distinct,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY

from footfall.query import visit_reports
from footfall.query.engagement import NONE, PageEngagement, page_engagement
from footfall.query.filters import UNKNOWN, Filters, empty_value
from footfall.query.funnels import Funnel, events_of, funnel_select
from footfall.query.goals import Goal
from footfall.query.properties import PROPERTY, property_part, property_rows
from footfall.query.ranges import InvalidQuery, Period, bucket_label, resolve_period
from footfall.query.results import (
    Breakdown,
    DashboardStats,
    EntryPage,
    EventProperty,
    ExitPage,
    FunnelReport,
    FunnelStep,
    GoalConversion,
    Location,
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
from footfall.query.rollups import (
    FILTER_VALUE_MAX,
    TODAY_UNTIL,
    RollupState,
    Split,
    engaged_ms,
    hour_sums,
    hourly_events,
    item_rows,
    item_source,
    local_midnight,
    read_state,
    remainder,
    rollup_rows,
    selected_sessions,
    split_period,
    tier_hour_rows,
    visit_parts,
    visits_from_parts,
    with_hours,
    with_today,
)
from footfall.query.sql import bucket, day_label, greatest, milliseconds_between, naive_utc
from footfall.store.schema import custom_event, page_view, rollup_day, rollup_visit_part

REALTIME_WINDOW = timedelta(minutes=5)
BREAKDOWNS = ("country", "device", "browser", "os")
TOP_PATHS = bindparam("paths", expanding=True)
"""The pages a sparklines statement counts, given when it runs: the top pages change with
the traffic, the statement does not."""
SELECTED = "selected"
"""The bound parameter of the session ids a filter selects, when they are found once for
the reports of a page (``shared_selections``)."""


class SharedSelections:
    """The visits each filter selects, found once for the reports of one dashboard page.

    Without a page, each report's statements find them themselves (a CTE), and a filtered
    page has four such statements: at 10,000,000 events finding them took 25 ms (a page)
    to 51 ms (a country) each time, most of what the page's filter costs."""

    def __init__(self) -> None:
        self._lock = Lock()
        self._found: dict[Hashable, Any] = {}

    def find(self, split: Split, find: Callable[[], Any]) -> Any:
        """The session ids of ``split``'s filter: ``find()``'s, once; a report asking while
        another finds them waits for its answer."""
        with self._lock:
            if split not in self._found:
                self._found[split] = find()
            return self._found[split]


_SHARED: ContextVar[SharedSelections | None] = ContextVar("shared_selections", default=None)


@contextmanager
def shared_selections() -> Iterator[None]:
    """Reports run inside (in this context, or threads and tasks started from it) find the
    visits a filter selects once, together. For the reports of one page: they are a
    moment's snapshot, not what later events add."""
    token = _SHARED.set(SharedSelections())
    try:
        yield
    finally:
        _SHARED.reset(token)


STATEMENTS_KEPT = 64
"""How many built report statements ``Queries`` keeps (``Queries.run``): a page takes 6 to
8, each about 180 KB of SQLAlchemy objects, so at most about 12 MB for the last 8 to 10
pages viewed (ranges and filters)."""


class RawEventsPurged(InvalidQuery):
    """A report that needs raw events (with several filters, an hourly chart, an event's
    properties) of a period whose raw events are partly purged: the rollups hold no such
    numbers, so there is nothing right to show."""

    NEEDS = {
        "filters": (
            "reports with these filters need",
            ", or keep one filter at most (such reports cover every day rolled up)",
        ),
        "hours": ("hourly charts need", ", or a range of several days"),
        "properties": ("properties need", ""),
        "versions": ("browser and OS versions need", ""),
        "locations": ("regions and cities need", ""),
        "visits": ("entry and exit pages, channels and UTM tags need", ""),
        "goals": ("page goals need", ""),
        "funnels": ("funnels need", ""),
    }
    """What needs the raw events (``need``): the message's subject, and what to do instead."""

    def __init__(self, raw_from: datetime, zone: ZoneInfo, *, need: str) -> None:
        first = raw_from.astimezone(zone).date().isoformat()
        what, instead = self.NEEDS[need]
        super().__init__(
            "range",
            f"{what} the raw events, which are kept for the retention period and start at "
            f"{first} here: choose a period from {first} on{instead}",
        )
        self.raw_from = raw_from


ROLLED_UP = ("page", "source", "country", "device", "browser", "os", "event")
"""The filters of which rollups are kept (one exact value at a time)."""

TOTALS = ("visitors", "visits", "pageviews", "bounces", "duration_ms")
"""The sums the top stats are made of (``totals_select``), in its order."""


class Queries:
    """Report queries over one database; every method is synchronous and thread-safe."""

    def __init__(
        self,
        engine: Engine,
        *,
        timezone: str,
        clock: Callable[[], datetime],
        rollups: bool = True,
    ) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.timezone = timezone
        self.clock = clock
        self.rollups = rollups
        """Read the rollups for the whole days they cover (``False``: raw events only, the
        reference the rollups are tested against)."""
        self._statements: OrderedDict[Hashable, Any] = OrderedDict()
        self._statements_lock = Lock()

    def run(
        self,
        conn: Connection,
        key: Hashable,
        build: Callable[[], Any],
        split: Split | None,
        *,
        selects: bool = False,
        **values: Any,
    ) -> Result[Any]:
        """Execute the statement ``build`` makes, built once per ``key`` (what shapes it: the
        report, its split, period, filters and limit) among the last ``STATEMENTS_KEPT``.

        Building a report's statement (SQLAlchemy constructs, their columns) took longer
        than running it: at 1,000,000 events, about 45 ms of a 30-day page against about
        50 ms in the database. A period's split stays the same for the whole day (the day in
        progress's ``until`` moves on with every refresh of its rollups, so statements take
        it as a bound parameter), and so does each of its statements. ``values``: those of
        the statement's other bound parameters (``TOP_PATHS``). ``selects``: the statement
        picks the visits the split's filter selects (``_selected``), which the reports of a
        dashboard page find once (``shared_selections``)."""
        if selects and split is not None and split.filter and (shared := _SHARED.get()):
            key = (key, SELECTED)
            values[SELECTED] = shared.find(split, lambda: self._selected_ids(conn, split))
        with self._statements_lock:
            statement = self._statements.get(key)
            if statement is not None:
                self._statements.move_to_end(key)
        if statement is None:
            statement = build()
            with self._statements_lock:
                self._statements[key] = statement
                if len(self._statements) > STATEMENTS_KEPT:
                    self._statements.popitem(last=False)
        if split is not None and split.today is not None:
            values[TODAY_UNTIL] = split.today.until
        return conn.execute(statement, values)

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
        """The first page view, or the first rolled-up day with one once raw events of
        that day have been purged."""
        with self.engine.connect() as conn:
            first = conn.execute(select(func.min(page_view.c.timestamp))).scalar()
            first = first.replace(tzinfo=UTC) if first is not None else None
            state = read_state(conn) if self.rollups else None
            if state is None or state.timezone != self.timezone:
                return first
            day = conn.execute(
                select(func.min(rollup_day.c.day)).where(
                    rollup_day.c.dimension == "", rollup_day.c.pageviews > 0
                )
            ).scalar()
            part_day = conn.execute(
                select(func.min(rollup_visit_part.c.day)).where(rollup_visit_part.c.pageviews > 0)
            ).scalar()
        zone = ZoneInfo(self.timezone)
        candidates = [first] if first is not None else []
        candidates += [local_midnight(d, zone) for d in (day, part_day) if d is not None]
        return min(candidates, default=None)

    def _split(
        self, conn: Connection, period: Period, filters: Filters, *, hourly: bool = False
    ) -> Split | None:
        """How to read ``period`` from the rollups, or None to read raw events only.
        ``hourly``: for a report by hour, which rollups (per day) cannot give.

        Whatever has to be read from raw events must still be there: for a period whose
        raw part starts before the raw events kept (two filters, an hourly chart of a
        purged day), this raises ``RawEventsPurged`` rather than count too little."""
        if not self.rollups and not filters:
            return None
        state = read_state(conn)
        chosen = _rolled_up_filter(filters)
        whole = Split(None, ((naive_utc(period.start), naive_utc(period.end)),), chosen)
        if not self.rollups or (filters and chosen is None):
            split = None
        elif not (hourly and period.interval == "hour"):
            split = split_period(period, state, chosen, now=self.clock())
        elif chosen is not None:
            split = whole  # hours of the filter's visits: raw events
        else:
            # Hours without a filter: raw events (grouping them by hour is the quickest),
            # except those of the day in progress's finished visits, which
            # ``rollup_today_hour`` holds, and of rolled-up days with ``rollup_hour`` rows.
            split = whole
            if state is not None:
                split = with_today(whole, period, state, self.clock())
                split = with_hours(split, period.zone, state)
            split = split if split.today is not None or split.hours else None
        raw_starts = [a for a, _, _ in remainder(split)] if split is not None else [whole.raw[0][0]]
        need = "filters" if filters and chosen is None else "hours"
        _require_raw_events(state, raw_starts, period.zone, need)
        return split

    def _visits_of(self, split: Split | None, period: Period, filters: Filters) -> Any:
        """The visit rows of ``period``: regrouped from raw events (no ``split``), or from
        the visits, parts and events the split names."""
        if split is None:
            return self.visits_select(period, filters)
        return visits_from_parts(split)

    def _previous_totals(self, period: Period, filters: Filters) -> dict[str, float] | None:
        """The totals of the period before, or None when they are no longer known."""
        try:
            return self._totals(period.previous(), filters)
        except RawEventsPurged:
            return None

    # -- top stats --------------------------------------------------------------------------

    def dashboard_stats(self, period: Period, filters: Filters) -> DashboardStats:
        current = self._totals(period, filters)
        previous = self._previous_totals(period, filters)
        return self._stats(period, current, previous)

    def overview(self, period: Period, filters: Filters, limit: int = 10) -> Overview:
        """The top stats and the referrer, country, device, browser and OS lists from ONE
        grouping of the period's events into visits (a CTE the database materialises once),
        instead of one grouping per list: the same numbers, several times faster."""
        with self.engine.connect() as conn:
            split = self._split(conn, period, filters)
            rows = self.run(
                conn,
                ("overview", split, period, filters, limit),
                lambda: self._overview_select(split, period, filters, limit),
                split,
            )
            lists: dict[str, list[tuple[str, int, int]]] = {a: [] for a in ("source", *BREAKDOWNS)}
            sums = [0] * len(TOTALS)
            for kind, value, *numbers in rows:
                if kind == "totals":
                    sums = [a + int(b) for a, b in zip(sums, numbers, strict=True)]
                else:
                    lists[kind].append((str(value), int(numbers[0]), int(numbers[1])))
            current = _totals_row(*sums)
        previous = self._previous_totals(period, filters)
        return Overview(
            stats=self._stats(period, current, previous),
            referrers=[TopReferrer(*row) for row in lists["source"]],
            countries=[Breakdown(*row) for row in lists["country"]],
            devices=[Breakdown(*row) for row in lists["device"]],
            browsers=[Breakdown(*row) for row in lists["browser"]],
            os=[Breakdown(*row) for row in lists["os"]],
        )

    def _overview_select(
        self, split: Split | None, period: Period, filters: Filters, limit: int
    ) -> Any:
        """The rows of ``overview``: its totals (one row, and one more of the rolled-up
        days'), then each list's (``kind`` names which)."""
        visits = self._visits_of(split, period, filters).cte("visits")
        totals = [self.totals_select(visits).subquery()]
        rolled = self._rolled_totals(split)
        totals += [rolled.subquery()] if rolled is not None else []
        parts: list[Any] = [
            select(literal("totals").label("kind"), null().label("value"), *t.c) for t in totals
        ]
        for attribute in ("source", *BREAKDOWNS):
            group = self._group_select(visits, attribute, limit, split).subquery()
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
        return union_all(*parts)

    def _stats(
        self, period: Period, current: dict[str, float], previous: dict[str, float] | None
    ) -> DashboardStats:
        return DashboardStats(
            range=period.range,
            start=period.start.isoformat(),
            end=period.end.isoformat(),
            **{
                name: Metric(
                    value=current[name],
                    previous=previous[name] if previous is not None else None,
                    change=_change(name, current, previous) if previous is not None else None,
                )
                for name in current
            },
        )

    def _totals(self, period: Period, filters: Filters) -> dict[str, float]:
        with self.engine.connect() as conn:
            split = self._split(conn, period, filters)

            def build() -> Any:
                visits = self._visits_of(split, period, filters).subquery("visits")
                query: Any = self.totals_select(visits)
                rolled = self._rolled_totals(split)
                return union_all(query, rolled) if rolled is not None else query

            rows = self.run(conn, ("totals", split, period, filters), build, split)
            sums = [sum(int(v) for v in column) for column in zip(*rows, strict=True)]
            return _totals_row(*sums)

    def _rolled_totals(self, split: Split | None) -> Select[Any] | None:
        """The ``TOTALS`` of the split's rolled-up days (None: it has none), to add to
        those of its visits: one more row of the same query rather than a query of its
        own."""
        if split is None:
            return None
        rolled = rollup_rows(split, "", TOTALS).subquery()
        return select(*(func.coalesce(func.sum(rolled.c[n]), 0).label(n) for n in TOTALS))

    def totals_select(self, visits: Any, group: Any = None) -> Select[Any]:
        """The one definition of the top stats' sums, over visit rows (``visits_select``):
        visitors, visits, page views, bounces and total duration; per ``group`` value
        (labelled ``value``) when given. store/rollups.py keeps the same sums per day."""
        duration = visit_duration(self.dialect, visits)
        sums = select(
            func.count(distinct(visits.c.visitor_id)).label("visitors"),
            func.count().label("visits"),
            func.coalesce(func.sum(visits.c.counted_pageviews), 0).label("pageviews"),
            func.coalesce(func.sum(is_bounce(visits)), 0).label("bounces"),
            func.coalesce(func.sum(duration), 0).label("duration_ms"),
        )
        if group is None:
            return sums
        return sums.add_columns(group.label("value")).group_by(group)

    # -- over time --------------------------------------------------------------------------

    def timeseries(
        self, period: Period, filters: Filters, compare: str | None = None
    ) -> Timeseries:
        """Visitors, visits and page views per bucket; with ``compare`` (``previous`` or
        ``year``), those of that period too."""
        series = self._points(period, filters)
        if compare is None:
            return series
        other = period.previous() if compare == "previous" else period.year_before()
        try:
            comparison = self._points(other, filters).points
        except RawEventsPurged:
            comparison = None
        return replace(series, compare=compare, comparison=comparison)

    def _points(self, period: Period, filters: Filters) -> Timeseries:
        with self.engine.connect() as conn:
            split = self._split(conn, period, filters, hourly=True)
            key = ("timeseries", split, period, filters)
            rows = self.run(
                conn,
                key,
                lambda: self._timeseries_select(split, period, filters),
                split,
                selects=True,
            )
            found = {row[0]: row[1:] for row in rows}
        points = [
            TimeseriesPoint(name, *(int(v) for v in found.get(name, (0, 0, 0))))
            for name, _start in period.buckets()
        ]
        return Timeseries(range=period.range, interval=period.interval, points=points)

    def _timeseries_select(self, split: Split | None, period: Period, filters: Filters) -> Any:
        if split is not None and split.filter is None and period.interval == "hour":
            return self._timeseries_hourly(split, period)
        if split is not None:
            return self._timeseries_combined(split, period)
        events = self._events(period, filters)
        label = bucket(self.dialect, events.c.timestamp, period).label("bucket")
        return select(
            label,
            func.count(distinct(events.c.visitor_id)),
            func.count(distinct(events.c.session_id)),
            func.coalesce(func.sum(events.c.counted_pageview), 0),
        ).group_by(label)

    def _timeseries_hourly(self, split: Split, period: Period) -> Select[Any]:
        """The hours of a period read from rollups where they hold them (``tier_hour_rows``),
        the other events' grouped by hour."""
        label = (self.dialect, period)
        tier = tier_hour_rows(split, "", label)
        events = [q for t in (page_view, custom_event) for q in hourly_events(split, t, label)]
        if events:
            tier.append(hour_sums(union_all(*events).subquery("events")))
        return _sums_by_label(union_all(*tier).subquery())

    def _timeseries_combined(self, split: Split, period: Period) -> Select[Any]:
        columns = ("day", "visitors", "visits", "pageviews")
        rolled = rollup_rows(split, "", columns, interval=period.interval).subquery()
        parts = visit_parts(split, (self.dialect, period)).subquery()
        counted = parts.c.pageviews
        rest = select(parts.c.label).group_by(parts.c.label)
        if split.filter is not None:
            rest = rest.where(self._selected(split)(parts.c.session_id))
            if split.filter[0] == "page":
                counted = parts.c.matched
        rest = rest.add_columns(
            func.count(distinct(parts.c.visitor_id)).label("visitors"),
            func.count(distinct(parts.c.session_id)).label("visits"),
            func.sum(counted).label("pageviews"),
        )
        both = union_all(
            select(
                day_label(self.dialect, rolled.c.day, period.interval).label("label"),
                rolled.c.visitors,
                rolled.c.visits,
                rolled.c.pageviews,
            ),
            rest,
        ).subquery()
        return _sums_by_label(both)

    # -- lists ------------------------------------------------------------------------------

    def top_pages(self, period: Period, filters: Filters, limit: int = 10) -> list[TopPage]:
        with self.engine.connect() as conn:
            split = _rolled_days_or_none(self._split(conn, period, filters))
            key = ("top", "page", split, period, filters, limit)
            rows = [
                tuple(row)
                for row in self.run(
                    conn,
                    key,
                    lambda: self._items_select(split, period, filters, "page", limit),
                    split,
                    selects=True,
                )
            ]
            sparklines = self._sparklines_of(conn, period, filters, split, rows)
            engagement = self._engagement_of(conn, period, filters, [row[0] for row in rows])
        pages = []
        for path, visitors, views, *_ in rows:
            read = engagement.get(path, NONE)
            sparkline = sparklines.get(path, [])
            pages.append(
                TopPage(
                    path, int(visitors), int(views), sparkline, read.time_on_page, read.scroll_depth
                )
            )
        return pages

    def _engagement_of(
        self, conn: Connection, period: Period, filters: Filters, paths: list[str]
    ) -> dict[str, PageEngagement]:
        """Time on page and scroll depth of ``paths``: of all their views, so with no
        filter or a page filter (which selects that page's visits: its views are all
        there); none with other filters, which the rollups of engagement do not keep."""
        if replace(filters, page=None):
            return {}
        return page_engagement(conn, period, paths, rollups=self.rollups)

    def _sparklines_of(
        self,
        conn: Connection,
        period: Period,
        filters: Filters,
        split: Split | None,
        top: list[tuple[Any, ...]],
    ) -> dict[str, list[int]]:
        """Page views per bucket of the ``top`` pages (their rows from the list); none
        (rather than zeros) for an hourly period whose raw events are purged."""
        paths = [row[0] for row in top]
        if split is None:
            return self._sparklines(conn, period, filters, paths)
        label = _one_bucket(split, period)
        if label is not None:
            # The raw rest lies in one bucket: its counts came with the list (last column).
            sparklines = self._sparklines_combined(conn, split, period, paths, rolled_only=True)
            at = [name for name, _ in period.buckets()].index(label)
            for path, *_, raw_count in top:
                sparklines[path][at] += int(raw_count)
            return sparklines
        try:
            bucketed = self._split(conn, period, filters, hourly=True)
        except RawEventsPurged:
            return {}
        if bucketed is None:
            return self._sparklines(conn, period, filters, paths)
        if bucketed.filter is None and period.interval == "hour":
            rows = self.run(
                conn,
                ("sparklines by hour", bucketed, period),
                lambda: self._sparklines_hourly(bucketed, period),
                bucketed,
                paths=paths,
            )
            return _sparkline_lists(period, paths, rows)
        return self._sparklines_combined(conn, bucketed, period, paths)

    def _sparklines_hourly(self, split: Split, period: Period) -> Select[Any]:
        """Page views per hour of ``TOP_PATHS``: from rollups where they hold them
        (``tier_hour_rows``), the other views counted."""
        label = (self.dialect, period)
        tier = union_all(*tier_hour_rows(split, "page", label)).subquery("tier")
        rows: list[Any] = [
            select(tier.c.value, tier.c.label, tier.c.pageviews.label("count")).where(
                tier.c.value.in_(TOP_PATHS)
            )
        ]
        views = hourly_events(split, page_view, label, page_view.c.path.in_(TOP_PATHS), path=True)
        if views:
            counted = union_all(*views).subquery("views")
            rows.append(
                select(counted.c.path, counted.c.label, func.count()).group_by(
                    counted.c.path, counted.c.label
                )
            )
        return _sums_by_page_and_label(union_all(*rows).subquery())

    def _items_select(
        self, split: Split | None, period: Period, filters: Filters, kind: str, limit: int
    ) -> Select[Any]:
        if split is None:
            return self._items_raw(period, filters, kind, limit)
        return self._items_combined(split, kind, limit)

    def _items_raw(self, period: Period, filters: Filters, kind: str, limit: int) -> Select[Any]:
        """Pages (``page``) or events (``event``) by visitors then count, from raw events;
        a page or event filter also narrows what is counted to that page or event."""
        table, column, _ = item_source(kind)
        rows = self._table_rows(table, period, filters)
        narrowed = self._narrowing(filters, kind, table)
        if narrowed is not None:
            rows = rows.where(narrowed)
        visitors = func.count(distinct(table.c.visitor_id))
        return (
            rows.with_only_columns(column, visitors, func.count())
            .group_by(column)
            .order_by(visitors.desc(), func.count().desc(), column)
            .limit(limit)
        )

    def _items_combined(
        self, split: Split, kind: str, limit: int | None, value: str | None = None
    ) -> Select[Any]:
        """Pages or events by visitors then count (then how many of those came from raw
        events): rollup rows plus the remainder."""
        counted = "pageviews" if kind == "page" else "events"
        rolled = rollup_rows(split, kind, ("value", "visitors", counted)).subquery()
        items = item_rows(split, kind, selected=self._selected(split)).subquery()
        rest = select(
            items.c.value,
            func.count(distinct(items.c.visitor_id)).label("visitors"),
            func.sum(items.c.count).label("count"),
            func.sum(items.c.count * items.c.raw).label("raw_count"),
        ).group_by(items.c.value)
        count = rolled.c[counted]
        if value is not None:
            rest = rest.where(items.c.value == value)
        rolled_rows = select(
            rolled.c.value,
            rolled.c.visitors,
            count.label("count"),
            literal(0, Integer).label("raw_count"),
        )
        if value is not None:
            rolled_rows = rolled_rows.where(rolled.c.value == value)
        both = union_all(rolled_rows, rest).subquery()
        visitors, total = func.sum(both.c.visitors), func.sum(both.c.count)
        query = (
            select(both.c.value, visitors, total, func.sum(both.c.raw_count))
            .group_by(both.c.value)
            .order_by(visitors.desc(), total.desc(), both.c.value)
        )
        return query.limit(limit) if limit is not None else query

    def _sparklines(
        self, conn: Connection, period: Period, filters: Filters, paths: list[str]
    ) -> dict[str, list[int]]:
        if not paths:
            return {}

        def build() -> Select[Any]:
            label = bucket(self.dialect, page_view.c.timestamp, period).label("bucket")
            props = filters.property_sql(page_view.c.properties)
            return (
                self._table_rows(page_view, period, filters)
                .where(page_view.c.path.in_(TOP_PATHS), *([props] if props is not None else []))
                .with_only_columns(page_view.c.path, label, func.count())
                .group_by(page_view.c.path, label)
            )

        key = ("sparklines", None, period, filters)
        return _sparkline_lists(period, paths, self.run(conn, key, build, None, paths=paths))

    def _sparklines_combined(
        self,
        conn: Connection,
        split: Split,
        period: Period,
        paths: list[str],
        *,
        rolled_only: bool = False,
    ) -> dict[str, list[int]]:
        """Page views per bucket of ``paths``; ``rolled_only``: of the rolled-up days
        alone (a filter still selects visits by the whole period)."""
        if not paths:
            return {}

        def build() -> Select[Any]:
            columns = ("value", "day", "pageviews")
            rolled = rollup_rows(
                split, "page", columns, visitors=False, interval=period.interval
            ).subquery()
            selected = self._selected(split)
            rest = replace(split, raw=(), windows=()) if rolled_only else split
            items = item_rows(rest, "page", (self.dialect, period), selected).subquery()
            both = union_all(
                select(
                    rolled.c.value,
                    day_label(self.dialect, rolled.c.day, period.interval).label("label"),
                    rolled.c.pageviews.label("count"),
                ).where(rolled.c.value.in_(TOP_PATHS)),
                select(items.c.value, items.c.label, items.c.count).where(
                    items.c.value.in_(TOP_PATHS)
                ),
            ).subquery()
            return _sums_by_page_and_label(both)

        key = ("sparklines", split, period, rolled_only)
        rows = self.run(conn, key, build, split, selects=True, paths=paths)
        return _sparkline_lists(period, paths, rows)

    def _selected(self, split: Split) -> Any:
        """The condition on a session id column that picks the visits of the split's
        remainder its filter selects (None without a filter).

        The session ids are computed once (a materialised CTE): PostgreSQL, misjudging
        their number from rollup tables it has not analysed yet, otherwise ran them again
        for each row it filters. And there ``IN`` is spelled ``(... IN (...)) IS TRUE``,
        which it cannot turn into a join: estimating a few rows where there were
        hundreds, it joined them by nested loops (500,000 comparisons, 120 ms of the
        30-day chart with a country filter at 1,000,000 events, 27 ms with the hashed
        lookup this gives)."""
        if split.filter is None:
            return None
        if _SHARED.get() is not None:  # found before, given as SELECTED (see ``run``)
            if self.dialect == "postgresql":
                ids = bindparam(SELECTED, type_=ARRAY(BigInteger))
                return lambda column: column == any_(ids)
            given = func.json_each(bindparam(SELECTED, type_=String)).table_valued("value")
            return lambda column: column.in_(select(given.c.value))
        sessions = selected_sessions(split).subquery()
        selected = (
            select(sessions.c.session_id)
            .cte("selected")
            .prefix_with("MATERIALIZED", dialect="postgresql")
        )
        ids = select(selected.c.session_id)
        if self.dialect == "postgresql":
            return lambda column: column.in_(ids).is_(True)
        return lambda column: column.in_(ids)

    def _selected_ids(self, conn: Connection, split: Split) -> Any:
        """The session ids ``selected_sessions`` finds, as the SELECTED parameter takes
        them: an array on PostgreSQL, JSON on SQLite (one parameter, however many)."""

        def build() -> Select[Any]:
            sessions = selected_sessions(split).subquery()
            return select(sessions.c.session_id).distinct()

        ids = [int(row[0]) for row in self.run(conn, ("selected", split), build, split)]
        return ids if self.dialect == "postgresql" else json.dumps(ids)

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
        with self.engine.connect() as conn:
            split = self._split(conn, period, filters)

            def build() -> Select[Any]:
                visits = self._visits_of(split, period, filters).subquery("visits")
                return self._group_select(visits, attribute, limit, split)

            key = ("group", attribute, split, period, filters, limit)
            return [(str(v), int(a), int(b)) for v, a, b in self.run(conn, key, build, split)]

    def _group_select(
        self, visits: Any, attribute: str, limit: int, split: Split | None = None
    ) -> Select[Any]:
        """Visitors and visits per value of a visit attribute; with ``split``, the
        rollups' rows of the rolled-up days are added to those of ``visits``."""
        value = func.coalesce(visits.c[attribute], empty_value(attribute)).label("value")
        visitors = func.count(distinct(visits.c.visitor_id))
        if split is None:
            return (
                select(value, visitors.label("visitors"), func.count().label("visits"))
                .group_by(value)
                .order_by(visitors.desc(), func.count().desc(), value)
                .limit(limit)
            )
        rolled = rollup_rows(split, attribute, ("value", "visitors", "visits")).subquery()
        both = union_all(
            select(rolled.c.value, rolled.c.visitors, rolled.c.visits),
            select(value, visitors.label("visitors"), func.count().label("visits")).group_by(value),
        ).subquery()
        total_visitors, total_visits = func.sum(both.c.visitors), func.sum(both.c.visits)
        return (
            select(both.c.value, total_visitors.label("visitors"), total_visits.label("visits"))
            .group_by(both.c.value)
            .order_by(total_visitors.desc(), total_visits.desc(), both.c.value)
            .limit(limit)
        )

    def top_events(self, period: Period, filters: Filters, limit: int = 10) -> list[TopEvent]:
        with self.engine.connect() as conn:
            split = _rolled_days_or_none(self._split(conn, period, filters))
            key = ("top", "event", split, period, filters, limit)
            rows = self.run(
                conn,
                key,
                lambda: self._items_select(split, period, filters, "event", limit),
                split,
                selects=True,
            )
            return [TopEvent(n, int(v), int(c)) for n, v, c, *_ in rows]

    def event_properties(
        self, period: Period, filters: Filters, name: str, limit: int = 100
    ) -> list[EventProperty]:
        """Each property key and value of the custom event ``name``, by visitors: from the
        rollups of property values for the days that have them, raw events otherwise. With
        a filter (other than ``name`` itself) from raw events only, so for a period that
        starts before those kept this raises ``RawEventsPurged`` rather than count the
        properties of part of it."""
        if filters.exact("event") == name:
            # What the dashboard asks once an event is clicked. Each event counted is in a
            # visit with an event ``name``: the filter keeps them all, and regrouping the
            # period's visits to apply it took a second at 1,000,000 events.
            filters = replace(filters, event=None)
        with self.engine.connect() as conn:
            state = read_state(conn)
            split = None
            if self.rollups and not filters:
                split = split_period(period, state, now=self.clock(), properties=True)
                split = _rolled_days_or_none(split)
            starts = [a for a, _, _ in remainder(split)] if split else [naive_utc(period.start)]
            _require_raw_events(state, starts, period.zone, "properties")
            if split is None:
                rows = conn.execute(self._properties_raw(period, filters, name, limit))
                return [EventProperty(k, str(v), int(a), int(b)) for k, v, a, b in rows]
            key = ("properties", split, period, name, limit)
            build = lambda: self._properties_combined(split, name, limit)  # noqa: E731
            rows = self.run(conn, key, build, split)
            return [EventProperty(k, str(v), int(a), int(b)) for k, v, a, b in rows]

    def properties(
        self, period: Period, filters: Filters, key: str | None, limit: int = 10
    ) -> list[Any]:
        """The property keys of the period's page views and custom events (``key`` None:
        ``Breakdown(key, visitors, visits)``), or the values of ``key`` (``EventProperty``),
        by visitors, from raw events. Page views are narrowed by a page filter and custom
        events by an event filter, as the lists of pages and events are."""
        with self.engine.connect() as conn:
            _require_raw_period(conn, period, "properties")
            parts = []
            for table, kind in ((page_view, "page"), (custom_event, "event")):
                joined, name, text = property_rows(table)
                rows = self._table_rows(table, period, filters).where(
                    table.c.properties.is_not(None)
                )
                narrowed = self._narrowing(filters, kind, table)
                if narrowed is not None:
                    rows = rows.where(narrowed)
                if key is not None:
                    rows = rows.where(name == key)
                value = text if key is not None else literal("")
                parts.append(
                    rows.select_from(joined).with_only_columns(
                        table.c.visitor_id,
                        table.c.session_id,
                        name.label("key"),
                        value.label("value"),
                    )
                )
            found = union_all(*parts).subquery("properties")
            second = func.count() if key is not None else func.count(distinct(found.c.session_id))
            rows = conn.execute(_ranked(found, ("key", "value"), second, limit)).all()
        if key is None:
            return [Breakdown(str(k), int(v), int(n)) for k, _, v, n in rows]
        return [EventProperty(str(k), str(value), int(v), int(n)) for k, value, v, n in rows]

    def versions(
        self, period: Period, filters: Filters, of: str, limit: int = 10
    ) -> list[Breakdown]:
        """Visits by browser (``of`` ``browser``) or operating system (``os``) and its
        version (``Chrome 131``), from the period's raw events: the rollups keep no
        versions."""
        with self.engine.connect() as conn:
            _require_raw_period(conn, period, "versions")
            parts = [
                self._table_rows(table, period, filters).with_only_columns(
                    table.c.visitor_id,
                    table.c.session_id,
                    table.c[of].label("name"),
                    table.c[f"{of}_version"].label("version"),
                )
                for table in (page_view, custom_event)
            ]
            found = union_all(*parts).subquery("versions")
            visits = func.count(distinct(found.c.session_id))
            rows = conn.execute(_ranked(found, ("name", "version"), visits, limit)).all()
        return [
            Breakdown(" ".join(p for p in (name or UNKNOWN, version) if p), int(v), int(n))
            for name, version, v, n in rows
        ]

    def locations(
        self, period: Period, filters: Filters, by: str, limit: int = 10
    ) -> list[Location]:
        """Visits by region (``by`` ``region``) or city (``city``) in its country, from the
        period's raw events (the rollups keep countries only); events without one (no
        city-level database) are left out."""
        with self.engine.connect() as conn:
            _require_raw_period(conn, period, "locations")
            parts = [
                self._table_rows(table, period, filters)
                .where(table.c[by].is_not(None))
                .with_only_columns(
                    table.c.visitor_id,
                    table.c.session_id,
                    func.coalesce(table.c.country, UNKNOWN).label("country"),
                    table.c[by].label("name"),
                )
                for table in (page_view, custom_event)
            ]
            found = union_all(*parts).subquery("locations")
            visits = func.count(distinct(found.c.session_id))
            rows = conn.execute(_ranked(found, ("country", "name"), visits, limit)).all()
        return [Location(str(c), str(n), int(v), int(s)) for c, n, v, s in rows]

    def _properties_raw(
        self, period: Period, filters: Filters, name: str, limit: int
    ) -> Select[Any]:
        joined, key, text = property_rows(custom_event)
        value = text.label("value")
        visitors = func.count(distinct(custom_event.c.visitor_id))
        return (
            self._table_rows(custom_event, period, filters)
            .where(custom_event.c.name == name, custom_event.c.properties.is_not(None))
            .select_from(joined)
            .with_only_columns(key, value, visitors, func.count())
            .group_by(key, value)
            .order_by(key, visitors.desc(), func.count().desc(), value)
            .limit(limit)
        )

    def _properties_combined(self, split: Split, name: str, limit: int) -> Select[Any]:
        """``_properties_raw``'s rows from the rollups of property values (``PROPERTY``
        rows, whose value names the event, key and value) plus the remainder."""
        rolled = rollup_rows(split, PROPERTY, ("value", "visitors", "events"), event=name)
        rolled = rolled.subquery()
        items = item_rows(split, PROPERTY, event=name).subquery()
        rest = select(
            items.c.value,
            func.count(distinct(items.c.visitor_id)).label("visitors"),
            func.sum(items.c.count).label("count"),
        ).group_by(items.c.value)
        both = union_all(
            select(rolled.c.value, rolled.c.visitors, rolled.c.events.label("count")), rest
        ).subquery()
        summed = (
            select(
                both.c.value,
                func.sum(both.c.visitors).label("visitors"),
                func.sum(both.c.count).label("count"),
            )
            .group_by(both.c.value)
            .subquery()
        )
        key, value = property_part(summed.c.value, 1), property_part(summed.c.value, 2)
        return (
            select(key, value, summed.c.visitors, summed.c.count)
            .order_by(key, summed.c.visitors.desc(), summed.c.count.desc(), value)
            .limit(limit)
        )

    def entry_pages(self, period: Period, filters: Filters, limit: int = 10) -> list[EntryPage]:
        """Where the period's visits began (query/visit_reports.py)."""
        with self.engine.connect() as conn:
            _require_raw_period(conn, period, "visits")
            return visit_reports.entry_pages(conn, period, filters, limit)

    def exit_pages(self, period: Period, filters: Filters, limit: int = 10) -> list[ExitPage]:
        """Where the period's visits ended (query/visit_reports.py)."""
        with self.engine.connect() as conn:
            _require_raw_period(conn, period, "visits")
            return visit_reports.exit_pages(conn, period, filters, limit)

    def goals(
        self, period: Period, filters: Filters, goals: Sequence[Goal]
    ) -> list[GoalConversion]:
        """Each goal's unique and total conversions and conversion rate (query/goals.py):
        an event's from the events' rollups, a property value's from its rollups, a page's
        from raw page views."""
        if not goals:
            return []
        visitors = self._totals(period, filters)["visitors"]
        events: dict[str, TopEvent] = {}
        if any(goal.event is not None and goal.prop is None for goal in goals):
            events = {e.name: e for e in self.top_events(period, filters, limit=10_000)}
        found: list[GoalConversion] = []
        for goal in goals:
            try:
                reached = self._goal_numbers(period, filters, goal, events)
            except RawEventsPurged:
                reached = None
            if reached is None:
                found.append(GoalConversion(goal.name, None, None, None))
                continue
            people, count = reached
            rate = round(100 * people / visitors, 1) if visitors else 0.0
            found.append(GoalConversion(goal.name, people, count, rate))
        return found

    def _goal_numbers(
        self, period: Period, filters: Filters, goal: Goal, events: dict[str, TopEvent]
    ) -> tuple[int, int] | None:
        if goal.event is not None and goal.prop is None:
            event = events.get(goal.event)
            return (event.visitors, event.events) if event is not None else (0, 0)
        if goal.event is not None and goal.prop is not None:
            key, value = goal.prop
            for row in self.event_properties(period, filters, goal.event, limit=10_000):
                if (row.key, row.value) == (key, value):
                    return row.visitors, row.events
            return 0, 0
        with self.engine.connect() as conn:
            _require_raw_period(conn, period, "goals")
            pv = page_view.c
            row = conn.execute(
                self._table_rows(page_view, period, filters)
                .where(pv.path.like(goal.like(), escape="\\"))
                .with_only_columns(func.count(distinct(pv.visitor_id)), func.count())
            ).one()
        return int(row[0]), int(row[1])

    def funnel(self, period: Period, filters: Filters, funnel: Funnel) -> FunnelReport:
        """The visitors and visits that reached each step of ``funnel`` (query/funnels.py),
        from the period's raw events (``RawEventsPurged`` for a period without them)."""
        with self.engine.connect() as conn:
            _require_raw_period(conn, period, "funnels")
            events = events_of(
                [(t, self._table_rows(t, period, filters)) for t in (page_view, custom_event)]
            )
            found = {step: (v, n) for step, v, n in conn.execute(funnel_select(funnel, events))}
        steps: list[FunnelStep] = []
        first = found.get(0, (0, 0))[0]
        for index, goal in enumerate(funnel.steps):
            visitors, visits = (int(n) for n in found.get(index, (0, 0)))
            before = steps[-1].visitors if steps else visitors
            rate = round(100 * visitors / first, 1) if first else 0.0
            steps.append(FunnelStep(goal.name, visitors, visits, before - visitors, rate))
        return FunnelReport(funnel.name, steps)

    def visit_breakdown(
        self, period: Period, filters: Filters, by: str, limit: int = 10
    ) -> list[Breakdown]:
        """Visits by channel or UTM tag (query/visit_reports.py)."""
        with self.engine.connect() as conn:
            _require_raw_period(conn, period, "visits")
            return visit_reports.visit_breakdown(conn, period, filters, by, limit)

    # -- single numbers ---------------------------------------------------------------------

    def realtime(self) -> Realtime:
        def build() -> Select[Any]:
            since = bindparam("since", type_=DateTime)
            ids = union_all(
                select(page_view.c.visitor_id).where(page_view.c.timestamp >= since),
                select(custom_event.c.visitor_id).where(custom_event.c.timestamp >= since),
            ).subquery()
            return select(func.count(distinct(ids.c.visitor_id)))

        since = naive_utc(self.clock() - REALTIME_WINDOW)
        with self.engine.connect() as conn:
            visitors = self.run(conn, ("realtime",), build, None, since=since).scalar_one()
        return Realtime(visitors=int(visitors))

    def page_stats(self, path: str, period: Period) -> PageStats:
        with self.engine.connect() as conn:
            split = self._split(conn, period, Filters())
            if split is None:
                query = select(func.count(), func.count(distinct(page_view.c.visitor_id))).where(
                    page_view.c.path == path, *_in_period(page_view, period)
                )
                pageviews, visitors = conn.execute(query).one()
            else:
                row = conn.execute(self._items_combined(split, "page", None, path)).first()
                visitors, pageviews = (row[1], row[2]) if row is not None else (0, 0)
        return PageStats(path, period.range, int(pageviews), int(visitors))

    # -- building blocks --------------------------------------------------------------------

    def _events(self, period: Period, filters: Filters) -> Subquery:
        """Page views and custom events in the period, of the visits the filters select,
        with ``counted_pageview`` 1 for the page views that count (of the filtered page)."""

        def counted(is_pageview: bool, table: Any) -> Any:
            if not is_pageview:
                return literal(0, Integer)
            narrowed = self._narrowing(filters, "page", table)
            return literal(1, Integer) if narrowed is None else case((narrowed, 1), else_=0)

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

    @staticmethod
    def _narrowing(filters: Filters, kind: str, table: Any) -> Any | None:
        """The condition on the events of ``table`` (page views: ``kind`` ``page``, custom
        events: ``event``) that the page or event filter and the property filters narrow
        what is counted to, or None."""
        only = filters.page if kind == "page" else filters.event
        column = table.c.path if kind == "page" else table.c.name
        conditions = [only.sql(column)] if only is not None else []
        props = filters.property_sql(table.c.properties)
        conditions += [props] if props is not None else []
        return and_(*conditions) if conditions else None

    def _table_rows(self, table: Any, period: Period, filters: Filters) -> Select[Any]:
        """Rows of one event table in the period, limited to the selected visits."""
        query = select(table.c.id).where(*_in_period(table, period))
        if filters:
            selected = self._visits(period, filters)
            query = query.where(table.c.session_id.in_(select(selected.c.session_id)))
        return query

    def _visits(self, period: Period, filters: Filters) -> Subquery:
        return self.visits_select(period, filters).subquery("visits")

    def visits_select(self, period: Period, filters: Filters) -> Select[Any]:
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
            "properties",
        )
        parts = []
        for table, is_pageview in ((page_view, True), (custom_event, False)):
            values = [table.c[c] if c in table.c else null().label(c) for c in columns]
            values.append(engaged_ms(table).label("engaged_ms"))
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
        props = filters.property_sql(events.c.properties)
        viewed = [filters.page.sql(events.c.path)] if filters.page is not None else []
        viewed += [props] if props is not None else []
        if viewed:
            counted: Any = func.sum(case((and_(events.c.is_pageview == 1, *viewed), 1), else_=0))
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
            func.sum(events.c.engaged_ms).label("engaged_ms"),
        ).group_by(events.c.session_id)
        conditions = []
        if filters.page is not None:
            conditions.append(counted > 0)
        if filters.event is not None:
            named = [events.c.is_pageview == 0, filters.event.sql(events.c.name)]
            named += [props] if props is not None else []
            conditions.append(func.sum(case((and_(*named), 1), else_=0)) > 0)
        if props is not None and filters.page is None and filters.event is None:
            conditions.append(func.sum(case((props, 1), else_=0)) > 0)  # any event with them
        for name, chosen in filters.visit_level.items():
            column = (
                func.max(events.c.referrer_source) if name == "source" else func.min(events.c[name])
            )
            conditions.append(chosen.sql(column, name))
        if conditions:
            query = query.having(and_(*conditions))
        tagged = visit_reports.tagged_sessions(filters)
        if tagged is not None:
            query = query.where(events.c.session_id.in_(tagged))
        return query


def _ranked(rows: Subquery, names: Sequence[str], counted: Any, limit: int) -> Select[Any]:
    """The columns ``names`` of ``rows`` (events with their ``visitor_id``), each with its
    visitors and ``counted``, by visitors, then ``counted``, then themselves."""
    columns = [rows.c[name] for name in names]
    visitors = func.count(distinct(rows.c.visitor_id))
    return (
        select(*columns, visitors, counted)
        .group_by(*columns)
        .order_by(visitors.desc(), counted.desc(), *columns)
        .limit(limit)
    )


def _sums_by_label(rows: Subquery) -> Select[Any]:
    """The chart's visitors, visits and page views per bucket label, summed over
    ``rows`` (the parts a period is read from)."""
    return select(
        rows.c.label,
        func.sum(rows.c.visitors),
        func.sum(rows.c.visits),
        func.sum(rows.c.pageviews),
    ).group_by(rows.c.label)


def _sums_by_page_and_label(rows: Subquery) -> Select[Any]:
    """The sparklines' page views per page (``value``) and bucket label, summed over
    ``rows`` (the parts a period is read from)."""
    return select(rows.c.value, rows.c.label, func.sum(rows.c.count)).group_by(
        rows.c.value, rows.c.label
    )


def _require_raw_events(
    state: RollupState | None, starts: list[datetime], zone: ZoneInfo, need: str
) -> None:
    """Raise ``RawEventsPurged`` (``need``: what needs them) if raw events are read from
    one of ``starts`` (naive UTC) on, and some of those have been purged."""
    raw_from = state.raw_from if state is not None else None
    if raw_from is not None and any(start < raw_from for start in starts):
        raise RawEventsPurged(raw_from.replace(tzinfo=UTC), zone, need=need)


def _require_raw_period(conn: Connection, period: Period, need: str) -> None:
    """``_require_raw_events`` for a report that reads the whole period raw (the visit
    rows or the events themselves)."""
    _require_raw_events(read_state(conn), [naive_utc(period.start)], period.zone, need)


def _rolled_days_or_none(split: Split | None) -> Split | None:
    """``split``, or None (group raw events, the quickest) when it reads no rollups and
    has no filter: pages and events of days not final yet, without the day in progress's
    rollups."""
    if split is None or not (split.days or split.filter or split.today or split.windows):
        return None
    return split


def _rolled_up_filter(filters: Filters) -> tuple[str, str] | None:
    """The one filter of ``filters`` as rollups keep it, or None (no filter, several, one
    that is not a single value exactly, or a value too long to have rollups)."""
    chosen = list(filters)
    if len(chosen) != 1 or chosen[0][0] not in ROLLED_UP:
        return None
    ((name, only),) = chosen
    value = only.exact
    return (name, value) if value is not None and len(value) <= FILTER_VALUE_MAX else None


def _one_bucket(split: Split | None, period: Period) -> str | None:
    """The label of the one bucket the raw rest of ``split`` lies in, if it is one."""
    intervals = remainder(split) if split is not None else []
    if not intervals or period.interval == "hour":
        return None
    labels = {
        bucket_label(moment.replace(tzinfo=UTC).astimezone(period.zone), period.interval)
        for start, stop, _ in intervals
        for moment in (start, stop - timedelta(microseconds=1))
    }
    return labels.pop() if len(labels) == 1 else None


def visit_duration(dialect: str, visits: Any) -> Any:
    """A visit's milliseconds: from its first event to its last, or its engaged time (on
    all its pages, as their trackers reported it) when that is longer: a one-page visit
    is no longer 0 s, nor one whose last page was read at length."""
    span = milliseconds_between(dialect, visits.c.first_seen, visits.c.last_seen)
    return greatest(dialect, span, visits.c.engaged_ms)


def is_bounce(visits: Any) -> Any:
    """1 for a bounce: a visit with exactly one page view and no interactive event."""
    return case((and_(visits.c.pageviews == 1, visits.c.interactions == 0), 1), else_=0)


def _totals_row(
    visitors: Any, count: Any, pageviews: Any, bounces: Any, duration_ms: Any
) -> dict[str, float]:
    count, pageviews = int(count), int(pageviews)
    return {
        "visitors": int(visitors),
        "visits": count,
        "pageviews": pageviews,
        "bounce_rate": round(100.0 * int(bounces) / count, 1) if count else 0.0,
        "visit_duration": round(int(duration_ms) / count / 1000, 1) if count else 0.0,
        "views_per_visit": round(pageviews / count, 2) if count else 0.0,
    }


def _sparkline_lists(period: Period, paths: list[str], rows: Any) -> dict[str, list[int]]:
    """Page views per bucket of each path, in the order of the period's buckets."""
    counts = {(path, name): int(count) for path, name, count in rows}
    names = [name for name, _ in period.buckets()]
    return {path: [counts.get((path, name), 0) for name in names] for path in paths}


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
