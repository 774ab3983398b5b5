"""Rollups: when days are rolled up, what the purge keeps, imports, the time zone, the CLI.

The equality of every report with and without rollups, on generated traffic, is
tests/query/test_rollup_equality.py; here the numbers are small and worked out by hand.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from conftest import count_rows
from footfall.cli import main
from footfall.config import Config
from footfall.export import export_rows, import_csv, write_csv
from footfall.ingest.event import Event
from footfall.query.filters import Filters
from footfall.query.metrics import Queries
from footfall.query.ranges import InvalidQuery
from footfall.store import Store
from footfall.store.retention import purge
from footfall.store.rollups import final_at, roll_up, seal_at

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _view(at: datetime, visitor: int, session: int, path: str = "/") -> Event:
    return Event(
        name="pageview",
        timestamp=at,
        hostname="example.com",
        path=path,
        visitor_id=visitor,
        session_id=session,
    )


def _stats(store: Store, range: str = "all", *, rollups: bool = True, tz: str = "UTC") -> dict:
    q = Queries(store.engine, timezone=tz, clock=lambda: NOW, rollups=rollups)
    stats = q.dashboard_stats(q.period(range), Filters())
    return {name: getattr(stats, name).value for name in ("visitors", "visits", "pageviews")}


@pytest.fixture
def store(database_url):
    opened = Store(database_url)
    yield opened
    opened.close()


def test_a_day_is_final_35_minutes_after_the_salt_day_that_ends_last():
    # UTC: the day's own end, plus the 30 minutes a visit may continue, plus 5 minutes.
    assert final_at(date(2026, 11, 19), ZoneInfo("UTC")) == datetime(
        2026, 11, 20, 0, 35, tzinfo=UTC
    )
    # New York (UTC-5 in November): the local day ends at 05:00 UTC on the 20th, inside the
    # UTC day of the 20th, whose ids live until its end: 21st 00:00 UTC, + 35 minutes.
    assert final_at(date(2026, 11, 19), ZoneInfo("America/New_York")) == datetime(
        2026, 11, 21, 0, 35, tzinfo=UTC
    )
    # Kolkata (UTC+05:30): the local day ends at 18:30 UTC on the 19th: same UTC day.
    assert final_at(date(2026, 11, 19), ZoneInfo("Asia/Kolkata")) == datetime(
        2026, 11, 20, 0, 35, tzinfo=UTC
    )


def test_a_day_is_rolled_up_once_over_where_its_last_utc_midnight_is_late_in_it():
    """``seal_at``: New York's 19th ends at 05:00 UTC on the 20th; its last UTC midnight
    (19:00 local) is 5 hours before: rolled up at 05:35 UTC, 19 hours before it is final.
    Kolkata's last UTC midnight is at 05:30 local, 18.5 hours before the day ends: it waits
    until final. In UTC both are the same moment."""
    new_york, kolkata, utc = (ZoneInfo(z) for z in ("America/New_York", "Asia/Kolkata", "UTC"))
    day = date(2026, 11, 19)
    assert seal_at(day, new_york) == datetime(2026, 11, 20, 5, 35, tzinfo=UTC)
    assert seal_at(day, kolkata) == final_at(day, kolkata)
    assert seal_at(day, utc) == final_at(day, utc) == datetime(2026, 11, 20, 0, 35, tzinfo=UTC)
    # Honolulu (UTC-10): the last UTC midnight is at 14:00 local, 10 hours before the end.
    honolulu = ZoneInfo("Pacific/Honolulu")
    assert seal_at(day, honolulu) == datetime(2026, 11, 20, 10, 35, tzinfo=UTC)


def test_only_final_days_are_rolled_up(store):
    start = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)
    store.writer.write_now([_view(start + timedelta(days=d), d, d) for d in range(3)])
    # The 17th and 18th are final at 00:35 on the 18th and 19th, the 19th at 00:35 on the
    # 20th; the 20th (today) is not.
    just_before = datetime(2026, 11, 20, 0, 34, tzinfo=UTC)
    assert roll_up(store.engine, timezone="UTC", now=just_before) == 2
    assert roll_up(store.engine, timezone="UTC", now=NOW) == 1
    assert roll_up(store.engine, timezone="UTC", now=NOW) == 0
    with store.engine.connect() as conn:
        days = conn.execute(
            sa.text("SELECT day, visitors FROM rollup_day WHERE dimension = '' ORDER BY day")
        ).all()
    assert [(str(d), v) for d, v in days] == [
        ("2026-11-17", 1),
        ("2026-11-18", 1),
        ("2026-11-19", 1),
    ]


def test_a_visit_across_midnight_counts_once_in_a_range_of_both_days(store):
    # One visitor, one visit: 23:50 on the 17th and 00:10 on the 18th. The 18th alone has
    # it once, the 17th alone once, and the two days together once (not twice).
    late = datetime(2026, 11, 17, 23, 50, tzinfo=UTC)
    store.writer.write_now([_view(late, 7, 70), _view(late + timedelta(minutes=20), 7, 70, "/b")])
    roll_up(store.engine, timezone="UTC", now=NOW)
    q = Queries(store.engine, timezone="UTC", clock=lambda: NOW)
    both = q.dashboard_stats(q.period(None, "2026-11-17", "2026-11-18"), Filters())
    assert (both.visitors.value, both.visits.value, both.pageviews.value) == (1, 1, 2)
    assert both.visit_duration.value == 1200.0  # 20 minutes, across midnight
    assert both.bounce_rate.value == 0.0  # two page views: not a bounce
    one = q.dashboard_stats(q.period(None, "2026-11-18", "2026-11-18"), Filters())
    assert (one.visitors.value, one.visits.value, one.pageviews.value) == (1, 1, 1)
    assert one.bounce_rate.value == 100.0  # its part on the 18th alone is one page view
    with store.engine.connect() as conn:
        parts = conn.execute(sa.text("SELECT count(*) FROM rollup_visit_part")).scalar_one()
    assert parts == 2  # one part on each day, none in the single-day sums


def test_the_purge_keeps_raw_events_of_days_not_rolled_up(store):
    old = NOW - timedelta(days=100)
    store.writer.write_now([_view(old, 1, 1), _view(old + timedelta(days=1), 2, 2)])
    # Rollups exist but stop before both days: the purge must not delete them.
    with store.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO rollup_state (id, timezone, first_day, sealed_until) "
                "VALUES (1, 'UTC', :day, :day)"
            ),
            {"day": old.date()},
        )
    summary = purge(store.engine, retention_days=90, now=NOW)
    assert summary.pageviews == 0
    roll_up(store.engine, timezone="UTC", now=NOW)
    before = _stats(store, rollups=False)
    assert before == {"visitors": 2, "visits": 2, "pageviews": 2}
    assert purge(store.engine, retention_days=90, now=NOW).pageviews == 2
    assert count_rows_of(store, "page_view") == 0
    assert _stats(store) == before  # the rollups outlive the raw events


def test_rollups_older_than_their_retention_are_purged(store):
    store.writer.write_now([_view(NOW - timedelta(days=d), d, d) for d in (5, 40)])
    roll_up(store.engine, timezone="UTC", now=NOW)
    summary = purge(store.engine, retention_days=30, rollup_retention_days=30, now=NOW)
    assert summary.pageviews == 1  # the event 40 days old
    assert summary.rollup_rows > 0
    with store.engine.connect() as conn:
        days = conn.execute(
            sa.text("SELECT DISTINCT day FROM rollup_day WHERE visitors > 0")
        ).scalars()
        assert [str(d) for d in days] == [str((NOW - timedelta(days=5)).date())]
        oldest = conn.execute(sa.text("SELECT min(day) FROM rollup_day")).scalar_one()
    assert str(oldest) == "2026-10-21"  # 30 days before the 20th: older days are gone


def test_rollup_retention_may_not_be_shorter_than_the_raw_retention():
    with pytest.raises(ValueError, match="rollup_retention_days"):
        Config(retention_days=90, rollup_retention_days=30)


def test_an_import_into_rolled_up_days_rolls_them_up_again(store, tmp_path):
    day = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
    store.writer.write_now([_view(day, 1, 1)])
    roll_up(store.engine, timezone="UTC", now=NOW)
    assert _stats(store) == {"visitors": 1, "visits": 1, "pageviews": 1}
    # Another visitor's two page views on the same, already rolled-up, day.
    other = Store(f"sqlite:///{tmp_path / 'other.db'}")
    other.writer.write_now([_view(day, 2, 2, "/a"), _view(day + timedelta(minutes=1), 2, 2)])
    text = io.StringIO(newline="")
    write_csv(export_rows(other), text)
    other.close()
    text.seek(0)
    import_csv(store, text)
    assert _stats(store) == {"visitors": 2, "visits": 2, "pageviews": 3}
    assert _stats(store) == _stats(store, rollups=False)


def test_a_new_time_zone_rebuilds_the_rollups(store):
    # 23:30 UTC on the 10th is the 11th in Kolkata (05:00).
    store.writer.write_now([_view(datetime(2026, 11, 10, 23, 30, tzinfo=UTC), 1, 1)])
    roll_up(store.engine, timezone="UTC", now=NOW)
    roll_up(store.engine, timezone="Asia/Kolkata", now=NOW)
    with store.engine.connect() as conn:
        zone = conn.execute(sa.text("SELECT timezone FROM rollup_state")).scalar_one()
        days = conn.execute(
            sa.text("SELECT day FROM rollup_day WHERE dimension = '' AND visitors > 0")
        ).scalars()
        assert [str(d) for d in days] == ["2026-11-11"]
    assert zone == "Asia/Kolkata"
    assert _stats(store, tz="Asia/Kolkata") == {"visitors": 1, "visits": 1, "pageviews": 1}


def test_footfall_rollup_rolls_up_and_purge_keeps_the_rollups_time_zone(database_url):
    store = Store(database_url)
    yesterday = datetime.now(UTC) - timedelta(days=2)
    store.writer.write_now([_view(yesterday, 1, 1)])
    store.close()
    runner = CliRunner()
    result = runner.invoke(
        main, ["rollup", "--database", database_url, "--timezone", "Europe/Berlin"]
    )
    assert result.exit_code == 0, result.output
    assert "Rolled up" in result.output
    result = runner.invoke(main, ["purge", "--database", database_url])
    assert result.exit_code == 0, result.output
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        zone = conn.execute(sa.text("SELECT timezone FROM rollup_state")).scalar_one()
    engine.dispose()
    assert zone == "Europe/Berlin"  # the purge did not rebuild them in UTC
    result = runner.invoke(main, ["rollup", "--database", database_url, "--rebuild"])
    assert result.exit_code == 0, result.output
    assert count_rows(database_url, "rollup_day", "WHERE visitors > 0") == 7  # "", 5 attrs, page


def count_rows_of(store: Store, table: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_filters_over_purged_days_read_rollups_or_say_so_instead_of_counting_too_little(
    make_analytics, serve, sqlite_url, clock
):
    """Raw events 100 and 5 days old, 90 days kept: the 12 months still count both, also
    with one filter (rollups); two filters need raw events, so they refuse periods from
    before the cutoff, and a later period's comparison with a purged one has no previous
    value."""
    clock.now = NOW
    analytics = make_analytics(
        sqlite_url, admin_token="an-admin-token-for-tests", retention_days=90
    )
    signups = [
        replace(_view(NOW - timedelta(days=d), v, v), name="Signup", properties={"plan": plan})
        for d, v, plan in ((100, 1, "pro"), (5, 2, "free"))
    ]
    analytics.store.writer.write_now(
        [_view(NOW - timedelta(days=100), 1, 1), _view(NOW - timedelta(days=5), 2, 2), *signups]
    )
    summary = analytics.purge()
    assert summary.pageviews == 1  # the 100-day-old one, rolled up first
    api = analytics.api
    year = api.get_dashboard_stats_sync("12mo")
    assert year.pageviews.value == 2
    assert api.get_dashboard_stats_sync("12mo", page="/").pageviews.value == 2
    assert api.get_dashboard_stats_sync("12mo", page="/a").pageviews.value == 0
    assert api.get_dashboard_stats_sync("12mo", country="(unknown)").visitors.value == 2
    both = {"page": "/", "country": "(unknown)"}
    with pytest.raises(InvalidQuery) as refused:
        api.get_dashboard_stats_sync("12mo", **both)
    cutoff = (NOW - timedelta(days=90)).date().isoformat()
    assert refused.value.param == "range" and cutoff in refused.value.message
    assert "these filters" in refused.value.message
    # September 1st to November 20th (81 days) is after the cutoff (August 22nd, noon);
    # the 81 days before it are not.
    days = {"from_date": "2026-09-01", "to_date": "2026-11-20"}
    recent = api.get_dashboard_stats_sync(**days, **both)
    assert recent.pageviews.value == 1
    assert recent.pageviews.previous is None and recent.pageviews.change is None
    unfiltered = api.get_dashboard_stats_sync(**days)
    assert unfiltered.pageviews.previous == 1 and unfiltered.pageviews.change == 0.0
    month = api.get_dashboard_stats_sync("30d", **both)  # and its previous 30: kept
    assert (month.pageviews.value, month.pageviews.previous) == (1, 0)
    # The purged day alone: its numbers come from the rollups, its hours are gone.
    old_day = (NOW - timedelta(days=100)).date().isoformat()
    one_day = {"from_date": old_day, "to_date": old_day}
    assert api.get_dashboard_stats_sync(**one_day).pageviews.value == 1
    pages = api.get_top_pages_sync(**one_day)
    assert [(p.path, p.pageviews, p.sparkline) for p in pages] == [("/", 1, [])]
    with pytest.raises(InvalidQuery, match="hourly charts need the raw events"):
        api.get_timeseries_sync(**one_day)
    # An event's properties: from the rollups of property values, both plans over 12
    # months. With a filter they are read from raw events: the 12 months would show the
    # recent signup's plan alone, so they are refused; 30 days are kept whole.
    year_plans = api.get_event_properties_sync("Signup", range="12mo")
    assert [(p.key, p.value, p.visitors, p.events) for p in year_plans] == [
        ("plan", "free", 1, 1),
        ("plan", "pro", 1, 1),
    ]
    with pytest.raises(InvalidQuery) as refused:
        api.get_event_properties_sync("Signup", range="12mo", page="/")
    assert cutoff in refused.value.message and "properties" in refused.value.message
    month_plans = api.get_event_properties_sync("Signup", range="30d", page="/")
    assert [(p.key, p.value, p.visitors) for p in month_plans] == [("plan", "free", 1)]

    server = serve(analytics)
    query = "range=12mo&page=/&country=(unknown)"
    answer = server.client.get(
        f"/api/data/analytics/stats?{query}",
        headers={"Authorization": "Bearer an-admin-token-for-tests"},
    )
    assert answer.status_code == 400
    assert cutoff in answer.text
    page = server.client.get(
        f"/pages/analytics?{query}", headers={"Authorization": "Bearer an-admin-token-for-tests"}
    )
    assert page.status_code == 400 and cutoff in page.text
    # The page of an event over 12 months: its numbers and properties from the rollups.
    event_page = server.client.get(
        "/pages/analytics?range=12mo&event=Signup",
        headers={"Authorization": "Bearer an-admin-token-for-tests"},
    )
    assert event_page.status_code == 200
    assert 'data-list="event-properties"' in event_page.text
    assert 'data-notice="properties"' not in event_page.text


def test_a_purge_keeps_what_rolling_up_the_next_day_reads(store):
    """A visit from 23:50 on the 17th to 00:10 on the 18th; one day kept. The purge that
    runs before the 18th is final must keep the 17th's events, which rolling up the 18th
    reads to know that its visitor was seen the day before: else one visit counts twice."""
    late = datetime(2026, 11, 17, 23, 50, tzinfo=UTC)
    store.writer.write_now([_view(late, 7, 70), _view(late + timedelta(minutes=20), 7, 70)])
    zone = ZoneInfo("UTC")
    roll_up(store.engine, timezone="UTC", now=final_at(date(2026, 11, 17), zone))
    before_final = final_at(date(2026, 11, 18), zone) - timedelta(minutes=1)
    roll_up(store.engine, timezone="UTC", now=before_final)
    purge(store.engine, retention_days=1, now=before_final)
    roll_up(store.engine, timezone="UTC", now=final_at(date(2026, 11, 18), zone))
    q = Queries(store.engine, timezone="UTC", clock=lambda: NOW)
    both = q.dashboard_stats(q.period(None, "2026-11-17", "2026-11-18"), Filters())
    assert (both.visitors.value, both.visits.value) == (1, 1)
    assert both.visit_duration.value == 1200.0


def test_the_upgrade_to_filter_rollups_rolls_up_again_what_it_can(store):
    """A database rolled up before filter rollups existed (revision 0003), with raw events
    before November 4th purged: the upgrade forgets the rollups of the days it can roll up
    again (November 6th on: their raw events and those of the 48 hours before are kept),
    and keeps the older ones. Afterwards one filter reads rollups from the 6th on, and
    refuses a period from before it rather than count too little."""
    from alembic import command

    from footfall.store.migrate import alembic_config, migrate
    from footfall.store.schema import rollup_filtered_day

    now = datetime(2026, 11, 12, 0, 0, tzinfo=UTC)
    for day in range(1, 11):  # two visitors a day, one of them on /a
        at = datetime(2026, 11, day, 10, 0, tzinfo=UTC)
        store.writer.write_now(
            [_view(at, day * 10 + 1, day * 10 + 1), _view(at, day * 10 + 2, day * 10 + 2, "/a")]
        )
    assert roll_up(store.engine, timezone="UTC", now=now) == 10
    purge(store.engine, retention_days=8, now=now)  # raw events before November 4th
    config = alembic_config()
    with store.engine.begin() as conn:  # as it was before the upgrade
        config.attributes["connection"] = conn
        command.downgrade(config, "0003")
    migrate(store.engine)

    with store.engine.connect() as conn:
        state = conn.execute(sa.text("SELECT sealed_until, filtered_from FROM rollup_state")).one()
        kept = conn.execute(
            sa.text("SELECT count(*) FROM rollup_day WHERE dimension = '' AND visitors > 0")
        ).scalar_one()
    assert [str(d) for d in state] == ["2026-11-06", "2026-11-06"]
    assert kept == 5  # November 1st to 5th
    assert roll_up(store.engine, timezone="UTC", now=now) == 5
    with store.engine.connect() as conn:
        days = conn.execute(sa.select(rollup_filtered_day.c.day).distinct()).scalars().all()
    assert sorted(str(d) for d in days) == [f"2026-11-{d:02}" for d in range(6, 11)]

    q = Queries(store.engine, timezone="UTC", clock=lambda: now)
    recent = q.period(None, "2026-11-06", "2026-11-10")
    stats = q.dashboard_stats(recent, Filters(page="/a"))
    assert (stats.visitors.value, stats.pageviews.value) == (5, 5)
    assert (
        q.dashboard_stats(q.period(None, "2026-11-01", "2026-11-10"), Filters()).visitors.value
        == 20
    )
    with pytest.raises(InvalidQuery, match="2026-11-04"):
        q.dashboard_stats(q.period(None, "2026-11-01", "2026-11-10"), Filters(page="/a"))


def test_an_import_after_a_purge_leaves_the_partly_purged_days_rolled_up(store, tmp_path):
    """Page views at 10:00 and 14:00 on November 1st to 10th; the purge (8 days kept, at noon
    on the 12th) deletes raw events before noon on the 4th. An import of an event of the
    2nd must not roll the 4th up again from its 14:00 view alone: the days up to the 6th
    (whose 48 hours before reach into the purged morning) keep their rollups."""
    now = datetime(2026, 11, 12, 12, 0, tzinfo=UTC)
    for day in range(1, 11):
        morning = datetime(2026, 11, day, 10, 0, tzinfo=UTC)
        afternoon = morning + timedelta(hours=4)
        store.writer.write_now([_view(morning, day, day), _view(afternoon, 100 + day, 100 + day)])
    roll_up(store.engine, timezone="UTC", now=now)
    purge(store.engine, retention_days=8, now=now)
    q = Queries(store.engine, timezone="UTC", clock=lambda: now)
    days = q.period(None, "2026-11-03", "2026-11-08")
    assert q.dashboard_stats(days, Filters()).pageviews.value == 12  # worked out: 6 days x 2

    other = Store(f"sqlite:///{tmp_path / 'other.db'}")
    other.writer.write_now([_view(datetime(2026, 11, 2, 9, 0, tzinfo=UTC), 900, 900)])
    text = io.StringIO(newline="")
    write_csv(export_rows(other), text)
    other.close()
    text.seek(0)
    import_csv(store, text)
    roll_up(store.engine, timezone="UTC", now=now)
    with store.engine.connect() as conn:
        sealed = conn.execute(sa.text("SELECT sealed_until FROM rollup_state")).scalar_one()
    assert str(sealed) == "2026-11-12"
    assert q.dashboard_stats(days, Filters()).pageviews.value == 12


def _signup(at: datetime, visitor: int, properties: dict, name: str = "Signup") -> Event:
    return replace(_view(at, visitor, visitor), name=name, properties=properties)


def test_event_properties_read_their_rollups_with_the_raw_events_gone(store):
    """Property values of every JSON kind, a key and a value with a quote, a control
    character and a non-ASCII letter, a visit across midnight and another event with the
    same property: the properties of ``Signup`` from the rollups equal the list worked out
    by hand, and still do once the raw events are deleted (so they were not read)."""
    odd_key, odd_value = 'k"ey\x1f', "\u00fc\x1fv"
    on = lambda day, hour, minute=0: datetime(2026, 11, day, hour, minute, tzinfo=UTC)  # noqa: E731
    store.writer.write_now(
        [
            _signup(
                on(10, 10),
                1,
                {"plan": "pro", "trial": True, "seats": 3, "note": None, odd_key: odd_value},
            ),
            _signup(on(10, 11), 2, {"plan": "pro", "trial": False, "seats": 3}),
            _signup(on(10, 11, 5), 2, {"plan": "free"}),
            _signup(on(11, 23, 50), 3, {"plan": "pro"}),
            _signup(on(12, 0, 10), 3, {"plan": "pro"}),  # the same visit, past midnight
            _signup(on(12, 9), 4, {"plan": "pro"}, name="Download"),
        ]
    )
    assert roll_up(store.engine, timezone="UTC", now=NOW) > 0
    q = Queries(store.engine, timezone="UTC", clock=lambda: NOW)
    raw = Queries(store.engine, timezone="UTC", clock=lambda: NOW, rollups=False)
    month, nov_12 = q.period("30d"), q.period(None, "2026-11-12", "2026-11-12")

    def listed(queries: Queries, period) -> list[tuple]:
        found = queries.event_properties(period, Filters(), "Signup")
        return [(p.key, p.value, p.visitors, p.events) for p in found]

    by_hand = [
        (odd_key, odd_value, 1, 1),
        ("note", "null", 1, 1),
        ("plan", "pro", 3, 4),  # visitors 1, 2 and 3 (twice, across midnight)
        ("plan", "free", 1, 1),
        ("seats", "3", 2, 2),
        ("trial", "false", 1, 1),  # a tie: by value
        ("trial", "true", 1, 1),
    ]
    one_day = [("plan", "pro", 1, 1)]  # visitor 3's second signup; visitor 4's is a Download
    assert listed(raw, month) == by_hand and listed(raw, nov_12) == one_day
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM custom_event"))
        rolled = conn.execute(
            sa.text("SELECT count(*) FROM rollup_day WHERE dimension = 'prop'")
        ).scalar_one()
    assert rolled > 0
    assert listed(q, month) == by_hand
    assert listed(q, nov_12) == one_day
    assert listed(raw, month) == []


def test_the_upgrade_to_property_rollups_rolls_up_again_what_it_can(
    store, database_url, make_analytics, serve, clock
):
    """A database rolled up before property rollups existed (revision 0008), with raw
    events before November 4th purged: the upgrade rolls up again the days it can
    (November 6th on), with their property values; a period from before then refuses its
    properties rather than count too few, and the event's page says why."""
    from alembic import command

    from footfall.store.migrate import alembic_config, migrate

    now = datetime(2026, 11, 12, 0, 0, tzinfo=UTC)
    for day in range(1, 11):  # a pro signup a day, and a free one on even days
        at = datetime(2026, 11, day, 10, 0, tzinfo=UTC)
        store.writer.write_now([_signup(at, day * 10 + 1, {"plan": "pro"})])
        if day % 2 == 0:
            store.writer.write_now([_signup(at, day * 10 + 2, {"plan": "free"})])
    assert roll_up(store.engine, timezone="UTC", now=now) == 10
    purge(store.engine, retention_days=8, now=now)  # raw events before November 4th
    config = alembic_config()
    with store.engine.begin() as conn:  # as it was before the upgrade
        config.attributes["connection"] = conn
        command.downgrade(config, "0008")
    migrate(store.engine)
    with store.engine.connect() as conn:
        state = conn.execute(
            sa.text("SELECT sealed_until, properties_from, filtered_from FROM rollup_state")
        ).one()
    assert [str(d) for d in state] == ["2026-11-06", "2026-11-06", "2026-11-01"]
    assert roll_up(store.engine, timezone="UTC", now=now) == 5

    q = Queries(store.engine, timezone="UTC", clock=lambda: now)
    recent = q.event_properties(q.period(None, "2026-11-06", "2026-11-10"), Filters(), "Signup")
    # Pro on the 6th to the 10th, free on the 6th, 8th and 10th.
    assert [(p.value, p.visitors, p.events) for p in recent] == [("pro", 5, 5), ("free", 3, 3)]
    with pytest.raises(InvalidQuery, match="2026-11-04"):
        q.event_properties(q.period(None, "2026-11-01", "2026-11-10"), Filters(), "Signup")

    clock.now = now
    server = serve(make_analytics(database_url, admin_token="an-admin-token-for-tests"))
    event_page = server.client.get(
        "/pages/analytics?from_date=2026-11-01&to_date=2026-11-10&event=Signup",
        headers={"Authorization": "Bearer an-admin-token-for-tests"},
    )
    assert event_page.status_code == 200
    assert 'data-notice="properties"' in event_page.text and "2026-11-04" in event_page.text
    assert 'data-list="event-properties"' not in event_page.text
