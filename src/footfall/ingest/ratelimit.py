"""Per-network rate limiting of the public ingestion endpoint (a token bucket per key)."""

from __future__ import annotations

from datetime import datetime


class RateLimiter:
    """Allows ``per_minute`` events per key on average, in bursts of up to that many.

    Keys are truncated IP addresses, so one limit covers a /24 (IPv4) or /48 (IPv6).
    """

    def __init__(self, per_minute: int, *, max_keys: int = 100_000) -> None:
        self._capacity = float(per_minute)
        self._rate = per_minute / 60.0
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, datetime]] = {}

    def allow(self, key: str, now: datetime) -> bool:
        tokens, then = self._buckets.get(key, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - then).total_seconds() * self._rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return False
        if len(self._buckets) >= self._max_keys and key not in self._buckets:
            self._forget_full_buckets(now)
        self._buckets[key] = (tokens - 1.0, now)
        return True

    def _forget_full_buckets(self, now: datetime) -> None:
        """Drop keys whose bucket has refilled: they are indistinguishable from new keys."""
        refill = self._capacity / self._rate
        self._buckets = {
            key: (tokens, then)
            for key, (tokens, then) in self._buckets.items()
            if (now - then).total_seconds() < refill
        }
