"""A list's details view: the whole list, a page of 100 rows at a time, and its search."""

from __future__ import annotations

import re

from footfall import Filter
from footfall.dashboard.details import LISTS, search_filter

TOKEN = "details-admin-token"
DETAILS = "/pages/analytics/details"
PATHS = [f"/p/{n:03d}" for n in range(150)]


def rows(html: str) -> list[tuple[int, str]]:
    """``(position, name)`` of each row of the details table."""
    found = re.findall(r'<tr><td>(\d+)</td><th scope="row"><a href="[^"]*">([^<]*)</a>', html)
    return [(int(n), name) for n, name in found]


def test_pages_of_a_hundred_rows_a_search_and_the_filters_kept(serve, make_analytics, sqlite_url):
    server = serve(make_analytics(sqlite_url, admin_token=TOKEN))
    for n, path in enumerate(PATHS):  # one view each: the list is in the order of paths
        response = server.event({"url": "https://example.com" + path}, ip=f"198.51.{n}.7")
        assert response.status_code == 202
    server.client.get(f"/pages/analytics?token={TOKEN}")  # the admin cookie

    first = server.client.get(f"{DETAILS}/top-pages?range=7d")
    assert first.status_code == 200
    assert rows(first.text) == [(n + 1, path) for n, path in enumerate(PATHS[:100])]
    assert 'rel="next"' in first.text and 'rel="prev"' not in first.text
    assert "Rows 1\u2013100" in first.text
    second = server.client.get(f"{DETAILS}/top-pages?range=7d&p=2")
    assert rows(second.text) == [(n + 101, path) for n, path in enumerate(PATHS[100:])]
    assert 'rel="next"' not in second.text and "Rows 101\u2013150" in second.text

    # "14" is in /p/014, /p/114 and /p/140 to /p/149: 12 paths.
    searched = server.client.get(f"{DETAILS}/top-pages?range=7d&q=14")
    expected = ["/p/014", "/p/114", *(f"/p/{n}" for n in range(140, 150))]
    assert [name for _, name in rows(searched.text)] == expected
    # The dashboard's filters stay, and a row links back to it with its own filter.
    filtered = server.client.get(f"{DETAILS}/top-pages?range=7d&page~=/p/00")
    assert [name for _, name in rows(filtered.text)] == PATHS[:10]
    assert 'href="/pages/analytics?range=7d&amp;page=%2Fp%2F000"' in filtered.text
    assert 'href="/pages/analytics?range=7d&amp;page~=%2Fp%2F00"' in filtered.text  # back
    nothing = server.client.get(f"{DETAILS}/top-pages?q=nowhere")
    assert "Nothing matches" in nothing.text and rows(nothing.text) == []


def test_countries_are_searched_by_name_or_code():
    countries = LISTS["top-countries"]
    united = search_filter(countries, " United ")
    assert united is not None and not united.negated
    assert {"AE", "GB", "US"} <= set(united.values) and "DE" not in united.values
    assert search_filter(countries, "xk") == Filter(("XK",))  # Kosovo, by its code
    assert search_filter(countries, "") is None
    assert search_filter(LISTS["top-pages"], "/blog") == Filter.contains("/blog")


def test_a_list_or_page_that_does_not_exist(serve, make_analytics, sqlite_url):
    server = serve(make_analytics(sqlite_url, admin_token=TOKEN))
    assert server.client.get(f"{DETAILS}/top-pages").status_code == 403  # not signed in
    server.client.get(f"/pages/analytics?token={TOKEN}")
    assert server.client.get(f"{DETAILS}/top-secrets").status_code == 404
    for bad in ("0", "11", "x", "²", "9" * 5000):
        response = server.client.get(f"{DETAILS}/top-pages?p={bad}")
        assert response.status_code == 400 and "p:" in response.text, bad
    assert server.client.get(f"{DETAILS}/top-pages?q={'x' * 201}").status_code == 400
