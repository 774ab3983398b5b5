"""Channels: the sources of visits grouped the way marketers read them.

One rule set, applied in order to a visit's source (its UTM source, or else its referrer's
host) and UTM medium and campaign, both lower-cased; the first rule that matches names the
channel. It follows the common default channel grouping of analytics tools:

=================  ==============================================================
Direct             no source and no medium
Paid Search        a search engine, with a paid medium (``cpc``, ``ppc``, ``paid...``)
Paid Social        a social network, with a paid medium
Paid Video         a video site, with a paid medium
Display            medium ``display``, ``banner``, ``cpm``, ``interstitial``
Paid Other         any other paid medium
Organic Social     a social network, or medium ``social``, ``social-media``, ``sm``
Organic Video      a video site, or a medium with ``video``
Organic Search     a search engine, or medium ``organic``
Email              source or medium ``email``, ``e-mail``, ``e_mail``, ``newsletter``
Affiliates         medium ``affiliate``
Audio              medium ``audio``
SMS                source or medium ``sms``
Referral           any other source (or medium ``referral``)
=================  ==============================================================

A search engine, social network or video site is recognised by its name as a whole host
label (``google`` matches ``google.com``, ``google.co.uk``, ``news.google.com`` and a UTM
source ``google``) or by one of a few exact hosts (``t.co``, ``lnkd.in``, ``youtu.be``).
The same rules are a SQL expression (``channel_sql``, what the reports group by) and a
Python function (``channel_of``, their reference in the tests).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import and_, case, func, literal, or_

SEARCH = (
    "google", "bing", "duckduckgo", "yahoo", "yandex", "baidu", "ecosia", "qwant",
    "startpage", "naver", "seznam", "sogou", "kagi", "search.brave.com",
)  # fmt: skip
SOCIAL = (
    "facebook", "instagram", "linkedin", "lnkd.in", "twitter", "t.co", "x.com", "reddit",
    "pinterest", "tiktok", "mastodon.social", "threads.net", "bsky.app", "tumblr", "vk.com",
    "weibo", "quora", "news.ycombinator.com", "t.me", "discord", "snapchat",
)  # fmt: skip
VIDEO = ("youtube", "youtu.be", "vimeo", "twitch", "dailymotion")
PAID = re.compile(r"^(.*cp.*|ppc|retargeting|paid.*)$")
DISPLAY = ("display", "banner", "expandable", "interstitial", "cpm")
SOCIAL_MEDIA = ("social", "social-network", "social-media", "sm", "social network", "social media")
EMAIL = ("email", "e-mail", "e_mail", "e mail", "newsletter")
CHANNELS = (
    "Direct", "Paid Search", "Paid Social", "Paid Video", "Display", "Paid Other",
    "Organic Social", "Organic Video", "Organic Search", "Email", "Affiliates", "Audio",
    "SMS", "Referral",
)  # fmt: skip


# -- Python: the reference ----------------------------------------------------------------


def _is(source: str, names: tuple[str, ...]) -> bool:
    """``source`` is one of the sites ``names``: a name as a whole label, or a host."""
    labels = source.split(".")
    return any(source == n or (("." not in n) and n in labels) for n in names)


def channel_of(source: str | None, medium: str | None, campaign: str | None = None) -> str:
    """The channel of a visit (see the module's table)."""
    s, m = (source or "").lower(), (medium or "").lower()
    paid = bool(PAID.match(m)) and bool(m)
    rules: list[tuple[bool, str]] = [
        (not s and not m, "Direct"),
        (paid and _is(s, SEARCH), "Paid Search"),
        (paid and _is(s, SOCIAL), "Paid Social"),
        (paid and _is(s, VIDEO), "Paid Video"),
        (m in DISPLAY, "Display"),
        (paid, "Paid Other"),
        (_is(s, SOCIAL) or m in SOCIAL_MEDIA, "Organic Social"),
        (_is(s, VIDEO) or "video" in m, "Organic Video"),
        (_is(s, SEARCH) or m == "organic", "Organic Search"),
        (s in EMAIL or m in EMAIL, "Email"),
        (m == "affiliate", "Affiliates"),
        (m == "audio", "Audio"),
        (s == "sms" or m == "sms", "SMS"),
    ]
    return next((name for matched, name in rules if matched), "Referral")


# -- SQL: what the reports group by ---------------------------------------------------------


def channel_sql(source: Any, medium: Any) -> Any:
    """``channel_of`` as a SQL expression of a visit's ``source`` and ``utm_medium``."""
    s, m = func.lower(func.coalesce(source, "")), func.lower(func.coalesce(medium, ""))
    paid = and_(m != "", _paid_sql(m))

    def site(names: tuple[str, ...]) -> Any:
        terms: list[Any] = []
        for n in names:
            terms.append(s == n)
            if "." not in n:  # a whole label: n.x, x.n.y or x.n
                terms += [s.like(f"{n}.%"), s.like(f"%.{n}.%"), s.like(f"%.{n}")]
        return or_(*terms)

    rules: list[tuple[Any, str]] = [
        (and_(s == "", m == ""), "Direct"),
        (and_(paid, site(SEARCH)), "Paid Search"),
        (and_(paid, site(SOCIAL)), "Paid Social"),
        (and_(paid, site(VIDEO)), "Paid Video"),
        (m.in_(DISPLAY), "Display"),
        (paid, "Paid Other"),
        (or_(site(SOCIAL), m.in_(SOCIAL_MEDIA)), "Organic Social"),
        (or_(site(VIDEO), m.like("%video%")), "Organic Video"),
        (or_(site(SEARCH), m == "organic"), "Organic Search"),
        (or_(s.in_(EMAIL), m.in_(EMAIL)), "Email"),
        (m == "affiliate", "Affiliates"),
        (m == "audio", "Audio"),
        (or_(s == "sms", m == "sms"), "SMS"),
    ]
    return case(*((condition, literal(name)) for condition, name in rules), else_="Referral")


def _paid_sql(m: Any) -> Any:
    """``PAID`` in SQL: ``cp`` anywhere, ``ppc``, ``retargeting``, or ``paid`` first."""
    return or_(m.like("%cp%"), m == "ppc", m == "retargeting", m.like("paid%"))
