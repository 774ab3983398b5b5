"""Country lookup: a trusted header first, then a real .mmdb file, always by truncated address."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.datastructures import Headers

from footfall.ingest.client_ip import truncate_ip
from footfall.ingest.geo import CountryLookup, Place
from geo_fixture import build_country_mmdb

NETWORKS = {
    "203.0.113.0/24": "DE",
    "198.51.100.0/22": "FR",
    "198.51.100.128/25": "NL",  # nested in the FR block
    "2001:db8:abcd::/48": "JP",
    "2001:db8:1000::/36": "br",  # lower case in the file: still reported upper case
}
RECORDS = {
    # Only the registration country is known (GeoLite2 has such blocks, e.g. anycast).
    "192.0.2.0/24": {"registered_country": {"iso_code": "US", "names": {"en": "United States"}}},
    # Neither: a continent-only record.
    "100.64.0.0/24": {"continent": {"code": "EU"}},
    # Both, and they disagree: where it is used beats where it is registered.
    "100.64.1.0/24": {"country": {"iso_code": "IT"}, "registered_country": {"iso_code": "CH"}},
    # A legacy "unknown" code in the country, a real one in the registration.
    "100.64.2.0/24": {"country": {"iso_code": "ZZ"}, "registered_country": {"iso_code": "AT"}},
}


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_country_mmdb(
        tmp_path_factory.mktemp("geo") / "countries.mmdb", NETWORKS, records=RECORDS
    )


@pytest.fixture
def lookup(database: Path) -> Iterator[CountryLookup]:
    with CountryLookup(database=database) as countries:
        yield countries


@pytest.fixture
def both(database: Path) -> Iterator[CountryLookup]:
    with CountryLookup(header="CF-IPCountry", database=database) as countries:
        yield countries


# --- database ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("truncated", "expected"),
    [
        ("203.0.113.0", "DE"),
        ("198.51.100.0", "FR"),
        ("198.51.103.0", "FR"),
        ("198.51.100.0", "FR"),
        ("2001:db8:abcd::", "JP"),
        ("2001:db8:1234::", "BR"),
        ("192.0.2.0", "US"),
        ("100.64.1.0", "IT"),
        ("100.64.2.0", "AT"),
        ("100.64.0.0", None),
        ("8.8.8.0", None),
        ("2001:db8:abce::", None),
    ],
)
def test_database_lookup(lookup: CountryLookup, truncated: str, expected: str | None) -> None:
    assert lookup.country(truncated, {}) == expected


def test_an_address_whose_slash_24_is_in_the_database_is_found_by_its_truncated_form(
    lookup: CountryLookup,
) -> None:
    for full in ["203.0.113.77", "203.0.113.255", "::ffff:203.0.113.9"]:
        assert truncate_ip(full) == "203.0.113.0"
        assert lookup.country(truncate_ip(full), {}) == "DE"
    assert lookup.country(truncate_ip("2001:db8:abcd:12:3456:789a:bcde:f012"), {}) == "JP"


def test_a_network_smaller_than_the_truncation_is_seen_as_its_truncated_address(
    lookup: CountryLookup,
) -> None:
    # 198.51.100.200 is in the NL /25, but only 198.51.100.0 (FR part) is ever looked up.
    assert lookup.country(truncate_ip("198.51.100.200"), {}) == "FR"


def test_a_full_address_is_truncated_before_lookup_and_caching(lookup: CountryLookup) -> None:
    assert lookup.country("198.51.100.200", {}) == "FR"  # not NL: looked up as 198.51.100.0
    assert lookup.country("2001:db8:abcd:1::1", {}) == "JP"
    cached = lookup._cached_lookup.cache_info().currsize
    assert cached == 2
    lookup.country("198.51.100.201", {})
    assert lookup._cached_lookup.cache_info().currsize == cached  # same /24, same entry


def test_lookups_are_cached_per_truncated_address(lookup: CountryLookup) -> None:
    for _ in range(5):
        assert lookup.country("203.0.113.0", {}) == "DE"
    info = lookup._cached_lookup.cache_info()
    assert (info.hits, info.misses) == (4, 1)


def test_cache_is_bounded(database: Path) -> None:
    with CountryLookup(database=database, cache_size=8) as countries:
        for i in range(50):
            countries.country(f"10.0.{i}.0", {})
        assert countries._cached_lookup.cache_info().currsize == 8


@pytest.mark.parametrize("value", [None, "", "garbage", "1.2.3", "1.2.3.4:80"])
def test_no_or_invalid_address(lookup: CountryLookup, value: str | None) -> None:
    assert lookup.country(value, {}) is None


def test_ipv6_in_an_ipv4_only_database(tmp_path: Path) -> None:
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=4, database_type="GeoLite2-Country")
    writer.insert_network(IPSet(["203.0.113.0/24"]), {"country": {"iso_code": "DE"}})
    writer.to_db_file(str(tmp_path / "v4.mmdb"))
    with CountryLookup(database=tmp_path / "v4.mmdb") as countries:
        assert countries.country("203.0.113.0", {}) == "DE"
        assert countries.country("2001:db8:abcd::", {}) is None


# --- header --------------------------------------------------------------------------------


def test_header_beats_database(both: CountryLookup) -> None:
    assert both.country("203.0.113.0", {"cf-ipcountry": "GB"}) == "GB"


def test_header_alone() -> None:
    countries = CountryLookup(header="CF-IPCountry")
    assert countries.country("203.0.113.0", {"cf-ipcountry": "se"}) == "SE"
    assert countries.country(None, {"cf-ipcountry": " SE "}) == "SE"
    assert countries.country("203.0.113.0", {"cf-ipcountry": "XX"}) is None
    assert countries.country("203.0.113.0", {}) is None
    countries.close()


def test_header_with_starlette_headers(both: CountryLookup) -> None:
    headers = Headers({"CF-IPCountry": "ch"})
    assert both.country("203.0.113.0", headers) == "CH"


@pytest.mark.parametrize(
    "value",
    [
        "",
        " ",
        "XX",
        "xx",
        "ZZ",
        "T1",
        "A1",
        "A2",
        "EU",
        "AP",
        "QZ",
        "XA",
        "AA",
        "DEU",
        "D",
        "1",
        "ß",
    ],
)
def test_unknown_header_values_fall_through_to_the_database(
    both: CountryLookup, value: str
) -> None:
    assert both.country("203.0.113.0", {"cf-ipcountry": value}) == "DE"
    assert both.country("8.8.8.0", {"cf-ipcountry": value}) is None


def test_kosovo_is_a_country(both: CountryLookup) -> None:
    # User-assigned XK is what MaxMind, DB-IP and CDNs use for Kosovo.
    assert both.country("203.0.113.0", {"cf-ipcountry": "XK"}) == "XK"


def test_no_sources_configured() -> None:
    countries = CountryLookup()
    assert countries.country("203.0.113.0", {"cf-ipcountry": "DE"}) is None


# --- construction and lifecycle ------------------------------------------------------------


def test_missing_database_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "GeoLite2-Country.mmdb"
    with pytest.raises(FileNotFoundError, match=r"GeoLite2-Country\.mmdb"):
        CountryLookup(database=missing)
    with pytest.raises(FileNotFoundError, match=r"GeoLite2-Country\.mmdb"):
        CountryLookup(database=str(missing))


@pytest.mark.parametrize("content", [b"", b"not a database", b"\xab\xcd\xefMaxMind.com"])
def test_unreadable_database_names_the_path(tmp_path: Path, content: bytes) -> None:
    broken = tmp_path / "broken.mmdb"
    broken.write_bytes(content)
    with pytest.raises(ValueError, match=r"broken\.mmdb"):
        CountryLookup(database=broken)


def test_directory_instead_of_database(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=re.escape(str(tmp_path))):
        CountryLookup(database=tmp_path)


def test_close_keeps_the_header_and_drops_the_database(database: Path) -> None:
    countries = CountryLookup(header="CF-IPCountry", database=database)
    assert countries.country("203.0.113.0", {}) == "DE"
    countries.close()
    countries.close()  # idempotent
    assert countries.country("203.0.113.0", {}) is None
    assert countries.country("203.0.113.0", {"cf-ipcountry": "GB"}) == "GB"
    assert countries._cached_lookup.cache_info().currsize == 0


# --- the file replaced, or appearing, while footfall runs ----------------------------------


class Seconds:
    """The lookup's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def replace_with(target: Path, networks: dict[str, str], **options: str) -> None:
    """Write a new database beside ``target`` and rename it over it, as an update does."""
    fresh = build_country_mmdb(target.with_suffix(".new"), networks, **options)
    fresh.replace(target)


def test_a_replaced_database_is_read_at_the_next_look(tmp_path: Path) -> None:
    target = build_country_mmdb(tmp_path / "countries.mmdb", {"203.0.113.0/24": "DE"})
    seconds = Seconds()
    with CountryLookup(database=target, reload_seconds=60, seconds=seconds) as countries:
        assert countries.country("203.0.113.0", {}) == "DE"
        replace_with(target, {"203.0.113.0/24": "FR"}, database_type="DBIP-Country-Lite")
        seconds.now += 59
        assert countries.country("203.0.113.0", {}) == "DE"  # not looked at yet
        seconds.now += 1
        assert countries.country("203.0.113.0", {}) == "FR"  # and the cache is cleared
        assert countries.database is not None
        assert countries.database.kind == "DBIP-Country-Lite"
        seconds.now -= 3600  # a wall clock set back still looks again
        replace_with(target, {"203.0.113.0/24": "IT"})
        assert countries.country("203.0.113.0", {}) == "IT"


def test_an_unreadable_replacement_keeps_the_database_in_use(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = build_country_mmdb(tmp_path / "countries.mmdb", {"203.0.113.0/24": "DE"})
    seconds = Seconds()
    with CountryLookup(database=target, reload_seconds=60, seconds=seconds) as countries:
        (tmp_path / "broken").write_bytes(b"<html>not a database</html>")
        (tmp_path / "broken").replace(target)
        for _ in range(3):
            seconds.now += 60
            assert countries.country("203.0.113.0", {}) == "DE"
        target.unlink()
        seconds.now += 60
        assert countries.country("203.0.113.0", {}) == "DE"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1, warnings  # once per replacement, not at every look
    assert "countries.mmdb" in warnings[0] and "in use is kept" in warnings[0]


def test_an_optional_database_is_read_once_it_appears(tmp_path: Path) -> None:
    target = tmp_path / "dbip-country-lite.mmdb"
    seconds = Seconds()
    with pytest.raises(FileNotFoundError):
        CountryLookup(database=target)  # a configured file must exist
    with CountryLookup(database=target, optional=True, seconds=seconds) as countries:
        assert countries.country("203.0.113.0", {}) is None
        assert countries.database is None
        replace_with(target, {"203.0.113.0/24": "SE"})
        seconds.now += 60
        assert countries.country("203.0.113.0", {}) == "SE"


@pytest.mark.parametrize(
    ("kind", "description", "credit", "url"),
    [
        ("DBIP-Country-Lite", "dbip-country-lite", "IP Geolocation by DB-IP", "https://db-ip.com"),
        ("DBIP-Location (compat=Country)", "", "IP Geolocation by DB-IP", "https://db-ip.com"),
        (
            "GeoLite2-Country",
            "GeoLite2 Country database",
            "GeoLite2 data created by MaxMind",
            "https://www.maxmind.com",
        ),
        ("Private-Country", "our own", None, None),
    ],
)
def test_the_credit_its_licence_asks_for(
    tmp_path: Path, kind: str, description: str, credit: str | None, url: str | None
) -> None:
    path = build_country_mmdb(
        tmp_path / "c.mmdb", {"203.0.113.0/24": "DE"}, database_type=kind, description=description
    )
    with CountryLookup(database=path) as countries:
        assert countries.database is not None
        assert (countries.database.kind, countries.database.credit) == (kind, credit)
        assert countries.database.credit_url == url


def test_a_city_level_record_gives_the_region_and_city(tmp_path: Path) -> None:
    city = {
        "country": {"iso_code": "DE"},
        "registered_country": {"iso_code": "DE"},
        "subdivisions": [{"names": {"en": "Bavaria"}}, {"names": {"en": "Upper Bavaria"}}],
        "city": {"names": {"en": "Munich", "de": "München"}},
    }
    odd = {"country": {"iso_code": "FR"}, "city": {"names": {"en": "\x00"}}, "subdivisions": []}
    registered = {"registered_country": {"iso_code": "US"}, "city": {"names": {"en": "Nowhere"}}}
    path = build_country_mmdb(
        tmp_path / "cities.mmdb",
        {},
        records={"203.0.113.0/24": city, "198.51.100.0/24": odd, "192.0.2.0/24": registered},
    )
    with CountryLookup(header="CF-IPCountry", database=path) as lookup:
        assert lookup.place("203.0.113.0", {}) == Place("DE", "Bavaria", "Munich")
        assert lookup.place("198.51.100.0", {}) == Place("FR", None, None)  # not a name
        assert lookup.place("192.0.2.0", {}) == Place("US", None, None)  # only registered
        # The header's country, when it is another: the database's place is not in it.
        assert lookup.place("203.0.113.0", {"cf-ipcountry": "AT"}) == Place("AT", None, None)
        assert lookup.place("203.0.113.0", {"cf-ipcountry": "DE"}).city == "Munich"
