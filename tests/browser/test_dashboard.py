"""The dashboard in Chromium: its numbers are the JSON API's, its links drive the view
through the URL (back and forward included), the realtime count moves on its own, visitor
text stays text, nothing leaves the server, and it is usable by keyboard and on a phone.

Every test has its own demo server, on a clock stopped when the server starts: the page
and the API then read the very same periods, and no demo visitor leaves the five-minute
realtime window while a test counts (the events the tests post are stamped at that
instant, inside the window).
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable
from datetime import timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from playwright.sync_api import Dialog, Locator, Page, expect

from conftest import ManualClock, RunningServer, free_port  # tests/conftest.py
from footfall.clock import system_clock
from footfall.dashboard.countries import flag, name
from footfall.store import shared_links

ADMIN_TOKEN = "browser-test-token"
BEARER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
METRICS = ("visitors", "visits", "pageviews", "bounce_rate", "visit_duration", "views_per_visit")
RANGE_LABELS = ("Today", "24 hours", "7 days", "30 days", "This month", "12 months", "All time")
SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=2">'
PHONE_WIDTH = 360

Login = Callable[[Page, RunningServer], None]


@pytest.fixture
def server(make_demo_server: Callable[..., RunningServer]) -> RunningServer:
    """The demo server (5,000 page views over the 30 days up to now) with its clock stopped."""
    return make_demo_server(clock=ManualClock(system_clock()))


# -- helpers ------------------------------------------------------------------------------


def api(server: RunningServer, endpoint: str, **params: str) -> Any:
    """``GET {api_base_path}/analytics/{endpoint}`` as the admin, decoded."""
    base = server.analytics.config.api_base_path
    response = server.client.get(f"{base}/analytics/{endpoint}", params=params, headers=BEARER)
    assert response.status_code == 200, response.text
    return response.json()


def api_rows(server: RunningServer, endpoint: str, name: str, **params: str) -> list[Any]:
    """``[(name, visitors), ...]`` of a list endpoint, at the dashboard's 10 rows."""
    results = api(server, endpoint, limit="10", **params)["results"]
    return [(row[name], row["visitors"]) for row in results]


def dashboard(server: RunningServer, **params: str) -> str:
    base = f"{server.url}{server.analytics.config.site_base_path}/analytics"
    return f"{base}?{urlencode(params)}" if params else base


def query(url: str) -> dict[str, str]:
    """The query string of a URL, one value per name."""
    return {name: values[-1] for name, values in parse_qs(urlsplit(url).query).items()}


def shown_metrics(page: Page) -> dict[str, Any]:
    """Every top stat's ``data-value``, by metric (as the JSON number it spells)."""
    pairs = page.locator(".ff-value[data-metric]").evaluate_all(
        "tiles => tiles.map(t => [t.dataset.metric, t.dataset.value])"
    )
    return {metric: json.loads(value) for metric, value in pairs}


def shown_rows(page: Page, name: str) -> list[Any]:
    """``[(name, visitors), ...]`` of a list table, top to bottom, as the page shows them."""
    rows = page.locator(f"table[data-list={name}] tbody tr").evaluate_all(
        """rows => rows.map(row => [
            row.querySelector("th[scope=row] a").textContent,
            Number(row.querySelector("td[data-visitors]").dataset.visitors),
        ])"""
    )
    return [tuple(row) for row in rows]


def visitors_tile(page: Page) -> Locator:
    return page.locator(".ff-value[data-metric=visitors]")


def range_link(page: Page, label: str) -> Locator:
    return page.get_by_role("navigation", name="Period").get_by_role("link", name=label, exact=True)


def assert_page_matches_api(page: Page, server: RunningServer, range: str) -> None:
    stats = api(server, "stats", range=range)
    assert stats["range"] == range
    assert shown_metrics(page) == {metric: stats[metric]["value"] for metric in METRICS}
    pages = api_rows(server, "top-pages", "path", range=range)
    referrers = api_rows(server, "top-referrers", "source", range=range)
    assert len(pages) == 10 and len(referrers) == 10, "the demo should fill both lists"
    assert shown_rows(page, "top-pages") == pages
    assert shown_rows(page, "top-referrers") == referrers
    # Time on page and scroll depth, beside each page: the demo's trackers report them.
    engagement = page.locator("table[data-list=top-pages] tbody tr").evaluate_all(
        """rows => rows.map(row => [
            row.querySelector("td[data-time-on-page]").dataset.timeOnPage,
            row.querySelector("td[data-scroll-depth]").dataset.scrollDepth,
        ])"""
    )
    # Countries by name, each with its flag (its letters as regional indicators).
    shown_countries = page.locator("table[data-list=top-countries] tbody th a")
    codes = [
        row["value"] for row in api(server, "top-countries", limit="10", range=range)["results"]
    ]
    assert "US" in codes and "United States" not in codes
    assert shown_countries.all_text_contents() == [
        f"{flag(code)} {name(code)}".strip() for code in codes
    ]
    results = api(server, "top-pages", limit="10", range=range)["results"]
    assert [(float(t), int(d)) for t, d in engagement] == [
        (row["time_on_page"], row["scroll_depth"]) for row in results
    ]
    # Behind each row, a bar as wide as its share of the period's visitors.
    for list_name in ("top-pages", "top-referrers", "top-countries"):
        bars = page.locator(f"table[data-list={list_name}] tbody tr").evaluate_all(
            """rows => rows.map(row => [
                Number(row.querySelector("td[data-visitors]").dataset.visitors),
                getComputedStyle(row).backgroundSize,
            ])"""
        )
        total = stats["visitors"]["value"]
        assert bars and [size for _, size in bars] == [
            f"{round(100 * visitors / total)}% 100%" for visitors, _ in bars
        ], list_name


def last_full_days(server: RunningServer, days: int) -> dict[str, str]:
    """``from``/``to`` of the ``days`` whole days before today: the demo covers them and
    as many days before, so the comparison with the previous period is a real one."""
    today = server.analytics.config.clock().date()
    return {"from": str(today - timedelta(days=days)), "to": str(today - timedelta(days=1))}


def add_live_visitors(server: RunningServer, count: int) -> None:
    """Visitors on the site right now (today, so outside a view of past days)."""
    for n in range(count):
        response = server.event({"url": "https://demo.footfall.dev/"}, ip=f"203.0.113.{n + 1}")
        assert response.status_code == 202 and "x-footfall-dropped" not in response.headers


def as_browsers_encode(text: str) -> str:
    """``text`` in a URL's path or query as Chromium puts it there (``<``, ``>``, ``"`` and
    spaces percent-encoded, ``/`` and ``=`` left alone)."""
    return quote(text, safe="/=")


def realtime_count(page: Page) -> int:
    text = page.locator("#ff-realtime").text_content() or ""
    return int(text.replace(",", ""))


def wait_for_stream(page: Page, server: RunningServer) -> int:
    """Make the realtime count move with a new visitor, and wait until the page shows it:
    proof the stream is connected and delivering. Returns the new count."""
    before = realtime_count(page)
    response = server.event({"url": "https://demo.footfall.dev/live"}, ip="203.0.113.50")
    assert response.status_code == 202 and "x-footfall-dropped" not in response.headers
    expect(page.locator("#ff-realtime")).to_have_text(f"{before + 1:,}", timeout=10_000)
    return before + 1


# -- the numbers ----------------------------------------------------------------------------


def test_the_numbers_on_the_page_are_the_json_apis(
    page: Page, server: RunningServer, login: Login
) -> None:
    login(page, server)
    expect(range_link(page, "30 days")).to_have_attribute("aria-current", "page")
    assert_page_matches_api(page, server, "30d")

    range_link(page, "7 days").click()
    page.wait_for_url(lambda url: query(url).get("range") == "7d")
    expect(range_link(page, "7 days")).to_have_attribute("aria-current", "page")
    assert_page_matches_api(page, server, "7d")


def test_the_entry_and_exit_tabs_show_the_apis_lists(
    page: Page, server: RunningServer, login: Login
) -> None:
    login(page, server)
    pages_lists = page.get_by_role("navigation", name="Lists of pages")
    for tab, endpoint, numbers in (
        ("Entry pages", "entry-pages", ("visits", "bounce-rate")),
        ("Exit pages", "exit-pages", ("exits", "exit-rate")),
    ):
        pages_lists.get_by_role("link", name=tab).click()
        expect(pages_lists.get_by_role("link", name=tab)).to_have_attribute("aria-current", "page")
        expect(page.locator("#ff-pages-title")).to_have_text(tab)
        shown = page.locator(f"table[data-list={endpoint}] tbody tr").evaluate_all(
            f"""rows => rows.map(row => [
                row.querySelector("th[scope=row] a").textContent,
                Number(row.querySelector("td[data-visitors]").dataset.visitors),
                Number(row.querySelector("td[data-{numbers[0]}]").getAttribute("data-{numbers[0]}")),
                Number(row.querySelector("td[data-{numbers[1]}]").getAttribute("data-{numbers[1]}")),
            ])"""
        )
        keys = [name.replace("-", "_") for name in numbers]
        expected = [
            [row["path"], row["visitors"], row[keys[0]], row[keys[1]]]
            for row in api(server, endpoint, limit="10", range="30d")["results"]
        ]
        assert len(expected) == 10 and shown == expected
    # The tab stays with a change of period.
    range_link(page, "7 days").click()
    page.wait_for_url(lambda url: query(url) == {"range": "7d", "pages": "exit"})


def test_the_channel_and_utm_tabs_show_the_apis_lists(
    page: Page, server: RunningServer, login: Login
) -> None:
    login(page, server)
    sources = page.get_by_role("navigation", name="Lists of sources")
    for tab, list_name, endpoint, params in (
        ("Channels", "channel", "channels", {}),
        ("Campaign", "utm-campaign", "utm", {"tag": "utm_campaign"}),
    ):
        sources.get_by_role("link", name=tab).click()
        expect(sources.get_by_role("link", name=tab)).to_have_attribute("aria-current", "page")
        shown = page.locator(f"table[data-list={list_name}] tbody tr").evaluate_all(
            """rows => rows.map(row => [
                row.querySelector("th[scope=row]").textContent,
                Number(row.querySelector("td[data-visitors]").dataset.visitors),
                Number(row.querySelector("td[data-visits]").dataset.visits),
            ])"""
        )
        results = api(server, endpoint, limit="10", range="30d", **params)["results"]
        expected = [[row["value"], row["visitors"], row["visits"]] for row in results]
        assert len(expected) >= 2 and shown == expected, tab


def test_goals_and_the_conversion_rate_of_each_row(
    page: Page, make_demo_server: Callable[..., RunningServer], login: Login
) -> None:
    server = make_demo_server(
        clock=ManualClock(system_clock()),
        goals=["event:Signup", "event:Signup;plan=pro", "page:/pricing"],
    )
    login(page, server)
    goals = api(server, "goals", range="30d")["results"]
    shown = page.locator("table[data-list=goals] tbody tr").evaluate_all(
        """rows => rows.map(row => [
            row.querySelector("th[scope=row]").textContent,
            Number(row.querySelector("td[data-visitors]").dataset.visitors),
            Number(row.querySelector("td[data-conversions]").dataset.conversions),
            Number(row.querySelector("td[data-rate]").dataset.rate),
        ])"""
    )
    expected = [[g["goal"], g["visitors"], g["conversions"], g["conversion_rate"]] for g in goals]
    assert shown == expected and goals[0]["visitors"] > 0
    visitors = api(server, "stats", range="30d")["visitors"]["value"]
    assert goals[0]["conversion_rate"] == round(100 * goals[0]["visitors"] / visitors, 1)
    # Selecting the goal shows its converting visits, each source with its rate: its
    # converting visitors over all of its visitors.
    page.locator("table[data-list=goals]").get_by_role("link", name="Signup", exact=True).click()
    page.wait_for_url(lambda url: query(url).get("event") == "Signup")
    rates = page.locator("table[data-list=top-referrers] tbody tr").evaluate_all(
        """rows => rows.map(row => [
            row.querySelector("th a").textContent, row.querySelector("td[data-rate]").dataset.rate
        ])"""
    )
    converted = dict(api_rows(server, "top-referrers", "source", range="30d", event="Signup"))
    everyone = {
        row["source"]: row["visitors"]
        for row in api(server, "top-referrers", limit="1000", range="30d")["results"]
    }
    assert rates and [(source, float(rate)) for source, rate in rates] == [
        (source, round(100 * converted[source] / everyone[source], 1)) for source, _ in rates
    ]


def test_a_funnel_shows_the_apis_steps(
    page: Page, make_demo_server: Callable[..., RunningServer], login: Login
) -> None:
    funnel = "Signup: page:/ > page:/pricing > page:/signup > event:Signup"
    server = make_demo_server(clock=ManualClock(system_clock()), funnels=[funnel])
    login(page, server)
    page.get_by_role("navigation", name="Funnels").get_by_role("link", name="Signup").click()
    page.wait_for_url(lambda url: query(url).get("funnel") == "Signup")
    shown = page.locator("table[data-list=funnel] tbody tr").evaluate_all(
        """rows => rows.map(row => [
            Number(row.querySelector("td[data-visitors]").dataset.visitors),
            Number(row.querySelector("td[data-dropoff]").dataset.dropoff),
            Number(row.querySelector("td[data-rate]").dataset.rate),
        ])"""
    )
    steps = api(server, "funnel", name="Signup", range="30d")["steps"]
    assert shown == [[s["visitors"], s["dropoff"], s["conversion_rate"]] for s in steps]
    visitors = [s["visitors"] for s in steps]
    assert visitors[0] > visitors[-1] > 0 and visitors == sorted(visitors, reverse=True)


def test_the_chart_compares_with_the_previous_period_and_last_year(
    page: Page, server: RunningServer, login: Login
) -> None:
    login(page, server)
    comparison = page.get_by_role("navigation", name="Comparison")
    comparison.get_by_role("link", name="Previous period").click()
    page.wait_for_url(lambda url: query(url).get("compare") == "previous")
    expect(page.locator(".ff-chart .ff-compare path")).to_have_count(1)
    compared = page.locator(".ff-hit").evaluate_all(
        "hits => hits.map(hit => Number(hit.dataset.comparedVisitors))"
    )
    series = api(server, "timeseries", range="30d", compare="previous")
    assert compared == [point["visitors"] for point in series["comparison"]]
    assert sum(compared) > 0  # the demo's 60 days cover the 30 before
    shown = page.locator("td[data-compared]").all_text_contents()
    assert [int(text.replace(",", "")) for text in shown] == compared[: len(shown)]
    # A year earlier the demo had nothing: a flat line of zeros, and the way back.
    comparison.get_by_role("link", name="Last year").click()
    page.wait_for_url(lambda url: query(url).get("compare") == "year")
    assert set(
        page.locator(".ff-hit").evaluate_all("h => h.map(x => x.dataset.comparedVisitors)")
    ) == {"0"}
    comparison.get_by_role("link", name="No comparison").click()
    page.wait_for_url(lambda url: "compare" not in query(url))
    expect(page.locator(".ff-chart .ff-compare")).to_have_count(0)


def test_range_and_page_links_change_the_url_and_the_numbers_with_history(
    page: Page, server: RunningServer, login: Login
) -> None:
    login(page, server)
    month = api(server, "stats", range="30d")["visitors"]["value"]
    week = api(server, "stats", range="7d")["visitors"]["value"]
    assert week != month, "the demo should have fewer visitors in 7 days than in 30"
    expect(visitors_tile(page)).to_have_attribute("data-value", str(month))

    range_link(page, "7 days").click()
    page.wait_for_url(lambda url: query(url) == {"range": "7d"})
    expect(visitors_tile(page)).to_have_attribute("data-value", str(week))
    expect(visitors_tile(page)).to_have_text(f"{week:,}")

    # The first page whose visitors are not everyone's, so the filter visibly narrows.
    path, _ = next(row for row in shown_rows(page, "top-pages") if row[1] != week)
    filtered = api(server, "stats", range="7d", page=path)["visitors"]["value"]
    assert filtered != week
    page.locator("table[data-list=top-pages] th[scope=row] a").get_by_text(path, exact=True).click()
    page.wait_for_url(lambda url: query(url) == {"range": "7d", "page": path})
    chips = page.get_by_role("region", name="Filters")
    expect(chips.get_by_role("listitem")).to_have_count(1)
    expect(chips.get_by_role("listitem")).to_contain_text(f"page {path}")
    expect(chips.get_by_role("link", name="Remove the page filter")).to_be_visible()
    expect(visitors_tile(page)).to_have_attribute("data-value", str(filtered))
    expect(range_link(page, "7 days")).to_have_attribute("aria-current", "page")

    page.go_back()
    page.wait_for_url(lambda url: query(url) == {"range": "7d"})
    expect(visitors_tile(page)).to_have_attribute("data-value", str(week))
    expect(page.get_by_role("region", name="Filters").get_by_role("listitem")).to_have_count(0)

    page.go_forward()
    page.wait_for_url(lambda url: query(url) == {"range": "7d", "page": path})
    expect(visitors_tile(page)).to_have_attribute("data-value", str(filtered))
    expect(page.get_by_role("region", name="Filters")).to_contain_text(path)


def test_a_filter_with_an_operator_and_several_values_from_the_form(
    page: Page, server: RunningServer, login: Login
) -> None:
    login(page, server)
    filters = page.get_by_role("region", name="Filters")
    filters.get_by_text("Add a filter").click()
    filters.get_by_label("Of").select_option("page")
    filters.get_by_label("Operator").select_option(label="does not contain")
    filters.get_by_label("Value").fill("/blog|/docs")
    filters.get_by_role("button", name="Filter").click()
    page.wait_for_url(lambda url: query(url) == {"page!~": "/blog|/docs"})
    expect(filters.get_by_role("listitem")).to_have_text(
        "page does not contain /blog or /docs ✕", use_inner_text=True
    )
    wanted = {"page!~": "/blog|/docs", "range": "30d"}
    stats = api(server, "stats", **wanted)
    everyone = api(server, "stats", range="30d")
    assert 0 < stats["pageviews"]["value"] < everyone["pageviews"]["value"]
    assert shown_metrics(page) == {metric: stats[metric]["value"] for metric in METRICS}
    pages = api_rows(server, "top-pages", "path", **wanted)
    assert len(pages) == 10 and shown_rows(page, "top-pages") == pages
    assert not any(path.startswith(("/blog", "/docs")) for path, _ in pages)
    assert shown_rows(page, "top-referrers") == api_rows(
        server, "top-referrers", "source", **wanted
    )


def test_the_properties_tab_breaks_down_a_key_and_filters_by_a_value(
    page: Page, server: RunningServer, login: Login
) -> None:
    login(page, server)
    lists = page.get_by_role("navigation", name="Lists of events")
    lists.get_by_role("link", name="Properties").click()
    page.wait_for_url(lambda url: query(url) == {"events": "properties"})
    keys = [row["value"] for row in api(server, "property-keys", range="30d")["results"]]
    assert "author" in keys and "plan" in keys  # page views' and custom events' properties
    shown_keys = page.get_by_role("navigation", name="Property keys").get_by_role("link")
    expect(shown_keys).to_have_text(keys)
    expect(shown_keys.first).to_have_attribute("aria-current", "page")
    shown_keys.get_by_text("author", exact=True).click()
    page.wait_for_url(lambda url: query(url) == {"events": "properties", "property": "author"})
    values = api_rows(server, "properties", "value", key="author", range="30d")
    assert len(values) >= 2 and shown_rows(page, "properties") == values

    author, _ = values[0]
    page.locator("table[data-list=properties] th[scope=row] a").first.click()
    wanted = {"events": "properties", "property": "author", "prop:author": author}
    page.wait_for_url(lambda url: query(url) == wanted)
    stats = api(server, "stats", range="30d", **{"prop:author": author})
    assert shown_metrics(page) == {metric: stats[metric]["value"] for metric in METRICS}
    pages = api_rows(server, "top-pages", "path", range="30d", **{"prop:author": author})
    assert pages and all(path.startswith("/blog/") for path, _ in pages)
    assert shown_rows(page, "top-pages") == pages
    chip = page.get_by_role("region", name="Filters").get_by_role("listitem")
    expect(chip).to_have_text(f"prop:author {author} ✕", use_inner_text=True)


def test_a_chosen_browser_shows_its_versions(
    page: Page, server: RunningServer, login: Login
) -> None:
    login(page, server)
    page.locator("table[data-list=top-browsers] th[scope=row] a").first.click()
    page.wait_for_url(lambda url: "browser" in query(url))
    browser = query(page.url)["browser"]
    expect(page.locator("#ff-browser-versions-title")).to_have_text(f"{browser} versions")
    shown = page.locator("table[data-list=browser-versions] tbody tr").evaluate_all(
        """rows => rows.map(row => [
            row.querySelector("th[scope=row]").textContent,
            Number(row.querySelector("td[data-visitors]").dataset.visitors),
        ])"""
    )
    results = api(server, "versions", of="browser", browser=browser, range="30d")["results"]
    assert len(results) >= 2 and shown == [[r["value"], r["visitors"]] for r in results]
    assert all(row["value"].startswith(browser + " ") for row in results)


def test_the_details_view_shows_the_whole_list_and_searches_it(
    page: Page, server: RunningServer, login: Login
) -> None:
    login(page, server)
    pages_card = page.locator("section[aria-labelledby=ff-pages-title]")
    pages_card.get_by_role("link", name="Details").click()
    page.wait_for_url(lambda url: "/details/top-pages" in url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Top pages")

    def shown() -> list[Any]:
        return page.locator("table[data-list=details] tbody tr").evaluate_all(
            """rows => rows.map(row => [
                row.querySelector("th[scope=row] a").textContent,
                Number(row.querySelector("td[data-visitors]").dataset.visitors),
            ])"""
        )

    every = api(server, "top-pages", limit="100", range="30d")["results"]
    assert len(every) > 10 and shown() == [[r["path"], r["visitors"]] for r in every]
    page.get_by_role("searchbox", name="Search").fill("/docs/")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(lambda url: query(url).get("q") == "/docs/")
    docs = api(server, "top-pages", limit="100", range="30d", **{"page~": "/docs/"})["results"]
    assert docs and shown() == [[r["path"], r["visitors"]] for r in docs]
    page.get_by_role("link", name="Back to the dashboard").click()
    page.wait_for_url(lambda url: "/details/" not in url)


def test_a_shared_link_shows_the_apis_numbers_and_frames_only_where_allowed(
    page: Page, make_demo_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    """The host page is served from http://127.0.0.1:PORT, another origin than the
    dashboard's http://site.test:PORT."""
    host_port = free_port()
    host = f"http://127.0.0.1:{host_port}"
    server = make_demo_server(clock=ManualClock(system_clock()), embed_origins=[host])
    engine = server.analytics.store.engine
    allowed = shared_links.create(engine, "Acme Corp", system_clock())
    shared = f"{dashboard(server)}/share/{allowed}"

    page.goto(f"{shared}?range=7d")
    stats = api(server, "stats", range="7d")
    assert shown_metrics(page) == {metric: stats[metric]["value"] for metric in METRICS}
    expect(page.get_by_role("heading", level=1)).to_contain_text("Acme Corp")
    expect(page.get_by_role("link", name="Export CSV")).to_have_count(0)
    range_link(page, "30 days").click()
    page.wait_for_url(lambda url: url.startswith(shared) and query(url) == {"range": "30d"})

    (tmp_path / "host.html").write_text(
        f'<!doctype html><title>Host</title><iframe src="{shared}" width="800" height="600">'
        "</iframe>"
    )
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    with ThreadingHTTPServer(("127.0.0.1", host_port), handler) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            page.goto(f"{host}/host.html")
            framed = page.frame_locator("iframe").locator(".ff-value[data-metric=visitors]")
            expect(framed).to_have_attribute(
                "data-value", str(api(server, "stats")["visitors"]["value"])
            )
            # Another dashboard, whose embed_origins does not name the host: refused.
            other = make_demo_server(clock=ManualClock(system_clock()))
            secret = shared_links.create(other.analytics.store.engine, "Elsewhere", system_clock())
            (tmp_path / "host.html").write_text(
                f'<!doctype html><iframe src="{dashboard(other)}/share/{secret}"></iframe>'
            )
            page.goto(f"{host}/host.html", wait_until="load")  # the frame's load included
            assert [frame.url for frame in page.frames[1:]] == ["chrome-error://chromewebdata/"]
        finally:
            httpd.shutdown()
            thread.join()


def test_the_map_shades_each_countrys_visitors_and_filters_by_one(
    page: Page, server: RunningServer, login: Login
) -> None:
    login(page, server)
    views = page.get_by_role("navigation", name="Views of countries")
    views.get_by_role("link", name="Map").click()
    page.wait_for_url(lambda url: query(url) == {"countries": "map"})
    shaded = page.locator("svg.ff-map path[data-country]").evaluate_all(
        "paths => paths.map(p => [p.dataset.country, Number(p.dataset.visitors)])"
    )
    results = api(server, "top-countries", limit="1000", range="30d")["results"]
    expected = sorted((r["value"], r["visitors"]) for r in results if r["value"] != "(unknown)")
    assert len(expected) >= 5 and sorted(map(tuple, shaded)) == expected
    top = max(expected, key=lambda row: row[1])[0]
    expect(page.locator(f"svg.ff-map path[data-country={top}]")).to_have_class("ff-m5")
    # By keyboard: a country's middle may lie in another (the United States' with Alaska).
    page.locator("svg.ff-map a").filter(has=page.locator(f"[data-country={top}]")).focus()
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: query(url) == {"countries": "map", "country": top})
    stats = api(server, "stats", range="30d", country=top)
    assert shown_metrics(page) == {metric: stats[metric]["value"] for metric in METRICS}


def test_the_regions_and_cities_tabs_show_the_apis_lists(
    page: Page, server: RunningServer, login: Login
) -> None:
    login(page, server)
    views = page.get_by_role("navigation", name="Views of countries")
    for tab, key, endpoint in (("Regions", "region", "regions"), ("Cities", "city", "cities")):
        views.get_by_role("link", name=tab).click()
        page.wait_for_url(lambda url, key=key: query(url) == {"countries": key})
        shown = page.locator(f"table[data-list={key}] tbody tr").evaluate_all(
            """rows => rows.map(row => [
                row.querySelector("th[scope=row]").textContent.trim(),
                Number(row.querySelector("td[data-visitors]").dataset.visitors),
            ])"""
        )
        results = api(server, endpoint, limit="10", range="30d")["results"]
        expected = [[f"{flag(r['country'])} {r['name']}", r["visitors"]] for r in results]
        assert len(expected) == 10 and shown == expected, tab


# -- realtime -------------------------------------------------------------------------------


def test_a_new_visitor_raises_the_realtime_count_within_seconds(
    page: Page, server: RunningServer, login: Login
) -> None:
    login(page, server)
    shown = realtime_count(page)
    assert shown == api(server, "realtime")["visitors"]

    response = server.event({"url": "https://demo.footfall.dev/live"}, ip="203.0.113.50")

    assert response.status_code == 202 and "x-footfall-dropped" not in response.headers
    expect(page.locator("#ff-realtime")).to_have_text(f"{shown + 1:,}", timeout=10_000)
    assert api(server, "realtime")["visitors"] == shown + 1


# -- untrusted text -------------------------------------------------------------------------


def test_visitor_sent_markup_is_shown_as_text_and_runs_nothing(
    page: Page,
    server: RunningServer,
    login: Login,
    page_log: Callable[[Page], Any],
) -> None:
    # As a browser sends them: the path percent-encoded as in location.href (and so stored;
    # the top pages list shows it decoded, as <script>), the query too, whose utm_source
    # comes out decoded as the referrer source; the referrer as document.referrer.
    path = f"/{as_browsers_encode(SCRIPT)}{as_browsers_encode(IMG)}"
    source = f"{SCRIPT}{IMG}"
    url = f"https://demo.footfall.dev{path}?utm_source={as_browsers_encode(source)}"
    referrer = f"https://evil.example/{as_browsers_encode(SCRIPT)}"
    ip = "198.51.100.66"
    sent = [
        server.event({"url": url, "referrer": referrer}, ip=ip),
        server.event({"name": SCRIPT, "url": url, "props": {SCRIPT: IMG}}, ip=ip),
        server.event({"name": IMG, "url": url, "props": {IMG: SCRIPT}}, ip=ip),
    ]
    assert all(r.status_code == 202 and "x-footfall-dropped" not in r.headers for r in sent)
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)

    login(page, server)  # the default view: 30 days, no filter
    events = page.locator("table[data-list=top-events]")
    expect(events.get_by_role("link", name=SCRIPT, exact=True)).to_be_visible()
    expect(events.get_by_role("link", name=IMG, exact=True)).to_be_visible()
    assert_nothing_ran(page, dialogs)

    # The view of the one visit that sent the event: its page, its source, the event's
    # properties, and the filter chip all carry the markup.
    page.goto(dashboard(server, event=SCRIPT))
    pages = page.locator("table[data-list=top-pages]")
    expect(pages.locator("th[scope=row] a")).to_have_text([f"/{SCRIPT}{IMG}"])  # read decoded
    referrers = page.locator("table[data-list=top-referrers]")
    expect(referrers.locator("th[scope=row] a")).to_have_text([source])
    expect(page.locator("table[data-list=top-events] th[scope=row] a")).to_have_text([SCRIPT])
    properties = page.locator("table[data-list=event-properties] tbody tr")
    expect(properties).to_have_count(1)
    expect(properties.locator("th")).to_have_text(SCRIPT)
    expect(properties.locator("td").first).to_have_text(IMG)
    expect(page.get_by_role("heading", name=f"Properties of {SCRIPT}")).to_be_visible()
    expect(page.get_by_role("region", name="Filters")).to_contain_text(SCRIPT)
    expect(page.get_by_text("<script>", exact=False).first).to_be_visible()
    assert page.get_by_text("<script>", exact=False).count() > 0
    assert_nothing_ran(page, dialogs)

    # A click on the markup's own link filters by it, as text again.
    referrers.get_by_role("link", name=source, exact=True).click()
    page.wait_for_url(lambda url: query(url).get("source") == source)
    expect(page.get_by_role("region", name="Filters")).to_contain_text(source)
    assert_nothing_ran(page, dialogs)
    page_log(page).assert_clean()  # a blocked inline script would be a console error


def assert_nothing_ran(page: Page, dialogs: list[str]) -> None:
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
    # Nothing of the markup became an element (the CSP would stop it running; the
    # escaping must keep it from existing at all).
    scripts = page.locator("script").evaluate_all("s => s.map(e => e.getAttribute('src'))")
    assert len(scripts) == 1 and scripts[0].endswith("/assets/dashboard.js"), scripts
    assert page.locator("img").count() == 0
    assert page.locator("[onerror]").count() == 0


# -- what the page loads ----------------------------------------------------------------------


def test_the_dashboard_talks_only_to_its_server_and_logs_no_error(
    page: Page, server: RunningServer, login: Login, page_log: Callable[[Page], Any]
) -> None:
    login(page, server)
    wait_for_stream(page, server)
    page.locator("rect.ff-hit").last.hover()  # the chart read-out, the script's other part
    expect(page.locator("#ff-readout")).not_to_be_empty()

    log = page_log(page)
    log.assert_clean()
    paths = {urlsplit(url).path for url in log.requests}
    base = f"{server.analytics.config.site_base_path}/analytics"
    assert {f"{base}/assets/dashboard.css", f"{base}/assets/dashboard.js"} <= paths
    assert f"{base}/realtime" in paths


def test_the_chart_read_out_gives_the_counts_of_the_point_under_the_pointer(
    page: Page, server: RunningServer, login: Login
) -> None:
    login(page, server)
    point = page.locator("rect.ff-hit").last
    tooltip = point.locator("title").text_content()
    assert tooltip and "visitor" in tooltip and "page view" in tooltip

    point.hover()

    expect(page.locator("#ff-readout")).to_have_text(tooltip, timeout=2_000)


# -- screenshots and the phone ------------------------------------------------------------------
# The demo has 30 days of traffic, so the default 30-day view compares with a previous
# period holding only its first half-day (+3000%); the docs show the last 14 whole days,
# whose previous 14 days the demo covers too (and the Hacker News day is in the view).


def test_desktop_screenshot(
    page: Page,
    server: RunningServer,
    login: Login,
    screenshot: Callable[..., Path],
) -> None:
    add_live_visitors(server, 3)
    login(page, server)
    page.goto(dashboard(server, **last_full_days(server, 14)))
    expect(page.locator("table[data-list=top-pages] tbody tr")).to_have_count(10)
    expect(page.locator(".ff-change").first).to_contain_text("%")  # compared, not "no data"
    path = screenshot(page, "dashboard-desktop.png", full_page=True)
    assert path.stat().st_size > 10_000


def test_phone_screenshot_and_no_sideways_scrolling(
    phone_page: Page,
    server: RunningServer,
    login: Login,
    screenshot: Callable[..., Path],
    page_log: Callable[[Page], Any],
) -> None:
    page = phone_page
    add_live_visitors(server, 3)
    login(page, server)
    assert_no_sideways_scrolling(page)
    page.goto(dashboard(server, **last_full_days(server, 14)))
    expect(visitors_tile(page)).to_be_visible()
    assert_no_sideways_scrolling(page)
    path = screenshot(page, "dashboard-phone.png")
    assert path.stat().st_size > 10_000
    page_log(page).assert_clean()


def assert_no_sideways_scrolling(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{page.url} scrolls sideways on a phone: {width}px wide"


# -- keyboard -----------------------------------------------------------------------------------


def focused(page: Page) -> dict[str, str]:
    return page.evaluate(
        """() => {
            const e = document.activeElement;
            return {tag: e.tagName.toLowerCase(), text: (e.textContent || "").trim(),
                    href: e.getAttribute("href") || "", cls: e.getAttribute("class") || ""};
        }"""
    )


def test_tab_goes_skip_link_ranges_controls_chart_then_lists(
    page: Page, server: RunningServer, login: Login
) -> None:
    login(page, server)
    first_page = page.locator("table[data-list=top-pages] th[scope=row] a").first
    first_page_href = first_page.get_attribute("href")
    buckets = page.locator("rect.ff-hit").count()

    reached: list[dict[str, str]] = []
    for _ in range(100):
        page.keyboard.press("Tab")
        reached.append(focused(page))
        if reached[-1]["href"] == first_page_href:
            break
    else:
        pytest.fail(f"100 Tabs did not reach the first top page: {reached[-5:]}")

    assert reached[0]["cls"] == "ff-skip" and reached[0]["href"] == "#ff-stats"
    expect(first_page).to_be_focused()
    expect(page.locator(".ff-skip")).not_to_be_in_viewport()  # off-screen again once left
    stops = [r["text"] for r in reached if r["tag"] in ("a", "button", "summary")]
    assert stops == [
        "Skip to the numbers",
        *RANGE_LABELS,
        "Show",
        "Export CSV",
        "Add a filter",
        "No comparison",
        "Previous period",
        "Last year",
        "Show the numbers as a table",
        "Top pages",
        "Entry pages",
        "Exit pages",
        first_page.text_content(),
    ]
    tags = [r["tag"] for r in reached]
    # The custom dates, then the chart as one stop, on its first point.
    assert "input" in tags[1 + len(RANGE_LABELS) : tags.index("button")]
    assert buckets > 2 and tags.count("rect") == 1
    table = next(i for i, r in enumerate(reached) if r["text"] == "Show the numbers as a table")
    assert tags.index("rect") == table - 1


def test_the_arrow_keys_move_along_the_chart(
    page: Page, server: RunningServer, login: Login
) -> None:
    login(page, server)
    points = page.locator("rect.ff-hit")
    readout = page.locator("#ff-readout")
    points.first.focus()
    expect(readout).to_have_text(points.first.locator("title").text_content() or "")
    page.keyboard.press("ArrowRight")
    expect(points.nth(1)).to_be_focused()
    expect(readout).to_have_text(points.nth(1).locator("title").text_content() or "")
    page.keyboard.press("End")
    expect(points.last).to_be_focused()
    page.keyboard.press("ArrowRight")  # stays on the last point
    expect(points.last).to_be_focused()
    page.keyboard.press("Home")
    expect(points.first).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(points.first).to_be_focused()
    page.keyboard.press("End")
    # The point left last keeps the one Tab stop.
    tabbable = points.evaluate_all("ps => ps.filter(p => p.tabIndex === 0).length")
    assert tabbable == 1 and points.last.get_attribute("tabindex") == "0"


def test_the_skip_link_shows_when_focused(page: Page, server: RunningServer, login: Login) -> None:
    login(page, server)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the numbers")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()


def test_the_skip_link_skips_the_controls(page: Page, server: RunningServer, login: Login) -> None:
    login(page, server)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**#ff-stats")

    page.keyboard.press("Tab")

    assert focused(page)["text"] not in (*RANGE_LABELS, "Show", "Export CSV")
    after_stats = page.evaluate(
        """() => Boolean(document.querySelector(".ff-stats")
            .compareDocumentPosition(document.activeElement) & Node.DOCUMENT_POSITION_FOLLOWING)"""
    )
    assert after_stats, f"Tab after the skip link went to {focused(page)}"
