"""``footfall geoip update``: DB-IP's monthly country database, downloaded from a local HTTP
server (a real one, serving databases written with mmdb-writer), checked before it replaces
the file in use, and picked up by a running footfall without a restart."""

from __future__ import annotations

import datetime
import gzip
import http.server
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import free_port
from footfall import geoip
from footfall.cli import main
from footfall.ingest.geo import CountryLookup
from geo_fixture import build_country_mmdb

DECEMBER = datetime.date(2026, 12, 14)
FIRST_OF_DECEMBER = datetime.date(2026, 12, 1)


@dataclass
class Mirror:
    """A local stand-in for download.db-ip.com: ``files`` maps a path to its body."""

    base: str
    files: dict[str, bytes] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    @property
    def template(self) -> str:
        return f"{self.base}/free/dbip-country-lite-{{month}}.mmdb.gz"

    def publish(self, month: str, body: bytes) -> None:
        self.files[f"/free/dbip-country-lite-{month}.mmdb.gz"] = body


@pytest.fixture
def mirror() -> Iterator[Mirror]:
    served = Mirror(base="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.asked.append(self.path)
            body = served.files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            if body == b"500":
                self.send_error(500, "Internal Server Error")
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    served.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served
    server.shutdown()
    server.server_close()


def dbip_file(directory: Path, networks: dict[str, str], kind: str = "DBIP-Country-Lite") -> Path:
    return build_country_mmdb(
        directory / f"{kind}-{len(list(directory.iterdir()))}.mmdb",
        networks,
        database_type=kind,
        description="dbip-country-lite test build",
    )


def packed(path: Path) -> bytes:
    return gzip.compress(path.read_bytes())


@pytest.fixture
def builds(tmp_path: Path) -> Path:
    folder = tmp_path / "builds"
    folder.mkdir()
    return folder


def country_of(path: Path, address: str) -> str | None:
    with CountryLookup(database=path) as lookup:
        return lookup.country(address, {})


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_update_downloads_this_months_database(mirror, builds, tmp_path):
    mirror.publish("2026-12", packed(dbip_file(builds, {"203.0.113.0/24": "DE"})))
    target = tmp_path / geoip.FILE_NAME
    updated = geoip.update(target, url=mirror.template, today=DECEMBER)
    assert mirror.asked == ["/free/dbip-country-lite-2026-12.mmdb.gz"]
    assert updated.url == f"{mirror.base}/free/dbip-country-lite-2026-12.mmdb.gz"
    assert updated.size == target.stat().st_size
    assert updated.database.kind == "DBIP-Country-Lite"
    assert updated.database.credit == "IP Geolocation by DB-IP"
    assert updated.database.credit_url == "https://db-ip.com"
    assert country_of(target, "203.0.113.0") == "DE"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("today", "months"),
    [
        (FIRST_OF_DECEMBER, ["2026-12", "2026-11"]),
        (datetime.date(2027, 1, 2), ["2027-01", "2026-12"]),  # across the year
    ],
)
def test_last_months_database_until_this_months_is_out(mirror, builds, tmp_path, today, months):
    mirror.publish(months[1], packed(dbip_file(builds, {"203.0.113.0/24": "FR"})))
    updated = geoip.update(tmp_path / geoip.FILE_NAME, url=mirror.template, today=today)
    assert mirror.asked == [f"/free/dbip-country-lite-{m}.mmdb.gz" for m in months]
    assert updated.url.endswith(f"{months[1]}.mmdb.gz")
    assert country_of(tmp_path / geoip.FILE_NAME, "203.0.113.0") == "FR"


def test_a_plain_mmdb_is_taken_as_it_is(mirror, builds, tmp_path):
    mirror.files["/country.mmdb"] = dbip_file(builds, {"198.51.100.0/24": "NL"}).read_bytes()
    geoip.update(tmp_path / "countries.mmdb", url=f"{mirror.base}/country.mmdb")
    assert country_of(tmp_path / "countries.mmdb", "198.51.100.0") == "NL"


def truncated_download(builds: Path) -> bytes:
    return packed(dbip_file(builds, {"203.0.113.0/24": "DE"}))[:-100]


def not_a_country_database(builds: Path) -> bytes:
    return packed(dbip_file(builds, {"203.0.113.0/24": "DE"}, kind="DBIP-ASN-Lite"))


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"500", r"HTTP 500 Internal Server Error"),
        (gzip.compress(b"<html>Please accept the licence</html>"), r"not a MaxMind-format"),
        (b"<html>Please accept the licence</html>", r"not a MaxMind-format"),
        (truncated_download, r"cannot download .*: Compressed file ended"),
        (b"\x1f\x8b" + b"garbage" * 10, r"cannot download"),
        (not_a_country_database, r"is a 'DBIP-ASN-Lite' database, not a country database"),
    ],
    ids=["server-error", "html-gzipped", "html", "truncated", "corrupt-gzip", "asn-database"],
)
def test_a_failed_update_keeps_the_database_in_use(mirror, builds, tmp_path, body, error):
    target = tmp_path / geoip.FILE_NAME
    in_use = dbip_file(builds, {"203.0.113.0/24": "DE"}).read_bytes()
    target.write_bytes(in_use)
    mirror.publish("2026-12", body(builds) if callable(body) else body)
    with pytest.raises(geoip.GeoipUpdateError, match=error):
        geoip.update(target, url=mirror.template, today=DECEMBER)
    assert target.read_bytes() == in_use
    assert leftovers(tmp_path) == []


def test_neither_month_published_names_the_address(mirror, tmp_path):
    with pytest.raises(
        geoip.GeoipUpdateError, match=r"dbip-country-lite-2026-11\.mmdb\.gz: HTTP 404"
    ):
        geoip.update(tmp_path / geoip.FILE_NAME, url=mirror.template, today=FIRST_OF_DECEMBER)
    assert len(mirror.asked) == 2


def test_an_unreachable_server_and_an_endless_body(mirror, builds, tmp_path, monkeypatch):
    closed = f"http://127.0.0.1:{free_port()}/free/dbip-country-lite-{{month}}.mmdb.gz"
    with pytest.raises(geoip.GeoipUpdateError, match=r"cannot download .*Connection refused"):
        geoip.update(tmp_path / geoip.FILE_NAME, url=closed, today=DECEMBER)
    monkeypatch.setattr(geoip, "MAX_BYTES", 1000)
    mirror.publish("2026-12", packed(dbip_file(builds, {"203.0.113.0/24": "DE"})))
    with pytest.raises(geoip.GeoipUpdateError, match=r"larger than"):
        geoip.update(tmp_path / geoip.FILE_NAME, url=mirror.template, today=DECEMBER)
    assert list(tmp_path.iterdir()) == [builds]


def test_where_the_database_is_kept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    beside = geoip.default_path(f"sqlite:///{tmp_path / 'data' / 'site.db'}")
    assert beside == tmp_path / "data" / geoip.FILE_NAME
    assert geoip.default_path("sqlite:///footfall.db") == tmp_path / geoip.FILE_NAME
    assert geoip.default_path("postgresql://u@db/analytics") == tmp_path / geoip.FILE_NAME


# -- the command ----------------------------------------------------------------------------


def test_the_command_puts_it_beside_the_database(mirror, builds, tmp_path):
    mirror.publish(
        datetime.datetime.now(datetime.UTC).strftime("%Y-%m"),
        packed(dbip_file(builds, {"203.0.113.0/24": "DE"})),
    )
    url = f"sqlite:///{tmp_path / 'site.db'}"
    result = CliRunner().invoke(
        main, ["geoip", "update", "--database", url], env={"FOOTFALL_GEOIP_URL": mirror.template}
    )
    assert result.exit_code == 0, result.output
    assert country_of(tmp_path / geoip.FILE_NAME, "203.0.113.0") == "DE"
    assert re.search(r"DBIP-Country-Lite built \d{4}-\d\d-\d\d, 0\.0 MB", result.output)
    assert "CC BY 4.0" in result.output
    assert "--geoip-database" not in result.output  # found where it is, without an option


def test_the_command_writes_the_configured_file_and_fails_with_one_line(mirror, builds, tmp_path):
    own = tmp_path / "GeoIP" / "countries.mmdb"
    own.parent.mkdir()
    mirror.files["/c.mmdb.gz"] = packed(dbip_file(builds, {"203.0.113.0/24": "AT"}))
    env = {"FOOTFALL_GEOIP_DATABASE": str(own)}
    done = CliRunner().invoke(
        main, ["geoip", "update", "--url", f"{mirror.base}/c.mmdb.gz"], env=env
    )
    assert done.exit_code == 0, done.output
    assert f"--geoip-database {own}" in done.output
    assert country_of(own, "203.0.113.0") == "AT"

    failed = CliRunner().invoke(
        main, ["geoip", "update", "--url", f"{mirror.base}/gone.mmdb.gz"], env=env
    )
    assert failed.exit_code == 1
    assert failed.output.strip() == (
        f"Error: {mirror.base}/gone.mmdb.gz: HTTP 404 Not Found "
        "(the country database in use is unchanged)"
    )
    assert country_of(own, "203.0.113.0") == "AT"


# -- found and used by a running footfall ---------------------------------------------------

DASHBOARD = "/pages/analytics"


def countries_panel(server) -> str:
    page = server.client.get(f"{DASHBOARD}?range=today")
    assert page.status_code == 200
    return page.text.split('id="ff-top-countries-title"')[1].split("</section>")[0]


def test_a_running_footfall_finds_the_update_beside_its_database_and_credits_it(
    mirror, builds, tmp_path, serve, make_analytics, clock
):
    database = f"sqlite:///{tmp_path / 'site.db'}"
    server = serve(
        make_analytics(
            database, trusted_proxies=["127.0.0.1"], admin_token="an-admin-token-for-tests"
        )
    )
    server.client.get(f"{DASHBOARD}?token=an-admin-token-for-tests")  # the admin cookie
    assert server.event({"url": "https://example.com/"}, ip="198.51.100.9").status_code == 202
    before = countries_panel(server)
    assert "(unknown)" in before and "data-credit" not in before

    mirror.publish("2026-11", packed(dbip_file(builds, {"203.0.113.0/24": "DE"})))
    geoip.update(geoip.default_path(database), url=mirror.template, today=clock().date())
    clock.advance(seconds=60)  # the next look at the file
    assert server.event({"url": "https://example.com/a"}, ip="203.0.113.10").status_code == 202
    after = countries_panel(server)
    # Germany, by name, after its flag (hidden from screen readers).
    assert re.search(
        r'country=DE" title="[^"]*"><span[^>]*>\U0001f1e9\U0001f1ea</span> Germany</a>', after
    ), after
    assert "(unknown)" in after  # the visit before the file, kept as it was
    assert (
        '<p class="ff-muted ff-credit" data-credit="top-countries">'
        '<a href="https://db-ip.com">IP Geolocation by DB-IP</a></p>'
    ) in after


def test_check_says_where_countries_come_from_and_when_the_file_is_stale(builds, tmp_path):
    from conftest import ManualClock
    from footfall.check import report

    database = f"sqlite:///{tmp_path / 'site.db'}"
    lines: list[str] = []
    assert report({"database_url": database}, {}, lines.append)
    target = tmp_path / geoip.FILE_NAME
    assert (
        f"countries: unknown: 'footfall geoip update' downloads DB-IP's free database to "
        f"{target}, where footfall finds it"
    ) in lines

    dbip_file(builds, {"203.0.113.0/24": "DE"}).replace(target)
    built = datetime.datetime.now(datetime.UTC).date()
    lines.clear()
    assert report({"database_url": database, "country_header": "CF-IPCountry"}, {}, lines.append)
    assert (
        f"countries: the CF-IPCountry header, else {target} (DBIP-Country-Lite, built {built})"
        in lines
    )
    assert not any("days old" in line for line in lines)

    later = ManualClock(datetime.datetime.combine(built, datetime.time(), datetime.UTC))
    later.advance(days=46)
    lines.clear()
    assert report({"database_url": database, "clock": later}, {}, lines.append)
    assert "  it is 46 days old: 'footfall geoip update' (monthly) keeps it current" in lines

    target.write_bytes(b"<html>")
    lines.clear()
    assert not report({"database_url": database}, {}, lines.append)
    assert any(line.startswith("countries: cannot read country database") for line in lines)
