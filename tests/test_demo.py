"""The demo data must look like a real site on the dashboard and keep the pipeline's
invariants (per-day visitor ids, 30-minute sessions, referrers on first page views only), or
the first thing a new user sees is nonsense."""

from __future__ import annotations

import itertools
import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, literal, select, union_all

from footfall.demo import DemoSummary, generate_demo
from footfall.store import Store
from footfall.store.schema import custom_event, page_view

NOW = datetime(2024, 6, 20, 10, 37, 12, 345678, tzinfo=UTC)
DAYS = 7
ASKED = 5_000
HOST = "demo.footfall.dev"


class Demo:
    """One generated database, shared by the tests that only read it."""

    def __init__(self, store: Store, summary: DemoSummary, progress: list[int]) -> None:
        self.store = store
        self.summary = summary
        self.progress = progress

    def rows(self, query: Any) -> list[Any]:
        with self.store.engine.connect() as conn:
            return list(conn.execute(query))

    def scalar(self, query: Any) -> Any:
        with self.store.engine.connect() as conn:
            return conn.execute(query).scalar_one()

    def events(self) -> list[Any]:
        """Page views and custom events together, in time order."""
        both = union_all(
            select(
                page_view.c.session_id,
                page_view.c.visitor_id,
                page_view.c.timestamp,
                page_view.c.path,
                literal(True).label("is_pageview"),
                literal(False).label("interactive"),
            ),
            select(
                custom_event.c.session_id,
                custom_event.c.visitor_id,
                custom_event.c.timestamp,
                custom_event.c.path,
                literal(False).label("is_pageview"),
                custom_event.c.interactive,
            ),
        ).subquery()
        return self.rows(select(both).order_by(both.c.timestamp))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    store = Store(f"sqlite:///{path}")
    progress: list[int] = []
    try:
        summary = generate_demo(
            store, pageviews=ASKED, days=DAYS, seed=7, now=NOW, progress=progress.append
        )
        yield Demo(store, summary, progress)
    finally:
        store.close()


def _sessions(demo: Demo) -> dict[int, list[Any]]:
    sessions: dict[int, list[Any]] = defaultdict(list)
    for row in demo.events():
        sessions[row.session_id].append(row)
    return sessions


def test_summary_matches_the_database(demo: Demo) -> None:
    events = demo.events()
    assert demo.summary.pageviews == demo.scalar(select(func.count()).select_from(page_view))
    assert demo.summary.custom_events == demo.scalar(select(func.count()).select_from(custom_event))
    assert demo.summary.visits == len({row.session_id for row in events})
    assert demo.summary.visitors == len({row.visitor_id for row in events})
    assert demo.summary.custom_events > 0
    assert demo.summary.visitors < demo.summary.visits  # some visitors came back that day


def test_about_as_many_page_views_as_asked(demo: Demo) -> None:
    assert abs(demo.summary.pageviews - ASKED) <= ASKED * 0.05


def test_progress_reports_every_chunk(demo: Demo) -> None:
    assert len(demo.progress) >= 2  # 5,000 page views plus custom events: two chunks
    assert sum(demo.progress) == demo.summary.pageviews
    assert all(0 < n <= 5_100 for n in demo.progress)


def test_timestamps_inside_the_period(demo: Demo) -> None:
    start = (NOW - timedelta(days=DAYS)).replace(tzinfo=None)
    end = NOW.replace(tzinfo=None)
    for table in (page_view, custom_event):
        query = select(func.min(table.c.timestamp), func.max(table.c.timestamp))
        first, last = demo.rows(query)[0]
        assert start < first
        assert last < end
        if table is page_view:  # ... and spread over all of it, not bunched at one end
            assert first < start + timedelta(hours=12)
            assert last > end - timedelta(hours=12)


def test_bounce_share_and_pages_per_visit(demo: Demo) -> None:
    sessions = _sessions(demo)
    bounces = sum(
        1
        for events in sessions.values()
        if sum(e.is_pageview for e in events) == 1
        and not any(e.interactive for e in events if not e.is_pageview)
    )
    assert 0.3 <= bounces / len(sessions) <= 0.7
    assert 1.8 <= demo.summary.pageviews / len(sessions) <= 3.5


def test_visits_never_pause_for_30_minutes(demo: Demo) -> None:
    longest = timedelta(0)
    for events in _sessions(demo).values():
        assert len({e.visitor_id for e in events}) == 1
        assert events[0].is_pageview  # a visit starts with a page view
        for before, after in itertools.pairwise(events):
            assert after.timestamp - before.timestamp < timedelta(minutes=30)
        longest = max(longest, events[-1].timestamp - events[0].timestamp)
    assert longest > timedelta(minutes=3)  # but visits are not all instant either


def test_visitor_ids_are_per_day_and_some_return(demo: Demo) -> None:
    starts: dict[int, list[datetime]] = defaultdict(list)
    for events in _sessions(demo).values():
        starts[events[0].visitor_id].append(events[0].timestamp)
    returning = [times for times in starts.values() if len(times) > 1]
    assert len(returning) > 0.03 * len(starts)
    for times in returning:
        assert len({t.date() for t in times}) == 1
        times.sort()
        for before, after in itertools.pairwise(times):
            assert after - before > timedelta(minutes=30)


def test_many_pages_with_a_long_tail(demo: Demo) -> None:
    counts = Counter(
        dict(demo.rows(select(page_view.c.path, func.count()).group_by(page_view.c.path)))
    )
    assert len(counts) > 50
    assert all(path.startswith("/") for path in counts)
    assert "/" in [path for path, _ in counts.most_common(3)]
    top_ten = sum(n for _, n in counts.most_common(10))
    assert 0.3 < top_ten / sum(counts.values()) < 0.85
    assert sum(1 for path in counts if path.startswith("/blog/")) > 30
    hosts = {row[0] for row in demo.rows(select(page_view.c.hostname).distinct())}
    hosts |= {row[0] for row in demo.rows(select(custom_event.c.hostname).distinct())}
    assert hosts == {HOST}


def test_referrers_only_on_the_first_page_view(demo: Demo) -> None:
    rows = demo.rows(
        select(
            page_view.c.session_id,
            page_view.c.timestamp,
            page_view.c.path,
            page_view.c.referrer,
            page_view.c.referrer_source,
            page_view.c.utm_source,
        ).order_by(page_view.c.timestamp)
    )
    previous: dict[int, str] = {}
    for row in rows:
        if row.session_id in previous:
            assert row.referrer_source is None
            assert row.utm_source is None
            assert row.referrer == f"https://{HOST}{previous[row.session_id]}"
        elif row.referrer is not None:
            assert "?" not in row.referrer
            assert HOST not in row.referrer
        previous[row.session_id] = row.path

    sources = Counter(
        dict(
            demo.rows(
                select(page_view.c.referrer_source, func.count()).group_by(
                    page_view.c.referrer_source
                )
            )
        )
    )
    named = {source for source in sources if source is not None}
    assert len(named) >= 5
    assert {"google.com", "news.ycombinator.com"} <= named
    assert not any(source.startswith("www.") for source in named)
    first_views = demo.scalar(select(func.count(page_view.c.session_id.distinct())))
    direct = first_views - sum(sources[s] for s in named)
    assert 0.2 < direct / first_views < 0.5


def test_some_visits_come_from_utm_campaigns(demo: Demo) -> None:
    tagged = demo.rows(
        select(
            page_view.c.utm_source,
            page_view.c.utm_medium,
            page_view.c.utm_campaign,
            page_view.c.referrer_source,
        ).where(page_view.c.utm_source.is_not(None))
    )
    assert len(tagged) >= 10
    for row in tagged:
        assert row.referrer_source == row.utm_source  # referrer source rule, docs/aggregation.md
        assert row.utm_medium and row.utm_campaign


def test_devices_browsers_and_countries_are_consistent(demo: Demo) -> None:
    rows = demo.rows(
        select(page_view.c.device, page_view.c.browser, page_view.c.os, page_view.c.country)
    )
    devices = Counter(row.device for row in rows)
    assert set(devices) == {"desktop", "mobile", "tablet"}
    assert devices["desktop"] > devices["mobile"] > devices["tablet"]
    for row in rows:
        if row.browser == "Safari":
            assert row.os in ("iOS", "macOS")
        if row.browser == "Samsung Internet":
            assert row.os == "Android"
        if row.os in ("iOS", "Android"):
            assert row.device in ("mobile", "tablet")
        else:
            assert row.device == "desktop"
    assert {"Chrome", "Safari", "Firefox", "Edge"} <= {row.browser for row in rows}
    countries = Counter(row.country for row in rows)
    assert countries.most_common(1)[0][0] == "US"
    assert len(countries) > 15
    assert all(c is None or (len(c) == 2 and c.isupper()) for c in countries)


def test_custom_events_fire_inside_visits(demo: Demo) -> None:
    rows = demo.rows(
        select(
            custom_event.c.name,
            custom_event.c.properties,
            custom_event.c.interactive,
            custom_event.c.session_id,
            custom_event.c.path,
            custom_event.c.referrer_source,
        )
    )
    viewed = {
        (row.session_id, row.path)
        for row in demo.rows(select(page_view.c.session_id, page_view.c.path))
    }
    names = Counter(row.name for row in rows)
    assert {"Signup", "Outbound Link: Click", "Video Progress", "404"} <= set(names)
    expected_keys = {
        "Signup": "plan",
        "Download": "file",
        "Outbound Link: Click": "url",
        "Newsletter": "source",
        "404": "path",
        "Video Progress": "percent",
    }
    for row in rows:
        assert (row.session_id, row.path) in viewed
        assert row.referrer_source is None
        properties = json.loads(row.properties)
        assert list(properties) == [expected_keys[row.name]]
        assert row.interactive == (row.name != "Video Progress")
        if row.name == "Signup":
            assert row.path == "/signup"
            assert properties["plan"] in ("free", "pro", "team")
        if row.name == "404":
            assert properties["path"] == row.path
    share = len({row.session_id for row in rows}) / demo.summary.visits
    assert 0.04 <= share <= 0.2


def test_traffic_has_daily_and_weekly_rhythm_and_a_spike(demo: Demo) -> None:
    times = [row[0] for row in demo.rows(select(page_view.c.timestamp))]
    by_hour = Counter(t.hour for t in times)
    afternoon = sum(by_hour[h] for h in range(13, 18))
    night = sum(by_hour[h] for h in range(0, 5))
    assert afternoon > 1.5 * night
    by_day = Counter(t.date() for t in times)
    whole_days = [n for day, n in by_day.items() if day not in (min(by_day), max(by_day))]
    assert max(whole_days) > 1.8 * statistics.median(whole_days)  # the Hacker News day


def test_same_seed_and_now_give_the_same_rows(tmp_path: Path) -> None:
    def dump(name: str, seed: int) -> tuple[DemoSummary, list[Any], list[Any]]:
        store = Store(f"sqlite:///{tmp_path}/{name}.db")
        try:
            summary = generate_demo(store, pageviews=1_500, days=3, seed=seed, now=NOW)
            with store.engine.connect() as conn:
                views = list(conn.execute(select(page_view).order_by(page_view.c.id)))
                customs = list(conn.execute(select(custom_event).order_by(custom_event.c.id)))
        finally:
            store.close()
        return summary, views, customs

    first, second, other = dump("a", 3), dump("b", 3), dump("c", 4)
    assert first == second
    assert first[1] and first[2]
    assert other[1] != first[1]


def test_now_must_be_timezone_aware(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/naive.db")
    try:
        with pytest.raises(ValueError, match="timezone"):
            generate_demo(store, pageviews=10, days=1, now=datetime(2024, 6, 20))
    finally:
        store.close()


def test_the_demo_covers_the_period_its_first_view_compares_with(tmp_path):
    """The dashboard opens on 30 days compared with the 30 before: with the command's
    defaults both are whole, so the changes are a site's (not "+7001.9%", which a partial
    day at the start of the comparison period gave)."""
    from footfall import Analytics
    from footfall.cli import DEMO_DAYS

    analytics = Analytics(database_url=f"sqlite:///{tmp_path / 'demo.db'}", clock=lambda: NOW)
    try:
        generate_demo(analytics.store, pageviews=12_000, days=DEMO_DAYS, now=NOW, seed=3)
        stats = analytics.api.get_dashboard_stats_sync(range="30d")
    finally:
        analytics.close()
    for name in ("visitors", "visits", "pageviews"):
        metric = getattr(stats, name)
        assert metric.previous > 0.8 * metric.value, (name, metric)
        assert abs(metric.change) < 25, (name, metric)
