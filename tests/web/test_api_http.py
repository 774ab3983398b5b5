"""The JSON aggregation API over HTTP: access, parameters, the badge and the OpenAPI file."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

TOKEN = "the-admin-token-of-the-test"
BASE = "/api/data/analytics"


@pytest.fixture
def server(serve, make_analytics, sqlite_url):
    analytics = make_analytics(sqlite_url, admin_token=TOKEN)
    running = serve(analytics)
    for path in ("/blog/x", "/blog/x", "/"):
        assert running.event({"url": "https://example.com" + path}).status_code == 202
    return running


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ENDPOINTS = [
    "stats",
    "overview",
    "timeseries",
    "top-pages",
    "top-referrers",
    "top-events",
    "event-properties?name=Signup",
    "top-countries",
    "top-devices",
    "top-browsers",
    "top-os",
    "realtime",
    "page-stats?path=/blog/x",
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_every_endpoint_needs_the_admin_token(server, endpoint):
    missing = server.client.get(f"{BASE}/{endpoint}")
    assert missing.status_code == 403
    assert "authorize" in missing.json()["error"] and "Bearer" in missing.json()["error"]
    wrong = server.client.get(f"{BASE}/{endpoint}", headers=auth("guess"))
    assert wrong.status_code == 403
    right = server.client.get(f"{BASE}/{endpoint}", headers=auth())
    assert right.status_code == 200, right.text


def test_host_authorize_callable_decides(serve, make_analytics, sqlite_url):
    async def authorize(request):  # type: ignore[no-untyped-def]
        return request.headers.get("x-staff") == "yes"

    server = serve(make_analytics(sqlite_url, authorize=authorize))
    assert server.client.get(f"{BASE}/stats").status_code == 403
    assert server.client.get(f"{BASE}/stats", headers={"X-Staff": "yes"}).status_code == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("range=fortnight", "range"),
        ("from=2026-11-10", "to"),
        ("from=2026-11-10&to=2026-11-01", "to"),
        ("from=yesterday&to=2026-11-01", "from"),
        ("range=7d&from=2026-11-01&to=2026-11-02", "range"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("limit=5000", "limit"),
        ("from=1900-01-01&to=2026-01-01", "from"),
        # Found by the penetration test: each was a 500 and a traceback.
        ("limit=%C2%B2", "limit"),  # a superscript two: isdigit() but not int()
        ("limit=" + "9" * 4301, "limit"),  # past Python's limit on converting digits
        ("from=0001-01-01&to=0001-01-05", "from"),  # its comparison period is before year 1
        ("from=9999-12-25&to=9999-12-31", "from"),  # the day after is past year 9999
    ],
)
def test_nonsense_parameters_get_a_400_naming_them(server, query, field):
    response = server.client.get(f"{BASE}/top-pages?{query}", headers=auth())
    assert response.status_code == 400
    assert response.json()["field"] == field
    page = server.client.get(f"/pages/analytics?{query}", headers=auth())
    if field == "limit":  # the dashboard sets its own limit; a number it ignores is fine
        assert page.status_code in (200, 400)
    else:
        assert page.status_code == 400 and field in page.text


def test_an_unknown_parameter_is_a_400_not_ignored(server):
    """A misspelt filter answered with the unfiltered numbers before."""
    response = server.client.get(f"{BASE}/top-pages?contry=DE", headers=auth())
    assert response.status_code == 400
    assert response.json()["field"] == "contry"
    assert "country" in response.json()["error"]  # it says what the endpoint takes
    realtime = server.client.get(f"{BASE}/realtime?range=7d", headers=auth())
    assert realtime.status_code == 400 and realtime.json()["field"] == "range"
    # Each endpoint's own parameters are taken.
    properties = server.client.get(f"{BASE}/event-properties?name=Signup&page=/", headers=auth())
    assert properties.status_code == 200


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("page~=blog", [("/blog/x", 1, 2)]),
        ("page!=/blog/x", [("/", 1, 1)]),
        ("page=/|/blog/x", [("/blog/x", 1, 2), ("/", 1, 1)]),
        ("page!~=/", []),
        ("page=%2Fblog%2Fx%5C%7C", []),  # "/blog/x\|": one path, with a "|" at its end
    ],
)
def test_filters_take_operators_and_several_values_in_the_query_string(server, query, expected):
    response = server.client.get(f"{BASE}/top-pages?{query}", headers=auth())
    assert response.status_code == 200, response.text
    found = [(r["path"], r["visitors"], r["pageviews"]) for r in response.json()["results"]]
    assert found == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=/&page!=/x", "page!"),  # one filter of a name
        ("country=US||DE", "country"),  # an empty value
        ("country!=" + "|".join(["XX"] * 51), "country!"),
        ("page~=" + "x" * 2001, "page~"),
    ],
)
def test_a_filter_it_cannot_read_is_a_400_naming_it(server, query, field):
    response = server.client.get(f"{BASE}/stats?{query}", headers=auth())
    assert response.status_code == 400
    assert response.json()["field"] == field


def test_the_dashboard_adds_a_filter_from_its_form(server):
    added = server.client.get(
        "/pages/analytics?range=7d&filter=page&operator=~&value=blog",
        headers=auth(),
        follow_redirects=False,
    )
    assert added.status_code == 303
    assert added.headers["location"] == "/pages/analytics?range=7d&page~=blog"
    page = server.client.get(added.headers["location"], headers=auth())
    assert '<span class="ff-muted">page contains</span> blog' in page.text
    # The page's own rows link to "is exactly": the other filter of pages is replaced.
    assert 'href="/pages/analytics?range=7d&amp;page=%2Fblog%2Fx"' in page.text
    bad = server.client.get("/pages/analytics?filter=colour&value=red", headers=auth())
    assert bad.status_code == 400 and "filter" in bad.text


@pytest.mark.parametrize(
    "cookie",
    [
        "2796000000.\u00e9",  # a signature that is not ASCII (the expiry still ahead)
        "1796000000\u00b9.abc",  # a superscript digit in the expiry
        "9" * 4301 + ".abc",  # an expiry past Python's limit on converting digits
        "",
        ".",
        "abc",
    ],
)
def test_a_forged_session_cookie_is_refused_not_a_500(server, cookie):
    headers = {"Cookie": f"footfall_admin={cookie}".encode("latin-1")}  # one byte each
    for path in (f"{BASE}/stats", "/pages/analytics"):
        response = server.client.get(path, headers=headers)
        assert response.status_code == 403, (path, response.text[:200])


def test_page_stats_and_badge_are_private_by_default_and_public_on_request(
    serve, make_analytics, sqlite_url
):
    private = serve(make_analytics(sqlite_url, admin_token=TOKEN))
    private.event({"url": "https://example.com/blog/x"})
    assert private.client.get(f"{BASE}/badge.svg?path=/blog/x").status_code == 403
    assert private.client.get(f"{BASE}/page-stats?path=/blog/x").status_code == 403

    public = serve(make_analytics(sqlite_url, admin_token=TOKEN, public_counters=True))
    page = public.client.get(f"{BASE}/page-stats?path=/blog/x")
    assert page.status_code == 200 and page.json()["pageviews"] == 1
    assert public.client.get(f"{BASE}/stats").status_code == 403  # only the counters


def test_badge_shows_the_compact_count(server):
    response = server.client.get(f"{BASE}/badge.svg?path=/blog/x", headers=auth())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert "max-age=" in response.headers["cache-control"]
    svg = ET.fromstring(response.text)
    assert svg.get("aria-label") == "views: 2"
    visitors = server.client.get(
        f"{BASE}/badge.svg?path=/blog/x&metric=visitors&label=<b>", headers=auth()
    )
    assert ET.fromstring(visitors.text).get("aria-label") == "<b>: 1"
    assert "<b>" not in visitors.text  # the label is escaped, not markup
    assert (
        server.client.get(f"{BASE}/badge.svg?path=/x&metric=likes", headers=auth()).status_code
        == 400
    )
    assert server.client.get(f"{BASE}/badge.svg", headers=auth()).status_code == 400


def test_openapi_describes_every_endpoint_validly(server):
    from openapi_spec_validator import validate

    spec = server.client.get(f"{BASE}/openapi.json").json()
    validate(spec)
    paths = set(spec["paths"])
    for endpoint in ENDPOINTS:
        assert f"{BASE}/{endpoint.split('?')[0]}" in paths
    stats = spec["components"]["schemas"]["DashboardStats"]["properties"]
    assert {
        "visitors",
        "visits",
        "pageviews",
        "bounce_rate",
        "visit_duration",
        "views_per_visit",
    } <= set(stats)
    assert "Percent" in stats["bounce_rate"]["description"]


def test_export_csv_streams_the_period_and_needs_the_token(server):
    assert server.client.get(f"{BASE}/export.csv").status_code == 403
    response = server.client.get(f"{BASE}/export.csv?range=7d", headers=auth())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    lines = response.text.strip().splitlines()
    assert lines[0].startswith("type,timestamp,name")
    assert len(lines) == 4  # the header and three page views
    bad = server.client.get(f"{BASE}/export.csv?range=nope", headers=auth())
    assert bad.status_code == 400 and bad.json()["field"] == "range"


def test_page_stats_and_to_only_use_custom_dates(server):
    from datetime import UTC, datetime

    today = datetime.now(UTC).date().isoformat()
    page = server.client.get(
        f"{BASE}/page-stats?path=/blog/x&from={today}&to={today}", headers=auth()
    )
    assert page.status_code == 200 and page.json()["range"] == "custom"
    only_to = server.client.get(f"{BASE}/stats?to={today}", headers=auth())
    assert only_to.status_code == 400 and only_to.json()["field"] == "from"
