"""The visitor's country, from a trusted edge header or a ``.mmdb`` country database.

Only the *truncated* address is ever looked up (section 3 of the design): a /24 or /48 almost
never spans two countries, so nothing is lost, and the full address never leaves the request
handler. Lookups are cached per truncated address, so a busy network costs one database read.
The database is read again when its file is replaced (the monthly ``footfall geoip update``),
so a running server takes the new month without a restart.
"""

from __future__ import annotations

import datetime
import functools
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import maxminddb

from footfall.ingest.client_ip import truncate_ip

__all__ = ["CountryDatabase", "CountryLookup", "Place"]

log = logging.getLogger(__name__)

RELOAD_SECONDS = 60.0
"""How often, at most, the database file is looked at for a replacement."""

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


@dataclass(frozen=True, slots=True)
class Place:
    """Where an address is: its country, and its region and city (English names) when a
    city-level database knows them."""

    country: str | None
    region: str | None
    city: str | None


NOWHERE = Place(None, None, None)
MAX_NAME = 100


def _name(part: object) -> str | None:
    """The English name of a region or city record (``{"names": {"en": ...}}``), if any."""
    if not isinstance(part, dict):
        return None
    names = part.get("names")
    name = names.get("en") if isinstance(names, dict) else None
    if not isinstance(name, str) or not name.strip() or not name.isprintable():
        return None
    return name.strip()[:MAX_NAME]


@dataclass(frozen=True)
class CountryDatabase:
    """What a country database is, from its metadata: shown by ``footfall check`` and, as
    the credit its licence asks for, under the dashboard's countries."""

    path: Path
    kind: str
    """Its ``database_type``, such as ``DBIP-Country-Lite`` or ``GeoLite2-Country``."""
    built: datetime.date
    credit: str | None
    """Who made the data, for the dashboard (DB-IP's CC BY 4.0 licence and MaxMind's
    GeoLite2 licence both ask for it), or None for a database of unknown origin."""
    credit_url: str | None


_CREDITS = (
    ("dbip", "db-ip", "IP Geolocation by DB-IP", "https://db-ip.com"),
    ("geolite2", "maxmind", "GeoLite2 data created by MaxMind", "https://www.maxmind.com"),
)


def _describe(path: Path, metadata: Any) -> CountryDatabase:
    kind = str(metadata.database_type)
    description = " ".join(str(v) for v in (metadata.description or {}).values())
    text = f"{kind} {description} {path.name}".lower()
    credit = next(((c[2], c[3]) for c in _CREDITS if c[0] in text or c[1] in text), None)
    return CountryDatabase(
        path=path,
        kind=kind,
        built=datetime.datetime.fromtimestamp(metadata.build_epoch, datetime.UTC).date(),
        credit=credit[0] if credit else None,
        credit_url=credit[1] if credit else None,
    )


class CountryLookup:
    """Country of a visitor: the ``header`` if it names one, else the ``database``, else None.

    ``header`` is a header a trusted edge sets (``CF-IPCountry``, ``CloudFront-Viewer-Country``);
    values meaning "unknown" (``XX``, ``ZZ``, ``T1`` for Tor, empty) fall through to the
    database. ``database`` is a DB-IP Country Lite or MaxMind GeoLite2-Country file (City
    databases work too). A missing or unreadable file fails at construction, naming the path,
    so a typo is seen at start-up rather than as a dashboard without countries; unless the
    database is ``optional`` (the file ``footfall geoip update`` writes, found by its usual
    name), whose absence means "no countries until it appears".

    When the file is replaced, the next lookup ``reload_seconds`` or more after the last look
    (by the clock ``seconds``) reads the new one; a replacement that cannot be read is logged
    and the database in use is kept.
    """

    def __init__(
        self,
        header: str | None = None,
        database: str | os.PathLike[str] | None = None,
        *,
        optional: bool = False,
        cache_size: int = 4096,
        reload_seconds: float = RELOAD_SECONDS,
        seconds: Callable[[], float] = time.monotonic,
    ) -> None:
        # Lower case: what Starlette's Headers and plain dicts of ASGI headers both accept.
        self._header = (header or "").strip().lower() or None
        self._reader: Any = None  # maxminddb's C or pure-Python Reader
        self._path: Path | None = None
        self._stamp: tuple[int, int, int] | None = None  # the file in use: inode, mtime, size
        self._reload_seconds = reload_seconds
        self._seconds = seconds
        self._looked_at = seconds()
        self.database: CountryDatabase | None = None
        """The database in use, or None."""
        self._cached_lookup = functools.lru_cache(maxsize=cache_size)(self._lookup)
        if database is not None:
            self._path = Path(database).expanduser()
            if not (optional and not self._path.exists()):
                self._use(self._path)

    def country(self, truncated_ip: str | None, headers: Mapping[str, str]) -> str | None:
        """Upper-case ISO alpha-2 code of the visitor's country, or None if unknown."""
        return self.place(truncated_ip, headers).country

    def place(self, truncated_ip: str | None, headers: Mapping[str, str]) -> Place:
        """The visitor's country, and its region and city when the database is city-level
        and agrees with the header on the country."""
        from_header = None
        if self._header is not None:
            from_header = _country_code(headers.get(self._header))
        if self._path is not None and self._time_to_look():
            self._reload_if_replaced(self._path)
        found = NOWHERE
        if self._reader is not None and truncated_ip:
            try:
                # Idempotent for a truncated address; for a caller that slipped a full one,
                # it keeps that address out of the cache all the same.
                found = self._cached_lookup(truncate_ip(truncated_ip))
            except ValueError:
                found = NOWHERE
        if from_header is not None and from_header != found.country:
            return Place(from_header, None, None)
        return found

    def _time_to_look(self) -> bool:
        # abs(): ``seconds`` may be a wall clock, which can go back.
        return abs(self._seconds() - self._looked_at) >= self._reload_seconds

    def _use(self, path: Path) -> None:
        """Open ``path`` and look it up from now on (raises, naming the path, if it cannot)."""
        reader = _open(path)
        stamp = _stamp(path)
        # The previous reader is left to the garbage collector, not closed: a lookup in
        # another thread may still be reading it.
        self._reader, self._stamp = reader, stamp
        self.database = _describe(path, reader.metadata())
        self._cached_lookup.cache_clear()

    def _reload_if_replaced(self, path: Path) -> None:
        self._looked_at = self._seconds()
        try:
            stamp = _stamp(path)
        except OSError:
            return  # gone: keep what is in use (a replacement is a rename, never a gap)
        if stamp == self._stamp:
            return
        try:
            self._use(path)
        except (OSError, ValueError) as error:
            self._stamp = stamp  # said once per replacement, not at every look
            log.warning("%s; the country database in use is kept", error)
            return
        assert self.database is not None
        log.info(
            "country database %s read again: %s built %s",
            path,
            self.database.kind,
            self.database.built,
        )

    def _lookup(self, ip: str) -> Place:
        reader = self._reader
        if reader is None:
            return NOWHERE
        try:
            record = reader.get(ip)
        except ValueError:  # IPv6 in an IPv4-only database, or the reader was just closed
            return NOWHERE
        except maxminddb.InvalidDatabaseError as exc:  # a corrupt record must not fail ingest
            log.warning("country database %s: %s", self._path, exc)
            return NOWHERE
        if not isinstance(record, dict):
            return NOWHERE
        # The country the address is used in; failing that, the one its block is registered to.
        for key in ("country", "registered_country"):
            part = record.get(key)
            if isinstance(part, dict):
                code = _country_code(part.get("iso_code"))
                if code is not None:
                    if key != "country":  # a registration says nothing of the city
                        return Place(code, None, None)
                    regions = record.get("subdivisions")
                    region = regions[0] if isinstance(regions, list) and regions else None
                    return Place(code, _name(region), _name(record.get("city")))
        return NOWHERE

    def close(self) -> None:
        """Release the database (its memory map); later lookups use the header only."""
        reader, self._reader, self._path, self.database = self._reader, None, None, None
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


def _stamp(path: Path) -> tuple[int, int, int]:
    status = path.stat()
    return (status.st_ino, status.st_mtime_ns, status.st_size)


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
