"""Shared links: a read-only dashboard at a secret URL, for people without the admin token
(a client, the whole company, a public page), optionally behind a password, revoked by
deleting it.

The secret is the URL's last part and is shown once, when the link is made; the table
keeps its SHA-256, so a copy of the database opens no dashboard. A password is kept as
``scrypt``'s hash with its own salt (the standard library's, no dependency).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, insert, select

from footfall.store.database import write_connection
from footfall.store.schema import shared_link

MAX_LABEL = 200
MAX_PASSWORD = 200
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
"""scrypt's cost: about 50 ms and 16 MiB per check, which only a password form pays."""


@dataclass(frozen=True, slots=True)
class SharedLink:
    id: int
    label: str
    has_password: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Found:
    """A link opened by its secret: what the shared view needs to check a password."""

    id: int
    label: str
    password_hash: str | None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


def hash_password(password: str) -> str:
    """``salt$hash``, both hex, of scrypt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)  # type: ignore[arg-type]
    return f"{salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    salt, _, expected = stored.partition("$")
    digest = hashlib.scrypt(
        password.encode("utf-8", "replace")[: MAX_PASSWORD * 4],
        salt=bytes.fromhex(salt),
        **_SCRYPT,  # type: ignore[arg-type]
    )
    return hmac.compare_digest(digest.hex(), expected)


def create(engine: Engine, label: str, now: datetime, password: str | None = None) -> str:
    """Make a shared link labelled ``label`` (who it is for); returns its secret, which is
    not kept: the URL is ``{site_base_path}/analytics/share/<secret>``."""
    label = label.strip()
    if not label or len(label) > MAX_LABEL:
        raise ValueError(f"the label must be 1 to {MAX_LABEL} characters")
    if password is not None and not 1 <= len(password) <= MAX_PASSWORD:
        raise ValueError(f"the password must be 1 to {MAX_PASSWORD} characters")
    secret = secrets.token_urlsafe(24)
    with write_connection(engine) as conn, conn.begin():
        conn.execute(
            insert(shared_link).values(
                secret_hash=_hash(secret),
                label=label,
                password_hash=hash_password(password) if password else None,
                created_at=now.replace(tzinfo=None),
            )
        )
    return secret


def find(engine: Engine, secret: str) -> Found | None:
    """The link whose secret this is, or None (never made, or revoked)."""
    if not secret or len(secret) > 100:
        return None
    s = shared_link.c
    with engine.connect() as conn:
        row = conn.execute(
            select(s.id, s.label, s.password_hash).where(s.secret_hash == _hash(secret))
        ).first()
    return Found(row.id, row.label, row.password_hash) if row is not None else None


def all_links(engine: Engine) -> list[SharedLink]:
    s = shared_link.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(s.id, s.label, s.password_hash, s.created_at).order_by(s.id)
        ).all()
    return [SharedLink(r.id, r.label, r.password_hash is not None, r.created_at) for r in rows]


def revoke(engine: Engine, link_id: int) -> bool:
    """Delete the link ``link_id``: its URL stops working at once. False if there was none."""
    with write_connection(engine) as conn, conn.begin():
        deleted = conn.execute(delete(shared_link).where(shared_link.c.id == link_id))
    return bool(deleted.rowcount)
