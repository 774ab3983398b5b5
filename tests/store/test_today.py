"""The rollups of the day in progress (store/today.py), on numbers worked out by hand.

The equality of every report with the raw reference while a day is in progress, on
generated traffic, is in tests/query/test_rollup_equality.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from footfall.ingest.event import Event
from footfall.query.filters import DIRECT, Filters
from footfall.query.metrics import Queries
from footfall.store import Store
from footfall.store.rollups import roll_up
from footfall.store.schema import rollup_state, rollup_today, rollup_today_crossing
from footfall.store.today import refresh_today

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
"""The day in progress is the 20th; visits that ended before 11:25 are finished."""


def _view(at: str, visitor: int, session: int, path: str, source: str | None = None) -> Event:
    return Event(
        name="pageview",
        timestamp=datetime.fromisoformat(at).replace(tzinfo=UTC),
        hostname="example.com",
        path=path,
        visitor_id=visitor,
        session_id=session,
        referrer_source=source,
    )


@pytest.fixture
def store(database_url):
    opened = Store(database_url)
    opened.writer.write_now(
        [
            # Visitor 1 crosses midnight in one visit, under the 19th's id: seen before.
            _view("2026-11-19T23:50", 1, 10, "/"),
            _view("2026-11-20T00:05", 1, 10, "/a"),
            # Visitor 2: a finished visit of two pages, then an open one from Google.
            _view("2026-11-20T08:00", 2, 20, "/"),
            _view("2026-11-20T08:01", 2, 20, "/pricing"),
            _view("2026-11-20T11:50", 2, 21, "/pricing", "google.com"),
            # Visitor 3: a finished bounce.
            _view("2026-11-20T09:00", 3, 30, "/"),
            # Visitor 4: an open visit of two pages.
            _view("2026-11-20T11:40", 4, 40, "/"),
            _view("2026-11-20T11:45", 4, 40, "/docs"),
        ]
    )
    assert roll_up(opened.engine, timezone="UTC", now=NOW) == 1  # the 19th
    assert refresh_today(opened.engine, timezone="UTC", now=NOW)
    yield opened
    opened.close()


def test_the_finished_visits_of_the_visitors_not_seen_before_are_rolled_up(store):
    with store.engine.connect() as conn:
        state = conn.execute(sa.select(rollup_state.c.today, rollup_state.c.today_until)).one()
        site = conn.execute(
            sa.select(
                rollup_today.c.visitors,
                rollup_today.c.visits,
                rollup_today.c.pageviews,
                rollup_today.c.bounces,
                rollup_today.c.duration_ms,
            ).where(rollup_today.c.dimension == "")
        ).one()
        crossing = conn.execute(sa.select(rollup_today_crossing.c.visitor_id)).scalars().all()
    assert tuple(state) == (date(2026, 11, 20), datetime(2026, 11, 20, 11, 25))
    # Visits 20 (two pages, 60 s) and 30 (a bounce); visitor 1's visit is left out.
    assert tuple(site) == (2, 2, 3, 1, 60_000)
    assert crossing == [1]


@pytest.mark.parametrize("rollups", [True, False], ids=["rollups", "raw"])
def test_today_counts_a_visitor_with_a_finished_and_an_open_visit_once(store, rollups):
    q = Queries(store.engine, timezone="UTC", clock=lambda: NOW, rollups=rollups)
    period = q.period("today")
    stats = q.dashboard_stats(period, Filters())
    # Visitors 1-4; visits 10 (its part after midnight: one page, a bounce), 20, 21 (a
    # bounce), 30 (a bounce), 40 (five minutes); 1 + 2 + 1 + 1 + 2 page views.
    assert stats.visitors.value == 4
    assert stats.visits.value == 5
    assert stats.pageviews.value == 7
    assert stats.bounce_rate.value == 60.0  # 3 of 5
    assert stats.visit_duration.value == 72.0  # (60 + 300) s / 5
    pages = {p.path: (p.visitors, p.pageviews) for p in q.top_pages(period, Filters())}
    assert pages == {"/": (3, 3), "/pricing": (1, 2), "/a": (1, 1), "/docs": (1, 1)}
    sources = {r.source: (r.visitors, r.visits) for r in q.top_referrers(period, Filters())}
    assert sources == {DIRECT: (4, 4), "google.com": (1, 1)}
    assert [
        (p.bucket, p.visitors, p.visits, p.pageviews)
        for p in q.timeseries(q.period("7d"), Filters()).points[-2:]
    ] == [("2026-11-19", 1, 1, 1), ("2026-11-20", 4, 5, 7)]


@pytest.mark.parametrize("rollups", [True, False], ids=["rollups", "raw"])
def test_a_range_with_the_day_before_counts_the_visitor_across_midnight_once(store, rollups):
    q = Queries(store.engine, timezone="UTC", clock=lambda: NOW, rollups=rollups)
    stats = q.dashboard_stats(q.period("7d"), Filters())
    # Visit 10 is one visit of two pages (15 minutes) here: 5 visits, 8 page views.
    assert stats.visitors.value == 4
    assert stats.visits.value == 5
    assert stats.pageviews.value == 8
    assert stats.bounce_rate.value == 40.0  # visits 21 and 30
    assert stats.visit_duration.value == 252.0  # (900 + 60 + 300) s / 5
