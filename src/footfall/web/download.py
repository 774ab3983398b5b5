"""A streamed download that lets go of its database connection when the client stops.

Starlette's ``StreamingResponse`` runs a synchronous generator in the thread pool and waits
for the client as long as it takes: 16 clients that started ``export.csv`` and stopped
reading held every pooled connection (until the garbage collector happened to close their
generators), and event ingestion waited for a connection and failed. Here a download that
cannot hand its next chunk to the client within ``SEND_SECONDS`` is abandoned, one whose
client went away stops at once, and either way the generator is closed on the spot, which
returns its connection. Downloads at once are capped too: each holds a connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from starlette.types import Receive, Scope, Send

__all__ = ["DOWNLOADS_AT_ONCE", "SEND_SECONDS", "Download", "Slots"]

log = logging.getLogger(__name__)

SEND_SECONDS = 30.0
"""Longest wait for the client to take one chunk (about 64 KB) before the download is
abandoned."""
DOWNLOADS_AT_ONCE = 4
"""Downloads streaming at the same time from one route of one process; more are answered
429. The pool has 15 connections, and ingestion needs some."""


@dataclass
class Slots:
    """How many downloads of one route may stream at once, and how many do."""

    limit: int = DOWNLOADS_AT_ONCE
    taken: int = 0


class Download:
    """An ASGI response streaming ``chunks`` (a generator that holds a database connection
    until closed) with ``headers``, in one of ``slots``."""

    def __init__(self, chunks: Iterator[bytes], headers: dict[str, str], slots: Slots) -> None:
        self.chunks = chunks
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        self.slots = slots
        self._next: asyncio.Future[bytes | None] | None = None  # a chunk being made

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.slots.taken >= self.slots.limit:
            await asyncio.to_thread(self._close)
            await _busy(send)
            return
        self.slots.taken += 1
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.headers})
            streaming = asyncio.create_task(self._stream(send))
            gone = asyncio.create_task(_disconnected(receive))
            done, _ = await asyncio.wait({streaming, gone}, return_when=asyncio.FIRST_COMPLETED)
            for task in (streaming, gone):
                task.cancel()
            await asyncio.gather(streaming, gone, return_exceptions=True)
            if streaming in done and not streaming.cancelled():
                streaming.result()  # a failure of the query itself is the server's error
        finally:
            self.slots.taken -= 1
            if self._next is not None:  # a thread is still in the generator: let it finish
                await asyncio.wait({self._next})
            await asyncio.to_thread(self._close)

    async def _stream(self, send: Send) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._next = loop.run_in_executor(None, next, self.chunks, None)
            chunk = await self._next
            self._next = None
            if chunk is None:
                break
            try:
                await asyncio.wait_for(
                    send({"type": "http.response.body", "body": chunk, "more_body": True}),
                    SEND_SECONDS,
                )
            except TimeoutError:
                log.warning("a download stalled for %.0f s; abandoned", SEND_SECONDS)
                return  # unfinished: the server closes the connection
            except OSError:  # the client went away (uvicorn's ClientDisconnected)
                return
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _close(self) -> None:
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _busy(send: Send) -> None:
    body = b'{"error": "too many downloads at once; retry in a minute"}'
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"60"),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
