"""Browser fixtures: Debian's headless Chromium driven by Playwright, pages that record what
they fetch and log, a demo-filled footfall server, the dashboard login and screenshots.

Pages are opened on ``site.test`` (and ``stats.test``), which Chromium resolves to 127.0.0.1
(``--host-resolver-rules``), never on ``localhost`` or ``127.0.0.1``: Chromium counts those
as secure contexts, a real site over plain HTTP is not one, so ``Secure`` cookies and
secure-context-only APIs behave here as they do in production.

Helpers are fixtures, not importable functions: ``from conftest import ...`` in a test
module means ``tests/conftest.py`` (see :func:`pytest_configure`).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import pytest
import uvicorn
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    sync_playwright,
)

from footfall import Analytics
from footfall.clock import system_clock
from footfall.demo import generate_demo

if TYPE_CHECKING:
    from conftest import RunningServer  # tests/conftest.py

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--no-proxy-server",  # an http_proxy in the environment must not see site.test
    "--host-resolver-rules=MAP site.test 127.0.0.1, MAP stats.test 127.0.0.1",
]
SITE_HOST = "site.test"
STATS_HOST = "stats.test"
LOCAL_HOSTS = frozenset({"127.0.0.1", SITE_HOST, STATS_HOST})
NON_NETWORK_SCHEMES = frozenset({"data", "blob", "about"})

ADMIN_TOKEN = "browser-test-token"
ANDROID_UA = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
"""Chrome on Android (the engine is Chromium, so not the iPhone Safari of IPHONE_UA)."""
HIDE_WEBDRIVER = "Object.defineProperty(Navigator.prototype, 'webdriver', {get: () => false});"
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
UPDATE_SCREENSHOTS = "FOOTFALL_UPDATE_SCREENSHOTS"
"""Set to 1 to write the screenshots into docs/images/; otherwise they go to a temporary
directory, so a test run leaves the tracked images alone."""

Device = Literal["desktop", "phone"]

# -- tests/conftest.py as the importable ``conftest`` --------------------------------------

_ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"
_root: ModuleType | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Make ``import conftest`` mean tests/conftest.py again.

    Neither conftest is in a package, so both are module ``conftest``; pytest drops the
    first from ``sys.modules`` to import this one, after which every later ``from conftest
    import count_rows`` in the suite would find this file. Called when pytest registers this
    conftest, before any test module is imported.
    """
    global _root
    _root = config.pluginmanager.get_plugin(str(_ROOT_CONFTEST))
    if not isinstance(_root, ModuleType):
        raise RuntimeError(f"pytest has not loaded {_ROOT_CONFTEST}")
    sys.modules["conftest"] = _root


def root_conftest() -> ModuleType:
    """tests/conftest.py, as pytest loaded it (its RunningServer, free_port, BROWSER_UA)."""
    assert _root is not None, "pytest_configure has not run"
    return _root


# -- the browser -----------------------------------------------------------------------------


class _SharedBrowser:
    """One Chromium for each run of consecutive browser tests, stopped before any other test
    runs: while Playwright's sync API is alive the main thread has a running asyncio loop (by
    design, see playwright/sync_api/_context_manager.py), and every ``asyncio.run()`` in the
    rest of the suite would fail. Hence no session-scoped fixture."""

    def __init__(self) -> None:
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None

    def get(self) -> Browser:
        if self._browser is None:
            playwright = sync_playwright().start()
            try:
                self._browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
                )
            except BaseException:
                playwright.stop()
                raise
            self._playwright = playwright
        return self._browser

    def stop(self) -> None:
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = None
        try:
            if browser is not None:
                browser.close()
        finally:
            if playwright is not None:
                playwright.stop()


_shared_browser = _SharedBrowser()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After the test's own fixtures, stop Chromium unless the next test wants it too."""
    try:
        return (yield)
    finally:
        if nextitem is None or "browser" not in nextitem.fixturenames:
            _shared_browser.stop()


def pytest_sessionfinish() -> None:
    _shared_browser.stop()


@pytest.fixture
def browser() -> Browser:
    """Debian's Chromium, headless, talking to nothing but 127.0.0.1 under test names;
    launched once for consecutive browser tests."""
    if not CHROMIUM.exists():
        message = (
            "Debian's chromium is not installed: run ./dev test (it installs it) "
            "or apt-get install chromium"
        )
        root_conftest().missing(message)
    return _shared_browser.get()


@dataclass
class PageLog:
    """What one page (and any popup of its context) fetched and complained about."""

    page: Page
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def _on_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "")
        if urlsplit(url).path == "/favicon.ico":
            # Chromium's own fetch for a page that declares no icon: it comes at no fixed
            # time after the load (a flaky "error"), and Playwright reports no request for it.
            return
        self.console_errors.append(f"{message.text} ({url})")

    def _on_page_error(self, error: Exception) -> None:
        self.page_errors.append(str(error))

    def foreign_requests(self) -> list[str]:
        """Requests that went (or would have gone) anywhere but the test hosts."""
        foreign = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in NON_NETWORK_SCHEMES:
                continue
            if (
                parts.scheme not in {"http", "https", "ws", "wss"}
                or parts.hostname not in LOCAL_HOSTS
            ):
                foreign.append(url)
        return foreign

    def assert_only_local_hosts(self) -> None:
        """No request left 127.0.0.1, site.test and stats.test (no CDN, font, beacon)."""
        assert self.requests, "the page made no request at all"
        assert not self.foreign_requests(), f"requests to other hosts: {self.foreign_requests()}"

    def assert_no_errors(self) -> None:
        """Nothing logged at level error in the console, no uncaught exception."""
        assert not self.console_errors, f"console errors: {self.console_errors}"
        assert not self.page_errors, f"uncaught page errors: {self.page_errors}"

    def assert_clean(self) -> None:
        self.assert_only_local_hosts()
        self.assert_no_errors()


OpenPage = Callable[..., Page]


@pytest.fixture
def page_logs() -> dict[Page, PageLog]:
    """The :class:`PageLog` of every page opened in this test, by page."""
    return {}


@pytest.fixture
def open_page(
    browser: Browser,
    page_logs: dict[Page, PageLog],
    serve: object,
    serve_app: object,
) -> Iterator[OpenPage]:
    """``open_page(device="desktop", *, hide_webdriver=False) -> Page`` in a fresh context
    (own cookies and storage) with an ordinary user agent: desktop Chrome at 1280x900 or
    Chrome on Android at 360x740. ``hide_webdriver`` makes ``navigator.webdriver`` false,
    as in a browser nobody automates: use it where the tracker is under test.

    Asking for ``serve`` and ``serve_app`` (unused) orders the teardowns: pages close before
    the servers stop, whatever the order of the test's arguments; an open stream (the
    dashboard's realtime count) would otherwise hold uvicorn's shutdown for 10 seconds.
    """
    contexts: list[Any] = []

    def open_(device: Device = "desktop", *, hide_webdriver: bool = False) -> Page:
        if device == "desktop":
            options: dict[str, Any] = {
                "user_agent": root_conftest().BROWSER_UA,
                "viewport": {"width": 1280, "height": 900},
            }
        else:
            options = {
                "user_agent": ANDROID_UA,
                "viewport": {"width": 360, "height": 740},
                "device_scale_factor": 2,
                "is_mobile": True,
                "has_touch": True,
            }
        context = browser.new_context(locale="en-US", timezone_id="UTC", **options)
        contexts.append(context)
        if hide_webdriver:
            context.add_init_script(HIDE_WEBDRIVER)
        page = context.new_page()
        log = PageLog(page)
        context.on("request", log._on_request)
        context.on("console", log._on_console)
        context.on("weberror", lambda web_error: log._on_page_error(web_error.error))
        page_logs[page] = log
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page: OpenPage) -> Page:
    """A desktop page (1280x900, Chrome on Windows user agent)."""
    return open_page("desktop")


@pytest.fixture
def phone_page(open_page: OpenPage) -> Page:
    """A phone page (360x740 at 2x, touch, Chrome on Android user agent)."""
    return open_page("phone")


@pytest.fixture
def page_log(page_logs: dict[Page, PageLog]) -> Callable[[Page], PageLog]:
    """``page_log(page)``: its requests, console errors and page errors, and assertions."""
    return page_logs.__getitem__


# -- servers ------------------------------------------------------------------------------


def site_url(url: str, host: str = SITE_HOST) -> str:
    """``http://127.0.0.1:PORT`` as the browser should see it: ``http://site.test:PORT``."""
    parts = urlsplit(url)
    return parts._replace(netloc=f"{host}:{parts.port}").geturl()


@pytest.fixture
def serve_app() -> Iterator[Callable[[Any], str]]:
    """``serve_app(asgi_app) -> "http://site.test:PORT"``: any ASGI app (lifespan included)
    under a real uvicorn server on 127.0.0.1, in this process."""
    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: Any) -> str:
        port = root_conftest().free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        running.append((server, thread))
        deadline = time.monotonic() + 10
        while not server.started:  # a condition wait, bounded, not a sleep for timing
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return f"http://{SITE_HOST}:{port}"

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def make_demo_server(
    make_analytics: Callable[..., Analytics],
    serve: Callable[[Analytics], RunningServer],
    tmp_path: Path,
) -> Callable[..., RunningServer]:
    """``make_demo_server(**config) -> RunningServer``: a fresh SQLite file with 30 days of
    demo traffic (5,000 page views, seed 3) ending now, served on the system clock with
    ``admin_token="browser-test-token"`` and 127.0.0.1 as trusted proxy (so
    ``server.event(..., ip=...)`` makes distinct visitors).

    The server's ``url`` is the browser's ``http://site.test:PORT``; its ``client`` (and so
    ``event()``) talks to 127.0.0.1 directly, since only Chromium knows site.test.
    """
    made = 0

    def make(**options: Any) -> RunningServer:
        nonlocal made
        made += 1
        options.setdefault("admin_token", ADMIN_TOKEN)
        options.setdefault("trusted_proxies", ["127.0.0.1"])
        options.setdefault("clock", system_clock)
        database = f"sqlite:///{tmp_path / f'demo-{made}.db'}"
        analytics = make_analytics(database, **options)
        generate_demo(analytics.store, pageviews=5000, days=30, now=system_clock(), seed=3)
        running = serve(analytics)
        return dataclasses.replace(running, url=site_url(running.url))

    return make


@pytest.fixture
def demo_server(make_demo_server: Callable[..., RunningServer]) -> RunningServer:
    """A demo-filled footfall server of this test's own (tests may add events)."""
    return make_demo_server()


@pytest.fixture
def login() -> Callable[[Page, RunningServer], None]:
    """``login(page, server)``: follow the dashboard's login link, which sets the session
    cookie and redirects to the dashboard without the token in the address."""

    def login_(page: Page, server: RunningServer) -> None:
        base = f"{server.url}{server.analytics.config.site_base_path}/analytics"
        response = page.goto(f"{base}?token={ADMIN_TOKEN}")
        assert response is not None and response.ok, f"login failed: {response}"
        assert "token=" not in page.url, f"the token stayed in the address: {page.url}"

    return login_


@pytest.fixture
def screenshot(tmp_path: Path) -> Callable[..., Path]:
    """``screenshot(page, "dashboard-desktop.png", full_page=False) -> Path``: into the
    test's temporary directory, or into docs/images/ (the documentation's) when
    ``FOOTFALL_UPDATE_SCREENSHOTS=1``; only tests that mean to call it."""
    directory = IMAGES if os.environ.get(UPDATE_SCREENSHOTS) == "1" else tmp_path / "images"

    def take(page: Page, name: str, *, full_page: bool = False) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / name
        page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        return path

    return take
