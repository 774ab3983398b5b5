"""Configuration mistakes are reported when the Analytics object is made, clearly."""

from __future__ import annotations

import pytest

from footfall import Analytics, Config


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
