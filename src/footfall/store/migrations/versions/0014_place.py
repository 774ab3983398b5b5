"""Regions and cities: where a visitor was below the country, from a city-level ``.mmdb``.

Adds ``region`` and ``city`` (nullable) to ``page_view`` and ``custom_event``; the events
already stored keep none.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TABLES = ("page_view", "custom_event")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("region", sa.String(100)))
            batch.add_column(sa.Column("city", sa.String(100)))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("city")
            batch.drop_column("region")
