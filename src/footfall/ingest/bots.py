"""Tell crawlers, scripts and automated browsers from people, by User-Agent alone.

Dropped events are only counted (docs/privacy.md), so this runs on every hit and
must be cheap and must not drop real visitors. Three sources, in order:

1. a few automation markers of our own, plus the ``browser-automation`` entries of the
   ``crawler-user-agents`` list: :attr:`DropReason.AUTOMATION`;
2. the rest of ``crawler-user-agents`` (the field's maintained list) and a short list
   of our own for what it misses: :attr:`DropReason.BOT`;
3. ua-parser's device family ``"Spider"`` (generic ``bot``/``crawler``/``Java/``
   tokens): :attr:`DropReason.BOT`.

The list has ~1500 regexes; one big alternation costs ~500 µs per string in Python's
``re``. So they are run by the Rust regex set that ua-parser's own accelerator
(``ua-parser-rs``, installed by the ``ua-parser[regex]`` dependency) provides, in ~3 µs.
Without it, each pattern is filed under a three-letter piece of text every match must
contain, and only the patterns whose piece occurs in the User-Agent are run (~15-35 µs).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Final

import crawleruseragents
import ua_parser

from footfall.ingest.event import DropReason
from footfall.ingest.user_agent import MAX_USER_AGENT_LENGTH, PARSER

EXCLUDED_PATTERNS: Final[frozenset[str]] = frozenset(
    {
        # In-app browsers append the app's name to a normal WebView string
        # ("... Mobile Safari/537.36 WhatsApp/2.21.9.15 A"). The apps' own link-preview
        # fetchers send a bare "WhatsApp/2.23.20.0 A", "Viber", "Tumblr/14.0": matched by
        # the anchored patterns in _OWN_BOT_PATTERNS instead.
        "WhatsApp",
        "Viber",
        "Tumblr\\/",
        # Facebook's in-app browser ("... Safari/604.1 MetaIAB Facebook"); the list's own
        # example is a Pixel WebView. Meta's link prefetch is told by headers, not the UA.
        "MetaIAB Facebook",
        # An Android build id (Android 15 on OPPO and others): every WebView on that build
        # sends "Build/AP3A.240617.008". The list's own example is an Instagram in-app UA.
        "AP3A\\.240617\\.008",
        # Fluid is a real (site-specific) macOS browser, not automation.
        "Fluid",
        # HTC Butterfly phones ("HTC Butterfly s Build/..."); Topsy's crawler sends
        # "Butterfly/1.0", matched in _OWN_BOT_PATTERNS.
        "Butterfly",
    }
)
"""``crawler-user-agents`` patterns that match real browsers, so are not used."""

_OWN_AUTOMATION_PATTERNS: Final = (
    "Headless",  # HeadlessChrome, HeadlessEdg
    "SlimerJS",
    "jsdom/",
    "Cypress/",
    "Lighthouse",  # the list has Chrome-Lighthouse, but as a monitor
    "Google Page Speed Insights",
    "(?:^| )PTST/",  # WebPageTest; the list has it as a monitor
)

_OWN_BOT_PATTERNS: Final = (
    "[Ff]eed[Ff]etcher",  # "FeedFetcher-Google"; the list only has "Feedfetcher-Google"
    "NewRelicPinger",
    "[Hh]ealth-?[Cc]heck",  # Amazon-Route53-Health-Check-Service, ELB-HealthChecker
    "^kube-probe/",
    "^node$",  # Node.js fetch()
    "^undici",
    "PostmanRuntime/",
    "^insomnia/",
    "^Ruby$",  # Net::HTTP
    "^Faraday v",
    "GuzzleHttp/",
    r"\(dart:io\)",
    "libcurl/",  # PycURL, PHP and other curl bindings
    "^Deno/",
    "^Bun/",
    "^RestSharp/",
    "^lua-resty-http/",
    # Anchored stand-ins for excluded patterns, see EXCLUDED_PATTERNS.
    "^WhatsApp/",
    "^Viber",
    "^Tumblr/",
    "Butterfly/",
)

# Typical browser strings: pieces of text they contain make poor index keys, since
# their patterns would be tried on every real visitor.
_TYPICAL_BROWSERS: Final = (
    "mozilla/5.0 (windows nt 10.0; win64; x64) applewebkit/537.36 (khtml, like gecko) "
    "chrome/120.0.0.0 safari/537.36 edg/120.0.0.0",
    "mozilla/5.0 (iphone; cpu iphone os 17_2 like mac os x) applewebkit/605.1.15 "
    "(khtml, like gecko) version/17.2 mobile/15e148 safari/604.1",
    "mozilla/5.0 (linux; android 10; k) applewebkit/537.36 (khtml, like gecko) "
    "chrome/120.0.0.0 mobile safari/537.36",
    "mozilla/5.0 (macintosh; intel mac os x 10.15; rv:121.0) gecko/20100101 firefox/121.0",
)

_Rule = tuple[re.Pattern[str], DropReason]


def bot_reason(user_agent: str | None) -> DropReason | None:
    """Why an event with this User-Agent should be dropped, or ``None`` for a browser.

    Cached per string (bounded); an uncached string costs a few tens of µs.
    """
    if user_agent is None:
        return DropReason.NO_USER_AGENT
    user_agent = user_agent.strip()
    if not user_agent:
        return DropReason.NO_USER_AGENT
    return _classify(user_agent[:MAX_USER_AGENT_LENGTH])


@lru_cache(maxsize=16384)
def _classify(user_agent: str) -> DropReason | None:
    reason = _match_rules(user_agent)
    if reason is not None:
        return reason
    device = PARSER(user_agent, ua_parser.Domain.DEVICE).device
    if device is not None and device.family == "Spider":
        return DropReason.BOT
    return None


class _IndexedRules:
    """Pure-Python matcher: patterns filed under a required trigram (see :func:`_build`)."""

    def __init__(self, rules: list[tuple[str, DropReason]]) -> None:
        self.index, self.unindexed = _build(rules)
        self.keys = frozenset(self.index)

    def __call__(self, user_agent: str) -> DropReason | None:
        lowered = user_agent.lower()
        grams = {lowered[i : i + 3] for i in range(len(lowered) - 2)}
        found = None
        for gram in grams & self.keys:
            for regex, reason in self.index[gram]:
                if regex.search(user_agent):
                    if reason is DropReason.AUTOMATION:
                        return reason
                    found = reason
        for regex, reason in self.unindexed:
            if regex.search(user_agent):
                if reason is DropReason.AUTOMATION:
                    return reason
                found = reason
        return found


class _RustRules:
    """All patterns in one Rust regex set (``ua_parser_rs``), which reports the first
    pattern that matches: automation patterns are put first so they win."""

    def __init__(self, rules: list[tuple[str, DropReason]]) -> None:
        import ua_parser_rs

        ordered = sorted(rules, key=lambda rule: rule[1] is not DropReason.AUTOMATION)
        self.reasons = [reason for _, reason in ordered]
        # The extractor's "family" is returned as-is (no "$1" in it): the rule's index.
        self.extractor = ua_parser_rs.UserAgentExtractor(
            (pattern, str(number), None, None, None, None)
            for number, (pattern, _) in enumerate(ordered)
        )

    def __call__(self, user_agent: str) -> DropReason | None:
        match = self.extractor.extract(user_agent)
        return None if match is None else self.reasons[int(match.family)]


def _required_runs(pattern: str) -> list[str] | None:
    """Lower-cased runs of text that every match of ``pattern`` contains.

    Deliberately conservative: anything not understood (groups, classes other than
    ``[xX]``, escapes like ``\\d``, quantified atoms) just ends the current run.
    ``None`` means a top-level ``|``, so no text is required at all.
    """
    runs: list[str] = []
    run: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        atom: str | None = None
        if char == "\\":
            escaped = pattern[i + 1 : i + 2]
            atom = None if escaped.isalnum() else escaped or None
            i += 2
        elif char == "[":
            end = _class_end(pattern, i)
            body = pattern[i + 1 : end]
            if len(body) == 2 and body[0] != body[1] and body[0].lower() == body[1].lower():
                atom = body[0].lower()
            i = end + 1
        elif char == "(":
            i = _group_end(pattern, i) + 1
        elif char == "|":
            return None
        elif char in ".^$":
            i += 1
        else:
            atom = char.lower()
            i += 1
        quantifier = pattern[i : i + 1]
        if quantifier and quantifier in "?*+{":
            i = pattern.index("}", i) + 1 if quantifier == "{" else i + 1
            if pattern[i : i + 1] in ("?", "+"):  # lazy or possessive
                i += 1
            if quantifier == "+" and atom is not None:  # required, but repeated
                run.append(atom)
            atom = None  # ends the run: optional, or not contiguous with what follows
        if atom is None:
            if run:
                runs.append("".join(run))
                run = []
        else:
            run.append(atom)
    if run:
        runs.append("".join(run))
    return runs


def _class_end(pattern: str, start: int) -> int:
    i = start + 1
    if pattern[i : i + 1] == "^":
        i += 1
    if pattern[i : i + 1] == "]":
        i += 1
    while pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i


def _group_end(pattern: str, start: int) -> int:
    depth, i = 0, start
    while True:
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            i = _class_end(pattern, i)
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1


def _trigrams(runs: Iterable[str]) -> set[str]:
    return {run[i : i + 3] for run in runs for i in range(len(run) - 2)}


def _build(
    rules: list[tuple[str, DropReason]],
) -> tuple[dict[str, tuple[_Rule, ...]], tuple[_Rule, ...]]:
    """File each pattern under its rarest required trigram; group each key's patterns
    into one compiled alternation per reason."""
    candidates = [_trigrams(_required_runs(pattern) or ()) for pattern, _ in rules]
    frequency = Counter(gram for grams in candidates for gram in grams)
    in_browsers = _trigrams(_TYPICAL_BROWSERS)
    grouped: defaultdict[tuple[str, DropReason], list[str]] = defaultdict(list)
    for (pattern, reason), grams in zip(rules, candidates, strict=True):
        key = min(grams, key=lambda g: (g in in_browsers, frequency[g], g)) if grams else ""
        grouped[key, reason].append(pattern)
    index: defaultdict[str, list[_Rule]] = defaultdict(list)
    unindexed: list[_Rule] = []
    for (key, reason), patterns in grouped.items():
        regex = re.compile("|".join(f"(?:{p})" for p in patterns))
        (index[key] if key else unindexed).append((regex, reason))
    return {key: tuple(entries) for key, entries in index.items()}, tuple(unindexed)


def _rules() -> list[tuple[str, DropReason]]:
    rules = [(pattern, DropReason.AUTOMATION) for pattern in _OWN_AUTOMATION_PATTERNS]
    for entry in crawleruseragents.CRAWLER_USER_AGENTS_DATA:
        pattern = entry["pattern"]
        if pattern in EXCLUDED_PATTERNS:
            continue
        automation = "browser-automation" in entry.get("tags", ())
        rules.append((pattern, DropReason.AUTOMATION if automation else DropReason.BOT))
    rules.extend((pattern, DropReason.BOT) for pattern in _OWN_BOT_PATTERNS)
    return rules


def _matcher() -> Callable[[str], DropReason | None]:
    rules = _rules()
    try:
        return _RustRules(rules)
    except ImportError:  # pragma: no cover - ua-parser[regex] installs it
        return _IndexedRules(rules)


_match_rules: Final = _matcher()
