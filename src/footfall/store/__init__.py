"""Storage: one narrow interface over SQLite and PostgreSQL.

Nothing upstream of this package knows which database is in use.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Engine, select

from footfall.store.database import create_store_engine
from footfall.store.migrate import migrate
from footfall.store.salts import SaltRepository
from footfall.store.schema import visit_session
from footfall.store.writer import BatchWriter, StoreUnavailable

__all__ = ["Store", "StoreUnavailable"]


class Store:
    """The database of one installation: migrated on open, written through one batch writer."""

    def __init__(self, database_url: str, *, max_batch_size: int = 1000) -> None:
        self.engine: Engine = create_store_engine(database_url)
        migrate(self.engine)
        self.writer = BatchWriter(self.engine, max_batch_size=max_batch_size)
        self.salts = SaltRepository(self.engine)

    def find_visits(self, visitor_ids: Sequence[int]) -> dict[int, tuple[int, datetime]]:
        """The stored ``(session_id, last_seen)`` of each visitor id that has one."""
        query = select(
            visit_session.c.visitor_id, visit_session.c.session_id, visit_session.c.last_seen
        ).where(visit_session.c.visitor_id.in_(list(visitor_ids)))
        with self.engine.connect() as conn:
            return {
                row.visitor_id: (row.session_id, row.last_seen.replace(tzinfo=UTC))
                for row in conn.execute(query)
            }

    def close(self) -> None:
        """Write what is queued, then release the connections."""
        self.writer.close()
        self.engine.dispose()
