"""Persistence of the daily salts, shared by every worker process."""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from footfall.store.dialect import insert_or_ignore
from footfall.store.schema import salt, visit_session
from footfall.store.writer import StoreUnavailable


class SaltRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def ensure(self, day: date) -> dict[date, bytes]:
        """Create ``day``'s salt unless another worker did, delete the salts (and the visit
        records keyed by them) that are past their 48 hours, and return those still valid.

        A salt serves its own UTC day and, for visits crossing midnight, the next; so on day
        D only D and D-1 remain.
        """
        try:
            return self._ensure(day)
        except (DBAPIError, PoolTimeout) as error:  # PoolTimeout: every connection busy
            raise StoreUnavailable(str(error)) from error

    def _ensure(self, day: date) -> dict[date, bytes]:
        oldest = day - timedelta(days=1)
        dialect = self._engine.dialect.name
        with self._engine.begin() as conn:
            conn.execute(
                insert_or_ignore(dialect, salt).values(day=day, salt=secrets.token_bytes(32))
            )
            conn.execute(delete(salt).where(salt.c.day < oldest))
            conn.execute(
                delete(visit_session).where(
                    visit_session.c.last_seen < datetime.combine(oldest, time())
                )
            )
            rows = conn.execute(select(salt.c.day, salt.c.salt).where(salt.c.day >= oldest))
            return {row.day: bytes(row.salt) for row in rows}
