"""Visits kept by the writer: one row per visit, built from the raw events.

The migration creates the table and plans the build; ``migrate`` runs it after the
migrations, a day of events per transaction (``store/visit_build.py``): resumable, with
its progress shown, in memory bounded by a day's traffic.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from footfall.store.visit_build import plan_build, visit_build

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "visit",
        sa.Column("session_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("visitor_id", sa.BigInteger, nullable=False),
        sa.Column("first_seen", sa.DateTime, nullable=False),
        sa.Column("last_seen", sa.DateTime, nullable=False),
        sa.Column("pageviews", sa.Integer, nullable=False),
        sa.Column("interactions", sa.Integer, nullable=False),
        sa.Column("events", sa.Integer, nullable=False),
        sa.Column("entry_page", sa.String(2000)),
        sa.Column("exit_page", sa.String(2000)),
        sa.Column("hostname", sa.String(253)),
        sa.Column("source", sa.String(300)),
        sa.Column("referrer", sa.String(2000)),
        sa.Column("utm_source", sa.String(300)),
        sa.Column("utm_medium", sa.String(300)),
        sa.Column("utm_campaign", sa.String(300)),
        sa.Column("utm_content", sa.String(300)),
        sa.Column("utm_term", sa.String(300)),
        sa.Column("country", sa.String(2)),
        sa.Column("device", sa.String(16)),
        sa.Column("browser", sa.String(64)),
        sa.Column("os", sa.String(64)),
    )
    op.create_index("ix_visit_last_seen", "visit", ["last_seen", "first_seen", "session_id"])
    plan_build(op.get_bind())


def downgrade() -> None:
    op.drop_table("visit")
    visit_build.drop(op.get_bind(), checkfirst=True)
