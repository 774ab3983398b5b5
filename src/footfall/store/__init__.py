"""Storage: one narrow interface over SQLite and PostgreSQL.

Nothing upstream of this package knows which database is in use.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from footfall.store.batching import BatchThread
from footfall.store.database import create_store_engine
from footfall.store.migrate import migrate
from footfall.store.salts import SaltRepository
from footfall.store.writer import BatchWriter, StoreUnavailable

__all__ = ["Store", "StoreUnavailable", "Visits"]

Visits = dict[int, tuple[int, datetime]]
"""visitor id -> (session id, last seen), for visitors with a stored visit."""


class Store:
    """The database of one installation: migrated on open, written through one batch writer."""

    def __init__(self, database_url: str, *, max_batch_size: int = 1000) -> None:
        self.engine: Engine = create_store_engine(database_url)
        migrate(self.engine)
        self.writer = BatchWriter(self.engine, max_batch_size=max_batch_size)
        self.salts = SaltRepository(self.engine)
        # Concurrent look-ups share one query, as concurrent writes share one transaction.
        self._visit_lookups: BatchThread[Sequence[int], Visits | StoreUnavailable] = BatchThread(
            "footfall-visits", self._find_visits_batch, max_batch_size=500
        )

    async def find_visits(self, visitor_ids: Sequence[int]) -> Visits:
        """The stored ``(session_id, last_seen)`` of each visitor id that has one."""
        return await self._visit_lookups.submit(visitor_ids)  # type: ignore[return-value]

    def _find_visits_batch(self, requests: list[Sequence[int]]) -> list[Visits | StoreUnavailable]:
        wanted = sorted({visitor for ids in requests for visitor in ids})
        try:
            found = self._select_visits(wanted)
        except (DBAPIError, PoolTimeout) as error:  # PoolTimeout: every connection busy
            return [StoreUnavailable(str(error))] * len(requests)
        return [{v: found[v] for v in ids if v in found} for ids in requests]

    def _select_visits(self, visitor_ids: list[int]) -> Visits:
        """One indexed read, spelled for the driver: this runs for every new visitor, and
        Core's per-call rendering of the IN list cost more than the query itself."""
        sqlite = self.engine.dialect.name == "sqlite"
        markers = ", ".join(["?" if sqlite else "%s"] * len(visitor_ids))
        sql = (
            "SELECT visitor_id, session_id, last_seen FROM visit_session "
            f"WHERE visitor_id IN ({markers})"
        )
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(sql, tuple(visitor_ids)).all()
        return {
            visitor: (
                session,
                (datetime.fromisoformat(seen) if sqlite else seen).replace(tzinfo=UTC),
            )
            for visitor, session, seen in rows
        }

    def close(self) -> None:
        """Write what is queued, then release the connections."""
        self._visit_lookups.close()
        self.writer.close()
        self.engine.dispose()
