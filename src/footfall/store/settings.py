"""Values the server keeps for itself in the database (table ``setting``), so that every
process and every restart sees the same: the admin token of ``footfall serve``."""

from __future__ import annotations

import secrets

from sqlalchemy import Connection, Engine, delete, insert, select

from footfall.store.database import serialise_starts, write_connection
from footfall.store.schema import setting

ADMIN_TOKEN = "admin_token"


def read_setting(conn: Connection, name: str) -> str | None:
    return conn.execute(select(setting.c.value).where(setting.c.name == name)).scalar()


def admin_token(engine: Engine, *, rotate: bool = False) -> tuple[str, bool]:
    """The stored admin token, made (or with ``rotate`` replaced) if need be, and whether
    it is new. Made in one write transaction, so processes starting together agree."""
    with write_connection(engine) as conn, conn.begin():
        serialise_starts(conn)  # PostgreSQL: two first starts make one token
        token = None if rotate else read_setting(conn, ADMIN_TOKEN)
        if token is not None:
            return token, False
        token = secrets.token_urlsafe(24)
        conn.execute(delete(setting).where(setting.c.name == ADMIN_TOKEN))
        conn.execute(insert(setting).values(name=ADMIN_TOKEN, value=token))
        return token, True
