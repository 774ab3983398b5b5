"""Rollups of events' property values, so that an event's properties over months read a row
per day and value, and outlive the raw events.

Adds ``rollup_state.properties_from``. On PostgreSQL, a rollup value becomes ``text``: the
value of a property names its event, key and value (up to 2,420 characters before JSON's
escapes), longer than the 2,000 a page's path may have. The days already rolled up are
rolled up again (in the background, as after any upgrade: reports read raw events for
them meanwhile), except those whose raw events, or the raw events of the 48 hours before
them, are purged: they keep their rollups, and the properties of a period with them say
that the raw events are gone.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ID_LIFETIME = timedelta(hours=48)
"""As store/rollups.py: how long before a day its visitors may have been seen."""
DAY_TABLES = (
    "rollup_day",
    "rollup_filtered_day",
    "rollup_visit_part",
    "rollup_visitor_item",
    "rollup_pair",
    "rollup_window",
    "rollup_hour",
)
VALUE_TABLES = (
    "rollup_day",
    "rollup_filtered_day",
    "rollup_visitor_item",
    "rollup_pair",
    "rollup_window",
    "rollup_hour",
    "rollup_today",
    "rollup_today_hour",
)
TODAY_TABLES = ("rollup_today", "rollup_today_hour", "rollup_today_crossing")


def upgrade() -> None:
    with op.batch_alter_table("rollup_state") as batch:
        batch.add_column(sa.Column("properties_from", sa.Date))
    if op.get_bind().dialect.name == "postgresql":  # SQLite keeps any length in a VARCHAR
        for name in VALUE_TABLES:
            op.alter_column(name, "value", type_=sa.Text, existing_nullable=False)
    _roll_up_again()


def _roll_up_again() -> None:
    """Forget the rollups of the days that can be rolled up again with property rows."""
    conn = op.get_bind()
    state = sa.table(
        "rollup_state",
        sa.column("timezone", sa.String),
        sa.column("first_day", sa.Date),
        sa.column("sealed_until", sa.Date),
        sa.column("raw_from", sa.DateTime),
        sa.column("filtered_from", sa.Date),
        sa.column("properties_from", sa.Date),
        sa.column("today", sa.Date),
        sa.column("today_until", sa.DateTime),
    )
    row = conn.execute(
        sa.select(
            state.c.timezone,
            state.c.first_day,
            state.c.sealed_until,
            state.c.raw_from,
            state.c.filtered_from,
        )
    ).first()
    if row is None or not row.timezone:
        return  # nothing rolled up yet (or a rebuild is pending): every day gets them
    zone = ZoneInfo(row.timezone)
    first = row.first_day
    if row.raw_from is not None:
        raw_from = row.raw_from.replace(tzinfo=UTC)
        while _midnight(first, zone) - ID_LIFETIME < raw_from:
            first += timedelta(days=1)
    first = min(first, row.sealed_until)
    for name in DAY_TABLES:
        table = sa.table(name, sa.column("day", sa.Date))
        conn.execute(sa.delete(table).where(table.c.day >= first))
    for name in TODAY_TABLES:
        conn.execute(sa.delete(sa.table(name)))
    # The windows of days before ``first`` (a day whose raw events are purged has none).
    conn.execute(sa.delete(sa.table("rollup_window")))
    conn.execute(sa.delete(sa.table("rollup_hour")))
    conn.execute(
        sa.update(state).values(
            sealed_until=first,
            filtered_from=min(first, row.filtered_from or first),
            properties_from=first,
            today=None,
            today_until=None,
        )
    )


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def downgrade() -> None:
    with op.batch_alter_table("rollup_state") as batch:
        batch.drop_column("properties_from")
    for name in ("rollup_day", "rollup_pair", "rollup_window", "rollup_today"):
        table = sa.table(name, sa.column("dimension", sa.String))
        op.execute(sa.delete(table).where(table.c.dimension == "prop"))
    item = sa.table("rollup_visitor_item", sa.column("kind", sa.String))
    op.execute(sa.delete(item).where(item.c.kind == "prop"))
    if op.get_bind().dialect.name == "postgresql":
        for name in VALUE_TABLES:
            op.alter_column(name, "value", type_=sa.String(2000), existing_nullable=False)
