"""footfall in a Starlette app: its routes mounted, every HTML page counted, the tracker tag
added, a custom event and the numbers from views.

    FOOTFALL_ADMIN_TOKEN=a-long-random-secret-42 uvicorn app:app
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from footfall import Analytics, Dropped, PageViewMiddleware, StoreUnavailable

analytics = Analytics(
    database_url=os.environ.get("FOOTFALL_DATABASE", "sqlite:///footfall.db"),
    admin_token=os.environ.get("FOOTFALL_ADMIN_TOKEN"),  # opens the dashboard to you
)


def page(title: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><title>{title}</title>"
        '<link rel="stylesheet" href="/static/style.css"></head>'
        f'<body><h1>{title}</h1><a href="/">Home</a> <a href="/about">About</a></body></html>'
    )


async def home(_request: Request) -> HTMLResponse:
    return page("Home")


async def about(_request: Request) -> HTMLResponse:
    return page("About")


async def old(_request: Request) -> RedirectResponse:
    return RedirectResponse("/about")


async def boom(_request: Request) -> HTMLResponse:
    raise RuntimeError("a failing page is not a page view")


async def signup(request: Request) -> JSONResponse:
    # A bot or a database outage must not fail the signup.
    with contextlib.suppress(Dropped, StoreUnavailable):
        await analytics.track("signup_completed", {"plan": "pro"}, request=request)
    return JSONResponse({"ok": True})


async def stats(_request: Request) -> JSONResponse:
    """Protect such a view in a real app: the numbers are yours."""
    return JSONResponse((await analytics.api.get_dashboard_stats(range="today")).to_dict())


@asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    async with analytics:  # opens the database; writes what is pending at shutdown
        yield


app = Starlette(
    routes=[
        Route("/", home),
        Route("/about", about),
        Route("/old", old),
        Route("/boom", boom),
        Route("/signup", signup, methods=["POST"]),
        Route("/stats", stats),
        Mount("/static", StaticFiles(directory=Path(__file__).parent / "static")),
        Mount("/", analytics.app),  # last: footfall's dashboard, API and ingestion
    ],
    middleware=[Middleware(PageViewMiddleware, analytics=analytics, inject_script=True)],
    lifespan=lifespan,
)
