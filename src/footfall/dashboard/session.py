"""The administrator's session in standalone mode: the one cookie footfall ever sets.

``footfall serve`` prints a login link carrying the admin token; opening it exchanges the
token for this cookie. The cookie holds an expiry and an HMAC of it keyed by the token, so
every worker process can check it without shared state, and changing the token logs
everyone out.
"""

from __future__ import annotations

import hashlib
import hmac
import time

COOKIE = "footfall_admin"
LIFETIME = 7 * 24 * 3600  # seconds


def issue(token: str, *, now: float | None = None) -> str:
    expires = int((now if now is not None else time.time()) + LIFETIME)
    return f"{expires}.{_sign(token, expires)}"


def is_valid(token: str, value: str | None, *, now: float | None = None) -> bool:
    if not value or "." not in value:
        return False
    expires_text, _, signature = value.partition(".")
    # Only what ``issue`` writes: ASCII digits ("¹".isdigit() is true, int() refuses it),
    # a bounded number of them, and an ASCII signature (compare_digest refuses others).
    if not (expires_text.isascii() and expires_text.isdigit() and len(expires_text) <= 12):
        return False
    expires = int(expires_text)
    if expires < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(signature.encode(), _sign(token, expires).encode())


def cookie_header(value: str, *, secure: bool) -> str:
    """HttpOnly (no script reads it) and SameSite=Strict (no other site sends it)."""
    parts = [f"{COOKIE}={value}", "Path=/", f"Max-Age={LIFETIME}", "HttpOnly", "SameSite=Strict"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def _sign(token: str, expires: int) -> str:
    message = f"footfall-admin-session:{expires}".encode()
    return hmac.new(token.encode(), message, hashlib.sha256).hexdigest()
