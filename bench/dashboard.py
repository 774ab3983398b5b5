"""Server time to render the 30-day dashboard on 1,000,000 events.

    .venv/bin/python bench/dashboard.py [--events 1000000] [--database URL] [--keep] [--raw]
        [--now ISO] [--timezone ZONE] [--ranges today 24h ...] [--filter page=/pricing ...]
        [--filter-ranges 30d 12mo ...]

Fills a database with realistic demo traffic over 30 days (page views are ~93% of events),
then requests the dashboard page in-process through the ASGI app (every query, the
template and the SVG charts; no network) and prints the median and best of several runs,
per range, after rolling up the finished days as the server does (``--raw``: read raw
events only, the reference). Target (issue 9): under 50 ms for 30 days on SQLite at
1,000,000 events.

``--database`` with ``--now`` renders the page on data of another bench, e.g. the
10,000,000 events over 90 days that ``bench/query.py --keep`` leaves (its traffic ends at
2026-03-18T14:00Z): the whole page, with its queries run side by side as the dashboard
does, rather than their sum.

``--filter`` pages are rendered for each of ``--filter-ranges`` (30 days by default):
``--filter event=Signup --filter-ranges 30d 12mo all`` times an event's page with its
properties list over the ranges that outlive the raw events.

``--timezone`` reads the reports in another zone than UTC: the first run rolls every day
up again in that zone (8 minutes at 10,000,000 events), so use it on a copy. Outside UTC
more visitors are seen on two local days, and every report regroups their visits.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select

from footfall import Analytics
from footfall.dashboard import session
from footfall.demo import generate_demo
from footfall.store import admin_sessions
from footfall.store.schema import custom_event, page_view

TOKEN = "bench-admin-token-long-enough"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
RANGES = ("today", "7d", "30d")
RUNS = 5
TARGET_MS = 50


def count(analytics: Analytics) -> int:
    with analytics.store.engine.connect() as conn:
        return sum(
            int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (page_view, custom_event)
        )


async def render(analytics: Analytics, period: str, filter: str = "") -> list[float]:
    transport = httpx.ASGITransport(app=analytics.app)
    times = []
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        headers = {"Cookie": f"{session.COOKIE}={_signed_in(analytics)}"}
        for _ in range(RUNS + 1):  # the first run warms caches and is not counted
            started = time.perf_counter()
            response = await client.get(
                f"/pages/analytics?range={period}{'&' + filter if filter else ''}",
                headers=headers,
            )
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text[:200]
    return times[1:]


def _signed_in(analytics: Analytics) -> str:
    """A session of the administrator, as a login makes it: the cookie's value."""
    engine, now = analytics.store.engine, analytics.config.clock()
    return admin_sessions.begin(engine, admin_sessions.SESSION, TOKEN, now)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database", help="default: a SQLite file in a temp dir")
    parser.add_argument("--keep", action="store_true", help="reuse/keep the data (SQLite)")
    parser.add_argument("--raw", action="store_true", help="without rollups (the reference)")
    parser.add_argument("--now", type=datetime.fromisoformat, default=NOW, help="the clock")
    parser.add_argument("--timezone", default="UTC", help="the reports' time zone")
    parser.add_argument("--ranges", nargs="+", default=list(RANGES))
    parser.add_argument(
        "--filter", nargs="*", default=[], help="filters of the page, as name=value"
    )
    parser.add_argument(
        "--filter-ranges", nargs="+", default=["30d"], help="the ranges of the filtered pages"
    )
    args = parser.parse_args()
    now: datetime = args.now if args.now.tzinfo else args.now.replace(tzinfo=UTC)
    path = Path(tempfile.gettempdir()) / f"footfall-bench-dashboard-{args.events}.db"
    database = args.database or f"sqlite:///{path}"
    if not args.keep and not args.database and path.exists():
        path.unlink()
    analytics = Analytics(
        database_url=database, admin_token=TOKEN, clock=lambda: now, timezone=args.timezone
    )
    try:
        if count(analytics) < args.events * 0.95:
            started = time.perf_counter()
            pageviews = int(args.events * 0.93)
            generate_demo(analytics.store, pageviews=pageviews, days=30, now=now, seed=11)
            print(f"generated in {time.perf_counter() - started:.0f} s")
        total = count(analytics)
        if not args.raw:  # what the server's hourly purge does first
            started = time.perf_counter()
            days = analytics.roll_up()
            print(f"rolled up {days} days in {time.perf_counter() - started:.1f} s")
        else:
            analytics.api.queries.rollups = False
        kind = analytics.store.engine.dialect.name
        print(
            f"machine: {os.cpu_count()} cores, {platform.machine()}, Python "
            f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}; database: {kind}; "
            f"{total:,} events; now {now.isoformat()}, reports in {args.timezone}; {RUNS} runs "
            "per page (after one warm-up)"
        )
        print(f"{'page':<28}{'median ms':>11}{'best ms':>10}")
        pages = [(r, "") for r in args.ranges]
        pages += [(r, f) for f in args.filter for r in args.filter_ranges]
        for period, filter in pages:
            times = asyncio.run(render(analytics, period, filter))
            name = f"{period} {filter}".strip()
            print(f"{name:<28}{statistics.median(times):>11.0f}{min(times):>10.0f}")
        target = statistics.median(asyncio.run(render(analytics, "30d")))
        verdict = "met" if target < TARGET_MS else "missed"
        print(f"target (30 days under {TARGET_MS} ms on SQLite): {verdict} ({target:.0f} ms)")
    finally:
        analytics.close()
        if not args.keep and not args.database:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
