"""The metric definitions of DESIGN.md section 4 / docs/aggregation.md, pinned with numbers
worked out by hand, through the real pipeline, on SQLite and PostgreSQL.

The site's time zone is UTC. The period is the custom day 2026-11-18, i.e.
[Nov 18 00:00, Nov 19 00:00) UTC; the previous period is Nov 17. (Nov 18-19, previous
Nov 16-17, holds the same events, so the same numbers, read by day instead of by hour, and
so from the rollups once the days are rolled up.) Each letter is a visitor (its own /24
network, so its own visitor id); times are UTC.

Current period (Nov 18), visit by visit:
  A   09:00 /, 09:01 Signup (interactive)          1 pv,  60 s, NOT a bounce (interactive)
  B   10:00 /, 10:02 Scroll (not interactive)       1 pv, 120 s, bounce
  C   11:00 Heartbeat (not interactive), no view   0 pv,   0 s, a visit, NOT a bounce
  D1  12:00 /, 12:05 /pricing, 12:10 /docs          3 pv, 600 s, not a bounce
  D2  13:00 /  (D again, 50 min later: a new visit) 1 pv,   0 s, bounce
=> visitors 4 (A B C D), visits 5, pageviews 1+1+0+3+1 = 6,
   bounce rate 2 bounces (B, D2) / 5 visits = 40.0 %,
   visit duration (60+120+0+600+0)/5 = 780/5 = 156.0 s, views per visit 6/5 = 1.2.

Previous period (Nov 17):
  E   09:00 /                                       1 pv,   0 s, bounce
  F   10:00 /, 10:10 /about                         2 pv, 600 s
=> visitors 2, visits 2, pageviews 3, bounce 1/2 = 50.0 %, duration 600/2 = 300.0 s,
   views per visit 3/2 = 1.5.

Change (percent for counts and times, percentage POINTS for the bounce rate):
  visitors (4-2)/2 = +100.0 %, visits (5-2)/2 = +150.0 %, pageviews (6-3)/3 = +100.0 %,
  bounce rate 40.0-50.0 = -10.0 points (in percent it would be -20.0),
  duration (156-300)/300 = -48.0 %, views per visit (1.2-1.5)/1.5 = -20.0 %.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from conftest import BROWSER_UA, IPHONE_UA, ManualClock, empty_database
from footfall import Analytics, Filter, IngestContext
from footfall.query.filters import Filters
from footfall.query.funnels import Funnel
from footfall.query.goals import Goal
from footfall.store.rollups import roll_up

SITE = "https://example.com"
DAY = {"from_date": "2026-11-18", "to_date": "2026-11-18"}
TWO_DAYS = {"from_date": "2026-11-18", "to_date": "2026-11-19"}
"""Nov 18-19 (previous: Nov 16-17): the same events, so the same numbers, but read by day
(and so from the rollups, when rolled up) rather than by hour."""
NETWORKS = {name: f"203.0.{i}.9" for i, name in enumerate("ABCDEFXY", start=1)}

# (UTC time, visitor, event name, path, interactive)
EVENTS = [
    ("2026-11-17 09:00", "E", "pageview", "/", True),
    ("2026-11-17 10:00", "F", "pageview", "/", True),
    ("2026-11-17 10:10", "F", "pageview", "/about", True),
    ("2026-11-18 09:00", "A", "pageview", "/", True),
    ("2026-11-18 09:01", "A", "Signup", "/", True),
    ("2026-11-18 10:00", "B", "pageview", "/", True),
    ("2026-11-18 10:02", "B", "Scroll", "/", False),
    ("2026-11-18 11:00", "C", "Heartbeat", "/", False),
    ("2026-11-18 12:00", "D", "pageview", "/", True),
    ("2026-11-18 12:05", "D", "pageview", "/pricing", True),
    ("2026-11-18 12:10", "D", "pageview", "/docs", True),
    ("2026-11-18 13:00", "D", "pageview", "/", True),
]

EXPECTED = {
    # name: (value, previous, change)
    "visitors": (4, 2, 100.0),
    "visits": (5, 2, 150.0),
    "pageviews": (6, 3, 100.0),
    "bounce_rate": (40.0, 50.0, -10.0),
    "visit_duration": (156.0, 300.0, -48.0),
    "views_per_visit": (1.2, 1.5, -20.0),
}


def utc(text: str) -> datetime:
    """``2026-11-18 09:00`` or ``2026-11-18 09:00:30``, in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def send(analytics, clock: ManualClock, events) -> None:  # type: ignore[no-untyped-def]
    """Send ``events`` (as in ``EVENTS``, and optionally their properties) through the
    HTTP ingestion path, in order, with the clock set to each event's time."""

    async def run() -> None:
        for when, who, name, path, interactive, *props in events:
            clock.now = when if isinstance(when, datetime) else utc(when)
            body = {"name": name, "url": SITE + path, "interactive": interactive}
            await analytics.ingest(
                {**body, "props": props[0]} if props else body,
                headers={"user-agent": BROWSER_UA},
                peer=NETWORKS[who],
                context=IngestContext(source="http"),
            )

    asyncio.run(run())


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(
            (kind, mode),
            id=f"{mode}-{kind}",
            marks=[pytest.mark.postgres] if kind == "postgresql" else [],
        )
        for kind in ("sqlite", "postgresql")
        for mode in ("raw", "rolled up")
    ],
)
def scenario(request, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The events above, loaded once per backend, read from raw events or with the finished
    days rolled up first (Nov 17 .. Nov 24 are final on Nov 25): the same numbers either
    way. The tests only read it."""
    kind, mode = request.param
    clock = ManualClock()
    with empty_database(kind, tmp_path_factory.mktemp("definitions")) as url:
        analytics = Analytics(database_url=url, clock=clock)
        try:
            send(analytics, clock, EVENTS)
            clock.now = utc("2026-11-25 12:00")
            if mode == "rolled up":
                assert roll_up(analytics.store.engine, timezone="UTC", now=clock.now) == 8
            yield analytics
        finally:
            analytics.close()


def assert_expected(stats) -> None:  # type: ignore[no-untyped-def]
    got = stats.to_dict()
    for name, (value, previous, change) in EXPECTED.items():
        assert got[name] == {"value": value, "previous": previous, "change": change}, name


def test_every_top_stat_its_previous_value_and_change(scenario):
    stats = scenario.api.get_dashboard_stats_sync(**DAY)
    assert (stats.start, stats.end) == ("2026-11-18T00:00:00+00:00", "2026-11-19T00:00:00+00:00")
    assert_expected(stats)


def test_the_same_top_stats_read_by_day(scenario):
    stats = scenario.api.get_dashboard_stats_sync(**TWO_DAYS)
    assert (stats.start, stats.end) == ("2026-11-18T00:00:00+00:00", "2026-11-20T00:00:00+00:00")
    assert_expected(stats)


def test_the_overview_has_the_same_top_stats(scenario):
    assert_expected(scenario.api.get_overview_sync(10, **DAY).stats)
    assert_expected(scenario.api.get_overview_sync(10, **TWO_DAYS).stats)


def test_bounce_rules_visit_by_visit(scenario):
    """Each special visit alone, through the ``event`` filter (which selects the visits with
    that custom event): the rule is visible in the bounce rate of a single visit."""
    api = scenario.api
    # A: one page view plus an interactive event is not a bounce.
    signup = api.get_dashboard_stats_sync(**DAY, event="Signup")
    assert (signup.visits.value, signup.pageviews.value, signup.bounce_rate.value) == (1, 1, 0.0)
    # B: one page view plus a non-interactive event is a bounce; its duration still counts
    # (10:02 - 10:00 = 120 s: only a visit of a single event is 0 s).
    scroll = api.get_dashboard_stats_sync(**DAY, event="Scroll")
    assert (scroll.visits.value, scroll.bounce_rate.value) == (1, 100.0)
    assert scroll.visit_duration.value == 120.0
    # C: a visit without a page view is a visit, but not a bounce; 0 pv / 1 visit.
    heartbeat = api.get_dashboard_stats_sync(**DAY, event="Heartbeat")
    assert (heartbeat.visitors.value, heartbeat.visits.value) == (1, 1)
    assert (heartbeat.pageviews.value, heartbeat.bounce_rate.value) == (0, 0.0)
    assert (heartbeat.visit_duration.value, heartbeat.views_per_visit.value) == (0.0, 0.0)


def test_a_returning_visitor_is_one_visitor_with_two_visits(scenario):
    """D's visits (12:00-12:10 and 13:00, 50 min apart on one UTC day): the page filter
    /docs selects D1 only, / selects A, B, D1 and D2."""
    api = scenario.api
    docs = api.get_dashboard_stats_sync(**DAY, page="/docs")
    assert (docs.visitors.value, docs.visits.value, docs.pageviews.value) == (1, 1, 1)
    assert docs.visit_duration.value == 600.0  # 12:10 - 12:00
    home = api.get_dashboard_stats_sync(**DAY, page="/")
    # Visitors A, B, D = 3; visits A, B, D1, D2 = 4; views of / = 1+1+1+1 = 4;
    # bounces B and D2 = 2/4 = 50.0 %; duration (60+120+600+0)/4 = 195.0 s.
    assert (home.visitors.value, home.visits.value, home.pageviews.value) == (3, 4, 4)
    assert (home.bounce_rate.value, home.visit_duration.value) == (50.0, 195.0)


def test_the_timeseries_counts_the_same_visits(scenario):
    series = scenario.api.get_timeseries_sync(**DAY)
    assert series.interval == "hour" and len(series.points) == 24
    busy = {p.bucket[-5:]: (p.visitors, p.visits, p.pageviews) for p in series.points if p.visits}
    assert busy == {
        "09:00": (1, 1, 1),  # A: a view and an event
        "10:00": (1, 1, 1),  # B
        "11:00": (1, 1, 0),  # C: an event, no page view
        "12:00": (1, 1, 3),  # D1
        "13:00": (1, 1, 1),  # D2: the same visitor, another visit
    }
    days = scenario.api.get_timeseries_sync(**TWO_DAYS)
    assert [(p.bucket, p.visitors, p.visits, p.pageviews) for p in days.points] == [
        ("2026-11-18", 4, 5, 6),  # A B C D; A B C D1 D2; 1+1+0+3+1
        ("2026-11-19", 0, 0, 0),
    ]


def test_period_edges_are_start_inclusive_end_exclusive(make_analytics, database_url, clock):
    """A view at 00:00:00 on the 18th belongs to the 18th; one at 23:59:59 on the 17th to
    the previous period; one at 00:00:00 on the 19th to neither."""
    analytics = make_analytics(database_url)
    send(
        analytics,
        clock,
        [
            ("2026-11-17 23:59:59", "X", "pageview", "/", True),
            ("2026-11-18 00:00:00", "Y", "pageview", "/", True),
            ("2026-11-19 00:00:00", "A", "pageview", "/", True),
        ],
    )
    stats = analytics.api.get_dashboard_stats_sync(**DAY)
    assert (stats.pageviews.value, stats.pageviews.previous, stats.pageviews.change) == (1, 1, 0.0)


def test_no_previous_data_means_no_change(make_analytics, database_url, clock):
    analytics = make_analytics(database_url)
    send(analytics, clock, [("2026-11-18 09:00", "A", "pageview", "/", True)])
    stats = analytics.api.get_dashboard_stats_sync(**DAY)
    assert stats.visitors.to_dict() == {"value": 1, "previous": 0, "change": None}
    assert stats.bounce_rate.to_dict() == {"value": 100.0, "previous": 0.0, "change": None}


def test_realtime_window_is_five_minutes(make_analytics, database_url, clock):
    """Now is 12:00:00. X's event at 11:55:01 (4 min 59 s ago) counts; Y's at 11:54:59
    (5 min 1 s ago) does not."""
    analytics = make_analytics(database_url)
    send(
        analytics,
        clock,
        [
            ("2026-11-20 11:54:59", "Y", "pageview", "/", True),
            ("2026-11-20 11:55:01", "X", "Outbound Link", "/", False),  # any event counts
        ],
    )
    clock.now = utc("2026-11-20 12:00:00")
    assert analytics.api.get_realtime_visitors_sync().visitors == 1
    clock.now = utc("2026-11-20 11:59:58")  # Y 4 min 59 s ago, X 4 min 57 s ago
    assert analytics.api.get_realtime_visitors_sync().visitors == 2
    clock.now += timedelta(seconds=4)  # 12:00:02: X was 5 min 1 s ago
    assert analytics.api.get_realtime_visitors_sync().visitors == 0


def test_event_properties_count_visitors_and_events_of_that_event_only(
    make_analytics, database_url, clock
):
    """Signup's properties on Nov 18: A sends plan=pro twice (once with seats=3) and also a
    Download with plan=team; B plan=free with trial=true; D plan=pro after viewing /pricing.
    plan=pro: visitors A and D = 2, events 3; plan=free 1/1; seats=3 1/1; trial=true 1/1.
    Download's plan=team is not Signup's. Filtering by Signup itself keeps every Signup;
    by Download, A's only; by page /pricing, D's only."""
    analytics = make_analytics(database_url)

    async def run() -> None:
        for when, who, name, path, props in [
            ("2026-11-18 09:00", "A", "Signup", "/", {"plan": "pro", "seats": 3}),
            ("2026-11-18 09:01", "A", "Signup", "/", {"plan": "pro"}),
            ("2026-11-18 09:02", "A", "Download", "/", {"plan": "team"}),
            ("2026-11-18 10:00", "B", "Signup", "/", {"plan": "free", "trial": True}),
            ("2026-11-18 12:00", "D", "pageview", "/pricing", None),
            ("2026-11-18 12:01", "D", "Signup", "/pricing", {"plan": "pro"}),
        ]:
            clock.now = utc(when)
            await analytics.ingest(
                {"name": name, "url": SITE + path, **({"props": props} if props else {})},
                headers={"user-agent": BROWSER_UA},
                peer=NETWORKS[who],
                context=IngestContext(source="http"),
            )

    asyncio.run(run())

    def signup(**filters: str) -> list[tuple[str, str, int, int]]:
        found = analytics.api.get_event_properties_sync("Signup", **DAY, **filters)
        return [(p.key, p.value, p.visitors, p.events) for p in found]

    every = [
        ("plan", "pro", 2, 3),
        ("plan", "free", 1, 1),
        ("seats", "3", 1, 1),
        ("trial", "true", 1, 1),
    ]
    assert signup() == every
    assert signup(event="Signup") == every
    assert signup(event="Signup", page="/pricing") == [("plan", "pro", 1, 1)]
    assert signup(event="Download") == [("plan", "pro", 1, 2), ("seats", "3", 1, 1)]
    assert signup(page="/nowhere") == []


# Entry and exit pages of Nov 18 (C viewed no page: it has neither):
#   entries: "/" begins A, B, D1 and D2: visitors A B D = 3, entrances 4, bounces B and
#            D2 = 2 of 4 = 50.0 %
#   exits:   "/" ends A, B and D2 (visitors 3, exits 3) of its 4 views (A B D1 D2): 75.0 %;
#            "/docs" ends D1 of its 1 view: 100.0 %
def test_entry_and_exit_pages(scenario):
    api = scenario.api
    entries = api.get_entry_pages_sync(10, **DAY)
    assert [e.to_dict() for e in entries] == [
        {"path": "/", "visitors": 3, "visits": 4, "bounce_rate": 50.0}
    ]
    exits = api.get_exit_pages_sync(10, **DAY)
    assert [e.to_dict() for e in exits] == [
        {"path": "/", "visitors": 3, "exits": 3, "exit_rate": 75.0},
        {"path": "/docs", "visitors": 1, "exits": 1, "exit_rate": 100.0},
    ]


# Filtered, the visits selected only: page=/pricing selects D1 (entered on "/", not a
# bounce; left on "/docs", its one view there); event=Signup selects A (entered and left
# on "/", its one view of it).
@pytest.mark.parametrize(
    ("filters", "entry", "exit"),
    [
        ({"page": "/pricing"}, ("/", 1, 1, 0.0), ("/docs", 1, 1, 100.0)),
        ({"event": "Signup"}, ("/", 1, 1, 0.0), ("/", 1, 1, 100.0)),
    ],
)
def test_entry_and_exit_pages_of_the_selected_visits(scenario, filters, entry, exit):
    api = scenario.api
    entries = api.get_entry_pages_sync(10, **DAY, **filters)
    assert [(e.path, e.visitors, e.visits, e.bounce_rate) for e in entries] == [entry]
    exits = api.get_exit_pages_sync(10, **DAY, **filters)
    assert [(e.path, e.visitors, e.exits, e.exit_rate) for e in exits] == [exit]


# Filters beyond one exact value, on Nov 18 (visits A, B, C, D1, D2 above). A page filter
# matches page views by their path, an event filter custom events by their name; the
# visit filters take the visit's attributes (here every visit is Direct / None, Chrome).
#   page=/|/docs      views of / (A B D1 D2) or /docs (D1): visits A B D1 D2, visitors
#                     A B D = 3, counted views 1+1+2+1 = 5, bounces B D2 = 2/4 = 50.0 %,
#                     duration (60+120+600+0)/4 = 195.0 s; pages / (3 visitors, 4 views),
#                     /docs (1, 1)
#   page!=/           views of /pricing and /docs: D1 only, 2 counted views, 600 s
#   page~=ic          /pricing: D1 only, 1 counted view
#   page!~=/          no path lacks a "/": nothing
#   event!=Signup     Scroll (B) and Heartbeat (C): 2 visits, B's 1 view, B bounces:
#                     50.0 %, (120+0)/2 = 60.0 s; events Heartbeat (1, 1), Scroll (1, 1)
#   event~=S          Signup (A) and Scroll (B): (60+120)/2 = 90.0 s; events Scroll, Signup
#   page=/ and event!~=Sig   a view of / and an event without "Sig": B only
#   source!=Direct / None    nothing;   browser=Firefox|Chrome   all 5 visits
#   country!=(unknown)       nothing (no visit has a country)
# (visitors, visits, pageviews, bounce rate, duration), then pages, then events.
FILTERED = [
    ({"page": ["/", "/docs"]}, (3, 4, 5, 50.0, 195.0), [("/", 3, 4), ("/docs", 1, 1)], None),
    (
        {"page": Filter.is_not("/")},
        (1, 1, 2, 0.0, 600.0),
        [("/docs", 1, 1), ("/pricing", 1, 1)],
        None,
    ),
    ({"page": Filter.contains("ic")}, (1, 1, 1, 0.0, 600.0), [("/pricing", 1, 1)], None),
    ({"page": Filter.not_contains("/")}, (0, 0, 0, 0.0, 0.0), [], []),
    (
        {"event": Filter.is_not("Signup")},
        (2, 2, 1, 50.0, 60.0),
        None,
        [("Heartbeat", 1, 1), ("Scroll", 1, 1)],
    ),
    (
        {"event": Filter.contains("S")},
        (2, 2, 2, 50.0, 90.0),
        None,
        [("Scroll", 1, 1), ("Signup", 1, 1)],
    ),
    (
        {"page": "/", "event": Filter.not_contains("Sig")},
        (1, 1, 1, 100.0, 120.0),
        [("/", 1, 1)],
        [("Scroll", 1, 1)],
    ),
    ({"source": Filter.is_not("Direct / None")}, (0, 0, 0, 0.0, 0.0), [], []),
    ({"browser": ["Firefox", "Chrome"]}, (4, 5, 6, 40.0, 156.0), None, None),
    ({"country": Filter.is_not("(unknown)")}, (0, 0, 0, 0.0, 0.0), [], []),
]


@pytest.mark.parametrize(("filters", "totals", "pages", "events"), FILTERED)
def test_filters_with_several_values_negation_and_contains(
    scenario, filters, totals, pages, events
):
    api = scenario.api
    stats = api.get_dashboard_stats_sync(**DAY, **filters)
    names = ("visitors", "visits", "pageviews", "bounce_rate", "visit_duration")
    assert tuple(getattr(stats, n).value for n in names) == totals
    overview = api.get_overview_sync(10, **DAY, **filters)
    assert tuple(getattr(overview.stats, n).value for n in names) == totals
    if pages is not None:
        found = api.get_top_pages_sync(10, **DAY, **filters)
        assert [(p.path, p.visitors, p.pageviews) for p in found] == pages
    if events is not None:
        found = api.get_top_events_sync(10, **DAY, **filters)
        assert [(e.name, e.visitors, e.events) for e in found] == events
    series = api.get_timeseries_sync(**DAY, **filters)
    assert sum(p.pageviews for p in series.points) == totals[2]


# Properties of page views and custom events, on Nov 18 (visitors P, Q, R, S):
#   P  09:00 /blog/a {author: Ann}, 09:05 /blog/b {author: Bob}       2 pv, 300 s
#   Q  10:00 /blog/a {author: Ann}, 10:01 Signup {plan: pro}          1 pv,  60 s
#   R  11:00 / , 11:02 Signup {plan: free}                            1 pv, 120 s
#   S  12:00 /blog/b {author: Bob, featured: true}                    1 pv,   0 s, bounce
# Keys by visitors: author (P Q S: 3 visitors, 3 visits), plan (Q R: 2, 2), featured (S).
# author's values: Ann (P Q: 2 visitors, 2 events), Bob (P S: 2, 2); featured: "true".
# A property filter matches events: author=Ann selects P and Q, and counts their 2 views
# of /blog/a (no custom event has an author: no events). author!=Ann matches every event
# without Ann (no author included): all 4 visits, views P /blog/b, R /, S /blog/b = 3,
# one bounce (S) = 25.0 %, (300+60+120+0)/4 = 120.0 s. plan=pro: Q, through its Signup:
# 1 visit, no page view with it (0), 60 s, events Signup (1, 1).
PROPERTY_EVENTS = [
    ("2026-11-18 09:00", "A", "pageview", "/blog/a", True, {"author": "Ann"}),
    ("2026-11-18 09:05", "A", "pageview", "/blog/b", True, {"author": "Bob"}),
    ("2026-11-18 10:00", "B", "pageview", "/blog/a", True, {"author": "Ann"}),
    ("2026-11-18 10:01", "B", "Signup", "/blog/a", True, {"plan": "pro"}),
    ("2026-11-18 11:00", "C", "pageview", "/", True),
    ("2026-11-18 11:02", "C", "Signup", "/", True, {"plan": "free"}),
    ("2026-11-18 12:00", "D", "pageview", "/blog/b", True, {"author": "Bob", "featured": True}),
]


def test_properties_of_page_views_and_events_and_their_filters(make_analytics, database_url, clock):
    analytics = make_analytics(database_url)
    send(analytics, clock, PROPERTY_EVENTS)
    api = analytics.api
    keys = api.get_property_keys_sync(10, **DAY)
    assert [(k.value, k.visitors, k.visits) for k in keys] == [
        ("author", 3, 3),
        ("plan", 2, 2),
        ("featured", 1, 1),
    ]
    values = api.get_properties_sync("author", 10, **DAY)
    assert [(v.value, v.visitors, v.events) for v in values] == [("Ann", 2, 2), ("Bob", 2, 2)]
    assert [v.value for v in api.get_properties_sync("featured", 10, **DAY)] == ["true"]
    narrowed = api.get_properties_sync("author", 10, **DAY, page=Filter.contains("/blog/a"))
    assert [(v.value, v.visitors, v.events) for v in narrowed] == [("Ann", 2, 2)]

    names = ("visitors", "visits", "pageviews", "bounce_rate", "visit_duration")
    for props, totals, pages, events in (
        ({"author": "Ann"}, (2, 2, 2, 0.0, 180.0), [("/blog/a", 2, 2)], []),
        (
            {"author": Filter.is_not("Ann")},
            (4, 4, 3, 25.0, 120.0),
            [("/blog/b", 2, 2), ("/", 1, 1)],
            [("Signup", 2, 2)],
        ),
        ({"plan": "pro"}, (1, 1, 0, 0.0, 60.0), [], [("Signup", 1, 1)]),
    ):
        stats = api.get_dashboard_stats_sync(**DAY, props=props)
        assert tuple(getattr(stats, n).value for n in names) == totals, props
        found = api.get_top_pages_sync(10, **DAY, props=props)
        assert [(p.path, p.visitors, p.pageviews) for p in found] == pages, props
        shown = api.get_top_events_sync(10, **DAY, props=props)
        assert [(e.name, e.visitors, e.events) for e in shown] == events, props
    entries = api.get_entry_pages_sync(10, **DAY, props={"plan": "pro"})
    assert [(e.path, e.visits) for e in entries] == [("/blog/a", 1)]


# Versions, on Nov 18: A (two visits, 09:00 and 10:00) and B on Chrome 131 on Windows 10,
# C on Safari 17.5 (iOS 17.5, an iPhone), D on Chrome 130. Chrome 131: visitors A B = 2, visits
# 3; Chrome 130: 1, 1; Safari 17: 1, 1 (the name and major version footfall keeps).
# Filtered by browser=Chrome, the Safari visit is left out.
def test_browser_and_os_versions(make_analytics, database_url, clock):
    analytics = make_analytics(database_url)
    older = BROWSER_UA.replace("Chrome/131", "Chrome/130")
    visits = [
        ("2026-11-18 09:00", "A", BROWSER_UA),
        ("2026-11-18 10:00", "A", BROWSER_UA),
        ("2026-11-18 09:30", "B", BROWSER_UA),
        ("2026-11-18 11:00", "C", IPHONE_UA),
        ("2026-11-18 12:00", "D", older),
    ]

    async def run() -> None:
        for when, who, agent in sorted(visits):
            clock.now = utc(when)
            await analytics.ingest(
                {"name": "pageview", "url": SITE + "/"},
                headers={"user-agent": agent},
                peer=NETWORKS[who],
                context=IngestContext(source="http"),
            )

    asyncio.run(run())
    api = analytics.api
    browsers = api.get_versions_sync("browser", 10, **DAY)
    found = [(b.value, b.visitors, b.visits) for b in browsers]
    assert found == [("Chrome 131", 2, 3), ("Chrome 130", 1, 1), ("Safari 17", 1, 1)]
    chrome = api.get_versions_sync("browser", 10, **DAY, browser="Chrome")
    assert [b.value for b in chrome] == ["Chrome 131", "Chrome 130"]
    systems = api.get_versions_sync("os", 10, **DAY)
    assert [(s.value, s.visitors, s.visits) for s in systems] == [
        ("Windows 10", 3, 4),
        ("iOS 17", 1, 1),
    ]


# The chart's comparison, by hour of Nov 18: the previous period is Nov 17 (E at 09:00,
# F at 10:00 and 10:10: one visitor in each of those hours); a year earlier, Nov 18 2025,
# had nothing.
def test_the_chart_compares_with_the_period_before_or_a_year_earlier(scenario):
    api = scenario.api
    series = api.get_timeseries_sync(**DAY, compare="previous")
    assert series.compare == "previous" and len(series.comparison) == 24
    assert series.points == api.get_timeseries_sync(**DAY).points  # the period's own
    assert {p.bucket: p.visitors for p in series.comparison if p.visitors} == {
        "2026-11-17 09:00": 1,
        "2026-11-17 10:00": 1,
    }
    assert [p.pageviews for p in series.comparison if p.pageviews] == [1, 2]
    year = api.get_timeseries_sync(**DAY, compare="year")
    assert year.comparison[0].bucket == "2025-11-18 00:00"
    assert sum(p.visitors for p in year.comparison) == 0
    assert api.get_timeseries_sync(**DAY).comparison is None


# Goals on Nov 18, of its 4 visitors: Signup was sent by A (1 of 4: 25.0 %); /pricing was
# viewed by D (25.0 %); "/*" is every view (A B D, 6 views: 75.0 %); "/doc_" is no "/docs"
# (the "_" is literal, not LIKE's any character); nobody sent "Nothing" or viewed "/none*".
# With page=/pricing the visits are D1's only (1 visitor): D sent no Signup (0.0 %), viewed
# /pricing once (100.0 %) and three pages in all.
@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (
            {},
            [
                ("Signup", 1, 1, 25.0),
                ("Visit /pricing", 1, 1, 25.0),
                ("Visit /*", 3, 6, 75.0),
                ("Visit /doc_", 0, 0, 0.0),
                ("Nothing", 0, 0, 0.0),
                ("Visit /none*", 0, 0, 0.0),
            ],
        ),
        (
            {"page": "/pricing"},
            [
                ("Signup", 0, 0, 0.0),
                ("Visit /pricing", 1, 1, 100.0),
                ("Visit /*", 1, 3, 100.0),
                ("Visit /doc_", 0, 0, 0.0),
                ("Nothing", 0, 0, 0.0),
                ("Visit /none*", 0, 0, 0.0),
            ],
        ),
    ],
)
def test_goals_and_their_conversion_rates(scenario, filters, expected):
    goals = [
        Goal.parse(text)
        for text in (
            "event:Signup",
            "page:/pricing",
            "page:/*",
            "page:/doc_",
            "event:Nothing",
            "page:/none*",
        )
    ]
    queries = scenario.api.queries
    period = queries.period(None, DAY["from_date"], DAY["to_date"])
    found = queries.goals(period, Filters(**filters), goals)
    assert [(g.goal, g.visitors, g.conversions, g.conversion_rate) for g in found] == expected


# Funnels on Nov 18. "/" starts A, B, D1 and D2 (visitors A B D); only D1 goes on to
# /pricing, then /docs; only A sends Signup after a page view; and nobody sees /pricing
# after /docs (D1 saw it before): order counts, within one visit.
@pytest.mark.parametrize(
    ("text", "filters", "expected"),
    [
        (
            "Docs: page:/ > page:/pricing > page:/docs",
            {},
            [
                ("Visit /", 3, 4, 0, 100.0),
                ("Visit /pricing", 1, 1, 2, 33.3),
                ("Visit /docs", 1, 1, 0, 33.3),
            ],
        ),
        (
            "Signup: page:/* > event:Signup",
            {},
            [("Visit /*", 3, 4, 0, 100.0), ("Signup", 1, 1, 2, 33.3)],
        ),
        (
            "Backwards: page:/docs > page:/pricing",
            {},
            [("Visit /docs", 1, 1, 0, 100.0), ("Visit /pricing", 0, 0, 1, 0.0)],
        ),
        (
            "Docs: page:/ > page:/pricing > page:/docs",
            {"event": "Signup"},  # A's visit only
            [
                ("Visit /", 1, 1, 0, 100.0),
                ("Visit /pricing", 0, 0, 1, 0.0),
                ("Visit /docs", 0, 0, 0, 0.0),
            ],
        ),
    ],
)
def test_funnels_step_by_step_within_a_visit(scenario, text, filters, expected):
    queries = scenario.api.queries
    period = queries.period(None, DAY["from_date"], DAY["to_date"])
    report = queries.funnel(period, Filters(**filters), Funnel.parse(text))
    assert report.name == text.split(":")[0]
    found = [(s.step, s.visitors, s.visits, s.dropoff, s.conversion_rate) for s in report.steps]
    assert found == expected
