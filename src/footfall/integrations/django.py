"""footfall in a Django project, under WSGI or ASGI.

In ``settings.py``, name your ``Analytics`` object and add the middleware (and the app,
so that ``manage.py check`` checks these settings)::

    FOOTFALL_ANALYTICS = "mysite.analytics.analytics"  # dotted path to the object
    FOOTFALL_INJECT_SCRIPT = True                        # optional: add the tracker tag
    INSTALLED_APPS = [..., "footfall.integrations.django.FootfallConfig"]
    MIDDLEWARE = [..., "footfall.integrations.django.PageViewMiddleware"]

In ``urls.py``, serve footfall's routes (dashboard, API, ingestion, script)::

    from footfall.integrations import django as footfall_django
    urlpatterns = [..., path("", include(footfall_django.urls(analytics)))]

From a view: ``analytics.track_sync("signup_completed", {"plan": "pro"}, request=request)``,
or ``await analytics.track(...)`` in an async view.

Under ASGI you may instead wrap the whole application, ``application =
analytics.middleware(get_asgi_application())``; the Django middleware then steps aside, so
a page is never counted twice.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import difflib
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.urls import URLPattern, re_path
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt

from footfall.web.middleware import (
    SCOPE_MARK,
    Kind,
    classify,
    count_page_view,
    inject,
    is_compressed,
    is_page,
    script_tag,
)
from footfall.web.wsgi import OneEventStreams

if TYPE_CHECKING:
    from footfall.analytics import Analytics

__all__ = ["FootfallConfig", "PageViewMiddleware", "check_settings", "urls"]

SETTINGS = ("FOOTFALL_ANALYTICS", "FOOTFALL_INJECT_SCRIPT")


class FootfallConfig(AppConfig):
    """In ``INSTALLED_APPS`` as ``"footfall.integrations.django.FootfallConfig"``:
    ``manage.py check`` (and every start of the server) then checks footfall's settings.
    footfall has no models."""

    name = "footfall.integrations.django"
    label = "footfall"
    verbose_name = "footfall"

    def ready(self) -> None:
        checks.register(check_settings)


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """What is wrong with footfall's settings: a misspelt one (otherwise ignored, or every
    request a 500), a missing or wrong ``FOOTFALL_ANALYTICS``."""
    from footfall.analytics import Analytics

    errors: list[checks.CheckMessage] = []
    for name in dir(settings):
        if name.startswith("FOOTFALL_") and name not in SETTINGS:
            close = difflib.get_close_matches(name, SETTINGS, n=1)
            hint = f"Did you mean {close[0]}?" if close else f"footfall's: {', '.join(SETTINGS)}."
            errors.append(checks.Error(f"Unknown setting {name}.", hint=hint, id="footfall.E001"))
    path = getattr(settings, "FOOTFALL_ANALYTICS", None)
    if path is None:
        errors.append(
            checks.Error(
                "FOOTFALL_ANALYTICS is not set.",
                hint="Set it to the dotted path of your footfall Analytics object, such as "
                "'mysite.analytics.analytics'.",
                id="footfall.E002",
            )
        )
    else:
        try:
            found = import_string(path)
        except ImportError as error:
            errors.append(
                checks.Error(
                    f"FOOTFALL_ANALYTICS {path!r} cannot be imported: {error}", id="footfall.E003"
                )
            )
        else:
            if not isinstance(found, Analytics):
                errors.append(
                    checks.Error(
                        f"FOOTFALL_ANALYTICS {path!r} is a {type(found).__name__}, not a "
                        "footfall Analytics object.",
                        id="footfall.E004",
                    )
                )
    if not isinstance(getattr(settings, "FOOTFALL_INJECT_SCRIPT", False), bool):
        errors.append(
            checks.Error("FOOTFALL_INJECT_SCRIPT must be True or False.", id="footfall.E005")
        )
    return errors


class PageViewMiddleware:
    """Counts each successful HTML page Django serves, once its response is closed (that
    is, sent), on footfall's background loop; works in sync and async stacks alike."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        errors = check_settings()
        if errors:  # the app not installed, so manage.py check did not say it
            raise ImproperlyConfigured(
                " ".join(f"{e.msg} {e.hint or ''}".strip() for e in errors)
                + " (add 'footfall.integrations.django.FootfallConfig' to INSTALLED_APPS to have "
                "manage.py check report this)"
            )
        self.get_response = get_response
        self.analytics: Analytics = import_string(settings.FOOTFALL_ANALYTICS)
        self.inject_script = bool(getattr(settings, "FOOTFALL_INJECT_SCRIPT", False))
        self.analytics.purge_in_background()  # Django runs no lifespan of footfall's
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        return self._handle(request, self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        return self._handle(request, await self.get_response(request))

    def _handle(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if getattr(request, "scope", {}).get(SCOPE_MARK):
            return response  # the ASGI middleware around Django counts this page
        config = self.analytics.config
        kind = classify(request.method or "", request.path_info, request.headers, config)
        if kind is None or not is_page(response.status_code, response.get("Content-Type")):
            return response
        if self.inject_script and not response.streaming:
            self._inject(response, kind)  # type: ignore[arg-type]
        if kind is Kind.PAGE:
            # Closers run once the server has sent the response (WSGI and ASGI alike).
            response._resource_closers.append(lambda: self._record(request))
        return response

    def _inject(self, response: HttpResponse, kind: Kind) -> None:
        if is_compressed(response.get("Content-Encoding")):
            return
        tag = script_tag(
            self.analytics.config,
            initial_pageview=kind is Kind.PREFETCH,
            root_path=request_script_prefix(),
        )
        body = inject(response.content, tag)
        if body is not None:
            response.content = body
            if response.has_header("Content-Length"):
                response["Content-Length"] = str(len(body))

    def _record(self, request: HttpRequest) -> None:
        count_page_view(
            self.analytics,
            url=request.build_absolute_uri(),
            headers={k.lower(): v for k, v in request.headers.items()},
            peer=request.META.get("REMOTE_ADDR"),
            request=request,
        )


def request_script_prefix() -> str:
    """Where Django is mounted (``SCRIPT_NAME``), without the trailing slash."""
    from django.urls import get_script_prefix

    return get_script_prefix().rstrip("/")


def urls(analytics: Analytics) -> list[URLPattern]:
    """URL patterns that serve footfall's routes at their paths, for ``include()``."""
    api = analytics.config.api_base_path.lstrip("/")
    site = analytics.config.site_base_path.lstrip("/")
    prefixes = "|".join(re.escape(p) for p in (f"{api}/analytics", f"{site}/analytics"))
    pattern = rf"^(?:(?:{prefixes})(?:/.*)?|api/event)$"
    return [re_path(pattern, _forward_view(analytics), name="footfall")]


def _forward_view(analytics: Analytics) -> Callable[[HttpRequest], HttpResponseBase]:
    """A Django view that hands the request to footfall's ASGI app, run on footfall's
    background loop (so a response can outlive the view under WSGI), and streams back what
    it answers."""
    app = OneEventStreams(analytics.app)

    @csrf_exempt
    def view(request: HttpRequest) -> HttpResponseBase:
        exchange = _Exchange(app, _scope(request), request.body, analytics._background_loop())
        status, headers, first, more = exchange.start()
        if not more:
            response: HttpResponseBase = HttpResponse(first, status=status)
        else:
            stream = exchange.aiter(first) if hasattr(request, "scope") else exchange.iter(first)
            response = StreamingHttpResponse(stream, status=status)
        for name, value in headers:
            if name.lower() not in ("content-length", "transfer-encoding"):
                response.headers[name] = value
        return response

    return view


def _scope(request: HttpRequest) -> dict[str, Any]:
    meta = request.META
    headers = [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in request.headers.items()
    ]
    client = (
        (meta["REMOTE_ADDR"], int(meta.get("REMOTE_PORT") or 0))
        if meta.get("REMOTE_ADDR")
        else None
    )
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": request.scheme,
        "path": request.path,
        "raw_path": request.path.encode(),
        "root_path": "",
        "query_string": meta.get("QUERY_STRING", "").encode("latin-1"),
        "headers": headers,
        "client": client,
        "server": (request.get_host().rsplit(":", 1)[0], int(request.get_port() or 80)),
    }


class _Exchange:
    """One request to footfall's ASGI app on another thread's event loop."""

    def __init__(
        self, app: Any, scope: dict[str, Any], body: bytes, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.loop = loop
        self.app = app
        self.scope = scope
        self.body = body
        self.messages: asyncio.Queue[dict[str, Any] | None] | None = None
        self.disconnected: asyncio.Event | None = None
        self._ready = concurrent.futures.Future[None]()
        self.task = asyncio.run_coroutine_threadsafe(self._run(), loop)

    async def _run(self) -> None:
        self.messages = asyncio.Queue()
        self.disconnected = asyncio.Event()
        self._ready.set_result(None)
        sent_body = False

        async def receive() -> dict[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": self.body, "more_body": False}
            assert self.disconnected is not None
            await self.disconnected.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            assert self.messages is not None
            await self.messages.put(message)

        try:
            await self.app(self.scope, receive, send)
        finally:
            await self.messages.put(None)

    def _next(self) -> concurrent.futures.Future[dict[str, Any] | None]:
        self._ready.result()
        assert self.messages is not None
        return asyncio.run_coroutine_threadsafe(self.messages.get(), self.loop)

    def start(self) -> tuple[int, list[tuple[str, str]], bytes, bool]:
        """The status, headers and first part of the body, and whether more follows."""
        start = self._next().result()
        if start is None or start["type"] != "http.response.start":
            self.task.result()  # raises what the app raised
            raise RuntimeError("footfall's app ended without a response")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]]
        body = self._next().result()
        if body is None:
            return start["status"], headers, b"", False
        return start["status"], headers, body.get("body", b""), body.get("more_body", False)

    def iter(self, first: bytes) -> Iterator[bytes]:
        try:
            yield first
            while (message := self._next().result()) is not None:
                yield message.get("body", b"")
                if not message.get("more_body", False):
                    break
        finally:
            self.close()

    async def aiter(self, first: bytes) -> AsyncIterator[bytes]:
        try:
            yield first
            while (message := await asyncio.wrap_future(self._next())) is not None:
                yield message.get("body", b"")
                if not message.get("more_body", False):
                    break
        finally:
            self.close()

    def close(self) -> None:
        """The client left or the body ended: let the app go."""
        if self.disconnected is not None:
            self.loop.call_soon_threadsafe(self.disconnected.set)
