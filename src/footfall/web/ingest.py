"""``POST {api_base_path}/analytics/event`` (and Plausible's ``/api/event``): thin HTTP glue.

Answers: 202 when stored; 202 with ``X-Footfall-Dropped: <reason>`` when filtered; 400 with
``{"error", "field"}`` for invalid input; 413 over 8 KiB; 415 for a body that is not JSON or
text; 429 when rate-limited; 503 (with ``Retry-After``) only when the database is down.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from footfall.ingest.event import Dropped, DropReason
from footfall.ingest.pipeline import IngestContext
from footfall.ingest.validate import MAX_BODY_BYTES, InvalidEvent, parse_body
from footfall.store import StoreUnavailable

if TYPE_CHECKING:
    from footfall.analytics import Analytics

ACCEPTED_TYPES = ("application/json", "text/plain", "")
CORS = {"Access-Control-Allow-Origin": "*"}


def ingest_endpoint(analytics: Analytics) -> Callable[[Request], Awaitable[Response]]:
    async def ingest(request: Request) -> Response:
        if request.method == "OPTIONS":  # not a CORS preflight, which the middleware answers
            return Response(status_code=204, headers={**CORS, "Allow": "POST, OPTIONS"})
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in ACCEPTED_TYPES:
            return _error(415, "content-type", "send the event as application/json or text/plain")
        body = await _read_limited(request)
        if body is None:
            return _error(413, "body", f"must be at most {MAX_BODY_BYTES} bytes")
        try:
            payload = parse_body(body)
            await analytics.ingest(
                payload,
                headers=request.headers,
                peer=request.client.host if request.client else None,
                context=IngestContext(source="http", request=request),
            )
        except InvalidEvent as invalid:
            return _error(400, invalid.field, invalid.message)
        except Dropped as dropped:
            headers = {**CORS, "X-Footfall-Dropped": dropped.reason.value}
            if dropped.reason is DropReason.RATE_LIMITED:
                return JSONResponse(
                    {"error": "too many events from your network; slow down"},
                    status_code=429,
                    headers={**headers, "Retry-After": "60"},
                )
            return Response(status_code=202, headers=headers)
        except StoreUnavailable:
            return JSONResponse(
                {"error": "the analytics database is unavailable; try again later"},
                status_code=503,
                headers={**CORS, "Retry-After": "5"},
            )
        return Response(status_code=202, headers=CORS)

    return ingest


async def _read_limited(request: Request) -> bytes | None:
    """The body, or None as soon as it exceeds the limit (without reading the rest)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    return bytes(body)


def _error(status: int, field: str, message: str) -> JSONResponse:
    return JSONResponse({"error": f"{field} {message}", "field": field}, status, headers=CORS)
