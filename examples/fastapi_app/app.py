"""footfall in a FastAPI app: its routes mounted, every HTML page counted, the tracker tag
added, a custom event and the numbers from views.

    FOOTFALL_ADMIN_TOKEN=a-long-random-secret-42 uvicorn app:app
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from footfall import Analytics, Dropped, PageViewMiddleware, StoreUnavailable

analytics = Analytics(
    database_url=os.environ.get("FOOTFALL_DATABASE", "sqlite:///footfall.db"),
    admin_token=os.environ.get("FOOTFALL_ADMIN_TOKEN"),  # opens the dashboard to you
)


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    async with analytics:  # opens the database; writes what is pending at shutdown
        yield


app = FastAPI(lifespan=lifespan)
app.add_middleware(PageViewMiddleware, analytics=analytics, inject_script=True)
app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")


def page(title: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><title>{title}</title>"
        '<link rel="stylesheet" href="/static/style.css"></head>'
        f'<body><h1>{title}</h1><a href="/">Home</a> <a href="/about">About</a></body></html>'
    )


@app.get("/", response_class=HTMLResponse)
async def home() -> HTMLResponse:
    return page("Home")


@app.get("/about", response_class=HTMLResponse)
async def about() -> HTMLResponse:
    return page("About")


@app.get("/old")
async def old() -> RedirectResponse:
    return RedirectResponse("/about")


@app.get("/boom")
async def boom() -> None:
    raise RuntimeError("a failing page is not a page view")


@app.post("/signup")
async def signup(request: Request) -> dict[str, bool]:
    # A bot or a database outage must not fail the signup.
    with contextlib.suppress(Dropped, StoreUnavailable):
        await analytics.track("signup_completed", {"plan": "pro"}, request=request)
    return {"ok": True}


@app.get("/stats")
async def stats() -> dict[str, Any]:
    """Protect such a view in a real app: the numbers are yours."""
    return (await analytics.api.get_dashboard_stats(range="today")).to_dict()


app.mount("/", analytics.app)  # last: footfall's dashboard, API and ingestion
