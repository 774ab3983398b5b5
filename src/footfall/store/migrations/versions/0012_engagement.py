"""Engagement: how long a page was looked at and how far it was scrolled.

Adds ``page_view.engaged_ms`` and ``page_view.scroll_depth`` (None until the page's tracker
reports them), ``visit.engaged_ms`` and ``rollup_visit_part.engaged_ms`` (the sum over the
visit's page views, 0 without engagement), and ``rollup_engagement``: the sums per local
day and page. No day needs rolling up again: no engagement was stored before.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("page_view") as batch:
        batch.add_column(sa.Column("engaged_ms", sa.BigInteger))
        batch.add_column(sa.Column("scroll_depth", sa.SmallInteger))
    for table in ("visit", "rollup_visit_part"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("engaged_ms", sa.BigInteger, nullable=False, server_default="0")
            )
    op.create_table(
        "rollup_engagement",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("engaged_ms", sa.BigInteger, nullable=False),
        sa.Column("engaged_views", sa.BigInteger, nullable=False),
        sa.Column("scroll_sum", sa.BigInteger, nullable=False),
        sa.Column("scroll_views", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_rollup_engagement", "rollup_engagement", ["path", "day"])
    engaged = sa.text("engaged_ms IS NOT NULL")
    op.create_index(
        "ix_page_view_engaged",
        "page_view",
        ["timestamp", "path", "engaged_ms", "scroll_depth"],
        sqlite_where=engaged,
        postgresql_where=engaged,
    )


def downgrade() -> None:
    op.drop_index("ix_page_view_engaged", "page_view")
    op.drop_index("ix_rollup_engagement", "rollup_engagement")
    op.drop_table("rollup_engagement")
    for table in ("rollup_visit_part", "visit"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("engaged_ms")
    with op.batch_alter_table("page_view") as batch:
        batch.drop_column("scroll_depth")
        batch.drop_column("engaged_ms")
