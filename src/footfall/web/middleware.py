"""Automatic page views: every successful server-rendered HTML page is counted once, after
its response is sent, through the same pipeline as the browser's events.

The rules (which requests count, where the tracker tag goes) live here once and serve the
ASGI middleware below, the WSGI middleware (``footfall.web.wsgi``) and Django's
(``footfall.integrations.django``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from footfall import tracker
from footfall.ingest.event import PAGEVIEW, Dropped
from footfall.ingest.pipeline import IngestContext
from footfall.ingest.validate import InvalidEvent
from footfall.store import StoreUnavailable
from footfall.web.ingest import PLAUSIBLE_EVENT_PATH, read_headers

if TYPE_CHECKING:
    from footfall.analytics import Analytics
    from footfall.config import Config

log = logging.getLogger(__name__)

SOURCE = "middleware"
"""``IngestContext.source`` of the page views recorded here."""
MAX_HOLD = 256 * 1024
"""Most bytes of an HTML body held back while looking for ``</head>``: past that, the page
is sent as it is, without the tag (its page view is still counted)."""
SCOPE_MARK = "footfall.pageviews"
"""Set in the ASGI scope by ``PageViewMiddleware``, so Django's middleware, if also
installed, does not count the same page again."""
WAIT_TIMEOUT = 30.0
"""Longest wait for pending page views when footfall closes (as for queued events)."""
_PREFETCH_HEADERS = ("sec-purpose", "purpose", "x-purpose", "x-moz")
_UNCOUNTED_2XX = (204, 205, 206)


class Kind(Enum):
    """What a request is to the page-view counter, before its response is known."""

    PAGE = "page"
    """Counted if the response is a successful HTML page."""
    PREFETCH = "prefetch"
    """Not counted now (the visitor may never see it); a tag still goes in, one that lets
    the tracker count the page if and when it is shown."""


def classify(method: str, path: str, headers: Mapping[str, str], config: Config) -> Kind | None:
    """``None`` for requests that are never page views: not a GET (HEAD included), or one of
    footfall's own routes. ``headers`` must answer lower-case names."""
    if method != "GET" or is_footfall_path(path, config):
        return None
    for name in _PREFETCH_HEADERS:
        value = headers.get(name)
        if value and ("prefetch" in value.lower() or "prerender" in value.lower()):
            return Kind.PREFETCH
    return Kind.PAGE


def is_footfall_path(path: str, config: Config) -> bool:
    """The dashboard, the API, the ingestion endpoints and the script are not the site."""
    for base in (
        f"{config.api_base_path}/analytics",
        f"{config.site_base_path}/analytics",
        PLAUSIBLE_EVENT_PATH,
    ):
        if path == base or path.startswith(f"{base}/"):
            return True
    return False


def is_page(status: int, content_type: str | None) -> bool:
    """A successful, complete HTML document: not a redirect, an error, a partial or empty
    answer, nor an asset (whose content type is not ``text/html``)."""
    if not 200 <= status < 300 or status in _UNCOUNTED_2XX:
        return False
    return (content_type or "").split(";", 1)[0].strip().lower() == "text/html"


def is_compressed(content_encoding: str | None) -> bool:
    return (content_encoding or "identity").strip().lower() not in ("", "identity")


def script_tag(config: Config, *, initial_pageview: bool, root_path: str = "") -> bytes:
    """The tracker's ``<script>`` tag. ``initial_pageview=False`` when the server already
    counted this page, so the tracker does not count it twice."""
    tag = tracker.script_tag(config, initial_pageview=initial_pageview, base_url=root_path)
    return tag.encode()


class Injector:
    """Puts the tag before ``</head>`` (else before ``</body>``) of an HTML body that arrives
    in chunks, holding back only the start of the body until it knows where."""

    def __init__(self, tag: bytes, limit: int = MAX_HOLD) -> None:
        self.tag = tag
        self.limit = limit
        self.held = b""
        self.decided = False
        self.injected = False

    def feed(self, chunk: bytes) -> bytes | None:
        """What may be sent now, or ``None`` while still looking."""
        if self.decided:
            return chunk
        self.held += chunk
        if self._insert_before(b"</head>") or len(self.held) > self.limit:
            return self._release()
        return None

    def finish(self) -> bytes:
        """The end of the body: what was still held back."""
        if self.decided:
            return b""
        self._insert_before(b"</body>", last=True)
        return self._release()

    def _insert_before(self, marker: bytes, *, last: bool = False) -> bool:
        lower = self.held.lower()
        at = lower.rfind(marker) if last else lower.find(marker)
        if at < 0:
            return False
        self.held = self.held[:at] + self.tag + self.held[at:]
        self.injected = True
        return True

    def content_length(self, value: str) -> str:
        """A Content-Length header of the body as the app wrote it, as it is sent."""
        return str(int(value) + len(self.tag)) if self.injected and value.isdigit() else value

    def _release(self) -> bytes:
        self.decided = True
        out, self.held = self.held, b""
        return out


def inject(body: bytes, tag: bytes) -> bytes | None:
    """``body`` with the tag in, or ``None`` when it has neither ``</head>`` nor ``</body>``."""
    injector = Injector(tag, limit=len(body) + 1)
    out = (injector.feed(body) or b"") + injector.finish()
    return out if injector.injected else None


def count_page_view(
    analytics: Analytics,
    *,
    url: str,
    headers: Mapping[str, str],
    peer: str | None,
    request: Any,
) -> None:
    """Count one page view whose response is sent, without holding the caller: on the
    running event loop, or on footfall's background loop from a thread (WSGI, Django)."""
    analytics._pending.start(
        _record_page_view(analytics, url=url, headers=headers, peer=peer, request=request),
        analytics._background_loop,
    )


async def _record_page_view(
    analytics: Analytics,
    *,
    url: str,
    headers: Mapping[str, str],
    peer: str | None,
    request: Any,
) -> None:
    """Count one page view; runs after the response, so what fails is logged, never raised."""
    payload = {"name": PAGEVIEW, "url": url, "referrer": headers.get("referer")}
    try:
        await analytics.ingest(
            payload,
            headers=headers,
            peer=peer,
            context=IngestContext(source=SOURCE, request=request),
        )
    except Dropped:
        pass  # a bot, an excluded path, a hook's decision: counted as dropped already
    except InvalidEvent as invalid:
        log.debug("footfall did not count a page view: %s", invalid)
    except StoreUnavailable as error:
        log.warning("footfall could not store a page view (database unavailable): %s", error)
    except Exception:
        log.exception("footfall could not record a page view")


class PendingWrites:
    """Page views recorded after their response: kept here so that their tasks are not
    garbage-collected mid-flight, and so that closing footfall can wait for them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[asyncio.Future[Any] | concurrent.futures.Future[Any]] = set()

    def __len__(self) -> int:
        return len(self._running)

    def start(
        self,
        write: Coroutine[Any, Any, None],
        background_loop: Callable[[], asyncio.AbstractEventLoop],
    ) -> None:
        """Run ``write`` on the current event loop, or on ``background_loop()`` when called
        from a thread without one (WSGI)."""
        future: asyncio.Future[Any] | concurrent.futures.Future[Any]
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            future = asyncio.run_coroutine_threadsafe(write, background_loop())
        else:
            future = loop.create_task(write, name="footfall-pageview")
        with self._lock:
            self._running.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Any) -> None:
        with self._lock:
            self._running.discard(future)

    async def drain(self) -> None:
        """Wait (in an event loop) for every pending write to finish."""
        with self._lock:
            running = list(self._running)
        here = asyncio.get_running_loop()
        tasks = [f for f in running if isinstance(f, asyncio.Future) and f.get_loop() is here]
        others = [f for f in running if isinstance(f, concurrent.futures.Future)]
        if tasks:
            await asyncio.wait(tasks, timeout=WAIT_TIMEOUT)
        if others:
            await asyncio.to_thread(concurrent.futures.wait, others, WAIT_TIMEOUT)

    def wait(self, timeout: float = WAIT_TIMEOUT) -> None:
        """Wait (from a thread) for every pending write; used by ``Analytics.close()``."""
        deadline = time.monotonic() + timeout
        with self._lock:
            running = list(self._running)
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        for future in running:
            remaining = max(0.0, deadline - time.monotonic())
            if isinstance(future, concurrent.futures.Future):
                concurrent.futures.wait([future], remaining)
                continue
            loop = future.get_loop()
            if future.done() or not loop.is_running():
                continue
            if loop is current:  # cannot block the loop the write needs
                log.warning("footfall closed from its event loop: a page view may be lost")
                continue
            waiting = asyncio.run_coroutine_threadsafe(asyncio.wait([future]), loop)
            with contextlib.suppress(concurrent.futures.TimeoutError):
                waiting.result(remaining)


class PageViewMiddleware:
    """ASGI middleware that counts each successful HTML page the wrapped app serves::

        app.add_middleware(PageViewMiddleware, analytics=analytics)  # Starlette, FastAPI
        application = analytics.middleware(get_asgi_application())  # any ASGI app

    A page view is recorded for a GET answered 2xx with ``text/html``, once the last byte
    of the response is sent (the response is never delayed). HEAD, prefetches, redirects,
    errors, assets and footfall's own routes are not counted; bots are dropped by the
    pipeline. With ``inject_script=True`` the tracker's ``<script>`` tag is inserted before
    ``</head>`` and told that the server counted the page (``data-initial-pageview``).
    Compressed bodies, and pages with no ``</head>`` in their first 256 KiB, are sent as
    they are. Failures are logged and never reach the response. At the server's shutdown
    (lifespan), pending page views are written before the app shuts down.
    """

    def __init__(self, app: ASGIApp, analytics: Analytics, *, inject_script: bool = False):
        self.app = app
        self.analytics = analytics
        self.inject_script = inject_script

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = read_headers(scope)
        kind = classify(scope["method"], _route_path(scope), headers, self.analytics.config)
        if kind is None:
            await self.app(scope, receive, send)
            return
        scope[SCOPE_MARK] = True
        response = _Response(self, scope, kind, send)
        try:
            await self.app(scope, receive, response.send)
        finally:
            await response.flush()
        if response.complete and response.page and kind is Kind.PAGE:
            client = scope.get("client")
            request = Request(scope)
            count_page_view(
                self.analytics,
                url=str(request.url),
                headers=headers,
                peer=client[0] if client else None,
                request=request,
            )

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Write pending page views before the app shuts down; for an app with no lifespan
        of its own (Django), answer the lifespan here so that this still happens."""
        started = received = False

        async def receive_draining() -> Message:
            nonlocal received
            message = await receive()
            received = received or message["type"] == "lifespan.startup"
            if message["type"] == "lifespan.shutdown":
                await self.analytics._pending.drain()
            return message

        async def send_watching(message: Message) -> None:
            nonlocal started
            started = started or message["type"].startswith("lifespan.startup")
            await send(message)

        try:
            await self.app(scope, receive_draining, send_watching)
        except Exception:
            if started:
                raise
            log.debug("the wrapped app has no lifespan; footfall answers it", exc_info=True)
            if received:
                await send({"type": "lifespan.startup.complete"})
            while True:
                message = await receive_draining()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return


class _Response:
    """Watches (and perhaps edits) one response on its way out."""

    def __init__(self, owner: PageViewMiddleware, scope: Scope, kind: Kind, send: Send) -> None:
        self.owner = owner
        self.scope = scope
        self.kind = kind
        self._send = send
        self.page = False
        self.complete = False
        self._start: Message | None = None
        self._injector: Injector | None = None

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            headers = {k.lower(): v for k, v in message.get("headers", [])}
            self.page = is_page(message["status"], _text(headers.get(b"content-type")))
            encoding = _text(headers.get(b"content-encoding"))
            if self.page and self.owner.inject_script and not is_compressed(encoding):
                tag = script_tag(
                    self.owner.analytics.config,
                    initial_pageview=self.kind is Kind.PREFETCH,
                    root_path=self.scope.get("root_path", ""),
                )
                self._start, self._injector = message, Injector(tag)
                return
            await self._send(message)
        elif kind == "http.response.body" and self._injector is not None:
            more = message.get("more_body", False)
            out = self._injector.feed(message.get("body", b""))
            if not more:
                out = (out or b"") + self._injector.finish()
            if out is not None:
                await self._send_start()
                await self._send({"type": "http.response.body", "body": out, "more_body": more})
            self.complete = not more
        else:
            await self._send_start()
            await self._send(message)
            if kind == "http.response.body":
                self.complete = not message.get("more_body", False)
            elif kind == "http.response.pathsend":
                self.complete = True

    async def _send_start(self) -> None:
        """The held start line, its Content-Length grown by the tag if it went in."""
        start, self._start = self._start, None
        if start is None:
            return
        injector = self._injector
        if injector is not None and injector.injected:
            headers = [
                (
                    n,
                    injector.content_length(v.decode("latin-1")).encode("latin-1")
                    if n.lower() == b"content-length"
                    else v,
                )
                for n, v in start.get("headers", [])
            ]
            start = {**start, "headers": headers}
        await self._send(start)

    async def flush(self) -> None:
        """An app that ended without finishing its body: send what was held back."""
        if self._start is None or self._injector is None:
            return
        rest = self._injector.finish()
        await self._send_start()
        await self._send({"type": "http.response.body", "body": rest, "more_body": False})


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value is not None else None


def _route_path(scope: Scope) -> str:
    """The path inside the app, as its routes see it (``root_path`` taken off)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path
