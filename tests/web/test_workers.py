"""``footfall serve --workers 2``: two processes on one port and one database.

The rate limit holds across them (one network gets its limit once, not once per worker),
and the visits and rollups two writers keep equal a recount from the raw events.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

from conftest import BROWSER_UA
from footfall.query.filters import Filters
from footfall.query.metrics import Queries
from footfall.store.rollups import roll_up
from footfall.store.visits import VISIT_COLUMNS, recount_sql

BENCH = Path(__file__).parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from crash import HOST, _server_env, free_port, server_command, wait_until_healthy  # noqa: E402

LIMIT = 600  # the default rate_limit_per_minute: a bucket of 600, refilled at 10 a second


def test_two_workers_share_the_rate_limit_and_keep_visits_exact(database_url: str) -> None:
    port = free_port()
    base = f"http://{HOST}:{port}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [*server_command(database_url, port), "--workers", "2"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_server_env(),
        )
        try:
            wait_until_healthy(process, base, log)
            accepted = refused = 0
            started = time.monotonic()
            # A new connection per request, so the kernel spreads them over both workers.
            limits = httpx.Limits(max_keepalive_connections=0)
            with httpx.Client(base_url=base, limits=limits, trust_env=False) as client:
                for n in range(LIMIT + 200):
                    answer = client.post(
                        "/api/data/analytics/event",
                        json={"name": "pageview", "url": f"https://example.com/p/{n % 7}"},
                        headers={"User-Agent": BROWSER_UA, "X-Forwarded-For": "198.51.100.7"},
                    )
                    assert answer.status_code in (202, 429), answer.text
                    accepted += answer.status_code == 202
                    refused += answer.status_code == 429
            elapsed = time.monotonic() - started
            workers = _children(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)
    assert len(workers) >= 2, "uvicorn started two worker processes"
    # One bucket of 600 for the network, plus what it refilled meanwhile (10 a second).
    assert LIMIT <= accepted <= LIMIT + 10 * elapsed + 1, (accepted, elapsed)
    assert refused == LIMIT + 200 - accepted

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            kept = sorted(conn.execute(sa.text(f"SELECT {', '.join(VISIT_COLUMNS)} FROM visit")))
            recount = sorted(conn.execute(sa.text(recount_sql())))
            stored = conn.execute(sa.text("SELECT count(*) FROM page_view")).scalar_one()
        assert stored == accepted
        assert kept == recount
        now = datetime.now(UTC)
        roll_up(engine, timezone="UTC", now=now)
        period_of = Queries(engine, timezone="UTC", clock=lambda: now).period
        for rollups in (True, False):
            q = Queries(engine, timezone="UTC", clock=lambda: now, rollups=rollups)
            stats = q.dashboard_stats(period_of("7d"), Filters())
            assert stats.pageviews.value == accepted
            assert stats.visitors.value == 1  # one network, one browser: one visitor
    finally:
        engine.dispose()


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (read from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found
