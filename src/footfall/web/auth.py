"""Who may read the reports: the host's ``authorize(request)`` when embedded; standalone,
the admin, by bearer token or by the session cookie the login link set. Nobody otherwise."""

from __future__ import annotations

import hmac
import inspect
import logging
from typing import TYPE_CHECKING

from starlette.requests import Request

from footfall.dashboard import session
from footfall.ingest.client_ip import client_ip, truncate_ip
from footfall.ingest.ratelimit import RateLimiter

if TYPE_CHECKING:
    from footfall.analytics import Analytics

log = logging.getLogger(__name__)

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
        if scheme.lower() == "bearer":
            refuse_if_guessing(request, analytics)
            if hmac.compare_digest(credentials.strip().encode(), token.encode()):
                return True
            count_wrong(request, analytics, "bearer token")
        if await session.is_valid(analytics, request.cookies.get(session.COOKIE)):
            return True
    return False


WRONG_PER_MINUTE = 10
"""Wrong admin tokens and login codes one network (a /24 or /48) may send in a minute;
past that, its attempts (right ones included) are answered 429 until the minute is up."""


class TooManyWrongTokens(Exception):
    """A network sent more wrong tokens or codes than ``WRONG_PER_MINUTE``: answered 429."""


def wrong_tokens() -> RateLimiter:
    """The count of wrong tokens and login codes by network: one per application
    (``app.state.wrong_tokens``), so every route counts into the same."""
    return RateLimiter(WRONG_PER_MINUTE, max_keys=10_000)


def _network(request: Request, analytics: Analytics) -> str:
    client = request.client
    trusted = analytics.pipeline.trusted_proxies  # parsed once, for ingestion
    ip = client_ip(client.host if client else None, request.headers, trusted)
    return truncate_ip(ip) if ip else "unknown"


def _wrong_tokens(request: Request) -> RateLimiter | None:
    return getattr(request.app.state, "wrong_tokens", None) if "app" in request.scope else None


def refuse_if_guessing(request: Request, analytics: Analytics) -> None:
    """Raise ``TooManyWrongTokens`` if the request's network used up its wrong tokens."""
    wrong = _wrong_tokens(request)
    if wrong is not None and wrong.exhausted(
        _network(request, analytics), analytics.config.clock()
    ):
        raise TooManyWrongTokens


def count_wrong(request: Request, analytics: Analytics, what: str) -> None:
    """Count and log a wrong token or code (by network: no full address in the log)."""
    network = _network(request, analytics)
    log.warning("wrong admin %s from the network of %s", what, network)
    wrong = _wrong_tokens(request)
    if wrong is not None:
        wrong.allow(network, analytics.config.clock())
