"""User-Agent parsing against a corpus of real browser strings (data/browsers.tsv)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import ua_parser.regex

from footfall.ingest import user_agent
from footfall.ingest.user_agent import Client, parse_user_agent

DATA = Path(__file__).parent / "data"
FIELDS = ("device", "browser", "browser_version", "os", "os_version")


def read_rows() -> list[list[str]]:
    lines = (DATA / "browsers.tsv").read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines if line.strip() and not line.startswith("#")]


ROWS = read_rows()


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row[-1][:70])
def test_real_browser(row: list[str]) -> None:
    *expected, ua = row
    client = parse_user_agent(ua)
    for field, want in zip(FIELDS, expected, strict=True):
        if want != "*":
            assert getattr(client, field) == (None if want == "-" else want), field


def test_corpus_covers_every_device_class_and_the_big_browsers() -> None:
    assert len(ROWS) >= 40
    checked = [row for row in ROWS if "*" not in row]
    assert len(checked) >= 40
    assert {row[0] for row in ROWS} == {"desktop", "mobile", "tablet"}
    browsers = {row[1] for row in ROWS}
    assert {"Chrome", "Safari", "Firefox", "Edge", "Opera", "Samsung Internet"} <= browsers
    assert {"Windows", "macOS", "Linux", "Android", "iOS", "Chrome OS"} <= {row[3] for row in ROWS}


def test_no_platform_variant_names_leak_through() -> None:
    names = {parse_user_agent(row[-1]).browser for row in ROWS}
    assert not names & {"Chrome Mobile", "Chrome Mobile iOS", "Mobile Safari", "Firefox iOS"}
    assert "Mac OS X" not in {parse_user_agent(row[-1]).os for row in ROWS}


@pytest.mark.parametrize("ua", ["", "-", "Mozilla/5.0", "something nobody sends"])
def test_unknown_strings_give_nones_and_desktop(ua: str) -> None:
    assert parse_user_agent(ua) == Client(None, None, None, None, "desktop")


def test_tablet_pc_token_is_not_a_tablet() -> None:
    ie8 = (
        "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0; SLCC2; "
        ".NET CLR 2.0.50727; Media Center PC 6.0; Tablet PC 2.0)"
    )
    client = parse_user_agent(ie8)
    assert (client.device, client.browser, client.os, client.os_version) == (
        "desktop",
        "Internet Explorer",
        "Windows",
        "7",
    )


def test_ipad_asking_for_the_desktop_site_counts_as_desktop() -> None:
    ipados = (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.2 Safari/605.1.15"
    )
    assert parse_user_agent(ipados).device == "desktop"


def test_client_is_immutable() -> None:
    client = parse_user_agent(ROWS[0][-1])
    with pytest.raises(dataclasses.FrozenInstanceError):
        client.browser = "Netscape"  # type: ignore[misc]


def test_results_are_cached_and_bounded() -> None:
    ua = ROWS[0][-1]
    assert parse_user_agent(ua) is parse_user_agent(ua)
    assert user_agent._parse.cache_info().maxsize is not None


def test_overlong_strings_are_cut() -> None:
    ua = ROWS[0][-1]
    assert parse_user_agent(ua + " x" * 10_000) == parse_user_agent(ua + " x" * 10_000)
    assert parse_user_agent(ua + " x" * 10_000).browser == "Chrome"


def test_parser_uses_the_rust_back_end() -> None:
    resolver = user_agent.PARSER.resolver
    assert isinstance(resolver, ua_parser.CachingResolver)
    assert isinstance(resolver.parser, ua_parser.regex.Resolver)


@pytest.mark.parametrize(
    "user_agent",
    [
        "john.doe@example.com/1.0 CFNetwork/1404.0.5 Darwin/22.3.0",
        "Secret%20Project/3 CFNetwork/1404.0.5 Darwin/22.3.0",
        "Weather/2.4.1 CFNetwork/1496.0.7 Darwin/23.5.0",
    ],
)
def test_an_apple_apps_own_name_is_not_kept(user_agent: str) -> None:
    """ua-parser names such a client after the string's first token, whatever it holds;
    a sender could put an e-mail address there, and footfall would have stored it."""
    client = parse_user_agent(user_agent)
    assert (client.browser, client.browser_version, client.os) == ("Apple app", None, "iOS")
