"""Configuration mistakes are reported when the Analytics object is made, clearly."""

from __future__ import annotations

import re

import pytest

from footfall import Analytics, Config
from footfall.store.database import database_url


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"retention_days": 0}, "retention_days"),
        ({"api_base_path": "api/"}, "api_base_path"),
        ({"site_base_path": "/pages/"}, "site_base_path"),
        ({"timezone": "Mars/Olympus"}, "time zone"),
        ({"trusted_proxies": ["10.0.0.1", "not-an-ip"]}, "not-an-ip"),
        ({"geoip_database": "/nonexistent/GeoLite2-Country.mmdb"}, "geoip_database"),
        ({"rate_limit_per_minute": 0}, "rate_limit_per_minute"),
    ],
)
def test_bad_options_fail_at_construction(options, message):
    with pytest.raises(ValueError, match=message):
        Analytics(**options)


def test_trusted_proxies_accept_a_comma_or_space_separated_string():
    config = Config(trusted_proxies="10.0.0.1, 192.168.0.0/16 ::1")
    assert config.trusted_proxies == ("10.0.0.1", "192.168.0.0/16", "::1")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        # A string where a list is expected was read one character at a time: "*" and "/"
        # excluded every path, or the home page.
        (
            {"exclude_paths": "/docs*"},
            re.escape("exclude_paths must be a list of strings, such as ['/docs*'], not the"),
        ),
        ({"exclude_paths": "/docs"}, "exclude_paths must be a list of strings"),
        ({"hostnames": "example.com"}, "hostnames must be a list of strings"),
        ({"exclude_paths": ["/docs", 3]}, "exclude_paths must be a list of strings"),
        ({"retention_days": "90"}, r"retention_days must be a whole number, not '90' \(str\)"),
        ({"retention_days": True}, "retention_days must be a whole number, not True"),
        ({"rollup_retention_days": 365.0}, "rollup_retention_days must be a whole number or None"),
        ({"rate_limit_per_minute": "600"}, "rate_limit_per_minute must be a whole number or None"),
        ({"public_counters": "yes"}, "public_counters must be True or False, not 'yes'"),
        ({"on_before_ingest": "myapp.hooks.before"}, "on_before_ingest must be a function or None"),
        ({"authorize": True}, "authorize must be a function or None"),
        ({"database_url": None}, "database_url must be a string, not None"),
        ({"geoip_database": 3}, "geoip_database must be a string or a Path or None"),
        ({"country_header": ["CF-IPCountry"]}, "country_header must be a string or None"),
    ],
)
def test_options_of_the_wrong_type_are_refused_by_name(options, message):
    with pytest.raises(ValueError, match=message):
        Analytics(**options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"exclude_paths": ["docs/*"]}, r"'docs/\*' never matches.*did you mean '/docs/\*'"),
        ({"hostnames": ["https://example.com/"]}, "give the host alone, such as 'example.com'"),
        ({"hostnames": ["example.com:8000"]}, "give the host alone, such as 'example.com'"),
    ],
)
def test_patterns_that_never_match_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        Analytics(**options)


def test_a_misspelt_option_is_refused_with_the_name_meant():
    with pytest.raises(ValueError, match=r"unknown option 'exlude_paths' \(did you mean "):
        Analytics(exlude_paths=["/admin/*"])
    with pytest.raises(ValueError, match=r"unknown option 'colour'$"):
        Analytics(colour="blue")


def test_options_of_the_right_types_pass(tmp_path):
    geoip = tmp_path / "country.mmdb"
    geoip.write_bytes(b"")
    config = Analytics(
        exclude_paths=("/admin/*", "*.php"),
        hostnames=["example.com", "*.example.com", "::1"],
        rollup_retention_days=None,
        rate_limit_per_minute=None,
        geoip_database=geoip,
        on_before_ingest=lambda event, context: None,
        public_counters=True,
    ).config
    assert config.exclude_paths == ("/admin/*", "*.php")
    assert config.geoip_database == geoip


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "footfall.db",
            "'footfall.db' is not a URL: for a SQLite file write 'sqlite:///footfall.db'",
        ),
        ("sqlite:footfall.db", "write 'sqlite:///footfall.db'"),
        ("mysql://root@127.0.0.1/test", "unsupported database URL 'mysql://root@127.0.0.1/test'"),
        ("postgresql+psycopg2://db/x", "unsupported database URL"),
        ("sqlite://", "not an in-memory database"),
    ],
)
def test_a_database_url_that_cannot_work_is_refused_with_how_to_write_it(url, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Analytics(database_url=url)


def test_postgres_urls_from_hosting_platforms_mean_psycopg():
    # Heroku, Render and others hand out postgres://; SQLAlchemy knows no such dialect.
    for scheme in ("postgres", "postgresql", "postgresql+psycopg"):
        url = database_url(f"{scheme}://user:secret@db.example.com:5433/site")
        assert url.drivername == "postgresql+psycopg"
        assert (url.host, url.port, url.database) == ("db.example.com", 5433, "site")


def test_a_sqlite_file_in_a_missing_directory_is_named(tmp_path):
    analytics = Analytics(database_url=f"sqlite:///{tmp_path}/missing/footfall.db")
    with pytest.raises(ValueError, match=f"its directory '{tmp_path}/missing' does not exist"):
        analytics.open()


def test_development_mode_has_the_injected_tag_count_localhost_and_automated_browsers():
    from footfall.tracker import script_tag
    from footfall.web.middleware import script_tag as injected_tag

    live, development = Config(), Config(development=True)
    assert "data-include-localhost" not in injected_tag(live, initial_pageview=False).decode()
    tag = injected_tag(development, initial_pageview=False).decode()
    assert 'data-include-localhost="true"' in tag
    assert 'data-include-localhost="true"' in script_tag(development)
    assert "data-include-localhost" not in script_tag(development, include_localhost=False)


@pytest.mark.parametrize(
    "token", ["change-me", "secret", "aaaaaaaaaaaaaaaaaaaa", "abcabcabcabcabcabc"]
)
def test_a_guessable_admin_token_is_refused(token):
    with pytest.raises(ValueError, match="admin_token must be at least 16 characters and random"):
        Config(admin_token=token)


def test_a_random_admin_token_is_taken():
    import secrets

    assert Config(admin_token=secrets.token_urlsafe()).admin_token
