"""Who may open the dashboard: nobody by default, the admin through the login link."""

from __future__ import annotations

import re

import httpx
import pytest

TOKEN = "dashboard-admin-token"
DASHBOARD = "/pages/analytics"


@pytest.fixture
def server(serve, make_analytics, sqlite_url):
    running = serve(make_analytics(sqlite_url, admin_token=TOKEN))
    running.event({"url": "https://example.com/"})
    return running


def test_without_a_token_the_page_says_how_to_get_access(server):
    response = server.client.get(DASHBOARD)
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    # Embedded with an admin token: open the page with it (not footfall serve's link).
    assert "Analytics(admin_token=…)" in response.text
    assert f"{DASHBOARD}?token=&lt;that token&gt;" in response.text
    assert "footfall serve</code>\nprinted" not in response.text
    assert response.headers["cache-control"] == "no-store"
    assert "set-cookie" not in response.headers
    # The page is styled: its stylesheet is served.
    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', response.text).group(1)
    css = server.client.get(stylesheet)
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    # So is the page of a view that does not exist.
    server.client.get(f"{DASHBOARD}?token={TOKEN}")  # the admin cookie
    invalid = server.client.get(f"{DASHBOARD}?range=fortnight")
    assert invalid.status_code == 400
    assert f'href="{stylesheet}"' in invalid.text


@pytest.mark.parametrize(
    ("options", "standalone", "said", "unsaid"),
    [
        ({}, True, ["footfall token", "login link"], ["Analytics(authorize"]),
        ({"authorize": lambda request: False}, False, ["authorize(request)"], ["footfall token"]),
        ({}, False, ["Analytics(authorize=", "Analytics(admin_token="], ["login link"]),
    ],
)
def test_the_403_page_says_what_to_do_where_footfall_runs(
    make_analytics, sqlite_url, options, standalone, said, unsaid
):
    from starlette.testclient import TestClient

    from footfall.web.app import build_app

    app = build_app(make_analytics(sqlite_url, **options), standalone=standalone)
    with TestClient(app) as client:
        response = client.get(DASHBOARD)
        assert response.status_code == 403
        for text in said:
            assert text in response.text
        for text in unsaid:
            assert text not in response.text
        stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', response.text).group(1)
        assert client.get(stylesheet).status_code == 200


def test_a_wrong_token_is_refused(server):
    response = server.client.get(f"{DASHBOARD}?token=guess")
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


def test_the_login_link_sets_a_strict_httponly_cookie_and_opens_the_dashboard(server):
    login = server.client.get(f"{DASHBOARD}?token={TOKEN}&range=7d", follow_redirects=False)
    assert login.status_code == 303
    assert login.headers["location"] == f"{DASHBOARD}?range=7d"  # the token leaves the URL
    cookie = login.headers["set-cookie"]
    assert cookie.startswith("footfall_admin=")
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=strict", "path=/"} <= attributes

    with httpx.Client(base_url=server.url, follow_redirects=True) as browser:
        page = browser.get(f"{DASHBOARD}?token={TOKEN}")
        assert page.status_code == 200
        assert "Unique visitors" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert "default-src 'none'" in page.headers["content-security-policy"]
        # The same cookie opens the JSON API and the export, as the page's links need.
        assert browser.get("/api/data/analytics/stats").status_code == 200
        assert browser.get("/api/data/analytics/export.csv").status_code == 200


def session_cookie(login: httpx.Response) -> str:
    return login.headers["set-cookie"].split(";")[0].split("=", 1)[1]


def test_a_forged_expired_or_foreign_session_is_refused(server, clock):
    from footfall.store import admin_sessions

    engine = server.analytics.store.engine
    old = admin_sessions.begin(engine, admin_sessions.SESSION, TOKEN, clock())
    foreign = admin_sessions.begin(engine, admin_sessions.SESSION, "another-token", clock())
    clock.advance(days=7, seconds=1)
    fresh = admin_sessions.begin(engine, admin_sessions.SESSION, TOKEN, clock())
    forged = "A" * 43  # well formed, never issued
    for value, status in ((fresh, 200), (old, 403), (foreign, 403), (forged, 403), ("1.abc", 403)):
        with httpx.Client(base_url=server.url, cookies={"footfall_admin": value}) as client:
            assert client.get(DASHBOARD).status_code == status, value


def test_a_login_code_works_once_and_for_15_minutes(server, clock):
    from footfall.store import admin_sessions

    engine = server.analytics.store.engine
    code = admin_sessions.begin(engine, admin_sessions.CODE, TOKEN, clock())
    late = admin_sessions.begin(engine, admin_sessions.CODE, TOKEN, clock())
    first = server.client.get(f"{DASHBOARD}?code={code}&range=7d", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == f"{DASHBOARD}?range=7d"  # the code leaves the URL
    assert first.headers["set-cookie"].startswith("footfall_admin=")
    with httpx.Client(base_url=server.url) as other:
        assert other.get(f"{DASHBOARD}?code={code}").status_code == 403  # used
        clock.advance(minutes=15)
        assert other.get(f"{DASHBOARD}?code={late}").status_code == 403  # expired
        assert other.get(f"{DASHBOARD}?code=not-a-code").status_code == 403


def test_signing_out_ends_the_session_and_everywhere_ends_them_all(server):
    browsers = [httpx.Client(base_url=server.url, follow_redirects=True) for _ in range(3)]
    try:
        login = f"{DASHBOARD}?token={TOKEN}"
        cookies = [session_cookie(b.get(login, follow_redirects=False)) for b in browsers]
        page = browsers[0].get(DASHBOARD)
        assert 'action="/pages/analytics/logout"' in page.text
        out = browsers[0].post(f"{DASHBOARD}/logout", follow_redirects=False)
        assert out.status_code == 303 and "Max-Age=0" in out.headers["set-cookie"]
        # The cookie's value no longer works, even replayed by someone who copied it.
        with httpx.Client(base_url=server.url, cookies={"footfall_admin": cookies[0]}) as thief:
            assert thief.get(DASHBOARD).status_code == 403
        assert browsers[1].get(DASHBOARD).status_code == 200
        everywhere = browsers[1].post(f"{DASHBOARD}/logout", data={"everywhere": "1"})
        assert everywhere.status_code == 403  # redirected to the dashboard: signed out
        assert browsers[2].get(DASHBOARD).status_code == 403
        # Signing everyone out needs a session: a stranger's form does nothing.
        again = browsers[1].get(f"{DASHBOARD}?token={TOKEN}")
        assert again.status_code == 200
        stranger = httpx.post(f"{server.url}{DASHBOARD}/logout", data={"everywhere": "1"})
        assert stranger.status_code == 403
        assert browsers[1].get(DASHBOARD).status_code == 200
    finally:
        for browser in browsers:
            browser.close()


def test_the_host_application_can_authorize(serve, make_analytics, sqlite_url):
    server = serve(make_analytics(sqlite_url, authorize=lambda r: r.headers.get("x-admin") == "1"))
    assert server.client.get(DASHBOARD).status_code == 403
    assert server.client.get(DASHBOARD, headers={"X-Admin": "1"}).status_code == 200


def test_visitor_sent_markup_is_rendered_as_text(server):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    server.event({"url": "https://example.com/" + evil, "referrer": "https://evil.example/" + evil})
    server.event({"name": evil, "url": "https://example.com/", "props": {"k": evil}})
    page = server.client.get(f"{DASHBOARD}?token={TOKEN}", follow_redirects=True)
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert" in page.text
    # The client kept the admin cookie; open the event's property breakdown too.
    with_props = server.client.get(DASHBOARD, params={"event": evil})
    assert with_props.status_code == 200 and "Properties of" in with_props.text
    assert "<img src=x" not in with_props.text and "<script>alert" not in with_props.text


def test_paths_read_decoded_and_link_encoded(serve, make_analytics, sqlite_url):
    running = serve(make_analytics(sqlite_url, admin_token=TOKEN))
    running.event({"url": "https://example.com/caf%C3%A9/men%C3%BC"})
    with httpx.Client(base_url=running.url, follow_redirects=True) as browser:
        page = browser.get(f"{DASHBOARD}?token={TOKEN}").text
        assert ">/café/menü</a>" in page
        assert "page=%2Fcaf%25C3%25A9%2Fmen%25C3%25BC" in page  # the filter keeps the stored path
        chip = browser.get(f"{DASHBOARD}?page=%2Fcaf%25C3%25A9%2Fmen%25C3%25BC").text
        assert '<span class="ff-muted">page</span> /café/menü' in chip


def test_a_trailing_slash_is_no_redirect_built_from_the_host_header(server):
    """Starlette redirected /pages/analytics/?token=... to http://<Host header>/...?token=...;
    the dashboard answers at both paths, and elsewhere a trailing slash is a 404."""
    forged = {"Host": "attacker.example"}
    login = server.client.get(f"{DASHBOARD}/?token={TOKEN}", headers=forged, follow_redirects=False)
    assert login.status_code == 303
    assert login.headers["location"] == f"{DASHBOARD}/"  # a path, without the token
    assert server.client.get(f"{DASHBOARD}/").status_code == 200
    api = server.client.get("/api/data/analytics/stats/?range=7d", headers=forged)
    assert api.status_code == 404 and "location" not in api.headers


def test_the_login_answer_and_the_assets_carry_the_security_headers(server):
    login = server.client.get(f"{DASHBOARD}?token={TOKEN}", follow_redirects=False)
    assert login.status_code == 303
    assert login.headers["referrer-policy"] == "no-referrer"  # the token was in the address
    for asset in ("dashboard.css", "dashboard.js"):
        response = server.client.get(f"{DASHBOARD}/assets/{asset}")
        assert response.status_code == 200
        assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("trusted", "headers", "secure"),
    [
        (["127.0.0.1"], {"X-Forwarded-Proto": "https"}, True),
        (["127.0.0.1"], {"Forwarded": 'for=203.0.113.9;proto="https"'}, True),
        (["127.0.0.1"], {"X-Forwarded-Proto": "https, http"}, False),  # the proxy said http
        (["127.0.0.1"], {}, False),
        ([], {"X-Forwarded-Proto": "https"}, False),  # a header from anyone is not believed
    ],
)
def test_the_cookie_is_secure_when_a_trusted_proxy_had_https(
    serve, make_analytics, sqlite_url, trusted, headers, secure
):
    running = serve(make_analytics(sqlite_url, admin_token=TOKEN, trusted_proxies=trusted))
    login = running.client.get(
        f"{DASHBOARD}?token={TOKEN}", headers=headers, follow_redirects=False
    )
    assert login.status_code == 303
    assert ("; Secure" in login.headers["set-cookie"]) is secure


def test_guessing_the_token_is_limited_per_network_and_logged(
    serve, make_analytics, sqlite_url, clock, caplog
):
    from footfall.web.auth import WRONG_PER_MINUTE

    running = serve(make_analytics(sqlite_url, admin_token=TOKEN, trusted_proxies=["127.0.0.1"]))
    stats = "/api/data/analytics/stats"

    def attempt(token: str, ip: str = "203.0.113.7") -> int:
        headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": ip}
        return running.client.get(stats, headers=headers).status_code

    assert [attempt(f"guess-{i}") for i in range(WRONG_PER_MINUTE)] == [403] * WRONG_PER_MINUTE
    assert attempt(TOKEN) == 429  # the right one too: a guess must not tell right from wrong
    login = running.client.get(
        f"{DASHBOARD}?token={TOKEN}", headers={"X-Forwarded-For": "203.0.113.9"}
    )
    assert login.status_code == 429  # the same /24 network, by the login link
    assert attempt(TOKEN, ip="198.51.100.7") == 200  # another network is not held up
    clock.advance(seconds=60)
    assert attempt(TOKEN) == 200
    logged = [r.getMessage() for r in caplog.records if r.name == "footfall.web.auth"]
    assert len(logged) == WRONG_PER_MINUTE
    assert all("203.0.113.0" in line for line in logged)
    assert not any("203.0.113.7" in line for line in logged)  # no full address in the log
