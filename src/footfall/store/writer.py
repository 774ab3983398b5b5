"""Group commit: one thread writes whatever events have queued up in one transaction, and
each sender is answered only once its event is committed.

While a transaction is being committed (an fsync), new events queue; the next transaction
takes them all. So under load many requests share one fsync, and at rest an event waits
for exactly one. Nothing is acknowledged before it is on disk, which is why a kill -9
loses no acknowledged event.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Table
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from footfall.ingest.event import ENGAGED_VIEW_AGE, Engagement, Event
from footfall.store.batching import BatchThread
from footfall.store.database import write_connection
from footfall.store.dialect import insert_for
from footfall.store.schema import (
    DIMENSIONS,
    PLACE,
    custom_event,
    dropped_event,
    page_view,
    visit,
    visit_session,
)
from footfall.store.visits import VISIT_COLUMNS, visit_rows, visit_upsert_suffix

log = logging.getLogger(__name__)


class StoreUnavailable(Exception):
    """The database could not take the event; the sender should retry later."""


class BatchWriter:
    """Durable, batched writes of events, visits and dropped-event counts."""

    def __init__(self, engine: Engine, *, max_batch_size: int = 1000, idle_flush: float = 5.0):
        self._engine = engine
        self._dialect = engine.dialect.name
        self._dropped: Counter[tuple[date, str]] = Counter()
        self._dropped_lock = threading.Lock()
        self._pageview_insert = _FastInsert(engine, page_view, _PAGEVIEW_COLUMNS)
        self._custom_insert = _FastInsert(engine, custom_event, _CUSTOM_COLUMNS)
        # The same spelling on SQLite and PostgreSQL; last_seen never moves backwards when
        # two workers race.
        self._visit_upsert = _FastInsert(
            engine,
            visit_session,
            ("visitor_id", "session_id", "last_seen"),
            " ON CONFLICT (visitor_id) DO UPDATE SET session_id = excluded.session_id,"
            " last_seen = excluded.last_seen"
            " WHERE visit_session.last_seen <= excluded.last_seen",
        )
        self._visit_insert = _FastInsert(engine, visit, VISIT_COLUMNS, visit_upsert_suffix())
        self._dropped_upsert = _dropped_upsert(self._dialect)
        self._engagement_sql = _engagement_statements(engine.dialect.name)
        self._thread: BatchThread[Event | Engagement, StoreUnavailable | None] = BatchThread(
            "footfall-writer",
            self._commit,
            max_batch_size=max_batch_size,
            idle=self._flush_dropped,
            idle_interval=idle_flush,
        )

    async def write(self, event: Event | Engagement) -> None:
        """Queue ``event`` (or an engagement) and return once it is committed (raises
        StoreUnavailable)."""
        await self._thread.submit(event)

    def write_sync(self, event: Event, timeout: float | None = 30.0) -> None:
        """The same for threads without an event loop (WSGI views, scripts)."""
        self._thread.submit_sync(event, timeout)

    def write_now(self, events: list[Event]) -> None:
        """Write ``events`` in one transaction on the calling thread, bypassing the queue:
        for bulk loads (demo data, imports) that need no per-event acknowledgement."""
        self._write(events, Counter())

    def count_dropped(self, day: date, reason: str) -> None:
        """Count a filtered event; counts are written with the next batch (or within
        ``idle_flush`` seconds) and are not acknowledged individually."""
        with self._dropped_lock:
            self._dropped[(day, reason)] += 1

    def close(self, timeout: float = 30.0) -> None:
        """Write everything still queued, and the counts, then stop the thread."""
        self._thread.close(timeout)

    def _commit(self, events: list[Event | Engagement]) -> list[StoreUnavailable | None]:
        try:
            self._write(events, self._take_dropped())
        except (OperationalError, PoolTimeout) as error:  # unreachable, locked, or no connection
            log.error("footfall could not write %d events: %s", len(events), error)
            return [StoreUnavailable(str(error))] * len(events)
        except DBAPIError:
            # One bad row must not cost the others: write them one by one to find it.
            log.exception("footfall batch of %d events failed; retrying one by one", len(events))
            return [self._write_alone(event) for event in events]
        return [None] * len(events)

    def _write_alone(self, event: Event | Engagement) -> StoreUnavailable | None:
        try:
            self._write([event], Counter())
        except (DBAPIError, PoolTimeout) as error:
            return StoreUnavailable(str(error))
        return None

    def _take_dropped(self) -> Counter[tuple[date, str]]:
        with self._dropped_lock:
            taken, self._dropped = self._dropped, Counter()
        return taken

    def _flush_dropped(self) -> None:
        dropped = self._take_dropped()
        if dropped:
            self._write([], dropped)

    def _write(self, items: list[Any], dropped: Counter[tuple[date, str]]) -> None:
        events: list[Event] = [e for e in items if isinstance(e, Event)]
        engaged = [self._engagement_values(e) for e in items if isinstance(e, Engagement)]
        pageviews = [self._pageview_insert.event_values(e) for e in events if e.is_pageview]
        customs = [self._custom_insert.event_values(e) for e in events if not e.is_pageview]
        visits = [
            (e.visitor_id, e.session_id, self._visit_upsert.timestamp(e.timestamp))
            for e in _latest_visits(events)
        ]
        # Rounds of at most one row per visit: one statement may not update a row twice.
        rounds = visit_rows(events, self._visit_insert.timestamp, self._visit_insert.cut)
        with write_connection(self._engine) as conn, conn.begin():
            if pageviews:
                self._pageview_insert.execute(conn, pageviews)
            if customs:
                self._custom_insert.execute(conn, customs)
            if visits:
                self._visit_upsert.execute(conn, visits)
            for rows in rounds:
                self._visit_insert.execute(conn, rows)
            if engaged:  # after the page views: one may be in this very batch
                page_update, visit_update = self._engagement_sql
                conn.exec_driver_sql(visit_update, [visit for visit, _ in engaged])
                conn.exec_driver_sql(page_update, [page for _, page in engaged])
            if dropped:
                conn.execute(
                    self._dropped_upsert,
                    [{"day": d, "reason": r, "count": n} for (d, r), n in dropped.items()],
                )

    def _engagement_values(self, engagement: Engagement) -> tuple[tuple[Any, ...], ...]:
        """The parameters of ``_engagement_statements``: the visit's, the page view's."""
        path = self._pageview_insert.cut("path", engagement.path)
        session, engaged = engagement.session_id, engagement.engaged_ms
        depth = engagement.scroll_depth
        since = self._pageview_insert.timestamp(engagement.timestamp - ENGAGED_VIEW_AGE)
        return (engaged, session, path, since), (engaged, depth, depth, session, path, since)


def _engagement_statements(dialect: str) -> tuple[str, str]:
    """Add an engagement to the visit's latest view of its page, and to the visit's
    engaged time, only if it has such a view: so a visit's engaged time is always the sum
    over its page views, whichever the reports read. Only a view of the last 30 minutes
    takes it: a day is rolled up at 00:35, so no engagement changes a rolled-up view."""
    m = "?" if dialect == "sqlite" else "%s"
    page = (
        f"UPDATE page_view SET engaged_ms = COALESCE(engaged_ms, 0) + {m}, "
        f"scroll_depth = CASE WHEN scroll_depth IS NULL OR scroll_depth < {m} THEN {m} "
        "ELSE scroll_depth END "
        f"WHERE id = (SELECT id FROM page_view WHERE session_id = {m} AND path = {m} "
        f"AND timestamp >= {m} ORDER BY timestamp DESC, id DESC LIMIT 1)"
    )
    visit = (
        f"UPDATE visit SET engaged_ms = engaged_ms + {m} WHERE session_id = {m} AND EXISTS "
        "(SELECT 1 FROM page_view WHERE session_id = visit.session_id "
        f"AND path = {m} AND timestamp >= {m})"
    )
    return page, visit


def _dropped_upsert(dialect: str) -> Any:
    statement = insert_for(dialect, dropped_event)
    return statement.on_conflict_do_update(
        index_elements=["day", "reason"],
        set_={"count": dropped_event.c.count + statement.excluded["count"]},
    )


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


_PAGEVIEW_COLUMNS = (
    "timestamp",
    "path",
    "properties",
    *DIMENSIONS,
    "engaged_ms",
    "scroll_depth",
    *PLACE,
)
_CUSTOM_COLUMNS = ("timestamp", "name", "path", "properties", "interactive", *DIMENSIONS, *PLACE)


class _FastInsert:
    """Multi-row INSERTs handed to the driver as flat parameter lists.

    Why not Core's executemany: its per-row parameter processing costs more than the insert,
    and the SQLite driver releases and re-takes the GIL for every row, so a busy event loop
    makes each row wait for the interpreter's switch interval. One statement per chunk of
    rows takes the GIL a handful of times per batch instead. Values are prepared the way
    Core stores them: naive UTC timestamps (SQLAlchemy's text format on SQLite), properties
    as JSON text, and text cut to its column's length, since hooks may edit an event after
    validation and derived values (a browser version, a host from a header) are unbounded.
    """

    def __init__(
        self, engine: Engine, table: Table, columns: tuple[str, ...], suffix: str = ""
    ) -> None:
        self._columns = tuple(
            (name, getattr(table.c[name].type, "length", None)) for name in columns
        )
        self._lengths = dict(self._columns)
        self._sqlite = engine.dialect.name == "sqlite"
        marker = "?" if self._sqlite else "%s"  # sqlite3 is qmark, psycopg is format
        quote = engine.dialect.identifier_preparer.quote
        self._head = f"INSERT INTO {table.name} ({', '.join(quote(c) for c in columns)}) VALUES "
        self._row = f"({', '.join([marker] * len(columns))})"
        self._suffix = suffix
        # Stay under SQLite's default limit of 32,766 bound parameters per statement.
        self._rows_per_statement = 30_000 // len(columns)
        self._sql: dict[int, str] = {}

    def execute(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        step = self._rows_per_statement
        for start in range(0, len(rows), step):
            chunk = rows[start : start + step]
            conn.exec_driver_sql(
                self._statement(len(chunk)), tuple(v for row in chunk for v in row)
            )

    def _statement(self, count: int) -> str:
        sql = self._sql.get(count)
        if sql is None:
            sql = f"{self._head}{', '.join([self._row] * count)}{self._suffix}"
            if len(self._sql) < 256:
                self._sql[count] = sql
        return sql

    def event_values(self, event: Event) -> tuple[Any, ...]:
        values = []
        for column, length in self._columns:
            if column == "timestamp":
                values.append(self.timestamp(event.timestamp))
            elif column == "properties":
                props = event.properties
                values.append(orjson.dumps(props).decode() if props else None)
            else:
                value = getattr(event, column)
                if length is not None and value is not None and len(value) > length:
                    value = value[:length]
                values.append(value)
        return tuple(values)

    def cut(self, column: str, value: Any) -> Any:
        """``value`` cut to the length of ``column``, as the database would refuse it."""
        length = self._lengths.get(column)
        if length is not None and value is not None and len(value) > length:
            return value[:length]
        return value

    def timestamp(self, moment: datetime) -> Any:
        naive = _naive_utc(moment)
        return naive.strftime(_SQLITE_DATETIME) if self._sqlite else naive


_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's storage format for SQLite DATETIME


def _latest_visits(events: Iterable[Event]) -> list[Event]:
    """The latest event of each visitor in the batch."""
    latest: dict[int, Event] = {}
    for event in events:
        seen = latest.get(event.visitor_id)
        if seen is None or seen.timestamp <= event.timestamp:
            latest[event.visitor_id] = event
    return list(latest.values())
