"""Where a visit came from (DESIGN.md section 4): the referrer's host (``www.`` stripped),
or ``utm_source`` when present, with ``?ref=`` and ``?source=`` standing in for a missing
``utm_source``; the site's own host is no source; none is "Direct / None"."""

from __future__ import annotations

import asyncio

import pytest

from conftest import BROWSER_UA
from footfall import IngestContext
from footfall.ingest.referrers import parse_referrer, referrer_source, utm_tags


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ref=producthunt", {"utm_source": "producthunt"}),
        ("source=newsletter", {"utm_source": "newsletter"}),
        ("a=1&ref=hn&b=2", {"utm_source": "hn"}),
        # ref wins over source when both stand in.
        ("source=newsletter&ref=producthunt", {"utm_source": "producthunt"}),
        # A real utm_source wins over both.
        ("utm_source=twitter&ref=producthunt&source=x", {"utm_source": "twitter"}),
        # The fallback only fills utm_source; other tags are kept as they are.
        (
            "ref=producthunt&utm_medium=launch&utm_campaign=v1",
            {"utm_medium": "launch", "utm_campaign": "v1", "utm_source": "producthunt"},
        ),
        # An empty ref is no source; nor is an empty query.
        ("ref=", {}),
        ("", {}),
    ],
)
def test_ref_and_source_stand_in_for_utm_source(query: str, expected: dict) -> None:
    assert utm_tags(query) == expected


def test_the_tag_is_the_source_even_with_a_referrer() -> None:
    google = parse_referrer("https://www.google.com/search?q=footfall")
    assert (google.url, google.host) == ("https://www.google.com/search", "google.com")
    assert referrer_source(google, "example.com", None) == "google.com"
    assert referrer_source(google, "example.com", "producthunt") == "producthunt"
    own = parse_referrer("https://www.example.com/pricing")
    assert referrer_source(own, "example.com", None) is None  # not a source
    assert referrer_source(own, "www.example.com", None) is None
    assert referrer_source(parse_referrer(None), "example.com", None) is None


@pytest.mark.parametrize(
    ("url", "referrer", "source", "utm_source"),
    [
        ("/?ref=producthunt", None, "producthunt", "producthunt"),
        ("/pricing?source=newsletter", "https://www.google.com/", "newsletter", "newsletter"),
        ("/?utm_source=twitter&ref=producthunt", None, "twitter", "twitter"),
        ("/", "https://www.google.com/search?q=x", "google.com", None),
        ("/", "https://example.com/blog", None, None),
        ("/", None, None, None),
    ],
)
def test_the_pipeline_stores_the_source(
    make_analytics, sqlite_url, url, referrer, source, utm_source
):
    analytics = make_analytics(sqlite_url)
    event = asyncio.run(
        analytics.ingest(
            {"name": "pageview", "url": "https://example.com" + url, "referrer": referrer},
            headers={"user-agent": BROWSER_UA},
            peer="198.51.100.7",
            context=IngestContext(source="http"),
        )
    )
    assert (event.referrer_source, event.utm_source) == (source, utm_source)


def test_the_top_referrers_list_the_tagged_source(make_analytics, database_url):
    """Three visitors today: ?ref=producthunt, ?source=newsletter with a Google referrer,
    and one from Google untagged. Sources: producthunt 1, newsletter 1, google.com 1."""
    analytics = make_analytics(database_url)

    async def send() -> None:
        for i, (url, referrer) in enumerate(
            [
                ("/?ref=producthunt", None),
                ("/?source=newsletter", "https://www.google.com/"),
                ("/", "https://www.google.com/"),
            ]
        ):
            await analytics.ingest(
                {"name": "pageview", "url": "https://example.com" + url, "referrer": referrer},
                headers={"user-agent": BROWSER_UA},
                peer=f"198.51.{i}.7",
                context=IngestContext(source="http"),
            )

    asyncio.run(send())
    referrers = analytics.api.get_top_referrers_sync(10, "today")
    assert [(r.source, r.visitors, r.visits) for r in referrers] == [
        ("google.com", 1, 1),
        ("newsletter", 1, 1),
        ("producthunt", 1, 1),
    ]  # ties ordered by name


@pytest.mark.parametrize(
    ("referrer", "expected"),
    [
        ("https://lnkd.in/abc", "linkedin.com"),
        ("https://www.linkedin.com/feed/", "linkedin.com"),
        ("android-app://com.linkedin.android/", "linkedin.com"),
        ("https://l.facebook.com/l.php", "facebook.com"),
        ("https://m.facebook.com/", "facebook.com"),
        ("https://t.co/xyz", "x.com"),
        ("https://twitter.com/", "x.com"),
        ("https://old.reddit.com/r/Python/", "reddit.com"),
        ("https://youtu.be/abc", "youtube.com"),
        ("https://www.google.co.uk/", "google.com"),
        ("https://www.google.com.br/", "google.com"),
        ("https://news.google.com/", "news.google.com"),  # Google News is not search
        ("https://github.com/footfall", "github.com"),
        ("https://notlinkedin.com/", "notlinkedin.com"),  # a suffix, not a subdomain
    ],
)
def test_a_site_with_several_hosts_is_one_source(referrer: str, expected: str) -> None:
    assert referrer_source(parse_referrer(referrer), "example.com", None) == expected
