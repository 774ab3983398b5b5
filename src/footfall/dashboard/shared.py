"""The shared dashboard: ``{site_base_path}/analytics/share/<secret>``, read-only, for
whoever has the link (store/shared_links.py makes and revokes them).

It shows what the dashboard shows, with its period, filters and tabs, but no CSV export,
no details views and no admin session; the JSON API stays closed to it. A link with a
password asks for it once; the answer is a cookie for that link's path only. It may be
shown in an iframe only by the origins of ``embed_origins``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from footfall.dashboard import views
from footfall.store import shared_links
from footfall.web.auth import count_wrong, refuse_if_guessing

if TYPE_CHECKING:
    from footfall.analytics import Analytics

COOKIE = "footfall_share"
COOKIE_LIFETIME = 7 * 24 * 3600
MAX_FORM = 4096


def shared_headers(embed_origins: tuple[str, ...]) -> dict[str, str]:
    """The dashboard's security headers, with the origins that may frame a shared link."""
    ancestors = " ".join(embed_origins) if embed_origins else "'none'"
    policy = views.SECURITY_HEADERS["Content-Security-Policy"].replace(
        "frame-ancestors 'none'", f"frame-ancestors {ancestors}"
    )
    return {**views.SECURITY_HEADERS, "Content-Security-Policy": policy}


def _unlock_value(link: shared_links.Found) -> str:
    """What the cookie of an unlocked link holds: only a server that knows its password's
    hash can make it, and a new password (a new link) makes another."""
    assert link.password_hash is not None
    key = link.password_hash.encode()
    return hmac.new(key, f"share {link.id}".encode(), hashlib.sha256).hexdigest()


def _unlocked(request: Request, link: shared_links.Found) -> bool:
    if link.password_hash is None:
        return True
    given = request.cookies.get(COOKIE, "")
    return hmac.compare_digest(given.encode(), _unlock_value(link).encode())


def shared_routes(analytics: Analytics, base: str) -> list[Route]:
    """The shared dashboard, its password form and its realtime stream."""
    headers = shared_headers(tuple(analytics.config.embed_origins))

    async def find(request: Request) -> shared_links.Found | None:
        # The store is opened on first use (a database down at start is a 503 later).
        engine = analytics.store.engine
        return await asyncio.to_thread(shared_links.find, engine, request.path_params["secret"])

    def missing() -> Response:
        message = "This shared link does not exist, or it was revoked."
        return views.render("error.html", 404, headers, message=message, home=None, base=base)

    def ask_password(link: shared_links.Found, wrong: bool = False) -> Response:
        status = 401 if wrong else 200
        return views.render(
            "share_password.html", status, headers, base=base, label=link.label, wrong=wrong
        )

    async def page(request: Request) -> Response:
        link = await find(request)
        if link is None:
            return missing()
        if not _unlocked(request, link):
            return ask_password(link)
        here = f"{base}/share/{request.path_params['secret']}"
        return await views.dashboard_page(
            analytics, request, base=base, here=here, shared=link.label, headers=headers
        )

    async def unlock(request: Request) -> Response:
        link = await find(request)
        if link is None or link.password_hash is None:
            return missing() if link is None else RedirectResponse(request.url.path, 303)
        refuse_if_guessing(request, analytics)
        body = await request.body()
        form = parse_qs(body[:MAX_FORM].decode("utf-8", "replace"))
        password = (form.get("password") or [""])[0]
        matches = await asyncio.to_thread(
            shared_links.password_matches, password, link.password_hash
        )
        if not password or not matches:
            count_wrong(request, analytics, "shared link password")
            return ask_password(link, wrong=True)
        response = RedirectResponse(request.url.path, status_code=303, headers=headers)
        response.set_cookie(
            COOKIE,
            _unlock_value(link),
            max_age=COOKIE_LIFETIME,
            path=request.url.path,
            httponly=True,
            samesite="lax",
            secure=views.came_over_https(request, analytics),
        )
        return response

    async def realtime(request: Request) -> Response:
        link = await find(request)
        if link is None or not _unlocked(request, link):
            return missing()
        return StreamingResponse(
            views.realtime_events(analytics, request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    return [
        Route(f"{base}/share/{{secret}}", page, methods=["GET"]),
        Route(f"{base}/share/{{secret}}", unlock, methods=["POST"]),
        Route(f"{base}/share/{{secret}}/realtime", realtime, methods=["GET"]),
    ]
