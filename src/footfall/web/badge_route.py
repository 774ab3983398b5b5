"""``GET {api_base_path}/analytics/badge.svg?path=/blog/x&metric=pageviews``: a "1.2k views"
badge for embedding, with the same number as ``page-stats``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from footfall.query.ranges import InvalidQuery
from footfall.web.api import forbidden
from footfall.web.auth import is_authorized
from footfall.web.badge import BADGE_METRICS, compact_number, render_badge

if TYPE_CHECKING:
    from footfall.analytics import Analytics

MAX_LABEL = 40
CACHE_SECONDS = 300
"""Embedded badges are fetched on every view of the host page: five minutes of caching
keeps that off the database, and a count five minutes old is fine for a badge."""


def badge_route(analytics: Analytics, base: str) -> Route:
    async def badge(request: Request) -> Response:
        public = analytics.config.public_counters
        if not public and not await is_authorized(request, analytics):
            return forbidden()
        query = request.query_params
        metric = query.get("metric", "pageviews")
        if metric not in BADGE_METRICS:
            return _invalid("metric", f"must be one of {', '.join(BADGE_METRICS)}")
        label = query.get("label", BADGE_METRICS[metric])[:MAX_LABEL]
        try:
            stats = await analytics.api.get_page_stats(query.get("path", ""), "all")
        except InvalidQuery as invalid:
            return _invalid(invalid.param, invalid.message)
        svg = render_badge(label, compact_number(getattr(stats, metric)))
        cache = f"{'public' if public else 'private'}, max-age={CACHE_SECONDS}"
        return Response(
            svg,
            media_type="image/svg+xml",
            headers={
                "Cache-Control": cache,
                # An SVG opened directly must not run anything, whatever it contains.
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
                "X-Content-Type-Options": "nosniff",
            },
        )

    return Route(f"{base}/badge.svg", badge, methods=["GET"])


def _invalid(field: str, message: str) -> JSONResponse:
    return JSONResponse({"error": f"{field}: {message}", "field": field}, status_code=400)


__all__ = ["badge_route"]
