"""Engagement: Plausible's ``{"n": "engagement", "e": ms, "sd": %}`` (and footfall's own
tracker's) adds to the page view it follows, never counts as a custom event, and makes a
visit's duration its engaged time when that is longer than its first-to-last-event span.

The numbers asserted are worked out by hand in each test's comments.
"""

from __future__ import annotations

from conftest import IPHONE_UA, count_rows, query_rows

SITE = "https://example.com"


def engagement(path: str, engaged_ms: object, depth: object = None) -> dict:
    """What Plausible's tracker sends when the page ``path`` is hidden or left."""
    payload = {"n": "engagement", "u": SITE + path, "d": "example.com", "e": engaged_ms, "v": 36}
    if depth is not None:
        payload["sd"] = depth
    return payload


def test_an_engagement_is_no_custom_event_and_no_interaction(serve, make_analytics, database_url):
    analytics = make_analytics(database_url)
    server = serve(analytics)
    assert server.event({"n": "pageview", "u": SITE + "/a"}).status_code == 202
    first = server.event(engagement("/a", 38_000, 64))
    assert first.status_code == 202 and "X-Footfall-Dropped" not in first.headers
    # Reported again after the page was shown again: the time adds up, the depth is the
    # deepest (64 stays, 50 is less).
    assert server.event(engagement("/a", 5_000, 50)).status_code == 202

    assert count_rows(database_url, "custom_event") == 0
    assert query_rows(database_url, "SELECT engaged_ms, scroll_depth FROM page_view") == [
        (43_000, 64)
    ]
    assert query_rows(database_url, "SELECT engaged_ms, pageviews, interactions FROM visit") == [
        (43_000, 1, 0)
    ]
    api = analytics.api
    stats = api.get_dashboard_stats_sync("today")
    assert stats.pageviews.value == 1
    assert stats.bounce_rate.value == 100  # still one page and no interaction: a bounce
    assert stats.visit_duration.value == 43.0  # was 0 s: its engaged time, 38 s + 5 s
    assert api.get_top_events_sync(10, "today") == []
    (page,) = api.get_top_pages_sync(10, "today")
    assert (page.path, page.time_on_page, page.scroll_depth) == ("/a", 43.0, 64)


def test_visit_duration_is_the_longer_of_span_and_engaged_time(
    serve, make_analytics, database_url, clock
):
    server = serve(make_analytics(database_url))
    # Visit 1 (one browser): /a, then /b 20 s later; /a engaged 15 s, /b 70 s: 85 s engaged
    # against a 20 s span, so 85 s.
    server.event({"url": SITE + "/a"})
    clock.advance(seconds=20)
    server.event(engagement("/a", 15_000, 30))  # sent as the SPA leaves /a
    server.event({"url": SITE + "/b"})
    clock.advance(seconds=70)
    server.event(engagement("/b", 70_000, 100))
    # Visit 2 (another browser): /a, then /c 300 s later, /a engaged 10 s: the span, 300 s.
    server.event({"url": SITE + "/a"}, ua=IPHONE_UA)
    server.event(engagement("/a", 10_000, 20), ua=IPHONE_UA)
    clock.advance(seconds=300)
    server.event({"url": SITE + "/c"}, ua=IPHONE_UA)

    api = server.analytics.api
    stats = api.get_dashboard_stats_sync("today")
    assert stats.visits.value == 2
    assert stats.visit_duration.value == (85 + 300) / 2
    assert stats.bounce_rate.value == 0
    pages = {p.path: (p.time_on_page, p.scroll_depth) for p in api.get_top_pages_sync(10, "today")}
    # /a: two views engaged 15 s and 10 s, scrolled 30% and 20%; /c reported nothing.
    assert pages == {"/a": (12.5, 25), "/b": (70.0, 100), "/c": (None, None)}


def test_engagement_without_an_open_visit_is_dropped(serve, make_analytics, database_url, clock):
    server = serve(make_analytics(database_url))
    nothing_yet = server.event(engagement("/a", 1_000))
    assert nothing_yet.headers["X-Footfall-Dropped"] == "no_visit"
    server.event({"url": SITE + "/a"})
    clock.advance(minutes=30, seconds=1)  # the visit ended: nothing to add to
    late = server.event(engagement("/a", 1_000))
    assert late.status_code == 202 and late.headers["X-Footfall-Dropped"] == "no_visit"
    # A page the visit viewed over 30 minutes ago (its day may be rolled up since): none.
    server.event({"url": SITE + "/b"})
    clock.advance(minutes=20)
    server.event({"url": SITE + "/c"})
    clock.advance(minutes=11)
    late_view = server.event(engagement("/b", 7_000))
    assert late_view.status_code == 202 and "X-Footfall-Dropped" not in late_view.headers
    # A page the visit did not view: the visit's engaged time stays the sum of its views'.
    assert "X-Footfall-Dropped" not in server.event(engagement("/elsewhere", 9_000)).headers
    assert query_rows(database_url, "SELECT sum(engaged_ms) FROM visit") == [(0,)]
    assert query_rows(database_url, "SELECT count(engaged_ms) FROM page_view") == [(0,)]
    assert count_rows(database_url, "custom_event") == 0


def test_engagement_values_are_checked_and_bounded(serve, make_analytics, database_url):
    server = serve(make_analytics(database_url))
    server.event({"url": SITE + "/a"})
    for payload, field in (
        (engagement("/a", -1), "engaged_ms"),
        (engagement("/a", "12s"), "engaged_ms"),
        (engagement("/a", True), "engaged_ms"),
        (engagement("/a", 1_000, "deep"), "scroll_depth"),
    ):
        response = server.event(payload)
        assert response.status_code == 400, payload
        assert response.json()["field"] == field
    # Over 100% (a page that grew) is 100; ten hours in one report are cut to 30 minutes.
    assert server.event(engagement("/a", 36_000_000, 250.4)).status_code == 202
    assert query_rows(database_url, "SELECT engaged_ms, scroll_depth FROM page_view") == [
        (30 * 60 * 1000, 100)
    ]
