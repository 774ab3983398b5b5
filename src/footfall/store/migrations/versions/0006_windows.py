"""Rollups of parts of a rolled-up day (``rollup_window``) and of its hours
(``rollup_hour``), for 24-hour reports.

Nothing is built here: a running footfall fills it within minutes (until then, reports
read those parts from raw events as before).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rollup_window",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("start", sa.DateTime, nullable=False),
        sa.Column("stop", sa.DateTime, nullable=False),
        sa.Column("dimension", sa.String(16), nullable=False),
        sa.Column("value", sa.String(2000), nullable=False),
        *(
            sa.Column(name, sa.BigInteger, nullable=False)
            for name in ("visitors", "visits", "pageviews", "bounces", "duration_ms", "events")
        ),
    )
    op.create_index("ix_rollup_window", "rollup_window", ["dimension", "start", "stop"])
    op.create_table(
        "rollup_hour",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("hour", sa.String(16), nullable=False),
        sa.Column("dimension", sa.String(16), nullable=False),
        sa.Column("value", sa.String(2000), nullable=False),
        *(
            sa.Column(name, sa.BigInteger, nullable=False)
            for name in ("visitors", "visits", "pageviews")
        ),
    )
    op.create_index("ix_rollup_hour", "rollup_hour", ["dimension", "day", "hour"])


def downgrade() -> None:
    op.drop_index("ix_rollup_hour", "rollup_hour")
    op.drop_table("rollup_hour")
    op.drop_index("ix_rollup_window", "rollup_window")
    op.drop_table("rollup_window")
