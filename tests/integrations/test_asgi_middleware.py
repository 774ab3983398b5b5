"""PageViewMiddleware on a tiny Starlette app, driven in-process: which responses count, what
the injected tag looks like, and that nothing it does can break a response."""

from __future__ import annotations

import gzip
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from conftest import BROWSER_UA
from footfall import Analytics, Config, PageViewMiddleware, tracker
from footfall.web.middleware import Injector, inject

PAGE = "<!doctype html><html><head><title>Hi</title></head><body><p>Hello</p></body></html>"
TAG = tracker.script_tag(Config(), initial_pageview=False)


async def page(_request: Request) -> HTMLResponse:
    return HTMLResponse(PAGE)


async def streamed(_request: Request) -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"<html><he"
        yield b"ad><title>x</title></HEAD><body>"
        yield b"streamed</body></html>"

    return StreamingResponse(chunks(), media_type="text/html")


async def gzipped(_request: Request) -> Response:
    body = gzip.compress(PAGE.encode())
    return Response(body, media_type="text/html", headers={"Content-Encoding": "gzip"})


async def boom(_request: Request) -> Response:
    raise RuntimeError("boom")


def starlette_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/", page),
            Route("/streamed", streamed),
            Route("/gzipped", gzipped),
            Route("/style.css", lambda r: Response("b{}", media_type="text/css")),
            Route("/data.json", lambda r: Response("{}", media_type="application/json")),
            Route("/text", lambda r: PlainTextResponse("plain")),
            Route("/go", lambda r: RedirectResponse("/", status_code=302)),
            Route("/missing", lambda r: HTMLResponse("<html>gone</html>", status_code=404)),
            Route("/empty", lambda r: HTMLResponse("", status_code=204)),
            Route("/boom", boom),
            Route("/api/data/analytics/thing", page),
            Route("/pages/analytics", page),
        ]
    )


def paths(database_url: str) -> list[str]:
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT path FROM page_view ORDER BY id")).scalars().all()
    engine.dispose()
    return list(rows)


@pytest.fixture
def analytics(make_analytics, sqlite_url) -> Analytics:
    return make_analytics(sqlite_url)


def client(app: object) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
    headers = {"User-Agent": BROWSER_UA}
    return httpx.AsyncClient(transport=transport, base_url="http://site.test", headers=headers)


@pytest.mark.anyio
async def test_only_successful_html_gets_are_counted(analytics, sqlite_url):
    app = PageViewMiddleware(starlette_app(), analytics)
    async with client(app) as http:
        for path in ["/", "/streamed", "/gzipped", "/style.css", "/data.json", "/text"]:
            assert (await http.get(path)).status_code == 200
        assert (await http.get("/go")).status_code == 302
        assert (await http.get("/missing")).status_code == 404
        assert (await http.get("/empty")).status_code == 204
        assert (await http.get("/boom")).status_code == 500
        assert (await http.head("/")).status_code == 200
        assert (await http.post("/")).status_code == 405
        for header in ("Sec-Purpose", "Purpose", "X-Moz"):
            assert (await http.get("/", headers={header: "prefetch"})).status_code == 200
        assert (await http.get("/api/data/analytics/thing")).status_code == 200
        assert (await http.get("/pages/analytics")).status_code == 200
        bot = {"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1)"}
        assert (await http.get("/", headers=bot)).status_code == 200
        assert (await http.get("/?utm_source=news")).status_code == 200
    await analytics._pending.drain()
    assert len(analytics._pending) == 0
    assert sorted(paths(sqlite_url)) == ["/", "/", "/gzipped", "/streamed"]


@pytest.mark.anyio
async def test_without_injection_the_response_is_untouched(analytics):
    app = PageViewMiddleware(starlette_app(), analytics)
    async with client(app) as http:
        response = await http.get("/")
    assert response.text == PAGE
    assert response.headers["content-length"] == str(len(PAGE))


@pytest.mark.anyio
async def test_injection_puts_the_tag_before_head_and_fixes_the_length(analytics, sqlite_url):
    app = analytics.middleware(starlette_app(), inject_script=True)
    async with client(app) as http:
        response = await http.get("/")
        streamed = await http.get("/streamed")
        prefetched = await http.get("/", headers={"Sec-Purpose": "prefetch"})
        gzipped = await http.get("/gzipped")
        css = await http.get("/style.css")
    assert 'data-initial-pageview="false"' in TAG
    assert response.text == PAGE.replace("</head>", TAG + "</head>")
    assert response.headers["content-length"] == str(len(response.content))
    assert TAG in streamed.text and streamed.text.index(TAG) < streamed.text.index("</HEAD>")
    # A prefetched page is not counted now; its tag lets the tracker count it when shown.
    assert tracker.script_tag(Config()) in prefetched.text
    assert "data-initial-pageview" not in prefetched.text
    assert gzipped.text == PAGE  # compressed: sent as it was
    assert css.text == "b{}"
    await analytics._pending.drain()
    assert sorted(paths(sqlite_url)) == ["/", "/gzipped", "/streamed"]


def test_injector_finds_the_marker_across_chunks_and_holds_no_more_than_needed():
    injector = Injector(b"<s>")
    assert injector.feed(b"<html><hea") is None
    assert injector.feed(b"d></he") is None
    assert injector.feed(b"ad><body>") == b"<html><head><s></head><body>"
    assert injector.feed(b"rest") == b"rest"
    assert injector.finish() == b""
    # No </head>: the tag goes before the last </body>; neither: the body is unchanged.
    assert inject(b"<p>a</p></body>", b"<s>") == b"<p>a</p><s></body>"
    assert inject(b"<p>fragment</p>", b"<s>") is None
    big = Injector(b"<s>", limit=8)
    assert big.feed(b"0123456789") == b"0123456789"
    assert not big.injected


@pytest.mark.anyio
async def test_a_failing_store_is_logged_and_the_page_still_served(
    make_analytics, tmp_path, caplog
):
    broken = make_analytics(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}")
    app = PageViewMiddleware(starlette_app(), broken)
    caplog.set_level(logging.WARNING, logger="footfall")
    async with client(app) as http:
        response = await http.get("/")
    await broken._pending.drain()
    assert response.status_code == 200 and response.text == PAGE
    assert "could not" in caplog.text


@pytest.mark.anyio
async def test_close_waits_for_page_views_still_being_written(analytics, sqlite_url):
    app = PageViewMiddleware(starlette_app(), analytics)
    async with client(app) as http:
        for _ in range(5):
            await http.get("/")
    assert len(analytics._pending) > 0  # scheduled after the responses, not yet written
    await analytics.__aexit__(None, None, None)
    assert paths(sqlite_url) == ["/"] * 5


@pytest.mark.anyio
async def test_lifespan_of_an_app_without_one_is_answered_and_drains(analytics, sqlite_url):
    async def no_lifespan(scope, receive, send):  # like Django's ASGI handler
        if scope["type"] != "http":
            raise ValueError("only http")
        await HTMLResponse(PAGE)(scope, receive, send)

    app = PageViewMiddleware(no_lifespan, analytics)
    sent: list[dict] = []
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> dict:
        return next(messages)

    async def send(message: dict) -> None:
        sent.append(message)

    await app({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
