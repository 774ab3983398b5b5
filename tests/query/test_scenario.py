"""A small, hand-computed scenario: every metric checked against numbers worked out by
hand, on SQLite and PostgreSQL, through the Python API and through HTTP.

The site's time zone is America/New_York (UTC-5 in November). The period is the custom
range 2026-11-18..2026-11-19 (local), i.e. [Nov 18 05:00 UTC, Nov 20 05:00 UTC); the
previous period is the two local days before. Visitor ids come from a daily (UTC) salt, so
the same person on two days is two visitors, by design.

Current period, visit by visit (times local):
  A1  Nov 18 10:00 /, 10:02 /pricing, 10:05 Signup (interactive)  2 pv, 300 s, not a bounce
  B   Nov 18 12:00 /                                             1 pv,   0 s, bounce
  C   Nov 18 13:00 /blog, 13:01 Video Progress (not interactive) 1 pv,  60 s, bounce
  D   Nov 18 23:50 /, Nov 19 00:10 /docs (crosses local midnight) 2 pv, 1200 s
  A2  Nov 19 09:00 / (A again: a new UTC day, a new visitor id)   1 pv,   0 s, bounce
  E   Nov 19 15:00 /pricing from google, 15:20 /                  2 pv, 1200 s
=> visitors 6, visits 6, pageviews 9, bounce 3/6 = 50.0 %, duration 2760/6 = 460.0 s,
   views per visit 1.5.
Previous period: F Nov 17 10:00 / (bounce); G Nov 17 11:00 /, 11:10 /pricing (600 s)
=> visitors 2, visits 2, pageviews 3, bounce 50.0 %, duration 300.0 s, views/visit 1.5.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from conftest import BROWSER_UA, ManualClock
from footfall import IngestContext

ZONE = ZoneInfo("America/New_York")
SITE = "https://example.com"
TOKEN = "test-admin-token"
RANGE = {"from_date": "2026-11-18", "to_date": "2026-11-19"}
QUERY = "from=2026-11-18&to=2026-11-19"

# (local time, visitor network, kind, path or event name, referrer, interactive)
EVENTS = [
    ("2026-11-17 10:00", "F", "pageview", "/", None, True),
    ("2026-11-17 11:00", "G", "pageview", "/", None, True),
    ("2026-11-17 11:10", "G", "pageview", "/pricing", SITE + "/", True),
    ("2026-11-18 10:00", "A", "pageview", "/", None, True),
    ("2026-11-18 10:02", "A", "pageview", "/pricing", SITE + "/", True),
    ("2026-11-18 10:05", "A", "Signup", "/pricing", None, True),
    ("2026-11-18 12:00", "B", "pageview", "/", None, True),
    ("2026-11-18 13:00", "C", "pageview", "/blog", None, True),
    ("2026-11-18 13:01", "C", "Video Progress", "/blog", None, False),
    ("2026-11-18 23:50", "D", "pageview", "/", None, True),
    ("2026-11-19 00:10", "D", "pageview", "/docs", SITE + "/", True),
    ("2026-11-19 09:00", "A", "pageview", "/", None, True),
    ("2026-11-19 15:00", "E", "pageview", "/pricing", "https://www.google.com/search", True),
    ("2026-11-19 15:20", "E", "pageview", "/", SITE + "/pricing", True),
]
NETWORKS = {name: f"198.51.{i}.7" for i, name in enumerate("ABCDEFG", start=1)}

EXPECTED_STATS = {
    "visitors": (6, 2, 200.0),
    "visits": (6, 2, 200.0),
    "pageviews": (9, 3, 200.0),
    "bounce_rate": (50.0, 50.0, 0.0),
    "visit_duration": (460.0, 300.0, 53.3),
    "views_per_visit": (1.5, 1.5, 0.0),
}


@pytest.fixture
def scenario(make_analytics, database_url):
    clock = ManualClock()
    analytics = make_analytics(
        database_url, timezone="America/New_York", clock=clock, admin_token=TOKEN
    )

    async def load() -> None:
        for local, who, kind, what, referrer, interactive in EVENTS:
            moment = datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=ZONE)
            clock.now = moment.astimezone(ZoneInfo("UTC"))
            payload = {
                "name": kind,
                "url": SITE
                + (what if kind == "pageview" else "/pricing" if who == "A" else "/blog"),
                "referrer": referrer,
                "interactive": interactive,
            }
            await analytics.ingest(
                payload,
                headers={"user-agent": BROWSER_UA},
                peer=NETWORKS[who],
                context=IngestContext(source="http"),
            )

    asyncio.run(load())
    clock.now = datetime(2026, 11, 25, 12, 0, tzinfo=ZoneInfo("UTC"))
    return analytics


def _check_stats(stats: dict) -> None:
    for name, (value, previous, change) in EXPECTED_STATS.items():
        assert stats[name] == {"value": value, "previous": previous, "change": change}, name


def test_top_stats_through_python(scenario):
    _check_stats(scenario.api.get_dashboard_stats_sync(**RANGE).to_dict())


def test_filters_narrow_every_number(scenario):
    api = scenario.api
    pricing = api.get_dashboard_stats_sync(**RANGE, page="/pricing")
    # Visits A1 and E viewed /pricing; only /pricing views count as page views.
    assert (pricing.visitors.value, pricing.visits.value, pricing.pageviews.value) == (2, 2, 2)
    assert pricing.bounce_rate.value == 0.0 and pricing.visit_duration.value == 750.0
    google = api.get_dashboard_stats_sync(**RANGE, source="google.com")
    assert (google.visits.value, google.pageviews.value, google.visit_duration.value) == (
        1,
        2,
        1200.0,
    )
    direct = api.get_dashboard_stats_sync(**RANGE, source="Direct / None")
    assert (direct.visits.value, direct.pageviews.value) == (5, 7)
    signup = api.get_dashboard_stats_sync(**RANGE, event="Signup")
    assert (signup.visits.value, signup.pageviews.value, signup.bounce_rate.value) == (1, 2, 0.0)
    assert [p.path for p in api.get_top_pages_sync(range="custom", **RANGE, page="/docs")] == [
        "/docs"
    ]


def test_lists_and_timeseries_through_python(scenario):
    api = scenario.api
    series = api.get_timeseries_sync(**RANGE)
    assert series.interval == "day"
    assert [(p.bucket, p.visitors, p.visits, p.pageviews) for p in series.points] == [
        ("2026-11-18", 4, 4, 5),  # D's 23:50 view falls on the 18th, local time
        ("2026-11-19", 3, 3, 4),
    ]
    pages = api.get_top_pages_sync(10, "custom", **RANGE)
    assert [(p.path, p.visitors, p.pageviews, p.sparkline) for p in pages] == [
        ("/", 5, 5, [3, 2]),
        ("/pricing", 2, 2, [1, 1]),
        ("/blog", 1, 1, [1, 0]),
        ("/docs", 1, 1, [0, 1]),
    ]
    referrers = api.get_top_referrers_sync(10, "custom", **RANGE)
    assert [(r.source, r.visitors, r.visits) for r in referrers] == [
        ("Direct / None", 5, 5),
        ("google.com", 1, 1),
    ]
    events = api.get_top_events_sync(10, "custom", **RANGE)
    assert [(e.name, e.visitors, e.events) for e in events] == [
        ("Signup", 1, 1),
        ("Video Progress", 1, 1),
    ]
    devices = api.get_top_devices_sync(10, "custom", **RANGE)
    assert [(d.value, d.visitors, d.visits) for d in devices] == [("desktop", 6, 6)]
    countries = api.get_top_countries_sync(10, "custom", **RANGE)
    assert [(c.value, c.visits) for c in countries] == [("(unknown)", 6)]
    page = api.get_page_stats_sync("/pricing")
    assert (page.pageviews, page.visitors) == (3, 3)  # all time: G, A1 and E


def test_hourly_buckets_today_in_local_time(scenario):
    """``today`` is the local day, in hours; D's 00:10 view lands in the 00:00 bucket."""
    scenario.config.clock.now = datetime(2026, 11, 19, 6, 0, tzinfo=ZoneInfo("UTC"))  # 01:00
    series = scenario.api.get_timeseries_sync("today")
    assert series.interval == "hour" and len(series.points) == 24
    assert series.points[0].bucket == "2026-11-19 00:00"
    by_hour = {p.bucket[-5:]: p.pageviews for p in series.points if p.pageviews}
    assert by_hour == {"00:00": 1, "09:00": 1, "15:00": 2}


def test_the_same_numbers_through_http(scenario, serve):
    server = serve(scenario)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    base = "/api/data/analytics"
    stats = server.client.get(f"{base}/stats?{QUERY}", headers=auth)
    assert stats.status_code == 200 and stats.headers["cache-control"] == "no-store"
    _check_stats(stats.json())
    python = scenario.api
    for endpoint, method in [
        ("top-pages", python.get_top_pages_sync),
        ("top-referrers", python.get_top_referrers_sync),
        ("top-events", python.get_top_events_sync),
        ("top-devices", python.get_top_devices_sync),
        ("top-browsers", python.get_top_browsers_sync),
        ("top-os", python.get_top_os_sync),
        ("top-countries", python.get_top_countries_sync),
    ]:
        response = server.client.get(f"{base}/{endpoint}?{QUERY}&limit=5", headers=auth)
        assert response.status_code == 200, endpoint
        expected = [r.to_dict() for r in method(5, "custom", **RANGE)]
        assert response.json() == {"results": expected}, endpoint
    series = server.client.get(f"{base}/timeseries?{QUERY}", headers=auth).json()
    assert [p["pageviews"] for p in series["points"]] == [5, 4]
    filtered = server.client.get(f"{base}/stats?{QUERY}&page=/pricing", headers=auth).json()
    assert filtered["visits"]["value"] == 2 and filtered["pageviews"]["value"] == 2
    props = server.client.get(f"{base}/event-properties?name=Signup&{QUERY}", headers=auth).json()
    assert props == {"results": []}  # Signup was sent without properties
    page = server.client.get(f"{base}/page-stats?path=/pricing", headers=auth).json()
    assert page == {"path": "/pricing", "range": "all", "pageviews": 3, "visitors": 3}


def test_previous_period_and_change_are_of_equal_length(scenario):
    stats = scenario.api.get_dashboard_stats_sync(**RANGE)
    start, end = (datetime.fromisoformat(t) for t in (stats.start, stats.end))
    assert end - start == timedelta(days=2)
    assert start == datetime(2026, 11, 18, 5, 0, tzinfo=ZoneInfo("UTC"))


def test_the_overview_equals_its_parts(scenario):
    """One pass or one query per list: the same numbers, filtered or not."""
    api = scenario.api
    for filters in ({}, {"page": "/pricing"}, {"source": "Direct / None"}, {"device": "desktop"}):
        overview = api.get_overview_sync(5, "custom", **RANGE, **filters)
        assert overview.stats == api.get_dashboard_stats_sync(**RANGE, **filters)
        assert overview.referrers == api.get_top_referrers_sync(5, "custom", **RANGE, **filters)
        assert overview.countries == api.get_top_countries_sync(5, "custom", **RANGE, **filters)
        assert overview.devices == api.get_top_devices_sync(5, "custom", **RANGE, **filters)
        assert overview.browsers == api.get_top_browsers_sync(5, "custom", **RANGE, **filters)
        assert overview.os == api.get_top_os_sync(5, "custom", **RANGE, **filters)
