"""Rollups per filter value, so that a report with one filter reads rollups too.

Adds ``rollup_filtered_day``, the visit of each ``rollup_visitor_item`` row, and
``rollup_state.filtered_from``. The days already rolled up are rolled up again (in the
background, as after any upgrade: reports read raw events for them meanwhile), except
those whose raw events, or the raw events of the 48 hours before them, are purged: they
keep their rollups, and filtered reports of them say that the raw events are gone.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID_LIFETIME = timedelta(hours=48)
"""As store/rollups.py: how long before a day its visitors may have been seen."""
ROLLUP_TABLES = ("rollup_day", "rollup_filtered_day", "rollup_visit_part", "rollup_visitor_item")


def upgrade() -> None:
    op.create_table(
        "rollup_filtered_day",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("filter", sa.String(16), nullable=False),
        sa.Column("filter_value", sa.String(2000), nullable=False),
        sa.Column("dimension", sa.String(16), nullable=False),
        sa.Column("value", sa.String(2000), nullable=False),
        *(
            sa.Column(name, sa.BigInteger, nullable=False)
            for name in ("visitors", "visits", "pageviews", "bounces", "duration_ms", "events")
        ),
    )
    op.create_index(
        "ix_rollup_filtered_day",
        "rollup_filtered_day",
        ["filter", "filter_value", "dimension", "day"],
    )
    with op.batch_alter_table("rollup_visitor_item") as batch:
        batch.add_column(sa.Column("session_id", sa.BigInteger))
    with op.batch_alter_table("rollup_state") as batch:
        batch.add_column(sa.Column("filtered_from", sa.Date))
    _roll_up_again()


def _roll_up_again() -> None:
    """Forget the rollups of the days that can be rolled up again with filter rows."""
    conn = op.get_bind()
    state = sa.table(
        "rollup_state",
        sa.column("timezone", sa.String),
        sa.column("first_day", sa.Date),
        sa.column("sealed_until", sa.Date),
        sa.column("raw_from", sa.DateTime),
        sa.column("filtered_from", sa.Date),
    )
    row = conn.execute(
        sa.select(state.c.timezone, state.c.first_day, state.c.sealed_until, state.c.raw_from)
    ).first()
    if row is None or not row.timezone:
        return  # nothing rolled up yet (or a rebuild is pending): every day gets filter rows
    zone = ZoneInfo(row.timezone)
    first = row.first_day
    if row.raw_from is not None:
        raw_from = row.raw_from.replace(tzinfo=UTC)
        while _midnight(first, zone) - ID_LIFETIME < raw_from:
            first += timedelta(days=1)
    first = min(first, row.sealed_until)
    for name in ROLLUP_TABLES:
        table = sa.table(name, sa.column("day", sa.Date))
        conn.execute(sa.delete(table).where(table.c.day >= first))
    conn.execute(sa.update(state).values(sealed_until=first, filtered_from=first))


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def downgrade() -> None:
    with op.batch_alter_table("rollup_state") as batch:
        batch.drop_column("filtered_from")
    with op.batch_alter_table("rollup_visitor_item") as batch:
        batch.drop_column("session_id")
    op.drop_table("rollup_filtered_day")
