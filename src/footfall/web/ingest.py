"""``POST {api_base_path}/analytics/event`` (and Plausible's ``/api/event``): thin HTTP glue.

Answers: 202 when stored; 202 with ``X-Footfall-Dropped: <reason>`` when filtered; 400 with
``{"error", "field"}`` for invalid input; 413 over 8 KiB; 415 for a body that is neither JSON
nor text; 429 when rate-limited; 503 (with ``Retry-After``) only when the database is down.

This is the hottest path in footfall, so it is a plain ASGI application: one dictionary of
headers, one read of the body, two ``send`` calls. CORS preflights are answered by
Starlette's middleware around the route.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from footfall.ingest.event import Dropped, DropReason
from footfall.ingest.pipeline import IngestContext
from footfall.ingest.validate import MAX_BODY_BYTES, InvalidEvent, parse_body
from footfall.store import StoreUnavailable

if TYPE_CHECKING:
    from footfall.analytics import Analytics

PLAUSIBLE_EVENT_PATH = "/api/event"
"""Where Plausible's tracker sends its events: an alias of ``{api_base_path}/analytics/event``."""
ACCEPTED_TYPES = ("application/json", "text/plain", "")
_CORS = (b"access-control-allow-origin", b"*")
_JSON = (b"content-type", b"application/json")


class IngestEndpoint:
    def __init__(self, analytics: Analytics) -> None:
        self.analytics = analytics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] == "OPTIONS":  # not a preflight (the middleware answers those)
            await _respond(send, 204, extra=[(b"allow", b"POST, OPTIONS")])
            return
        headers = read_headers(scope)
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in ACCEPTED_TYPES:
            await _error(send, 415, "content-type", "must be application/json or text/plain")
            return
        body = await _read_limited(receive, headers)
        if body is None:
            await _error(send, 413, "body", f"must be at most {MAX_BODY_BYTES} bytes")
            return
        client = scope.get("client")
        try:
            await self.analytics.ingest(
                parse_body(body),
                headers=headers,
                peer=client[0] if client else None,
                context=IngestContext(source="http", request=Request(scope)),
            )
        except InvalidEvent as invalid:
            await _error(send, 400, invalid.field, invalid.message)
        except Dropped as dropped:
            reason = (b"x-footfall-dropped", dropped.reason.value.encode())
            if dropped.reason is DropReason.RATE_LIMITED:
                body = orjson.dumps({"error": "too many events from your network; slow down"})
                await _respond(send, 429, body, [reason, _JSON, (b"retry-after", b"60")])
            else:
                await _respond(send, 202, extra=[reason])
        except StoreUnavailable:
            body = orjson.dumps({"error": "the analytics database is unavailable; retry later"})
            await _respond(send, 503, body, [_JSON, (b"retry-after", b"5")])
        else:
            await _respond(send, 202)


def read_headers(scope: Scope) -> dict[str, str]:
    """Lower-case header names to values; repeated headers are joined with commas, as HTTP
    allows, so a forged first X-Forwarded-For line cannot hide the one our proxy added."""
    values: dict[str, list[str]] = {}
    for raw_name, raw_value in scope["headers"]:
        values.setdefault(raw_name.decode("latin-1"), []).append(raw_value.decode("latin-1"))
    # Joined once per name: joining as they come copied the whole value at every repeat,
    # and 160,000 repeated headers held the event loop for 8 seconds.
    return {name: ", ".join(parts) for name, parts in values.items()}


async def _read_limited(receive: Receive, headers: dict[str, str]) -> bytes | None:
    """The body, or None as soon as it exceeds the limit (without reading the rest)."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return body
        body += message.get("body", b"")
        if len(body) > MAX_BODY_BYTES:
            return None
        if not message.get("more_body", False):
            return body


async def _error(send: Send, status: int, field: str, message: str) -> None:
    body = orjson.dumps({"error": f"{field} {message}", "field": field})
    await _respond(send, status, body, [_JSON])


async def _respond(
    send: Send, status: int, body: bytes = b"", extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [_CORS, (b"content-length", str(len(body)).encode()), *(extra or ())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
