"""Group commit: one thread writes whatever events have queued up in one transaction, and
each sender is answered only once its event is committed.

While a transaction is being committed (an fsync), new events queue; the next transaction
takes them all. So under load many requests share one fsync, and at rest an event waits
for exactly one. Nothing is acknowledged before it is on disk, which is why a kill -9
loses no acknowledged event.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
import threading
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import orjson
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from footfall.ingest.event import Event
from footfall.store.dialect import insert_for
from footfall.store.schema import custom_event, dropped_event, page_view, visit_session

log = logging.getLogger(__name__)

_STOP = object()

Waiter = asyncio.Future[None] | concurrent.futures.Future[None]
"""Whoever waits for a commit: an asyncio future on some event loop, or a thread's future."""
_Wakeups = list[tuple[asyncio.Future[None], BaseException | None]]


class StoreUnavailable(Exception):
    """The database could not take the event; the sender should retry later."""


class _Pending:
    """One queued event and whoever waits for its commit."""

    __slots__ = ("event", "waiter")

    def __init__(self, event: Event, waiter: Waiter) -> None:
        self.event = event
        self.waiter = waiter


class BatchWriter:
    def __init__(self, engine: Engine, *, max_batch_size: int = 1000, idle_flush: float = 5.0):
        self._engine = engine
        self._dialect = engine.dialect.name
        self._max_batch_size = max_batch_size
        self._idle_flush = idle_flush
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._dropped: Counter[tuple[date, str]] = Counter()
        self._dropped_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._session_upsert = _session_upsert(self._dialect)
        self._dropped_upsert = _dropped_upsert(self._dialect)

    # -- producers -------------------------------------------------------------------------

    async def write(self, event: Event) -> None:
        """Queue ``event`` and return once it is committed (raises StoreUnavailable)."""
        self._ensure_started()
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put(_Pending(event, waiter))
        await waiter

    def write_sync(self, event: Event, timeout: float | None = 30.0) -> None:
        """The same for threads without an event loop (WSGI views, scripts)."""
        self._ensure_started()
        waiter: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._queue.put(_Pending(event, waiter))
        waiter.result(timeout)

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
        """Write everything still queued, then stop the thread."""
        thread = self._thread
        if thread is None:
            self._flush_dropped_now()
            return
        self._queue.put(_STOP)
        thread.join(timeout)
        self._thread = None

    # -- the writer thread -----------------------------------------------------------------

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="footfall-writer", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            try:
                first = self._queue.get(timeout=self._idle_flush)
            except queue.Empty:
                self._flush_dropped_now()
                continue
            batch: list[_Pending] = []
            item = first
            while True:
                if item is _STOP:
                    stopping = True
                else:
                    batch.append(item)
                if len(batch) >= self._max_batch_size:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            self._commit(batch)
        self._flush_dropped_now()

    def _commit(self, batch: list[_Pending]) -> None:
        failures: dict[int, BaseException] = {}
        try:
            self._write([p.event for p in batch], self._take_dropped())
        except OperationalError as error:  # the database is unreachable or locked
            log.error("footfall could not write %d events: %s", len(batch), error)
            failures = {i: StoreUnavailable(str(error)) for i in range(len(batch))}
        except DBAPIError:
            # One bad row must not cost the others: write them one by one to find it.
            log.exception("footfall batch of %d events failed; retrying one by one", len(batch))
            for i, pending in enumerate(batch):
                try:
                    self._write([pending.event], Counter())
                except DBAPIError as error:
                    failures[i] = StoreUnavailable(str(error))
        except BaseException as error:  # never leave a sender waiting forever
            log.exception("footfall writer failed")
            failures = {i: StoreUnavailable(repr(error)) for i in range(len(batch))}
        _resolve(batch, failures)

    def _take_dropped(self) -> Counter[tuple[date, str]]:
        with self._dropped_lock:
            taken, self._dropped = self._dropped, Counter()
        return taken

    def _flush_dropped_now(self) -> None:
        dropped = self._take_dropped()
        if not dropped:
            return
        try:
            self._write([], dropped)
        except DBAPIError:
            log.exception("footfall could not write the dropped-event counts")

    def _write(self, events: list[Event], dropped: Counter[tuple[date, str]]) -> None:
        pageviews = [_row(e) for e in events if e.is_pageview]
        customs = [_custom_row(e) for e in events if not e.is_pageview]
        visits = _latest_visits(events)
        options = {"sqlite_begin": "IMMEDIATE"} if self._dialect == "sqlite" else {}
        with self._engine.connect().execution_options(**options) as conn, conn.begin():
            if pageviews:
                conn.execute(page_view.insert(), pageviews)
            if customs:
                conn.execute(custom_event.insert(), customs)
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


def _row(event: Event) -> dict[str, Any]:
    return {
        "timestamp": _naive_utc(event.timestamp),
        "path": event.path,
        "hostname": event.hostname,
        "referrer": event.referrer,
        "referrer_source": event.referrer_source,
        "utm_source": event.utm_source,
        "utm_medium": event.utm_medium,
        "utm_campaign": event.utm_campaign,
        "utm_content": event.utm_content,
        "utm_term": event.utm_term,
        "country": event.country,
        "device": event.device,
        "browser": event.browser,
        "browser_version": event.browser_version,
        "os": event.os,
        "os_version": event.os_version,
        "visitor_id": event.visitor_id,
        "session_id": event.session_id,
    }


def _custom_row(event: Event) -> dict[str, Any]:
    row = _row(event)
    row["name"] = event.name
    row["interactive"] = event.interactive
    row["properties"] = orjson.dumps(event.properties).decode() if event.properties else None
    return row


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


def _resolve(batch: list[_Pending], failures: dict[int, BaseException]) -> None:
    """Wake every sender; asyncio waiters are woken with one call per event loop."""
    by_loop: dict[asyncio.AbstractEventLoop, _Wakeups] = {}
    for i, pending in enumerate(batch):
        error = failures.get(i)
        waiter = pending.waiter
        if isinstance(waiter, concurrent.futures.Future):
            if error is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(error)
        else:
            by_loop.setdefault(waiter.get_loop(), []).append((waiter, error))
    for loop, waiters in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop has nobody waiting
            loop.call_soon_threadsafe(_wake, waiters)


def _wake(waiters: _Wakeups) -> None:
    for waiter, error in waiters:
        if waiter.done():  # the sender gave up (request cancelled)
            continue
        if error is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(error)
