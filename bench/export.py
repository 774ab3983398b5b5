"""Speed and peak memory of ``footfall export`` on a million events.

    .venv/bin/python bench/export.py [--pageviews 930000] [--days 30] [--database URL]

Demo traffic (about 7% of it custom events, so ~1,000,000 events by default) is generated
into a temporary SQLite file, or into a fresh schema of the PostgreSQL database given with
``--database`` (dropped afterwards). Then ``footfall export`` writes it all to a CSV file in
a child process, and the child's own peak RSS is reported: from ``wait4`` (the kernel's
figure, which includes the RSS of this process at the fork, so this process stays small:
it imports neither footfall nor the data) and from the child's ``VmHWM`` (its peak after
exec, read just before it exits).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

GENERATE = """
import sys, time
from datetime import UTC, datetime
from footfall.demo import generate_demo
from footfall.store import Store
url, pageviews, days = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = Store(url)
started = time.perf_counter()
summary = generate_demo(store, pageviews=pageviews, days=days, seed=1,
                        now=datetime(2026, 3, 1, tzinfo=UTC))
store.close()
print(summary.pageviews, summary.custom_events, time.perf_counter() - started)
"""

EXPORT = """
import atexit, sys
from footfall.cli import main

def report_peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                print("PEAK", line.split()[1], file=sys.stderr)

atexit.register(report_peak)
sys.argv[0] = "footfall"
main()
"""


@contextmanager
def database(url: str | None, directory: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new schema in the PostgreSQL database."""
    if url is None:
        yield f"sqlite:///{directory / 'bench.db'}"
        return
    import sqlalchemy as sa  # only here: this process must stay small (see the module doc)

    schema = f"footfall_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        scoped = sa.engine.make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def server_version(url: str) -> str:
    if url.startswith("sqlite"):
        return f"SQLite {sqlite3.sqlite_version}"
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        version = str(conn.execute(sa.text("SHOW server_version")).scalar_one())
    engine.dispose()
    return f"PostgreSQL {version} (SQLite {sqlite3.sqlite_version} not used)"


def own_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pageviews", type=int, default=930_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--database", help="PostgreSQL URL (default: a temporary SQLite file)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="footfall-export-") as scratch:
        directory = Path(scratch)
        with database(args.database, directory) as url:
            print(f"generating ~{args.pageviews:,} page views over {args.days} days ...")
            generated = subprocess.run(
                [sys.executable, "-c", GENERATE, url, str(args.pageviews), str(args.days)],
                check=True,
                capture_output=True,
                text=True,
            )
            pageviews, customs, seconds = generated.stdout.split()
            events = int(pageviews) + int(customs)
            print(
                f"  {int(pageviews):,} page views + {int(customs):,} custom events "
                f"= {events:,} in {float(seconds):.1f} s"
            )
            if url.startswith("sqlite"):
                size = (directory / "bench.db").stat().st_size
                print(f"  database file {size / 2**20:.0f} MB")

            output = directory / "events.csv"
            command = [sys.executable, "-c", EXPORT, "export", "--database", url]
            command += ["--output", str(output)]
            parent_rss = own_rss_mb()
            log = directory / "export.log"
            with log.open("w+") as captured:
                started = time.perf_counter()
                child = subprocess.Popen(command, stdout=captured, stderr=subprocess.STDOUT)
                # wait4, not wait: the rusage of this one child (the generator ran before).
                _, status, usage = os.wait4(child.pid, 0)
                elapsed = time.perf_counter() - started
                child.returncode = os.waitstatus_to_exitcode(status)
                captured.seek(0)
                stdout = stderr = captured.read()
            if child.returncode:
                sys.exit(f"export failed:\n{stdout}")
            exported = re.search(r"Exported ([\d,]+) events", stdout)
            peak = re.search(r"PEAK (\d+)", stderr)
            rows = int(exported[1].replace(",", "")) if exported else -1
            assert rows == events, (rows, events)
            size = output.stat().st_size
            version = server_version(url)

    print()
    print(f"rows          {rows:,}")
    print(f"seconds       {elapsed:.2f} (child process, start-up and COUNT included)")
    print(f"rows/s        {rows / elapsed:,.0f}")
    if peak:
        print(f"peak RSS      {int(peak[1]) / 1024:.0f} MB (VmHWM of the export process)")
    print(f"peak RSS      {usage.ru_maxrss / 1024:.0f} MB (ru_maxrss from wait4)")
    print(f"file size     {size / 2**20:.0f} MB ({size / rows:.0f} bytes/row)")
    print(f"this process  {parent_rss:.0f} MB RSS at the fork (a floor for the kernel's figure)")
    print(
        f"machine       {os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}, {version}"
    )


if __name__ == "__main__":
    main()
