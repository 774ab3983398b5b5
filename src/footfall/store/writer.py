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

from footfall.ingest.event import Event
from footfall.store.batching import BatchThread
from footfall.store.dialect import insert_for
from footfall.store.schema import custom_event, dropped_event, page_view, visit_session

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
        self._session_upsert = _session_upsert(self._dialect)
        self._dropped_upsert = _dropped_upsert(self._dialect)
        self._thread: BatchThread[Event, StoreUnavailable | None] = BatchThread(
            "footfall-writer",
            self._commit,
            max_batch_size=max_batch_size,
            idle=self._flush_dropped,
            idle_interval=idle_flush,
        )

    async def write(self, event: Event) -> None:
        """Queue ``event`` and return once it is committed (raises StoreUnavailable)."""
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

    def _commit(self, events: list[Event]) -> list[StoreUnavailable | None]:
        try:
            self._write(events, self._take_dropped())
        except OperationalError as error:  # the database is unreachable or locked
            log.error("footfall could not write %d events: %s", len(events), error)
            return [StoreUnavailable(str(error))] * len(events)
        except DBAPIError:
            # One bad row must not cost the others: write them one by one to find it.
            log.exception("footfall batch of %d events failed; retrying one by one", len(events))
            return [self._write_alone(event) for event in events]
        return [None] * len(events)

    def _write_alone(self, event: Event) -> StoreUnavailable | None:
        try:
            self._write([event], Counter())
        except DBAPIError as error:
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

    def _write(self, events: list[Event], dropped: Counter[tuple[date, str]]) -> None:
        pageviews = [e for e in events if e.is_pageview]
        customs = [e for e in events if not e.is_pageview]
        visits = _latest_visits(events)
        options = {"sqlite_begin": "IMMEDIATE"} if self._dialect == "sqlite" else {}
        with self._engine.connect().execution_options(**options) as conn, conn.begin():
            if pageviews:
                self._pageview_insert.execute(conn, pageviews)
            if customs:
                self._custom_insert.execute(conn, customs)
            if visits:
                conn.execute(self._session_upsert, visits)
            if dropped:
                conn.execute(
                    self._dropped_upsert,
                    [{"day": d, "reason": r, "count": n} for (d, r), n in dropped.items()],
                )


def _session_upsert(dialect: str) -> Any:
    """Record the visit's latest event; never move ``last_seen`` backwards when two workers
    race."""
    statement = insert_for(dialect, visit_session)
    return statement.on_conflict_do_update(
        index_elements=["visitor_id"],
        set_={
            "session_id": statement.excluded.session_id,
            "last_seen": statement.excluded.last_seen,
        },
        where=visit_session.c.last_seen <= statement.excluded.last_seen,
    )


def _dropped_upsert(dialect: str) -> Any:
    statement = insert_for(dialect, dropped_event)
    return statement.on_conflict_do_update(
        index_elements=["day", "reason"],
        set_={"count": dropped_event.c.count + statement.excluded["count"]},
    )


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


_DIMENSIONS = (
    "hostname",
    "referrer",
    "referrer_source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "country",
    "device",
    "browser",
    "browser_version",
    "os",
    "os_version",
    "visitor_id",
    "session_id",
)
_PAGEVIEW_COLUMNS = ("timestamp", "path", *_DIMENSIONS)
_CUSTOM_COLUMNS = ("timestamp", "name", "path", "properties", "interactive", *_DIMENSIONS)


class _FastInsert:
    """A multi-row INSERT handed to the driver as plain tuples.

    Core's per-row parameter processing costs more than the insert itself on the hot path,
    so values are prepared here the way Core would store them: naive UTC timestamps (as
    SQLAlchemy's text format on SQLite), properties as JSON text.
    """

    def __init__(self, engine: Engine, table: Table, columns: tuple[str, ...]) -> None:
        self._columns = columns
        self._sqlite = engine.dialect.name == "sqlite"
        marker = "?" if self._sqlite else "%s"  # sqlite3 is qmark, psycopg is format
        names = ", ".join(engine.dialect.identifier_preparer.quote(c) for c in columns)
        self.sql = (
            f"INSERT INTO {table.name} ({names}) VALUES ({', '.join([marker] * len(columns))})"
        )

    def execute(self, conn: Connection, events: list[Event]) -> None:
        conn.exec_driver_sql(self.sql, [self._values(e) for e in events])

    def _values(self, event: Event) -> tuple[Any, ...]:
        values = []
        for column in self._columns:
            if column == "timestamp":
                moment = _naive_utc(event.timestamp)
                values.append(moment.strftime(_SQLITE_DATETIME) if self._sqlite else moment)
            elif column == "properties":
                props = event.properties
                values.append(orjson.dumps(props).decode() if props else None)
            elif column == "name":
                values.append(event.name)
            else:
                values.append(getattr(event, column))
        return tuple(values)


_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's storage format for SQLite DATETIME


def _latest_visits(events: Iterable[Event]) -> list[dict[str, Any]]:
    latest: dict[int, Event] = {}
    for event in events:
        seen = latest.get(event.visitor_id)
        if seen is None or seen.timestamp <= event.timestamp:
            latest[event.visitor_id] = event
    return [
        {
            "visitor_id": e.visitor_id,
            "session_id": e.session_id,
            "last_seen": _naive_utc(e.timestamp),
        }
        for e in latest.values()
    ]
