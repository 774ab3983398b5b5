"""The browser tracker in Chromium, from a site on ``site.test`` to a footfall server on
``stats.test`` (another origin, so CORS is exercised), checked in footfall's SQLite file.

The tracker does nothing under ``navigator.webdriver``, which Playwright sets, unless the
tag includes localhost (development mode). Tests that expect events open their page with
``hide_webdriver=True``: an init script of that test context makes the getter return false
(tests/browser/conftest.py, HIDE_WEBDRIVER), as in a browser nobody automates. The
production check stays as it is, and tests below show it still suppresses everything when
the flag is left alone, and what development mode changes.

Synchronisation is on what happened, never on time: rows are awaited in the database with a
deadline, and "nothing was sent" is read after a round trip that the page makes after the
action, and after every request to the event endpoint has been answered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, Request
from starlette.applications import Starlette
from starlette.requests import Request as HttpRequest
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from conftest import RunningServer, require_npm, tracker_build  # tests/conftest.py
from footfall import Analytics
from footfall.tracker import QUEUE_STUB, script_tag

API = "/api/data/analytics"
DEADLINE = 10.0

OpenPage = Callable[..., Page]
LOADED = "typeof window.footfall === 'function'"
"""Deferred and module scripts have run when goto() returns (it waits for the load event)."""

SPA = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>spa</title>
<link rel="icon" href="data:,">
{head}
</head>
<body>
  <nav>
    <a href="/" data-route>Home</a> <a href="/pricing" data-route>Pricing</a>
    <a href="/blog" data-route>Blog</a> <a href="/about" data-route>About</a>
  </nav>
  <main id="view"></main>
  <button id="signup" data-footfall-event="Signup" data-footfall-prop-plan="pro"
    data-footfall-prop-source="hero">Sign up</button>
  <form id="newsletter" data-footfall-event="Newsletter" data-footfall-prop-list="weekly">
    <button id="subscribe">Subscribe</button>
  </form>
  <a id="outbound" href="https://elsewhere.test/page?x=1">Elsewhere</a>
  <a id="download" href="/files/report.pdf">Report</a>
  <script>
    // A tiny router: no link or form ever leaves the page (nor this machine).
    const render = () => {
      document.getElementById("view").textContent = "page " + location.pathname;
    };
    document.addEventListener("click", (event) => {
      const link = event.target.closest("a");
      if (!link) return;
      event.preventDefault();
      if (link.hasAttribute("data-route")) {
        history.pushState({}, "", link.getAttribute("href"));
        render();
      }
    });
    document.addEventListener("submit", (event) => event.preventDefault());
    addEventListener("popstate", render);
    render();
  </script>
</body></html>
"""


# -- servers -------------------------------------------------------------------------------


@dataclass
class Stats:
    """The footfall server on stats.test and its database."""

    server: RunningServer
    database_url: str

    @property
    def url(self) -> str:
        parts = urlsplit(self.server.url)
        return f"http://stats.test:{parts.port}"

    def tag(self, **attributes: str) -> str:
        rendered = "".join(f' data-{name}="{value}"' for name, value in attributes.items())
        return f'<script defer src="{self.url}{API}/script.js"{rendered}></script>'

    def rows(self, table: str) -> list[dict[str, Any]]:
        columns = "path, referrer" if table == "page_view" else "name, path, properties"
        engine = sa.create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                result = conn.execute(sa.text(f"SELECT {columns} FROM {table} ORDER BY id"))
                rows = [dict(row) for row in result.mappings()]
        finally:
            engine.dispose()
        for row in rows:
            if "properties" in row:
                row["properties"] = json.loads(row["properties"] or "{}")
        return rows

    def pageviews(self) -> list[tuple[str, str | None]]:
        return [(row["path"], row["referrer"]) for row in self.rows("page_view")]

    def events(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [(r["name"], r["path"], r["properties"]) for r in self.rows("custom_event")]


@pytest.fixture
def stats(
    serve: Callable[[Analytics], RunningServer],
    make_analytics: Callable[..., Analytics],
    sqlite_url: str,
) -> Stats:
    return Stats(serve(make_analytics(sqlite_url)), sqlite_url)


@pytest.fixture
def site(serve_app: Callable[[Any], str]) -> Callable[..., str]:
    """``site(head, scripts={}) -> "http://site.test:PORT"``: the single-page app at every
    path, with ``head`` (the tracker's tag) in its <head>; ``/marker`` answers 204, and each
    path of ``scripts`` its JavaScript."""

    def start(head: str, scripts: dict[str, bytes] | None = None) -> str:
        async def spa(_request: HttpRequest) -> HTMLResponse:
            return HTMLResponse(SPA.replace("{head}", head))

        async def marker(_request: HttpRequest) -> Response:
            return Response(status_code=204)

        def script(body: bytes) -> Callable[[HttpRequest], Any]:
            async def serve(_request: HttpRequest) -> Response:
                return Response(body, media_type="text/javascript")

            return serve

        routes = [Route(path, script(body)) for path, body in (scripts or {}).items()]
        app = Starlette(routes=[*routes, Route("/marker", marker), Route("/{path:path}", spa)])
        return serve_app(app)

    return start


# -- synchronisation -----------------------------------------------------------------------


@dataclass
class Beacons:
    """Requests to the event endpoint that the page made, and those still unanswered."""

    sent: list[str] = field(default_factory=list)
    pending: set[Request] = field(default_factory=set)

    def attach(self, page: Page) -> None:
        def started(request: Request) -> None:
            if urlsplit(request.url).path in (f"{API}/event", "/api/event"):  # or Plausible's
                self.sent.append(request.post_data or "")
                self.pending.add(request)

        page.context.on("request", started)
        page.context.on("requestfinished", self._answered)
        page.context.on("requestfailed", self._answered)

    def _answered(self, request: Request) -> None:
        self.pending.discard(request)


@pytest.fixture
def beacons() -> Beacons:
    return Beacons()


def wait_until(condition: Callable[[], bool], page: Page | None, what: str) -> None:
    """Poll ``condition`` until true, within DEADLINE seconds. With a page, the wait lets
    Playwright deliver its events; without one (the page is closed), it only waits."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        if page is not None and not page.is_closed():
            page.wait_for_timeout(20)
        else:
            time.sleep(0.02)


def settle(page: Page, beacons: Beacons) -> None:
    """After a round trip the page starts now, and every event request answered: whatever
    the actions before sent has reached the server and been committed (202 means stored)."""
    page.evaluate("fetch('/marker')")
    wait_until(lambda: not beacons.pending, page, "the event requests to be answered")


def load(
    open_page: OpenPage,
    beacons: Beacons,
    url: str,
    console: list[str] | None = None,
    **options: Any,
) -> Page:
    """The page at ``url``, its event requests watched by ``beacons`` and its console's
    messages appended to ``console``."""
    page = open_page(**options)
    beacons.attach(page)
    if console is not None:
        page.on("console", lambda message: console.append(message.text))
    response = page.goto(url)
    assert response is not None and response.ok
    assert page.evaluate(LOADED), "the tracker did not run"
    return page


# -- tests ---------------------------------------------------------------------------------


def test_spa_navigation_counts_each_route_once_with_the_previous_page_as_referrer(
    open_page: OpenPage,
    page_log: Callable[[Page], Any],
    beacons: Beacons,
    stats: Stats,
    site: Callable[[str], str],
) -> None:
    origin = site(stats.tag())
    page = load(open_page, beacons, f"{origin}/", hide_webdriver=True)
    wait_until(lambda: len(stats.pageviews()) == 1, page, "the first page view")

    expected = [("/", None)]
    previous = "/"
    for name, path in (("Pricing", "/pricing"), ("Blog", "/blog"), ("About", "/about")):
        page.get_by_role("link", name=name).click()
        expected.append((path, f"{origin}{previous}"))
        count = len(expected)
        wait_until(lambda: len(stats.pageviews()) == count, page, path)  # noqa: B023
        previous = path
    # Not a change of path: a query, a fragment, a replaceState of the same page.
    page.evaluate("history.replaceState({}, '', '/about?tab=team')")
    page.evaluate("location.hash = '#team'")
    page.go_back()  # to /about (from the fragment), then to /blog
    page.go_back()
    wait_until(lambda: page.evaluate("location.pathname") == "/blog", page, "/blog")
    expected.append(("/blog", f"{origin}/about"))
    wait_until(lambda: len(stats.pageviews()) == len(expected), page, "the back navigation")
    settle(page, beacons)

    assert stats.pageviews() == expected
    # Each navigation reports the engagement of the page it leaves, then counts the next.
    bodies = [json.loads(body) for body in beacons.sent]
    assert [body["n"] for body in bodies] == ["pageview", *["engagement", "pageview"] * 4]
    # No identifiers: nothing stored in the browser, nothing but the event in the payload.
    assert page.evaluate("[document.cookie, localStorage.length, sessionStorage.length]") == [
        "",
        0,
        0,
    ]
    assert {key for body in bodies for key in body} <= {*"nurpih", "e", "sd"}
    log = page_log(page)
    log.assert_clean()  # nothing went anywhere but site.test and stats.test
    hosts = {urlsplit(url).hostname for url in log.requests}
    assert hosts == {"site.test", "stats.test"}


def test_custom_and_declarative_events_land_with_their_properties(
    open_page: OpenPage, beacons: Beacons, stats: Stats, site: Callable[[str], str]
) -> None:
    # The stub queues the call made before the (deferred) tracker has run.
    head = f"<script>{QUEUE_STUB};footfall.track('Early', {{step: 1}})</script>{stats.tag()}"
    origin = site(head)
    page = load(open_page, beacons, f"{origin}/pricing", hide_webdriver=True)
    page.evaluate(
        "footfall.track('Purchase', {plan: 'pro', seats: 3, trial: false}, {interactive: false})"
    )
    page.click("#signup")
    page.click("#subscribe")  # the form's event comes with its submit, once
    wait_until(lambda: len(stats.events()) == 4, page, "four custom events")
    settle(page, beacons)

    assert sorted(stats.events()) == [
        ("Early", "/pricing", {"step": 1}),
        ("Newsletter", "/pricing", {"list": "weekly"}),
        ("Purchase", "/pricing", {"plan": "pro", "seats": 3, "trial": False}),
        ("Signup", "/pricing", {"plan": "pro", "source": "hero"}),
    ]
    assert stats.pageviews() == [("/pricing", None)]
    engine = sa.create_engine(stats.database_url)
    with engine.connect() as conn:
        interactive = dict(
            conn.execute(sa.text("SELECT name, interactive FROM custom_event")).all()
        )
    engine.dispose()
    assert interactive == {"Early": 1, "Newsletter": 1, "Purchase": 0, "Signup": 1}


def test_an_event_tracked_as_the_page_closes_is_delivered(
    open_page: OpenPage, beacons: Beacons, stats: Stats, site: Callable[[str], str]
) -> None:
    page = load(open_page, beacons, f"{site(stats.tag())}/checkout", hide_webdriver=True)
    wait_until(lambda: len(stats.pageviews()) == 1, page, "the page view")
    page.evaluate("footfall.track('Checkout', {total: 42})")
    page.close()
    wait_until(lambda: len(stats.events()) == 1, None, "the beacon sent as the page closed")
    assert stats.events() == [("Checkout", "/checkout", {"total": 42})]


def test_nothing_is_sent_under_webdriver(
    open_page: OpenPage, beacons: Beacons, stats: Stats, site: Callable[[str], str]
) -> None:
    console: list[str] = []
    page = load(open_page, beacons, f"{site(stats.tag())}/", console)  # webdriver is true
    assert page.evaluate("navigator.webdriver") is True
    page.evaluate("footfall.track('Signup')")
    page.get_by_role("link", name="Pricing").click()
    settle(page, beacons)
    assert beacons.sent == []
    assert stats.pageviews() == [] and stats.events() == []
    # The developer is told why: the page view, the event, the engagement of the page left
    # and the route change.
    assert console.count("footfall ignores webdriver") == 4, console


def test_include_localhost_counts_an_automated_browser_on_localhost(
    open_page: OpenPage, beacons: Beacons, stats: Stats, site: Callable[[str], str]
) -> None:
    """Development mode: a test suite driving a browser against a local server sees its
    events (the tag's data-include-localhost, or include_localhost on the injected tag)."""
    origin = site(stats.tag(**{"include-localhost": ""})).replace("site.test", "localhost")
    console: list[str] = []
    page = load(open_page, beacons, f"{origin}/", console)
    assert page.evaluate("navigator.webdriver") is True
    page.evaluate("footfall.track('Signup')")
    wait_until(lambda: len(stats.events()) == 1, page, "the event from an automated browser")
    assert stats.pageviews() == [("/", None)]
    assert not [text for text in console if text.startswith("footfall")]


@pytest.mark.parametrize("include", [False, True])
def test_localhost_is_ignored_unless_included(
    open_page: OpenPage, beacons: Beacons, stats: Stats, site: Callable[[str], str], include: bool
) -> None:
    tag = stats.tag(**({"include-localhost": ""} if include else {}))
    origin = site(tag).replace("site.test", "127.0.0.1")
    console: list[str] = []
    page = load(open_page, beacons, f"{origin}/", console, hide_webdriver=True)
    page.evaluate("footfall.track('Signup')")
    settle(page, beacons)
    if include:
        wait_until(lambda: len(stats.events()) == 1, page, "the event from 127.0.0.1")
        assert stats.pageviews() == [("/", None)]
    else:
        assert beacons.sent == []
        assert stats.pageviews() == [] and stats.events() == []
        assert console.count("footfall ignores localhost") == 2, console


def test_the_site_owners_opt_out_is_respected(
    open_page: OpenPage, beacons: Beacons, stats: Stats, site: Callable[[str], str]
) -> None:
    origin = site(stats.tag())
    page = open_page(hide_webdriver=True)
    page.context.add_init_script("localStorage.footfall_ignore = 'true'")
    beacons.attach(page)
    page.goto(f"{origin}/")
    assert page.evaluate(LOADED), "the tracker did not run"
    page.evaluate("footfall.track('Signup')")
    page.get_by_role("link", name="Pricing").click()
    settle(page, beacons)
    assert beacons.sent == []
    assert stats.pageviews() == []
    # Opting back in takes effect at once, without a reload.
    page.evaluate("localStorage.removeItem('footfall_ignore'); footfall.track('Back')")
    wait_until(lambda: len(stats.events()) == 1, page, "the event after opting back in")


# Chromium emulates neither state for a page Playwright shows, so the page is told so:
# document.hidden/visibilityState (or document.prerendering) answer from a flag the test
# flips before it dispatches the event a browser would.
HIDDEN = """
window.__hidden = true;
Object.defineProperty(Document.prototype, "hidden", {get: () => window.__hidden});
Object.defineProperty(Document.prototype, "visibilityState",
  {get: () => window.__hidden ? "hidden" : "visible"});
"""
PRERENDERING = """
window.__hidden = true;
Object.defineProperty(Document.prototype, "prerendering", {get: () => window.__hidden});
"""


@pytest.mark.parametrize(
    ("script", "event"), [(HIDDEN, "visibilitychange"), (PRERENDERING, "prerenderingchange")]
)
def test_a_hidden_or_prerendered_page_counts_once_shown(
    open_page: OpenPage,
    beacons: Beacons,
    stats: Stats,
    site: Callable[[str], str],
    script: str,
    event: str,
) -> None:
    origin = site(stats.tag())
    page = open_page(hide_webdriver=True)
    page.context.add_init_script(script)
    beacons.attach(page)
    page.goto(f"{origin}/background")
    assert page.evaluate(LOADED), "the tracker did not run"
    settle(page, beacons)
    assert stats.pageviews() == []

    page.evaluate(f"window.__hidden = false; document.dispatchEvent(new Event('{event}'))")
    wait_until(lambda: len(stats.pageviews()) == 1, page, "the page view once shown")
    page.evaluate(f"document.dispatchEvent(new Event('{event}'))")  # shown again: same page
    settle(page, beacons)
    assert stats.pageviews() == [("/background", None)]


@pytest.mark.parametrize("opted_in", [True, False])
def test_outbound_links_and_file_downloads_when_opted_in(
    open_page: OpenPage,
    page_log: Callable[[Page], Any],
    beacons: Beacons,
    stats: Stats,
    site: Callable[[str], str],
    opted_in: bool,
) -> None:
    options = {"outbound-links": "", "file-downloads": "true"} if opted_in else {}
    origin = site(stats.tag(**options))
    page = load(open_page, beacons, f"{origin}/docs", hide_webdriver=True)
    page.click("#outbound")
    page.click("#download")
    page.get_by_role("link", name="Blog").click()  # a link on the site: neither
    wait_until(lambda: len(stats.pageviews()) == 2, page, "the page views")
    settle(page, beacons)
    if opted_in:
        assert sorted(stats.events()) == [
            ("File Download", "/docs", {"url": f"{origin}/files/report.pdf"}),
            ("Outbound Link: Click", "/docs", {"url": "https://elsewhere.test/page?x=1"}),
        ]
    else:
        assert stats.events() == []
    assert stats.pageviews() == [("/docs", None), ("/blog", f"{origin}/docs")]
    page_log(page).assert_clean()  # the outbound link was followed by no request


def test_hash_routing_counts_each_hash_route(
    open_page: OpenPage, beacons: Beacons, stats: Stats, site: Callable[[str], str]
) -> None:
    origin = site(stats.tag(hash=""))
    page = load(open_page, beacons, f"{origin}/app#/inbox", hide_webdriver=True)
    wait_until(lambda: len(stats.pageviews()) == 1, page, "the first page view")
    page.evaluate("location.hash = '#/settings'")
    wait_until(lambda: len(stats.pageviews()) == 2, page, "the hash navigation")
    settle(page, beacons)
    assert stats.pageviews() == [("/app#/inbox", None), ("/app#/settings", f"{origin}/app")]


def test_script_tag_without_the_initial_page_view(
    open_page: OpenPage, beacons: Beacons, stats: Stats, site: Callable[[str], str]
) -> None:
    """What the server middleware writes: it counted the page itself, the tracker counts
    the SPA navigations after it, with that page as their referrer."""
    tag = script_tag(stats.server.analytics, base_url=stats.url, initial_pageview=False)
    origin = site(tag)
    page = load(open_page, beacons, f"{origin}/", hide_webdriver=True)
    settle(page, beacons)
    assert stats.pageviews() == []
    page.get_by_role("link", name="Pricing").click()
    wait_until(lambda: len(stats.pageviews()) == 1, page, "the SPA page view")
    settle(page, beacons)
    assert stats.pageviews() == [("/pricing", f"{origin}/")]


def test_the_es_module_shares_the_behaviour(
    open_page: OpenPage, beacons: Beacons, stats: Stats, site: Callable[[str], str]
) -> None:
    head = f"""<script type="module">
      import {{ init, track }} from "{stats.url}{API}/footfall.mjs";
      track("Early", {{from: "module"}});
      init({{api: "{stats.url}{API}/event", outboundLinks: true}});
      window.footfall = track;
    </script>"""
    origin = site(head)
    page = load(open_page, beacons, f"{origin}/module", hide_webdriver=True)
    page.click("#outbound")
    page.get_by_role("link", name="About").click()
    wait_until(lambda: len(stats.events()) == 2, page, "the module's events")
    wait_until(lambda: len(stats.pageviews()) == 2, page, "the module's page views")
    settle(page, beacons)
    assert stats.pageviews() == [("/module", None), ("/about", f"{origin}/module")]
    assert sorted(stats.events()) == [
        ("Early", "/module", {"from": "module"}),
        ("Outbound Link: Click", "/module", {"url": "https://elsewhere.test/page?x=1"}),
    ]


# -- engagement ----------------------------------------------------------------------------

TALL = "<style>body { height: 4000px }</style>"
"""A page taller than the window, so that scrolling it goes somewhere."""
SCROLL = """(y) => new Promise((done) => {
  addEventListener("scroll", () => done(), {once: true});
  scrollTo(0, y);
})"""
"""Scroll the window to ``y`` and return once the scroll event has been handled (by the
trackers' listeners first: they were added before)."""


def engagement_of_views(stats: Stats) -> list[tuple[str, int | None, int | None]]:
    engine = sa.create_engine(stats.database_url)
    try:
        with engine.connect() as conn:
            query = "SELECT path, engaged_ms, scroll_depth FROM page_view ORDER BY id"
            return [tuple(row) for row in conn.execute(sa.text(query))]  # type: ignore[misc]
    finally:
        engine.dispose()


def scrolled_percent(page: Page, formula: str) -> int:
    return page.evaluate(f"Math.round({formula})")


def test_footfalls_tracker_reports_engaged_time_and_scroll_depth(
    open_page: OpenPage, beacons: Beacons, stats: Stats, site: Callable[..., str]
) -> None:
    origin = site(TALL + stats.tag())
    started = time.monotonic()
    page = load(open_page, beacons, f"{origin}/article", hide_webdriver=True)
    wait_until(lambda: len(stats.pageviews()) == 1, page, "the page view")
    page.evaluate(SCROLL, 1500)
    deepest = scrolled_percent(
        page, "(scrollY + innerHeight) * 100 / document.documentElement.scrollHeight"
    )
    page.evaluate(SCROLL, 0)  # the deepest counts, not the last
    # An SPA navigation reports the page it leaves, then counts the next.
    page.get_by_role("link", name="Pricing").click()
    wait_until(lambda: len(stats.pageviews()) == 2, page, "the second page view")
    settle(page, beacons)
    (article, engaged, depth), pricing = engagement_of_views(stats)
    elapsed_ms = (time.monotonic() - started) * 1000
    assert article == "/article" and depth == deepest and 30 < deepest < 100
    assert 0 < engaged <= elapsed_ms  # visible and focused all along: at most the wall time
    assert pricing == ("/pricing", None, None)  # still shown: nothing reported yet

    page.close()  # hides the page: its engagement goes with the last beacon
    wait_until(lambda: engagement_of_views(stats)[1][1] is not None, None, "/pricing's report")
    (_, _, _), (_, engaged_pricing, depth_pricing) = engagement_of_views(stats)
    assert 0 < engaged_pricing <= (time.monotonic() - started) * 1000 - engaged
    assert depth_pricing is not None and depth_pricing < deepest  # seen from the top only
    assert stats.events() == []  # never a custom event
    # What the page sent while it was open (the last beacon leaves with the page).
    bodies = [json.loads(body) for body in beacons.sent]
    assert [b["n"] for b in bodies[:3]] == ["pageview", "engagement", "pageview"]
    assert bodies[1]["u"] == f"{origin}/article" and bodies[1]["sd"] * 1 >= deepest - 0.5


def test_plausibles_tracker_engagement_is_no_event_and_no_interaction(
    open_page: OpenPage, beacons: Beacons, stats: Stats, site: Callable[..., str]
) -> None:
    """Plausible's own tracker (npm @plausible-analytics/tracker, as package-lock.json pins
    it), unchanged, pointed at footfall's /api/event."""
    plausible = (plausible_tracker() / "plausible.js").read_bytes()
    head = f"""{TALL}<script type="module">
      import {{ init }} from "/plausible.js";
      init({{domain: "site.test", endpoint: "{stats.url}/api/event"}});
      window.footfall = () => {{}};  // what load() waits for: the module has run
    </script>"""
    origin = site(head, {"/plausible.js": plausible})
    page = load(open_page, beacons, f"{origin}/article", hide_webdriver=True)
    wait_until(lambda: len(stats.pageviews()) == 1, page, "Plausible's page view")
    page.evaluate(SCROLL, 1200)
    # Plausible's own measure: the bottom of the window against the document's height.
    deepest = scrolled_percent(
        page,
        "(scrollY + innerHeight) * 100 / Math.max(document.body.scrollHeight,"
        " document.body.offsetHeight, document.documentElement.scrollHeight,"
        " document.documentElement.offsetHeight)",
    )
    page.close()
    wait_until(lambda: engagement_of_views(stats)[0][1] is not None, None, "the engagement")
    ((path, engaged, depth),) = engagement_of_views(stats)
    assert path == "/article" and depth == deepest and engaged > 0
    assert stats.events() == []  # it was stored as a custom event "engagement" before
    analytics = stats.server.analytics
    numbers = analytics.api.get_dashboard_stats_sync("today")
    assert numbers.bounce_rate.value == 100  # one page, no interaction: still a bounce
    assert numbers.visit_duration.value == round(engaged / 1000, 1)  # not 0 s
    assert analytics.api.get_top_events_sync(10, "today") == []


def plausible_tracker() -> Path:
    """Where npm installed Plausible's tracker (tracker/build.py installs it with terser)."""
    require_npm("Plausible's tracker is installed with npm (apt-get install npm)")
    return tracker_build().ensure_packages() / "node_modules" / "@plausible-analytics" / "tracker"
