"""Per-network rate limiting of the public ingestion endpoint (a token bucket per key)."""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import struct
from collections import OrderedDict
from datetime import datetime


class RateLimiter:
    """Allows ``per_minute`` events per key on average, in bursts of up to that many.

    Keys are truncated IP addresses, so one limit covers a /24 (IPv4) or /48 (IPv6). At most
    ``max_keys`` buckets are kept: past that, the key seen longest ago is forgotten (its
    bucket is the fullest, most often full again and so no different from a new key), in
    constant time per event. Only when more than ``max_keys`` networks send within a minute
    does a forgotten one get a full bucket early.
    """

    def __init__(self, per_minute: int, *, max_keys: int = 100_000) -> None:
        self._capacity = float(per_minute)
        self._rate = per_minute / 60.0
        self._max_keys = max_keys
        # Least recently seen first: an event moves its key to the end.
        self._buckets: OrderedDict[str, tuple[float, datetime]] = OrderedDict()

    def allow(self, key: str, now: datetime) -> bool:
        tokens, then = self._buckets.pop(key, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - then).total_seconds() * self._rate)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        if len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return allowed

    def exhausted(self, key: str, now: datetime) -> bool:
        """Whether ``key`` would be refused now (nothing is counted)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return False
        tokens, then = bucket
        return tokens + (now - then).total_seconds() * self._rate < 1.0


class SharedRateLimiter:
    """The same token buckets, kept in a file that several worker processes map into memory
    (``footfall serve --workers N``), so one network gets its limit once, not once per
    worker.

    The file holds a fixed table of slots (key hash, tokens, time), one chosen by the key's
    hash; each update takes a lock on that slot's bytes alone (``fcntl.lockf``), so workers
    only wait for each other on the same slot. A slot whose bucket has refilled is taken
    over by the next key that hashes to it; two keys active at once in one slot (one chance
    in ``slots`` per pair) share a bucket.
    """

    _SLOT = struct.Struct("<Qdd")

    def __init__(self, per_minute: int, path: str | os.PathLike[str], *, slots: int = 1 << 18):
        self._capacity = float(per_minute)
        self._rate = per_minute / 60.0
        self._slots = slots
        size = slots * self._SLOT.size
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < size:
            os.ftruncate(self._fd, size)  # zeros: every slot empty; safe if several do it
        self._map = mmap.mmap(self._fd, size)

    def allow(self, key: str, now: datetime) -> bool:
        digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")
        offset = (digest % self._slots) * self._SLOT.size
        moment = now.timestamp()
        fcntl.lockf(self._fd, fcntl.LOCK_EX, self._SLOT.size, offset)
        try:
            owner, tokens, then = self._SLOT.unpack_from(self._map, offset)
            refilled = min(self._capacity, tokens + max(moment - then, 0.0) * self._rate)
            if (owner != digest and refilled >= self._capacity) or then == 0.0:
                refilled = self._capacity  # an empty slot, or a stale one: a new bucket
            allowed = refilled >= 1.0
            left = refilled - 1.0 if allowed else refilled
            self._SLOT.pack_into(self._map, offset, digest, left, moment)
        finally:
            fcntl.lockf(self._fd, fcntl.LOCK_UN, self._SLOT.size, offset)
        return allowed

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)
