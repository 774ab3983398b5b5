"""Retention: delete what footfall promised not to keep.

Raw events go after ``retention_days``; salts, and the visit records keyed by them, after
48 hours (docs/privacy.md). ``SaltRepository.ensure`` already drops expired salts, but
only when an event arrives: a quiet site would keep them for ever, so this runs on a timer
(and from ``footfall purge``) regardless of traffic.

Deletes run in small batches, each its own short transaction, so ingestion keeps flowing
while years of backlog are removed: on SQLite every batch takes the write lock the way the
writer does (BEGIN IMMEDIATE, so neither deadlocks upgrading a read lock) and then lets it
go for a moment; on PostgreSQL concurrent purgers skip each other's locked rows.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Column, ColumnElement, Connection, Engine, Table, delete, select, update

from footfall.query.rollups import local_midnight, read_state
from footfall.query.sql import naive_utc
from footfall.store.database import SQLITE_PAUSE, write_connection
from footfall.store.rollups import ID_LIFETIME
from footfall.store.schema import (
    ROLLUP_TABLES,
    custom_event,
    dropped_event,
    page_view,
    rollup_state,
    salt,
    visit,
    visit_session,
)


@dataclass
class PurgeSummary:
    """How many rows one purge deleted, per kind."""

    pageviews: int
    custom_events: int
    salts: int
    visits: int
    dropped_counts: int = 0
    """Per-day rows of the dropped-event counters."""
    rollup_rows: int = 0
    """Rows of the rollups older than ``rollup_retention_days``."""

    @property
    def data(self) -> int:
        """Rows of reports' data: raw events, rollups, dropped-event counts (not the
        salts and visit links that expire every day)."""
        return self.pageviews + self.custom_events + self.dropped_counts + self.rollup_rows

    @property
    def total(self) -> int:
        return (
            self.pageviews
            + self.custom_events
            + self.salts
            + self.visits
            + self.dropped_counts
            + self.rollup_rows
        )


def purge(
    engine: Engine,
    *,
    retention_days: int,
    now: datetime,
    rollup_retention_days: int | None = None,
    batch_size: int = 10_000,
    max_batches: int | None = None,
    pause: float | None = None,
    stop: threading.Event | None = None,
) -> PurgeSummary:
    """Delete raw events older than ``retention_days`` before ``now``, salts and visit
    records past their 48 hours, and dropped-event counts older than the retention.

    An event stamped exactly ``now - retention_days`` is kept: the cutoff is exclusive, so
    "90 days" means the last 90 full days of data are always there. Raw events of days not
    rolled up yet, and the 48 hours before them that rolling them up reads, are kept
    whatever their age (they are all a report has of them), and
    rollups older than ``rollup_retention_days`` go too (``None``: never). Raw events go in
    batches of ``batch_size`` rows, at most ``max_batches`` per table (the rest waits for
    the next run); ``pause`` is the gap between batches (:data:`SQLITE_PAUSE` on SQLite,
    none on PostgreSQL, when ``None``). Setting ``stop`` ends the purge after the current
    batch, which is how a shutting-down application stops it promptly.
    """
    if now.tzinfo is None:
        raise ValueError("purge() needs an aware 'now' (stored timestamps are UTC)")
    if retention_days < 1 or batch_size < 1:
        raise ValueError("retention_days and batch_size must be positive")
    if pause is None:
        pause = SQLITE_PAUSE if engine.dialect.name == "sqlite" else 0.0
    utc_now = now.astimezone(UTC).replace(tzinfo=None)
    cutoff = utc_now - timedelta(days=retention_days)
    with engine.connect() as conn:
        state = read_state(conn)
    if state is not None:
        rolled_until = local_midnight(state.sealed_until, ZoneInfo(state.timezone))
        # Rolling up the next day reads the 48 hours before it, for its visitors seen then.
        keep_from = naive_utc(rolled_until - ID_LIFETIME)
        cutoff = min(cutoff, keep_from)
    # As SaltRepository.ensure: on day D only the salts of D and D-1 are still needed, and
    # a visit last seen before D-1 has an id no remaining salt can reproduce.
    oldest_salt_day = utc_now.date() - timedelta(days=1)
    batches = _Batches(engine, batch_size, max_batches, pause, stop)

    pageviews = batches.delete(page_view, page_view.c.id, page_view.c.timestamp < cutoff)
    customs = batches.delete(custom_event, custom_event.c.id, custom_event.c.timestamp < cutoff)
    batches.delete(visit, visit.c.session_id, visit.c.last_seen < cutoff)
    if state is not None and batches.finished:
        batches.note_raw_from(cutoff)
    visits = batches.delete(
        visit_session,
        visit_session.c.visitor_id,
        visit_session.c.last_seen < datetime.combine(oldest_salt_day, datetime.min.time()),
    )
    salts, dropped = batches.delete_small(oldest_salt_day, cutoff.date())
    rollups = 0
    if rollup_retention_days is not None:
        oldest_day = (now - timedelta(days=rollup_retention_days)).date()
        rollups = batches.delete_rollups(oldest_day)
    return PurgeSummary(
        pageviews=pageviews,
        custom_events=customs,
        salts=salts,
        visits=visits,
        dropped_counts=dropped,
        rollup_rows=rollups,
    )


class _Batches:
    """Bounded deletes, one short transaction each."""

    def __init__(
        self,
        engine: Engine,
        batch_size: int,
        max_batches: int | None,
        pause: float,
        stop: threading.Event | None,
    ) -> None:
        self._engine = engine
        self._batch_size = batch_size
        self._max_batches = max_batches
        self._pause = pause
        self._stop = stop
        self.finished = True
        """False once a delete stopped before its last batch."""

    def _stopped(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    def _connect(self) -> Connection:
        return write_connection(self._engine)

    def delete(self, table: Table, key: Column[Any], condition: ColumnElement[bool]) -> int:
        """Delete the rows of ``table`` matching ``condition``, oldest keys first, until a
        batch comes back short."""
        # SKIP LOCKED (PostgreSQL only; SQLite renders no locking clause) lets two workers
        # purge at once without waiting on, or deadlocking over, each other's rows.
        chosen = (
            select(key)
            .where(condition)
            .order_by(key)
            .limit(self._batch_size)
            .with_for_update(skip_locked=True)
        )
        statement = delete(table).where(key.in_(chosen))
        deleted = done = 0
        with self._connect() as conn:
            while not self._stopped():
                with conn.begin():
                    count = conn.execute(statement).rowcount
                deleted += count
                done += 1
                if count < self._batch_size:
                    break
                if self._max_batches is not None and done >= self._max_batches:
                    self.finished = False
                    break
                if self._pause:
                    time.sleep(self._pause)  # let a waiting writer take the lock
        return deleted

    def delete_small(self, oldest_salt_day: date, oldest_dropped_day: date) -> tuple[int, int]:
        """Salts (one row a day) and dropped-event counts (a few a day): one transaction."""
        if self._stopped():
            return 0, 0
        with self._connect() as conn, conn.begin():
            salts = conn.execute(delete(salt).where(salt.c.day < oldest_salt_day)).rowcount
            dropped = conn.execute(
                delete(dropped_event).where(dropped_event.c.day < oldest_dropped_day)
            ).rowcount
        return salts, dropped

    def note_raw_from(self, cutoff: datetime) -> None:
        """Record that raw events before ``cutoff`` are gone (for the reports that need them)."""
        if self._stopped():
            return
        state = rollup_state.c
        with self._connect() as conn, conn.begin():
            conn.execute(
                update(rollup_state)
                .where((state.raw_from.is_(None)) | (state.raw_from < cutoff))
                .values(raw_from=cutoff)
            )

    def delete_rollups(self, oldest_day: date) -> int:
        """Rollup rows of local days before ``oldest_day``: one transaction per table."""
        deleted = 0
        for table in ROLLUP_TABLES:
            if self._stopped():
                break
            with self._connect() as conn, conn.begin():
                deleted += conn.execute(delete(table).where(table.c.day < oldest_day)).rowcount
        return deleted
