"""The browser machinery itself: Debian's Chromium, the test host names, the recording page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route

from footfall import Analytics
from footfall._version import __version__

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>smoke</title>
<link rel="icon" href="data:,"></head>
<body>
  <button id="check">Check</button>
  <output id="result">waiting</output>
  <script>
    document.getElementById("check").addEventListener("click", async () => {
      const response = await fetch("/api/data/analytics/health");
      const health = await response.json();
      document.getElementById("result").textContent = `${health.status} ${health.version}`;
    });
  </script>
</body></html>
"""


def site_with_footfall(analytics: Analytics) -> Starlette:
    """A one-page site with footfall's routes on the same origin."""

    async def home(_request: Request) -> HTMLResponse:
        return HTMLResponse(PAGE)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with analytics:
            yield

    return Starlette(
        routes=[Route("/", home), Mount("", analytics.app)],
        lifespan=lifespan,
    )


def test_click_fetches_health_from_the_same_origin_only(
    open_page: Callable[..., Page],
    page_log: Callable[[Page], Any],
    serve_app: Callable[[Any], str],
    make_analytics: Callable[..., Analytics],
    sqlite_url: str,
) -> None:
    url = serve_app(site_with_footfall(make_analytics(sqlite_url)))
    page = open_page("desktop", hide_webdriver=True)

    page.goto(f"{url}/")
    page.get_by_role("button", name="Check").click()

    expect(page.locator("#result")).to_have_text(f"ok {__version__}")
    user_agent = page.evaluate("navigator.userAgent")
    assert "HeadlessChrome" not in user_agent and "Chrome/" in user_agent
    assert page.evaluate("navigator.webdriver") is False
    log = page_log(page)
    assert {urlsplit(request).hostname for request in log.requests} == {"site.test"}
    assert f"{url}/api/data/analytics/health" in log.requests
    log.assert_clean()
