"""Rolling up the visitors seen on two days: what keeps a report in a zone west or east of UTC
from regrouping a tenth of its visitors' visits.

A visitor id lives one UTC day (and a visit that continues past its midnight), so in UTC
few visitors are seen on two local days. Elsewhere, the local midnight cuts every UTC day
in two: in New York, at 10,000,000 events over 90 days, 2,200 visitors a day are seen on
two days, and regrouping their 2,700 visit parts a day made a 30-day page take 2 seconds.

Those seen on exactly two days, and on no other, add up per pair of days: once both days
are rolled up, ``rollup_pair`` keeps ``rollup_day``'s rows (and ``rollup_filtered_day``'s)
of those visitors over both days (``both``) and over each alone (``before``, ``after``);
and, for a chart by day with a filter, each day's part of the visits the filter selects
over both (``before_both``, ``after_both``). They are computed from the visitors' stored
parts (``rollup_visit_part``, ``rollup_visitor_item``, whose ``pair_day`` names the pair).
A period then reads, for each pair, ``both`` when it holds the two days, the side it holds
when it begins or ends between them, and the parts only when its other side is read from
raw events (query/rollups.py). The few visitors seen on three days are always regrouped.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Select, insert, literal, select

from footfall.query.metrics import Queries
from footfall.query.rollups import FILTERS
from footfall.store.schema import rollup_day, rollup_pair, rollup_visit_part, rollup_visitor_item
from footfall.store.sums import DaySums, sums_of_parts

_COLUMNS = [*(c.name for c in rollup_day.columns), "filter", "filter_value", "part", "bucket_day"]
"""The ``rollup_pair`` columns the inserting queries select, in order: ``DaySums``'s, the
filter (``""``: none), then the part and the day it is counted on."""


def roll_up_pair(conn: Connection, definitions: Queries, day: date) -> None:
    """The ``rollup_pair`` rows of the pair that ends on ``day`` (just rolled up, as the
    day before was), from the stored parts of its visitors' visits."""
    first = day - timedelta(days=1)
    if conn.execute(_visitors(day).limit(1)).first() is None:
        return  # no visitor seen on both days
    both = _scratch(conn, definitions, day, (first, day + timedelta(days=1)), "pair")
    _insert(conn, _every_row(both), "both", day)
    for name, days, bucket_day in (
        ("before", (first, day), first),
        ("after", (day, day + timedelta(days=1)), day),
    ):
        sums = _scratch(conn, definitions, day, days, "day")
        _insert(conn, _every_row(sums), name, bucket_day)
        along = [
            query
            for filter in FILTERS
            for query in sums.of(
                sums.selected_along(filter, both.selected_by(filter)), filter, BY_BUCKET
            )
        ]
        _insert(conn, along, f"{name}_both", bucket_day)
        for table in (sums.day_visit, sums.day_item):
            table.drop(conn)
    for table in (both.day_visit, both.day_item):
        table.drop(conn)


BY_BUCKET = ("", "page")
"""The dimensions a report by day or month reads: the chart's and the sparklines'."""


def _visitors(day: date) -> Select[Any]:
    """The ids of the visitors of the pair that ends on ``day``."""
    part = rollup_visit_part.c
    return select(part.visitor_id).where(part.day == day, part.pair_day == day)


def _scratch(
    conn: Connection, definitions: Queries, day: date, days: tuple[date, date], name: str
) -> DaySums:
    """The sums over the visits, cut to ``days``, of the pair's visitors (scratch tables
    ``name``), from their stored parts and items."""
    chosen = rollup_visitor_item.c.pair_day == day
    return sums_of_parts(conn, definitions, day, days, _visitors(day), name, chosen)


def _every_row(sums: DaySums) -> list[Select[Any]]:
    """Every dimension's rows over all the scratch's visits, then over those each filter
    value selects, with the filter (``""``: none)."""
    rows = [query.add_columns(literal(""), literal("")) for query in sums.of(sums.day_visit, None)]
    for name in FILTERS:
        rows += sums.of(sums.selected_by(name), name)
    return rows


def _insert(conn: Connection, queries: list[Select[Any]], part: str, bucket_day: date) -> None:
    """Insert ``queries``' rows (``DaySums.of``'s, with a filter) as the pair's ``part``."""
    tail = [literal(part), literal(bucket_day)]
    for query in queries:
        conn.execute(insert(rollup_pair).from_select(_COLUMNS, query.add_columns(*tail)))
