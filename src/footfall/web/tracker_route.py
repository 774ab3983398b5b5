"""``GET {api_base_path}/analytics/script.js`` (and ``script.<hash>.js``, ``footfall.mjs``,
and ``links.js``, which ``script.js`` loads for outbound links and file downloads): the
browser tracker, cached by browsers and CDNs.

The stable name is cached for a day and revalidated by a strong ETag (the content hash), so
an upgrade reaches every site within a day at the cost of a 304. The hashed name, which
:func:`footfall.tracker.script_tag` writes, is immutable: a new tracker has a new name. A
hashed name that is not the current one (a page cached before an upgrade) still gets the
current tracker, with the short caching, so those pages keep counting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from footfall.tracker import LINKS_NAME, MODULE_NAME, SCRIPT_NAME, Asset, asset

if TYPE_CHECKING:
    from footfall.analytics import Analytics

MAX_AGE = 86400
"""A day: how long an upgrade of the tracker may take to reach a visitor's browser."""
IMMUTABLE = "public, max-age=31536000, immutable"
MEDIA_TYPE = "text/javascript; charset=utf-8"


def tracker_routes(_analytics: Analytics, base: str) -> list[Route]:
    async def script(request: Request) -> Response:
        current = asset(SCRIPT_NAME)
        pinned = request.path_params.get("version", request.query_params.get("v"))
        return _serve(request, current, immutable=pinned == current.version)

    async def module(request: Request) -> Response:
        current = asset(MODULE_NAME)
        return _serve(request, current, immutable=request.query_params.get("v") == current.version)

    async def links(request: Request) -> Response:
        return _serve(request, asset(LINKS_NAME), immutable=False)

    return [
        Route(f"{base}/script.js", script, methods=["GET"]),
        Route(f"{base}/script.{{version}}.js", script, methods=["GET"]),
        Route(f"{base}/{MODULE_NAME}", module, methods=["GET"]),
        Route(f"{base}/links.js", links, methods=["GET"]),
    ]


def _serve(request: Request, current: Asset, *, immutable: bool) -> Response:
    """200 or 304; gzip-9 for clients that take it (under its own ETag, as a strong
    validator names one exact representation)."""
    gzipped = "gzip" in request.headers.get("accept-encoding", "")
    etag = f'"{current.version}-gz"' if gzipped else current.etag
    headers = {
        "ETag": etag,
        "Cache-Control": IMMUTABLE if immutable else f"public, max-age={MAX_AGE}",
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
        # Sites load it from another origin, some with Cross-Origin-Embedder-Policy.
        "Cross-Origin-Resource-Policy": "cross-origin",
        "Access-Control-Allow-Origin": "*",
    }
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    body = current.gzipped if gzipped else current.body
    return Response(body, media_type=MEDIA_TYPE, headers=headers)


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110's weak comparison, which If-None-Match uses: ``W/`` prefixes are ignored."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    tags = (tag.strip().removeprefix("W/") for tag in if_none_match.split(","))
    return etag in tags


__all__ = ["tracker_routes"]
