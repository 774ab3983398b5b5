"""Hooks, sessions and server-side tracking through the one pipeline."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from starlette.requests import Request

from conftest import BROWSER_UA, count_rows, query_rows
from footfall import DropEvent, Dropped, DropReason, Event, IngestContext, InvalidEvent

SITE = "https://example.com"


def test_hooks_observe_change_and_drop_events(serve, make_analytics, database_url):
    seen_before: list[tuple[str, str]] = []
    seen_after: list[Event] = []

    def before(event: Event, context: IngestContext) -> None:
        seen_before.append((event.name, context.source))
        if event.path.startswith("/private"):
            raise DropEvent
        event.properties["checked"] = True

    async def after(event: Event, context: IngestContext) -> None:
        assert context.request is not None
        seen_after.append(event)

    analytics = make_analytics(database_url, on_before_ingest=before, on_after_ingest=after)
    server = serve(analytics)
    assert "X-Footfall-Dropped" not in server.event({"name": "Click", "url": SITE + "/a"}).headers
    dropped = server.event({"url": SITE + "/private/x"})
    assert dropped.status_code == 202 and dropped.headers["X-Footfall-Dropped"] == "hook"

    assert seen_before == [("Click", "http"), ("pageview", "http")]
    assert [e.path for e in seen_after] == ["/a"]
    assert seen_after[0].session_id != 0 and seen_after[0].visitor_id != 0
    assert count_rows(database_url, "page_view") == 0
    assert query_rows(database_url, "SELECT properties FROM custom_event") == [
        ('{"checked":true}',)
    ]


def test_a_failing_hook_drops_the_event_and_never_fails_the_request(
    serve, make_analytics, database_url
):
    def broken(event: Event, context: IngestContext) -> None:
        raise RuntimeError("bug in the host application")

    server = serve(make_analytics(database_url, on_before_ingest=broken, on_after_ingest=broken))
    response = server.event({"url": SITE})
    assert response.status_code == 202 and response.headers["X-Footfall-Dropped"] == "hook"

    server2 = serve(make_analytics(database_url, on_after_ingest=broken))
    assert "X-Footfall-Dropped" not in server2.event({"url": SITE}).headers
    assert count_rows(database_url, "page_view") == 1


def test_sessions_split_after_30_idle_minutes(serve, make_analytics, database_url, clock):
    server = serve(make_analytics(database_url))
    server.event({"url": SITE + "/1"})
    clock.advance(minutes=29)
    server.event({"url": SITE + "/2"})  # 29 min idle: same visit
    clock.advance(minutes=30)
    server.event({"url": SITE + "/3"})  # exactly 30 min idle: still the same visit
    clock.advance(minutes=30, seconds=1)
    server.event({"url": SITE + "/4"})  # 30 min 1 s idle: a new visit
    rows = query_rows(
        database_url, "SELECT path, session_id, visitor_id FROM page_view ORDER BY path"
    )
    sessions = [r[1] for r in rows]
    assert sessions[0] == sessions[1] == sessions[2] != sessions[3]
    assert len({r[2] for r in rows}) == 1


def test_a_visit_continues_across_workers(make_analytics, database_url, clock):
    """A second Analytics (another worker) on the same database continues the visit."""
    first = make_analytics(database_url)
    second = make_analytics(database_url)

    def send(analytics, path: str) -> Event:  # type: ignore[no-untyped-def]
        return asyncio.run(
            analytics.ingest(
                {"url": SITE + path},
                headers={"user-agent": BROWSER_UA},
                peer="198.51.100.1",
                context=IngestContext(source="http"),
            )
        )

    one = send(first, "/1")
    clock.advance(minutes=10)
    two = send(second, "/2")
    clock.advance(minutes=25)  # 35 min after /1 but 25 after /2, seen by the other worker
    three = send(first, "/3")
    clock.advance(minutes=31)
    four = send(second, "/4")
    assert one.session_id == two.session_id == three.session_id != four.session_id
    assert one.visitor_id == two.visitor_id == three.visitor_id == four.visitor_id


def test_a_visit_crossing_midnight_keeps_its_visitor(make_analytics, database_url, clock):
    clock.now = datetime(2026, 11, 20, 23, 50, tzinfo=UTC)
    analytics = make_analytics(database_url)
    first = analytics.track_sync("pageview", url=SITE + "/late")
    clock.now = datetime(2026, 11, 21, 0, 10, tzinfo=UTC)  # new salt, same visit
    second = analytics.track_sync("pageview", url=SITE + "/later")
    clock.now = datetime(2026, 11, 21, 0, 35, tzinfo=UTC)  # the visit goes on past 00:30
    third = analytics.track_sync("pageview", url=SITE + "/longer")
    clock.now = datetime(2026, 11, 21, 1, 30, tzinfo=UTC)  # a new visit, under today's id
    fourth = analytics.track_sync("pageview", url=SITE + "/next")
    assert first.session_id == second.session_id == third.session_id != fourth.session_id
    assert first.visitor_id == second.visitor_id == third.visitor_id != fourth.visitor_id


def _request(headers: list[tuple[bytes, bytes]]) -> Request:
    return Request(
        {
            "type": "http",
            "method": "POST",
            "path": "/signup",
            "query_string": b"",
            "scheme": "https",
            "server": ("example.com", 443),
            "client": ("10.0.0.1", 5000),
            "headers": [(b"host", b"example.com"), *headers],
        }
    )


@pytest.mark.anyio
async def test_server_side_track_uses_the_pipeline(make_analytics, database_url):
    analytics = make_analytics(database_url, trusted_proxies=["10.0.0.1"])
    request = _request(
        [
            (b"user-agent", BROWSER_UA.encode()),
            (b"x-forwarded-for", b"198.51.100.9"),
            (b"referer", b"https://example.com/pricing"),
        ]
    )
    event = await analytics.track("signup_completed", {"plan": "pro"}, request=request)
    assert event.path == "/signup" and event.hostname == "example.com"
    assert event.browser == "Chrome" and event.properties == {"plan": "pro"}

    with pytest.raises(Dropped) as dropped:
        await analytics.track("signup_completed", request=_request([(b"user-agent", b"curl/8")]))
    assert dropped.value.reason is DropReason.BOT
    with pytest.raises(InvalidEvent):
        await analytics.track("x" * 121, request=request)
    # Without a request: trusted code, an anonymous server visitor, and a url is required.
    background = await analytics.track("invoice_paid", {"amount": 12.5}, url=SITE + "/billing")
    assert background.properties == {"amount": 12.5}
    with pytest.raises(ValueError, match="url="):
        await analytics.track("invoice_paid")
    await asyncio.to_thread(analytics.close)
    assert count_rows(database_url, "custom_event") == 2


def test_track_sync_from_threads(make_analytics, database_url):
    analytics = make_analytics(database_url)
    with ThreadPoolExecutor(8) as pool:
        events = list(
            pool.map(
                lambda i: analytics.track_sync("job_done", {"n": i}, url=SITE + "/jobs"),
                range(40),
            )
        )
    assert sorted(e.properties["n"] for e in events) == list(range(40))
    assert count_rows(database_url, "custom_event") == 40


def test_a_hook_leaving_unstorable_properties_drops_only_that_event(
    serve, make_analytics, database_url
):
    def before(event: Event, context: IngestContext) -> None:
        if event.path == "/bad":
            event.properties["tags"] = {"a", "b"}  # a set: not a JSON scalar

    server = serve(make_analytics(database_url, on_before_ingest=before))
    bad = server.event({"url": SITE + "/bad"})
    assert bad.status_code == 202 and bad.headers["X-Footfall-Dropped"] == "hook"
    assert "X-Footfall-Dropped" not in server.event({"url": SITE + "/good"}).headers
    assert count_rows(database_url, "page_view") == 1


@pytest.mark.anyio
async def test_an_unreachable_database_answers_503(make_analytics):
    """In-process, without the lifespan: the database is opened on first use, and fails."""
    import httpx

    analytics = make_analytics("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    transport = httpx.ASGITransport(app=analytics.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post(
            "/api/data/analytics/event", json={"url": SITE}, headers={"User-Agent": BROWSER_UA}
        )
    assert response.status_code == 503
