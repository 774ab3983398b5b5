"""Run an example application as a real server process on 127.0.0.1 with a temporary SQLite
database, and check what a visitor's requests leave in that database."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from conftest import BROWSER_UA, free_port

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TOKEN = "example-admin-token"
DEADLINE = 15.0
"""Seconds a condition may take (a server start, an after-response write) before failing."""
TAG = re.compile(
    r'<script defer src="(/api/data/analytics/script\.[0-9a-f]+\.js)" '
    r'data-initial-pageview="false"></script>\s*</head>',
    re.IGNORECASE,
)


@dataclass
class Example:
    url: str
    database_url: str
    process: subprocess.Popen[bytes]
    log: Path
    client: httpx.Client

    def stop(self) -> None:
        """Stop as an operator would (Ctrl-C): the server shuts down gracefully, and footfall
        writes what is pending before the process ends."""
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(DEADLINE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(DEADLINE)
                raise AssertionError(f"the example did not stop:\n{self.output()}") from None

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@contextmanager
def run_example(
    directory: str,
    command: list[str],
    tmp_path: Path,
    *,
    port: int | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[Example]:
    """Start ``command`` (``{port}`` is replaced) in ``examples/<directory>``."""
    port = port or free_port()
    database_url = f"sqlite:///{tmp_path / 'footfall.db'}"
    env = {
        **os.environ,
        "FOOTFALL_DATABASE": database_url,
        "FOOTFALL_ADMIN_TOKEN": TOKEN,
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    log = tmp_path / "server.log"
    argv = [sys.executable, *(part.replace("{port}", str(port)) for part in command)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv,
            cwd=EXAMPLES / directory,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_default_sigint,
        )
    url = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=url, timeout=DEADLINE, headers={"User-Agent": BROWSER_UA})
    example = Example(url, database_url, process, log, client)
    try:
        wait_until(lambda: _accepts(port), f"{directory} to listen", example)
        yield example
    finally:
        example.stop()


def _default_sigint() -> None:
    """Give the server Ctrl-C back. A shell that runs the suite in the background (``cmd &``)
    ignores SIGINT, children inherit that, and Python then never raises KeyboardInterrupt:
    Flask's and Django's development servers would ignore the stop()."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until(condition: Callable[[], bool], what: str, example: Example | None = None) -> None:
    """Poll ``condition`` until it holds, failing at the deadline: a bounded wait for
    something another process does, never a sleep standing in for it."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if example is not None and example.process.poll() is not None:
            raise AssertionError(
                f"the example exited while waiting for {what}:\n{example.output()}"
            )
        if time.monotonic() > deadline:
            output = example.output() if example is not None else ""
            raise AssertionError(f"timed out waiting for {what}\n{output}")
        time.sleep(0.05)


def wait_for(read: Callable[[], Any], expected: Any, what: str, example: Example) -> None:
    """``wait_until`` the value read equals ``expected``; a failure shows the last value."""
    seen: list[Any] = []

    def matches() -> bool:
        seen.append(read())
        return bool(seen[-1] == expected)

    try:
        wait_until(matches, what, example)
    except AssertionError as error:
        raise AssertionError(f"{what}: {seen[-1]!r} != {expected!r}\n{error}") from None


def query(database_url: str, sql: str) -> list[Any]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql))]
    except sa.exc.OperationalError:  # the example has not created its tables yet
        return []
    finally:
        engine.dispose()


def page_views(database_url: str) -> list[str]:
    return sorted(row[0] for row in query(database_url, "SELECT path FROM page_view"))


def custom_events(database_url: str) -> list[tuple[str, str, dict[str, Any]]]:
    rows = query(database_url, "SELECT name, path, properties FROM custom_event")
    return sorted((name, path, json.loads(props or "{}")) for name, path, props in rows)


def exercise(example: Example, *, signups: dict[str, dict[str, str]]) -> None:
    """What every framework's example must do: one page view per page load and none for
    anything else, the tracker tag in the page, events from views, numbers that match."""
    http, db = example.client, example.database_url

    home = http.get("/")
    assert home.status_code == 200, example.output()
    tag = TAG.search(home.text)  # the server counted this load; the tracker will not
    assert tag, home.text
    script = http.get(tag.group(1))  # the tag points at the tracker, served by the app
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert home.text.count("<script") == 1
    if "content-length" in home.headers:
        assert int(home.headers["content-length"]) == len(home.content)
    assert http.get("/about").status_code == 200

    # Nothing else is a page view.
    assert http.get("/static/style.css").status_code == 200
    assert http.get("/old").status_code in (301, 302, 303, 307, 308)
    assert http.get("/no-such-page").status_code == 404
    # (On a connection of its own: a server may close the one an exception went through.)
    assert http.get("/boom", headers={"Connection": "close"}).status_code == 500
    assert http.head("/").status_code < 500
    assert http.get("/", headers={"Sec-Purpose": "prefetch"}).status_code == 200
    assert http.get("/", headers={"Purpose": "prefetch"}).status_code == 200
    bot = {"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}
    assert http.get("/about", headers=bot).status_code == 200
    assert http.get("/api/data/analytics/health").status_code == 200
    auth = {"Authorization": f"Bearer {TOKEN}"}
    dashboard = http.get("/pages/analytics", headers=auth)
    assert dashboard.status_code == 200 and "text/html" in dashboard.headers["content-type"]
    assert "data-initial-pageview" not in dashboard.text  # footfall's own page is left alone
    assert http.get("/pages/analytics").status_code == 403
    # The ingestion endpoint, served from the app, still works (the tracker's path).
    beacon = {"n": "Outbound Link: Click", "u": f"{example.url}/about", "p": {"url": "x"}}
    assert http.post("/api/data/analytics/event", json=beacon).status_code == 202

    for path in signups:
        assert http.post(path).status_code == 200, example.output()
    expected_events = sorted(
        [("Outbound Link: Click", "/about", {"url": "x"})]
        + [("signup_completed", path, props) for path, props in signups.items()]
    )
    wait_for(lambda: page_views(db), ["/", "/about"], "the page views", example)
    wait_for(lambda: custom_events(db), expected_events, "the custom events", example)

    stats = http.get("/stats")
    assert stats.status_code == 200
    numbers = stats.json()
    assert numbers["pageviews"]["value"] == 2
    assert numbers["visitors"]["value"] == 1
    assert numbers["visits"]["value"] == 1
    api = http.get("/api/data/analytics/stats?range=today", headers=auth).json()
    assert api["pageviews"] == numbers["pageviews"]

    # Whatever was still on its way is written by the shutdown: the counts stay exact.
    example.stop()
    assert page_views(db) == ["/", "/about"], example.output()
    assert custom_events(db) == expected_events
