"""The visitor's country, from a trusted edge header or an operator-supplied ``.mmdb`` file.

Only the *truncated* address is ever looked up (section 3 of the design): a /24 or /48 almost
never spans two countries, so nothing is lost, and the full address never leaves the request
handler. Lookups are cached per truncated address, so a busy network costs one database read.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import maxminddb

from footfall.ingest.client_ip import truncate_ip

__all__ = ["CountryLookup"]

log = logging.getLogger(__name__)

# Two letters that are not a country: "unknown" (ZZ, and CDNs' XX), legacy GeoIP continent
# codes (EU, AP) and the ISO 3166 user-assigned ranges, of which only XK (Kosovo) is in real use.
_NOT_COUNTRIES = frozenset({"AA", "ZZ", "EU", "AP"})


def _country_code(value: object) -> str | None:
    """``value`` as an upper-case ISO 3166-1 alpha-2 country code, or None if it is not one."""
    if not isinstance(value, str):
        return None
    code = value.strip()
    # isascii() before upper(): "ß".upper() == "SS".
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        return None  # also "", "T1" (Tor), "A1"/"A2" (legacy anonymous proxy, satellite)
    code = code.upper()
    if code in _NOT_COUNTRIES or (code[0] == "Q" and code[1] >= "M"):
        return None
    if code[0] == "X" and code != "XK":
        return None
    return code


class CountryLookup:
    """Country of a visitor: the ``header`` if it names one, else the ``database``, else None.

    ``header`` is a header a trusted edge sets (``CF-IPCountry``, ``CloudFront-Viewer-Country``);
    values meaning "unknown" (``XX``, ``ZZ``, ``T1`` for Tor, empty) fall through to the
    database. ``database`` is a MaxMind GeoLite2-Country / DB-IP Country Lite file (City
    databases work too). A missing or unreadable file fails at construction, naming the path,
    so a typo is seen at start-up rather than as a dashboard without countries.
    """

    def __init__(
        self,
        header: str | None = None,
        database: str | os.PathLike[str] | None = None,
        *,
        cache_size: int = 4096,
    ) -> None:
        # Lower case: what Starlette's Headers and plain dicts of ASGI headers both accept.
        self._header = (header or "").strip().lower() or None
        self._reader: Any = None  # maxminddb's C or pure-Python Reader
        self._path: Path | None = None
        if database is not None:
            self._path = Path(database).expanduser()
            self._reader = _open(self._path)
        self._cached_lookup = functools.lru_cache(maxsize=cache_size)(self._lookup)

    def country(self, truncated_ip: str | None, headers: Mapping[str, str]) -> str | None:
        """Upper-case ISO alpha-2 code of the visitor's country, or None if unknown."""
        if self._header is not None:
            code = _country_code(headers.get(self._header))
            if code is not None:
                return code
        if self._reader is None or not truncated_ip:
            return None
        try:
            # Idempotent for a truncated address; for a caller that slipped a full one, it
            # keeps that address out of the cache all the same.
            key = truncate_ip(truncated_ip)
        except ValueError:
            return None
        return self._cached_lookup(key)

    def _lookup(self, ip: str) -> str | None:
        reader = self._reader
        if reader is None:
            return None
        try:
            record = reader.get(ip)
        except ValueError:  # IPv6 in an IPv4-only database, or the reader was just closed
            return None
        except maxminddb.InvalidDatabaseError as exc:  # a corrupt record must not fail ingest
            log.warning("country database %s: %s", self._path, exc)
            return None
        if not isinstance(record, dict):
            return None
        # The country the address is used in; failing that, the one its block is registered to.
        for key in ("country", "registered_country"):
            part = record.get(key)
            if isinstance(part, dict):
                code = _country_code(part.get("iso_code"))
                if code is not None:
                    return code
        return None

    def close(self) -> None:
        """Release the database (its memory map); later lookups use the header only."""
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()
        self._cached_lookup.cache_clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CountryLookup(header={self._header!r}, database={self._path!r})"


def _open(path: Path) -> Any:
    """Open an ``.mmdb`` file, turning every failure into an error that names the path."""
    if not path.exists():
        raise FileNotFoundError(f"country database {str(path)!r} does not exist")
    if not path.is_file():
        raise ValueError(f"country database {str(path)!r} is not a file")
    try:
        return maxminddb.open_database(path)
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
        raise ValueError(
            f"cannot read country database {str(path)!r} (is it a MaxMind .mmdb file?): {exc}"
        ) from exc
