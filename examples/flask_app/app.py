"""footfall in a Flask app: its routes served, every HTML page counted, the tracker tag
added, a custom event and the numbers from views.

    FOOTFALL_ADMIN_TOKEN=a-long-random-secret-42 flask --app app run
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from flask import Flask, redirect, render_template_string, request
from werkzeug.wrappers import Response

from footfall import Analytics, Dropped, StoreUnavailable
from footfall.integrations.flask import init_app

analytics = Analytics(
    database_url=os.environ.get("FOOTFALL_DATABASE", "sqlite:///footfall.db"),
    admin_token=os.environ.get("FOOTFALL_ADMIN_TOKEN"),  # opens the dashboard to you
)
app = Flask(__name__)
init_app(app, analytics, inject_script=True)

PAGE = """<!doctype html><html><head><title>{{ title }}</title>
<link rel="stylesheet" href="{{ url_for('static', filename='style.css') }}"></head>
<body><h1>{{ title }}</h1><a href="/">Home</a> <a href="/about">About</a></body></html>"""


@app.get("/")
def home() -> str:
    return render_template_string(PAGE, title="Home")


@app.get("/about")
def about() -> str:
    return render_template_string(PAGE, title="About")


@app.get("/old")
def old() -> Response:
    return redirect("/about")


@app.get("/boom")
def boom() -> str:
    raise RuntimeError("a failing page is not a page view")


@app.post("/signup")
def signup() -> dict[str, bool]:
    # A bot or a database outage must not fail the signup.
    with contextlib.suppress(Dropped, StoreUnavailable):
        analytics.track_sync("signup_completed", {"plan": "pro"}, request=request)
    return {"ok": True}


@app.get("/stats")
def stats() -> dict[str, Any]:
    """Protect such a view in a real app: the numbers are yours."""
    return analytics.api.get_dashboard_stats_sync(range="today").to_dict()
