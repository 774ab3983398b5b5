"""What one client can hold of ``footfall serve``: the head of a request is capped in bytes
and in lines, a request must arrive whole within a time limit, and the rest keep being
served. Raw sockets against a real uvicorn running footfall's protocol."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from footfall.web import server as limits
from footfall.web.ingest import read_headers

HEALTH = "/api/data/analytics/health"


@pytest.fixture
def address(make_analytics, sqlite_url, monkeypatch) -> Iterator[tuple[str, int]]:
    monkeypatch.setattr(limits, "REQUEST_SECONDS", 1.0)  # read when a timer is armed
    analytics = make_analytics(sqlite_url)
    config = uvicorn.Config(
        analytics.app, host="127.0.0.1", port=0, log_level="warning", **limits.server_options()
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:  # a bounded wait for the server's own flag
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    yield server.servers[0].sockets[0].getsockname()[:2]
    server.should_exit = True
    thread.join(10)


def connect(address: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(address, timeout=10)
    return sock


def answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def send_until_refused(sock: socket.socket, data: bytes, chunk: int = 16384) -> int:
    """Send ``data`` in pieces; how many bytes went before the server shut the door."""
    sent = 0
    try:
        for start in range(0, len(data), chunk):
            sock.sendall(data[start : start + chunk])
            sent += chunk
    except (BrokenPipeError, ConnectionResetError):
        pass
    return sent


def healthy(address: tuple[str, int]) -> bool:
    response = httpx.get(f"http://{address[0]}:{address[1]}{HEALTH}", timeout=5)
    return response.status_code == 200


def test_an_endless_header_is_refused_at_the_cap(address):
    with connect(address) as sock:
        head = b"POST /api/data/analytics/event HTTP/1.1\r\nHost: example.com\r\nX-Pad: "
        sent = send_until_refused(sock, head + b"a" * (64 * 2**20))
        status = answer(sock).split(b"\r\n", 1)[0]
    assert status == b"HTTP/1.1 431 Request header fields too large"
    # Refused long before the 64 MB were through (the sockets' buffers held some MB).
    assert sent < 16 * 2**20
    assert healthy(address)


def test_too_many_header_lines_are_refused(address):
    lines = b"".join(b"X-Forwarded-For: 10.0.0.%d\r\n" % (i % 250) for i in range(150))
    with connect(address) as sock:
        sock.sendall(b"GET " + HEALTH.encode() + b" HTTP/1.1\r\nHost: x\r\n" + lines + b"\r\n")
        status = answer(sock).split(b"\r\n", 1)[0]
    assert status == b"HTTP/1.1 431 Too many request header fields"
    assert healthy(address)


def test_a_request_under_the_caps_in_many_pieces_is_served(address):
    lines = b"".join(b"X-Extra-%d: %s\r\n" % (i, b"v" * 200) for i in range(limits.MAX_HEADERS - 2))
    request = b"GET " + HEALTH.encode() + b" HTTP/1.1\r\nHost: x\r\n" + lines + b"\r\n"
    assert len(request) < limits.MAX_HEAD_BYTES
    with connect(address) as sock:
        for _ in range(3):  # keep-alive: the count starts again at each request
            for start in range(0, len(request), 1000):
                sock.sendall(request[start : start + 1000])
            reply = sock.recv(65536)
            assert reply.startswith(b"HTTP/1.1 200 OK"), reply[:200]


def test_a_head_that_trickles_in_or_never_comes_is_timed_out(address):
    with connect(address) as idle, connect(address) as trickle:
        trickle.sendall(b"GET " + HEALTH.encode() + b" HTTP/1.1\r\n")
        trickle.sendall(b"Host: x\r\n")
        assert answer(trickle).startswith(b"HTTP/1.1 408 Request timeout")
        assert answer(idle).startswith(b"HTTP/1.1 408 Request timeout")
    assert healthy(address)


def test_a_body_that_stalls_is_cut_off_and_nothing_half_stored(address, sqlite_url):
    from conftest import BROWSER_UA, count_rows

    body = b'{"url": "https://example.com/stalled"}'
    with connect(address) as sock:
        sock.sendall(
            b"POST /api/data/analytics/event HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nUser-Agent: " + BROWSER_UA.encode() + b"\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body[:10]
        )
        assert answer(sock) == b""  # closed, unanswered
    assert healthy(address)
    assert count_rows(sqlite_url, "page_view") == 0


def test_repeated_headers_are_joined_in_order():
    scope = {"headers": [(b"x-forwarded-for", b"10.0.0.%d" % i) for i in range(5000)]}
    scope["headers"].append((b"user-agent", b"UA"))
    headers = read_headers(scope)
    assert headers["x-forwarded-for"] == ", ".join(f"10.0.0.{i}" for i in range(5000))
    assert headers["user-agent"] == "UA"


def test_serve_raises_its_open_files_limit():
    """Many systems start a process with 1,024 files; a thousand connections used them up."""
    code = "from footfall.web.server import raise_file_limit; print(raise_file_limit(2000))"

    def low_limit() -> None:
        import resource

        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))

    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=low_limit,
    )
    assert done.returncode == 0, done.stderr
    hard = int(subprocess.run(["sh", "-c", "ulimit -Hn"], capture_output=True, text=True).stdout)
    assert int(done.stdout) == min(2000, hard)
