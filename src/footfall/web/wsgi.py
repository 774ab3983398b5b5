"""footfall inside a WSGI application (Flask, Bottle, Pyramid, ...)::

    app.wsgi_app = analytics.wsgi(app.wsgi_app, inject_script=True)  # Flask

One wrapper does both jobs: footfall's ASGI routes (dashboard, API, ingestion, script) are
served at their paths through ``a2wsgi``, and every successful HTML page of the wrapped app
is counted once its response is finished (from the ``close()`` of the response), on
footfall's background event loop, so the worker thread is not held.

The realtime count of the dashboard is a Server-Sent Events stream. A WSGI worker thread
would be held for as long as a dashboard tab stays open, so here each stream answers one
count and ends; the browser's ``EventSource`` reconnects by itself (every 3 seconds), which
turns the stream into polling that holds a thread only for one query.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from footfall.web.middleware import (
    Injector,
    Kind,
    classify,
    count_page_view,
    is_compressed,
    is_footfall_path,
    is_page,
    script_tag,
)

if TYPE_CHECKING:
    from footfall.analytics import Analytics

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class WSGIMiddleware:
    """A WSGI app with footfall's routes and automatic page views (see the module)."""

    def __init__(self, app: WSGIApp, analytics: Analytics, *, inject_script: bool = False):
        self.app = app
        self.analytics = analytics
        self.inject_script = inject_script
        self._footfall: WSGIApp | None = None
        analytics.purge_in_background()  # a WSGI app has no lifespan to run it

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        config = self.analytics.config
        path = environ.get("PATH_INFO", "") or "/"
        if is_footfall_path(path, config):
            return self.footfall(environ, start_response)
        headers = environ_headers(environ)
        kind = classify(environ.get("REQUEST_METHOD", ""), path, headers, config)
        if kind is None:
            return self.app(environ, start_response)
        response = _Response(self, environ, headers, kind, start_response)
        return response.run(self.app)

    @property
    def footfall(self) -> WSGIApp:
        """footfall's ASGI app as WSGI, on footfall's background event loop."""
        if self._footfall is None:
            from a2wsgi import ASGIMiddleware

            app = OneEventStreams(self.analytics.app)
            loop = self.analytics._background_loop()
            self._footfall = ASGIMiddleware(app, loop=loop)  # type: ignore[arg-type]
        return self._footfall


class _Response:
    """One response of the wrapped app: perhaps edited, counted once it is finished."""

    def __init__(
        self,
        owner: WSGIMiddleware,
        environ: dict[str, Any],
        headers: dict[str, str],
        kind: Kind,
        start_response: Callable[..., Any],
    ) -> None:
        self.owner = owner
        self.environ = environ
        self.headers = headers
        self.kind = kind
        self._start_response = start_response
        self._held: tuple[str, list[tuple[str, str]], Any] | None = None
        self.injector: Injector | None = None
        self.page = False
        self.complete = False
        self._inner: Iterable[bytes] = ()
        self._write: Callable[[bytes], Any] | None = None

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], Any]:
        code = int(status.split(" ", 1)[0]) if status[:3].isdigit() else 0
        named = {name.lower(): value for name, value in headers}
        self.page = is_page(code, named.get("content-type"))
        plain = not is_compressed(named.get("content-encoding"))
        if exc_info is None and self.page and self.owner.inject_script and plain:
            tag = script_tag(
                self.owner.analytics.config,
                initial_pageview=self.kind is Kind.PREFETCH,
                root_path=quote(self.environ.get("SCRIPT_NAME", "")),
            )
            self.injector = Injector(tag)
            self._held = (status, headers, exc_info)
            return self._write_untouched
        self.injector = None
        self._held = None
        return self._start_response(status, headers, exc_info)

    def _write_untouched(self, data: bytes) -> None:
        """An app using the legacy ``write()`` writes its page before we could see
        ``</head>``: it goes out as it is, without the tag."""
        if self._held is not None:
            self.injector = None
            self._release()
        assert self._write is not None
        self._write(data)

    def _release(self) -> None:
        held, self._held = self._held, None
        assert held is not None
        status, headers, exc_info = held
        injector = self.injector
        if injector is not None and injector.injected:
            headers = [
                (n, injector.content_length(v) if n.lower() == "content-length" else v)
                for n, v in headers
            ]
        self._write = self._start_response(status, headers, exc_info)

    def run(self, app: WSGIApp) -> _Body:
        self._inner = app(self.environ, self.start_response)
        return _Body(self)

    def chunks(self) -> Iterator[bytes]:
        for chunk in self._inner:
            if self.injector is None or self._held is None:
                yield chunk
                continue
            out = self.injector.feed(chunk)
            if out is not None:
                self._release()
                yield out
        if self.injector is not None and self._held is not None:
            out = self.injector.finish()
            self._release()
            yield out
        self.complete = True

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        try:
            if close is not None:
                close()
        finally:
            if self.complete and self.page and self.kind is Kind.PAGE:
                self._record()

    def _record(self) -> None:
        from wsgiref.util import request_uri

        count_page_view(
            self.owner.analytics,
            url=request_uri(self.environ),
            headers=self.headers,
            peer=self.environ.get("REMOTE_ADDR"),
            request=_request_for_hooks(self.environ),
        )


class _Body:
    """The response iterable the server sees: counts the page from ``close()``, which the
    server calls once the last byte went out (or the client left, then nothing counts)."""

    def __init__(self, response: _Response) -> None:
        self._response = response
        self._chunks = response.chunks()

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        self._response.close()


def environ_headers(environ: dict[str, Any]) -> dict[str, str]:
    """Lower-case header names to values, as the ingestion endpoint reads them."""
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_") and isinstance(value, str)
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    return headers


def _request_for_hooks(environ: dict[str, Any]) -> Any:
    """What the hooks get as ``context.request``: Werkzeug's request (Flask's) when it is
    installed, else the WSGI environ."""
    try:
        from werkzeug.wrappers import Request
    except ImportError:  # pragma: no cover - Werkzeug comes with Flask
        return environ
    return Request(environ)


class OneEventStreams:
    """ASGI middleware for footfall's routes served from a thread-per-request server (WSGI,
    Django's bridge): a Server-Sent Events response ends after its first event, so that no
    dashboard tab holds a worker thread; ``EventSource`` reconnects after its ``retry``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        first_event = asyncio.Event()
        state = {"stream": False, "ended": False}

        async def watch(message: Message) -> None:
            if state["ended"]:
                return
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                content_type = headers.get(b"content-type", b"").lower()
                state["stream"] = content_type.startswith(b"text/event-stream")
            await send(message)
            if state["stream"] and b"data:" in message.get("body", b""):
                first_event.set()

        app = asyncio.ensure_future(self.app(scope, receive, watch))
        waiter = asyncio.ensure_future(first_event.wait())
        try:
            await asyncio.wait([app, waiter], return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            if not app.done():
                app.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await app
                if first_event.is_set():
                    state["ended"] = True
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
        if not app.cancelled():
            app.result()
