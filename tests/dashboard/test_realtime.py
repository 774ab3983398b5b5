"""The live visitor count over Server-Sent Events, across worker processes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx

TOKEN = "realtime-admin-token"


def next_count(lines: Iterator[str]) -> int:
    """The next realtime count on the stream (each line is awaited from the server: no
    sleeping here; keep-alive comments in between are skipped)."""
    for line in lines:
        if line.startswith("data: "):
            return int(json.loads(line[6:])["visitors"])
    raise AssertionError("the stream ended")


def test_an_event_taken_by_another_worker_raises_the_count(serve, make_analytics, sqlite_url):
    """Two servers on one database stand for two worker processes: the stream opened on
    the first sees the event the second stored."""
    first = serve(make_analytics(sqlite_url, admin_token=TOKEN, clock=_now))
    second = serve(
        make_analytics(sqlite_url, admin_token=TOKEN, clock=_now, trusted_proxies=["127.0.0.1"])
    )
    assert second.event({"url": "https://example.com/"}, ip="198.51.100.1").status_code == 202
    headers = {"Authorization": f"Bearer {TOKEN}"}
    timeout = httpx.Timeout(15.0)
    with httpx.stream(
        "GET", f"{first.url}/pages/analytics/realtime", headers=headers, timeout=timeout
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        assert next_count(lines) == 1
        posted = second.event({"url": "https://example.com/x"}, ip="198.51.101.1")
        assert posted.status_code == 202
        assert next_count(lines) == 2  # sent only when the count changes


def test_the_stream_needs_authorisation(serve, make_analytics, sqlite_url):
    server = serve(make_analytics(sqlite_url, admin_token=TOKEN))
    assert server.client.get("/pages/analytics/realtime").status_code == 403


def _now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.now(UTC)
