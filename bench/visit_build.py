"""The upgrade that builds the ``visit`` table from raw events (migration 0003): time and
peak memory of the build by day (``store/visit_build.py``) beside the one statement over
all events it replaced, on copies of the same database, each in a process of its own.

    .venv/bin/python bench/visit_build.py --database sqlite:///path/to/events.db
    .venv/bin/python bench/visit_build.py --database \\
        'postgresql+psycopg://postgres@127.0.0.1/test?options=-csearch_path%3Dfootfall_bench_1000000'

A SQLite file is copied (the original is left alone); a PostgreSQL schema is used in
place (its ``visit`` table is rebuilt twice: the result is the same rows). Make the events with
``bench/query.py --keep``. Prints the events, each method's seconds and peak resident
memory (of the process; on PostgreSQL the server's memory is not counted), and checks
that both methods give the same rows.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from footfall.store.database import create_store_engine
from footfall.store.visits import VISIT_COLUMNS, recount_sql

METHODS = ("one-statement", "by-day")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a database made by bench/query.py")
    parser.add_argument("--method", choices=METHODS, help=argparse.SUPPRESS)  # a child's
    args = parser.parse_args()
    if args.method:
        print(json.dumps(_run(args.database, args.method)))
        return
    url = make_url(args.database)
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="footfall-visit-build-") as scratch:
        for method in METHODS:
            database = args.database
            if url.get_backend_name() == "sqlite":
                copy = Path(scratch) / f"{method}.db"
                shutil.copyfile(str(url.database), copy)
                database = f"sqlite:///{copy}"
            child = [sys.executable, __file__, "--database", database, "--method", method]
            out = subprocess.run(child, check=True, capture_output=True, text=True).stdout
            result = json.loads(out.splitlines()[-1])
            print(
                f"{method:>14}: {result['events']:,} events, {result['visits']:,} visits, "
                f"{result['seconds']:.1f} s, peak memory {result['peak_mib']:,.0f} MiB, "
                f"rows {result['digest'][:12]}"
            )
            if url.get_backend_name() == "sqlite":
                Path(database.removeprefix("sqlite:///")).unlink()


def _run(database: str, method: str) -> dict[str, object]:
    engine = create_store_engine(database)
    with engine.connect() as conn:
        events = conn.exec_driver_sql(
            "SELECT (SELECT count(*) FROM page_view) + (SELECT count(*) FROM custom_event)"
        ).scalar_one()
    started = time.perf_counter()
    if method == "by-day":
        from footfall.store.visit_build import rebuild

        rebuild(engine)
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM visit")
            conn.exec_driver_sql(f"INSERT INTO visit ({', '.join(VISIT_COLUMNS)}) {recount_sql()}")
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE visit")
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    digest = hashlib.sha256()
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT {', '.join(VISIT_COLUMNS)} FROM visit ORDER BY session_id"
        )
        visits = 0
        for row in rows:
            digest.update(repr(tuple(str(v) for v in row)).encode())
            visits += 1
    engine.dispose()
    return {
        "events": events,
        "visits": visits,
        "seconds": seconds,
        "peak_mib": peak,
        "digest": digest.hexdigest(),
    }


if __name__ == "__main__":
    main()
