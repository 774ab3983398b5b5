"""``footfall geoip update``: DB-IP's free IP to Country Lite database, and where it is kept.

DB-IP publishes the database each month under the month's name and licenses it under
CC BY 4.0, which asks for credit wherever the data is shown (the dashboard credits it under
the countries). The file is kept under one name, ``dbip-country-lite.mmdb``, beside the SQLite
database (in the working directory for PostgreSQL), where footfall finds it without any
option; ``geoip_database`` names another file.

An update never leaves a half-written file: the download goes to a temporary file in the
same directory, is opened and checked as a country database, and only then renamed over
the old one. A running footfall reads the new file within a minute (``ingest.geo``).
"""

from __future__ import annotations

import datetime
import gzip
import os
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from footfall._version import __version__
from footfall.config import Config
from footfall.ingest.geo import CountryDatabase, CountryLookup
from footfall.store.database import database_url

__all__ = ["DBIP_URL", "FILE_NAME", "GeoipUpdateError", "country_database_path", "update"]

DBIP_URL = "https://download.db-ip.com/free/dbip-country-lite-{month}.mmdb.gz"
"""Where DB-IP publishes a month's database; ``{month}`` is ``2026-12``."""
FILE_NAME = "dbip-country-lite.mmdb"
MAX_BYTES = 256 * 2**20
"""Largest database accepted, uncompressed (the Country Lite file is about 8 MB): a wrong
address that streams without end fails instead of filling the disk."""
STALE_DAYS = 45
"""A database older than this has missed a monthly update (``footfall check`` says so)."""


class GeoipUpdateError(Exception):
    """The database could not be downloaded or is not one; the file in use is untouched."""


def default_path(url: str) -> Path:
    """Where ``footfall geoip update`` puts the database for the store at ``url``: beside a
    SQLite file, else in the working directory."""
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return Path(parsed.database).expanduser().absolute().parent / FILE_NAME
    return Path.cwd() / FILE_NAME


def country_database_path(config: Config) -> tuple[Path, bool]:
    """The country database ``config`` uses and whether it must exist: ``geoip_database``
    if given (it must), else the downloaded file's usual place (read once it is there)."""
    if config.geoip_database is not None:
        return Path(config.geoip_database).expanduser(), True
    return default_path(config.database_url), False


@dataclass(frozen=True)
class Updated:
    """What ``update`` wrote."""

    url: str
    database: CountryDatabase
    size: int


def update(
    target: Path,
    *,
    url: str = DBIP_URL,
    today: datetime.date | None = None,
    timeout: float = 60.0,
) -> Updated:
    """Download this month's database to ``target`` (last month's when this month's is not
    out yet: DB-IP publishes in the first days of a month). ``url`` may hold ``{month}``;
    a ``.gz`` file or a plain ``.mmdb`` are both accepted."""
    if not target.parent.is_dir():
        raise GeoipUpdateError(f"directory {str(target.parent)!r} does not exist")
    today = today or datetime.datetime.now(datetime.UTC).date()
    last_month = today.replace(day=1) - datetime.timedelta(days=1)
    months = [today, last_month] if "{month}" in url else [today]
    for attempt, month in enumerate(months, start=1):
        address = url.replace("{month}", month.strftime("%Y-%m"))
        try:
            return _download(address, target, timeout)
        except urllib.error.HTTPError as error:
            if error.code == 404 and attempt < len(months):
                continue
            raise GeoipUpdateError(f"{address}: HTTP {error.code} {error.reason}") from None
    raise AssertionError("unreachable")  # the last attempt returns or raises


def _download(address: str, target: Path, timeout: float) -> Updated:
    request = urllib.request.Request(address, headers={"User-Agent": f"footfall/{__version__}"})
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".footfall-geoip-") as scratch:
        body, unpacked = Path(scratch, "download"), Path(scratch, FILE_NAME)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                _copy(response, body)
            with body.open("rb") as start:
                packed = start.read(2) == b"\x1f\x8b"  # gzip, whatever the name says
            if packed:
                with gzip.open(body) as gz:
                    _copy(gz, unpacked)
            else:
                body.rename(unpacked)
        except urllib.error.HTTPError:
            raise
        except (urllib.error.URLError, OSError, EOFError, zlib.error) as error:
            reason = getattr(error, "reason", error)
            raise GeoipUpdateError(f"cannot download {address}: {reason}") from None
        database = _checked(unpacked, address)
        size = unpacked.stat().st_size
        os.replace(unpacked, target)
    return Updated(url=address, database=database, size=size)


def _copy(source: BinaryIO, path: Path) -> None:
    copied = 0
    with path.open("wb") as out:
        while chunk := source.read(1 << 20):
            copied += len(chunk)
            if copied > MAX_BYTES:
                raise OSError(f"larger than {MAX_BYTES // 2**20} MB, not a country database")
            out.write(chunk)


def _checked(path: Path, address: str) -> CountryDatabase:
    """The downloaded file as a country database, or the error that says what it is not."""
    try:
        lookup = CountryLookup(database=path)
    except ValueError:
        raise GeoipUpdateError(f"{address} is not a MaxMind-format (.mmdb) database") from None
    with lookup:
        assert lookup.database is not None
        described = lookup.database
    if not any(word in described.kind.lower() for word in ("country", "city")):
        raise GeoipUpdateError(
            f"{address} is a {described.kind!r} database, not a country database"
        )
    return described
