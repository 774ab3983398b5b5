"""Shared links: a read-only dashboard at a secret URL, its password, its revocation, and
where it may be framed."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from footfall import Config
from footfall.cli import main
from footfall.store import shared_links

TOKEN = "shared-admin-token-0123"
SHARE = "/pages/analytics/share"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def server(serve, make_analytics, sqlite_url):
    running = serve(
        make_analytics(sqlite_url, admin_token=TOKEN, embed_origins=["https://blog.example.com"])
    )
    for path in ("/", "/a", "/a"):
        assert running.event({"url": "https://example.com" + path}).status_code == 202
    return running


def shown_visitors(html: str) -> int:
    return int(re.search(r'data-metric="visitors" data-value="(\d+)"', html).group(1))


def test_a_shared_link_shows_the_dashboard_read_only(server):
    engine = server.analytics.store.engine
    secret = shared_links.create(engine, "Acme Corp", NOW)
    page = server.client.get(f"{SHARE}/{secret}?range=7d")
    assert page.status_code == 200
    assert (
        shown_visitors(page.text)
        == server.analytics.api.get_dashboard_stats_sync("7d").visitors.value
        == 1
    )
    assert "Acme Corp" in page.text
    assert (
        "Export CSV" not in page.text and "Sign out" not in page.text and "Details" not in page.text
    )
    # Its links and forms stay on the shared URL.
    assert f'href="{SHARE}/{secret}?range=30d"' in page.text
    assert f'action="{SHARE}/{secret}"' in page.text
    assert "frame-ancestors https://blog.example.com;" in page.headers["content-security-policy"]
    # It opens nothing else: not the JSON API, not the dashboard, not the export.
    assert "set-cookie" not in page.headers
    assert server.client.get("/api/data/analytics/stats").status_code == 403
    assert server.client.get("/pages/analytics").status_code == 403
    filtered = server.client.get(f"{SHARE}/{secret}?page=/a")
    assert filtered.status_code == 200 and "page</span> /a" in filtered.text

    # Revoked, or never made: a 404, and the admin's dashboard is never framed.
    (link,) = shared_links.all_links(engine)
    assert shared_links.revoke(engine, link.id)
    assert server.client.get(f"{SHARE}/{secret}").status_code == 404
    assert server.client.get(f"{SHARE}/not-a-secret").status_code == 404
    server.client.get(f"/pages/analytics?token={TOKEN}")
    admin = server.client.get("/pages/analytics")
    assert "frame-ancestors 'none'" in admin.headers["content-security-policy"]


def test_a_password_is_asked_once_and_only_for_that_link(server):
    engine = server.analytics.store.engine
    secret = shared_links.create(engine, "Board", NOW, password="correct horse")
    other = shared_links.create(engine, "Team", NOW, password="battery staple")
    asked = server.client.get(f"{SHARE}/{secret}")
    assert asked.status_code == 200 and 'type="password"' in asked.text
    assert 'data-metric="visitors"' not in asked.text
    wrong = server.client.post(f"{SHARE}/{secret}", data={"password": "guess"})
    assert wrong.status_code == 401 and "not the password" in wrong.text
    assert "set-cookie" not in wrong.headers
    right = server.client.post(
        f"{SHARE}/{secret}", data={"password": "correct horse"}, follow_redirects=False
    )
    assert right.status_code == 303
    cookie = right.headers["set-cookie"]
    assert f"Path={SHARE}/{secret}" in cookie and "HttpOnly" in cookie
    shown = server.client.get(f"{SHARE}/{secret}")
    assert shown.status_code == 200 and shown_visitors(shown.text) == 1
    # The other link still asks for its own.
    assert 'type="password"' in server.client.get(f"{SHARE}/{other}").text


def test_embed_origins_must_be_origins():
    assert Config(embed_origins=["https://a.example http://b.example:8080"]).embed_origins == (
        "https://a.example",
        "http://b.example:8080",
    )
    for bad in ("https://a.example/path", "a.example", "https://a.example; script-src *", "*"):
        with pytest.raises(ValueError, match="embed_origins"):
            Config(embed_origins=[bad])


def test_the_share_commands_make_list_and_revoke(tmp_path):
    database = f"sqlite:///{tmp_path / 'footfall.db'}"
    runner = CliRunner()
    made = runner.invoke(main, ["share", "create", "--database", database, "Acme"])
    assert made.exit_code == 0, made.output
    assert re.fullmatch(r"http://localhost:8000/pages/analytics/share/[\w-]{32}\n", made.output)
    listed = runner.invoke(main, ["share", "list", "--database", database])
    assert listed.output.startswith("1\tAcme\tno password\t")
    assert runner.invoke(main, ["share", "revoke", "--database", database, "1"]).exit_code == 0
    again = runner.invoke(main, ["share", "revoke", "--database", database, "1"])
    assert again.exit_code != 0 and "no shared link 1" in again.output
    assert (
        "No shared links" in runner.invoke(main, ["share", "list", "--database", database]).output
    )
