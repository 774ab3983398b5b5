"""Embedded, a database that is down when the application starts does not take the
application down: footfall answers events 503 and opens the database once it is back."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from conftest import BROWSER_UA, empty_database, free_port
from footfall import Analytics

pytestmark = pytest.mark.anyio


class Forwarder:
    """A TCP port that refuses connections until ``start()``, then forwards them to the
    real PostgreSQL server: a database that comes back."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)

        async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(copy(reader, upstream_writer), copy(upstream_reader, writer))

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


async def test_the_app_starts_with_its_database_down_and_recovers(tmp_path, caplog):
    with empty_database("postgresql", tmp_path) as url:
        forwarder = Forwarder(("127.0.0.1", 5432))
        down_url = url.replace("127.0.0.1:5432", f"127.0.0.1:{forwarder.port}")
        assert down_url != url
        analytics = Analytics(database_url=down_url, admin_token="an-admin-token-for-tests")

        async def home(request):
            return PlainTextResponse("the host application")

        app = Starlette(routes=[Route("/", home), Mount("/", analytics.app)])
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 4000))
        event = {"url": "https://example.com/", "name": "pageview"}
        headers = {"User-Agent": BROWSER_UA}
        caplog.set_level(logging.WARNING, logger="footfall")
        try:
            # The host's lifespan: entering does not raise.
            async with (
                analytics,
                httpx.AsyncClient(transport=transport, base_url="http://t") as client,
            ):
                assert (await client.get("/")).text == "the host application"
                down = await client.post("/api/event", json=event, headers=headers)
                assert down.status_code == 503, down.text
                await forwarder.start()  # the database is back
                up = await client.post("/api/event", json=event, headers=headers)
                assert up.status_code == 202, up.text
                stats = await analytics.api.get_dashboard_stats(range="today")
                assert stats.pageviews.value == 1
        finally:
            analytics.close()
            await forwarder.stop()
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("cannot reach its database" in r.getMessage() for r in logged), caplog.text
    assert not [r for r in caplog.records if r.exc_info], "no traceback for an outage"
