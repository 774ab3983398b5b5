"""Engines for the supported databases, set up for durable, concurrent use."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

SUPPORTED = ("sqlite", "postgresql")
DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql+psycopg")
WAL_SWITCH_SECONDS = 30.0
"""How long a start waits for another process that is switching a new file to WAL."""


def database_url(url: str) -> URL:
    """The SQLAlchemy URL of ``url``, or a ``ValueError`` that says how to write it: a
    bare file name, another database, an in-memory SQLite. ``postgres://`` (what hosting
    platforms hand out) and ``postgresql://`` mean psycopg 3, the only driver installed."""
    if "://" not in url:
        path = url.removeprefix("sqlite:")
        raise ValueError(
            f"database_url {url!r} is not a URL: for a SQLite file write "
            f"'sqlite:///{path}' (relative) or 'sqlite:////absolute/path.db'"
        )
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(f"database_url {url!r} is not a URL") from None
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED or parsed.drivername not in DRIVERS:
        raise ValueError(
            f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}: "
            "use sqlite:///path/to/file.db or postgresql://user@host/dbname"
        )
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise ValueError(
            "footfall needs a SQLite file, not an in-memory database: events must survive "
            "a restart and be shared between workers (use sqlite:///footfall.db)"
        )
    return parsed


def without_password(url: str) -> str:
    """``url`` as it may be printed or logged: its password, if any, as ``***``."""
    return database_url(url).render_as_string(hide_password=True)


def create_store_engine(url: str, *, pool_size: int = 5, create: bool = True) -> Engine:
    """Create the engine for ``url`` (see ``database_url``): SQLite (one file, WAL) or
    PostgreSQL (psycopg 3). ``create``: make a missing SQLite file now, readable by its
    owner alone (False for a look that must change nothing)."""
    parsed = database_url(url)
    if parsed.get_backend_name() == "postgresql":
        engine = create_engine(
            parsed,
            pool_size=pool_size,
            max_overflow=10,
            pool_pre_ping=True,
            hide_parameters=True,  # a logged error must not show visitors' pages and ids
        )
        _configure_postgresql(engine)
        return engine
    folder = Path(parsed.database or "").absolute().parent
    if not folder.is_dir():
        raise ValueError(
            f"cannot create the SQLite file {parsed.database!r}: its directory {str(folder)!r} "
            "does not exist"
        )
    # Readable by its owner alone: it holds the day's salts, the admin token and, in the
    # visit records, ids that the salts could link (SQLite gives its WAL the same mode).
    if create:
        os.close(os.open(Path(parsed.database or "").absolute(), os.O_CREAT | os.O_RDWR, 0o600))
    # The driver's timeout is the busy handler from the first statement on, so concurrent
    # starts wait for each other's locks instead of failing.
    engine = create_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=10,
        connect_args={"timeout": 30},
        hide_parameters=True,
    )
    _configure_sqlite(engine)
    return engine


PARALLEL_SETUP_COST = 10_000
"""PostgreSQL's ``parallel_setup_cost`` for footfall's connections (its default: 1,000).
Reports read rollups and a few thousand rows by index, and at the default cost the planner
gave some of them parallel workers, whose start cost more than the query: at 1,000,000
events, today's chart took 21 ms with them and 9 to 13 without, its top stats 25 to 30
and 17. Scans of millions of raw events (reports with two filters) still get them."""


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET parallel_setup_cost = {PARALLEL_SETUP_COST}")
        dbapi_connection.commit()  # a SET inside a transaction rolled back is undone


def _configure_sqlite(engine: Engine) -> None:
    """WAL for concurrent readers, FULL sync so a commit survives power loss, and explicit
    transactions (the stdlib driver's implicit ones break transactional DDL and batching).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        _enable_wal(cursor)
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers ask for IMMEDIATE so two processes never deadlock upgrading a read lock.
        mode = connection.get_execution_options().get("sqlite_begin", "")
        connection.exec_driver_sql(f"BEGIN {mode}".strip())


SQLITE_PAUSE = 0.1
"""Seconds the SQLite write lock is left free between two transactions of a long job (a
purge's batches, a roll-up's days). SQLite's busy handler polls (at most every 100 ms), so
without a gap a writer waiting for the lock would never catch it between two of them, and
ingestion would stall for the whole job."""


_START_LOCK_ID = 0x666F6F74  # "foot"


def serialise_starts(conn: Connection) -> None:
    """Make concurrent starts (migrations, the build of the ``visit`` table) wait for each
    other: on PostgreSQL an advisory lock held to the end of the transaction; SQLite's
    write transactions (``write_connection``) are serialised already."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_START_LOCK_ID})")


def write_connection(engine: Engine) -> Connection:
    """A connection for a write transaction: on SQLite its BEGIN takes the write lock at
    once (IMMEDIATE), so two writers never deadlock upgrading a read lock."""
    options = {"sqlite_begin": "IMMEDIATE"} if engine.dialect.name == "sqlite" else {}
    return engine.connect().execution_options(**options)


def _enable_wal(cursor: sqlite3.Cursor) -> None:
    """Switch to WAL, waiting for a concurrent switch. SQLite answers "database is locked"
    at once, without calling the busy handler, while another connection is switching a new
    file to WAL: several workers starting together on a new database would fail."""
    deadline = time.monotonic() + WAL_SWITCH_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)  # a back-off: the other connection finishes in milliseconds
