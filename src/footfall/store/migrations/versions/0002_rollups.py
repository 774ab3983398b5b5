"""Rollups: per-day aggregates the reports read for whole, finished days.

The tables start empty; footfall fills them from the raw events in the background (see
store/rollups.py), oldest day first, and reads raw events for any day not yet rolled up,
so an upgraded database shows the same numbers throughout.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rollup_day",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("dimension", sa.String(16), nullable=False),
        sa.Column("value", sa.String(2000), nullable=False),
        sa.Column("visitors", sa.BigInteger, nullable=False),
        sa.Column("visits", sa.BigInteger, nullable=False),
        sa.Column("pageviews", sa.BigInteger, nullable=False),
        sa.Column("bounces", sa.BigInteger, nullable=False),
        sa.Column("duration_ms", sa.BigInteger, nullable=False),
        sa.Column("events", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_rollup_day", "rollup_day", ["dimension", "day"])
    op.create_table(
        "rollup_visit_part",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("session_id", sa.BigInteger, nullable=False),
        sa.Column("visitor_id", sa.BigInteger, nullable=False),
        sa.Column("first_seen", sa.DateTime, nullable=False),
        sa.Column("last_seen", sa.DateTime, nullable=False),
        sa.Column("pageviews", sa.BigInteger, nullable=False),
        sa.Column("interactions", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(300)),
        sa.Column("country", sa.String(2)),
        sa.Column("device", sa.String(16)),
        sa.Column("browser", sa.String(64)),
        sa.Column("os", sa.String(64)),
    )
    op.create_index("ix_rollup_visit_part_day", "rollup_visit_part", ["day"])
    op.create_table(
        "rollup_visitor_item",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("visitor_id", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("value", sa.String(2000), nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_rollup_visitor_item_day", "rollup_visitor_item", ["day"])
    op.create_table(
        "rollup_state",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("first_day", sa.Date, nullable=False),
        sa.Column("sealed_until", sa.Date, nullable=False),
        sa.Column("raw_from", sa.DateTime),
    )


def downgrade() -> None:
    for table in ("rollup_state", "rollup_visitor_item", "rollup_visit_part", "rollup_day"):
        op.drop_table(table)
