"""Denial-of-service cases of the penetration test, replayed against ``footfall serve``:
how the server held up (its memory, and the latency of /health while under attack, beside
the same latency with no attack, in the same run).

    .venv/bin/python bench/attack.py [--connections 1100] [--seconds 25]

Cases: endless request heads (3 connections offering 100 MB each), one request of 160,000
short headers, slow heads (a byte a second), idle connections, slow bodies. Only
127.0.0.1, bounded in count and time.
"""

from __future__ import annotations

import argparse
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

HEALTH = "/api/data/analytics/health"
EVENT = "/api/data/analytics/event"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Probe(threading.Thread):
    """/health every 100 ms (answers over 5 s count as refused) and the peak memory."""

    def __init__(self, base: str, pid: int) -> None:
        super().__init__(daemon=True)
        self.base, self.pid = base, pid
        self.latencies: list[float] = []
        self.failures = 0
        self.peak = rss_mb(pid)
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self.stop.is_set():
                started = time.perf_counter()
                try:
                    client.get(self.base + HEALTH, headers={"Connection": "close"})
                    self.latencies.append((time.perf_counter() - started) * 1000)
                except httpx.HTTPError:
                    self.failures += 1
                self.peak = max(self.peak, rss_mb(self.pid))
                self.stop.wait(0.1)

    def result(self) -> str:
        if not self.latencies:
            return f"no answer ({self.failures} failed)   peak RSS {self.peak:6.0f} MB"
        ordered = sorted(self.latencies)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return (
            f"/health median {statistics.median(ordered):7.1f} ms  p99 {p99:7.1f}  "
            f"max {ordered[-1]:7.1f}  failed {self.failures:3d}   peak RSS {self.peak:6.0f} MB"
        )


def endless_heads(port: int, seconds: float, _connections: int) -> None:
    """Three clients, each offering a 100 MB head and coming back when cut off."""
    deadline = time.monotonic() + seconds

    def one() -> None:
        chunk = b"a" * 65536
        while time.monotonic() < deadline:
            sent = 0
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                    sock.sendall(b"POST " + EVENT.encode() + b" HTTP/1.1\r\nHost: x\r\nX-Pad: ")
                    while sent < 100 * 2**20 and time.monotonic() < deadline:
                        sock.sendall(chunk)
                        sent += len(chunk)
            except OSError:
                continue

    threads = [threading.Thread(target=one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def many_headers(port: int, seconds: float, _connections: int) -> None:
    lines = b"".join(b"X-A: %d\r\n" % (i % 10) for i in range(160_000))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            try:
                sock.sendall(b"GET " + HEALTH.encode() + b" HTTP/1.1\r\nHost: x\r\n" + lines)
                sock.sendall(b"\r\n")
                sock.recv(100)
            except OSError:
                pass


def _hold(port: int, seconds: float, connections: int, first: bytes, trickle: bytes) -> None:
    socks: list[socket.socket] = []
    deadline = time.monotonic() + seconds
    for _ in range(connections):
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=2)
            if first:
                sock.sendall(first)
            socks.append(sock)
        except OSError:
            break
    while time.monotonic() < deadline:
        for sock in list(socks):
            try:
                if trickle:
                    sock.sendall(trickle)
            except OSError:
                socks.remove(sock)
        time.sleep(1)  # the attack's own pace: a byte a second per connection
    for sock in socks:
        sock.close()


def slow_heads(port: int, seconds: float, connections: int) -> None:
    _hold(port, seconds, connections, b"GET " + HEALTH.encode() + b" HTTP/1.1\r\n", b"X")


def idle(port: int, seconds: float, connections: int) -> None:
    _hold(port, seconds, connections, b"", b"")


def slow_bodies(port: int, seconds: float, connections: int) -> None:
    head = (
        b"POST " + EVENT.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 8000\r\n\r\n{"
    )
    _hold(port, seconds, connections, head, b" ")


CASES: dict[str, Callable[[int, float, int], None]] = {
    "endless heads (3 x 100 MB)": endless_heads,
    "160,000 headers in one request": many_headers,
    "slow heads (N connections, 1 B/s)": slow_heads,
    "idle connections (N)": idle,
    "slow bodies (N connections, 1 B/s)": slow_bodies,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1100)
    parser.add_argument("--seconds", type=float, default=25)
    args = parser.parse_args()
    machine = platform.processor() or platform.machine()
    print(f"{platform.node()}, {machine}, Python {sys.version.split()[0]}")
    footfall = Path(sys.executable).with_name("footfall")
    with tempfile.TemporaryDirectory(prefix="footfall-attack-") as folder:
        port = free_port()
        server = subprocess.Popen(
            [
                str(footfall),
                "serve",
                "--database",
                f"sqlite:///{folder}/attack.db",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(base + HEALTH, timeout=1)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline and server.poll() is None, "no server"
                    time.sleep(0.1)
            print(
                f"footfall serve on {base}, {args.connections} connections, "
                f"{args.seconds:.0f} s per case"
            )
            print(f"{'case':<38} {'while it ran'}")
            rows = [("no attack (reference)", None), *CASES.items()]
            for name, attack in rows:
                probe = Probe(base, server.pid)
                probe.start()
                if attack is None:
                    time.sleep(min(args.seconds, 10))  # a reference window, not a wait
                else:
                    attack(port, args.seconds, args.connections)
                probe.stop.set()
                probe.join()
                print(
                    f"{name.replace('N', str(args.connections)):<38} {probe.result()}", flush=True
                )
            after = Probe(base, server.pid)
            after.start()
            time.sleep(3)
            after.stop.set()
            after.join()
            print(f"{'after the attacks':<38} {after.result()}")
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
