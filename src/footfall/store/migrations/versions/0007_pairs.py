"""The numbers of the visitors seen on two adjacent days (``rollup_pair``), and which pair
each stored visit part belongs to (``pair_day``).

Nothing is built here: the parts of days rolled up before keep ``pair_day`` None and are
regrouped by the reports as before; days rolled up from now on get pairs.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("rollup_visit_part", "rollup_visitor_item"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("pair_day", sa.Date))
        op.create_index(f"ix_{table}_pair", table, ["pair_day", "day"])
    op.create_table(
        "rollup_pair",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("part", sa.String(16), nullable=False),
        sa.Column("bucket_day", sa.Date, nullable=False),
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
        "ix_rollup_pair", "rollup_pair", ["filter", "filter_value", "dimension", "part", "day"]
    )


def downgrade() -> None:
    op.drop_index("ix_rollup_pair", "rollup_pair")
    op.drop_table("rollup_pair")
    for table in ("rollup_visit_part", "rollup_visitor_item"):
        op.drop_index(f"ix_{table}_pair", table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("pair_day")
