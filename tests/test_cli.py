"""The footfall command: the demo and the standalone server as a user runs them."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from conftest import BROWSER_UA, count_rows, empty_database, free_port, start_serve, stop_serve
from footfall.cli import main
from geo_fixture import build_country_mmdb


def test_demo_fills_the_database_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    runner = CliRunner()
    first = runner.invoke(
        main, ["demo", "--database", url, "--pageviews", "3000", "--days", "7", "--no-serve"]
    )
    assert first.exit_code == 0, first.output
    assert "Wrote" in first.output
    stored = count_rows(url, "page_view")
    assert 2850 <= stored <= 3150
    again = runner.invoke(main, ["demo", "--database", url, "--no-serve"])
    assert again.exit_code == 0 and "already holds" in again.output
    assert count_rows(url, "page_view") == stored
    reset = runner.invoke(
        main,
        ["demo", "--database", url, "--pageviews", "1000", "--days", "2", "--reset", "--no-serve"],
    )
    assert reset.exit_code == 0, reset.output
    assert 950 <= count_rows(url, "page_view") <= 1050


def test_serve_rejects_bad_options_with_a_message(tmp_path):
    result = CliRunner().invoke(main, ["serve", "--database", "mysql://x/y", "--port", "1"])
    assert result.exit_code != 0
    assert "unsupported database URL" in result.output


def test_serve_logs_no_visitor_address_and_flushes_on_shutdown(tmp_path):
    """The standalone server writes no access log (it would hold full IP addresses), and
    SIGTERM drains what was queued."""
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    base, process = start_serve(
        url,
        "--log-level",
        "info",
        "--trusted-proxy",
        "127.0.0.1",
        "--admin-token",
        "secret-token-of-the-test",
    )
    try:
        for i in range(20):
            response = httpx.post(
                f"{base}/api/data/analytics/event",
                json={"url": f"https://example.com/{i}"},
                headers={"User-Agent": BROWSER_UA, "X-Forwarded-For": "203.0.113.77"},
            )
            assert response.status_code == 202
    finally:
        output = stop_serve(process)
    # uvicorn re-raises SIGTERM once its graceful shutdown has finished.
    assert process.returncode in (0, -15), output
    assert "Application shutdown complete" in output
    assert "/pages/analytics" in output  # where to log in, but not a given token
    assert "secret-token-of-the-test" not in output
    assert "203.0.113" not in output and "POST /api" not in output
    assert count_rows(url, "page_view") == 20


def test_a_misspelt_environment_variable_is_refused_with_the_name_meant(tmp_path):
    url = f"sqlite:///{tmp_path / 'footfall.db'}"
    result = CliRunner().invoke(
        main, ["purge", "--database", url], env={"FOOTFALL_RETENTON_DAYS": "30"}
    )
    assert result.exit_code == 2, result.output
    assert (
        "unknown environment variable FOOTFALL_RETENTON_DAYS "
        "(did you mean FOOTFALL_RETENTION_DAYS?)" in result.output
    )
    assert not (tmp_path / "footfall.db").exists()  # refused before anything was opened


def test_the_admin_token_outlives_a_restart_and_logins_are_single_use_links(tmp_path):
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    base, first = start_serve(url)
    output = stop_serve(first)
    token = CliRunner().invoke(main, ["token", "--database", url]).output.strip()
    assert len(token) >= 32
    assert token not in output  # the banner holds a login code, never the token
    assert "a new admin token, kept in the database" in output
    assert "countries unknown: 'footfall geoip update' downloads a free database" in output
    first_code = re.search(r"/pages/analytics\?code=([\w-]+)", output)
    assert first_code, output

    build_country_mmdb(tmp_path / "dbip-country-lite.mmdb", {"203.0.113.0/24": "DE"})
    base, second = start_serve(url)
    try:
        stats = httpx.get(
            f"{base}/api/data/analytics/stats?range=7d",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert stats.status_code == 200, stats.text
        wrong = httpx.get(
            f"{base}/api/data/analytics/stats", headers={"Authorization": "Bearer guess"}
        )
        assert wrong.status_code == 403
        # The first start's link still works (once): the codes live in the database.
        dashboard = f"{base}/pages/analytics"
        login = httpx.get(f"{dashboard}?code={first_code.group(1)}", follow_redirects=False)
        assert login.status_code == 303
        again = httpx.get(f"{dashboard}?code={first_code.group(1)}", follow_redirects=False)
        assert again.status_code == 403
        link = CliRunner().invoke(main, ["login", "--database", url, "--url", base]).output
        assert link.startswith(f"{dashboard}?code=")
        with httpx.Client(follow_redirects=True) as browser:
            assert browser.get(link.strip()).status_code == 200
            CliRunner().invoke(main, ["token", "--database", url, "--rotate"])
            # A new token ends the sessions made under the old one (after a restart, which
            # reads it: the running server still has the old token).
    finally:
        output = stop_serve(second)
    assert "a new admin token" not in output
    assert "countries unknown" not in output  # the database beside serve.db was found

    new = CliRunner().invoke(main, ["token", "--database", url]).output.strip()
    assert new != token and len(new) >= 32
    base, third = start_serve(url)
    try:
        with httpx.Client(cookies=browser.cookies) as old_session:
            assert old_session.get(f"{base}/pages/analytics").status_code == 403
        old = httpx.get(
            f"{base}/api/data/analytics/stats", headers={"Authorization": f"Bearer {token}"}
        )
        assert old.status_code == 403
    finally:
        stop_serve(third)


def test_serve_takes_hostnames_excluded_paths_rate_limit_and_public_counters(tmp_path):
    """A public standalone server can refuse other hosts' events, skip paths, change the
    rate limit and open its counters, from flags or the environment."""
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    base, process = start_serve(
        url,
        "--hostname",
        "example.com",
        "--exclude-path",
        "/admin/*",
        "--rate-limit",
        "2",
        "--public-counters",
        "--trusted-proxy",
        "127.0.0.1",
    )
    try:
        statuses = []
        for i, page in enumerate(
            ["https://example.com/", "https://other.org/", "https://example.com/admin/users"]
        ):
            response = httpx.post(
                f"{base}/api/data/analytics/event",
                json={"url": page},
                headers={"User-Agent": BROWSER_UA, "X-Forwarded-For": f"203.0.{i}.1"},
            )
            statuses.append(response.status_code)
        limited = [
            httpx.post(
                f"{base}/api/data/analytics/event",
                json={"url": "https://example.com/pricing"},
                headers={"User-Agent": BROWSER_UA, "X-Forwarded-For": "198.51.100.7"},
            ).status_code
            for _ in range(3)
        ]
        counters = httpx.get(f"{base}/api/data/analytics/page-stats?path=/")
        private = httpx.get(f"{base}/api/data/analytics/stats")
    finally:
        output = stop_serve(process)
    assert statuses == [202, 202, 202], output  # dropped events are acknowledged too
    assert limited == [202, 202, 429], output
    assert counters.status_code == 200 and private.status_code == 403
    assert count_rows(url, "page_view") == 3  # "/" and two of "/pricing"
    assert "events for any host name" not in output


def test_check_prints_the_configuration_its_sources_and_tests_the_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'check.db'}"
    fresh = CliRunner().invoke(main, ["check", "--database", url])
    assert fresh.exit_code == 0, fresh.output
    assert "does not exist yet: footfall serve creates it" in fresh.output
    assert not (tmp_path / "check.db").exists()  # a check creates nothing

    CliRunner().invoke(main, ["demo", "--database", url, "--pageviews", "300", "--no-serve"])
    pageviews = count_rows(url, "page_view")
    result = CliRunner().invoke(
        main,
        ["check", "--database", url, "--hostname", "example.com", "--exclude-path", "/admin/*"],
        env={"FOOTFALL_RATE_LIMIT": "0"},
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "  hostnames             example.com  (flag)" in lines
    assert "  rate_limit_per_minute no limit  (FOOTFALL_ variable)" in lines
    assert "  retention_days        90  (default)" in lines
    assert "  - events for hosts other than example.com" in lines
    assert "  - paths matching /admin/*" in lines
    assert f"{pageviews:,} page views" in result.output
    assert "schema up to date" in result.output


def test_check_fails_on_a_refused_option_or_an_unreachable_database(tmp_path):
    refused = CliRunner().invoke(main, ["check", "--exclude-path", "admin/*"])
    assert refused.exit_code == 1
    assert "configuration: refused: exclude_paths pattern 'admin/*' never matches" in (
        refused.output
    )
    down = CliRunner().invoke(
        main, ["check", "--database", f"postgresql://postgres@127.0.0.1:{free_port()}/x"]
    )
    assert down.exit_code == 1
    assert "database: cannot reach it: connection failed" in down.output


def test_serve_prints_its_banner_only_once_it_listens(tmp_path):
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        footfall = Path(sys.executable).with_name("footfall")
        done = subprocess.run(
            [str(footfall), "serve", "--database", url, "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode != 0
    assert "address already in use" in done.stderr + done.stdout
    assert "footfall" not in done.stdout and "dashboard:" not in done.stdout


@pytest.mark.postgres
def test_serve_never_prints_the_database_password(tmp_path):
    with empty_database("postgresql", tmp_path) as url:
        secret = url.replace("postgres@", "postgres:pa55-w0rd-never-shown@", 1)
        assert secret != url
        _, process = start_serve(secret, "--admin-token", "a-long-enough-admin-token")
        output = stop_serve(process)
    assert "pa55-w0rd-never-shown" not in output
    assert "postgres:***@" in output
