"""The HTTP server of ``footfall serve``: uvicorn, with the limits a server facing the
internet needs and uvicorn does not set.

uvicorn's httptools protocol buffers a request head without limit or time limit: one client
sending an endless header block grew the process by hundreds of megabytes, and a thousand
idle or trickling connections used up the file descriptors. Here a request head is capped
in bytes and in headers (431), every request must arrive whole within a time limit from its
first byte (408, or the connection closed mid-body), a connection that sends nothing is
closed, and the open connections are capped. Embedded, the host application's server
decides these (docs/security.md says what to set).
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["LimitedHttpProtocol", "raise_file_limit", "server_options"]

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 32 * 1024
"""Request line and headers, in bytes: nginx's default buffers hold the same. A browser's
request head is under 2 KB; footfall's cookie is under 200 bytes."""
MAX_HEADERS = 100
"""Header lines in one request (Apache's ``LimitRequestFields``)."""
REQUEST_SECONDS = 20.0
"""Time from a request's first byte (or the connection's opening) to its last byte. An
event is at most 8 KB: any client that is not stalling sends one in well under a second."""
LINGER_SECONDS = 1.0
"""How long a refused connection's further bytes are read and dropped before it closes."""
MAX_CONNECTIONS = 4000
"""Open connections past which uvicorn answers 503 (``limit_concurrency``); with the
process's file limit raised to at least this (``raise_file_limit``)."""
FILE_LIMIT = 8192
"""The open-files limit ``footfall serve`` asks for, up to the hard limit (many systems
start a process with 1,024)."""


class LimitedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a capped request head and a deadline per request."""

    _head_bytes = 0
    _header_count = 0
    _reading_head = True
    _refused = False
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_deadline()  # a connection that never sends a byte is closed too

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # read and dropped until the connection closes
        # uvicorn's own, but quiet about the requests refused here: an attacker's thousand
        # requests must not become a thousand log lines.
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError:
            if not self._refused:
                self._refuse(400, "Invalid HTTP request")
            return
        if self._reading_head and not self._refused:
            # Counted after parsing: the bytes of a head that is still incomplete, which
            # httptools holds in memory (a chunk that completes the head resets the count).
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse(431, "Request header fields too large")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_head, self._head_bytes, self._header_count = True, 0, 0
        if self._deadline is None:
            self._arm_deadline()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > MAX_HEADERS:
            self._refuse(431, "Too many request header fields")
            raise ValueError("too many headers")  # stops the parser; answered above
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._reading_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm_deadline()
        super().on_message_complete()

    def _arm_deadline(self) -> None:
        self._deadline = self.loop.call_later(REQUEST_SECONDS, self._too_slow)

    def _disarm_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._reading_head:
            self._refuse(408, "Request timeout")
        else:  # mid-body: the application sees the client disconnect
            self.transport.close()

    def _refuse(self, status: int, reason: str) -> None:
        """Answer ``status`` and close: nothing more is read from this connection."""
        self._refused = True
        self._disarm_deadline()
        body = reason.encode("ascii")
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (status, body, len(body), body)
        )
        self.transport.close()


def server_options() -> dict[str, Any]:
    """The uvicorn options that bound what one client can hold."""
    return {
        "http": "footfall.web.server:LimitedHttpProtocol",
        "limit_concurrency": MAX_CONNECTIONS,
        "timeout_keep_alive": 5,
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,  # if uvicorn falls back to h11
    }


def raise_file_limit(wanted: int = FILE_LIMIT) -> int:
    """Raise this process's open-files limit towards ``wanted`` (never above the hard
    limit); returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as error:
            log.warning("could not raise the open-files limit to %d: %s", target, error)
    return soft
