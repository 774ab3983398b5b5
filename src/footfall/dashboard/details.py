"""A list's details view: the whole list of one dashboard card (up to ``MAX_LIMIT`` rows),
a page at a time, with a search, for the same period and filters as the dashboard it came
from.

The search is a *contains* filter on the list's own dimension (a country's name for
countries), so it narrows the list and nothing else is shown: what the filter would do to
the other numbers does not matter here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from footfall.api import MAX_LIMIT
from footfall.dashboard import countries
from footfall.query.filters import Filter
from footfall.query.ranges import InvalidQuery

if TYPE_CHECKING:
    from footfall.api import AnalyticsAPI

PER_PAGE = 100
MAX_SEARCH = 200


@dataclass(frozen=True, slots=True)
class DetailsList:
    """One card's list: how to read it from the API and how to show it."""

    title: str
    heading: str
    method: str
    """The ``AnalyticsAPI`` method that reads it (``limit, range, **filters``)."""
    filter: str
    """The filter a row sets, and the one the search is."""
    name: str
    """The row's field that names it."""
    columns: tuple[tuple[str, str], ...]
    """The numbers shown: ``(heading, field)``."""


_VISITS = (("Visitors", "visitors"), ("Visits", "visits"))

LISTS: dict[str, DetailsList] = {
    "top-pages": DetailsList(
        "Top pages",
        "Page",
        "get_top_pages",
        "page",
        "path",
        (("Visitors", "visitors"), ("Page views", "pageviews")),
    ),
    "entry-pages": DetailsList(
        "Entry pages",
        "Entry page",
        "get_entry_pages",
        "page",
        "path",
        (("Visitors", "visitors"), ("Entrances", "visits"), ("Bounce rate", "bounce_rate")),
    ),
    "exit-pages": DetailsList(
        "Exit pages",
        "Exit page",
        "get_exit_pages",
        "page",
        "path",
        (("Visitors", "visitors"), ("Exits", "exits"), ("Exit rate", "exit_rate")),
    ),
    "top-referrers": DetailsList(
        "Top referrers", "Source", "get_top_referrers", "source", "source", _VISITS
    ),
    "top-events": DetailsList(
        "Custom events",
        "Event",
        "get_top_events",
        "event",
        "name",
        (("Visitors", "visitors"), ("Events", "events")),
    ),
    "top-countries": DetailsList(
        "Countries", "Country", "get_top_countries", "country", "value", _VISITS
    ),
    "top-devices": DetailsList("Devices", "Device", "get_top_devices", "device", "value", _VISITS),
    "top-browsers": DetailsList(
        "Browsers", "Browser", "get_top_browsers", "browser", "value", _VISITS
    ),
    "top-os": DetailsList("Operating systems", "OS", "get_top_os", "os", "value", _VISITS),
}
"""The lists with a details view, by the name their card's table has (``data-list``)."""


@dataclass(frozen=True, slots=True)
class DetailsPage:
    """One page of a details view: its rows, and whether pages come before and after."""

    rows: list[Any]
    number: int
    first: int
    """The position of its first row in the whole list (1-based)."""
    more: bool
    """More rows follow this page."""
    capped: bool
    """The list goes on past the ``MAX_LIMIT`` rows a details view shows."""


def page_number(text: str | None) -> int:
    """The page asked for (``p``, from 1), or ``InvalidQuery``."""
    last = MAX_LIMIT // PER_PAGE
    if text is None or text == "":
        return 1
    if not (text.isascii() and text.isdigit() and 1 <= int(text[:4]) <= last):
        raise InvalidQuery("p", f"must be a page number from 1 to {last}")
    return int(text)


def search_filter(chosen: DetailsList, search: str) -> Filter | None:
    """The filter of a search of the list (None for no search): the list's dimension
    contains it, or, for countries, the countries whose name or code does."""
    search = search.strip()
    if not search:
        return None
    if len(search) > MAX_SEARCH:
        raise InvalidQuery("q", f"must be at most {MAX_SEARCH} characters")
    if chosen.filter != "country":
        return Filter.contains(search)
    folded = search.casefold()
    codes = [
        code
        for code, name in countries.NAMES.items()
        if folded in name.casefold() or folded == code.casefold()
    ]
    return Filter(tuple(codes)) if codes else Filter.contains(search)


async def read_page(
    api: AnalyticsAPI,
    chosen: DetailsList,
    params: dict[str, Any],
    search: str,
    number: int,
) -> DetailsPage:
    """The rows of page ``number`` of the list, searched for ``search``, for the period
    and filters of ``params`` (``read_params``')."""
    params = dict(params)
    range = params.pop("range")
    params.pop("limit")
    found = search_filter(chosen, search)
    if found is not None:
        params[chosen.filter] = found
    end = number * PER_PAGE
    rows = await getattr(api, chosen.method)(min(end + 1, MAX_LIMIT), range, **params)
    return DetailsPage(
        rows=rows[end - PER_PAGE : end],
        number=number,
        first=end - PER_PAGE + 1,
        more=len(rows) > end,
        capped=end >= MAX_LIMIT and len(rows) >= MAX_LIMIT,
    )
