"""Who may read the reports: the host's ``authorize(request)`` when embedded; standalone,
the admin, by bearer token or by the session cookie the login link set. Nobody otherwise."""

from __future__ import annotations

import hmac
import inspect
from typing import TYPE_CHECKING

from starlette.requests import Request

from footfall.dashboard import session

if TYPE_CHECKING:
    from footfall.analytics import Analytics

HOW_TO = (
    "footfall's reports are private. Embedded in an application, pass "
    "Analytics(authorize=lambda request: ...) returning True for your administrators; "
    "standalone, send 'Authorization: Bearer <admin token>' ('footfall token' prints the "
    "one footfall serve keeps; --admin-token / FOOTFALL_ADMIN_TOKEN sets another)."
)


async def is_authorized(request: Request, analytics: Analytics) -> bool:
    config = analytics.config
    if config.authorize is not None:
        verdict = config.authorize(request)
        if inspect.isawaitable(verdict):
            verdict = await verdict
        if verdict:
            return True
    token = config.admin_token
    if token:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            credentials.strip().encode(), token.encode()
        ):
            return True
        if await session.is_valid(analytics, request.cookies.get(session.COOKIE)):
            return True
    return False
