"""footfall in a Flask application::

    from footfall.integrations.flask import init_app

    init_app(app, analytics, inject_script=True)

and, in a view, ``analytics.track_sync("signup_completed", {"plan": "pro"},
request=flask.request)``.
"""

from __future__ import annotations

import atexit
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from footfall.analytics import Analytics

__all__ = ["init_app"]


def init_app(app: Flask, analytics: Analytics, *, inject_script: bool = False) -> None:
    """Serve footfall's routes at their paths, count each HTML page the app serves (see
    ``footfall.web.wsgi``), and write what is pending when the process exits."""
    app.wsgi_app = analytics.wsgi(app.wsgi_app, inject_script=inject_script)  # type: ignore[method-assign]
    app.extensions["footfall"] = analytics
    atexit.register(analytics.close)
