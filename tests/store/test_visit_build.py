"""The upgrade that builds the ``visit`` table from raw events written before it existed:
the rows the writer would have kept, a day per transaction, resumable, shown as progress."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from footfall.store.database import create_store_engine
from footfall.store.migrate import migrate

PAGE_VIEW = sa.text(
    "INSERT INTO page_view (timestamp, path, hostname, referrer_source, country, "
    "visitor_id, session_id) VALUES (:ts, :path, 'example.com', :source, :country, :v, :s)"
)
CUSTOM_EVENT = sa.text(
    "INSERT INTO custom_event (timestamp, name, path, interactive, hostname, country, "
    "visitor_id, session_id) VALUES (:ts, :name, '/', :interactive, 'example.com', "
    ":country, :v, :s)"
)

# (session, visitor, first seen, last seen, page views, interactions, events, entry page,
# exit page, source, country), worked out from the events below.
EXPECTED = {
    # Across UTC midnight: entry page from the 1st, exit page and the signup from the 2nd;
    # the least country, the greatest source.
    (10, 1, "2026-01-01 23:50:00", "2026-01-02 00:06:00", 2, 1, 1, "/a", "/b", "news.ex", "DE"),
    # A custom event only, not interactive: no page view, no entry page.
    (12, 3, "2026-01-01 12:00:00", "2026-01-01 12:00:00", 0, 0, 1, None, None, None, None),
    (11, 2, "2026-01-03 10:00:00", "2026-01-03 10:05:00", 2, 0, 0, "/c", "/c", "google.com", "US"),
}  # fmt: skip


def _events_before_visits(engine: sa.Engine) -> None:
    """Migrate to the last revision without the ``visit`` table and write raw events."""
    migrate(engine, "0002")
    views = [
        ("2026-01-01 23:50:00", "/a", None, "FR", 1, 10),
        ("2026-01-02 00:05:00", "/b", "news.ex", "DE", 1, 10),
        ("2026-01-03 10:00:00", "/c", "google.com", "US", 2, 11),
        ("2026-01-03 10:05:00", "/c", None, "US", 2, 11),
    ]
    events = [
        ("2026-01-02 00:06:00", "signup", True, None, 1, 10),
        ("2026-01-01 12:00:00", "download", False, None, 3, 12),
    ]
    with engine.begin() as conn:
        for ts, path, source, country, v, s in views:
            values = {"path": path, "source": source, "country": country, "v": v, "s": s}
            conn.execute(PAGE_VIEW, {"ts": datetime.fromisoformat(ts), **values})
        for ts, name, interactive, country, v, s in events:
            values = {"name": name, "interactive": interactive, "country": country}
            conn.execute(CUSTOM_EVENT, {"ts": datetime.fromisoformat(ts), **values, "v": v, "s": s})


def _visits(engine: sa.Engine) -> set[tuple[object, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT session_id, visitor_id, first_seen, last_seen, pageviews, "
                "interactions, events, entry_page, exit_page, source, country FROM visit"
            )
        ).all()
    return {(*row[:2], str(row[2])[:19], str(row[3])[:19], *row[4:]) for row in rows}


def _build_pending(engine: sa.Engine) -> bool:
    return sa.inspect(engine).has_table("visit_build")


def test_the_upgrade_builds_the_visits_of_the_raw_events(database_url):
    engine = create_store_engine(database_url)
    _events_before_visits(engine)
    shown: list[tuple[int, int]] = []
    migrate(engine, progress=lambda done, total: shown.append((done, total)))
    assert _visits(engine) == EXPECTED
    assert shown == [(1, 3), (2, 3), (3, 3)]  # the days 1, 2 and 3 January
    assert not _build_pending(engine)
    migrate(engine, progress=lambda done, total: shown.append((done, total)))
    assert len(shown) == 3  # built: the next start has nothing to do
    engine.dispose()


def test_an_interrupted_build_resumes_at_the_next_start(database_url):
    engine = create_store_engine(database_url)
    _events_before_visits(engine)

    def killed(done: int, total: int) -> None:
        raise KeyboardInterrupt  # after the first day's commit

    with pytest.raises(KeyboardInterrupt):
        migrate(engine, progress=killed)
    assert _build_pending(engine)
    assert {row[0] for row in _visits(engine)} == {10, 12}  # the 1st only: a part of 10
    assert (10, 1, "2026-01-01 23:50:00", "2026-01-01 23:50:00") in {
        row[:4] for row in _visits(engine)
    }
    shown: list[tuple[int, int]] = []
    migrate(engine, progress=lambda done, total: shown.append((done, total)))
    assert _visits(engine) == EXPECTED
    assert shown == [(2, 3), (3, 3)]
    assert not _build_pending(engine)
    engine.dispose()


def test_processes_starting_together_build_each_day_once(database_url):
    engine = create_store_engine(database_url)
    _events_before_visits(engine)
    engine.dispose()
    engines = [create_store_engine(database_url) for _ in range(3)]
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(migrate, engines))
    assert _visits(engines[0]) == EXPECTED  # a day built twice would double its counts
    for each in engines:
        each.dispose()


def test_an_upgrade_without_events_leaves_no_build(database_url):
    engine = create_store_engine(database_url)
    migrate(engine, "0002")
    migrate(engine)
    assert not _build_pending(engine)
    assert _visits(engine) == set()
    engine.dispose()


def test_a_command_shows_the_build_as_it_runs(database_url):
    from click.testing import CliRunner

    from footfall.cli import main

    engine = create_store_engine(database_url)
    _events_before_visits(engine)
    result = CliRunner().invoke(main, ["export", "--database", database_url])
    assert result.exit_code == 0, result.output
    # On standard error, so that an export to standard output stays a clean CSV.
    assert "Building visits from the raw events (days)" in result.stderr
    assert "Building visits" not in result.stdout
    assert result.stdout.count("\n") == 1 + 6  # the header and the six events
    assert _visits(engine) == EXPECTED
    engine.dispose()


def test_footfall_rollup_rebuild_visits_builds_them_again_on_demand(database_url):
    """A visit row made wrong by hand: ``footfall rollup --rebuild --visits`` builds the
    table again from the raw events (two views of session 20, two days ago)."""
    from click.testing import CliRunner

    from footfall.cli import main

    day = datetime.combine(datetime.now(UTC).date() - timedelta(days=2), datetime.min.time())
    engine = create_store_engine(database_url)
    migrate(engine)
    with engine.begin() as conn:
        for minute, path in ((0, "/x"), (10, "/y")):
            at = day + timedelta(hours=10, minutes=minute)
            values = {"path": path, "source": None, "country": "US", "v": 5, "s": 20}
            conn.execute(PAGE_VIEW, {"ts": at, **values})
        conn.execute(sa.text("UPDATE visit SET pageviews = 99"))  # none: raw inserts
        conn.execute(
            sa.text(
                "INSERT INTO visit (session_id, visitor_id, first_seen, last_seen, pageviews, "
                "interactions, events) VALUES (77, 7, :at, :at, 99, 0, 0)"
            ),
            {"at": day},
        )
    runner = CliRunner()
    refused = runner.invoke(main, ["rollup", "--database", database_url, "--visits"])
    assert refused.exit_code == 2 and "--visits goes with --rebuild" in refused.output
    result = runner.invoke(
        main, ["rollup", "--database", database_url, "--timezone", "UTC", "--rebuild", "--visits"]
    )
    assert result.exit_code == 0, result.output
    assert "Building visits from the raw events (days)" in result.stderr
    first, last = (str(day + timedelta(hours=10, minutes=m)) for m in (0, 10))
    assert _visits(engine) == {(20, 5, first, last, 2, 0, 0, "/x", "/y", None, "US")}
    engine.dispose()
