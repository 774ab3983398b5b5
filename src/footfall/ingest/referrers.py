"""Where a visit came from: the referrer's source and the UTM campaign tags."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, urlsplit

DIRECT = "Direct / None"
"""How queries label events without a referrer source (stored as NULL)."""

UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
_UTM_MAX = 300


@dataclass(frozen=True, slots=True)
class Referrer:
    url: str | None
    """The referring URL without query string and fragment, which may carry personal data."""
    host: str | None
    """Lower-case host with ``www.`` stripped."""


def strip_www(host: str) -> str:
    return host[4:] if host.startswith("www.") else host


@lru_cache(maxsize=8192)
def parse_referrer(referrer: str | None) -> Referrer:
    """Split a Referer value into what we keep; anything unparsable counts as no referrer."""
    if not referrer:
        return Referrer(None, None)
    try:
        parts = urlsplit(referrer.strip())
        host = parts.hostname
    except ValueError:
        return Referrer(None, None)
    if not parts.scheme or not host:
        return Referrer(None, None)
    url = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
    return Referrer(url, strip_www(host.rstrip(".")))


def utm_tags(query: str) -> dict[str, str]:
    """The UTM tags of a page URL's query string; ``ref``/``source`` stand in for a missing
    ``utm_source``, as Plausible and others accept."""
    if not query:
        return {}
    params = dict(parse_qsl(query, keep_blank_values=False))
    tags = {name: params[name][:_UTM_MAX] for name in UTM_FIELDS if params.get(name)}
    if "utm_source" not in tags:
        fallback = params.get("ref") or params.get("source")
        if fallback:
            tags["utm_source"] = fallback[:_UTM_MAX]
    return tags


def referrer_source(referrer: Referrer, page_host: str, utm_source: str | None) -> str | None:
    """``utm_source`` if tagged, else the referrer's host unless it is the site itself."""
    if utm_source:
        return utm_source
    if referrer.host is None or referrer.host == strip_www(page_host):
        return None
    return referrer.host
