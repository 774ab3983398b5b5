"""Each example application, started as a real server process (uvicorn for ASGI, Flask's
and Django's development servers for WSGI), visited with httpx, its database read back."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from integrations.harness import (
    DEADLINE,
    EXAMPLES,
    TOKEN,
    custom_events,
    exercise,
    page_views,
    run_example,
    wait_until,
)

UVICORN = ["-m", "uvicorn", "--host", "127.0.0.1", "--port", "{port}", "--no-access-log"]
PRO = {"plan": "pro"}


def test_fastapi_example(tmp_path: Path) -> None:
    with run_example("fastapi_app", [*UVICORN, "app:app"], tmp_path) as example:
        # FastAPI's own OpenAPI is untouched by the mount and lists only the app's routes.
        spec = example.client.get("/openapi.json").json()
        assert set(spec["paths"]) == {"/", "/about", "/old", "/boom", "/signup", "/stats"}
        exercise(example, signups={"/signup": PRO})


def test_starlette_example(tmp_path: Path) -> None:
    with run_example("starlette_app", [*UVICORN, "app:app"], tmp_path) as example:
        exercise(example, signups={"/signup": PRO})


def test_flask_example(tmp_path: Path) -> None:
    command = ["-m", "flask", "--app", "app", "run", "--port", "{port}", "--no-reload"]
    with run_example("flask_app", command, tmp_path) as example:
        exercise(example, signups={"/signup": PRO})


def test_django_example_under_wsgi(tmp_path: Path) -> None:
    command = ["manage.py", "runserver", "127.0.0.1:{port}", "--noreload", "--skip-checks"]
    with run_example("django_app", command, tmp_path) as example:
        exercise(example, signups={"/signup": PRO, "/signup-async": {"plan": "team"}})


def test_django_example_under_asgi(tmp_path: Path) -> None:
    command = [*UVICORN, "mysite.asgi:application"]
    with run_example("django_app", command, tmp_path) as example:
        exercise(example, signups={"/signup": PRO, "/signup-async": {"plan": "team"}})


def test_django_example_wrapped_in_the_asgi_middleware(tmp_path: Path) -> None:
    """``analytics.middleware(get_asgi_application())``: the page is counted (and tagged)
    once, though the Django middleware is installed too."""
    command = [*UVICORN, "django_wrapped_asgi:application"]
    env = {"PYTHONPATH": str(Path(__file__).parent)}
    with run_example("django_app", command, tmp_path, env=env) as example:
        exercise(example, signups={"/signup": PRO})


@pytest.mark.parametrize(
    ("directory", "command"),
    [
        ("flask_app", ["-m", "flask", "--app", "app", "run", "--port", "{port}", "--no-reload"]),
        ("django_app", ["manage.py", "runserver", "127.0.0.1:{port}", "--noreload"]),
        ("django_app", [*UVICORN, "mysite.asgi:application"]),
    ],
)
def test_realtime_stream_does_not_hold_a_thread_per_server(
    tmp_path: Path, directory: str, command: list[str]
) -> None:
    """Behind a thread-per-request server, the dashboard's event stream answers one count
    and ends (the browser reconnects), so an open dashboard holds no worker."""
    with run_example(directory, command, tmp_path) as example:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        deadline = time.monotonic() + DEADLINE
        body = b""
        with example.client.stream("GET", "/pages/analytics/realtime", headers=auth) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            for chunk in response.iter_bytes():  # keep-alives come every 2 s at most
                body += chunk
                assert time.monotonic() < deadline, f"the stream did not end: {body!r}"
        text = body.decode()
        assert text.startswith("retry: 3000")
        assert re.search(r'event: realtime\ndata: \{"visitors": 0\}', text)
        assert example.client.get("/pages/analytics/realtime").status_code == 403


def test_static_site_with_a_standalone_server(tmp_path: Path) -> None:
    """The pages point at footfall's script on the server, and what the tracker sends from
    them (cross-origin, as sendBeacon does) lands in its database."""
    site = "http://localhost:8080"
    for page in ("index.html", "about.html"):
        html = (EXAMPLES / "static_site" / page).read_text()
        tags = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", html)
        assert tags == ["http://localhost:8000/api/data/analytics/script.js"]
    command = [
        "-c",
        "from footfall.cli import main; main()",
        "serve",
        "--port",
        "{port}",
        "--admin-token",
        TOKEN,
    ]
    command += ["--database", f"sqlite:///{tmp_path / 'footfall.db'}", "--log-level", "warning"]
    with run_example("static_site", command, tmp_path) as server:
        beacon = {"Origin": site, "Content-Type": "text/plain"}
        for page in ("/", "/about.html"):
            body = f'{{"n":"pageview","u":"{site}{page}","r":null}}'
            response = server.client.post("/api/data/analytics/event", content=body, headers=beacon)
            # 202 and no X-Footfall-Dropped: stored, not filtered (an httpx response is
            # always truthy, whatever its status).
            assert response.status_code == 202, response.text
            assert "x-footfall-dropped" not in response.headers
            assert response.content == b""
        click = '{"n":"signup_completed","u":"http://localhost:8080/","p":{"plan":"pro"}}'
        response = server.client.post("/api/data/analytics/event", content=click, headers=beacon)
        assert response.status_code == 202, response.text
        assert "x-footfall-dropped" not in response.headers
        assert response.headers["access-control-allow-origin"] == "*"
        db = server.database_url
        wait_until(lambda: page_views(db) == ["/", "/about.html"], "the page views", server)
        assert custom_events(db) == [("signup_completed", "/", PRO)]
        stats = server.client.get(
            "/api/data/analytics/stats?range=today", headers={"Authorization": f"Bearer {TOKEN}"}
        ).json()
        assert stats["pageviews"]["value"] == 2
        script = server.client.get("/api/data/analytics/script.js")
        assert script.status_code == 200
        assert "javascript" in script.headers["content-type"]
