"""The administrator's sessions and single-use login codes, kept hashed in the database.

A session is a random identifier in the dashboard's cookie; the table holds its SHA-256
and its absolute expiry, so every worker process sees the same sessions, signing out ends
one, and "sign out everywhere" (or a new admin token) ends them all. A login code is the
same, used once: redeeming it deletes it in the same statement, so two tabs opening one
printed link get one session.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, exists, insert, select

from footfall.store.database import write_connection
from footfall.store.schema import admin_session

SESSION = "session"
CODE = "code"
SESSION_LIFETIME = timedelta(days=7)
"""A session ends this long after it began, however much it is used."""
CODE_LIFETIME = timedelta(minutes=15)
"""A login link works once, within this time of being printed."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


def _naive(moment: datetime) -> datetime:
    """Naive UTC, as footfall stores times."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def begin(engine: Engine, kind: str, token: str, now: datetime) -> str:
    """A new session or login code under the admin ``token``, valid from ``now`` (aware):
    its secret, which is never stored. Expired ones are deleted on the way."""
    secret = secrets.token_urlsafe(32)
    lifetime = SESSION_LIFETIME if kind == SESSION else CODE_LIFETIME
    with write_connection(engine) as conn, conn.begin():
        conn.execute(delete(admin_session).where(admin_session.c.expires_at <= _naive(now)))
        conn.execute(
            insert(admin_session).values(
                id_hash=_hash(secret),
                kind=kind,
                token_hash=_hash(token),
                expires_at=_naive(now + lifetime),
            )
        )
    return secret


def is_session(engine: Engine, secret: str, token: str, now: datetime) -> bool:
    """Whether ``secret`` is a session under ``token`` that has not ended."""
    query = select(
        exists().where(
            admin_session.c.id_hash == _hash(secret),
            admin_session.c.kind == SESSION,
            admin_session.c.token_hash == _hash(token),
            admin_session.c.expires_at > _naive(now),
        )
    )
    with engine.connect() as conn:
        return bool(conn.execute(query).scalar())


def redeem_code(engine: Engine, code: str, token: str, now: datetime) -> bool:
    """Use the login code ``code``: True once, if it was made under ``token`` and has not
    expired."""
    with write_connection(engine) as conn, conn.begin():
        used = conn.execute(
            delete(admin_session).where(
                admin_session.c.id_hash == _hash(code),
                admin_session.c.kind == CODE,
                admin_session.c.token_hash == _hash(token),
                admin_session.c.expires_at > _naive(now),
            )
        )
        return used.rowcount == 1


def end(engine: Engine, secret: str) -> None:
    """End one session (signing out)."""
    with write_connection(engine) as conn, conn.begin():
        conn.execute(delete(admin_session).where(admin_session.c.id_hash == _hash(secret)))


def end_all(engine: Engine) -> int:
    """End every session and login code (sign out everywhere; a new admin token); how
    many ended."""
    with write_connection(engine) as conn, conn.begin():
        return conn.execute(delete(admin_session)).rowcount
