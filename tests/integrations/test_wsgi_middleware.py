"""The WSGI middleware called as a WSGI server calls it: counted only once the response is
closed after its last byte, the tag injected with a correct length, footfall's routes
served through a2wsgi."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from conftest import BROWSER_UA
from footfall import Config, tracker
from integrations.harness import page_views

PAGE = b"<html><head><title>t</title></head><body>hi</body></html>"
TAG = tracker.script_tag(Config(), initial_pageview=False).encode()

StartResponse = Callable[..., Any]


def site(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    path = environ["PATH_INFO"]
    if path == "/legacy":
        write = start_response("200 OK", [("Content-Type", "text/html")])
        write(PAGE)
        return []
    if path == "/moved":
        start_response("302 Found", [("Location", "/"), ("Content-Type", "text/html")])
        return [b"moved"]
    if path == "/app.js":
        start_response("200 OK", [("Content-Type", "text/javascript")])
        return [b"1"]

    def chunks() -> Iterator[bytes]:
        start_response(
            "200 OK",
            [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(PAGE)))],
        )
        yield PAGE[:10]
        yield PAGE[10:]

    return chunks()


def call(
    app: Any, path: str, *, method: str = "GET", read: int | None = None, **headers: str
) -> tuple[str, dict[str, str], bytes, Any]:
    """What a WSGI server does; ``read`` stops after that many chunks (a client leaving)."""
    environ: dict[str, Any] = {"PATH_INFO": path, "REQUEST_METHOD": method}
    setup_testing_defaults(environ)
    environ["HTTP_USER_AGENT"] = BROWSER_UA
    environ.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    started: dict[str, Any] = {}
    written: list[bytes] = []

    def start_response(status: str, response_headers: list[tuple[str, str]], exc=None):
        started.update(status=status, headers=dict(response_headers))
        return written.append

    result = app(environ, start_response)
    body = b"".join(written)
    for index, chunk in enumerate(result):
        if read is not None and index >= read:
            break
        body += chunk
    return started["status"], started["headers"], body, result


@pytest.fixture
def analytics(make_analytics, sqlite_url):
    return make_analytics(sqlite_url)


def test_a_page_is_counted_when_its_response_is_closed(analytics, sqlite_url):
    app = analytics.wsgi(site)
    status, _headers, body, result = call(app, "/")
    assert status == "200 OK" and body == PAGE
    assert len(analytics._pending) == 0  # nothing before the server closes the response
    result.close()
    analytics._pending.wait()
    assert page_views(sqlite_url) == ["/"]


def test_nothing_else_is_counted(analytics, sqlite_url):
    app = analytics.wsgi(site)
    for path, options in [
        ("/", {"method": "HEAD"}),
        ("/", {"method": "POST"}),
        ("/", {"SEC_PURPOSE": "prefetch"}),
        ("/", {"read": 1}),  # the client left before the end
        ("/moved", {}),
        ("/app.js", {}),
    ]:
        *_, result = call(app, path, **options)
        result.close()
    analytics._pending.wait()
    assert page_views(sqlite_url) == []


def test_injection_fixes_the_length_and_skips_legacy_writes(analytics, sqlite_url):
    app = analytics.wsgi(site, inject_script=True)
    _status, headers, body, result = call(app, "/")
    result.close()
    assert body == PAGE.replace(b"</head>", TAG + b"</head>")
    assert headers["Content-Length"] == str(len(body))
    _status, _headers, legacy, result = call(app, "/legacy")
    result.close()
    assert legacy == PAGE  # written before we could look for </head>: sent as it is
    _status, _headers, prefetched, result = call(app, "/", SEC_PURPOSE="prefetch")
    result.close()
    assert tracker.script_tag(Config()).encode() in prefetched
    analytics._pending.wait()
    assert page_views(sqlite_url) == ["/", "/legacy"]


def test_footfall_routes_are_served_and_bad_input_gets_a_400(analytics):
    app = analytics.wsgi(site)
    status, _headers, body, result = call(app, "/api/data/analytics/health")
    result.close()
    assert status == "200 OK" and json.loads(body)["status"] == "ok"
    environ: dict[str, Any] = {"PATH_INFO": "/api/data/analytics/event", "REQUEST_METHOD": "POST"}
    setup_testing_defaults(environ)
    environ.update(CONTENT_TYPE="application/json", CONTENT_LENGTH="5")
    environ["wsgi.input"].write(b"{bad}")
    environ["wsgi.input"].seek(0)
    started: dict[str, str] = {}
    result = app(environ, lambda status, headers, exc=None: started.update(status=status))
    body = b"".join(result)
    result.close()
    assert started["status"].startswith("400"), body
