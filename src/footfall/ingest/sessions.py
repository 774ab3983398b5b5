"""Visits without cookies: a visit is a visitor's run of events with no gap over 30 minutes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from footfall.ingest.identity import new_session_id

SESSION_TIMEOUT = timedelta(minutes=30)

SessionLookup = Callable[[Sequence[int]], Awaitable[dict[int, tuple[int, datetime]]]]
"""Given visitor ids, the stored ``(session_id, last_seen)`` of those that have one."""


class SessionTracker:
    """Assigns session ids, remembering recent visits in memory.

    Memory answers the common case (a visitor seen here in the last 30 minutes). On a miss
    the stored visits are asked, so a visit continues across worker processes and restarts.
    """

    def __init__(self, lookup: SessionLookup, timeout: timedelta = SESSION_TIMEOUT) -> None:
        self._lookup = lookup
        self.timeout = timeout
        self._recent: dict[int, tuple[int, datetime]] = {}
        self._pruned_at: datetime | None = None

    async def resolve(self, candidates: Sequence[int], now: datetime) -> tuple[int, int]:
        """Return ``(visitor_id, session_id)`` for an event at ``now``.

        ``candidates`` are the visitor's ids under today's salt and, just after midnight,
        yesterday's: a visit found under the older id continues under it, so one visit
        is one visitor even when the salt rotates in the middle of it.
        """
        found = self._fresh(candidates, self._recent, now)
        if found is None:
            stored = await self._lookup(candidates)
            # Another request of the same visitor may have been assigned while we waited.
            found = self._fresh(candidates, self._recent, now) or self._fresh(
                candidates, stored, now
            )
        visitor, session = found if found is not None else (candidates[0], new_session_id())
        self._recent[visitor] = (session, now)
        self._prune(now)
        return visitor, session

    async def find(self, candidates: Sequence[int], now: datetime) -> tuple[int, int] | None:
        """``(visitor_id, session_id)`` of the visit open at ``now``, if there is one,
        without extending it or starting one: what an engagement attaches to."""
        found = self._fresh(candidates, self._recent, now)
        if found is None:
            found = self._fresh(candidates, await self._lookup(candidates), now)
        return found

    def _fresh(
        self,
        candidates: Sequence[int],
        visits: dict[int, tuple[int, datetime]],
        now: datetime,
    ) -> tuple[int, int] | None:
        for visitor in candidates:
            visit = visits.get(visitor)
            if visit is not None and now - visit[1] <= self.timeout:
                return visitor, visit[0]
        return None

    def _prune(self, now: datetime) -> None:
        """Forget visits that have ended, at most once a minute, so memory stays bounded."""
        if self._pruned_at is not None and now - self._pruned_at < timedelta(minutes=1):
            return
        self._pruned_at = now
        horizon = now - self.timeout
        self._recent = {v: visit for v, visit in self._recent.items() if visit[1] >= horizon}
