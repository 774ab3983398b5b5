"""Channels: the documented rule set, the same in Python and in SQL (on SQLite and
PostgreSQL), and the channel and UTM reports, with numbers worked out by hand."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from conftest import BROWSER_UA, ManualClock
from footfall import Filter, IngestContext
from footfall.query.channels import CHANNELS, channel_of, channel_sql

# (source, UTM medium, channel): the source is the UTM source, or else the referrer's host.
CASES = [
    (None, None, "Direct"),
    ("google.com", None, "Organic Search"),
    ("google.co.uk", None, "Organic Search"),
    ("news.google.com", None, "Organic Search"),
    ("google", "cpc", "Paid Search"),
    ("bing", "paid-search", "Paid Search"),
    ("search.brave.com", None, "Organic Search"),
    ("facebook", "cpc", "Paid Social"),
    ("l.facebook.com", None, "Organic Social"),
    ("lnkd.in", None, "Organic Social"),
    ("linkedin.com", None, "Organic Social"),
    ("t.co", None, "Organic Social"),
    ("news.ycombinator.com", None, "Organic Social"),
    ("mastodon", "social", "Organic Social"),
    ("youtube.com", "ppc", "Paid Video"),
    ("youtu.be", None, "Organic Video"),
    ("partner", "banner", "Display"),
    ("partner", "cpm", "Display"),  # display before paid: cpm has "cp"
    ("partner", "paid", "Paid Other"),
    ("newsletter", "email", "Email"),
    ("email", None, "Email"),
    ("partner", "affiliate", "Affiliates"),
    ("podcast", "audio", "Audio"),
    ("sms", None, "SMS"),
    ("example.org", None, "Referral"),
    ("googleblog.example", None, "Referral"),  # "google" is a whole label, not a prefix
    ("notgoogle.com", None, "Referral"),
    (None, "referral", "Referral"),
    ("GOOGLE.COM", "CPC", "Paid Search"),  # case does not matter
]


@pytest.mark.parametrize(("source", "medium", "channel"), CASES)
def test_the_rules_in_python(source, medium, channel):
    assert channel_of(source, medium) == channel
    assert channel in CHANNELS


def test_the_rules_in_sql_give_the_same(database_url):
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            for source, medium, channel in CASES:
                expression = channel_sql(
                    sa.literal(source, sa.String), sa.literal(medium, sa.String)
                )
                assert conn.execute(sa.select(expression)).scalar_one() == channel, (source, medium)
    finally:
        engine.dispose()


SITE = "https://example.com"
# (network, page URL, referrer): one visit each, on 2026-11-18 in UTC.
VISITS = [
    ("203.0.1.9", "/", "https://www.google.com/search?q=x"),  # Organic Search
    ("203.0.2.9", "/?utm_source=google&utm_medium=cpc&utm_campaign=winter", None),  # Paid
    ("203.0.3.9", "/?utm_source=newsletter&utm_medium=email&utm_campaign=winter", None),
    ("203.0.4.9", "/pricing", "https://lnkd.in/abc"),  # Organic Social
    ("203.0.5.9", "/", None),  # Direct
    ("203.0.6.9", "/", "https://news.example.org/story"),  # Referral
]


@pytest.fixture
def site(make_analytics, database_url):
    clock = ManualClock(datetime(2026, 11, 18, 9, tzinfo=UTC))
    analytics = make_analytics(database_url, clock=clock)

    async def send() -> None:
        for network, url, referrer in VISITS:
            await analytics.ingest(
                {"url": SITE + url, "referrer": referrer},
                headers={"user-agent": BROWSER_UA},
                peer=network,
                context=IngestContext(source="http"),
            )

    asyncio.run(send())
    clock.now = datetime(2026, 11, 18, 18, tzinfo=UTC)
    return analytics


def rows(breakdown) -> list[tuple[str, int, int]]:  # type: ignore[no-untyped-def]
    return [(row.value, row.visitors, row.visits) for row in breakdown]


def test_channels_and_utm_tags_of_the_visits(site):
    api = site.api
    # Six visits, six channels: one visitor each, ties in name order.
    assert rows(api.get_channels_sync(10, "today")) == [
        ("Direct", 1, 1),
        ("Email", 1, 1),
        ("Organic Search", 1, 1),
        ("Organic Social", 1, 1),
        ("Paid Search", 1, 1),
        ("Referral", 1, 1),
    ]
    assert rows(api.get_utm_sync("utm_campaign", 10, "today")) == [("winter", 2, 2)]
    assert rows(api.get_utm_sync("utm_medium", 10, "today")) == [("cpc", 1, 1), ("email", 1, 1)]
    assert rows(api.get_utm_sync("utm_term", 10, "today")) == []  # nobody tagged one
    # Filtered: the visits from google.com (its source), and those to /pricing.
    assert rows(api.get_channels_sync(10, "today", source="google.com")) == [
        ("Organic Search", 1, 1)
    ]
    assert rows(api.get_channels_sync(10, "today", page="/pricing")) == [("Organic Social", 1, 1)]


def test_channel_and_utm_filters_select_the_visits(site):
    """Each visit has one page view: channel=Paid Search|Email selects the visits of
    203.0.2.9 and 203.0.3.9 (2 visitors, 2 page views); utm_campaign=winter the same two;
    utm_medium!=cpc the four others and the email one (5); utm_source~=news the email
    visit only (1). The top pages and sources follow."""
    api = site.api
    for filters, visitors, sources in (
        ({"channel": ["Paid Search", "Email"]}, 2, ["google", "newsletter"]),
        ({"utm_campaign": "winter"}, 2, ["google", "newsletter"]),
        ({"utm_medium": Filter.is_not("cpc")}, 5, None),
        ({"utm_source": Filter.contains("news")}, 1, ["newsletter"]),
        ({"channel": "Organic Social", "page": "/pricing"}, 1, ["linkedin.com"]),
    ):
        stats = api.get_dashboard_stats_sync("today", **filters)
        assert (stats.visitors.value, stats.pageviews.value) == (visitors, visitors), filters
        assert sum(p.pageviews for p in api.get_top_pages_sync(10, "today", **filters)) == visitors
        if sources is not None:
            found = [r.source for r in api.get_top_referrers_sync(10, "today", **filters)]
            assert sorted(found) == sources, filters
    # The lists of channels and tags honour them too.
    assert rows(api.get_channels_sync(10, "today", utm_campaign="winter")) == [
        ("Email", 1, 1),
        ("Paid Search", 1, 1),
    ]


def test_an_unknown_utm_tag_is_refused(site):
    with pytest.raises(ValueError, match="tag"):
        site.api.get_utm_sync("utm_everything", 10, "today")
