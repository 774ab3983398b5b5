"""Rolling up the visitors seen on two days: what keeps a report in a zone west or east of
UTC from regrouping a tenth of its visitors' visits.

A visitor id lives one UTC day (and a visit that continues past its midnight), so in UTC
few visitors are seen on two local days. Elsewhere, the local midnight cuts every UTC day
in two: in New York, at 10,000,000 events over 90 days, 2,200 visitors a day are seen on
two days, and regrouping their 2,700 visit parts a day made a 30-day page take 2 seconds.

Those seen on exactly two days, and on no other, add up per pair of days: once both days
are rolled up, ``rollup_pair`` keeps ``rollup_day``'s rows (and ``rollup_filtered_day``'s)
of those visitors over both days (``both``) and over each alone (``before``, ``after``),
computed from their stored parts (``rollup_visit_part``, ``rollup_visitor_item``, whose
``pair_day`` names the pair). A period then reads, for each pair, ``both`` when it holds
the two days, the side it holds when it begins or ends between them, and the parts only
when its other side is read from raw events (query/rollups.py). The few visitors seen on
three days are always regrouped.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Connection, func, insert, literal, select

from footfall.query.metrics import Queries
from footfall.query.rollups import FILTERS, Split, visits_from_parts
from footfall.store.schema import rollup_day, rollup_pair, rollup_visit_part, rollup_visitor_item
from footfall.store.sums import ITEM_COLUMNS, DaySums, scratch_tables

PARTS = ("before", "after", "both")
"""The parts of a pair's numbers: over its first day, its second, and both."""

_COLUMNS = [*(c.name for c in rollup_day.columns), "filter", "filter_value", "part", "bucket_day"]
"""The ``rollup_pair`` columns the inserting queries select, in order: ``DaySums``'s, the
filter (``""``: none), then the part and the day it is counted on."""


def roll_up_pair(conn: Connection, definitions: Queries, day: date) -> None:
    """The ``rollup_pair`` rows of the pair that ends on ``day`` (just rolled up, as the
    day before was), from the stored parts of its visitors' visits."""
    first = day - timedelta(days=1)
    part = rollup_visit_part.c
    visitors = select(part.visitor_id).where(part.day == day, part.pair_day == day)
    if conn.execute(visitors.limit(1)).first() is None:
        return  # no visitor seen on both days
    for name, days, bucket_day in (
        ("before", (first, day), first),
        ("after", (day, day + timedelta(days=1)), day),
        ("both", (first, day + timedelta(days=1)), day),
    ):
        day_visit, day_item = scratch_tables(conn)
        visits = visits_from_parts(Split(days, raw=())).subquery("visits")
        conn.execute(
            insert(day_visit).from_select(
                [c.name for c in day_visit.columns],
                select(*(visits.c[c.name] for c in day_visit.columns)).where(
                    visits.c.visitor_id.in_(visitors)
                ),
            )
        )
        item = rollup_visitor_item.c
        conn.execute(
            insert(day_item).from_select(
                ITEM_COLUMNS,
                select(
                    item.session_id, item.visitor_id, item.kind, item.value, func.sum(item.count)
                )
                .where(item.day >= days[0], item.day < days[1], item.pair_day == day)
                .group_by(item.session_id, item.visitor_id, item.kind, item.value),
            )
        )
        sums = DaySums(definitions, day, day_visit, day_item)
        tail = [literal(name), literal(bucket_day)]
        for query in sums.of(day_visit, None):
            conn.execute(
                insert(rollup_pair).from_select(
                    _COLUMNS, query.add_columns(literal(""), literal(""), *tail)
                )
            )
        for filter in FILTERS:
            for query in sums.of(sums.selected_by(filter), filter):
                conn.execute(insert(rollup_pair).from_select(_COLUMNS, query.add_columns(*tail)))
        day_visit.drop(conn)
        day_item.drop(conn)
