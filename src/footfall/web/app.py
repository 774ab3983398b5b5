"""The ASGI application: every footfall route at its full path, for standalone use or for
mounting into a host application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from footfall._version import __version__
from footfall.dashboard.shared import shared_routes
from footfall.dashboard.views import dashboard_routes
from footfall.web.api import api_routes, export_route
from footfall.web.auth import TooManyWrongTokens, wrong_tokens
from footfall.web.badge_route import badge_route
from footfall.web.ingest import PLAUSIBLE_EVENT_PATH, IngestEndpoint
from footfall.web.tracker_route import tracker_routes

if TYPE_CHECKING:
    from footfall.analytics import Analytics


def build_app(analytics: Analytics, *, standalone: bool = False) -> Starlette:
    """Every footfall route; ``standalone`` also answers ``/`` with the dashboard."""
    base = f"{analytics.config.api_base_path}/analytics"
    # Any site may send events (sendBeacon needs no preflight; fetch with JSON does).
    cors = [
        Middleware(
            CORSMiddleware,
            allow_origins=["*"],
            allow_methods=["POST"],
            allow_headers=["Content-Type"],
            max_age=86400,
        )
    ]
    ingest = IngestEndpoint(analytics)

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "version": __version__})

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with analytics:
            yield

    routes = [
        Route(f"{base}/event", ingest, methods=["POST", "OPTIONS"], middleware=cors),
        Route(PLAUSIBLE_EVENT_PATH, ingest, methods=["POST", "OPTIONS"], middleware=cors),
        Route(f"{base}/health", health, methods=["GET"]),
        *api_routes(analytics, base),
        badge_route(analytics, base),
        *tracker_routes(analytics, base),
        export_route(analytics, base),
        *dashboard_routes(analytics, standalone=standalone),
        *shared_routes(analytics, f"{analytics.config.site_base_path}/analytics"),
    ]
    if standalone:
        dashboard = f"{analytics.config.site_base_path}/analytics"

        async def home(_request: Request) -> RedirectResponse:
            return RedirectResponse(dashboard, status_code=307)

        routes.append(Route("/", home, methods=["GET"]))
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={TooManyWrongTokens: _too_many_wrong_tokens},
    )
    app.state.wrong_tokens = wrong_tokens()
    # Starlette's redirect of "/path/" to "/path" wrote an absolute Location from the Host
    # header, query (and login token) included; a path footfall does not serve is a 404.
    app.router.redirect_slashes = False
    return app


async def _too_many_wrong_tokens(_request: Request, _error: Exception) -> JSONResponse:
    return JSONResponse(
        {"error": "too many wrong tokens or login codes from your network; retry in a minute"},
        status_code=429,
        headers={"Retry-After": "60", "Cache-Control": "no-store"},
    )
