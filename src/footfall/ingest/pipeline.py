"""The ingestion pipeline: every event, from the browser, the middleware or ``track()``,
takes this one path. Reading ``STEPS`` tells the whole story; each step is a small function
that enriches the draft or raises :class:`Dropped` with a reason. An engagement (what a
tracker reports when a page is hidden or left) takes ``ENGAGEMENT_STEPS`` instead.
"""

from __future__ import annotations

import fnmatch
import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from footfall.config import Config, IngestHook
from footfall.geoip import country_database_path
from footfall.ingest import bots, client_ip, referrers
from footfall.ingest.event import DropEvent, Dropped, DropReason, Engagement, Event
from footfall.ingest.geo import CountryLookup
from footfall.ingest.identity import Salts, visitor_id
from footfall.ingest.ratelimit import RateLimiter, SharedRateLimiter
from footfall.ingest.sessions import SessionTracker
from footfall.ingest.user_agent import parse_user_agent
from footfall.ingest.validate import (
    InvalidEvent,
    Submission,
    check_properties,
    is_host,
    validate,
)
from footfall.store import Store

log = logging.getLogger(__name__)


@dataclass(slots=True)
class IngestContext:
    """Where an event came from, for the hooks."""

    source: str
    """``"http"`` for the ingestion endpoint, ``"python"`` for ``track()``, ``"middleware"``
    for the page views the server middleware records."""
    request: Any | None = None
    """The framework's request object, when there is one: use it to decide (say, to drop
    your own staff's visits), but never store from it, since it carries the visitor's full
    IP address and User-Agent."""


@dataclass(slots=True)
class Draft:
    """An event on its way through the pipeline; lives only as long as the request."""

    payload: dict[str, Any]
    headers: Mapping[str, str]
    peer: str | None
    context: IngestContext
    trusted: bool = False
    """Sent by the application's own Python code: no bot filter, no rate limit."""
    submission: Submission | None = None
    user_agent: str = ""
    truncated_ip: str = ""
    via_trusted_proxy: bool = False
    event: Event = field(default=None)  # type: ignore[assignment]
    engagement: Engagement | None = None


class Pipeline:
    """The configured collaborators the steps use, and the runner."""

    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store
        self.clock = config.clock
        self.trusted_proxies = client_ip.parse_trusted_proxies(config.trusted_proxies)
        database, required = country_database_path(config)
        self.countries = CountryLookup(
            header=config.country_header,
            database=database,
            optional=not required,
            seconds=lambda: config.clock().timestamp(),
        )
        self.salts = Salts(store.salts)
        self.sessions = SessionTracker(store.find_visits)
        self.rate_limiter: RateLimiter | SharedRateLimiter | None = None
        if config.rate_limit_per_minute and config.rate_limit_file:
            self.rate_limiter = SharedRateLimiter(
                config.rate_limit_per_minute, config.rate_limit_file
            )
        elif config.rate_limit_per_minute:
            self.rate_limiter = RateLimiter(config.rate_limit_per_minute)
        self.hostnames = _host_matcher(config.hostnames)
        self.excluded = _path_matcher(config.exclude_paths)

    async def run(self, draft: Draft) -> Event | Engagement:
        """Run every step; raises ``InvalidEvent`` (400) or ``Dropped`` (filtered).
        Returns the stored event, or the engagement added to its page view."""
        validate_payload(self, draft)
        steps = ENGAGEMENT_STEPS if draft.engagement is not None else STEPS
        try:
            for step in steps[1:]:
                result = step(self, draft)
                if result is not None:
                    await result
        except Dropped as dropped:
            self.store.writer.count_dropped(self.clock().date(), dropped.reason.value)
            raise
        return draft.engagement or draft.event

    def close(self) -> None:
        self.countries.close()
        if isinstance(self.rate_limiter, SharedRateLimiter):
            self.rate_limiter.close()


Step = Callable[[Pipeline, Draft], Awaitable[None] | None]


# -- the steps, in order ---------------------------------------------------------------------


def validate_payload(p: Pipeline, d: Draft) -> None:
    s = d.submission = validate(d.payload)
    d.user_agent = d.headers.get("user-agent", "")
    d.event = Event(
        name=s.name,
        timestamp=p.clock(),
        hostname=(s.hostname or _request_host(d.headers)).lower(),
        path=s.path,
        properties=s.props,
        interactive=s.interactive,
    )
    if s.engagement is not None:
        e = d.event
        d.engagement = Engagement(e.timestamp, e.hostname, e.path, *s.engagement)


def filter_bots(p: Pipeline, d: Draft) -> None:
    if d.trusted:
        return
    reason = bots.bot_reason(d.user_agent)
    if reason is not None:
        raise Dropped(reason)


def filter_hosts_and_paths(p: Pipeline, d: Draft) -> None:
    if p.hostnames is not None and not p.hostnames(d.event.hostname):
        raise Dropped(DropReason.HOSTNAME)
    if p.excluded is not None and p.excluded(d.event.path):
        raise Dropped(DropReason.EXCLUDED_PATH)


def anonymise_ip(p: Pipeline, d: Draft) -> None:
    """The full address is used here and nowhere else: only the truncated form goes on."""
    address = client_ip.client_ip(d.peer, d.headers, p.trusted_proxies)
    d.truncated_ip = client_ip.truncate_ip(address) if address else ""
    d.via_trusted_proxy = client_ip.is_trusted_proxy(d.peer, p.trusted_proxies)


def rate_limit(p: Pipeline, d: Draft) -> None:
    if p.rate_limiter is None or d.trusted:
        return
    if not p.rate_limiter.allow(d.truncated_ip, d.event.timestamp):
        raise Dropped(DropReason.RATE_LIMITED)


def put_user_agent(p: Pipeline, d: Draft) -> None:
    if not d.user_agent:
        return
    client = parse_user_agent(d.user_agent)
    e = d.event
    e.browser, e.browser_version = client.browser, client.browser_version
    e.os, e.os_version, e.device = client.os, client.os_version, client.device


def put_country(p: Pipeline, d: Draft) -> None:
    """A country header counts only when a trusted proxy set it, like forwarding headers;
    a city-level database adds the region and city."""
    headers = d.headers if d.via_trusted_proxy else {}
    place = p.countries.place(d.truncated_ip or None, headers)
    d.event.country, d.event.region, d.event.city = place.country, place.region, place.city


def put_referrer(p: Pipeline, d: Draft) -> None:
    e = d.event
    tags = referrers.utm_tags(d.submission.query if d.submission else "")
    for name, value in tags.items():
        setattr(e, name, value)
    referrer = referrers.parse_referrer(d.submission.referrer if d.submission else None)
    e.referrer = referrer.url
    e.referrer_source = referrers.referrer_source(referrer, e.hostname, e.utm_source)


async def identify(p: Pipeline, d: Draft) -> None:
    """Visitor id under today's salt and, while it lives, yesterday's: a visit that began
    before midnight continues under the id it began with, however long it lasts."""
    e = d.event
    candidates = await _visitor_ids(p, d)
    e.visitor_id, e.session_id = await p.sessions.resolve(candidates, e.timestamp)


async def attach_engagement(p: Pipeline, d: Draft) -> None:
    """An engagement belongs to the visit open now, which it neither extends nor starts:
    a page's engaged time only counts while its visit does."""
    assert d.engagement is not None
    found = await p.sessions.find(await _visitor_ids(p, d), d.event.timestamp)
    if found is None:
        raise Dropped(DropReason.NO_VISIT)
    d.engagement.visitor_id, d.engagement.session_id = found
    await p.store.writer.write(d.engagement)


async def _visitor_ids(p: Pipeline, d: Draft) -> list[int]:
    """The visitor's id under today's salt and, while it lives, yesterday's."""
    e = d.event
    today = e.timestamp.date()
    salts = [await p.salts.for_day(today)]
    previous = p.salts.previous(today)
    if previous is not None:
        salts.append(previous)
    return [visitor_id(salt, e.hostname, d.truncated_ip, d.user_agent) for salt in salts]


async def before_ingest(p: Pipeline, d: Draft) -> None:
    hook = p.config.on_before_ingest
    if hook is None:
        return
    try:
        await _call(hook, d.event, d.context)
    except DropEvent:
        raise Dropped(DropReason.HOOK) from None
    except Exception:
        log.exception("on_before_ingest raised; the event is dropped")
        raise Dropped(DropReason.HOOK) from None
    try:  # the hook may have edited the properties: they must still be storable
        d.event.properties = check_properties(d.event.properties)
    except InvalidEvent as invalid:
        log.error("on_before_ingest left invalid properties (%s); the event is dropped", invalid)
        raise Dropped(DropReason.HOOK) from None


async def write(p: Pipeline, d: Draft) -> None:
    await p.store.writer.write(d.event)


async def after_ingest(p: Pipeline, d: Draft) -> None:
    hook = p.config.on_after_ingest
    if hook is None:
        return
    try:
        await _call(hook, d.event, d.context)
    except Exception:
        log.exception("on_after_ingest raised (the event is stored)")


STEPS: tuple[Step, ...] = (
    validate_payload,
    filter_bots,
    filter_hosts_and_paths,
    anonymise_ip,
    rate_limit,
    put_user_agent,
    put_country,
    put_referrer,
    identify,
    before_ingest,
    write,
    after_ingest,
)

ENGAGEMENT_STEPS: tuple[Step, ...] = (
    validate_payload,
    filter_bots,
    filter_hosts_and_paths,
    anonymise_ip,
    rate_limit,
    attach_engagement,
)
"""An engagement's way: filtered like an event, then added to its page view. No hooks: it
is no event of their own."""


# -- helpers ---------------------------------------------------------------------------------


async def _call(hook: IngestHook, event: Event, context: IngestContext) -> None:
    result = hook(event, context)
    if inspect.isawaitable(result):
        await result


def _request_host(headers: Mapping[str, str]) -> str:
    """Where a path-only event was sent from: the page's origin, else the Host it reached
    ("" when neither holds a host name)."""
    origin = headers.get("origin")
    if origin and "://" in origin:
        host = origin.split("://", 1)[1].split(":", 1)[0]
    else:
        host = headers.get("host", "").rsplit(":", 1)[0]
    return host if host and is_host(host) else ""


def _host_matcher(patterns: Any) -> Callable[[str], bool] | None:
    if patterns is None:
        return None
    regex = re.compile("|".join(fnmatch.translate(p.lower()) for p in patterns) or "(?!)")
    return lambda host: regex.match(host) is not None


def _path_matcher(patterns: Any) -> Callable[[str], bool] | None:
    if not patterns:
        return None
    regex = re.compile("|".join(fnmatch.translate(p) for p in patterns))
    return lambda path: regex.match(path) is not None
