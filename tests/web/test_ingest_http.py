"""The ingestion endpoint through a real uvicorn server and a real database."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from conftest import BROWSER_UA, IPHONE_UA, count_rows

SITE = "https://example.com"


@pytest.fixture
def server(database_url, serve, make_analytics):
    analytics = make_analytics(database_url, trusted_proxies=["127.0.0.1"])
    return serve(analytics)


def test_mixed_traffic_lands_with_exact_counts(server, database_url):
    visitors = [(f"198.51.{i}.1", BROWSER_UA if i % 2 else IPHONE_UA) for i in range(1, 9)]
    for ip, ua in visitors:
        for page in ("/", "/pricing", "/blog/hello"):
            response = server.event({"name": "pageview", "url": SITE + page}, ua=ua, ip=ip)
            assert response.status_code == 202, response.text
            assert "X-Footfall-Dropped" not in response.headers
    for ip, ua in visitors[:3]:
        response = server.event(
            {"name": "Signup", "url": SITE + "/pricing", "props": {"plan": "pro", "seats": 3}},
            ua=ua,
            ip=ip,
        )
        assert response.status_code == 202
    for ua in ("curl/8.5.0", "Googlebot/2.1 (+http://www.google.com/bot.html)"):
        assert server.event({"url": SITE + "/"}, ua=ua, ip="203.0.113.9").status_code == 202

    assert count_rows(database_url, "page_view") == 24
    assert count_rows(database_url, "custom_event") == 3
    # Visitors with different /24 networks are different visitors; each has one visit.
    assert count_rows(database_url, "(SELECT DISTINCT visitor_id FROM page_view) v") == 8
    assert count_rows(database_url, "(SELECT DISTINCT session_id FROM page_view) s") == 8
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM custom_event")).mappings().first()
        devices = set(conn.execute(sa.text("SELECT DISTINCT device FROM page_view")).scalars())
    engine.dispose()
    assert row["name"] == "Signup"
    assert json.loads(row["properties"]) == {"plan": "pro", "seats": 3}
    assert row["hostname"] == "example.com" and row["path"] == "/pricing"
    assert devices == {"desktop", "mobile"}


@pytest.mark.parametrize(
    ("ua", "reason"),
    [
        ("curl/8.5.0", "bot"),
        ("python-requests/2.32.3", "bot"),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot"),
        ("Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", "bot"),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "HeadlessChrome/131.0.0.0 Safari/537.36",
            "automation",
        ),
        ("", "no_user_agent"),
    ],
)
def test_bots_are_dropped_with_their_reason(server, database_url, ua, reason):
    response = server.event({"url": SITE + "/"}, ua=ua, ip="198.51.100.1")
    assert response.status_code == 202
    assert response.headers["X-Footfall-Dropped"] == reason
    server.analytics.close()  # flushes the dropped-event counters
    assert count_rows(database_url, "page_view") == 0
    assert count_rows(database_url, "dropped_event", f"WHERE reason = '{reason}'") == 1


def test_plausible_payload_and_alias_are_accepted(server, database_url):
    body = json.dumps(
        {
            "n": "pageview",
            "u": SITE + "/docs?utm_source=newsletter",
            "d": "example.com",
            "r": "https://www.google.com/search?q=secret",
            "p": {"a": "b"},
        }
    )
    response = server.client.post(
        "/api/event",
        content=body,
        headers={"Content-Type": "text/plain", "User-Agent": BROWSER_UA},
    )
    assert response.status_code == 202
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM page_view")).mappings().one()
    engine.dispose()
    assert row["path"] == "/docs"
    assert row["utm_source"] == "newsletter" and row["referrer_source"] == "newsletter"
    assert row["referrer"] == "https://www.google.com/search"  # query string never stored


def test_referrer_source_is_the_host_and_own_host_is_direct(server, database_url):
    server.event(
        {"url": SITE + "/a", "referrer": "https://www.news.example.org/x?id=7"}, ip="198.51.100.1"
    )
    server.event({"url": SITE + "/b", "referrer": SITE + "/a"}, ip="198.51.100.1")
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        sources = conn.execute(
            sa.text("SELECT path, referrer_source FROM page_view ORDER BY path")
        ).all()
    engine.dispose()
    assert [tuple(r) for r in sources] == [("/a", "news.example.org"), ("/b", None)]


LONG = "x" * 2001


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "a" * 121, "url": SITE}, "name"),
        ({"name": "", "url": SITE}, "name"),
        ({"name": 5, "url": SITE}, "name"),
        ({"name": "pageview"}, "url"),
        ({"url": SITE + "/" + LONG}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "relative/path"}, "url"),
        ({"url": SITE, "referrer": "https://r.example/" + LONG}, "referrer"),
        ({"url": SITE, "referrer": 12}, "referrer"),
        ({"name": "e", "url": SITE, "props": {f"k{i}": i for i in range(31)}}, "props"),
        ({"name": "e", "url": SITE, "props": {"k" * 301: 1}}, "props"),
        ({"name": "e", "url": SITE, "props": {"k": "v" * 2001}}, "props.k"),
        ({"name": "e", "url": SITE, "props": {"k": {"nested": 1}}}, "props.k"),
        ({"name": "e", "url": SITE, "props": ["a"]}, "props"),
        ({"name": "e", "url": SITE, "interactive": "yes"}, "interactive"),
        # Control characters (a NUL made PostgreSQL refuse the whole batch).
        ({"name": "sign\x00up", "url": SITE}, "name"),
        ({"url": SITE + "/a\x00b"}, "url"),
        ({"path": "/a\x1bb", "domain": "example.com"}, "path"),
        ({"path": "/", "domain": "example.com\x00"}, "domain"),
        ({"url": SITE, "referrer": "https://r.example/\x00"}, "referrer"),
        ({"name": "e", "url": SITE, "props": {"k\x00": 1}}, "props"),
        ({"name": "e", "url": SITE, "props": {"k": "v\x00"}}, "props.k"),
        ({"name": "Invoice \u202egpj.exe", "url": SITE}, "name"),  # reads "Invoice exe.jpg"
        ({"url": SITE, "referrer": "https://r.example/\u2067x"}, "referrer"),
        # Host names that are none (stored, they were shown and exported as they came).
        ({"url": "https://<script>alert(1)</script>/"}, "url"),
        ({"url": "https://=cmd|x!a0/"}, "url"),
        ({"path": "/", "domain": "=cmd|' /C calc'!A0"}, "domain"),
    ],
)
def test_invalid_input_gets_400_naming_the_field(server, database_url, payload, field):
    response = server.event(payload, ip="198.51.100.1")
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert count_rows(database_url, "page_view") + count_rows(database_url, "custom_event") == 0


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe", b""])
def test_malformed_bodies_get_400(server, body):
    response = server.client.post(
        "/api/data/analytics/event",
        content=body,
        headers={"Content-Type": "application/json", "User-Agent": BROWSER_UA},
    )
    assert response.status_code == 400
    assert response.json()["field"] == "body"


def test_limits_at_the_boundary_are_accepted(server, database_url):
    longest = {
        "name": "n" * 120,
        "url": SITE + "/" + "p" * (2000 - len(SITE) - 1),
        "referrer": "https://r.example/" + "r" * (2000 - 18),
        "props": {"k" * 300: "v" * 2000},
    }
    assert server.event(longest, ip="198.51.100.1").status_code == 202
    most = {"name": "n", "url": SITE, "props": {f"k{i}": i for i in range(30)}}
    assert server.event(most, ip="198.51.100.1").status_code == 202
    assert count_rows(database_url, "custom_event") == 2


def test_oversized_body_gets_413(server, database_url):
    payload = {"name": "e", "url": SITE, "props": {f"k{i}": "v" * 300 for i in range(29)}}
    response = server.event(payload, ip="198.51.100.1")
    assert response.status_code == 413
    chunked = server.client.post(
        "/api/data/analytics/event",
        content=iter([b"{" + b" " * 5000, b" " * 5000 + b"}"]),
        headers={"User-Agent": BROWSER_UA},
    )
    assert chunked.status_code == 413
    assert count_rows(database_url, "custom_event") == 0


def test_other_content_types_get_415(server):
    response = server.client.post(
        "/api/data/analytics/event",
        data={"url": SITE},
        headers={"User-Agent": BROWSER_UA},
    )
    assert response.status_code == 415


def test_rate_limit_answers_429_per_network(serve, make_analytics, database_url):
    analytics = make_analytics(database_url, trusted_proxies=["127.0.0.1"], rate_limit_per_minute=5)
    server = serve(analytics)
    statuses = [server.event({"url": SITE}, ip="198.51.100.7").status_code for _ in range(7)]
    assert statuses == [202] * 5 + [429, 429]
    # Another address in the same /24 shares the limit; another network does not.
    assert server.event({"url": SITE}, ip="198.51.100.200").status_code == 429
    assert server.event({"url": SITE}, ip="198.51.101.7").status_code == 202
    assert count_rows(database_url, "page_view") == 6


def test_cors_lets_any_site_send_events(server):
    preflight = server.client.options(
        "/api/data/analytics/event",
        headers={
            "Origin": "https://blog.example.net",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] in ("*", "https://blog.example.net")
    response = server.event(
        {"url": SITE}, ip="198.51.100.1", headers={"Origin": "https://blog.example.net"}
    )
    assert response.headers["access-control-allow-origin"] == "*"


def test_proxy_headers_are_ignored_from_untrusted_peers(serve, make_analytics, database_url):
    """Without trusted_proxies, every spoofed X-Forwarded-For is the same visitor (the peer)."""
    server = serve(make_analytics(database_url))
    for i in range(5):
        assert server.event({"url": SITE}, ip=f"203.0.{i}.1").status_code == 202
    assert count_rows(database_url, "(SELECT DISTINCT visitor_id FROM page_view) v") == 1


def test_hostnames_and_excluded_paths_are_dropped(serve, make_analytics, database_url):
    analytics = make_analytics(
        database_url, hostnames=["example.com", "*.example.com"], exclude_paths=["/admin/*"]
    )
    server = serve(analytics)
    assert "X-Footfall-Dropped" not in server.event({"url": "https://docs.example.com/"}).headers
    other = server.event({"url": "https://evil.example.net/"})
    assert other.headers["X-Footfall-Dropped"] == "hostname"
    admin = server.event({"url": SITE + "/admin/users"})
    assert admin.headers["X-Footfall-Dropped"] == "excluded_path"
    assert count_rows(database_url, "page_view") == 1


def test_derived_values_never_overflow_a_column(server, database_url):
    """Values that pass validation but are longer than a column (a 300-character
    utm_source as referrer source, a huge browser version, a long Host) are stored cut to
    size: never a database error, never a 5xx (PostgreSQL enforces lengths)."""
    huge_version = "Mozilla/5.0 (X11; Linux x86_64) Chrome/" + "1" * 60 + " Safari/537.36"
    response = server.event(
        {"url": SITE + "/?utm_source=" + "s" * 300}, ua=huge_version, ip="198.51.100.1"
    )
    assert response.status_code == 202
    response = server.event(
        {"path": "/only-a-path"}, ip="198.51.100.1", headers={"Host": "h" * 250 + ".example"}
    )
    assert response.status_code == 202
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT referrer_source, hostname, browser_version FROM page_view")
        ).all()
    engine.dispose()
    assert len(rows) == 2
    assert rows[0][0] == "s" * 300
    assert all(len(r[1]) <= 253 and (r[2] is None or len(r[2]) <= 32) for r in rows)


def test_database_failure_answers_503_not_500(server, database_url):
    assert server.event({"url": SITE + "/before"}, ip="198.51.100.1").status_code == 202
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE visit_session"))
    # A new visitor needs a visit look-up: the look-up fails.
    response = server.event({"url": SITE}, ip="198.51.101.1")
    assert response.status_code == 503 and response.headers["Retry-After"]
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE page_view"))
    # A known visitor skips the look-up: now the write fails.
    response = server.event({"url": SITE + "/after"}, ip="198.51.100.1")
    assert response.status_code == 503
    engine.dispose()


def test_a_host_header_that_is_no_host_name_is_not_stored(server, database_url):
    response = server.event({"path": "/x"}, headers={"Origin": "https://<b>bold</b>"})
    assert response.status_code == 202
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT hostname FROM page_view")).scalar_one() == ""
    engine.dispose()


def test_a_property_may_hold_tabs_and_line_breaks(server, database_url):
    payload = {"name": "Note", "url": SITE, "props": {"text": "one\ttwo\r\nthree"}}
    assert server.event(payload, ip="198.51.100.1").status_code == 202
    assert count_rows(database_url, "custom_event") == 1


def test_a_database_error_in_the_log_shows_no_visitor_data(server, database_url, caplog):
    """The error a failed batch logs names the statement, not the events' values."""
    assert server.event({"url": SITE + "/first"}, ip="198.51.100.1").status_code == 202
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE page_view"))
    engine.dispose()
    response = server.event({"url": SITE + "/private-page-of-a-visitor"}, ip="198.51.100.1")
    assert response.status_code == 503
    logged = "\n".join(r.getMessage() + str(r.exc_info) for r in caplog.records)
    assert "page_view" in logged  # the error was logged
    assert "private-page-of-a-visitor" not in logged


def test_page_view_properties_are_kept(server, database_url):
    payload = {"n": "pageview", "u": SITE + "/post", "p": {"author": "ada", "words": 1200}}
    assert server.event(payload, ip="198.51.100.1").status_code == 202
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT properties FROM page_view")).scalar_one()
    engine.dispose()
    assert json.loads(stored) == {"author": "ada", "words": 1200}


def test_country_from_trusted_header_then_from_mmdb(serve, make_analytics, database_url, tmp_path):
    from geo_fixture import build_country_mmdb

    mmdb = build_country_mmdb(tmp_path / "countries.mmdb", {"198.51.100.0/24": "DE"})
    analytics = make_analytics(
        database_url,
        trusted_proxies=["127.0.0.1"],
        country_header="CF-IPCountry",
        geoip_database=mmdb,
    )
    server = serve(analytics)
    server.event({"url": SITE + "/a"}, ip="198.51.100.77")  # database: DE
    server.event({"url": SITE + "/b"}, ip="198.51.100.77", headers={"CF-IPCountry": "fr"})
    server.event({"url": SITE + "/c"}, ip="203.0.113.5")  # in no network: unknown
    server.event({"url": SITE + "/d"}, ip="203.0.113.5", headers={"CF-IPCountry": "XX"})
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT path, country FROM page_view ORDER BY path")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("/a", "DE"), ("/b", "FR"), ("/c", None), ("/d", None)]


def city(country: str, region: str, name: str) -> dict[str, object]:
    """A record shaped like GeoLite2-City's: country, first subdivision, city."""
    return {
        "country": {"iso_code": country, "names": {"en": country}},
        "subdivisions": [{"iso_code": "X", "names": {"en": region}}],
        "city": {"names": {"en": name}},
    }


def test_regions_and_cities_from_a_city_level_mmdb(serve, make_analytics, database_url, tmp_path):
    """Visitors: two in Munich (one /24, two User-Agents), one in Berlin, one in a
    country-only record, one whose header names another country than the database's.
    Regions: Bavaria (2 visitors, 2 visits), Berlin (1, 1); Berlin's city with a Signup."""
    from geo_fixture import build_country_mmdb

    mmdb = build_country_mmdb(
        tmp_path / "cities.mmdb",
        {"203.0.113.0/24": "FR"},
        records={
            "198.51.100.0/24": city("DE", "Bavaria", "Munich"),
            "198.51.101.0/24": city("DE", "Berlin", "Berlin"),
        },
        database_type="GeoLite2-City",
    )
    analytics = make_analytics(
        database_url,
        trusted_proxies=["127.0.0.1"],
        country_header="CF-IPCountry",
        geoip_database=mmdb,
    )
    server = serve(analytics)
    server.event({"url": SITE + "/a"}, ip="198.51.100.7")
    server.event({"url": SITE + "/a"}, ip="198.51.100.8", ua=IPHONE_UA)
    server.event({"name": "Signup", "url": SITE + "/a"}, ip="198.51.101.9")
    server.event({"url": SITE + "/b"}, ip="203.0.113.5")  # France, no region or city
    at = {"CF-IPCountry": "AT"}
    server.event({"url": SITE + "/c"}, ip="198.51.101.200", ua=IPHONE_UA, headers=at)
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT path, country, region, city FROM page_view UNION ALL "
                "SELECT name, country, region, city FROM custom_event ORDER BY 1, 3"
            )
        ).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("/a", "DE", "Bavaria", "Munich"),
        ("/a", "DE", "Bavaria", "Munich"),
        ("/b", "FR", None, None),
        ("/c", "AT", None, None),  # the header's country: the database's city is not there
        ("Signup", "DE", "Berlin", "Berlin"),
    ]
    api = analytics.api
    regions = api.get_regions_sync(10, "today")
    assert [r.to_dict() for r in regions] == [
        {"country": "DE", "name": "Bavaria", "visitors": 2, "visits": 2},
        {"country": "DE", "name": "Berlin", "visitors": 1, "visits": 1},
    ]
    cities = api.get_cities_sync(10, "today", country="DE", event="Signup")
    assert [(c.name, c.visitors) for c in cities] == [("Berlin", 1)]


def test_country_header_from_an_untrusted_peer_is_ignored(serve, make_analytics, database_url):
    analytics = make_analytics(database_url, country_header="CF-IPCountry")
    server = serve(analytics)
    server.event({"url": SITE}, headers={"CF-IPCountry": "FR"})
    assert count_rows(database_url, "page_view", "WHERE country IS NULL") == 1


def test_one_page_has_one_spelling(server, database_url):
    """A browser sends /a%22 and /caf%C3%A9; a script or a server may send /a" and /café."""
    for url in ('/a"', "/a%22", "/café", "/caf%C3%A9", "/a b", "/a%20b"):
        assert server.event({"url": SITE + url}, ip="198.51.100.1").status_code == 202
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        paths = conn.execute(sa.text("SELECT path, count(*) FROM page_view GROUP BY path"))
        assert dict(paths.all()) == {"/a%22": 2, "/caf%C3%A9": 2, "/a%20b": 2}
    engine.dispose()
