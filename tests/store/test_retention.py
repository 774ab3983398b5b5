"""Retention: old events, expired salts and visits go; nothing young is ever lost."""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from conftest import count_rows
from footfall import analytics as analytics_module
from footfall.cli import main
from footfall.ingest.event import PAGEVIEW, Event
from footfall.store import Store
from footfall.store.retention import PurgeSummary, purge
from footfall.store.schema import dropped_event, salt, visit_session

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # the ManualClock's start
CUTOFF = NOW - timedelta(days=90)
_ids = itertools.count(1)


def event(at: datetime, name: str = PAGEVIEW, path: str = "/") -> Event:
    visitor = next(_ids)
    return Event(
        name=name,
        timestamp=at,
        hostname="example.com",
        path=path,
        visitor_id=visitor,
        session_id=visitor,
    )


def stored_times(store: Store, table: str) -> list[datetime]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT timestamp FROM {table} ORDER BY timestamp"))
        values = [row[0] for row in rows]
    # Raw SQL hands SQLite's stored text back as it is.
    return [
        (datetime.fromisoformat(v) if isinstance(v, str) else v).replace(tzinfo=UTC) for v in values
    ]


@pytest.fixture
def store(database_url: str) -> Any:
    store = Store(database_url)
    yield store
    store.close()


def test_only_events_older_than_the_retention_are_deleted(store: Store) -> None:
    old = [
        NOW - timedelta(days=400),
        NOW - timedelta(days=91),
        CUTOFF - timedelta(microseconds=1),  # the last moment that is too old
    ]
    young = [
        CUTOFF,  # exactly at the cutoff: kept (the cutoff is exclusive)
        CUTOFF + timedelta(microseconds=1),
        NOW - timedelta(days=1),
        NOW,
    ]
    store.writer.write_now([event(t) for t in old + young])
    store.writer.write_now([event(t, name="signup") for t in old + young])

    summary = purge(store.engine, retention_days=90, now=NOW)

    assert (summary.pageviews, summary.custom_events) == (3, 3)
    assert stored_times(store, "page_view") == young
    assert stored_times(store, "custom_event") == young
    # Purging again finds nothing more: the boundary does not move by itself.
    again = purge(store.engine, retention_days=90, now=NOW)
    assert (again.pageviews, again.custom_events) == (0, 0)


def test_now_in_another_time_zone_means_the_same_instant(store: Store) -> None:
    store.writer.write_now([event(CUTOFF - timedelta(seconds=1)), event(CUTOFF)])
    tokyo_now = NOW.astimezone(timezone(timedelta(hours=9)))
    summary = purge(store.engine, retention_days=90, now=tokyo_now)
    assert summary.pageviews == 1
    assert stored_times(store, "page_view") == [CUTOFF]


def test_a_naive_now_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="aware"):
        purge(store.engine, retention_days=90, now=NOW.replace(tzinfo=None))


def test_events_are_deleted_in_bounded_batches(store: Store) -> None:
    old = [CUTOFF - timedelta(days=1, minutes=i) for i in range(50)]
    young = [CUTOFF + timedelta(minutes=i) for i in range(10)]
    store.writer.write_now([event(t) for t in old + young])
    store.writer.write_now([event(t, name="signup") for t in old + young])
    deletes: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM PAGE_VIEW"):
            deletes.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", record)

    # A bounded run deletes at most max_batches * batch_size rows per table ...
    first = purge(store.engine, retention_days=90, now=NOW, batch_size=7, max_batches=3, pause=0)
    assert (first.pageviews, first.custom_events) == (21, 21)
    assert len(deletes) == 3
    # ... and the next run goes on until a batch comes back short: 29 = 4 * 7 + 1.
    deletes.clear()
    rest = purge(store.engine, retention_days=90, now=NOW, batch_size=7, pause=0)
    assert (rest.pageviews, rest.custom_events) == (29, 29)
    assert len(deletes) == 5
    assert stored_times(store, "page_view") == young
    assert stored_times(store, "custom_event") == young


def test_an_exact_multiple_of_the_batch_size_ends_with_an_empty_batch(store: Store) -> None:
    store.writer.write_now([event(CUTOFF - timedelta(hours=i + 1)) for i in range(14)])
    summary = purge(store.engine, retention_days=90, now=NOW, batch_size=7, pause=0)
    assert summary.pageviews == 14
    assert stored_times(store, "page_view") == []


def test_a_stop_request_ends_the_purge_before_the_next_batch(store: Store) -> None:
    store.writer.write_now([event(CUTOFF - timedelta(hours=1))])
    stop = threading.Event()
    stop.set()
    summary = purge(store.engine, retention_days=90, now=NOW, stop=stop)
    assert summary == PurgeSummary(pageviews=0, custom_events=0, salts=0, visits=0)
    assert len(stored_times(store, "page_view")) == 1


def test_salts_and_visits_go_after_48_hours_and_dropped_counts_with_retention(
    store: Store,
) -> None:
    today = NOW.date()  # 2026-11-20
    midnight_yesterday = datetime(2026, 11, 19)  # naive UTC, as stored
    with store.engine.begin() as conn:
        conn.execute(
            sa.insert(salt),
            [{"day": today - timedelta(days=n), "salt": bytes([n]) * 32} for n in range(5)],
        )
        conn.execute(
            sa.insert(visit_session),
            [
                {"visitor_id": 1, "session_id": 1, "last_seen": midnight_yesterday},
                {"visitor_id": 2, "session_id": 2, "last_seen": NOW.replace(tzinfo=None)},
                {
                    "visitor_id": 3,
                    "session_id": 3,
                    "last_seen": midnight_yesterday - timedelta(microseconds=1),
                },
                {"visitor_id": 4, "session_id": 4, "last_seen": datetime(2026, 11, 1)},
            ],
        )
        conn.execute(
            sa.insert(dropped_event),
            [
                {"day": CUTOFF.date() - timedelta(days=1), "reason": "bot", "count": 5},
                {"day": CUTOFF.date(), "reason": "bot", "count": 6},
                {"day": today, "reason": "bot", "count": 7},
            ],
        )

    summary = purge(store.engine, retention_days=90, now=NOW, batch_size=1, pause=0)

    assert summary == PurgeSummary(
        pageviews=0, custom_events=0, salts=3, visits=2, dropped_counts=1
    )
    with store.engine.connect() as conn:
        days = conn.execute(sa.select(salt.c.day).order_by(salt.c.day)).scalars().all()
        visitors = conn.execute(
            sa.select(visit_session.c.visitor_id).order_by(visit_session.c.visitor_id)
        ).scalars()
        dropped = conn.execute(
            sa.select(dropped_event.c.day).order_by(dropped_event.c.day)
        ).scalars()
        assert days == [date(2026, 11, 19), date(2026, 11, 20)]  # what ensure() keeps too
        assert list(visitors) == [1, 2]
        assert list(dropped) == [CUTOFF.date(), today]
    # The salts purge leaves are exactly those SaltRepository.ensure still serves.
    assert set(store.salts.ensure(today)) == set(days)


def test_purging_while_events_arrive_loses_no_young_event(store: Store) -> None:
    old = [event(CUTOFF - timedelta(seconds=i + 1)) for i in range(3000)]
    for start in range(0, len(old), 1000):
        store.writer.write_now(old[start : start + 1000])
    purging = threading.Event()
    purged = threading.Event()
    written: list[datetime] = []
    errors: list[BaseException] = []

    def ingest() -> None:
        try:
            purging.wait(30)
            # Keep writing for as long as the purge runs (and a little longer).
            while not purged.is_set() or len(written) < 50:
                at = NOW - timedelta(days=1) + timedelta(milliseconds=len(written))
                store.writer.write_sync(event(at), timeout=30)
                written.append(at)
        except BaseException as error:
            errors.append(error)

    writer = threading.Thread(target=ingest)
    writer.start()
    try:
        purging.set()
        summary = purge(store.engine, retention_days=90, now=NOW, batch_size=100, pause=0.005)
    finally:
        purged.set()
        writer.join(60)

    assert not errors
    assert summary.pageviews == 3000
    assert stored_times(store, "page_view") == written
    assert len(written) >= 50


@pytest.mark.anyio
async def test_the_app_purges_once_at_start_and_stops_cleanly(make_analytics, database_url, clock):
    analytics = make_analytics(database_url, retention_days=30)
    analytics.store.writer.write_now(
        [event(clock.now - timedelta(days=31)), event(clock.now - timedelta(days=29))]
    )

    async with analytics:
        assert analytics._purged_once is not None
        await asyncio.wait_for(analytics._purged_once.wait(), 30)
        assert count_rows(database_url, "page_view") == 1
        task = analytics._purge_task
        assert task is not None and not task.done()  # sleeping until the next run

    assert task.cancelled()
    assert analytics._purge_task is None
    # purge() still works on its own afterwards, with the configured clock.
    clock.advance(days=2)
    assert analytics.purge().pageviews == 1


@pytest.mark.anyio
async def test_a_failing_purge_is_logged_and_retried_without_stopping_the_app(
    make_analytics, database_url, monkeypatch, caplog
):
    analytics = make_analytics(database_url)
    calls = 0
    retried = asyncio.Event()
    loop = asyncio.get_running_loop()

    def failing_purge() -> PurgeSummary:
        nonlocal calls
        calls += 1
        if calls >= 3:
            loop.call_soon_threadsafe(retried.set)
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(analytics, "purge", failing_purge)
    monkeypatch.setattr(analytics_module, "PURGE_INTERVAL", 0)

    with caplog.at_level(logging.ERROR, logger="footfall.analytics"):
        async with analytics:
            await asyncio.wait_for(retried.wait(), 30)
            assert analytics._purged_once is not None and analytics._purged_once.is_set()
            assert analytics._purge_task is not None and not analytics._purge_task.done()

    assert "could not purge" in caplog.text and "the disk is on fire" in caplog.text


def test_the_purge_command_reports_what_it_deleted(tmp_path):
    url = f"sqlite:///{tmp_path / 'footfall.db'}"
    now = datetime.now(UTC)
    store = Store(url)
    store.writer.write_now(
        [event(now - timedelta(days=40)), event(now - timedelta(days=20)), event(now)]
    )
    store.writer.write_now([event(now - timedelta(days=40), name="signup")])
    store.close()

    result = CliRunner().invoke(main, ["purge", "--database", url, "--retention-days", "30"])

    assert result.exit_code == 0, result.output
    assert "Deleted 1 page views and 1 custom events older than 30 days" in result.output
    assert count_rows(url, "page_view") == 2
    assert count_rows(url, "custom_event") == 0


def test_the_purge_command_rejects_bad_options(tmp_path):
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'footfall.db'}"
    zero = runner.invoke(main, ["purge", "--database", url, "--retention-days", "0"])
    assert zero.exit_code != 0 and "retention-days" in zero.output
    mysql = runner.invoke(main, ["purge", "--database", "mysql://x/y"])
    assert mysql.exit_code != 0 and "unsupported database URL" in mysql.output


def test_a_wsgi_app_purges_on_footfalls_background_thread(make_analytics, database_url, clock):
    """A WSGI app has no lifespan: wrapping it starts the same purge on footfall's own loop,
    and close() stops it before the database goes away."""
    analytics = make_analytics(database_url, retention_days=30)
    analytics.store.writer.write_now(
        [event(clock.now - timedelta(days=31)), event(clock.now - timedelta(days=29))]
    )

    def site(_environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        start_response("204 No Content", [])
        return []

    analytics.wsgi(site)
    purged, task = analytics._purged_once, analytics._purge_task
    assert purged is not None and task is not None
    assert (
        asyncio.run_coroutine_threadsafe(
            asyncio.wait_for(purged.wait(), 30), analytics._background_loop()
        ).result()
        is True
    )
    assert count_rows(database_url, "page_view") == 1
    analytics.wsgi(site)  # a second wrapper does not start a second purge
    assert analytics._purge_task is task

    analytics.close()
    assert task.cancelled() and analytics._purge_task is None


@pytest.mark.anyio
async def test_the_first_start_after_the_demo_logs_no_purge(
    make_analytics, sqlite_url, clock, caplog
):
    """The demo's month of visitor links to their latest visit expires at the first start:
    housekeeping, logged at DEBUG; deleted events are still said at INFO."""
    from footfall.cli import DEMO_DAYS
    from footfall.demo import generate_demo

    analytics = make_analytics(sqlite_url)
    generate_demo(analytics.store, pageviews=1_500, days=DEMO_DAYS, now=clock.now, seed=2)
    caplog.set_level(logging.DEBUG, logger="footfall")
    async with analytics:
        assert analytics._purged_once is not None
        await asyncio.wait_for(analytics._purged_once.wait(), 30)
    purged = [r for r in caplog.records if "purged expired data" in r.getMessage()]
    assert [r.levelno for r in purged] == [logging.DEBUG], caplog.text
    assert "visits=0" not in purged[0].getMessage()  # it did delete visitor links

    expired = make_analytics(sqlite_url, retention_days=7)
    caplog.clear()
    async with expired:
        assert expired._purged_once is not None
        await asyncio.wait_for(expired._purged_once.wait(), 30)
    purged = [r for r in caplog.records if "purged expired data" in r.getMessage()]
    assert [r.levelno for r in purged] == [logging.INFO], caplog.text
