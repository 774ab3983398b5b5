"""Crash safety under load: ``kill -9`` the standalone server while events are in flight,
then check that every event it acknowledged is in the database.

The writer answers 202 only once the event's transaction has committed (group commit, see
``footfall/store/writer.py``), so after a SIGKILL no acknowledged event may be missing.
Events that were in flight when the server died may or may not be stored: nobody was told
either way, so both outcomes are correct.

    .venv/bin/python bench/crash.py [--database URL] [--seconds 3] [--concurrency 64]
                                    [--rounds 3] [--kill-after N] [--seed S]

Without ``--database`` a fresh SQLite file in a temporary directory is used. Every round
restarts the server on the same database (so later rounds also prove that it comes back up
on a crashed one) and tags its events with a unique path, ``/crash/<run>/<round>/<n>``.
Load goes to 127.0.0.1 only and is bounded: at most ``MAX_REQUESTS`` per round, and the
server is killed after ``--seconds`` at the latest. Exit status 1 if any acknowledged event
is missing (or another integrity check fails), 2 if a round proved nothing (no
acknowledgement, or nothing in flight at the kill).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import random
import secrets
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from footfall.store import rollups
from footfall.store.visits import VISIT_COLUMNS, recount_sql

HOST = "127.0.0.1"
EVENT_PATH = "/api/data/analytics/event"
HEALTH_PATH = "/api/data/analytics/health"
MAX_REQUESTS = 50_000
"""Per round: the load is bounded in count as well as in time."""
EVENTS_PER_VISITOR = 50
"""Each visitor (one /24 network) sends this many events, far below the default rate limit
of 600 per minute per network, so no event is refused for rate."""
STARTUP_TIMEOUT = 60.0
REQUEST_TIMEOUT = 15.0
ONE_CONNECTION = httpx.Limits(max_connections=1, max_keepalive_connections=1)
BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)

KILLED_ON_ACKNOWLEDGEMENTS = "acknowledgements"
KILLED_ON_TIME = "time"
KILLED_ON_REQUEST_CAP = "request cap"


@dataclass
class CrashResult:
    """What one round sent, what the server acknowledged, and what the database holds."""

    sent: int
    """Requests started (each a distinct page path)."""
    acknowledged: int
    """Answered 202 without ``X-Footfall-Dropped``: the server promised they are stored."""
    stored_acknowledged: int
    stored_total: int
    """Rows of this round in ``page_view``: acknowledged ones plus any in-flight ones that
    made it to disk before the kill."""
    missing: list[str]
    """Acknowledged but not stored: must be empty."""
    round_no: int = 0
    failed: int = 0
    """Requests that got no answer (connection reset, refused...): not acknowledged."""
    failed_before_kill: int = 0
    """Of those, the ones that failed while the server was still alive (should be 0)."""
    refused: Counter[str] = field(default_factory=Counter)
    """Answers other than a plain 202, by status (and drop reason): should be empty."""
    in_flight_at_kill: int = 0
    """Requests started but not answered at the moment of the SIGKILL."""
    acknowledged_before_kill: int = 0
    killed_after: float = 0.0
    """Seconds from the first request to the SIGKILL."""
    kill_reason: str = ""
    duplicated: list[str] = field(default_factory=list)
    """Paths stored more than once: each event was sent once, so must be empty."""
    unexpected: list[str] = field(default_factory=list)
    """Stored paths that were neither acknowledged nor left unanswered (refused, or never
    sent): must be empty."""
    derived_differences: list[str] = field(default_factory=list)
    """Where the visits and rollups differ from a recount of the raw events after the
    kill: must be empty (they are written in the events' transactions)."""

    @property
    def problems(self) -> list[str]:
        """Integrity violations: any of them is a bug in footfall."""
        found = []
        if self.missing:
            found.append(f"{len(self.missing)} acknowledged events missing: {self.missing[:5]}")
        if self.duplicated:
            found.append(f"{len(self.duplicated)} events stored twice: {self.duplicated[:5]}")
        if self.unexpected:
            found.append(f"{len(self.unexpected)} unexpected rows: {self.unexpected[:5]}")
        found.extend(self.derived_differences)
        return found

    @property
    def proved_something(self) -> bool:
        """The server acknowledged events and died with requests still in flight."""
        return self.acknowledged > 0 and self.in_flight_at_kill > 0


@dataclass
class _Load:
    """The client side's bookkeeping, shared by the workers of one round."""

    prefix: str
    acknowledged: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    refused: dict[str, str] = field(default_factory=dict)
    in_flight: set[str] = field(default_factory=set)
    sent: int = 0
    failed_before_kill: int = 0
    killed: bool = False
    in_flight_at_kill: int = 0
    acknowledged_before_kill: int = 0
    killed_after: float = 0.0
    kill_reason: str = ""


# -- the server ------------------------------------------------------------------------------


def free_port() -> int:
    """A port nobody listens on right now (the server binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def server_command(database_url: str, port: int) -> list[str]:
    """``footfall serve`` as a real process, so that SIGKILL hits exactly the server.

    The URL is one argv element (no shell), so a PostgreSQL URL's ``?options=-c...`` reaches
    the server byte for byte.
    """
    script = Path(sys.executable).with_name("footfall")
    if script.exists():
        base = [str(script)]
    else:  # footfall importable but its console script not installed next to this Python
        base = [sys.executable, "-c", "from footfall.cli import main; main()"]
    return [
        *base,
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--database",
        database_url,
        "--log-level",
        "warning",
        "--trusted-proxy",
        HOST,
    ]


def _server_env() -> dict[str, str]:
    """This environment without FOOTFALL_* settings, so the server runs with the defaults."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FOOTFALL_")}


def _log_tail(log: IO[bytes], limit: int = 4000) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")[-limit:]


def wait_until_healthy(process: subprocess.Popen[bytes], base_url: str, log: IO[bytes]) -> None:
    """Poll the health route until it answers: uvicorn runs the lifespan (which opens the
    store and migrates the schema) before it accepts connections, so from then on the
    tables exist."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    with httpx.Client(base_url=base_url, timeout=2.0, trust_env=False) as client:
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"footfall serve exited with {process.returncode} before answering:\n"
                    + _log_tail(log)
                )
            try:
                if client.get(HEALTH_PATH).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"footfall serve did not answer within {STARTUP_TIMEOUT:.0f} s:\n"
                    + _log_tail(log)
                )
            time.sleep(0.05)  # polling interval only: the condition is the answer


# -- the load --------------------------------------------------------------------------------


def _visitor_ip(n: int) -> str:
    """A distinct /24 network per visitor: the rate limit is per truncated address."""
    visitor = n // EVENTS_PER_VISITOR
    return f"10.{(visitor >> 8) & 255}.{visitor & 255}.1"


async def _load_and_kill(
    process: subprocess.Popen[bytes],
    base_url: str,
    load: _Load,
    *,
    concurrency: int,
    kill_after: int | None,
    kill_at: float,
    max_requests: int,
) -> None:
    """Send events from ``concurrency`` clients until the kill condition holds, SIGKILL the
    server with requests in flight, then collect what the in-flight requests got."""
    kill_now = asyncio.Event()
    reason: list[str] = []
    numbers = itertools.count()

    def trigger(why: str) -> None:
        if not kill_now.is_set():
            reason.append(why)
            kill_now.set()

    async def worker(client: httpx.AsyncClient) -> None:
        async with client:
            while not load.killed:
                n = next(numbers)
                if n >= max_requests:
                    trigger(KILLED_ON_REQUEST_CAP)
                    return
                path = f"{load.prefix}{n}"
                load.sent += 1
                load.in_flight.add(path)
                try:
                    response = await client.post(
                        EVENT_PATH,
                        json={"name": "pageview", "url": f"https://crash.example{path}"},
                        headers={"User-Agent": BROWSER_UA, "X-Forwarded-For": _visitor_ip(n)},
                    )
                except httpx.TransportError:
                    load.failed.add(path)
                    if not load.killed:
                        load.failed_before_kill += 1
                else:
                    dropped = response.headers.get("x-footfall-dropped")
                    if response.status_code == 202 and dropped is None:
                        load.acknowledged.add(path)
                    else:
                        load.refused[path] = f"{response.status_code} {dropped or ''}".strip()
                finally:
                    load.in_flight.discard(path)
                if kill_after is not None and len(load.acknowledged) >= kill_after:
                    trigger(KILLED_ON_ACKNOWLEDGEMENTS)

    # One client (one keep-alive connection) per worker, like one browser each: a shared
    # pool of many connections costs the client O(connections) per request. They share one
    # TLS context (unused over http://) because building one costs ~20 ms of CPU.
    tls = ssl.create_default_context()
    clients = [
        httpx.AsyncClient(
            base_url=base_url,
            limits=ONE_CONNECTION,
            timeout=REQUEST_TIMEOUT,
            trust_env=False,
            verify=tls,
        )
        for _ in range(concurrency)
    ]
    started = time.monotonic()
    workers = [asyncio.create_task(worker(client)) for client in clients]
    try:
        try:
            await asyncio.wait_for(kill_now.wait(), timeout=kill_at)
        except TimeoutError:
            reason.append(KILLED_ON_TIME)
        # No await between here and the kill: the snapshot is exactly what is in flight.
        load.killed = True
        load.kill_reason = reason[0]
        load.in_flight_at_kill = len(load.in_flight)
        load.acknowledged_before_kill = len(load.acknowledged)
        process.kill()  # SIGKILL: no shutdown, no flush, no goodbye
        load.killed_after = time.monotonic() - started
        await asyncio.gather(*workers)
    finally:
        load.killed = True
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


# -- the check -------------------------------------------------------------------------------


def reader_url(database_url: str) -> URL:
    """The URL for our own reading connection (a bare ``postgresql://`` means psycopg 3,
    as it does for footfall)."""
    url = make_url(database_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def stored_paths(database_url: str, prefix: str) -> Counter[str]:
    """How often each path of this round is in ``page_view``, read by a fresh connection
    after the server is dead."""
    engine = sa.create_engine(reader_url(database_url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT path FROM page_view WHERE path LIKE :prefix"),
                {"prefix": prefix + "%"},
            ).scalars()
            return Counter(path for path in rows if path.startswith(prefix))
    finally:
        engine.dispose()


def derived_differences(database_url: str) -> list[str]:
    """Compare the ``visit`` table, and the rollups, with a recount from the raw events."""
    engine = sa.create_engine(reader_url(database_url))
    problems = []
    try:
        columns = ", ".join(VISIT_COLUMNS)
        with engine.connect() as conn:
            kept = Counter(tuple(r) for r in conn.execute(sa.text(f"SELECT {columns} FROM visit")))
            recount = Counter(tuple(r) for r in conn.execute(sa.text(recount_sql())))
        if kept != recount:
            problems.append(
                f"visit: {sum((kept - recount).values())} rows differ from a recount, "
                f"{sum((recount - kept).values())} missing"
            )
        tables = ("rollup_day", "rollup_visit_part", "rollup_visitor_item")

        with engine.connect() as conn:
            state = conn.execute(sa.text("SELECT timezone, sealed_until FROM rollup_state")).first()

        def snapshot() -> dict[str, Counter[tuple[Any, ...]]]:
            """The rows of the days rolled up before the check."""
            with engine.connect() as conn:
                return {
                    t: Counter(
                        map(
                            tuple,
                            conn.execute(
                                sa.text(f"SELECT * FROM {t} WHERE day < :until"),
                                {"until": state[1]},
                            ),
                        )
                    )
                    for t in tables
                }

        if state is not None:
            before = snapshot()
            rollups.rebuild(engine)
            rollups.roll_up(engine, timezone=state[0], now=datetime.now(UTC))
            after = snapshot()
            problems.extend(f"{t}: differs from a recount" for t in tables if before[t] != after[t])
    finally:
        engine.dispose()
    return problems


def describe_database(database_url: str) -> str:
    """Kind and version of the database, e.g. ``postgresql 15.8``."""
    engine = sa.create_engine(reader_url(database_url))
    try:
        with engine.connect():
            version = engine.dialect.server_version_info or ()
        return f"{engine.dialect.name} {'.'.join(str(part) for part in version)}".strip()
    finally:
        engine.dispose()


# -- one round -------------------------------------------------------------------------------


def run_crash_round(
    database_url: str,
    *,
    seconds: float,
    concurrency: int,
    round_no: int,
    kill_after: int | None = None,
    max_requests: int = MAX_REQUESTS,
    seed: int | None = None,
) -> CrashResult:
    """Start ``footfall serve`` on ``database_url``, load it, SIGKILL it, check the database.

    The kill comes as soon as ``kill_after`` events are acknowledged when that is given (a
    condition on what was observed, not a sleep), else at a random point between 30% and
    70% of ``seconds``; in every case after ``seconds`` at the latest, or when
    ``max_requests`` have been sent. Whether the kill landed mid-load is measured, not
    assumed: see ``in_flight_at_kill``. Call it from synchronous code (it runs its own event
    loop).
    """
    if concurrency < 1 or seconds <= 0 or max_requests < 1:
        raise ValueError("concurrency, seconds and max_requests must be positive")
    kill_at = seconds if kill_after is not None else seconds * random.Random(seed).uniform(0.3, 0.7)
    load = _Load(prefix=f"/crash/{secrets.token_hex(4)}/{round_no}/")
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            server_command(database_url, port),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_server_env(),
        )
        try:
            wait_until_healthy(process, base_url, log)
            asyncio.run(
                _load_and_kill(
                    process,
                    base_url,
                    load,
                    concurrency=concurrency,
                    kill_after=kill_after,
                    kill_at=kill_at,
                    max_requests=max_requests,
                )
            )
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)

    stored = stored_paths(database_url, load.prefix)
    answered_nothing = load.failed  # in flight at the kill: may or may not be stored
    return CrashResult(
        round_no=round_no,
        sent=load.sent,
        acknowledged=len(load.acknowledged),
        stored_acknowledged=len(load.acknowledged & stored.keys()),
        stored_total=sum(stored.values()),
        missing=sorted(load.acknowledged - stored.keys(), key=_path_number),
        failed=len(load.failed),
        failed_before_kill=load.failed_before_kill,
        refused=Counter(load.refused.values()),
        in_flight_at_kill=load.in_flight_at_kill,
        acknowledged_before_kill=load.acknowledged_before_kill,
        killed_after=load.killed_after,
        kill_reason=load.kill_reason,
        duplicated=sorted((p for p, n in stored.items() if n > 1), key=_path_number),
        unexpected=sorted(stored.keys() - load.acknowledged - answered_nothing, key=_path_number),
        derived_differences=derived_differences(database_url),
    )


def _path_number(path: str) -> int:
    return int(path.rsplit("/", 1)[1])


# -- the command -----------------------------------------------------------------------------


def _summary(label: str, sent: int, acknowledged: int, stored: int, missing: int) -> str:
    return (
        f"{label}: sent {sent}, acknowledged {acknowledged}, stored {stored}, "
        f"acknowledged but missing {missing}"
    )


def _details(result: CrashResult) -> str:
    refused = ", ".join(f"{n}x {what}" for what, n in sorted(result.refused.items())) or "none"
    return (
        f"  killed after {result.killed_after:.2f} s (on {result.kill_reason}) with "
        f"{result.in_flight_at_kill} requests in flight and {result.acknowledged_before_kill} "
        f"acknowledged; {result.failed} got no answer ({result.failed_before_kill} before the "
        f"kill), {result.acknowledged - result.acknowledged_before_kill} acknowledgements "
        f"read after it, refused: {refused}; stored though unanswered "
        f"{result.stored_total - result.stored_acknowledged}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--seconds", type=float, default=3.0, help="load per round, at most")
    parser.add_argument("--concurrency", type=int, default=64, help="concurrent clients")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--kill-after", type=int, help="kill once this many events are acknowledged"
    )
    parser.add_argument("--max-requests", type=int, default=MAX_REQUESTS, help="per round")
    parser.add_argument("--seed", type=int, help="seed of the kill points")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="footfall-crash-") as tmp:
        database = args.database or f"sqlite:///{Path(tmp) / 'crash.db'}"
        shown = make_url(database).render_as_string(hide_password=True)
        print(
            f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()} "
            f"({platform.system()} {platform.machine()}), database {describe_database(database)}"
            f" at {shown}",
            flush=True,
        )
        seeds = random.Random(args.seed)
        results = []
        for round_no in range(1, args.rounds + 1):
            result = run_crash_round(
                database,
                seconds=args.seconds,
                concurrency=args.concurrency,
                round_no=round_no,
                kill_after=args.kill_after,
                max_requests=args.max_requests,
                seed=seeds.randrange(2**32),
            )
            results.append(result)
            print(
                _summary(
                    f"round {round_no}",
                    result.sent,
                    result.acknowledged,
                    result.stored_total,
                    len(result.missing),
                )
            )
            print(_details(result), flush=True)
            for problem in result.problems:
                print(f"  BUG: {problem}")
            if not result.proved_something:
                print("  this round proved nothing: no acknowledgement or nothing in flight")

    print(
        _summary(
            "total",
            sum(r.sent for r in results),
            sum(r.acknowledged for r in results),
            sum(r.stored_total for r in results),
            sum(len(r.missing) for r in results),
        )
    )
    if any(r.problems for r in results):
        return 1
    if not all(r.proved_something for r in results):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
