"""Where a visit came from: the referrer's source and the UTM campaign tags."""

from __future__ import annotations

import re
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


SOURCE_ALIASES: dict[str, str] = {
    "lnkd.in": "linkedin.com",
    "com.linkedin.android": "linkedin.com",
    "fb.me": "facebook.com",
    "fb.com": "facebook.com",
    "com.facebook.katana": "facebook.com",
    "t.co": "x.com",
    "twitter.com": "x.com",
    "com.twitter.android": "x.com",
    "youtu.be": "youtube.com",
    "com.google.android.youtube": "youtube.com",
    "pin.it": "pinterest.com",
    "com.reddit.frontpage": "reddit.com",
    "com.google.android.googlequicksearchbox": "google.com",
    "com.google.android.gm": "mail.google.com",
}
"""Hosts that are another name of a site people know by one (a link shortener, the app's
referrer): the source they are counted under."""
_SUBDOMAINS_OF = ("linkedin.com", "facebook.com", "instagram.com", "reddit.com", "youtube.com")
"""Sites whose subdomains (``l.facebook.com``, ``old.reddit.com``, ``m.youtube.com``) are
the site itself."""
_GOOGLE_SEARCH = re.compile(r"google\.(?:com?\.)?[a-z]{2,3}")
"""Google search's national hosts (``google.de``, ``google.co.uk``, ``google.com.br``)."""


def source_name(host: str) -> str:
    """The source a referrer host is counted under: the one name of a site that has
    several (``lnkd.in`` and ``linkedin.com``, ``l.facebook.com`` and ``facebook.com``,
    ``t.co`` and ``x.com``, ``google.de`` and ``google.com``), else the host itself."""
    if host in SOURCE_ALIASES:
        return SOURCE_ALIASES[host]
    for site in _SUBDOMAINS_OF:
        if host.endswith("." + site):
            return site
    if _GOOGLE_SEARCH.fullmatch(host):
        return "google.com"
    return host


def referrer_source(referrer: Referrer, page_host: str, utm_source: str | None) -> str | None:
    """``utm_source`` if tagged, else the referrer's source (``source_name``) unless it is
    the site itself."""
    if utm_source:
        return utm_source
    if referrer.host is None or referrer.host == strip_www(page_host):
        return None
    return source_name(referrer.host)
