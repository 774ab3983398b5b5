"""Build small, real ``.mmdb`` country databases for tests.

GeoLite2 and DB-IP databases cannot be redistributed with the tests, so tests write their own
file with ``mmdb_writer`` in the same layout: an IPv6 tree with IPv4 under ``::/96`` and
GeoLite2-Country-shaped records, read back through the real ``maxminddb`` reader.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mmdb_writer import MMDBWriter
from netaddr import IPNetwork, IPSet


def country_record(iso_code: str) -> dict[str, Any]:
    """A record shaped like GeoLite2-Country's (names and ids are made up but stable)."""
    geoname_id = zlib.crc32(iso_code.encode()) & 0xFFFFFF
    country = {"geoname_id": geoname_id, "iso_code": iso_code, "names": {"en": iso_code}}
    return {
        "country": country,
        "registered_country": dict(country),
    }


def _depth(network: str) -> int:
    """Prefix length in the IPv6 tree, where IPv4 networks sit below ``::/96``."""
    parsed = IPNetwork(network)
    return parsed.prefixlen + (96 if parsed.version == 4 else 0)


def build_country_mmdb(
    path: str | os.PathLike[str],
    networks: Mapping[str, str],
    *,
    records: Mapping[str, Mapping[str, Any]] | None = None,
    database_type: str = "GeoLite2-Country",
    description: str = "footfall test country database",
) -> Path:
    """Write a country database to ``path`` and return it.

    ``networks`` maps CIDR networks (IPv4 or IPv6, e.g. ``"203.0.113.0/24"``) to ISO codes;
    ``records`` maps networks to raw records, for shapes ``networks`` cannot express (only a
    ``registered_country``, odd codes). More specific networks may be nested in larger ones.
    ``database_type`` is the metadata's (DB-IP's files say ``DBIP-Country-Lite``).
    """
    writer = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type=database_type,
        languages=["en"],
        description=description,
    )
    entries: list[tuple[str, Any]] = [(net, country_record(code)) for net, code in networks.items()]
    entries += [(net, dict(record)) for net, record in (records or {}).items()]
    # Larger networks first, so nested smaller ones are carved out of them, not overwritten.
    entries.sort(key=lambda entry: _depth(entry[0]))
    for network, record in entries:
        writer.insert_network(IPSet([network]), record)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    writer.to_db_file(os.fspath(target))
    return target
