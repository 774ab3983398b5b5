"""Sustained ingestion rate and latency of footfall's event endpoint, next to a bare
endpoint of the same server stack, measured in the same run.

    .venv/bin/python bench/ingest.py [--seconds 15] [--connections 64] [--database URL]
        [--workers N]

One uvicorn worker (or ``--workers N``, as ``footfall serve --workers N``) serves both;
wrk (C, Debian package) loads it from the other core with realistic page views
(bench/ingest.lua). Events are durable: SQLite in WAL mode with synchronous=FULL, each 202
sent only after its transaction committed. After the run the stored rows are counted
against the 202s wrk received.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

HERE = Path(__file__).parent


def ensure_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk:
        return wrk
    print("installing wrk (Debian package) ...", flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True)
    subprocess.run(
        [*sudo, "apt-get", "install", "-y", "-qq", "wrk"],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    return shutil.which("wrk") or sys.exit("wrk could not be installed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit("the server exited during start-up")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    sys.exit("the server did not become healthy")


def run_wrk(wrk: str, url: str, seconds: int, connections: int) -> dict[str, float]:
    output = subprocess.run(
        [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            str(HERE / "ingest.lua"),
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "non2xx": int(m.group(1)) if (m := re.search(r"Non-2xx.*?(\d+)", output)) else 0,
        "errors": sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", output)),
    }
    for label, key in (("50%", "p50"), ("99%", "p99")):
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", output).groups()
        result[key] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    return result


def count_pageviews(database: str) -> int:
    engine = sa.create_engine(database)
    with engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM page_view")).scalar_one()
    engine.dispose()
    return int(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--database", help="default: a new SQLite file in a temp dir")
    parser.add_argument(
        "--loop",
        default="auto",
        choices=["auto", "asyncio", "uvloop"],
        help="uvicorn's event loop (auto: uvloop when installed)",
    )
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    args = parser.parse_args()
    wrk = ensure_wrk()
    workdir = tempfile.mkdtemp(prefix="footfall-bench-")
    database = args.database or f"sqlite:///{workdir}/bench.db"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "ingest_server.py"),
            "--port",
            str(port),
            "--database",
            database,
            "--loop",
            args.loop,
            "--workers",
            str(args.workers),
        ],
    )
    try:
        wait_healthy(f"{base}/api/data/analytics/health", server)
        kind = sa.engine.make_url(database).get_backend_name()
        print(
            f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
            f"Python {platform.python_version()}; server: {args.workers} uvicorn worker(s); "
            f"load: wrk -t1 "
            f"-c{args.connections}, {args.seconds} s per endpoint; database: {kind}"
            f"; loop: {args.loop}"
        )
        run_wrk(wrk, f"{base}/bench/bare", 2, args.connections)  # warm-up
        run_wrk(wrk, f"{base}/api/data/analytics/event", 2, args.connections)
        before = count_pageviews(database)
        bare = run_wrk(wrk, f"{base}/bench/bare", args.seconds, args.connections)
        ingest = run_wrk(wrk, f"{base}/api/data/analytics/event", args.seconds, args.connections)
        stored = count_pageviews(database) - before
    finally:
        server.terminate()
        server.wait(30)
    print(f"{'endpoint':<22}{'events/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'errors':>8}")
    for name, r in (("bare (same stack)", bare), ("footfall ingest", ingest)):
        print(
            f"{name:<22}{r['rps']:>10,.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}"
            f"{r['non2xx']:>9}{r['errors']:>8}"
        )
    print(f"footfall / bare: {ingest['rps'] / bare['rps']:.0%}")
    print(
        f"acknowledged (202) during the run: {ingest['requests'] - ingest['non2xx']:,}; "
        f"stored page views: {stored:,}"
    )
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
