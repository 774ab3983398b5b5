"""Rollups of the day in progress: ``rollup_today``, ``rollup_today_hour`` and
``rollup_today_crossing``, the ``rollup_state`` columns that say what they cover, and an
index of the visits by visitor.

Nothing is built here: the first roll-up after the upgrade fills them (until then,
reports read the day's visits and events as before).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_visit_visitor", "visit", ["visitor_id"])
    op.create_table(
        "rollup_today",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("dimension", sa.String(16), nullable=False),
        sa.Column("value", sa.String(2000), nullable=False),
        *(
            sa.Column(name, sa.BigInteger, nullable=False)
            for name in ("visitors", "visits", "pageviews", "bounces", "duration_ms", "events")
        ),
    )
    op.create_index("ix_rollup_today", "rollup_today", ["dimension"])
    op.create_table(
        "rollup_today_hour",
        sa.Column("hour", sa.String(16), nullable=False),
        sa.Column("dimension", sa.String(16), nullable=False),
        sa.Column("value", sa.String(2000), nullable=False),
        *(
            sa.Column(name, sa.BigInteger, nullable=False)
            for name in ("visitors", "visits", "pageviews")
        ),
    )
    op.create_index("ix_rollup_today_hour", "rollup_today_hour", ["dimension", "hour"])
    op.create_table(
        "rollup_today_crossing",
        sa.Column("visitor_id", sa.BigInteger, primary_key=True, autoincrement=False),
    )
    with op.batch_alter_table("rollup_state") as batch:
        batch.add_column(sa.Column("today", sa.Date))
        batch.add_column(sa.Column("today_until", sa.DateTime))


def downgrade() -> None:
    with op.batch_alter_table("rollup_state") as batch:
        batch.drop_column("today_until")
        batch.drop_column("today")
    op.drop_table("rollup_today_crossing")
    op.drop_index("ix_rollup_today_hour", "rollup_today_hour")
    op.drop_table("rollup_today_hour")
    op.drop_index("ix_rollup_today", "rollup_today")
    op.drop_table("rollup_today")
    op.drop_index("ix_visit_visitor", "visit")
