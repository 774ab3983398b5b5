"""What must never reach the disk: an IP address (truncated or not) or a raw User-Agent."""

from __future__ import annotations

import sqlalchemy as sa

from conftest import BROWSER_UA

IPS = ["198.51.100.77", "203.0.113.201", "2001:db8:abcd:12:3456:789a:bcde:f012"]
USER_AGENTS = [
    BROWSER_UA,
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
]


def test_database_file_holds_no_ip_and_no_user_agent(serve, make_analytics, sqlite_url, tmp_path):
    analytics = make_analytics(sqlite_url, trusted_proxies=["127.0.0.1"])
    server = serve(analytics)
    for ip in IPS:
        for ua in USER_AGENTS:
            response = server.event(
                {"name": "Signup", "url": "https://example.com/x", "props": {"plan": "pro"}},
                ua=ua,
                ip=ip,
            )
            assert response.status_code == 202
            assert server.event({"url": "https://example.com/"}, ua=ua, ip=ip).status_code == 202
    analytics.close()

    raw = b"".join(path.read_bytes() for path in tmp_path.glob("footfall.db*"))
    assert len(raw) > 10_000  # the database, and any WAL left, were read
    forbidden = [*IPS, "198.51.100.0", "203.0.113.0", "2001:db8:abcd::", "2001:db8:abcd:12"]
    for needle in forbidden:
        assert needle.encode() not in raw, needle
        assert needle.encode("utf-16-le") not in raw, needle
    for ua in USER_AGENTS:
        assert ua.encode() not in raw
        # Nor any long-enough piece of it that would identify the string.
        assert b"AppleWebKit/537.36 (KHTML" not in raw and b"Gecko/20100101" not in raw

    # What is stored is the derived, coarse information.
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:
        browsers = set(conn.execute(sa.text("SELECT DISTINCT browser FROM page_view")).scalars())
        visitors = conn.execute(sa.text("SELECT count(DISTINCT visitor_id) FROM page_view"))
        assert visitors.scalar_one() == len(IPS) * len(USER_AGENTS)
    engine.dispose()
    assert browsers == {"Chrome", "Safari", "Firefox"}
