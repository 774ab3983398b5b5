"""Turn a User-Agent string into the few coarse fields a dashboard shows.

Only the browser, the OS, their major versions and a device class are kept: enough to
answer "what do my visitors use?" and too coarse to fingerprint anyone. The raw string is
never stored (docs/privacy.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import ua_parser

MAX_USER_AGENT_LENGTH: Final = 2048
"""Longer strings are cut before parsing and caching: no browser sends that much, and an
unbounded key would let one client fill the cache with megabytes."""

PARSER: Final = ua_parser.Parser(
    ua_parser.CachingResolver(
        ua_parser.BestAvailableResolver(ua_parser.load_lazy_builtins()),
        ua_parser.Cache(2048),
    )
)
"""The ua-parser instance shared by this module and :mod:`footfall.ingest.bots`.

``BestAvailableResolver`` is the Rust back-end (``ua-parser-rs``, pulled in by the
``ua-parser[regex]`` dependency) and falls back to pure Python if it is missing. The small
resolver cache lets the bot check (device domain) and :func:`parse_user_agent` (all
domains) share one parse of a new User-Agent; our own ``lru_cache`` sits in front.
"""

_BROWSER_NAMES: Final[dict[str, str | None]] = {
    # ua-parser tells platforms apart in the family; a dashboard wants the product.
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Chrome Mobile WebView": "Android WebView",
    "Mobile Safari": "Safari",
    "Mobile Safari UI/WKWebView": "iOS WebView",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Edge Mobile": "Edge",
    "Opera Mobile": "Opera",
    "DuckDuckGo Mobile": "DuckDuckGo",
    "IE": "Internet Explorer",
    "IE Mobile": "Internet Explorer",
    "Google": "Google App",
    "MiuiBrowser": "MIUI Browser",
    "Other": None,
}

_OS_NAMES: Final[dict[str, str | None]] = {
    "Mac OS X": "macOS",
    "Web0S": "webOS",
    "Other": None,
}

_PRODUCT_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9 .+!_-]{0,39}")
"""What a browser's name looks like. Rules of ua-parser that copy a token of the string
(apps on Apple's network library, CFNetwork) would otherwise store whatever a sender put
there, an e-mail address included."""
_APPLE_APP: Final = "CFNetwork/"
APPLE_APP: Final = "Apple app"
"""The browser of a request from an app on Apple's network library (CFNetwork)."""


def _first_token(user_agent: str) -> str:
    return user_agent.split("/", 1)[0]


# "Tablet PC 2.0" is a desktop Windows component token in old IE strings, not a tablet.
_TABLET_TOKEN: Final = re.compile(r"Tablet(?! PC)")


@dataclass(frozen=True, slots=True)
class Client:
    """What a visitor's User-Agent says about their software and device class."""

    browser: str | None
    browser_version: str | None
    os: str | None
    os_version: str | None
    device: str
    """``"desktop"``, ``"mobile"`` or ``"tablet"``."""


def parse_user_agent(user_agent: str) -> Client:
    """Parse ``user_agent`` into a :class:`Client`; unknown parts are ``None``.

    Results are cached per string (bounded), since a site sees the same few hundred
    User-Agents over and over.
    """
    return _parse(user_agent[:MAX_USER_AGENT_LENGTH])


@lru_cache(maxsize=8192)
def _parse(user_agent: str) -> Client:
    result = PARSER.parse(user_agent)
    browser = browser_version = os = os_version = None
    if result.user_agent is not None:
        family = result.user_agent.family
        browser = _BROWSER_NAMES.get(family, family)
        if _APPLE_APP in user_agent and family == _first_token(user_agent):
            browser = APPLE_APP  # the app's own name, which may be anything its maker chose
        elif browser is not None and not _PRODUCT_NAME.fullmatch(browser):
            browser = None  # text copied from the string, not a product's name
        if browser not in (None, APPLE_APP):
            browser_version = result.user_agent.major or None
    if result.os is not None:
        family = result.os.family
        os = _OS_NAMES.get(family, family)
        if os is not None:
            os_version = _os_version(os, result.os.major, result.os.minor)
    device_family = result.device.family if result.device is not None else ""
    return Client(
        browser=browser,
        browser_version=browser_version,
        os=os,
        os_version=os_version,
        device=_device_type(user_agent, device_family),
    )


def _os_version(os: str, major: str | None, minor: str | None) -> str | None:
    """Major version only, except where the major alone says nothing.

    macOS 10.x spans 15 releases (and every Mac since Catalina reports a frozen "10.15"),
    so "10" alone is useless; Windows 8.1 is its own release, not 8.
    """
    if not major:
        return None
    if minor and ((os == "macOS" and major == "10") or (os == "Windows" and major == "8")):
        return f"{major}.{minor}"
    return major


def _device_type(user_agent: str, device_family: str) -> str:
    """Classify as ``"tablet"``, ``"mobile"`` or ``"desktop"``.

    Rules, in order:

    - tablet: ua-parser says iPad or Kindle, the string has a ``Tablet`` token (Firefox
      for Android tablets), or ``Silk/`` (Amazon Fire tablets). Checked first because
      iPad strings also contain ``Mobile/``.
    - mobile: the string contains ``Mobi``, which is MDN's recommended test and covers
      ``Mobile`` and ``Opera Mobi``; or ua-parser says iPhone/iPod or a generic smartphone;
      or it is Opera Mini.
    - tablet: any other Android. Google asks Android tablets to omit ``Mobile`` and phones
      to include it, so Android without it is a tablet.
    - desktop: everything else, including iPadOS 13+ Safari, which asks for desktop sites
      with a Mac User-Agent that nothing in the string tells from a real Mac.
    """
    if (
        device_family in ("iPad", "Kindle", "Generic Tablet")
        or _TABLET_TOKEN.search(user_agent)
        or "Silk/" in user_agent
    ):
        return "tablet"
    if (
        "Mobi" in user_agent
        or device_family in ("iPhone", "iPod", "Generic Smartphone")
        or "Opera Mini" in user_agent
    ):
        return "mobile"
    if "Android" in user_agent:
        return "tablet"
    return "desktop"
