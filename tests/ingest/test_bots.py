"""Bot detection against corpora of real User-Agent strings (tests/ingest/data/*.tsv)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import crawleruseragents
import pytest

from footfall.ingest import bots
from footfall.ingest.bots import EXCLUDED_PATTERNS, bot_reason
from footfall.ingest.event import DropReason
from footfall.ingest.user_agent import MAX_USER_AGENT_LENGTH

DATA = Path(__file__).parent / "data"


def read_tsv(name: str) -> list[list[str]]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines if line.strip() and not line.startswith("#")]


BOTS = [(DropReason(reason), ua) for reason, ua in read_tsv("bots.tsv")]
BROWSERS = [row[-1] for row in read_tsv("browsers.tsv")]
LIST_EXAMPLES = [
    (entry["pattern"], example)
    for entry in crawleruseragents.CRAWLER_USER_AGENTS_DATA
    for example in entry["instances"]
]


def ua_id(ua: object) -> str:
    return str(ua)[:70]


def test_corpora_are_big_and_well_formed() -> None:
    assert len(BROWSERS) >= 40
    assert len(BOTS) >= 60
    assert {reason for reason, _ in BOTS} == {DropReason.BOT, DropReason.AUTOMATION}
    assert all(len(row) == 6 for row in read_tsv("browsers.tsv"))
    assert len(set(BROWSERS)) == len(BROWSERS)
    assert len({ua for _, ua in BOTS}) == len(BOTS)


@pytest.mark.parametrize(("reason", "ua"), BOTS, ids=ua_id)
def test_bot_is_dropped_with_its_reason(reason: DropReason, ua: str) -> None:
    assert bot_reason(ua) is reason


@pytest.mark.parametrize("ua", BROWSERS, ids=ua_id)
def test_browser_is_kept(ua: str) -> None:
    assert bot_reason(ua) is None


@pytest.mark.parametrize("ua", [None, "", " ", "\t\r\n "])
def test_missing_user_agent(ua: str | None) -> None:
    assert bot_reason(ua) is DropReason.NO_USER_AGENT


def test_surrounding_whitespace_is_ignored() -> None:
    assert bot_reason("  curl/8.4.0\t") is DropReason.BOT
    assert bot_reason(f" {BROWSERS[0]} ") is None


def test_automation_wins_over_bot() -> None:
    ua = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/120.0.0.0 Safari/537.36 (compatible; Googlebot/2.1)"
    )
    assert bot_reason(ua) is DropReason.AUTOMATION


def test_ua_parser_spider_verdict_is_used() -> None:
    # Neither crawler-user-agents nor our own patterns know "Java/": only ua-parser does.
    assert bots._match_rules("Java/17.0.9") is None
    assert bot_reason("Java/17.0.9") is DropReason.BOT


def test_every_list_example_is_dropped() -> None:
    missed = [
        example
        for pattern, example in LIST_EXAMPLES
        if pattern not in EXCLUDED_PATTERNS
        and re.search(pattern, example)
        and bot_reason(example) is None
    ]
    assert missed == []


def test_exclusions_are_in_the_list_and_each_hits_a_real_browser() -> None:
    patterns = {entry["pattern"] for entry in crawleruseragents.CRAWLER_USER_AGENTS_DATA}
    assert patterns >= EXCLUDED_PATTERNS, "the list changed: revisit EXCLUDED_PATTERNS"
    for pattern in EXCLUDED_PATTERNS:
        assert any(re.search(pattern, ua) for ua in BROWSERS), pattern


def reference(rules: list[tuple[str, DropReason]]) -> Callable[[str], DropReason | None]:
    """The obvious, slow implementation: every pattern in turn."""
    compiled = [(re.compile(pattern), reason) for pattern, reason in rules]

    def match(ua: str) -> DropReason | None:
        reasons = {reason for regex, reason in compiled if regex.search(ua)}
        if DropReason.AUTOMATION in reasons:
            return DropReason.AUTOMATION
        return DropReason.BOT if reasons else None

    return match


@pytest.mark.parametrize("engine", [bots._RustRules, bots._IndexedRules])
def test_fast_engines_agree_with_plain_re(engine: type) -> None:
    rules = bots._rules()
    expected, actual = reference(rules), engine(rules)
    samples = [example for _, example in LIST_EXAMPLES] + BROWSERS + [ua for _, ua in BOTS]
    disagreements = [ua for ua in samples if actual(ua) is not expected(ua)]
    assert disagreements == []
    assert sum(expected(ua) is not None for ua in samples) > 2000  # the check has teeth


def test_the_rust_engine_is_the_one_in_use() -> None:
    assert isinstance(bots._match_rules, bots._RustRules)


@pytest.mark.parametrize(
    ("pattern", "runs"),
    [
        ("Googlebot\\/", ["googlebot/"]),
        ("[wW]get", ["wget"]),
        ("(^| )PTST\\/", ["ptst/"]),
        ("AdsBot-Google([^-]|$)", ["adsbot-google"]),
        ("BlogTraffic\\/\\d\\.\\d+ Feed-Fetcher", ["blogtraffic/", ".", " feed-fetcher"]),
        ("Current[\\s\\S]*RSS Reader", ["current", "rss reader"]),
        ("ab?c", ["a", "c"]),
        ("ab+c", ["ab", "c"]),
        ("x{2,3}yz*?w", ["y", "w"]),
        ("Chirp|gotosocial", None),
        ("(?:a|b)cd", ["cd"]),
    ],
)
def test_required_runs(pattern: str, runs: list[str] | None) -> None:
    assert bots._required_runs(pattern) == runs


def test_results_are_cached() -> None:
    ua = "Mozilla/5.0 (compatible; SomeCacheTestBot/1.0)"
    bot_reason(ua)
    hits = bots._classify.cache_info().hits
    assert bot_reason(ua) is DropReason.BOT
    assert bots._classify.cache_info().hits == hits + 1
    assert bots._classify.cache_info().maxsize is not None


def test_overlong_user_agent_is_cut_before_caching() -> None:
    head = BROWSERS[0]
    assert bot_reason(head + " x" * 10_000) is None
    assert bot_reason("curl/8.4.0 " + "y" * 10_000) is DropReason.BOT
    tail = " " * MAX_USER_AGENT_LENGTH + "curl/8.4.0"
    assert bot_reason(f"{head}{tail}") is None  # past the cut: not looked at
