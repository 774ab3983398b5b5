"""The sums a rollup row keeps, computed once for every kind of rollup: of a whole day
(store/rollups.py), of a part of one (store/windows.py), of the day in progress's finished
visits (store/today.py) and of the visitors of two days (store/pairs.py).

Each is filled from scratch tables of the visits concerned and of their pages and events,
with the report's own definitions (query/metrics.py), so a rollup row holds the numbers a
raw read of the same visits gives.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    Select,
    String,
    Table,
    Text,
    distinct,
    func,
    insert,
    literal,
    select,
)

from footfall.query.filters import empty_value
from footfall.query.metrics import Queries
from footfall.query.properties import PROPERTY
from footfall.query.rollups import (
    COUNTED,
    FILTER_VALUE_MAX,
    ITEMS,
    VISIT_ATTRIBUTES,
    Split,
    item_source,
    visit_columns,
    visits_from_parts,
)
from footfall.query.sql import naive_utc
from footfall.store.schema import rollup_visit_part, rollup_visitor_item
from footfall.store.scratch import scratch_table

ITEM_COLUMNS = ["session_id", "visitor_id", "kind", "value", "count"]
"""The columns ``items_of_day`` selects, in order."""


def items_of_day(
    kind: str, start: datetime, end: datetime, chosen: Callable[[Any], Any]
) -> Select[Any]:
    """``ITEM_COLUMNS``: the pages viewed, events sent or their property values in
    ``[start, end)``, per visit, of the events ``chosen`` (a condition on the page view or
    event table)."""
    table, column, source = item_source(kind)
    return (
        select(table.c.session_id, table.c.visitor_id, literal(kind), column, func.count())
        .select_from(source)
        .where(
            table.c.timestamp >= naive_utc(start),
            table.c.timestamp < naive_utc(end),
            chosen(table),
        )
        .group_by(table.c.session_id, table.c.visitor_id, column)
    )


def single_day_scratch(
    conn: Connection, visits: Any, elsewhere: Any, start: datetime, end: datetime
) -> tuple[Table, Table]:
    """Scratch tables (``scratch_tables``) filled with the ``visits`` (rows of
    ``Queries.visits_select``) in ``[start, end)`` of the visitors not ``elsewhere`` (a
    select of visitor ids), and the pages and events of each: what every sum of a day, or
    of a part of one, reads."""
    day_visit, day_item = scratch_tables(conn)
    conn.execute(
        insert(day_visit).from_select(
            [c.name for c in day_visit.columns],
            select(*(visits.c[c.name] for c in day_visit.columns)).where(
                visits.c.visitor_id.not_in(elsewhere)
            ),
        )
    )
    for kind in COUNTED:
        only_here = items_of_day(kind, start, end, lambda t: t.c.visitor_id.not_in(elsewhere))
        conn.execute(insert(day_item).from_select(ITEM_COLUMNS, only_here))
    return day_visit, day_item


def scratch_tables(conn: Connection, name: str = "day") -> tuple[Table, Table]:
    """Empty temporary tables (of this connection) for the day's single-day visits and the
    pages and events of each (``name``: of another set of visits, kept beside)."""
    day_visit = scratch_table(
        conn,
        f"footfall_{name}_visit",
        *(Column(c.name, c.type) for c in visit_columns(rollup_visit_part.c)),
        Column("counted_pageviews", BigInteger),
        Index(f"ix_footfall_{name}_visit", "session_id"),
    )
    day_item = scratch_table(
        conn,
        f"footfall_{name}_item",
        Column("session_id", BigInteger, nullable=False),
        Column("visitor_id", BigInteger, nullable=False),
        Column("kind", String(8), nullable=False),
        Column("value", Text, nullable=False),
        Column("count", BigInteger, nullable=False),
        Index(f"ix_footfall_{name}_item", "kind", "session_id"),
    )
    return day_visit, day_item


def sums_of_parts(
    conn: Connection,
    definitions: Queries,
    day: date,
    days: tuple[date, date],
    visitors: Select[Any],
    name: str,
    *items_chosen: Any,
) -> DaySums:
    """The sums (as rows of ``day``) over the visits of ``visitors`` (a select of ids),
    cut to ``days``, from their stored parts and items (``items_chosen``: conditions on
    ``rollup_visitor_item`` naming theirs), in scratch tables ``name``: a pair's
    (store/pairs.py), or a settled day's (store/rollups.py)."""
    day_visit, day_item = scratch_tables(conn, name)
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
            select(item.session_id, item.visitor_id, item.kind, item.value, func.sum(item.count))
            .where(item.day >= days[0], item.day < days[1], *items_chosen)
            .group_by(item.session_id, item.visitor_id, item.kind, item.value),
        )
    )
    return DaySums(definitions, day, day_visit, day_item)


class DaySums:
    """The ``rollup_day`` rows of one day, over all of its single-day visits or over those
    one filter selects (as ``rollup_filtered_day`` rows)."""

    def __init__(self, definitions: Queries, day: date, day_visit: Table, day_item: Table):
        self.definitions = definitions
        self.day = day
        self.day_visit = day_visit
        self.day_item = day_item

    def selected_by(self, name: str) -> Any:
        """The visit rows each value of the filter ``name`` selects, with that value
        (``filter_value``) and how many of the visit's events it matches (``matched``):
        a page filter counts only that page's views as page views."""
        v = self.day_visit.c
        if name in VISIT_ATTRIBUTES:
            return select(
                self.day_visit,
                func.coalesce(v[name], empty_value(name)).label("filter_value"),
                literal(0).label("matched"),
            ).subquery("selected")
        item = self.day_item.alias("matches")
        counted = item.c.count if name == "page" else v.counted_pageviews
        columns = [c if c.name != "counted_pageviews" else counted.label(c.name) for c in v]
        return (
            select(*columns, item.c.value.label("filter_value"), item.c.count.label("matched"))
            .join_from(self.day_visit, item, item.c.session_id == v.session_id)
            .where(item.c.kind == name, func.length(item.c.value) <= FILTER_VALUE_MAX)
            .subquery("selected")
        )

    def selected_along(self, name: str, chosen: Any) -> Any:
        """``selected_by(name)``'s rows for the visits of this scratch that ``chosen`` (the
        ``selected_by`` of a scratch of longer visits, over two days) selects, with its
        filter value: a chart by day counts a visit selected over two days on each day,
        with that day's part of it (and, for a page filter, that day's views of the
        page)."""
        v = self.day_visit.c
        picked = select(chosen.c.session_id, chosen.c.filter_value).distinct().subquery("picked")
        columns: list[Any] = list(v)
        matched: Any = literal(0)
        if name in ITEMS:
            item = self.day_item.alias("matches")
            matched = func.coalesce(
                select(func.sum(item.c.count))
                .where(
                    item.c.session_id == v.session_id,
                    item.c.kind == name,
                    item.c.value == picked.c.filter_value,
                )
                .scalar_subquery(),
                0,
            )
            if name == "page":
                columns = [c if c.name != "counted_pageviews" else matched.label(c.name) for c in v]
        return (
            select(*columns, picked.c.filter_value, matched.label("matched"))
            .join_from(self.day_visit, picked, picked.c.session_id == v.session_id)
            .subquery("selected")
        )

    def of(
        self, visits: Any, name: str | None, dimensions: tuple[str, ...] | None = None
    ) -> list[Select[Any]]:
        """The rows of every dimension (or of those named) over ``visits``: the day's
        visits (``name`` None, as ``rollup_day`` rows), or ``selected_by(name)`` per
        filter value (as ``rollup_filtered_day`` rows)."""
        by = [] if name is None else [visits.c.filter_value]
        tail = [] if name is None else [literal(name), visits.c.filter_value]
        rows = []
        for attribute in ("", *VISIT_ATTRIBUTES):  # "": the whole site
            if dimensions is not None and attribute not in dimensions:
                continue
            value: Any = literal("")
            if attribute:
                value = func.coalesce(visits.c[attribute], empty_value(attribute))
            sums = self.definitions.totals_select(visits).selected_columns
            rows.append(
                select(literal(self.day), literal(attribute), value, *sums)
                .add_columns(literal(0), *tail)
                .group_by(*([value] if attribute else []), *by)
            )
        item = self.day_item.c
        for kind in COUNTED:
            if dimensions is not None and kind not in dimensions:
                continue
            if kind == PROPERTY and name is not None:
                continue  # no filter has rollups of property values: they are read raw
            if kind == name:  # the filter's own page or event: only it, as it counts
                numbers = _item_numbers(
                    kind, func.count(distinct(visits.c.visitor_id)), func.sum(visits.c.matched)
                )
                rows.append(
                    select(literal(self.day), literal(kind), visits.c.filter_value, *numbers)
                    .add_columns(*tail)
                    .group_by(*by)
                )
                continue
            visitors = func.count(distinct(item.visitor_id))
            numbers = _item_numbers(kind, visitors, func.sum(item.count))
            query = (
                select(literal(self.day), literal(kind), item.value, *numbers)
                .add_columns(*tail)
                .where(item.kind == kind)
                .group_by(item.value, *by)
            )
            if name is not None:
                query = query.select_from(
                    self.day_item.join(visits, visits.c.session_id == item.session_id)
                )
            rows.append(query)
        return rows


def _item_numbers(kind: str, visitors: Any, count: Any) -> list[Any]:
    """``rollup_day``'s numbers of a page (page views), a custom event or one of its
    property values (events)."""
    zero = literal(0)
    return [
        visitors,
        zero,
        count if kind == "page" else zero,
        zero,
        zero,
        count if kind != "page" else zero,
    ]
