"""Days rolled up as soon as they are over (``pending`` visit parts).

A day is now rolled up 35 minutes after its local midnight, before the ids of its last
visitors have expired; those visitors are kept as visit parts marked ``pending`` until
they have, then settled (store/rollups.py). Nothing to build: the parts stored so far are
all settled.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rollup_visit_part") as batch:
        batch.add_column(
            sa.Column("pending", sa.Boolean, nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("rollup_visit_part") as batch:
        batch.drop_column("pending")
