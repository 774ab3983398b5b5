"""How long the dashboard's queries take on SQLite and PostgreSQL, at 1M and 10M events,
next to the same aggregates in DuckDB as a reference for raw scan speed.

    .venv/bin/python bench/query.py [--events 1000000 10000000] [--backends sqlite postgresql]
        [--postgres URL] [--keep] [--reuse] [--explain] [--no-duckdb]

Data: ``generate_demo`` writes about ``--base`` events (1,000,000; page views are ~93% of
them) of 90 days of traffic ending at a fixed NOW into a SQLite "source" file. Each
benchmark database is then filled from it, day by day in timestamp order (the order in
which real events arrive): larger sizes hold ``events / base`` copies of it, copy k with
visitor and session ids XOR ``k << 40`` and the same timestamps, so the shape (rhythm,
pages, referrers, bounces) stays the demo's and the counts per day scale. PostgreSQL gets
its own schema ``footfall_bench_<n>`` (dropped afterwards unless ``--keep``); ``--reuse``
skips loading whatever already holds the right data. After loading: ANALYZE (SQLite) and
VACUUM ANALYZE (PostgreSQL, what autovacuum would have done by then).

Timing: every query the dashboard issues for a range, through footfall's own ``Queries``
on the engine ``Store`` opens (so footfall's pragmas and pool), each run 3 times; the
median is reported, and a range's total is the sum of the medians. A query whose first run
takes longer than ``--max-query-seconds`` runs once (marked ``*``) to keep runs bounded.

Also the page of one custom event with its properties list (30d, 12mo, all): the queries
the dashboard issues once an event is clicked, and in DuckDB the properties list alone,
with ``json_each`` over the raw events.

DuckDB (a bench-only dependency: ``.venv/bin/pip install duckdb``) gets the same rows and
answers the same aggregates in plain SQL; its results are checked against footfall's.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from footfall.demo import generate_demo
from footfall.query.filters import DIRECT, UNKNOWN, Filters
from footfall.query.metrics import BREAKDOWNS, REALTIME_WINDOW, Queries
from footfall.query.ranges import Period, resolve_period
from footfall.store import Store
from footfall.store.rollups import forget_today, roll_up
from footfall.store.schema import custom_event, page_view, visit
from footfall.store.today import refresh_today
from footfall.store.visit_build import rebuild as rebuild_visits

NOW = datetime(2026, 3, 18, 14, 0, tzinfo=UTC)
"""A Wednesday afternoon: the end of the generated traffic and the clock of the queries."""
DAYS = 90
SEED = 1
PAGEVIEW_SHARE = 0.932
"""Page views per event in the demo's traffic (measured), to aim generate_demo at N events."""
RANGES = ("today", "24h", "7d", "30d", "12mo", "all")
EVENT = "Outbound Link: Click"
"""The event whose page is timed: one property (``url``) with ten values, on blog and docs."""
EVENT_RANGES = ("30d", "12mo", "all")
TARGET_RANGE = "30d"
TARGET_MS = 150.0
TARGET_EVENTS = 10_000_000
SHIFT_BITS = 40
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
META = "footfall_bench_meta"
BACKEND_LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "duckdb": "DuckDB"}
QUERY_NAMES = (
    "dashboard_stats",
    "timeseries",
    "top_pages",
    "top_referrers",
    "top_events",
    *(f"breakdown:{a}" for a in BREAKDOWNS),
    "realtime",
)
TABLES = {
    "page_view": [c.name for c in page_view.columns if c.name != "id"],
    "custom_event": [c.name for c in custom_event.columns if c.name != "id"],
}


def say(message: str) -> None:
    print(message, flush=True)


def quoted(columns: list[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def copies_select(copies: int) -> str:
    """A derived table of the copy numbers and their id shift, valid SQL everywhere."""
    rows = [f"SELECT {k} AS k, {k << SHIFT_BITS} AS shift" for k in range(copies)]
    return "(" + " UNION ALL ".join(rows) + ") AS copies"


def copy_expressions(columns: list[str], prefix: str = "") -> str:
    """The columns of copy k: ids XOR shift (spelled with | and &, the same on all three
    databases), everything else as it is."""
    out = []
    for c in columns:
        ref = f'{prefix}"{c}"'
        if c in ("visitor_id", "session_id"):
            out.append(f'(({ref} | copies.shift) - ({ref} & copies.shift)) AS "{c}"')
        else:
            out.append(ref)
    return ", ".join(out)


# -- the plan ---------------------------------------------------------------------------------


@dataclass
class Plan:
    """What one size needs: the generated base and how many copies of it."""

    events: int
    base: int
    copies: int
    data_dir: Path

    @classmethod
    def for_size(cls, events: int, base: int, data_dir: Path) -> Plan:
        base = min(base, events) if base > 0 else events
        copies = max(1, round(events / base))
        return cls(events, round(events / copies), copies, data_dir)

    @property
    def source_path(self) -> Path:
        return self.data_dir / f"footfall_bench_source_{self.base}.db"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / f"footfall_bench_{self.events}.db"

    @property
    def duckdb_path(self) -> Path:
        return self.data_dir / f"footfall_bench_{self.events}.duckdb"

    @property
    def schema(self) -> str:
        return f"footfall_bench_{self.events}"

    def meta(self, source_counts: dict[str, int]) -> dict[str, Any]:
        return {
            "now": NOW.isoformat(),
            "days": DAYS,
            "seed": SEED,
            "base": self.base,
            "copies": self.copies,
            "counts": {t: n * self.copies for t, n in source_counts.items()},
        }


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()


def sqlite_size(path: Path) -> int:
    return sum(
        Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists()
    )


# -- metadata, so --reuse can tell whether data is complete -----------------------------------


def read_meta(conn: Any) -> dict[str, Any] | None:
    """``conn`` is any DB-API connection (sqlite3, psycopg, duckdb)."""
    try:
        cur = conn.cursor()
        cur.execute(f"SELECT value FROM {META} WHERE key = 'meta'")
        row = cur.fetchone()
    except Exception:
        return None
    return json.loads(row[0]) if row else None


def write_meta(conn: Any, meta: dict[str, Any]) -> None:
    cur = conn.cursor()
    cur.execute(f"CREATE TABLE IF NOT EXISTS {META} (key VARCHAR(20) PRIMARY KEY, value TEXT)")
    cur.execute(f"DELETE FROM {META}")
    cur.execute(f"INSERT INTO {META} VALUES ('meta', '{json.dumps(meta)}')")


def table_counts(conn: Any) -> dict[str, int]:
    cur = conn.cursor()
    counts = {}
    for table in TABLES:
        cur.execute(f"SELECT count(*) FROM {table}")
        counts[table] = int(cur.fetchone()[0])
    return counts


def is_complete(conn: Any, wanted: dict[str, Any]) -> bool:
    meta = read_meta(conn)
    if meta is None or {k: v for k, v in meta.items() if k != "counts"} != {
        k: v for k, v in wanted.items() if k != "counts"
    }:
        return False
    try:
        return table_counts(conn) == meta["counts"]
    except Exception:
        return False


# -- generation -------------------------------------------------------------------------------


def ensure_source(plan: Plan, reuse: bool) -> dict[str, int]:
    """The base traffic, from generate_demo, in a SQLite file; returns its row counts."""
    path = plan.source_path
    wanted = {"now": NOW.isoformat(), "days": DAYS, "seed": SEED, "base": plan.base}
    if reuse and path.exists():
        with sqlite3.connect(path) as conn:
            meta = read_meta(conn)
            if meta is not None and is_complete(conn, {**wanted, "counts": meta["counts"]}):
                say(f"source: reusing {path} ({sum(meta['counts'].values()):,} events)")
                return meta["counts"]
    remove_sqlite(path)
    say(f"source: generate_demo, ~{plan.base:,} events over {DAYS} days into {path}")
    store = Store(f"sqlite:///{path}")
    started = time.perf_counter()
    written = [0, 1]  # page views so far, next million of events to report

    def progress(pageviews: int) -> None:
        written[0] += pageviews
        if written[0] / PAGEVIEW_SHARE >= written[1] * 1_000_000:
            elapsed = time.perf_counter() - started
            say(
                f"  generated ~{written[1]:,}M events ({written[0]:,} page views) "
                f"in {elapsed:.0f} s"
            )
            written[1] += 1

    try:
        summary = generate_demo(
            store,
            pageviews=round(plan.base * PAGEVIEW_SHARE),
            days=DAYS,
            now=NOW,
            seed=SEED,
            progress=progress,
        )
    finally:
        store.close()
    elapsed = time.perf_counter() - started
    total = summary.pageviews + summary.custom_events
    say(
        f"  generated {total:,} events ({summary.pageviews:,} page views, "
        f"{summary.custom_events:,} custom events, {summary.visits:,} visits) in {elapsed:.0f} s "
        f"({total / elapsed:,.0f} events/s)"
    )
    with sqlite3.connect(path) as conn:
        counts = table_counts(conn)
        write_meta(conn, {**wanted, "counts": counts})
    return counts


def day_bounds(param: Callable[[datetime], Any]) -> list[tuple[Any, Any]]:
    """Consecutive [day, next day) spans covering every row of ``table``."""
    start = (NOW - timedelta(days=DAYS + 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    spans = []
    day = start.replace(tzinfo=None)
    end = (NOW + timedelta(days=1)).replace(tzinfo=None)
    while day < end:
        spans.append((param(day), param(day + timedelta(days=1))))
        day += timedelta(days=1)
    spans[0] = (param(datetime(1970, 1, 1)), spans[0][1])
    spans[-1] = (spans[-1][0], param(datetime(9999, 1, 1)))
    return spans


def fill_sqlite(plan: Plan, source_counts: dict[str, int], reuse: bool) -> None:
    path = plan.sqlite_path
    wanted = plan.meta(source_counts)
    if reuse and path.exists():
        with sqlite3.connect(path) as conn:
            if is_complete(conn, wanted):
                say(f"sqlite: reusing {path}")
                return
    remove_sqlite(path)
    Store(f"sqlite:///{path}").close()  # the schema, by footfall's own migrations
    say(f"sqlite: loading {plan.copies} x {plan.base:,} events into {path}")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")  # bench data: no need to survive a power cut
    conn.execute("PRAGMA cache_size=-1000000")
    conn.execute("ATTACH DATABASE ? AS src", (str(plan.source_path),))
    started = time.perf_counter()
    reporter = Reporter("sqlite", started)
    for table, columns in TABLES.items():
        sql = (
            f"INSERT INTO main.{table} ({quoted(columns)}) "
            f"SELECT {copy_expressions(columns, 's.')} "
            f"FROM src.{table} AS s CROSS JOIN {copies_select(plan.copies)} "
            f'WHERE s."timestamp" >= ? AND s."timestamp" < ? '
            f'ORDER BY s."timestamp", copies.k, s.id'
        )
        for low, high in day_bounds(lambda d: d.strftime("%Y-%m-%d %H:%M:%S.%f")):
            conn.execute("BEGIN")
            added = conn.execute(sql, (low, high)).rowcount
            conn.execute("COMMIT")
            reporter.add(added)
    conn.execute("DETACH DATABASE src")
    say(f"  loaded {reporter.total:,} events in {time.perf_counter() - started:.0f} s; ANALYZE")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    write_meta(conn, wanted)
    conn.close()


class Reporter:
    """A progress line per million events."""

    def __init__(self, name: str, started: float) -> None:
        self.name = name
        self.started = started
        self.total = 0
        self.next = 1_000_000

    def add(self, count: int) -> None:
        self.total += count
        while self.total >= self.next:
            elapsed = time.perf_counter() - self.started
            say(f"  {self.name}: {self.next // 1_000_000}M events loaded in {elapsed:.0f} s")
            self.next += 1_000_000


def postgres_url(base: str, schema: str) -> str:
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"


def fill_postgres(plan: Plan, source_counts: dict[str, int], base_url: str, reuse: bool) -> None:
    """The schema ``footfall_bench_<n>``, loaded by footfall's migrations and COPY."""
    url = postgres_url(base_url, plan.schema)
    wanted = plan.meta(source_counts)
    if reuse:
        bench = sa.create_engine(url)
        with bench.connect() as conn:
            complete = is_complete(conn.connection.driver_connection, wanted)
        bench.dispose()
        if complete:
            say(f"postgresql: reusing schema {plan.schema}")
            return
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {plan.schema} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {plan.schema}")
    admin.dispose()
    store = Store(url)  # the schema, by footfall's own migrations
    store.close()
    say(f"postgresql: loading {plan.copies} x {plan.base:,} events into schema {plan.schema}")
    engine = sa.create_engine(url)
    started = time.perf_counter()
    reporter = Reporter("postgresql", started)
    source = sqlite3.connect(plan.source_path)
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        for table, columns in TABLES.items():
            # The base rows go to a temporary table by COPY, then copy by copy into the table.
            with conn.begin():
                conn.exec_driver_sql(
                    f"CREATE TEMPORARY TABLE src_{table} AS SELECT id, {quoted(columns)} "
                    f"FROM {table} WITH NO DATA"
                )
                rows = source.execute(f"SELECT id, {quoted(columns)} FROM {table}")
                with raw.cursor().copy(
                    f"COPY src_{table} (id, {quoted(columns)}) FROM STDIN"
                ) as copy:
                    for row in rows:
                        copy.write_row(row)
                conn.exec_driver_sql(f'CREATE INDEX ON src_{table} ("timestamp")')
                conn.exec_driver_sql(f"ANALYZE src_{table}")
            sql = (
                f"INSERT INTO {table} ({quoted(columns)}) "
                f"SELECT {copy_expressions(columns, 's.')} "
                f"FROM src_{table} AS s CROSS JOIN {copies_select(plan.copies)} "
                f'WHERE s."timestamp" >= %s AND s."timestamp" < %s '
                f'ORDER BY s."timestamp", copies.k, s.id'
            )
            for low, high in day_bounds(lambda d: d):
                with conn.begin():
                    added = conn.exec_driver_sql(sql, (low, high)).rowcount
                reporter.add(added)
            with conn.begin():
                conn.exec_driver_sql(f"DROP TABLE src_{table}")
    source.close()
    say(
        f"  loaded {reporter.total:,} events in {time.perf_counter() - started:.0f} s; "
        "VACUUM ANALYZE"
    )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
        write_meta(conn.connection.driver_connection, wanted)
    engine.dispose()


def fill_duckdb(plan: Plan, source_counts: dict[str, int], reuse: bool) -> Any:
    import duckdb

    path = plan.duckdb_path
    wanted = plan.meta(source_counts)
    if reuse and path.exists():
        con = duckdb.connect(str(path))
        if is_complete(con, wanted):
            say(f"duckdb: reusing {path}")
            return con
        con.close()
    for suffix in ("", ".wal"):
        with suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()
    say(f"duckdb: loading {plan.copies} x {plan.base:,} events into {path}")
    started = time.perf_counter()
    con = duckdb.connect(str(path))
    source = sqlite3.connect(plan.source_path)
    for table, columns in TABLES.items():
        # Through a CSV: DuckDB's sqlite scanner is an extension that cannot be downloaded here.
        csv_path = plan.data_dir / f"footfall_bench_{plan.base}_{table}.csv"
        with csv_path.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["id", *columns])
            rows = source.execute(f"SELECT id, {quoted(columns)} FROM {table}")
            while chunk := rows.fetchmany(50_000):
                writer.writerows(chunk)
        types = {
            c.name: duckdb_type(c) for c in (page_view if table == "page_view" else custom_event).c
        }
        spec = ", ".join(f"'{name}': '{types[name]}'" for name in ["id", *columns])
        con.execute(
            f"CREATE TEMPORARY TABLE src_{table} AS SELECT * FROM read_csv('{csv_path}', "
            f"header = true, columns = {{{spec}}})"
        )
        csv_path.unlink()
        con.execute(
            f"CREATE TABLE {table} AS SELECT {copy_expressions(columns, 's.')} "
            f"FROM src_{table} AS s CROSS JOIN {copies_select(plan.copies)} "
            f'ORDER BY s."timestamp", copies.k, s.id'
        )
        con.execute(f"DROP TABLE src_{table}")
    source.close()
    write_meta(con, wanted)
    con.execute("CHECKPOINT")
    say(f"  loaded in {time.perf_counter() - started:.0f} s")
    return con


def duckdb_type(column: sa.Column) -> str:
    if isinstance(column.type, sa.DateTime):
        return "TIMESTAMP"
    if isinstance(column.type, sa.Boolean):
        return "BOOLEAN"
    if isinstance(column.type, sa.Integer):
        return "BIGINT"
    return "VARCHAR"


# -- timing -----------------------------------------------------------------------------------


@dataclass
class Timing:
    ms: float
    runs: int
    result: Any = None

    def cell(self) -> str:
        value = f"{self.ms:,.0f}" if self.ms >= 100 else f"{self.ms:.1f}"
        return value + ("*" if self.runs == 1 else "")


@dataclass
class BackendResults:
    name: str
    timings: dict[str, dict[str, Timing]] = field(default_factory=dict)
    """range -> query -> timing"""
    sizes: dict[str, str] = field(default_factory=dict)
    page: dict[str, float] = field(default_factory=dict)
    """range -> ms of the queries the dashboard page issues (its one-pass overview in
    place of the separate top stats and visit lists)."""
    filtered: dict[str, float] = field(default_factory=dict)
    """"filter=value" -> ms of the 30-day page's queries with that one filter."""
    event_page: dict[str, float] = field(default_factory=dict)
    """range -> ms of the page of one custom event (its queries and its properties list);
    DuckDB: the properties list only."""
    properties: dict[str, Timing] = field(default_factory=dict)
    """range -> the event's properties list."""

    def total(self, range: str) -> float | None:
        found = self.timings.get(range)
        return sum(t.ms for t in found.values()) if found else None


def measure(call: Callable[[], Any], runs: int, max_seconds: float | None) -> Timing:
    """Median of ``runs`` runs; one run only if it took over ``max_seconds``."""
    times = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - started) * 1000)
        if max_seconds is not None and times[0] > max_seconds * 1000:
            break
    return Timing(statistics.median(times), len(times), result)


def dashboard_calls(q: Queries, period: Period) -> dict[str, Callable[[], Any]]:
    """Every query the dashboard issues for one range, by name."""
    f = Filters()
    calls: dict[str, Callable[[], Any]] = {
        "dashboard_stats": lambda: q.dashboard_stats(period, f),
        "timeseries": lambda: q.timeseries(period, f),
        "top_pages": lambda: q.top_pages(period, f, limit=10),
        "top_referrers": lambda: q.top_referrers(period, f),
        "top_events": lambda: q.top_events(period, f),
    }
    for attribute in BREAKDOWNS:
        calls[f"breakdown:{attribute}"] = lambda a=attribute: q.breakdown(period, f, a)
    calls["realtime"] = q.realtime
    return calls


def build_rollups(name: str, engine: sa.Engine, results: BackendResults, today: bool) -> None:
    """Build the visits (as the upgrade's migration does: the events were loaded around
    the writer) and roll up every finished day (as the server does hourly), timing both."""
    with engine.connect() as conn:
        kept = conn.execute(sa.select(sa.func.count()).select_from(visit)).scalar_one()
    if not kept:
        started = time.perf_counter()
        rebuild_visits(engine)
        seconds = time.perf_counter() - started
        results.sizes["visits"] = f"visit table built from the events in {seconds:.1f} s"
        say(f"  {name}: built the visit table in {seconds:.1f} s")
    started = time.perf_counter()
    days = roll_up(engine, timezone="UTC", now=NOW)
    seconds = time.perf_counter() - started
    results.sizes["rollup"] = f"{days} days rolled up in {seconds:.1f} s"
    say(f"  {name}: rolled up {days} days in {seconds:.1f} s")
    if not today:
        with engine.connect() as conn, conn.begin():
            forget_today(conn)
        say(f"  {name}: without the day in progress's rollups")
        return
    started = time.perf_counter()
    refresh_today(engine, timezone="UTC", now=NOW)
    seconds = time.perf_counter() - started
    results.sizes["today"] = f"the day in progress's rollups refreshed in {seconds:.2f} s"
    say(f"  {name}: refreshed the day in progress's rollups in {seconds:.2f} s")


def time_footfall(
    name: str, engine: sa.Engine, args: argparse.Namespace, explain: bool
) -> tuple[BackendResults, dict[str, list[str]]]:
    q = Queries(engine, timezone="UTC", clock=lambda: NOW, rollups=not args.raw)
    results = BackendResults(name)
    if not args.raw:
        build_rollups(name, engine, results, today=not args.no_today)
    for range in RANGES:
        period = q.period(range)
        timings = {}
        cap = None if range == TARGET_RANGE else args.max_query_seconds
        for query, call in dashboard_calls(q, period).items():
            timings[query] = measure(call, args.runs, cap)
        results.timings[range] = timings
        cells = " ".join(f"{k}={v.cell()}" for k, v in timings.items())
        say(f"  {name} {range}: total {results.total(range):,.0f} ms | {cells}")
        overview = measure(lambda p=period: q.overview(p, Filters()), args.runs, cap)
        page_queries = ("timeseries", "top_pages", "top_events", "realtime")
        results.page[range] = overview.ms + sum(timings[k].ms for k in page_queries)
        say(
            f"  {name} {range}: dashboard page's queries {results.page[range]:,.0f} ms "
            f"(overview {overview.ms:,.0f} ms)"
        )
    time_filtered(q, name, results, args)
    plans = explain_slowest(q, name, results.timings[TARGET_RANGE]) if explain else {}
    return results, plans


def time_filtered(q: Queries, name: str, results: BackendResults, args: argparse.Namespace) -> None:
    """The 30-day page's queries with one filter: the top page, the top referrer source
    other than direct, and the top country (a click on the first row of those lists)."""
    period = q.period(TARGET_RANGE)
    none = Filters()
    source = next(r.source for r in q.top_referrers(period, none) if r.source != DIRECT)
    chosen = {
        "page": q.top_pages(period, none, limit=1)[0].path,
        "source": source,
        "country": q.breakdown(period, none, "country", limit=1)[0].value,
    }
    for key, value in chosen.items():
        f = Filters(**{key: value})
        page = {
            "overview": lambda f=f: q.overview(period, f),
            "timeseries": lambda f=f: q.timeseries(period, f),
            "top_pages": lambda f=f: q.top_pages(period, f, limit=10),
            "top_events": lambda f=f: q.top_events(period, f),
            "realtime": q.realtime,
        }
        timings = {k: measure(call, args.runs, args.max_query_seconds) for k, call in page.items()}
        label = f"{key}={value}"
        results.filtered[label] = sum(t.ms for t in timings.values())
        cells = " ".join(f"{k}={v.cell()}" for k, v in timings.items())
        total = results.filtered[label]
        say(f"  {name} {TARGET_RANGE} {label}: page's queries {total:,.0f} ms | {cells}")
    time_event_page(q, name, results, args)


def time_event_page(
    q: Queries, name: str, results: BackendResults, args: argparse.Namespace
) -> None:
    """The page of the custom event with the most visitors (a click on the first row of the
    top events), with its properties list, over the ranges that outlive raw events."""
    f = Filters(event=EVENT)
    for range in EVENT_RANGES:
        period = q.period(range)
        page = {
            "overview": lambda p=period: q.overview(p, f),
            "timeseries": lambda p=period: q.timeseries(p, f),
            "top_pages": lambda p=period: q.top_pages(p, f, limit=10),
            "top_events": lambda p=period: q.top_events(p, f),
            "properties": lambda p=period: q.event_properties(p, f, EVENT),
            "realtime": q.realtime,
        }
        timings = {k: measure(call, args.runs, args.max_query_seconds) for k, call in page.items()}
        results.event_page[range] = sum(t.ms for t in timings.values())
        results.properties[range] = timings["properties"]
        cells = " ".join(f"{k}={v.cell()}" for k, v in timings.items())
        total = results.event_page[range]
        say(f"  {name} {range} event={EVENT}: page's queries {total:,.0f} ms | {cells}")


@contextmanager
def captured(engine: sa.Engine) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def explain_slowest(q: Queries, name: str, timings: dict[str, Timing]) -> dict[str, list[str]]:
    """EXPLAIN QUERY PLAN (SQLite) or EXPLAIN ANALYZE (PostgreSQL) of the 3 slowest
    queries of the target range, as the statements footfall actually sends."""
    period = q.period(TARGET_RANGE)
    calls = dashboard_calls(q, period)
    # The visits grouping behind top_referrers and the breakdowns is one shape: explain it once.
    shapes: dict[str, str] = {}
    for query in sorted(timings, key=lambda k: timings[k].ms, reverse=True):
        shape = "visits" if query == "top_referrers" or query.startswith("breakdown") else query
        shapes.setdefault(shape, query)
    plans: dict[str, list[str]] = {}
    for query in list(shapes.values())[:3]:
        with captured(q.engine) as statements:
            calls[query]()
        lines: list[str] = []
        with q.engine.connect() as conn:
            for statement, parameters in statements:
                sql = " ".join(statement.split())
                lines.append("-- " + (sql if len(sql) <= 400 else sql[:400] + " ..."))
                if name == "sqlite":
                    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                    depth: dict[int, int] = {0: 0}
                    for node, parent, _, detail in rows:
                        depth[node] = depth.get(parent, 0) + 1
                        lines.append("  " * depth[node] + detail)
                else:
                    rows = conn.exec_driver_sql(
                        "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
                    )
                    lines.extend(row[0] for row in rows)
        plans[f"{name} {TARGET_RANGE} {query}"] = lines
    return plans


class DuckQueries:
    """The same aggregates as footfall's Queries (no filters, UTC), in plain DuckDB SQL."""

    FORMATS = {"hour": "%Y-%m-%d %H:00", "day": "%Y-%m-%d", "month": "%Y-%m"}
    """Labels as footfall's; formatted after grouping on date_trunc (strftime per row is slow)."""

    def __init__(self, con: Any) -> None:
        self.con = con

    def _events(self, columns: str) -> str:
        pv_extra = "1 AS is_pageview, 0 AS interaction"
        ce_extra = "0, CASE WHEN interactive THEN 1 ELSE 0 END"
        where = '"timestamp" >= $start AND "timestamp" < $end'
        return (
            f"SELECT {columns}, {pv_extra} FROM page_view WHERE {where} "
            f"UNION ALL SELECT {columns}, {ce_extra} FROM custom_event WHERE {where}"
        )

    def _visits(self) -> str:
        events = self._events(
            'session_id, visitor_id, "timestamp" AS ts, referrer_source, country, device, '
            "browser, os"
        )
        return (
            f"WITH events AS ({events}), visits AS (SELECT session_id, "
            "min(visitor_id) AS visitor_id, min(ts) AS first_seen, max(ts) AS last_seen, "
            "sum(is_pageview) AS pageviews, sum(interaction) AS interactions, "
            "max(referrer_source) AS source, min(country) AS country, min(device) AS device, "
            "min(browser) AS browser, min(os) AS os FROM events GROUP BY session_id) "
        )

    def _run(self, sql: str, period: Period, **extra: Any) -> list[tuple[Any, ...]]:
        params = {
            "start": period.start.replace(tzinfo=None),
            "end": period.end.replace(tzinfo=None),
            **extra,
        }
        used = {k: v for k, v in params.items() if f"${k}" in sql}
        return self.con.execute(sql, used).fetchall()

    def totals(self, period: Period) -> dict[str, float]:
        sql = self._visits() + (
            "SELECT count(DISTINCT visitor_id), count(*), coalesce(sum(pageviews), 0), "
            "coalesce(sum(CASE WHEN pageviews = 1 AND interactions = 0 THEN 1 ELSE 0 END), 0), "
            "coalesce(avg(epoch(last_seen) - epoch(first_seen)), 0) FROM visits"
        )
        visitors, visits, pageviews, bounces, duration = self._run(sql, period)[0]
        return {
            "visitors": int(visitors),
            "visits": int(visits),
            "pageviews": int(pageviews),
            "bounce_rate": round(100.0 * int(bounces) / visits, 1) if visits else 0.0,
            "visit_duration": round(float(duration), 1),
        }

    def dashboard_stats(self, period: Period) -> tuple[dict[str, float], dict[str, float]]:
        return self.totals(period), self.totals(period.previous())

    def timeseries(self, period: Period) -> list[tuple[Any, ...]]:
        fmt = self.FORMATS[period.interval]
        events = self._events('session_id, visitor_id, "timestamp" AS ts')
        sql = (
            f"WITH events AS ({events}) SELECT strftime(bucket, '{fmt}'), v, s, p FROM ("
            f"SELECT date_trunc('{period.interval}', ts) AS bucket, "
            "count(DISTINCT visitor_id) AS v, count(DISTINCT session_id) AS s, "
            "sum(is_pageview) AS p FROM events GROUP BY bucket)"
        )
        found = {row[0]: tuple(int(v) for v in row[1:]) for row in self._run(sql, period)}
        return [(name, *found.get(name, (0, 0, 0))) for name, _ in period.buckets()]

    def top_pages(self, period: Period) -> list[tuple[Any, ...]]:
        where = '"timestamp" >= $start AND "timestamp" < $end'
        top = self._run(
            "SELECT path, count(DISTINCT visitor_id) AS v, count(*) AS c FROM page_view "
            f"WHERE {where} GROUP BY path ORDER BY v DESC, c DESC, path LIMIT 10",
            period,
        )
        fmt = self.FORMATS[period.interval]
        counts = {
            (p, b): int(n)
            for p, b, n in self._run(
                f"SELECT path, strftime(b, '{fmt}'), n FROM (SELECT path, "
                f"date_trunc('{period.interval}', \"timestamp\") AS b, count(*) AS n "
                f"FROM page_view WHERE {where} AND path IN (SELECT unnest($paths)) "
                "GROUP BY path, b)",
                period,
                paths=[p for p, _, _ in top],
            )
        }
        names = [name for name, _ in period.buckets()]
        return [(p, int(v), int(c), [counts.get((p, n), 0) for n in names]) for p, v, c in top]

    def group_visits(self, period: Period, attribute: str) -> list[tuple[Any, ...]]:
        empty = DIRECT if attribute == "source" else UNKNOWN
        sql = self._visits() + (
            f"SELECT coalesce({attribute}, '{empty}') AS value, count(DISTINCT visitor_id) AS v, "
            "count(*) AS c FROM visits GROUP BY value ORDER BY v DESC, c DESC, value LIMIT 10"
        )
        return [(str(a), int(b), int(c)) for a, b, c in self._run(sql, period)]

    def top_events(self, period: Period) -> list[tuple[Any, ...]]:
        sql = (
            "SELECT name, count(DISTINCT visitor_id) AS v, count(*) AS c FROM custom_event "
            'WHERE "timestamp" >= $start AND "timestamp" < $end '
            "GROUP BY name ORDER BY v DESC, c DESC, name LIMIT 10"
        )
        return [(str(a), int(b), int(c)) for a, b, c in self._run(sql, period)]

    def realtime(self) -> int:
        since = (NOW - REALTIME_WINDOW).replace(tzinfo=None)
        sql = (
            "SELECT count(DISTINCT visitor_id) FROM (SELECT visitor_id FROM page_view "
            'WHERE "timestamp" >= $since UNION ALL SELECT visitor_id FROM custom_event '
            'WHERE "timestamp" >= $since)'
        )
        return int(self.con.execute(sql, {"since": since}).fetchone()[0])

    def event_properties(self, period: Period, name: str) -> list[tuple[Any, ...]]:
        """Each key and value of the event's properties (footfall's text of a JSON value:
        a string unquoted, ``null`` for null), by visitors."""
        sql = (
            "SELECT j.key, coalesce(j.value->>'$', 'null') AS value, "
            "count(DISTINCT visitor_id) AS v, count(*) AS c "
            "FROM custom_event, json_each(properties) AS j "
            'WHERE "timestamp" >= $start AND "timestamp" < $end AND name = $name '
            "GROUP BY j.key, value ORDER BY j.key, v DESC, c DESC, value LIMIT 100"
        )
        rows = self._run(sql, period, name=name)
        return [(str(k), str(v), int(a), int(b)) for k, v, a, b in rows]

    def calls(self, period: Period) -> dict[str, Callable[[], Any]]:
        calls: dict[str, Callable[[], Any]] = {
            "dashboard_stats": lambda: self.dashboard_stats(period),
            "timeseries": lambda: self.timeseries(period),
            "top_pages": lambda: self.top_pages(period),
            "top_referrers": lambda: self.group_visits(period, "source"),
            "top_events": lambda: self.top_events(period),
        }
        for attribute in BREAKDOWNS:
            calls[f"breakdown:{attribute}"] = lambda a=attribute: self.group_visits(period, a)
        calls["realtime"] = self.realtime
        return calls


def time_duckdb(con: Any, args: argparse.Namespace) -> BackendResults:
    duck = DuckQueries(con)
    results = BackendResults("duckdb")
    earliest = con.execute('SELECT min("timestamp") FROM page_view').fetchone()[0]
    for range in RANGES:
        # The periods footfall's Queries.period resolves, "all" from the first page view.
        period = resolve_period(
            range, timezone="UTC", now=NOW, earliest=earliest.replace(tzinfo=UTC)
        )
        cap = None if range == TARGET_RANGE else args.max_query_seconds
        timings = {name: measure(call, args.runs, cap) for name, call in duck.calls(period).items()}
        results.timings[range] = timings
        cells = " ".join(f"{k}={v.cell()}" for k, v in timings.items())
        say(f"  duckdb {range}: total {results.total(range):,.0f} ms | {cells}")
        if range in EVENT_RANGES:
            timing = measure(lambda p=period: duck.event_properties(p, EVENT), args.runs, cap)
            results.properties[range] = timing
            results.event_page[range] = timing.ms
            say(f"  duckdb {range} event={EVENT}: properties {timing.cell()} ms")
    return results


_STATS = ("visitors", "visits", "pageviews", "bounce_rate", "visit_duration")


def comparable(name: str, result: Any) -> Any:
    """Footfall's result objects in DuckDB's shapes (durations rounded to the second)."""
    if name == "dashboard_stats":
        parts = result
        if not isinstance(result, tuple):  # footfall's DashboardStats
            parts = tuple(
                {k: getattr(getattr(result, k), which) for k in _STATS}
                for which in ("value", "previous")
            )
        return tuple(
            {k: round(v) if k == "visit_duration" else v for k, v in part.items()} for part in parts
        )
    if name == "realtime":
        return result if isinstance(result, int) else result.visitors
    if name == "timeseries" and not isinstance(result, list):
        result = result.points
    return [tuple(asdict(r).values()) if is_dataclass(r) else tuple(r) for r in result]


def compare(results: list[BackendResults]) -> list[str]:
    """Where the backends' 30d answers (and the event's properties, each range) differ."""
    if len(results) < 2:
        return []
    differences = []
    reference = results[0]
    for other in results[1:]:
        for query in QUERY_NAMES:
            a = comparable(query, reference.timings[TARGET_RANGE][query].result)
            b = comparable(query, other.timings[TARGET_RANGE][query].result)
            if a != b:
                differences.append(
                    f"{query}: {BACKEND_LABELS[reference.name]} {str(a)[:200]} != "
                    f"{BACKEND_LABELS[other.name]} {str(b)[:200]}"
                )
        for range in EVENT_RANGES:
            mine, theirs = reference.properties.get(range), other.properties.get(range)
            if mine is None or theirs is None:
                continue
            a, b = comparable("properties", mine.result), comparable("properties", theirs.result)
            if a != b:
                differences.append(
                    f"properties {range}: {BACKEND_LABELS[reference.name]} {str(a)[:200]} != "
                    f"{BACKEND_LABELS[other.name]} {str(b)[:200]}"
                )
    return differences


# -- report -----------------------------------------------------------------------------------


def machine_line(pg_engine: sa.Engine | None) -> str:
    cpu = ""
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    parts = [
        f"{os.cpu_count()} cores ({cpu})" if cpu else f"{os.cpu_count()} cores",
        f"Python {platform.python_version()}",
        f"SQLite {sqlite3.sqlite_version}",
    ]
    if pg_engine is not None:
        with pg_engine.connect() as conn:
            version = conn.exec_driver_sql("SHOW server_version").scalar()
            settings = {
                name: conn.exec_driver_sql(f"SHOW {name}").scalar()
                for name in ("shared_buffers", "work_mem", "max_parallel_workers_per_gather")
            }
        extra = ", ".join(f"{k}={v}" for k, v in settings.items())
        parts.append(f"PostgreSQL {version.split()[0]} ({extra})")
    with suppress(ImportError):
        import duckdb

        parts.append(f"DuckDB {duckdb.__version__}")
    return "machine: " + "; ".join(parts)


def print_table(plan: Plan, results: list[BackendResults], counts: dict[str, int]) -> None:
    width = 13
    labels = [BACKEND_LABELS[r.name] for r in results]
    say("")
    total_events = sum(counts.values())
    say(
        f"== {total_events:,} events ({counts['page_view']:,} page views, "
        f"{counts['custom_event']:,} custom events; {plan.copies} x {plan.base:,}) =="
    )
    say(f"{TARGET_RANGE} range, median of runs, ms (* = ran once: slower than the cap)")
    say(f"{'query':<20}" + "".join(f"{label:>{width}}" for label in labels))
    for query in QUERY_NAMES:
        cells = [r.timings[TARGET_RANGE][query].cell() for r in results]
        say(f"{query:<20}" + "".join(f"{c:>{width}}" for c in cells))
    say("-" * (20 + width * len(results)))
    say("whole dashboard (sum of medians, ms)")
    for range in RANGES:
        cells = [f"{r.total(range):,.0f}" for r in results]
        say(f"{range:<20}" + "".join(f"{c:>{width}}" for c in cells))
    say(
        "data: "
        + "; ".join(f"{BACKEND_LABELS[r.name]} {r.sizes.get('size', '?')}" for r in results)
    )
    for r in results:
        for key in ("visits", "rollup", "today"):
            if key in r.sizes:
                say(f"{key}, {BACKEND_LABELS[r.name]}: {r.sizes[key]}")
    if any(r.page for r in results):
        say("the dashboard page's queries (overview, timeseries, top pages, top events, realtime)")
        for range in RANGES:
            cells = [f"{r.page[range]:,.0f}" if r.page else "" for r in results]
            say(f"{range:<20}" + "".join(f"{c:>{width}}" for c in cells))
    filters = sorted({label for r in results for label in r.filtered})
    if filters:
        say(f"{TARGET_RANGE} with one filter: the dashboard page's queries (same list)")
        for label in filters:
            cells = [f"{r.filtered[label]:,.0f}" if label in r.filtered else "" for r in results]
            say(f"{label[:19]:<20}" + "".join(f"{c:>{width}}" for c in cells))
    if any(r.event_page for r in results):
        say(f"the page of event={EVENT} with its properties (DuckDB: the properties only)")
        for range in EVENT_RANGES:
            cells = [f"{r.event_page[range]:,.0f}" if r.event_page else "" for r in results]
            say(f"{range:<20}" + "".join(f"{c:>{width}}" for c in cells))
    for r in results:
        if r.name == "duckdb":
            continue
        total = r.total(TARGET_RANGE) or 0.0
        met = total < TARGET_MS
        if plan.events >= TARGET_EVENTS:
            verdict = "MET" if met else f"NOT met ({total / TARGET_MS:.1f}x over)"
        else:
            side = "under" if met else "over"
            verdict = f"{side} {TARGET_MS:.0f} ms at this size (the target is for 10M)"
        say(
            f"target (30-day dashboard < {TARGET_MS:.0f} ms on {TARGET_EVENTS:,} events), "
            f"{BACKEND_LABELS[r.name]}: {total:,.0f} ms: {verdict}"
        )


def human(size: int) -> str:
    return f"{size / 1e6:,.0f} MB" if size >= 1e6 else f"{size / 1e3:,.0f} kB"


def pg_size(engine: sa.Engine, schema: str) -> str:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT c.relname, pg_total_relation_size(c.oid), pg_relation_size(c.oid) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname IN ('page_view', 'custom_event')",
            (schema,),
        ).all()
    total = sum(r[1] for r in rows)
    detail = ", ".join(
        f"{name} {human(heap)} + indexes {human(t - heap)}" for name, t, heap in rows
    )
    return f"{human(total)} ({detail})"


# -- main -------------------------------------------------------------------------------------


def run_size(
    plan: Plan, args: argparse.Namespace, pg_admin: sa.Engine | None
) -> tuple[list[BackendResults], dict[str, list[str]]]:
    source_counts = ensure_source(plan, args.reuse)
    counts = plan.meta(source_counts)["counts"]
    results: list[BackendResults] = []
    plans: dict[str, list[str]] = {}
    if "sqlite" in args.backends:
        fill_sqlite(plan, source_counts, args.reuse)
        store = Store(f"sqlite:///{plan.sqlite_path}")
        try:
            say("sqlite: timing")
            found, explained = time_footfall("sqlite", store.engine, args, args.explain)
        finally:
            store.close()
        found.sizes["size"] = human(sqlite_size(plan.sqlite_path)) + " file"
        results.append(found)
        plans.update(explained)
    if "postgresql" in args.backends:
        assert pg_admin is not None
        fill_postgres(plan, source_counts, args.postgres, args.reuse)
        store = Store(postgres_url(args.postgres, plan.schema))
        try:
            say("postgresql: timing")
            found, explained = time_footfall("postgresql", store.engine, args, args.explain)
        finally:
            store.close()
        found.sizes["size"] = pg_size(pg_admin, plan.schema)
        results.append(found)
        plans.update(explained)
    if not args.no_duckdb:
        con = fill_duckdb(plan, source_counts, args.reuse)
        try:
            say("duckdb: timing")
            found = time_duckdb(con, args)
        finally:
            con.close()
        found.sizes["size"] = human(plan.duckdb_path.stat().st_size) + " file"
        results.append(found)
    print_table(plan, results, counts)
    differences = compare(results)
    if differences:
        say("results DIFFER between backends (30d):")
        for line in differences:
            say("  " + line)
    elif len(results) > 1:
        say("results: all backends give the same 30d answers")
    if args.explain:
        for title, lines in plans.items():
            say(f"\n-- plan: {title}")
            for line in lines:
                say(line)
    if not args.keep:
        remove_sqlite(plan.sqlite_path)
        remove_sqlite(plan.source_path)
        for suffix in ("", ".wal"):
            with suppress(FileNotFoundError):
                Path(f"{plan.duckdb_path}{suffix}").unlink()
        if pg_admin is not None and "postgresql" in args.backends:
            with pg_admin.connect() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {plan.schema} CASCADE")
    return results, plans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument(
        "--backends", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"]
    )
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/footfall-bench"))
    parser.add_argument(
        "--base",
        type=int,
        default=1_000_000,
        help="events generated by generate_demo "
        "(larger sizes are copies of it); 0: generate every event",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-query-seconds", type=float, default=20.0)
    parser.add_argument("--keep", action="store_true", help="keep the data for --reuse")
    parser.add_argument("--reuse", action="store_true", help="skip loading data that is there")
    parser.add_argument("--explain", action="store_true", help="plans of the 3 slowest 30d queries")
    parser.add_argument("--no-duckdb", action="store_true")
    parser.add_argument(
        "--raw", action="store_true", help="time the raw reference queries, without rollups"
    )
    parser.add_argument(
        "--no-today",
        action="store_true",
        help="without the day in progress's rollups: today read from visits and raw events",
    )
    args = parser.parse_args()
    if not args.no_duckdb:
        try:
            import duckdb  # noqa: F401
        except ImportError:
            sys.exit(
                "DuckDB (the reference) is a bench-only dependency: "
                ".venv/bin/pip install duckdb, or pass --no-duckdb"
            )
        say("note: DuckDB is a bench-only dependency (not one of footfall's)")
    args.data_dir.mkdir(parents=True, exist_ok=True)
    pg_admin = None
    if "postgresql" in args.backends:
        pg_admin = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    machine = machine_line(pg_admin)
    say(machine)
    say(f"traffic: {DAYS} days ending {NOW.isoformat()}, seed {SEED}")
    started = time.perf_counter()
    for events in args.events:
        plan = Plan.for_size(events, args.base, args.data_dir)
        run_size(plan, args, pg_admin)
        say(machine)
    if pg_admin is not None:
        pg_admin.dispose()
    say(f"bench took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
