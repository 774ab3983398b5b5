"""The dashboard at ``{site_base_path}/analytics``: one server-rendered page whose every
number comes from ``analytics.api`` (the same calls as the JSON API), a login exchange for
the standalone admin, and a Server-Sent Events stream of the realtime count.

All state lives in the URL (range, dates, filters), so a view can be bookmarked, shared
and navigated with back and forward; every control is a plain link or a GET form.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs, unquote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from footfall.api import MAX_LIMIT, VERSIONED
from footfall.dashboard import charts, countries, details, session, world_map
from footfall.query.filters import DIRECT, OPERATORS, Filter, Filters, is_property_param
from footfall.query.goals import Goal
from footfall.query.metrics import RawEventsPurged, shared_selections
from footfall.query.ranges import InvalidQuery
from footfall.store import admin_sessions
from footfall.web.api import read_params
from footfall.web.auth import count_wrong, is_authorized, refuse_if_guessing
from footfall.web.badge import compact_number
from footfall.web.requests import over_https

if TYPE_CHECKING:
    from footfall.analytics import Analytics

HERE = Path(__file__).parent
RANGE_CHOICES = [
    ("today", "Today"),
    ("24h", "24 hours"),
    ("7d", "7 days"),
    ("30d", "30 days"),
    ("month", "This month"),
    ("12mo", "12 months"),
    ("all", "All time"),
]
LIST_LIMIT = 10
REALTIME_POLL = 2.0
"""Seconds between two realtime counts on one stream: each stream asks the shared
database, which is what makes the count right whichever worker took the event."""
STREAM_LIFETIME = 3600.0
"""A stream ends after an hour; EventSource reconnects by itself, so nothing is lost, and a
forgotten tab does not hold a connection forever."""

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_templates.filters["compact"] = compact_number
_templates.filters["thousands"] = lambda n: f"{int(n):,}"


def _duration(seconds: float) -> str:
    """``45s``, ``2m 05s``, ``1h 02m``: how long a visit lasted, at a glance."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


def _bar(visitors: int, total: int) -> str:
    """The classes of a list row whose bar shows its share of the period's visitors: a
    class per whole percent (dashboard.css), as the Content-Security-Policy allows no
    inline style to set a width."""
    share = round(100 * visitors / total) if total else 0
    return f"ff-bar ff-w{min(max(share, 0), 100)}"


_templates.filters["duration"] = _duration
_templates.filters["bar"] = _bar
_templates.filters["country_name"] = countries.name
_templates.filters["flag"] = countries.flag
# Paths are stored percent-encoded (one spelling per page); people read them decoded.
_templates.filters["readable"] = lambda path: unquote(path, errors="replace")


def dashboard_routes(analytics: Analytics, *, standalone: bool = False) -> list[Route | Mount]:
    """The dashboard page, its realtime stream and its assets; ``standalone``: served by
    ``footfall serve`` (what the 403 page tells a visitor to do)."""
    base = f"{analytics.config.site_base_path}/analytics"

    def forbidden() -> Response:
        return _forbidden(analytics, base, standalone)

    async def page(request: Request) -> Response:
        if any(name in request.query_params for name in _SECRETS):
            return await _login(request, analytics, forbidden)
        if not await is_authorized(request, analytics):
            return forbidden()
        return await dashboard_page(analytics, request, base=base, here=base)

    async def details_view(request: Request) -> Response:
        if not await is_authorized(request, analytics):
            return forbidden()
        chosen = details.LISTS.get(request.path_params["list"])
        if chosen is None:
            return render("error.html", 404, message="No such list.", home=base, base=base)
        current = {k: v for k, v in request.query_params.items() if k not in ("q", "p")}
        search = request.query_params.get("q", "")
        try:
            number = details.page_number(request.query_params.get("p"))
            shown: details.DetailsPage | str = await _or_reason(
                details.read_page(analytics.api, chosen, read_params(request), search, number)
            )
        except InvalidQuery as invalid:
            message = f"{invalid.param}: {invalid.message}"
            return render("error.html", 400, message=message, home=base, base=base)
        here = f"{base}/details/{request.path_params['list']}"
        return render(
            "details.html",
            200,
            base=base,
            chosen=chosen,
            shown=shown,
            search=search,
            current=current,
            back=_url_of(base, current)(),
            url=_url_of(base, current),
            page_url=lambda n: _url_of(here, current)(q=search or None, p=str(n)),
        )

    async def logout(request: Request) -> Response:
        return await _logout(request, analytics, base)

    async def realtime(request: Request) -> Response:
        if not await is_authorized(request, analytics):
            return forbidden()
        return StreamingResponse(
            realtime_events(analytics, request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    return [
        Route(base, page, methods=["GET"]),
        Route(f"{base}/", page, methods=["GET"]),  # as typed by hand; no redirect
        Route(f"{base}/realtime", realtime, methods=["GET"]),
        Route(f"{base}/details/{{list}}", details_view, methods=["GET"]),
        Route(f"{base}/logout", logout, methods=["POST"]),
        Mount(f"{base}/assets", _nosniff(StaticFiles(directory=HERE / "assets"))),
    ]


async def dashboard_page(
    analytics: Analytics,
    request: Request,
    *,
    base: str,
    here: str,
    shared: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The dashboard for ``request`` (its period, filters and tabs), once the caller has
    decided it may be seen. ``base``: where its assets are; ``here``: its own URL, which
    its links and forms keep; ``shared``: the label of the shared link it is shown
    through (read-only: no export, no details, no signing out); ``headers``: in place of
    ``SECURITY_HEADERS``."""
    headers = headers or SECURITY_HEADERS
    api = f"{analytics.config.api_base_path}/analytics"
    try:
        if (target := _with_new_filter(here, request)) is not None:
            return RedirectResponse(target, status_code=303, headers=headers)
        params = read_params(request)
        context = await _report(
            analytics,
            params,
            _tab(request, "pages", PAGES_TABS, "top"),
            request.query_params.get("compare"),
            _tab(request, "sources", SOURCES_TABS, "source"),
            request.query_params.get("funnel"),
            _tab(request, "events", EVENTS_TABS, "events"),
            request.query_params.get("property") or None,
            _tab(request, "countries", COUNTRIES_TABS, "list"),
        )
    except InvalidQuery as invalid:
        message = f"{invalid.param}: {invalid.message}"
        return render("error.html", 400, headers, message=message, home=here, base=base)
    return render(
        "dashboard.html",
        200,
        headers,
        **context,
        base=base,
        here=here,
        shared=shared,
        api=api,
        query=dict(request.query_params),
        url=_url_maker(here, request),
        details_url=None
        if shared
        else lambda name: _url_of(f"{base}/details/{name}", _view_params(request))(),
        filter_names=Filters.names(),
        operators=OPERATORS,
        ranges=RANGE_CHOICES,
        export_url=None if shared else f"{api}/export.csv?{urlencode(_period_params(request))}",
        signed_in=not shared and session.COOKIE in request.cookies,
    )


def _nosniff(app: ASGIApp) -> ASGIApp:
    """``app`` with ``X-Content-Type-Options: nosniff`` on its answers: a stylesheet or
    script is never taken for anything else."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (b"x-content-type-options", b"nosniff")]
            await send(message)

        await app(scope, receive, send_with_header)

    return wrapped


async def _nothing() -> list[Any]:
    return []


T = TypeVar("T")
PAGES_TABS = {"top": "Top pages", "entry": "Entry pages", "exit": "Exit pages"}
"""The tabs of the pages card (``?pages=``), by the list each shows."""

COUNTRIES_TABS = {"list": "List", "region": "Regions", "city": "Cities", "map": "Map"}
"""The tabs of the countries card (``?countries=``)."""

EVENTS_TABS = {"events": "Custom events", "properties": "Properties"}
"""The tabs of the events card (``?events=``): the properties tab shows the values of one
property key (``?property=``, the first by visitors if none), of page views and events."""


SOURCES_TABS = {
    "source": ("Top referrers", "Sources"),
    "channel": ("Channels", "Channels"),
    "utm_medium": ("UTM mediums", "Medium"),
    "utm_source": ("UTM sources", "Source"),
    "utm_campaign": ("UTM campaigns", "Campaign"),
    "utm_content": ("UTM contents", "Content"),
    "utm_term": ("UTM terms", "Term"),
}
"""The tabs of the sources card (``?sources=``): the title and the tab's label."""


def _tab(request: Request, name: str, tabs: dict[str, Any], default: str) -> str:
    tab = request.query_params.get(name, default)
    if tab not in tabs:
        raise InvalidQuery(name, f"must be one of {', '.join(tabs)}")
    return tab


async def _or_reason(report: Awaitable[T]) -> T | str:
    """A report, or why it cannot be shown (its raw events are purged) while the rest of
    the page can."""
    try:
        return await report
    except RawEventsPurged as error:
        return error.message


def _selected_goal(goals: Sequence[Goal], filters: Filters) -> Goal | None:
    """The goal whose filter the view has (``event=Signup``, ``page=/pricing``), if any."""
    for goal in goals:
        own = goal.filter
        if own is not None and all(filters.exact(k) == v for k, v in own.items()):
            return goal
    return None


def _conversion_rates(results: dict[str, Any], selected: bool) -> dict[str, dict[str, float]]:
    """With a goal selected, per list and row, its converting visitors over the row's
    visitors without the goal, in percent: the conversion rate of each source, country,
    device, browser, OS and page."""
    if not selected:
        return {}
    base, pages = results.pop("base"), results.pop("base_pages")
    lists = {
        "top-referrers": (results["referrers"], base.referrers, "source"),
        "top-countries": (results["countries"], base.countries, "value"),
        "top-devices": (results["devices"], base.devices, "value"),
        "top-browsers": (results["browsers"], base.browsers, "value"),
        "top-os": (results["systems"], base.os, "value"),
        "top-pages": (results["pages"], pages, "path"),
    }
    rates: dict[str, dict[str, float]] = {}
    for name, (rows, all_rows, key) in lists.items():
        totals = {getattr(row, key): row.visitors for row in all_rows}
        rates[name] = {
            getattr(row, key): round(100 * row.visitors / totals[getattr(row, key)], 1)
            for row in rows
            if totals.get(getattr(row, key))
        }
    return rates


COMPARISONS = {None: "No comparison", "previous": "Previous period", "year": "Last year"}
"""What the chart can draw beside the period (``?compare=``)."""


async def _report(
    analytics: Analytics,
    params: dict[str, Any],
    tab: str = "top",
    compare: str | None = None,
    sources: str = "source",
    funnel: str | None = None,
    events_tab: str = "events",
    property_key: str | None = None,
    countries_tab: str = "list",
) -> dict[str, Any]:
    """Every number of the page, from the aggregation API, queried concurrently; of the
    pages card, the list of its tab ``tab``; on the chart, the period ``compare`` says; of
    the sources card, the list of its tab ``sources``."""
    api = analytics.api
    range, limit = params.pop("range"), LIST_LIMIT
    params.pop("limit")
    filters = Filters(
        **{k: v for k, v in params.items() if k in Filters.names()}, props=params.get("props", {})
    )
    options = {k: v for k, v in params.items() if k in ("from_date", "to_date")}
    calls = {
        "overview": api.get_overview(limit, range, **params),
        "series": api.get_timeseries(range, compare=compare or None, **params),
        "pages": api.get_top_pages(limit, range, **params) if tab == "top" else _nothing(),
        "entries": _or_reason(api.get_entry_pages(limit, range, **params))
        if tab == "entry"
        else _nothing(),
        "exits": _or_reason(api.get_exit_pages(limit, range, **params))
        if tab == "exit"
        else _nothing(),
        "events": api.get_top_events(limit, range, **params),
        "realtime": api.get_realtime_visitors(),
        "sources": _nothing()
        if sources == "source"
        else _or_reason(
            api.get_channels(limit, range, **params)
            if sources == "channel"
            else api.get_utm(sources, limit, range, **params)
        ),
    }
    if funnel:
        calls["funnel"] = _or_reason(api.get_funnel(funnel, range, **params))
    for of in VERSIONED:  # one browser (OS) chosen: its card lists its versions
        if filters.exact(of) is not None:
            calls[f"{of}_versions"] = _or_reason(api.get_versions(of, limit, range, **params))
    if countries_tab == "map":  # every country's visitors, to shade the map
        calls["map_countries"] = api.get_top_countries(MAX_LIMIT, range, **params)
    elif countries_tab in ("region", "city"):
        read = api.get_regions if countries_tab == "region" else api.get_cities
        calls["locations"] = _or_reason(read(limit, range, **params))
    if events_tab == "properties":
        calls["property_keys"] = _or_reason(api.get_property_keys(limit, range, **params))
    goals = analytics.config.goals
    if goals:
        calls["goals"] = api.get_goals(range, **params)
    selected = _selected_goal(goals, filters)
    if selected is not None:  # each row's visitors without the goal, for its rate
        base = {k: v for k, v in params.items() if k not in selected.filter}  # type: ignore[union-attr]
        calls["base"] = api.get_overview(MAX_LIMIT, range, **base)
        calls["base_pages"] = api.get_top_pages(MAX_LIMIT, range, **base)
    event = filters.exact("event")
    if event is not None:
        calls["properties"] = _or_reason(
            api.get_event_properties(event, 50, range, **{**options, **filters.to_dict()})
        )
    with shared_selections():  # a filter's visits, found once for the page's reports
        results = dict(zip(calls, await asyncio.gather(*calls.values()), strict=True))
    keys = results.get("property_keys")
    if isinstance(keys, list) and (keys or property_key):
        property_key = property_key or keys[0].value
        results["property_values"] = await _or_reason(
            api.get_properties(property_key, limit, range, **params)
        )
    results.setdefault("properties", [])
    if isinstance(results["properties"], str):
        results["properties_missing"] = results.pop("properties")
        results["properties"] = []
    overview = results.pop("overview")
    results.update(
        stats=overview.stats,
        referrers=overview.referrers,
        countries=overview.countries,
        devices=overview.devices,
        browsers=overview.browsers,
        systems=overview.os,
    )
    rates = _conversion_rates(results, selected is not None)
    series = results["series"]
    stats = results["stats"]
    zone = analytics.config.zone
    start, end = (datetime.fromisoformat(t).astimezone(zone) for t in (stats.start, stats.end))
    now = analytics.config.clock().astimezone(zone).replace(tzinfo=None)
    return {
        **results,
        "goal_rows": list(zip(results.get("goals", []), goals, strict=True)),
        "funnels": [f.name for f in analytics.config.funnels],
        "funnel_name": funnel,
        "events_tab": events_tab,
        "countries_tab": countries_tab,
        "countries_tabs": COUNTRIES_TABS,
        "world": world_map.shapes({r.value: r.visitors for r in results["map_countries"]})
        if countries_tab == "map"
        else None,
        "map": world_map,
        "events_tabs": EVENTS_TABS,
        "property_key": property_key,
        "selected_goal": selected,
        "rates": rates,
        "pages_tab": tab,
        "sources_tab": sources,
        "sources_tabs": SOURCES_TABS,
        "comparisons": COMPARISONS,
        "pages_tabs": PAGES_TABS,
        "filters": filters,
        "chart": charts.main_chart(series, now=now),
        "chart_rows": charts.chart_table(series, now=now),
        "sparkline": charts.sparkline,
        "direct": DIRECT,
        "first_day": start.date().isoformat(),
        "last_day": (end - timedelta(microseconds=1)).date().isoformat(),
        "timezone": analytics.config.timezone,
        # Who made the country data: its licence asks for the credit where it is shown.
        "country_database": analytics.pipeline.countries.database,
    }


async def _login(
    request: Request, analytics: Analytics, forbidden: Callable[[], Response]
) -> Response:
    """Exchange a login code (single use) or the admin token for a new session and its
    cookie, then drop them from the address bar (and the history) with a redirect."""
    expected = analytics.config.admin_token
    code = request.query_params.get("code")
    token = request.query_params.get("token")
    if not expected:
        return forbidden()
    refuse_if_guessing(request, analytics)
    now = analytics.config.clock()
    engine = analytics.store.engine
    if code is not None:
        if not session.well_formed(code) or not await asyncio.to_thread(
            admin_sessions.redeem_code, engine, code, expected, now
        ):
            count_wrong(request, analytics, "login code")
            return forbidden()
    elif token is None or not hmac.compare_digest(token.encode(), expected.encode()):
        count_wrong(request, analytics, "token")
        return forbidden()
    secret = await asyncio.to_thread(
        admin_sessions.begin, engine, admin_sessions.SESSION, expected, now
    )
    remaining = [(k, v) for k, v in request.query_params.multi_items() if k not in _SECRETS]
    target = request.url.path + (f"?{urlencode(remaining)}" if remaining else "")
    # The page it leaves had the secret in its address: no Referer may carry it anywhere.
    response = RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
    response.headers["Set-Cookie"] = session.cookie_header(
        secret, secure=came_over_https(request, analytics)
    )
    return response


_SECRETS = ("token", "code")
"""Query parameters that log in, never kept in an address."""


def came_over_https(request: Request, analytics: Analytics) -> bool:
    """Whether the browser came over HTTPS, so its cookie may say ``Secure``."""
    client = request.client
    return over_https(
        request.url.scheme,
        client.host if client else None,
        request.headers,
        analytics.pipeline.trusted_proxies,  # parsed once, for ingestion
    )


async def _logout(request: Request, analytics: Analytics, base: str) -> Response:
    """End this session, or every session (``everywhere``), and forget the cookie."""
    # A one-field form: read without a form parser (python-multipart) for it.
    form = parse_qs((await request.body())[:1024].decode("latin-1"))
    secret = request.cookies.get(session.COOKIE)
    engine = analytics.store.engine
    if form.get("everywhere"):
        if not await is_authorized(request, analytics):
            return _forbidden(analytics, base, standalone=False)
        await asyncio.to_thread(admin_sessions.end_all, engine)
    elif session.well_formed(secret):
        assert secret is not None
        await asyncio.to_thread(admin_sessions.end, engine, secret)
    response = RedirectResponse(base, status_code=303, headers=SECURITY_HEADERS)
    response.headers["Set-Cookie"] = session.clearing_header(
        secure=came_over_https(request, analytics)
    )
    return response


def _forbidden(analytics: Analytics, base: str, standalone: bool) -> Response:
    config = analytics.config
    return render(
        "forbidden.html",
        403,
        base=base,
        standalone=standalone,
        authorize=config.authorize is not None,
        admin_token=config.admin_token is not None,
    )


async def realtime_events(analytics: Analytics, request: Request) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    ends = loop.time() + STREAM_LIFETIME
    last: int | None = None
    yield "retry: 3000\n\n"
    while loop.time() < ends and not await request.is_disconnected():
        visitors = (await analytics.api.get_realtime_visitors()).visitors
        if visitors != last:
            last = visitors
            yield f"event: realtime\ndata: {json.dumps({'visitors': visitors})}\n\n"
        else:
            yield ": keep-alive\n\n"
        await asyncio.sleep(REALTIME_POLL)


def render(
    template: str, status: int, headers: dict[str, str] | None = None, **context: Any
) -> HTMLResponse:
    """A page of the dashboard's templates, with its security headers (or ``headers``)."""
    html = _templates.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=headers or SECURITY_HEADERS)


def _view_params(request: Request) -> dict[str, str]:
    """The period and filters of the view: what a details view of one of its lists keeps."""
    return {
        k: v
        for k, v in request.query_params.items()
        if k in ("range", "from", "to") or k in Filters.params() or is_property_param(k)
    }


def _period_params(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items() if k in ("range", "from", "to")}


def _url_maker(base: str, request: Request) -> Any:
    """``url(page="/x")`` → this view's URL with the filter "page is /x" (in place of any
    other filter of pages); ``url(page=None)`` removes it; ``url(range="7d")`` switches the
    period (dropping custom dates)."""
    return _url_of(base, dict(request.query_params))


def _url_of(base: str, current: dict[str, str]) -> Any:
    def url(**changes: str | None) -> str:
        query = dict(current)
        if "range" in changes:
            query.pop("from", None)
            query.pop("to", None)
        if "filters" in changes:  # url(filters=None): none of them
            changes.pop("filters")
            query = {k: v for k, v in query.items() if not _is_filter_param(k)}
        for key, value in changes.items():
            if key in Filters.names() or is_property_param(key):
                for suffix in OPERATORS:
                    query.pop(key + suffix, None)
                if value is not None:
                    query[key] = Filter((value,)).text
            elif value is None:
                query.pop(key, None)
            else:
                query[key] = value
        return f"{base}?{urlencode(query)}" if query else base

    return url


def _is_filter_param(name: str) -> bool:
    return name in Filters.params() or is_property_param(name)


def _with_new_filter(base: str, request: Request) -> str | None:
    """For the "add a filter" form (``filter``, ``operator`` and ``value``), the URL of
    this view with that filter in place of any other of its name; None if not that form.
    The typed value is as in a query string: ``|`` separates several."""
    query = dict(request.query_params)
    name = query.pop("filter", None)
    if name is None:
        return None
    suffix, text = query.pop("operator", ""), query.pop("value", "").strip()
    if name not in Filters.names():
        raise InvalidQuery("filter", f"must be one of {', '.join(Filters.names())}")
    if suffix not in OPERATORS:
        raise InvalidQuery("operator", f"must be one of {', '.join(map(repr, OPERATORS))}")
    Filter.parse(name, suffix, text)  # a clear 400 for a bad value, now
    url = _url_of(base, query)(**{name: None})
    return f"{url}{'&' if '?' in url else '?'}{urlencode({name + suffix: text})}"
