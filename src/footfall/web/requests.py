"""What footfall needs from a framework's request object, whichever framework made it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from footfall.ingest.client_ip import is_trusted_proxy


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


def over_https(scheme: str, peer: str | None, headers: Mapping[str, str], trusted: Any) -> bool:
    """Whether the browser's request came over HTTPS: said by the connection itself, or by
    a trusted proxy (``trusted``: parsed ``trusted_proxies``) that ended TLS and passed the
    request on over plain HTTP (``X-Forwarded-Proto``, or ``proto=`` in ``Forwarded``).
    The proxy's own value is the last one; what a client sent before it is not believed."""
    if scheme == "https":
        return True
    if not is_trusted_proxy(peer, trusted):
        return False
    proto = headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower()
    if not proto:
        last = headers.get("forwarded", "").split(",")[-1]
        for pair in last.split(";"):
            name, _, value = pair.strip().partition("=")
            if name.lower() == "proto":
                proto = value.strip('"').lower()
    return proto == "https"
