"""Synthetic traffic for ``footfall demo``: a small SaaS site with a blog and docs.

The point is a dashboard that looks like a real one on first run, so the data has the shapes
people know from real sites (weekly and daily rhythm, growth, a Hacker News spike, a long tail
of pages and referrers, bounces, consistent devices and browsers) and keeps the invariants
the pipeline guarantees (per-day visitor ids, 30-minute sessions, referrer only on the first
page view of a visit). Everything comes from one seeded ``random.Random``, so a seed and a
``now`` always give the same rows.
"""

from __future__ import annotations

import math
import random
import zlib
from bisect import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Generic, TypeVar

from sqlalchemy import delete, func, select

from footfall.ingest import referrers
from footfall.ingest.event import PAGEVIEW, Engagement, Event
from footfall.store import Store, rollups
from footfall.store.schema import custom_event, dropped_event, page_view, visit, visit_session

__all__ = ["DemoSummary", "generate_demo"]

T = TypeVar("T")

CHUNK_EVENTS = 5_000
"""Events per transaction: big enough to be fast, small enough to keep memory flat."""

_HOUR = 3600.0
_MAX_GAP = 20 * 60.0
"""Longest pause inside a visit; well under the 30-minute session timeout."""
_SESSION_TIMEOUT = 30 * 60.0
_Utm = tuple[str | None, str | None, str | None]
_NO_UTM: _Utm = (None, None, None)
_RETURN_SHARE = 0.18
"""Share of visits by someone already seen that day (same visitor id, new session)."""


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What was written, for the CLI to report."""

    pageviews: int
    custom_events: int
    visits: int
    visitors: int


class _Dist(Generic[T]):
    """A weighted choice with precomputed cumulative weights (bisect, not ``rng.choices``,
    because it is called a few hundred thousand times)."""

    __slots__ = ("_cum", "_items", "_total")

    def __init__(self, pairs: Sequence[tuple[T, float]]) -> None:
        self._items = [item for item, _ in pairs]
        cum: list[float] = []
        total = 0.0
        for _, weight in pairs:
            total += weight
            cum.append(total)
        cum[-1] = math.inf  # so float rounding can never pick past the end
        self._cum = cum
        self._total = total

    def pick(self, rng: random.Random) -> T:
        return self._items[bisect(self._cum, rng.random() * self._total)]


def _zipf(items: Sequence[T], exponent: float = 1.0) -> _Dist[T]:
    """Rank ``i`` gets weight ``1 / (i + 1) ** exponent``: the long tail of real sites."""
    return _Dist([(item, 1.0 / (rank + 1) ** exponent) for rank, item in enumerate(items)])


# -- the site ---------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


_TOPICS = [
    "privacy-friendly-analytics", "cookie-banners", "gdpr", "server-side-tracking", "sqlite",
    "postgresql", "clickhouse", "bounce-rate", "utm-campaigns", "bot-filtering",
    "ip-anonymisation", "daily-salts", "session-tracking", "core-web-vitals", "seo",
    "open-source", "self-hosting", "pricing-pages", "landing-pages", "conversion-goals",
    "ab-testing", "dashboards", "data-retention", "django", "fastapi", "flask", "starlette",
    "asgi-middleware", "single-page-apps", "ad-blockers", "referrer-spam", "funnels",
    "product-analytics", "google-analytics-4", "web-analytics", "small-saas", "indie-hacking",
    "wal-mode", "batch-writes", "time-zones", "dark-patterns", "consent", "edge-caching",
]  # fmt: skip
_PATTERNS = [
    "how-we-built-{a}", "{a}-without-{b}", "why-{a}-matters", "a-practical-guide-to-{a}",
    "{a}-vs-{b}", "building-{a}-in-python", "what-we-learned-about-{a}", "{a}-for-{b}",
    "the-case-against-{a}", "rethinking-{a}", "{a}-in-2024", "scaling-{a}", "{a}-explained",
    "stop-worrying-about-{a}", "from-{a}-to-{b}",
]  # fmt: skip
_DOCS = {
    "getting-started": "installation quickstart configuration first-dashboard upgrading",
    "integrations": "django flask fastapi starlette litestar quart sanic pyramid bottle falcon "
    "aiohttp wsgi asgi nginx caddy cloudflare",
    "tracking": "pageviews custom-events properties spa-routing outbound-links file-downloads "
    "404-pages server-side-events excluding-pages hash-routing manual-pageviews",
    "dashboard": "overview filters comparisons realtime sharing embedding exports goals funnels",
    "api": "authentication stats top-pages top-referrers events page-stats timeseries "
    "breakdown errors rate-limits python-api badge",
    "storage": "sqlite postgresql clickhouse migrations retention backups purging",
    "privacy": "data-we-collect visitor-ids salts gdpr ccpa pecr cookies ip-addresses dpa",
    "deployment": "docker kubernetes systemd fly-io render heroku railway reverse-proxy "
    "scaling monitoring",
    "reference": "cli config environment tracker-js hooks faq troubleshooting",
}
_FEATURES = _words("dashboard realtime goals funnels api privacy self-hosting exports embedding")
_INTEGRATIONS = _words(
    "django flask fastapi starlette litestar wagtail nextjs hugo jekyll astro wordpress "
    "ghost shopify webflow docusaurus mkdocs sphinx slack zapier segment"
)
_CUSTOMERS = _words("acme-bakery nordlicht-labs pixelforge tinyinvoice quillpad meshwork")
_COMPARE = _words("google-analytics plausible matomo umami fathom goatcounter")
_BLOG_TAGS = _words("privacy engineering product python databases growth release-notes tutorials")
_MARKETING = [
    "/about", "/contact", "/careers", "/careers/backend-engineer", "/careers/designer",
    "/legal/privacy", "/legal/terms", "/legal/dpa", "/security", "/status", "/press",
    "/changelog", "/roadmap", "/community", "/login", "/download", "/enterprise",
]  # fmt: skip
_BROKEN = [
    "/blog/2019/hello-world", "/docs/v1/installation", "/docs/v1/api", "/pricing.html",
    "/team", "/jobs", "/docs/intergrations/django", "/blog/privacy-first-analytics-part-3",
    "/signup/confirm-old", "/features/heatmaps",
]  # fmt: skip
"""Old or mistyped URLs still linked from elsewhere: they fire the "404" event."""


@dataclass(slots=True)
class _Site:
    """The pages and how visitors move between them."""

    all_pages: _Dist[str]
    sections: dict[str, _Dist[str]]
    section_of: dict[str, str]
    hn_post: str
    reddit_post: str
    launch_post: str

    @property
    def page_count(self) -> int:
        return len(self.section_of)


def _build_site() -> _Site:
    """The same site for every seed (its own fixed ``Random``), so only traffic varies."""
    rng = random.Random("footfall-demo-site")
    posts: list[str] = []
    seen: set[str] = set()
    while len(posts) < 130:
        a, b = rng.sample(_TOPICS, 2)
        slug = rng.choice(_PATTERNS).format(a=a, b=b)
        if slug not in seen:
            seen.add(slug)
            posts.append(f"/blog/{slug}")
    launch_post = "/blog/announcing-footfall-1-0"
    hn_post = "/blog/we-removed-every-cookie-from-our-analytics"
    reddit_post = "/blog/self-hosting-analytics-on-a-5-dollar-vps"
    posts[:0] = [hn_post, launch_post, reddit_post]
    blog = ["/blog", *posts]
    blog += [f"/blog/tag/{tag}" for tag in _BLOG_TAGS]
    blog += [f"/blog/page/{n}" for n in range(2, 9)]
    docs = ["/docs"] + [
        f"/docs/{section}/{page}" for section, pages in _DOCS.items() for page in pages.split()
    ]
    features = ["/features"] + [f"/features/{name}" for name in _FEATURES]
    integrations = ["/integrations"] + [f"/integrations/{name}" for name in _INTEGRATIONS]
    customers = ["/customers"] + [f"/customers/{name}" for name in _CUSTOMERS]
    compare = [f"/compare/{name}" for name in _COMPARE]
    changelog = [f"/changelog/1-{minor}" for minor in range(0, 15)]
    grouped = {
        "home": ["/"],
        "pricing": ["/pricing"],
        "signup": ["/signup"],
        "blog": blog,
        "docs": docs,
        "features": features,
        "integrations": integrations,
        "customers": customers,
        "compare": compare,
        "about": [*_MARKETING, *changelog],
        "broken": list(_BROKEN),
    }
    section_of = {path: name for name, paths in grouped.items() for path in paths}

    # Global popularity: the usual head, then everything else in a fixed shuffled order.
    head = ["/", "/pricing", "/docs", "/blog", hn_post, "/docs/getting-started/quickstart"]
    head += ["/features", "/signup", "/docs/getting-started/installation", launch_post]
    tail = [p for p in section_of if p not in head and section_of[p] != "broken"]
    rng.shuffle(tail)
    sections: dict[str, _Dist[str]] = {}
    for name, paths in grouped.items():
        ordered = paths[:1] + rng.sample(paths[1:], len(paths) - 1)
        sections[name] = _zipf(ordered, 0.9)
    return _Site(
        all_pages=_zipf(head + tail, 1.0),
        sections=sections,
        section_of=section_of,
        hn_post=hn_post,
        reddit_post=reddit_post,
        launch_post=launch_post,
    )


_NEXT: dict[str, _Dist[str]] = {
    # From each section, where the next page view goes: a section name, or "*" for any page.
    "home": _Dist([("pricing", 22), ("features", 15), ("blog", 10), ("docs", 12),
                   ("signup", 8), ("about", 5), ("integrations", 5), ("*", 23)]),
    "pricing": _Dist([("signup", 30), ("features", 10), ("docs", 10), ("home", 10),
                      ("compare", 8), ("customers", 5), ("*", 27)]),
    "blog": _Dist([("blog", 35), ("home", 15), ("pricing", 10), ("docs", 5), ("*", 35)]),
    "docs": _Dist([("docs", 60), ("pricing", 5), ("integrations", 5), ("*", 30)]),
    "features": _Dist([("features", 25), ("pricing", 25), ("signup", 10), ("docs", 10),
                       ("*", 30)]),
    "signup": _Dist([("docs", 35), ("home", 15), ("pricing", 15), ("*", 35)]),
    "broken": _Dist([("home", 40), ("blog", 20), ("docs", 20), ("*", 20)]),
}  # fmt: skip
_NEXT_DEFAULT = _Dist([("home", 10), ("pricing", 15), ("docs", 10), ("*", 65)])


# -- visitors ---------------------------------------------------------------------------------

_COUNTRIES = _Dist([
    ("US", 30), ("DE", 9), ("GB", 8), ("IN", 6.5), ("FR", 5), ("CA", 4), ("NL", 3),
    ("BR", 3), ("JP", 2.5), ("AU", 2.5), ("ES", 2), ("IT", 2), ("SE", 1.5), ("PL", 1.5),
    ("CH", 1.2), ("KR", 1), ("MX", 1), ("UA", 1), ("CN", 0.8), ("TR", 0.8), ("ID", 0.8),
    ("SG", 0.8), ("IL", 0.7), ("AT", 0.7), ("BE", 0.7), ("DK", 0.6), ("NO", 0.6),
    ("IE", 0.6), ("FI", 0.5), ("PT", 0.5), ("CZ", 0.5), ("AR", 0.5), ("ZA", 0.5),
    ("RO", 0.4), ("NZ", 0.4), ("NG", 0.4), ("VN", 0.4), ("PH", 0.4), ("GR", 0.3),
    ("HU", 0.3), ("EE", 0.2), (None, 1.0),
])  # fmt: skip

DEMO_PLACES: dict[str, tuple[tuple[str, str], ...]] = {
    "US": (("California", "San Francisco"), ("California", "Los Angeles"),
           ("New York", "New York"), ("Texas", "Austin"), ("Washington", "Seattle"),
           ("Illinois", "Chicago"), ("Massachusetts", "Boston")),
    "DE": (("Berlin", "Berlin"), ("Bavaria", "Munich"), ("Hamburg", "Hamburg"),
           ("North Rhine-Westphalia", "Cologne")),
    "GB": (("England", "London"), ("England", "Manchester"), ("Scotland", "Edinburgh")),
    "IN": (("Karnataka", "Bengaluru"), ("Maharashtra", "Mumbai"), ("Delhi", "New Delhi")),
    "FR": (("Île-de-France", "Paris"), ("Auvergne-Rhône-Alpes", "Lyon")),
    "CA": (("Ontario", "Toronto"), ("British Columbia", "Vancouver"), ("Quebec", "Montreal")),
    "NL": (("North Holland", "Amsterdam"), ("South Holland", "Rotterdam")),
}  # fmt: skip
"""Regions and cities of the demo's visitors, as a city-level database names them (the
other countries have none: as with a database that knows only their country)."""


def _place(visitor_id: int, country: str | None) -> tuple[str | None, str | None]:
    """A visitor's region and city: drawn from its id, so the random draws of the rest of
    the traffic stay what they were."""
    places = DEMO_PLACES.get(country or "")
    return places[visitor_id % len(places)] if places else (None, None)


_Version = _Dist[str | None]


def _versions(*pairs: tuple[str | None, float]) -> _Version:
    return _Dist(pairs)


_BROWSER_VERSIONS: dict[str, _Version] = {
    "Chrome": _versions(("126", 40), ("125", 30), ("124", 15), ("123", 8), ("120", 4),
                        ("109", 3)),
    "Safari": _versions(("17", 65), ("16", 20), ("18", 10), ("15", 5)),
    "Firefox": _versions(("127", 45), ("126", 30), ("115", 15), ("125", 10)),
    "Edge": _versions(("126", 55), ("125", 35), ("124", 10)),
    "Samsung Internet": _versions(("25", 60), ("24", 30), ("23", 10)),
    "Opera": _versions(("111", 50), ("110", 35), ("109", 15)),
}  # fmt: skip
_OS_VERSIONS: dict[str, _Version] = {
    "Windows": _versions(("10", 88), ("7", 2), ("8.1", 1), ("11", 9)),
    "macOS": _versions(("14", 50), ("13", 20), ("15", 12), ("12", 10), ("10", 8)),
    "Linux": _versions((None, 1)),
    "Chrome OS": _versions(("15886", 60), ("15823", 40)),
    "iOS": _versions(("17", 70), ("16", 18), ("18", 8), ("15", 4)),
    "Android": _versions(("14", 40), ("13", 25), ("12", 15), ("10", 10), ("11", 10)),
}  # fmt: skip
_OS_BY_DEVICE: dict[str, _Dist[str]] = {
    "desktop": _Dist([("Windows", 55), ("macOS", 30), ("Linux", 10), ("Chrome OS", 5)]),
    "mobile": _Dist([("iOS", 52), ("Android", 48)]),
    "tablet": _Dist([("iOS", 65), ("Android", 35)]),
}
_BROWSER_BY_OS: dict[str, _Dist[str]] = {
    # Safari only on Apple systems, Samsung Internet only on Android, Edge mostly Windows.
    "Windows": _Dist([("Chrome", 64), ("Edge", 22), ("Firefox", 10), ("Opera", 4)]),
    "macOS": _Dist([("Chrome", 50), ("Safari", 38), ("Firefox", 8), ("Edge", 2), ("Opera", 2)]),
    "Linux": _Dist([("Chrome", 55), ("Firefox", 40), ("Opera", 5)]),
    "Chrome OS": _Dist([("Chrome", 1)]),
    "iOS": _Dist([("Safari", 82), ("Chrome", 15), ("Firefox", 3)]),
    "Android": _Dist([("Chrome", 74), ("Samsung Internet", 18), ("Firefox", 4), ("Opera", 4)]),
}
_DEVICES = _Dist([("desktop", 55.0), ("mobile", 40.0), ("tablet", 5.0)])


class _Visitor:
    """One visitor id of one UTC day, with what its User-Agent and IP said."""

    __slots__ = (
        "browser",
        "browser_version",
        "country",
        "device",
        "id",
        "last_seen",
        "os",
        "os_version",
    )

    def __init__(self, rng: random.Random) -> None:
        self.id = rng.getrandbits(63)
        self.country = _COUNTRIES.pick(rng)
        self.device = _DEVICES.pick(rng)
        self.os = _OS_BY_DEVICE[self.device].pick(rng)
        self.os_version = _OS_VERSIONS[self.os].pick(rng)
        self.browser = _BROWSER_BY_OS[self.os].pick(rng)
        self.browser_version = _BROWSER_VERSIONS[self.browser].pick(rng)
        self.last_seen = -math.inf


# -- where visits come from -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Source:
    """A referrer (or UTM campaign) and the kind of page its visitors land on."""

    referrer: str | None
    source: str | None
    landing: str
    """``"home"``, ``"blog"``, ``"docs"``, ``"pricing"``, ``"*"`` or a fixed path."""
    utm: tuple[str, str, str] | None = None


def _ref(url: str | None, landing: str = "*") -> _Source:
    """A referrer and its source, named as ingestion names it."""
    source = referrers.source_name(referrers.parse_referrer(url).host or "") if url else None
    return _Source(url, source, landing)


def _utm(source: str, medium: str, campaign: str, landing: str, url: str | None) -> _Source:
    """With a utm_source, that is the referrer source (docs/aggregation.md)."""
    return _Source(url, source, landing, (source, medium, campaign))


def _sources(site: _Site) -> _Dist[_Source]:
    return _Dist([
        (_ref(None, "home"), 35),
        (_ref("https://www.google.com/"), 29),
        (_ref("https://duckduckgo.com/"), 3.5),
        (_ref("https://www.bing.com/"), 3),
        (_ref("https://news.ycombinator.com/", "blog"), 2.5),
        (_ref("https://www.reddit.com/r/selfhosted/", "blog"), 1.5),
        (_ref("https://www.reddit.com/r/Python/", "blog"), 1.2),
        (_ref("https://t.co/", "blog"), 2),
        (_ref("https://twitter.com/", "blog"), 0.4),
        (_ref("https://x.com/", "blog"), 0.4),
        (_ref("https://github.com/footfall-dev/footfall", "docs"), 2.5),
        (_ref("https://github.com/awesome-selfhosted/awesome-selfhosted", "home"), 0.8),
        (_ref("https://www.linkedin.com/", "blog"), 1.5),
        (_ref("https://lobste.rs/", "blog"), 0.7),
        (_ref("https://dev.to/", "blog"), 0.6),
        (_ref("https://stackoverflow.com/questions/", "docs"), 0.8),
        (_ref("https://medium.com/", "blog"), 0.4),
        (_ref("https://www.producthunt.com/", "home"), 0.4),
        (_ref("https://search.brave.com/"), 0.6),
        (_ref("https://www.ecosia.org/"), 0.4),
        (_ref("https://kagi.com/"), 0.3),
        (_ref("https://yandex.ru/"), 0.2),
        (_ref("https://www.baidu.com/"), 0.1),
        (_ref("https://l.facebook.com/", "blog"), 0.4),
        (_ref("https://www.youtube.com/", "home"), 0.3),
        (_ref("https://www.indiehackers.com/", "blog"), 0.3),
        (_ref("https://alternativeto.net/", "home"), 0.4),
        (_ref("https://mastodon.social/", "blog"), 0.3),
        (_ref("https://hachyderm.io/", "blog"), 0.2),
        (_ref("https://chatgpt.com/", "docs"), 0.5),
        (_ref("https://www.perplexity.ai/", "docs"), 0.2),
        (_ref("https://news.google.com/", "blog"), 0.1),
        (_ref("https://pypi.org/project/footfall/", "docs"), 0.6),
        (_ref("https://www.djangoproject.com/", "docs"), 0.2),
        (_utm("newsletter", "email", "monthly-update", "blog", None), 1.8),
        (_utm("newsletter", "email", "black-friday", "/pricing", None), 0.6),
        (_utm("twitter", "social", "launch-week", site.launch_post, "https://t.co/"), 0.5),
        (_utm("google", "cpc", "brand-search", "home", "https://www.google.com/"), 0.8),
        (_utm("producthunt", "referral", "launch", "home", "https://www.producthunt.com/"), 0.3),
        (_utm("linkedin", "paid-social", "q2-webinar", "/pricing", "https://www.linkedin.com/"),
         0.3),
    ])  # fmt: skip


_LANDING: dict[str, _Dist[str]] = {
    # For a source's landing kind, which section the first page is drawn from.
    "home": _Dist([("home", 55), ("pricing", 10), ("*", 35)]),
    "blog": _Dist([("blog", 80), ("home", 10), ("*", 10)]),
    "docs": _Dist([("docs", 70), ("home", 15), ("*", 15)]),
    "*": _Dist([("*", 85), ("blog", 8), ("docs", 7)]),
}
_BOUNCE_BY_SECTION = {"blog": 0.62, "docs": 0.45, "home": 0.38, "pricing": 0.4, "broken": 0.55}
DEMO_GOALS = ("event:Signup", "event:Signup;plan=pro", "event:Download", "page:/pricing")
"""The goals ``footfall demo`` serves with unless given its own (``--goal``)."""
DEMO_FUNNELS = ("Signup: page:/ > page:/pricing > page:/signup > event:Signup",)
"""The funnel ``footfall demo`` serves with unless given its own (``--funnel``)."""
_REPORTED = 0.8
"""The share of page views whose tracker reports engagement (the rest: a browser that
never hid the page before the data ends, a server-counted page without the script)."""
_SCROLLED = {"blog": 0.75, "docs": 0.6, "broken": 0.2}
"""The mean share of a page read to the end, by section (others: half)."""
_BOUNCE_DEFAULT = 0.5
_CONTINUE = 0.68
"""After the second page view, the chance of one more: geometric, mean ~2 extra pages."""


# -- custom events ----------------------------------------------------------------------------

_PLANS = _Dist([("free", 70), ("pro", 22), ("team", 8)])
_FILES = _Dist([
    ("footfall-1.4.2-py3-none-any.whl", 40), ("footfall-1.4.2.tar.gz", 15),
    ("footfall-tracker.min.js", 20), ("privacy-whitepaper.pdf", 15), ("footfall-dpa.pdf", 10),
])  # fmt: skip
_OUTBOUND = _zipf([
    "https://github.com/footfall-dev/footfall", "https://pypi.org/project/footfall/",
    "https://www.sqlite.org/wal.html", "https://gdpr.eu/cookies/",
    "https://docs.djangoproject.com/en/5.0/topics/http/middleware/",
    "https://www.starlette.io/middleware/", "https://discord.gg/footfall",
    "https://plausible.io/", "https://clickhouse.com/docs", "https://noyb.eu/en",
])  # fmt: skip
_NEWSLETTER = _Dist([("footer", 60), ("popup", 40)])


# -- traffic over time ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Spike:
    """A post that hit a front page: extra visits from one referrer, decaying by the hour."""

    start_slot: int
    peak: float
    """Extra traffic in the first hour, as a multiple of an average hour."""
    half_life: float
    """Hours."""
    source: _Source


def _spikes(rng: random.Random, site: _Site, start: datetime, days: int) -> list[_Spike]:
    """A Hacker News day for runs of 3+ days, and a smaller Reddit one for 14+ days."""

    def slot(day: int, utc_hour: int) -> int:
        """The hour of the period that is ``utc_hour`` o'clock on its ``day``-th day."""
        return day * 24 + (utc_hour - start.hour) % 24

    spikes: list[_Spike] = []
    if days >= 3:
        day = rng.randint(days // 3, days - 2)
        hn = _Source("https://news.ycombinator.com/", "news.ycombinator.com", site.hn_post)
        spikes.append(_Spike(slot(day, rng.randint(8, 12)), 8.0, 4.0, hn))
    if days >= 14:
        day = rng.randint(1, days - 2)
        while spikes and abs(day * 24 - spikes[0].start_slot) < 72:
            day = rng.randint(1, days - 2)
        reddit = _Source("https://www.reddit.com/r/selfhosted/", "reddit.com", site.reddit_post)
        spikes.append(_Spike(slot(day, rng.randint(13, 17)), 3.0, 3.0, reddit))
    return spikes


def _hour_weight(moment: datetime) -> float:
    """Daily rhythm in UTC: a European morning bump, the peak when Europe's afternoon meets
    America's morning (~15:00 UTC), America's evening, then a quiet night."""
    hour = moment.hour + moment.minute / 60

    def bump(centre: float, width: float) -> float:
        distance = min(abs(hour - centre), 24 - abs(hour - centre))
        return math.exp(-((distance / width) ** 2))

    return 0.18 + 0.35 * bump(9, 2.5) + 1.0 * bump(15.5, 4.0) + 0.45 * bump(21, 3.5)


_WEEKDAY = (1.0, 1.05, 1.05, 1.0, 0.9, 0.6, 0.65)


def _slot_weights(
    rng: random.Random, start: datetime, days: int, spikes: list[_Spike]
) -> tuple[list[float], list[float]]:
    """Per hour of the period: the organic weight and the spike weight on top of it."""
    slots = days * 24
    day_noise = [rng.lognormvariate(0, 0.12) for _ in range(days)]
    rhythm = [_hour_weight(start + timedelta(hours=k + 0.5)) for k in range(slots)]
    organic: list[float] = []
    for k in range(slots):
        middle = start + timedelta(hours=k + 0.5)
        growth = 0.85 + 0.3 * (k + 0.5) / slots
        weight = _WEEKDAY[middle.weekday()] * rhythm[k] * growth
        organic.append(weight * day_noise[k // 24] * rng.lognormvariate(0, 0.15))
    mean = sum(organic) / slots
    mean_rhythm = sum(rhythm) / slots
    extra = [0.0] * slots
    for spike in spikes:
        # Readers of a front page keep their own hours too, so the decay follows the rhythm.
        for k in range(spike.start_slot, min(slots, spike.start_slot + 48)):
            decay = 0.5 ** ((k - spike.start_slot) / spike.half_life)
            extra[k] += spike.peak * mean * decay * (0.3 + 0.7 * rhythm[k] / mean_rhythm)
    return organic, extra


# -- the generator ----------------------------------------------------------------------------


class _Generator:
    """Turns hours of traffic into visits, and visits into events, chunk by chunk."""

    def __init__(
        self,
        rng: random.Random,
        store: Store,
        *,
        start: datetime,
        end_offset: float,
        hostname: str,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.rng = rng
        self.store = store
        self.start = start
        self.end_offset = end_offset
        self.hostname = hostname
        self.origin = f"https://{hostname}"
        self.progress = progress
        self.site = _build_site()
        self.sources = _sources(self.site)
        self.buffer: list[Event | Engagement] = []
        self.buffer_pageviews = 0
        self.visitors_today: list[_Visitor] = []
        self.today: date | None = None
        self.pageviews = 0
        self.custom_events = 0
        self.visits = 0
        self.visitors = 0

    # -- output

    def flush(self) -> None:
        if not self.buffer:
            return
        self.store.writer.write_now(self.buffer)
        if self.progress is not None:
            self.progress(self.buffer_pageviews)
        self.buffer = []
        self.buffer_pageviews = 0

    def emit(self, event: Event | Engagement) -> None:
        self.buffer.append(event)
        if isinstance(event, Engagement):
            return
        if event.name == PAGEVIEW:
            self.buffer_pageviews += 1
            self.pageviews += 1
        else:
            self.custom_events += 1

    # -- visits

    def visitor_for(self, offset: float) -> _Visitor:
        """Someone seen earlier today (if their last visit is over), else a new visitor id:
        ids are per UTC day, as the daily salt makes them."""
        day = (self.start + timedelta(seconds=offset)).date()
        if day != self.today:
            self.today = day
            self.visitors_today = []
        rng = self.rng
        if self.visitors_today and rng.random() < _RETURN_SHARE:
            visitor = rng.choice(self.visitors_today)
            if visitor.last_seen + _SESSION_TIMEOUT + 60 < offset:
                return visitor
        visitor = _Visitor(rng)
        self.visitors_today.append(visitor)
        self.visitors += 1
        return visitor

    def page_in(self, section: str) -> str:
        if section == "*":
            return self.site.all_pages.pick(self.rng)
        if section.startswith("/"):
            return section
        return self.site.sections[section].pick(self.rng)

    def visit(self, offset: float, source: _Source, bounce: float | None = None) -> int:
        """Write one visit starting ``offset`` seconds into the period; returns its page views."""
        rng = self.rng
        site = self.site
        landing_kind = source.landing
        if landing_kind.startswith("/"):
            path = landing_kind
        elif rng.random() < 0.006:
            path = site.sections["broken"].pick(rng)
        else:
            path = self.page_in(_LANDING[landing_kind].pick(rng))
        section = site.section_of[path]
        if bounce is None:
            bounce = _BOUNCE_BY_SECTION.get(section, _BOUNCE_DEFAULT)
        length = 1
        if rng.random() >= bounce:
            length = 2
            while rng.random() < _CONTINUE and length < 30:
                length += 1

        visitor = self.visitor_for(offset)
        session_id = rng.getrandbits(63)
        utm: _Utm = source.utm or _NO_UTM
        referrer, referrer_source = source.referrer, source.source
        t = offset
        written = 0
        for index in range(length):
            if t >= self.end_offset:
                break
            tags = utm if index == 0 else _NO_UTM
            source = (referrer, referrer_source)
            view = self.event(PAGEVIEW, t, path, visitor, session_id, *source, tags)
            view.properties = _page_properties(path)
            self.emit(view)
            written += 1
            gap = min(max(rng.lognormvariate(3.9, 1.0), 2.0), _MAX_GAP)
            self.custom_events_on(path, section, t, gap, visitor, session_id)
            self.engagement_on(path, section, t, gap, visitor, session_id)
            visitor.last_seen = t
            referrer, referrer_source = self.origin + path, None
            t += gap
            nxt = _NEXT.get(section, _NEXT_DEFAULT).pick(rng)
            new_path = self.page_in(nxt)
            if new_path == path:
                new_path = self.page_in(nxt)
            path = new_path
            section = site.section_of[path]
        if written:
            self.visits += 1
            if len(self.buffer) >= CHUNK_EVENTS:
                self.flush()
        return written

    def custom_events_on(
        self,
        path: str,
        section: str,
        t: float,
        gap: float,
        visitor: _Visitor,
        session_id: int,
    ) -> None:
        """What visitors do on a page, between arriving and the next page view."""
        rng = self.rng
        fired: list[tuple[str, dict[str, str | int | float | bool | None], bool]] = []
        if path == "/signup":
            if rng.random() < 0.35:
                fired.append(("Signup", {"plan": _PLANS.pick(rng)}, True))
        elif path == "/download" or path == "/docs/privacy/dpa":
            if rng.random() < 0.55:
                file = "footfall-dpa.pdf" if path != "/download" else _FILES.pick(rng)
                fired.append(("Download", {"file": file}, True))
        elif section == "broken":
            fired.append(("404", {"path": path}, True))
        elif section in ("blog", "docs"):
            if rng.random() < 0.04:
                fired.append(("Outbound Link: Click", {"url": _OUTBOUND.pick(rng)}, True))
            if section == "blog" and rng.random() < 0.02:
                fired.append(("Newsletter", {"source": _NEWSLETTER.pick(rng)}, True))
        elif (path == "/" or section == "features") and rng.random() < 0.06:
            for percent in (25, 50, 75):
                fired.append(("Video Progress", {"percent": percent}, False))
                if rng.random() < 0.45:
                    break
        if not fired:
            return
        # Spread the events over the time on the page, in order, before the next view.
        step = gap / (len(fired) + 1)
        for i, (name, properties, interactive) in enumerate(fired, start=1):
            at = t + step * i * rng.uniform(0.6, 1.0)
            if at >= self.end_offset:
                break
            event = self.event(name, at, path, visitor, session_id, None, None, _NO_UTM)
            event.properties = properties
            event.interactive = interactive
            self.emit(event)
            visitor.last_seen = max(visitor.last_seen, at)

    def engagement_on(
        self, path: str, section: str, t: float, gap: float, visitor: _Visitor, session_id: int
    ) -> None:
        """What the page's tracker reports as the visitor leaves it: most of the time on
        the page was engaged, and how far down it was read depends on the section."""
        rng = self.rng
        if rng.random() >= _REPORTED or t + gap >= self.end_offset:
            return
        engaged = gap * rng.uniform(0.45, 0.95)
        depth = min(100, max(10, round(rng.gauss(_SCROLLED.get(section, 0.5), 0.25) * 100)))
        self.emit(
            Engagement(
                self.start + timedelta(seconds=t + gap),
                self.hostname,
                path,
                round(engaged * 1000),
                depth,
                visitor.id,
                session_id,
            )
        )

    def event(
        self,
        name: str,
        offset: float,
        path: str,
        visitor: _Visitor,
        session_id: int,
        referrer: str | None,
        referrer_source: str | None,
        utm: _Utm,
    ) -> Event:
        region, city = _place(visitor.id, visitor.country)
        return Event(
            name=name,
            timestamp=self.start + timedelta(seconds=offset),
            hostname=self.hostname,
            path=path,
            referrer=referrer,
            referrer_source=referrer_source,
            utm_source=utm[0],
            utm_medium=utm[1],
            utm_campaign=utm[2],
            country=visitor.country,
            region=region,
            city=city,
            device=visitor.device,
            browser=visitor.browser,
            browser_version=visitor.browser_version,
            os=visitor.os,
            os_version=visitor.os_version,
            visitor_id=visitor.id,
            session_id=session_id,
        )


_AUTHORS = ("Ana Lima", "Ben Okafor", "Chloé Martin", "Dev Patel")
"""Who wrote each blog post: a page view property, as a blog's template would send it."""


def _page_properties(path: str) -> dict[str, str | int | float | bool | None]:
    """A blog post's author (the same for every view of it; no random draw, so the rest
    of the traffic is what it was without)."""
    if not path.startswith("/blog/") or path.startswith(("/blog/tag/", "/blog/page/")):
        return {}
    return {"author": _AUTHORS[zlib.crc32(path.encode()) % len(_AUTHORS)]}


def generate_demo(
    store: Store,
    *,
    pageviews: int = 100_000,
    days: int = 30,
    seed: int = 1,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    hostname: str = "demo.footfall.dev",
) -> DemoSummary:
    """Fill ``store`` with ``days`` days of synthetic traffic ending at ``now``.

    About ``pageviews`` page views (the exact count is returned), written in transactions of
    ~5,000 events; ``progress`` gets each transaction's page-view count. Same ``seed`` and
    ``now``, same rows.
    """
    if pageviews < 0:
        raise ValueError("pageviews must not be negative")
    if days < 1:
        raise ValueError("days must be at least 1")
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    start = now - timedelta(days=days)
    rng = random.Random(seed)
    generator = _Generator(
        rng,
        store,
        start=start,
        end_offset=days * 86_400.0 - 0.001,
        hostname=hostname,
        progress=progress,
    )
    spikes = _spikes(rng, generator.site, start, days)
    organic, extra = _slot_weights(rng, start, days, spikes)
    total = sum(organic) + sum(extra)
    target = 0.0
    produced = 0
    for k, (weight, spike_weight) in enumerate(zip(organic, extra, strict=True)):
        # Each hour gets its share of page views; a shortfall or overshoot carries over.
        target += pageviews * (weight + spike_weight) / total
        spike_share = spike_weight / (weight + spike_weight)
        active = [s for s in spikes if s.start_slot <= k < s.start_slot + 48]
        while produced < target - 0.5:
            # Strictly inside the period, so every visit has at least one page view.
            offset = min(max((k + rng.random()) * _HOUR, 0.001), generator.end_offset - 1.0)
            if spike_share and rng.random() < spike_share:
                spike = active[0] if len(active) == 1 else rng.choice(active)
                produced += generator.visit(offset, spike.source, bounce=0.72)
            else:
                produced += generator.visit(offset, generator.sources.pick(rng))
    generator.flush()
    return DemoSummary(
        pageviews=generator.pageviews,
        custom_events=generator.custom_events,
        visits=generator.visits,
        visitors=generator.visitors,
    )


def count_pageviews(store: Store) -> int:
    """How many page views the database holds already."""
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(page_view)).scalar_one())


def clear_events(store: Store) -> None:
    """Delete every event, visit and rollup (for ``footfall demo --reset``)."""
    with store.engine.begin() as conn:
        for table in (page_view, custom_event, visit, visit_session, dropped_event):
            conn.execute(delete(table))
    rollups.rebuild(store.engine)
