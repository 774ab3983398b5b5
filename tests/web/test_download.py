"""Stalled CSV downloads: clients that start ``export.csv`` and stop reading must not hold
the database's connections (16 of them used to take every pooled connection, and events
then failed). A real server, raw sockets that read nothing, 50,000 stored events."""

from __future__ import annotations

import socket
import time

import pytest
import sqlalchemy as sa

from footfall.web import download

TOKEN = "the-admin-token-for-downloads"
EXPORT = "/api/data/analytics/export.csv?range=today"
ROWS = 50_000


@pytest.fixture
def server(serve, make_analytics, sqlite_url, monkeypatch):
    monkeypatch.setattr(download, "SEND_SECONDS", 1.0)
    running = serve(make_analytics(sqlite_url, admin_token=TOKEN))
    assert running.event({"url": "https://example.com/"}).status_code == 202
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:  # about 25 MB of CSV: more than the sockets' buffers hold
        columns = [c for c in sa.inspect(conn).get_columns("page_view") if c["name"] != "id"]
        names = ", ".join(c["name"] for c in columns)
        copied = ", ".join(
            "path || printf('/%0300d', n)" if c["name"] == "path" else c["name"] for c in columns
        )
        conn.execute(
            sa.text(
                f"WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < "
                f"{ROWS - 1}) INSERT INTO page_view ({names}) SELECT {copied} FROM page_view, k"
            )
        )
    engine.dispose()
    return running


def start_download(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a client that reads nothing
    sock.settimeout(30)
    sock.connect((host, int(port)))
    sock.sendall(
        f"GET {EXPORT} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()
    )
    return sock


def status(sock: socket.socket) -> int:
    return int(sock.recv(12).split()[1])


def rest(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(1 << 20):
        received += chunk
    return received


def abandoned(caplog: pytest.LogCaptureFixture) -> int:
    return sum("a download stalled" in r.getMessage() for r in caplog.records)


def test_stalled_downloads_let_go_of_their_connections(server, caplog):
    stalled = [start_download(server.url) for _ in range(16)]
    try:
        statuses = [status(sock) for sock in stalled]
        assert sorted(statuses) == [200] * download.DOWNLOADS_AT_ONCE + [429] * (
            16 - download.DOWNLOADS_AT_ONCE
        )
        # Events are taken while they stall.
        for i in range(20):
            assert server.event({"url": f"https://example.com/{i}"}).status_code == 202
        # Each stalled download is abandoned (a bounded wait for the server to say so),
        # its database connection returned while its client still holds the socket.
        deadline = time.monotonic() + 120
        while abandoned(caplog) < download.DOWNLOADS_AT_ONCE:
            assert time.monotonic() < deadline, f"{abandoned(caplog)} abandoned"
            time.sleep(0.05)
        assert server.analytics.store.engine.pool.checkedout() == 0
        # Its connection ends before the file does.
        for sock, code in zip(stalled, statuses, strict=True):
            if code == 200:
                assert len(rest(sock)) < ROWS * 300
    finally:
        for sock in stalled:
            sock.close()
    whole = server.client.get(EXPORT, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    assert whole.status_code == 200
    assert whole.text.count("\n") == 1 + ROWS + 20  # the header, the events, the new ones
    assert server.analytics.store.engine.pool.checkedout() == 0
