"""Template helpers: print the badge's compact count ("1.2k") server-side, in the page itself.

Rendering the number into the HTML needs no request from the reader's browser and no
JavaScript, and it shows the same figure as the SVG badge because both use
:func:`footfall.web.badge.compact_number`.

Jinja2 (Flask, Starlette, FastAPI)::

    from footfall.web.templating import install_jinja2
    install_jinja2(templates.env, analytics)      # then: {{ footfall_count(request.url.path) }}

Django (no templatetag module ships yet): register the helper as a ``simple_tag`` in one of
your apps, e.g. ``yourapp/templatetags/footfall.py``::

    from django import template
    from footfall.web.templating import footfall_count as count
    from yourproject.analytics import analytics

    register = template.Library()

    @register.simple_tag(name="footfall_count")
    def footfall_count(path, metric="pageviews"):
        return count(analytics, path, metric)

and use ``{% load footfall %}{% footfall_count request.path %} views``.

Both calls are synchronous and query the database while the template renders; put a cache in
front of the page if it is hot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from footfall.web.badge import BADGE_METRICS, compact_number

if TYPE_CHECKING:  # jinja2 is optional: never imported at run time
    from jinja2 import Environment

__all__ = ["footfall_count", "install_jinja2"]


def footfall_count(analytics: Any, path: str, metric: str = "pageviews") -> str:
    """All-time ``metric`` ("pageviews" or "visitors") of ``path``, formatted like the badge.

    ``analytics`` is a :class:`footfall.Analytics` (typed loosely: only its
    ``api.get_page_stats_sync`` is used). The metric is checked before any query is made.
    """
    if metric not in BADGE_METRICS:
        known = ", ".join(sorted(BADGE_METRICS))
        raise ValueError(f"unknown metric {metric!r}; expected one of: {known}")
    stats = analytics.api.get_page_stats_sync(path=path, range="all")
    return compact_number(getattr(stats, metric))


def install_jinja2(environment: Environment, analytics: Any) -> None:
    """Register the global ``footfall_count(path, metric="pageviews")`` in ``environment``.

    The global is bound to ``analytics`` so templates never see (or need) the object itself.
    """

    def _footfall_count(path: str, metric: str = "pageviews") -> str:
        return footfall_count(analytics, path, metric)

    environment.globals["footfall_count"] = _footfall_count
