"""The shape and limits of an incoming event, checked before anything else looks at it.

The limits follow Plausible's, so a payload Plausible accepts is accepted here too.
Plausible's one-letter keys (``n u d r p i h m``) are read as their long names.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import orjson

from footfall.ingest.event import ENGAGEMENT, PAGEVIEW

MAX_BODY_BYTES = 8 * 1024
MAX_NAME = 120
MAX_URL = 2000
MAX_PROPS = 30
MAX_PROP_KEY = 300
MAX_PROP_VALUE = 2000
MAX_HOSTNAME = 253
MAX_ENGAGED_MS = 30 * 60 * 1000
"""A longer engaged time in one report is cut to this: more than the visit could have
stayed open without an event since its page view."""

ALIASES = {
    "n": "name",
    "u": "url",
    "d": "domain",
    "r": "referrer",
    "p": "props",
    "m": "props",
    "meta": "props",
    "i": "interactive",
    "h": "hash_mode",
    "e": "engaged_ms",
    "sd": "scroll_depth",
}

Scalar = str | int | float | bool | None


class InvalidEvent(ValueError):
    """The payload breaks a rule; ``field`` names the part at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(slots=True)
class Submission:
    """A validated event as sent, before enrichment."""

    name: str
    hostname: str | None
    path: str
    query: str = ""
    referrer: str | None = None
    props: dict[str, Scalar] = field(default_factory=dict)
    interactive: bool = True
    engagement: tuple[int, int | None] | None = None
    """For an engagement (the name ``engagement``): the engaged milliseconds and the
    scroll depth in percent (None: not sent)."""


_CONTROLS = re.compile(r"[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
"""Control characters, and the bidirectional embeddings, overrides and isolates that can
make a name read backwards on the dashboard: never in a name, URL or referrer a browser
sends. NUL in any field made PostgreSQL refuse the whole batch the event was written with."""
_CONTROLS_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Control characters but tabs and line breaks, which a property's text may hold (right-to-
left text may hold bidirectional marks too; the dashboard isolates each cell)."""


def _no_controls(field: str, value: str, controls: re.Pattern[str] = _CONTROLS) -> str:
    if controls.search(value):
        raise InvalidEvent(field, "must not contain control characters")
    return value


_HOST = re.compile(r"[\w-]+(\.[\w-]+)*\.?")
"""A host name as browsers send it: labels of letters, digits, hyphens (and underscores),
in any script; an IP address is checked apart."""


def is_host(value: str) -> bool:
    """Whether ``value`` can be a host name or IP address (not ``<script>``, not
    ``=cmd|x!a0``): what footfall stores and shows as a site's host."""
    if _HOST.fullmatch(value):
        return True
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
"""What a path keeps as it is: RFC 3986's unreserved and sub-delimiters, ':', '@', '/', and
'%' (escapes already made)."""


def canonical_path(path: str) -> str:
    """``path`` percent-encoded as a browser's ``location`` gives it (``/a"`` as ``/a%22``,
    ``/ä`` as ``/%C3%A4``), so one page has one spelling whoever sent it."""
    return quote(path, safe=_PATH_SAFE)


def parse_body(body: bytes) -> dict[str, Any]:
    """Decode a JSON object; sendBeacon posts it as text/plain, which is accepted alike."""
    if len(body) > MAX_BODY_BYTES:
        raise InvalidEvent("body", f"must be at most {MAX_BODY_BYTES} bytes")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidEvent("body", "is not valid JSON") from None
    if not isinstance(payload, dict):
        raise InvalidEvent("body", "must be a JSON object")
    return payload


def validate(payload: dict[str, Any]) -> Submission:
    data = {ALIASES.get(key, key): value for key, value in payload.items()}
    name = _name(data.get("name", PAGEVIEW))
    hostname, path, query = _location(data)
    return Submission(
        name=name,
        hostname=hostname,
        path=path,
        query=query,
        referrer=_referrer(data.get("referrer")),
        # An engagement's properties are those of its page view (Plausible sends them), or
        # whatever footfall's tracker left there: not stored, not checked.
        props={} if name == ENGAGEMENT else _props(data.get("props")),
        interactive=True if name == PAGEVIEW else _flag("interactive", data.get("interactive")),
        engagement=_engagement(data) if name == ENGAGEMENT else None,
    )


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidEvent("name", "must be a non-empty string")
    value = value.strip()
    if len(value) > MAX_NAME:
        raise InvalidEvent("name", f"must be at most {MAX_NAME} characters")
    return _no_controls("name", value)


def _location(data: dict[str, Any]) -> tuple[str | None, str, str]:
    """``(hostname, path, query)`` from ``url`` (absolute, or a path) or ``path``."""
    key = "url" if data.get("url") is not None else "path"
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidEvent("url", "is required: the page's URL (or its path, as 'path')")
    if len(value) > MAX_URL:
        raise InvalidEvent(key, f"must be at most {MAX_URL} characters")
    _no_controls(key, value)
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
    except ValueError:
        raise InvalidEvent(key, "is not a valid URL") from None
    if parts.scheme and parts.scheme not in ("http", "https"):
        raise InvalidEvent(key, "must be an http(s) URL or a path")
    if parts.scheme and not hostname:
        raise InvalidEvent(key, "has no host")
    if not parts.scheme and not value.startswith("/"):
        raise InvalidEvent(key, "must be an absolute URL or a path starting with '/'")
    path = canonical_path(parts.path or "/")
    if _flag("hash_mode", data.get("hash_mode", False)) and parts.fragment:
        path = f"{path}#{canonical_path(parts.fragment)}"
    domain = data.get("domain")
    if hostname is None and isinstance(domain, str) and domain:
        _no_controls("domain", domain)
        hostname = domain.split(",")[0].strip().lower()  # Plausible allows "a.com,b.com"
    if hostname is not None and len(hostname) > MAX_HOSTNAME:
        raise InvalidEvent(key, "has an over-long host name")
    if hostname is not None and not is_host(hostname):
        field = key if parts.hostname else "domain"
        raise InvalidEvent(field, f"has an invalid host name {hostname!r}")
    return hostname, path, parts.query


def _referrer(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidEvent("referrer", "must be a string")
    if len(value) > MAX_URL:
        raise InvalidEvent("referrer", f"must be at most {MAX_URL} characters")
    return _no_controls("referrer", value)


def _engagement(data: dict[str, Any]) -> tuple[int, int | None]:
    """Plausible's ``e`` (engaged milliseconds) and ``sd`` (scroll depth, percent): numbers,
    the time cut to ``MAX_ENGAGED_MS`` and the depth to 0-100."""
    engaged, depth = data.get("engaged_ms", 0), data.get("scroll_depth")
    if not _is_number(engaged) or engaged < 0:
        raise InvalidEvent("engaged_ms", "must be a number of milliseconds, 0 or more")
    if depth is not None and not _is_number(depth):
        raise InvalidEvent("scroll_depth", "must be a percentage")
    scroll = None if depth is None else min(max(round(depth), 0), 100)
    return min(round(engaged), MAX_ENGAGED_MS), scroll


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _flag(name: str, value: Any) -> bool:
    if value is None:
        return name == "interactive"
    if not isinstance(value, bool | int) or value not in (0, 1):
        raise InvalidEvent(name, "must be true or false")
    return bool(value)


def check_properties(props: Any) -> dict[str, Scalar]:
    """The property rules, for properties changed after validation (by a hook)."""
    return _props(props)


def _props(value: Any) -> dict[str, Scalar]:
    if value is None:
        return {}
    if isinstance(value, str):  # older Plausible trackers send props as a JSON string
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise InvalidEvent("props", "must be an object") from None
    if not isinstance(value, dict):
        raise InvalidEvent("props", "must be an object of scalar values")
    if len(value) > MAX_PROPS:
        raise InvalidEvent("props", f"must have at most {MAX_PROPS} properties")
    props: dict[str, Scalar] = {}
    for key, item in value.items():
        if not key or len(key) > MAX_PROP_KEY:
            raise InvalidEvent("props", f"keys must be 1 to {MAX_PROP_KEY} characters")
        _no_controls("props", key)
        if isinstance(item, str):
            if len(item) > MAX_PROP_VALUE:
                raise InvalidEvent(f"props.{key}", f"must be at most {MAX_PROP_VALUE} characters")
            _no_controls(f"props.{key}", item, _CONTROLS_IN_TEXT)
        elif isinstance(item, float) and not math.isfinite(item):
            raise InvalidEvent(f"props.{key}", "must be a finite number")
        elif item is not None and not isinstance(item, bool | int | float):
            raise InvalidEvent(f"props.{key}", "must be a string, number, boolean or null")
        props[key] = item
    return props
