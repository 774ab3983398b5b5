"""What footfall needs from a framework's request object, whichever framework made it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RequestInfo:
    headers: Mapping[str, str]
    """Case-insensitive headers (lower-case look-ups work)."""
    peer: str | None
    """The address of the TCP peer (perhaps a proxy)."""
    url: str
    referrer: str | None


def describe_request(request: Any) -> RequestInfo:
    """Read a Starlette/FastAPI, Django or Flask/Werkzeug request."""
    headers = request.headers
    if hasattr(request, "META"):  # Django (first: under ASGI it has a ``scope`` too)
        return RequestInfo(
            headers,
            request.META.get("REMOTE_ADDR"),
            request.build_absolute_uri(),
            headers.get("referer"),
        )
    if hasattr(request, "scope"):  # Starlette and FastAPI
        client = request.client
        return RequestInfo(
            headers, client.host if client else None, str(request.url), headers.get("referer")
        )
    if hasattr(request, "remote_addr"):  # Flask / Werkzeug
        return RequestInfo(headers, request.remote_addr, request.url, headers.get("referer"))
    raise TypeError(
        f"track() does not know how to read a {type(request).__name__}: pass a Starlette, "
        "FastAPI, Django or Flask request"
    )
