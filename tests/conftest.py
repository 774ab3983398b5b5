"""Fixtures: real databases (a SQLite file, a schema on the PostgreSQL server), a clock the
test moves, and a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from footfall import Analytics

POSTGRES_URL = os.environ.get(
    "FOOTFALL_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def missing(message: str) -> NoReturn:
    """A component a test needs is not installed: a failure under ``CI=true``, where
    nothing may be skipped for it, else a skip that says how to provide it."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def require_npm(message: str) -> None:
    """``missing(message)`` unless Node.js and npm are installed."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        missing(message)


@cache
def tracker_build() -> ModuleType:
    """tracker/build.py, which builds the browser tracker and installs its npm packages."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "tracker" / "build.py"
    spec = importlib.util.spec_from_file_location("tracker_build", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


class ManualClock:
    """A clock that only moves when the test says so."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def _postgres_available() -> str | None:
    """None if the server answers, else why not."""
    try:
        engine = sa.create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # any failure means: not usable here
        return str(error).splitlines()[0]
    return None


_POSTGRES_PROBLEM: list[str | None] = []


@contextmanager
def empty_database(kind: str, directory: Path, name: str = "footfall.db") -> Iterator[str]:
    """The URL of a new, empty database: a SQLite file in ``directory``, or a schema of its
    own on the PostgreSQL server (dropped afterwards)."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / name}"
        return
    if not _POSTGRES_PROBLEM:
        _POSTGRES_PROBLEM.append(_postgres_available())
    problem = _POSTGRES_PROBLEM[0]
    if problem is not None:
        message = (
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({problem}); start it "
            "(pg_ctlcluster --skip-systemctl-redirect 15 main start) or set "
            "FOOTFALL_TEST_POSTGRES"
        )
        missing(message)
    schema = f"footfall_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}&application_name={schema}"
    finally:
        with admin.connect() as conn:
            # A server or background purge still running on the schema would deadlock the
            # DROP (it holds one table's lock and waits for another): end its connections
            # first, waiting up to 5 s for each to go.
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                    "WHERE application_name = :schema AND pid <> pg_backend_pid()"
                ),
                {"schema": schema},
            )
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each supported kind."""
    with empty_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'footfall.db'}"


@pytest.fixture
def make_analytics(clock: ManualClock) -> Iterator[Callable[..., Analytics]]:
    """Build Analytics objects with the test clock; all are closed at the end."""
    made: list[Analytics] = []

    def make(database_url: str, **options: object) -> Analytics:
        options.setdefault("clock", clock)
        analytics = Analytics(database_url=database_url, **options)
        made.append(analytics)
        return analytics

    yield make
    for analytics in made:
        analytics.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_serve(
    database_url: str, *args: str, footfall: Path | None = None, **popen: Any
) -> tuple[str, subprocess.Popen[str]]:
    """``footfall serve`` on ``database_url`` and a free port, with ``args``, answering:
    its address and process (output on its stdout, stderr merged). ``footfall``: another
    installation's command than this environment's; ``popen``: ``cwd``, ``env``."""
    port = free_port()
    command = footfall or Path(sys.executable).with_name("footfall")
    process = subprocess.Popen(
        [str(command), "serve", "--database", database_url, "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **popen,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(base, process)
    except BaseException:
        process.kill()
        raise
    return base, process


def stop_serve(process: subprocess.Popen[str]) -> str:
    """Stop a ``start_serve`` server as a service manager would (SIGTERM); its output."""
    process.terminate()
    return process.communicate(timeout=30)[0]


def wait_until_answering(base: str, process: subprocess.Popen[str], seconds: float = 30) -> None:
    """Wait for the footfall server ``process`` at ``base`` to answer its health check: a
    bounded wait on what happened, not a timing sleep; fails if the process ends first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            httpx.get(f"{base}/api/data/analytics/health", timeout=1)
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline and process.poll() is None, "no answer"
            time.sleep(0.05)


@dataclass
class RunningServer:
    url: str
    analytics: Analytics
    client: httpx.Client

    def event(
        self,
        payload: dict | None = None,
        *,
        ua: str = BROWSER_UA,
        ip: str | None = None,
        **kwargs: object,
    ) -> httpx.Response:
        """POST an event as a browser behind the test's trusted proxy would."""
        headers = {"User-Agent": ua, **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        if ip is not None:
            headers["X-Forwarded-For"] = ip
        base = self.analytics.config.api_base_path
        return self.client.post(f"{base}/analytics/event", json=payload, headers=headers, **kwargs)


@pytest.fixture
def serve() -> Iterator[Callable[[Analytics], RunningServer]]:
    """Run an Analytics app under a real uvicorn server on 127.0.0.1, in this process (so
    the test's clock applies)."""
    running: list[tuple[uvicorn.Server, threading.Thread, httpx.Client]] = []

    def start(analytics: Analytics) -> RunningServer:
        port = free_port()
        config = uvicorn.Config(
            analytics.app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:  # a condition wait, bounded, not a sleep for timing
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        url = f"http://127.0.0.1:{port}"
        client = httpx.Client(base_url=url, timeout=10)
        running.append((server, thread, client))
        return RunningServer(url, analytics, client)

    yield start
    for server, thread, client in running:
        client.close()
        server.should_exit = True
        thread.join(10)


def count_rows(database_url: str, table: str, where: str = "") -> int:
    return int(query_rows(database_url, f"SELECT count(*) FROM {table} {where}")[0][0])


def query_rows(database_url: str, query: str) -> list[tuple[Any, ...]]:
    """The rows of ``query`` (SQL text) on the database, as tuples."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(query))]
    finally:
        engine.dispose()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
