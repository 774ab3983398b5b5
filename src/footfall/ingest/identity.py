"""Visitor ids: a keyed hash that nobody, the operator included, can reverse or recompute
once the day's salt is gone (48 hours later)."""

from __future__ import annotations

import hashlib
import random
import secrets
from datetime import date, timedelta

import anyio.to_thread

from footfall.store.salts import SaltRepository


def visitor_id(salt: bytes, hostname: str, truncated_ip: str, user_agent: str) -> int:
    """A 63-bit id: positive, so it fits a signed BIGINT on every backend."""
    digest = hashlib.blake2b(
        f"{hostname}\x00{truncated_ip}\x00{user_agent}".encode(), key=salt, digest_size=8
    ).digest()
    return int.from_bytes(digest, "big") >> 1


_session_ids = random.Random(secrets.randbits(128))


def new_session_id() -> int:
    """A random 63-bit id. Session ids are opaque labels, not secrets, so a PRNG seeded once
    from the OS is enough (and ``os.urandom`` per call is slow on some virtual machines)."""
    return _session_ids.getrandbits(63)


class Salts:
    """The daily salts, cached in memory; a new UTC day creates (or adopts) the next one."""

    def __init__(self, repository: SaltRepository) -> None:
        self._repository = repository
        self._by_day: dict[date, bytes] = {}

    async def for_day(self, day: date) -> bytes:
        salt = self._by_day.get(day)
        if salt is None:
            salt = await anyio.to_thread.run_sync(self._load, day)
        return salt

    def previous(self, day: date) -> bytes | None:
        """Yesterday's salt if this process knows it: lets a visit continue past midnight."""
        return self._by_day.get(day - timedelta(days=1))

    def _load(self, day: date) -> bytes:
        salts = self._repository.ensure(day)
        self._by_day = salts  # also forgets the salts the repository has just deleted
        return salts[day]
