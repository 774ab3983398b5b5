"""Initial schema: page views, custom events, visit sessions, salts, dropped-event counts.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _dimensions() -> list[sa.Column]:
    return [
        sa.Column("hostname", sa.String(253), nullable=False),
        sa.Column("referrer", sa.String(2000)),
        sa.Column("referrer_source", sa.String(300)),
        sa.Column("utm_source", sa.String(300)),
        sa.Column("utm_medium", sa.String(300)),
        sa.Column("utm_campaign", sa.String(300)),
        sa.Column("utm_content", sa.String(300)),
        sa.Column("utm_term", sa.String(300)),
        sa.Column("country", sa.String(2)),
        sa.Column("device", sa.String(16)),
        sa.Column("browser", sa.String(64)),
        sa.Column("browser_version", sa.String(32)),
        sa.Column("os", sa.String(64)),
        sa.Column("os_version", sa.String(32)),
        sa.Column("visitor_id", sa.BigInteger, nullable=False),
        sa.Column("session_id", sa.BigInteger, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "page_view",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("timestamp", sa.DateTime, nullable=False),
        sa.Column("path", sa.String(2000), nullable=False),
        sa.Column("properties", sa.Text),
        *_dimensions(),
    )
    op.create_index("ix_page_view_timestamp", "page_view", ["timestamp"])
    op.create_index("ix_page_view_session", "page_view", ["session_id"])

    op.create_table(
        "custom_event",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("timestamp", sa.DateTime, nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("path", sa.String(2000), nullable=False),
        sa.Column("properties", sa.Text),
        sa.Column("interactive", sa.Boolean, nullable=False),
        *_dimensions(),
    )
    op.create_index("ix_custom_event_timestamp", "custom_event", ["timestamp"])
    op.create_index("ix_custom_event_name_timestamp", "custom_event", ["name", "timestamp"])
    op.create_index("ix_custom_event_session", "custom_event", ["session_id"])

    op.create_table(
        "visit_session",
        sa.Column("visitor_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("session_id", sa.BigInteger, nullable=False),
        sa.Column("last_seen", sa.DateTime, nullable=False),
    )
    op.create_index("ix_visit_session_last_seen", "visit_session", ["last_seen"])

    op.create_table(
        "salt",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("salt", sa.LargeBinary(32), nullable=False),
    )

    op.create_table(
        "dropped_event",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("reason", sa.String(32), primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in ("dropped_event", "salt", "visit_session", "custom_event", "page_view"):
        op.drop_table(table)
