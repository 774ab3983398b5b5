"""The administrator's session cookie: the one cookie footfall ever sets.

Opening the dashboard with a login code (the single-use link ``footfall serve`` prints, or
``footfall login``) or the admin token exchanges it for this cookie. The cookie holds a
random session identifier; the database holds its hash and its end (``store/
admin_sessions.py``), so a session can be ended: signing out, signing out everywhere, or a
new admin token.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from footfall.store import admin_sessions

if TYPE_CHECKING:
    from footfall.analytics import Analytics

COOKIE = "footfall_admin"
LIFETIME = int(admin_sessions.SESSION_LIFETIME.total_seconds())
_SECRET = re.compile(r"[A-Za-z0-9_-]{20,64}")
"""What ``secrets.token_urlsafe`` writes: anything else is refused before a database look."""


def well_formed(secret: str | None) -> bool:
    return secret is not None and _SECRET.fullmatch(secret) is not None


async def is_valid(analytics: Analytics, secret: str | None) -> bool:
    """Whether the cookie's ``secret`` is a session that has not ended, under the current
    admin token."""
    token = analytics.config.admin_token
    if not token or not well_formed(secret):
        return False
    assert secret is not None
    now = analytics.config.clock()
    engine = analytics.store.engine
    return await asyncio.to_thread(admin_sessions.is_session, engine, secret, token, now)


def cookie_header(value: str, *, secure: bool, max_age: int = LIFETIME) -> str:
    """HttpOnly (no script reads it) and SameSite=Strict (no other site sends it)."""
    parts = [f"{COOKIE}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Strict"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def clearing_header(*, secure: bool) -> str:
    """The header that removes the cookie from the browser (signing out)."""
    return cookie_header("", secure=secure, max_age=0)
