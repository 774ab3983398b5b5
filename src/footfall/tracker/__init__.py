"""The browser tracker as shipped in the package, and the ``<script>`` tag that loads it.

``footfall.js`` (the ``<script>`` build, served at ``{api_base_path}/analytics/script.js``)
and ``footfall.mjs`` (the ES module for bundlers) are built from ``tracker/`` at the top of
the repository by ``tracker/build.py``; both are committed, so installing footfall needs no
Node.js. Templates and the server middleware call :func:`script_tag`::

    script_tag(analytics)                          # the page view is sent by the browser
    script_tag(analytics, initial_pageview=False)  # the server counted it already
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from html import escape
from importlib.resources import files
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from footfall.analytics import Analytics
    from footfall.config import Config

SCRIPT_NAME = "footfall.js"
MODULE_NAME = "footfall.mjs"
LINKS_NAME = "footfall-links.js"
"""Outbound links and file downloads, which ``footfall.js`` loads only when they are on."""
QUEUE_STUB = "window.footfall=window.footfall||{q:[],track:function(){footfall.q.push(arguments)}}"
"""Inline this before the tag (it is loaded with ``defer``) to call ``footfall.track(...)``
right away; the calls are sent once the tracker has run."""


@dataclass(frozen=True, slots=True)
class Asset:
    """One build, read once: served bytes, a gzip-9 copy and the hash naming the version."""

    body: bytes
    gzipped: bytes
    version: str

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


@cache
def asset(name: str = SCRIPT_NAME) -> Asset:
    """The packaged build ``name``; cached, since it only changes with the package."""
    body = (files(__package__) / name).read_bytes()
    version = hashlib.sha256(body).hexdigest()[:16]
    return Asset(body, gzip.compress(body, 9, mtime=0), version)


def script_url(analytics: Analytics | Config, *, base_url: str = "", versioned: bool = True) -> str:
    """The tracker's URL: ``{base_url}{api_base_path}/analytics/script.<hash>.js``, which may
    be cached forever since a new tracker gets a new name; ``versioned=False`` gives the
    stable ``script.js`` (cached for a day). ``base_url`` (``https://stats.example.com``) is
    for a footfall server on another origin than the pages."""
    config = getattr(analytics, "config", analytics)
    name = f"script.{asset().version}.js" if versioned else "script.js"
    return f"{base_url.rstrip('/')}{config.api_base_path}/analytics/{name}"


def script_tag(
    analytics: Analytics | Config,
    *,
    initial_pageview: bool = True,
    base_url: str = "",
    api: str | None = None,
    hash_routing: bool = False,
    outbound_links: bool = False,
    file_downloads: bool = False,
    include_localhost: bool | None = None,
    versioned: bool = True,
) -> str:
    """``<script defer src=...>`` for a page's ``<head>``, options as ``data-*`` attributes.

    ``initial_pageview=False`` is for pages whose view the server already recorded (the
    middleware): the tracker then sends only the page views of later SPA navigations, and
    events. ``api`` sends events to another endpoint than the server the script comes from.
    ``include_localhost`` (by default the configuration's ``development``) also counts
    localhost and automated browsers.
    """
    if include_localhost is None:
        include_localhost = getattr(analytics, "config", analytics).development
    attributes: dict[str, str] = {
        "src": script_url(analytics, base_url=base_url, versioned=versioned)
    }
    if api is not None:
        attributes["data-api"] = api
    flags = {
        "data-hash": hash_routing,
        "data-outbound-links": outbound_links,
        "data-file-downloads": file_downloads,
        "data-include-localhost": include_localhost,
    }
    attributes.update({name: "true" for name, on in flags.items() if on})
    if not initial_pageview:
        attributes["data-initial-pageview"] = "false"
    rendered = "".join(f' {name}="{escape(value)}"' for name, value in attributes.items())
    return f"<script defer{rendered}></script>"


__all__ = [
    "MODULE_NAME",
    "QUEUE_STUB",
    "SCRIPT_NAME",
    "Asset",
    "asset",
    "script_tag",
    "script_url",
]
