"""The tables, as SQLAlchemy Core metadata.

This is the current shape of the schema; the migrations in ``store/migrations`` build it.
Timestamps are naive UTC on every backend, so comparisons and exports mean the same
everywhere. Ids are 63-bit integers: compact to store and fast to count distinct.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    false,
    text,
)

metadata = MetaData()

# SQLite only gives a column rowid semantics (cheap appends) when it is exactly INTEGER.
_Id = BigInteger().with_variant(Integer(), "sqlite")


def _dimensions() -> list[Column]:
    """Columns shared by page views and custom events, so every filter applies to both."""
    return [
        Column("hostname", String(253), nullable=False),
        Column("referrer", String(2000)),
        Column("referrer_source", String(300)),
        Column("utm_source", String(300)),
        Column("utm_medium", String(300)),
        Column("utm_campaign", String(300)),
        Column("utm_content", String(300)),
        Column("utm_term", String(300)),
        Column("country", String(2)),
        Column("device", String(16)),
        Column("browser", String(64)),
        Column("browser_version", String(32)),
        Column("os", String(64)),
        Column("os_version", String(32)),
        Column("visitor_id", BigInteger, nullable=False),
        Column("session_id", BigInteger, nullable=False),
    ]


DIMENSIONS: tuple[str, ...] = tuple(column.name for column in _dimensions())
"""The columns every event table has after its own."""


def _place() -> list[Column]:
    """Where the visitor was, below the country: only with a city-level ``.mmdb``."""
    return [Column("region", String(100)), Column("city", String(100))]


PLACE: tuple[str, ...] = tuple(column.name for column in _place())
"""The region and city columns, last in both event tables (migration 0014)."""

page_view = Table(
    "page_view",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("timestamp", DateTime, nullable=False),
    Column("path", String(2000), nullable=False),
    Column("properties", Text),
    *_dimensions(),
    # What the page's tracker reported when the page was hidden or left (None: nothing):
    # milliseconds visible and focused, and the deepest scroll, in percent of the page.
    Column("engaged_ms", BigInteger),
    Column("scroll_depth", SmallInteger),
    *_place(),
    Index("ix_page_view_timestamp", "timestamp"),
    # The engaged page views only (most are, once their tracker has reported), with what
    # time on page reads of them: the day in progress's engagement without the table.
    Index(
        "ix_page_view_engaged",
        "timestamp",
        "path",
        "engaged_ms",
        "scroll_depth",
        sqlite_where=text("engaged_ms IS NOT NULL"),
        postgresql_where=text("engaged_ms IS NOT NULL"),
    ),
    Index("ix_page_view_session", "session_id"),
)

custom_event = Table(
    "custom_event",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("timestamp", DateTime, nullable=False),
    Column("name", String(120), nullable=False),
    Column("path", String(2000), nullable=False),
    Column("properties", Text),
    Column("interactive", Boolean, nullable=False, default=True),
    *_dimensions(),
    *_place(),
    Index("ix_custom_event_timestamp", "timestamp"),
    Index("ix_custom_event_name_timestamp", "name", "timestamp"),
    Index("ix_custom_event_session", "session_id"),
)

visit_session = Table(
    "visit_session",
    metadata,
    Column("visitor_id", BigInteger, primary_key=True, autoincrement=False),
    Column("session_id", BigInteger, nullable=False),
    Column("last_seen", DateTime, nullable=False),
    Index("ix_visit_session_last_seen", "last_seen"),
)
"""The latest visit of each visitor id: what lets a visit continue across workers and restarts."""

visit = Table(
    "visit",
    metadata,
    # Not SQLite's row id: rows stay in the order they are written (time), so a day's
    # visits sit together on disk; the random session ids would scatter them.
    Column("session_id", BigInteger, primary_key=True, autoincrement=False),
    Column("visitor_id", BigInteger, nullable=False),
    Column("first_seen", DateTime, nullable=False),
    Column("last_seen", DateTime, nullable=False),
    Column("pageviews", Integer, nullable=False),
    Column("interactions", Integer, nullable=False),
    Column("events", Integer, nullable=False),
    Column("entry_page", String(2000)),
    Column("exit_page", String(2000)),
    Column("hostname", String(253)),
    Column("source", String(300)),
    Column("referrer", String(2000)),
    Column("utm_source", String(300)),
    Column("utm_medium", String(300)),
    Column("utm_campaign", String(300)),
    Column("utm_content", String(300)),
    Column("utm_term", String(300)),
    Column("country", String(2)),
    Column("device", String(16)),
    Column("browser", String(64)),
    Column("os", String(64)),
    Column("engaged_ms", BigInteger, nullable=False, server_default="0"),
    # Covers finding the visits that cross a time (first_seen < t <= last_seen) by index.
    Index("ix_visit_last_seen", "last_seen", "first_seen", "session_id"),
    # Finds a visitor's other visits: whether today's rollups counted them already.
    Index("ix_visit_visitor", "visitor_id"),
)
"""One row per visit, written by the writer in the same transaction as the visit's events:
what reports of days not rolled up yet read instead of regrouping their events."""

salt = Table(
    "salt",
    metadata,
    Column("day", Date, primary_key=True),
    Column("salt", LargeBinary(32), nullable=False),
)
"""One random key per UTC day for the visitor hash; rows older than 48 hours are deleted."""

dropped_event = Table(
    "dropped_event",
    metadata,
    Column("day", Date, primary_key=True),
    Column("reason", String(32), primary_key=True),
    Column("count", BigInteger, nullable=False, default=0),
)
"""Aggregate counts of filtered events: how many and why, never what."""


# -- rollups: what the reports read for whole, finished days (store/rollups.py) ---------------


def _rollup_numbers() -> list[Column]:
    """A dimension's value and its numbers on one day (both per-day rollup tables)."""
    return [
        Column("dimension", String(16), nullable=False),
        Column("value", Text, nullable=False),  # a page's path, or an event's property value
        *(
            Column(name, BigInteger, nullable=False)
            for name in ("visitors", "visits", "pageviews", "bounces", "duration_ms", "events")
        ),
    ]


def _hour_numbers() -> list[Column]:
    """The columns of an hourly rollup row (``rollup_today_hour``, ``rollup_hour``): the
    hour's label, a dimension value (the whole site, or a page) and its numbers."""
    return [
        Column("hour", String(16), nullable=False),
        Column("dimension", String(16), nullable=False),
        Column("value", Text, nullable=False),
        *(Column(name, BigInteger, nullable=False) for name in ("visitors", "visits", "pageviews")),
    ]


rollup_day = Table(
    "rollup_day",
    metadata,
    Column("day", Date, nullable=False),
    *_rollup_numbers(),
    Index("ix_rollup_day", "dimension", "day"),
)
"""Per local day and per value of one dimension (``""`` for the whole site), the numbers of
the visitors whose every event fell on that day: they add up across days exactly."""

rollup_filtered_day = Table(
    "rollup_filtered_day",
    metadata,
    Column("day", Date, nullable=False),
    Column("filter", String(16), nullable=False),
    Column("filter_value", String(2000), nullable=False),
    *_rollup_numbers(),
    Index("ix_rollup_filtered_day", "filter", "filter_value", "dimension", "day"),
)
"""``rollup_day`` once more for each value of each filter (a referrer source, country,
device, browser, OS, page or custom event): the same numbers over the visits that filter
selects, so that a report with one filter reads a row per day and value too."""

rollup_visit_part = Table(
    "rollup_visit_part",
    metadata,
    Column("day", Date, nullable=False),
    Column("session_id", BigInteger, nullable=False),
    Column("visitor_id", BigInteger, nullable=False),
    Column("first_seen", DateTime, nullable=False),
    Column("last_seen", DateTime, nullable=False),
    Column("pageviews", BigInteger, nullable=False),
    Column("interactions", BigInteger, nullable=False),
    Column("source", String(300)),
    Column("country", String(2)),
    Column("device", String(16)),
    Column("browser", String(64)),
    Column("os", String(64)),
    Column("pair_day", Date),
    Column("pending", Boolean, nullable=False, server_default=false()),
    Column("engaged_ms", BigInteger, nullable=False, server_default="0"),
    Index("ix_rollup_visit_part_day", "day"),
    Index("ix_rollup_visit_part_pair", "pair_day", "day"),
)
"""Each day's part of every visit of the few visitors seen on more than one day: kept per
visit, so a range that joins two days counts such a visitor, and a visit that crosses
midnight, once. ``pair_day``: for a visitor seen on exactly two (adjacent) days, the
second of them, whose ``rollup_pair`` rows hold that visitor's numbers (None: seen on
three days, or rolled up before 0007). ``pending``: a visitor whose id had not expired
when the day was rolled up, kept here until it has (store/rollups.py)."""

rollup_visitor_item = Table(
    "rollup_visitor_item",
    metadata,
    Column("day", Date, nullable=False),
    Column("visitor_id", BigInteger, nullable=False),
    Column("session_id", BigInteger),  # None on rows rolled up before 0004
    Column("kind", String(8), nullable=False),
    Column("value", Text, nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("pair_day", Date),  # as rollup_visit_part's
    Index("ix_rollup_visitor_item_day", "day"),
    Index("ix_rollup_visitor_item_pair", "pair_day", "day"),
)
"""The pages viewed (``page``) and custom events sent (``event``) per day and visit by the
visitors of ``rollup_visit_part``, so their distinct count per page and event stays exact
and a page or event filter knows which of their visits it selects."""

rollup_pair = Table(
    "rollup_pair",
    metadata,
    Column("day", Date, nullable=False),
    Column("part", String(16), nullable=False),
    Column("bucket_day", Date, nullable=False),
    Column("filter", String(16), nullable=False),
    Column("filter_value", String(2000), nullable=False),
    *_rollup_numbers(),
    Index("ix_rollup_pair", "filter", "filter_value", "dimension", "part", "day"),
)
"""``rollup_day``'s rows (and ``rollup_filtered_day``'s, ``filter`` ``""``: none) of the
visitors seen on two days, ``day`` and the day before, and on no other: their numbers
over both days (``part`` ``both``), and over each alone (``before``, ``after``), for a
period that begins or ends between them, or a chart by day; with a filter, also each
day's part of the visits it selects over both (``before_both``, ``after_both``: a chart
by day). ``bucket_day``: the day a chart counts the row on (the first for ``before``,
``day`` otherwise). Where the visitors of the local days of a site in New York, say,
cross UTC midnight (a tenth of them), this is what spares a report from regrouping their
visits' parts (store/pairs.py)."""

rollup_window = Table(
    "rollup_window",
    metadata,
    Column("day", Date, nullable=False),
    Column("start", DateTime, nullable=False),
    Column("stop", DateTime, nullable=False),
    *_rollup_numbers(),
    Index("ix_rollup_window", "dimension", "start", "stop"),
)
"""``rollup_day``'s rows for a part ``[start, stop)`` (naive UTC) of a rolled-up local day,
over that day's visitors seen on it only, their visits cut at its edges: the few parts of
a day a 24-hour report and the one before it begin or end with (store/windows.py)."""

rollup_hour = Table(
    "rollup_hour",
    metadata,
    Column("day", Date, nullable=False),
    *_hour_numbers(),
    Index("ix_rollup_hour", "dimension", "day", "hour"),
)
"""``rollup_today_hour``'s rows for every hour of a rolled-up local day with windows (and
only then): the hours a 24-hour chart and its sparklines show of yesterday."""

rollup_engagement = Table(
    "rollup_engagement",
    metadata,
    Column("day", Date, nullable=False),
    Column("path", Text, nullable=False),
    Column("engaged_ms", BigInteger, nullable=False),
    Column("engaged_views", BigInteger, nullable=False),
    Column("scroll_sum", BigInteger, nullable=False),
    Column("scroll_views", BigInteger, nullable=False),
    Index("ix_rollup_engagement", "path", "day"),
)
"""Per local day and page, the engagement of its page views of that day: the engaged time
and how many page views reported one, the sum of their scroll depths and how many
reported one. Sums of page views, not of visitors: they add up across days as they are."""

setting = Table(
    "setting",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
"""Values the server keeps for itself across restarts: the admin token ``footfall serve``
made (``admin_token``)."""

admin_session = Table(
    "admin_session",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("expires_at", DateTime, nullable=False),
)
"""The administrator's sessions (``kind`` ``session``: the dashboard's cookie) and login
codes (``code``: the single-use link ``footfall serve`` prints), by the SHA-256 of their
secret: the database never holds one that works. ``token_hash`` is the SHA-256 of the
admin token it was made under: another token, and it no longer works. ``expires_at`` is
naive UTC."""

shared_link = Table(
    "shared_link",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("label", String(200), nullable=False),
    Column("password_hash", String(200)),
    Column("created_at", DateTime, nullable=False),
)
"""Read-only dashboards at a secret URL (``web/shared.py``), by the SHA-256 of their secret
(the URL's last part: the database never holds one that works); ``password_hash``, when
one is asked, is ``scrypt``'s, with its salt. Deleting a row revokes its link."""

rollup_state = Table(
    "rollup_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("timezone", String(64), nullable=False),
    Column("first_day", Date, nullable=False),
    Column("sealed_until", Date, nullable=False),
    Column("raw_from", DateTime),
    Column("filtered_from", Date),
    Column("properties_from", Date),
    Column("today", Date),
    Column("today_until", DateTime),
)
"""One row: the local days ``[first_day, sealed_until)`` of ``timezone`` are rolled up (with
``rollup_filtered_day`` rows from ``filtered_from`` on, and rows of events' property values
from ``properties_from`` on), and raw events before ``raw_from`` (UTC) have been purged.
``rollup_today`` holds the local day ``today``'s visits that ended before ``today_until``
(UTC)."""

rollup_today = Table(
    "rollup_today",
    metadata,
    Column("day", Date, nullable=False),
    *_rollup_numbers(),
    Index("ix_rollup_today", "dimension"),
)
"""``rollup_day``'s rows for the day in progress, over its finished visits (those that
ended before ``rollup_state.today_until`` and can no longer change) of the visitors not
seen before it; rebuilt every few minutes (store/today.py)."""

rollup_today_hour = Table(
    "rollup_today_hour",
    metadata,
    *_hour_numbers(),
    Index("ix_rollup_today_hour", "dimension", "hour"),
)
"""The hourly chart's numbers of the same finished visits, per local hour (its label,
``2026-11-20 14:00``): of the whole site (``dimension`` ``""``: the visitors and visits
with an event in that hour, and its page views), and each page's views (``page``)."""

rollup_today_crossing = Table(
    "rollup_today_crossing",
    metadata,
    Column("visitor_id", BigInteger, primary_key=True, autoincrement=False),
)
"""The visitors of ``rollup_state.today`` seen before it too (under the id of the day
before, which a visit keeps across midnight) with a finished visit that day: left out of
``rollup_today``, so that a range with the day before counts them once."""

ROLLUP_TABLES = (
    rollup_day,
    rollup_filtered_day,
    rollup_visit_part,
    rollup_visitor_item,
    rollup_pair,
    rollup_window,
    rollup_hour,
    rollup_engagement,
)
"""The tables of per-day numbers, each with its local ``day`` column."""
TODAY_TABLES = (rollup_today, rollup_today_hour, rollup_today_crossing)
"""The tables of the day in progress, rebuilt whole every few minutes."""
