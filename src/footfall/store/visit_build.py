"""Building the ``visit`` table from the raw events, for a database that holds events
written before the table existed (migration 0003), or loaded around the writer.

One day of events at a time, oldest first, each in its own transaction: the database
groups one day's events, not all of them, so memory stays bounded by a day's traffic
(SQLite sorts in memory: footfall sets ``temp_store=MEMORY``), and a build interrupted
(killed, a full disk) resumes at the first day not built. Each day's rows are merged into
the stored ones by the writer's own upsert, so a visit across midnight comes out as the
writer would have kept it: its entry page from the first day, its exit page from the last.

The ``visit_build`` table exists only while a build is pending: the next day to build and
the time of the last event to cover. ``migrate`` runs the build before anything reads or
writes visits, so a footfall that starts finishes it first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, time, timedelta
from time import monotonic, sleep

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    MetaData,
    Table,
    bindparam,
    delete,
    func,
    insert,
    inspect,
    select,
    text,
    union_all,
    update,
)

from footfall.store.database import SQLITE_PAUSE, serialise_starts, write_connection
from footfall.store.schema import custom_event, page_view, visit
from footfall.store.visits import VISIT_COLUMNS, recount_sql, visit_upsert_suffix

log = logging.getLogger(__name__)

PAUSE_EVERY = 1.0
"""Seconds of building between two pauses for another process waiting for SQLite's write
lock; a pause after every day cost a third of the build's time."""

BuildProgress = Callable[[int, int], None]
"""Called after each day built with the number of days built and of days in all."""

visit_build = Table(
    "visit_build",
    MetaData(),
    Column("next_day", DateTime, nullable=False),
    Column("last_event", DateTime, nullable=False),
    Column("first_day", DateTime, nullable=False),
)
"""The pending build: the next UTC day to build, the last event's time, and the first
day (for the progress). Not in ``schema.metadata``: it is gone once the build is done."""


def plan_build(conn: Connection) -> None:
    """Mark the ``visit`` table as to be built from every raw event (it must be empty)."""
    visit_build.create(conn)
    times = union_all(
        select(func.min(page_view.c.timestamp).label("first"), func.max(page_view.c.timestamp)),
        select(func.min(custom_event.c.timestamp), func.max(custom_event.c.timestamp)),
    ).subquery()
    first, last = conn.execute(select(func.min(times.c[0]), func.max(times.c[1]))).one()
    if first is None:
        return  # no events: the build is done as soon as it runs
    day = datetime.combine(first.date(), time())
    conn.execute(insert(visit_build).values(next_day=day, last_event=last, first_day=day))


def build_pending(conn: Connection) -> bool:
    """Whether a build of the ``visit`` table is planned and not finished."""
    return inspect(conn).has_table(visit_build.name)


def rebuild(engine: Engine, progress: BuildProgress | None = None) -> None:
    """Build the ``visit`` table again from the raw events (for data loaded around the
    writer, such as a benchmark's; with no footfall writing meanwhile)."""
    with write_connection(engine) as conn, conn.begin():
        conn.execute(delete(visit))
        if build_pending(conn):
            visit_build.drop(conn)
        plan_build(conn)
    build_visits(engine, progress)


def build_visits(engine: Engine, progress: BuildProgress | None = None) -> int:
    """Build the planned days of the ``visit`` table, if any; returns how many this call
    built. Safe to run from several processes at once: each day is built once."""
    with engine.connect() as conn:
        if not build_pending(conn):
            return 0
        # The table as this revision has it: a migration to one before 0012 builds it too.
        engaged = "engaged_ms" in {c["name"] for c in inspect(conn).get_columns("visit")}
    built, paused = 0, monotonic()
    columns = VISIT_COLUMNS if engaged else tuple(c for c in VISIT_COLUMNS if c != "engaged_ms")
    day_sql = text(
        f"INSERT INTO visit ({', '.join(columns)}) {recount_sql(between=True, engaged=engaged)}"
        f"{visit_upsert_suffix(engaged=engaged)}"
    ).bindparams(bindparam("start", type_=DateTime), bindparam("stop", type_=DateTime))
    while True:
        with write_connection(engine) as conn, conn.begin():
            serialise_starts(conn)
            if not build_pending(conn):
                break  # another process finished it
            row = conn.execute(select(visit_build)).one_or_none()
            if row is None or row.next_day > row.last_event:
                visit_build.drop(conn)
                conn.exec_driver_sql("ANALYZE visit")  # the planner's statistics, now
                if built:
                    log.info("built the visit table: %d days", built)
                break
            if built == 0:
                log.info(
                    "building the visit table from the raw events: %s to %s",
                    row.next_day.date(),
                    row.last_event.date(),
                )
            stop = row.next_day + timedelta(days=1)
            conn.execute(day_sql, {"start": row.next_day, "stop": stop})
            conn.execute(update(visit_build).values(next_day=stop))
        built += 1
        if progress is not None:
            last_day = datetime.combine(row.last_event.date(), time())
            progress((stop - row.first_day).days, (last_day - row.first_day).days + 1)
        if engine.dialect.name == "sqlite" and monotonic() - paused > PAUSE_EVERY:
            sleep(SQLITE_PAUSE)  # the lock is not fair: let another starting process in
            paused = monotonic()
    return built
